//! Connection pool, embedded migrations and the blocking bridge: every query runs on the
//! blocking pool, never on an actix worker.

pub mod models;
pub mod queries;
pub mod schema;

use std::time::Duration;

use diesel::MysqlConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<ConnectionManager<MysqlConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<MysqlConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection within the timeout: the database is down or saturated (503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("background task failed")]
    Join,
}

pub fn build_pool(url: &str, size: u32) -> Result<DbPool, DbError> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .build(ConnectionManager::<MysqlConnection>::new(url))
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// A pool that does not connect until first use (for `check`, which reports a dead database
/// as a problem instead of failing to start).
pub fn lazy_pool(url: &str, size: u32) -> DbPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(ConnectionManager::<MysqlConnection>::new(url))
}

pub fn run_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| e.to_string())
}

pub fn pending_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    conn.pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.name().to_string()).collect())
        .map_err(|e| e.to_string())
}

/// Runs `f` with a pooled connection on the blocking pool.
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
    F: FnOnce(&mut MysqlConnection) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
        f(&mut conn)
    })
    .await
    .map_err(|_| E::from(DbError::Join))?
}
