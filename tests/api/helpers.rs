//! spawn_app(): a real server on port 0 against a fresh database that is dropped afterwards.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use staffgate::config::Settings;
use staffgate::db::models::{Employee, NewEmployee};
use staffgate::db::{self, DbPool};
use staffgate::services::clock::{Clock, ManualClock};
use staffgate::startup::Application;
use staffgate::state::AppState;

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
}

impl TestDb {
    pub fn create() -> Arc<TestDb> {
        sweep_leftovers();
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
            MysqlConnection::establish(&server_url()).expect("connect to the test MySQL server");
        diesel::sql_query(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .execute(&mut conn)
        .expect("create test database");
        let url = format!("{}/{}", server_url(), name);
        let mut conn = MysqlConnection::establish(&url).expect("connect to test database");
        db::run_migrations(&mut conn).expect("migrations");
        let pool = db::lazy_pool(&url, 20);
        Arc::new(TestDb { name, url, pool })
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
        if let Ok(mut conn) = MysqlConnection::establish(&server_url()) {
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
    ]);
    let mut s = Settings::from_lookup(&|k| vars.get(k).cloned()).expect("test settings");
    // Test-only: a low bcrypt cost keeps the suite fast; configuration refuses < 10.
    s.bcrypt_cost = TEST_COST;
    s
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Arc<TestDb>,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
}

pub async fn spawn_app() -> TestApp {
    let db = TestDb::create();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ));
    spawn_app_with(db, clock, |_| {}).await
}

pub async fn spawn_app_configured(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ));
    spawn_app_with(db, clock, tweak).await
}

/// Another app instance (another "node") on the same database.
pub async fn spawn_app_with(
    db: Arc<TestDb>,
    clock: Arc<ManualClock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(&db);
    tweak(&mut settings);
    let state = AppState::with_pool(settings, clock.clone() as Arc<dyn Clock>, db.pool.clone())
        .expect("state");
    let app = Application::build(state.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
        state,
        clock,
    }
}

pub fn hash(password: &str) -> String {
    bcrypt::hash(password, TEST_COST).unwrap()
}

pub struct Seed<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub department: &'a str,
    pub permission: f64,
    pub password: Option<&'a str>,
    pub must_change: bool,
    pub status: &'a str,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Self {
            code: "N0001",
            name: "看護 花子",
            department: "看護部",
            permission: 1.0,
            password: Some("Sakura-Nurse-2026"),
            must_change: false,
            status: "active",
        }
    }
}

pub const ADMIN_ID: &str = "HR0001";
pub const ADMIN_PW: &str = "Jinji-Admin-Pass-1";
pub const STAFF_ID: &str = "N0001";
pub const STAFF_PW: &str = "Sakura-Nurse-2026";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn seed(&self, s: Seed<'_>) -> i64 {
        let now = self.clock.now_naive();
        let hashed = s.password.map(hash);
        let mut conn = self.db.conn();
        staffgate::db::queries::employees::insert(
            &mut conn,
            &NewEmployee {
                employee_id: s.code,
                name: s.name,
                name_kana: "カンゴ ハナコ",
                department: s.department,
                email: None,
                permission_level: s.permission,
                status: s.status,
                password_hash: hashed.as_deref(),
                password_must_change: s.must_change,
                password_updated_at: s.password.map(|_| now),
                password_length_class: s.password.map_or(0, |p| {
                    staffgate::domain::expiry::length_class(
                        &staffgate::domain::Password::parse(p.into(), "password").unwrap(),
                    )
                }),
                password_expiry_offset_days: 0,
                created_at: now,
                updated_at: now,
            },
        )
        .unwrap()
    }

    pub fn seed_staff(&self) -> i64 {
        self.seed(Seed::default())
    }

    pub fn seed_admin(&self) -> i64 {
        self.seed(Seed {
            code: ADMIN_ID,
            name: "人事 太郎",
            permission: 9.0,
            password: Some(ADMIN_PW),
            ..Seed::default()
        })
    }

    pub fn employee(&self, code: &str) -> Employee {
        let mut conn = self.db.conn();
        staffgate::db::queries::employees::find_by_code(&mut conn, code)
            .unwrap()
            .unwrap()
    }

    /// Events of one employee's login history, oldest first.
    pub fn events(&self, code: &str) -> Vec<String> {
        use staffgate::db::schema::login_history::dsl as h;
        let mut conn = self.db.conn();
        h::login_history
            .filter(h::employee_code.eq(code))
            .order(h::id.asc())
            .select(h::event)
            .load(&mut conn)
            .unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Bigint)]
            n: i64,
        }
        let mut conn = self.db.conn();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .unwrap()
            .n
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value, bearer: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn login_from(&self, ip: &str, code: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v2/auth/authenticate"))
            .header("X-Forwarded-For", ip)
            .json(&json!({ "employeeId": code, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, code: &str, password: &str) -> Response {
        self.login_from("192.0.2.10", code, password).await
    }

    /// Signs in and returns the JSON token response, asserting 200.
    pub async fn tokens(&self, code: &str, password: &str) -> Value {
        let res = self.login(code, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {code} failed");
        res.json().await.unwrap()
    }

    pub async fn admin_token(&self) -> String {
        self.seed_admin();
        self.tokens(ADMIN_ID, ADMIN_PW).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn issue(&self, admin: &str, code: &str, body_extra: Value) -> Response {
        let mut body = json!({ "employeeId": code });
        if let (Some(b), Some(extra)) = (body.as_object_mut(), body_extra.as_object()) {
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("/api/v2/auth/generate-onetime-token", &body, Some(admin))
            .await
    }

    pub async fn issue_token(&self, admin: &str, code: &str) -> String {
        let res = self.issue(admin, code, json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// An employee without a password, a QR token issued by an admin and redeemed: the
    /// setup session's bearer token.
    pub async fn setup_session(&self) -> String {
        self.seed(Seed {
            password: None,
            must_change: true,
            ..Seed::default()
        });
        let admin = self.admin_token().await;
        let token = self.issue_token(&admin, STAFF_ID).await;
        let res = self.verify(&token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["setupToken"].as_str().unwrap().to_owned()
    }

    pub async fn verify(&self, token: &str) -> Response {
        self.post(
            "/api/v2/auth/verify-onetime-token",
            &json!({ "token": token }),
            None,
        )
        .await
    }

    pub async fn change_password(&self, bearer: &str, body: &Value) -> Response {
        self.client
            .put(self.url("/api/v2/auth/change-password"))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn me(&self, bearer: &str) -> Response {
        self.client
            .get(self.url("/api/v2/auth/me"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}
