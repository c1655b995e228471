//! Connection pool, embedded migrations and the blocking bridge: every query runs on the
//! blocking pool, never on an actix worker.

pub mod models;
pub mod queries;
pub mod schema;

use std::time::{Duration, Instant};

use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Integer, Nullable};
use diesel::{Connection, MysqlConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use rand::RngExt;

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

impl DbError {
    /// Down, saturated, or a lock conflict that outlasted the retries: the same request may
    /// succeed a moment later (503 with Retry-After, never a 500).
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(q) => is_conflict(q),
            DbError::Join => false,
        }
    }
}

/// Every connection reads committed data statement by statement (no gap locks, so far fewer
/// deadlocks between unrelated rows; sign-in admission counts what has committed when it
/// looks) and waits at most `LOCK_WAIT_SECONDS` for a row lock, so a conflict becomes a retry
/// instead of a hung request.
#[derive(Debug, Clone, Copy)]
struct SessionSetup;

/// How long one statement waits for a row lock before InnoDB gives up (the server default is 50 s).
pub const LOCK_WAIT_SECONDS: u32 = 10;

impl CustomizeConnection<MysqlConnection, diesel::r2d2::Error> for SessionSetup {
    fn on_acquire(&self, conn: &mut MysqlConnection) -> Result<(), diesel::r2d2::Error> {
        // Two statements: MariaDB 10.x and MySQL 8 name the isolation variable differently.
        diesel::sql_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(conn)
            .and_then(|_| {
                diesel::sql_query(format!(
                    "SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECONDS}"
                ))
                .execute(conn)
            })
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub fn build_pool(url: &str, size: u32) -> Result<DbPool, DbError> {
    Pool::builder()
        .connection_customizer(Box::new(SessionSetup))
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
        .connection_customizer(Box::new(SessionSetup))
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

/// Applies the pending migrations under the server-wide migration lock, waiting up to five
/// minutes for it: several nodes may start at once; one migrates, the others wait and find
/// nothing to do.
pub fn run_migrations_exclusively(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    let locked: Option<i32> = diesel::select(diesel::dsl::sql::<Nullable<Integer>>(
        "GET_LOCK('staffgate_migrate', 300)",
    ))
    .get_result(conn)
    .map_err(|e| e.to_string())?;
    if locked != Some(1) {
        return Err(
            "another node is migrating; could not get the migration lock in 5 minutes".to_owned(),
        );
    }
    let result = run_migrations(conn);
    let _: Result<Option<i32>, _> = diesel::select(diesel::dsl::sql::<Nullable<Integer>>(
        "RELEASE_LOCK('staffgate_migrate')",
    ))
    .get_result(conn);
    result
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

/// A trivial query: the server answers on this connection.
pub fn ping(conn: &mut MysqlConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// An error that may carry a database error, so the transaction helper can tell a conflict
/// worth retrying from a real failure.
pub trait TxError: From<diesel::result::Error> + From<DbError> + Send + 'static {
    fn query_error(&self) -> Option<&diesel::result::Error>;
}

impl TxError for DbError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            DbError::Query(q) => Some(q),
            _ => None,
        }
    }
}

/// A deadlock victim (MySQL 1213, also Galera's certification conflict) or a lock wait that
/// ran out (1205): the transaction was rolled back and may simply run again.
pub fn is_conflict(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(kind, info) => {
            matches!(kind, DatabaseErrorKind::SerializationFailure)
                || info.message().contains("Deadlock found")
                || info.message().contains("Lock wait timeout")
                || info.message().contains("try restarting transaction")
        }
        _ => false,
    }
}

/// Most runs of one transaction before a conflict is reported to the caller.
pub const TX_ATTEMPTS: u32 = 5;
/// No retry starts after this long (lock waits are `LOCK_WAIT_SECONDS` each).
const TX_RETRY_BUDGET: Duration = Duration::from_secs(15);

/// Runs `f` in a transaction on the blocking pool, and runs it again (after a short random
/// pause) when InnoDB rolled it back as a deadlock victim or after a lock wait timeout, at most
/// `TX_ATTEMPTS` times. `on_retry` is told of every retry (a metric). `f` must only write
/// through `conn`: whatever it did in a rolled-back run is gone.
pub async fn transaction<T, E, F, R>(pool: &DbPool, on_retry: R, mut f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: TxError,
    F: FnMut(&mut MysqlConnection) -> Result<T, E> + Send + 'static,
    R: Fn() + Send + 'static,
{
    run(pool, move |conn| transaction_on(conn, &on_retry, &mut f)).await
}

/// The same on a connection the caller holds (a job that keeps one connection for its lock).
pub fn transaction_on<T, E, F>(
    conn: &mut MysqlConnection,
    on_retry: &dyn Fn(),
    mut f: F,
) -> Result<T, E>
where
    E: TxError,
    F: FnMut(&mut MysqlConnection) -> Result<T, E>,
{
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        match conn.transaction::<T, E, _>(&mut f) {
            Err(e)
                if attempt < TX_ATTEMPTS
                    && started.elapsed() < TX_RETRY_BUDGET
                    && e.query_error().is_some_and(is_conflict) =>
            {
                on_retry();
                tracing::info!(
                    attempt,
                    "transaction rolled back by a lock conflict, running it again"
                );
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// 5, 10, 20, 40 ms, each with up to as much again of random jitter, so two victims of one
/// deadlock do not meet again.
fn backoff(attempt: u32) -> Duration {
    let base = 5u64 << attempt.saturating_sub(1).min(4);
    Duration::from_millis(base + rand::rng().random_range(0..=base))
}
