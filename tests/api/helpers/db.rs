//! A database of its own for every test, dropped afterwards, and the settings that point at it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use diesel::prelude::*;
use diesel::sql_types::Text;
use staffgate::config::Settings;
use staffgate::db::{self, DbPool};

/// Test-only: a low bcrypt cost keeps the suite fast; configuration refuses < 10.
pub const TEST_COST: u32 = 4;

pub fn server_url() -> String {
    std::env::var("STAFFGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_owned()
}

#[derive(QueryableByName)]
struct DbName {
    #[diesel(sql_type = Text, column_name = "Database")]
    name: String,
}

/// Drops databases left behind by killed runs (their pid no longer exists).
fn sweep_leftovers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(mut conn) = MysqlConnection::establish(&server_url()) else {
            return;
        };
        let names: Vec<DbName> = diesel::sql_query("SHOW DATABASES LIKE 'sgtest\\_%'")
            .load(&mut conn)
            .unwrap_or_default();
        for n in names {
            let pid = n.name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id()
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS `{}`", n.name))
                    .execute(&mut conn);
            }
        }
    });
}

pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: DbPool,
    /// The server it lives on, without a database name.
    server: String,
}

impl TestDb {
    pub fn create() -> Arc<TestDb> {
        sweep_leftovers();
        Self::create_on(&server_url())
    }

    /// A database with no tables at all (not migrated), as a restore finds it.
    pub fn create_empty() -> Arc<TestDb> {
        sweep_leftovers();
        Self::create_with(&server_url(), false)
    }

    /// A database on the server at `server` (a URL without a database name).
    pub fn create_on(server: &str) -> Arc<TestDb> {
        Self::create_with(server, true)
    }

    fn create_with(server: &str, migrate: bool) -> Arc<TestDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut rnd = [0u8; 4];
        rand::fill(&mut rnd);
        let name = format!(
            "sgtest_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            hex::encode(rnd)
        );
        let mut conn =
            MysqlConnection::establish(server).expect("connect to the test MySQL server");
        diesel::sql_query(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .execute(&mut conn)
        .expect("create test database");
        let url = format!("{server}/{name}");
        if migrate {
            let mut conn = MysqlConnection::establish(&url).expect("connect to test database");
            db::run_migrations(&mut conn).expect("migrations");
        }
        let pool = db::lazy_pool(&url, 20);
        Arc::new(TestDb {
            name,
            url,
            pool,
            server: server.to_owned(),
        })
    }

    pub fn conn(&self) -> db::DbConn {
        self.pool.get().expect("connection")
    }
}

#[derive(QueryableByName)]
struct ProcessId {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Bigint>)]
    id: u64,
}

impl Drop for TestDb {
    /// Servers of finished tests keep running in their worker threads; killing their
    /// connections first keeps the suite within the server's connection limit.
    fn drop(&mut self) {
        if let Ok(mut conn) = MysqlConnection::establish(&self.server) {
            let ids: Vec<ProcessId> = diesel::sql_query(format!(
                "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = '{}'",
                self.name
            ))
            .load(&mut conn)
            .unwrap_or_default();
            for p in ids {
                let _ = diesel::sql_query(format!("KILL CONNECTION {}", p.id)).execute(&mut conn);
            }
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS `{}`", self.name))
                .execute(&mut conn);
        }
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", db.url.clone()),
        ("STAFFGATE_BIND", "127.0.0.1:0".into()),
        ("STAFFGATE_PUBLIC_URL", "https://staffgate.test".into()),
        ("STAFFGATE_TRUST_PROXY_HEADERS", "true".into()),
        ("STAFFGATE_WORKERS", "1".into()),
        ("STAFFGATE_HASHING_THREADS", "2".into()),
        ("STAFFGATE_DB_POOL_SIZE", "20".into()),
        // Tests of other features sign admins in with a password alone; the second-factor
        // tests (tests/api/mfa.rs) switch the production default `required` back on.
        ("STAFFGATE_ADMIN_2FA", "optional".into()),
    ]);
    let mut s = Settings::from_lookup(&|k| vars.get(k).cloned()).expect("test settings");
    // Test-only: a low bcrypt cost keeps the suite fast; configuration refuses < 10.
    s.passwords.bcrypt_cost = TEST_COST;
    s
}
