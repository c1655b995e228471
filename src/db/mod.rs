//! Connection pool, embedded migrations and the blocking bridge: every query runs on the
//! blocking pool, never on an actix worker.

pub mod models;
pub mod queries;
pub mod schema;

use std::cell::Cell;
use std::time::{Duration, Instant};

use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Integer, Nullable};
use diesel::{Connection, MysqlConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use rand::RngExt;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<Manager>;
pub type DbConn = PooledConnection<Manager>;

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
    /// Down, saturated, the connection lost, or a lock conflict that outlasted the retries: the
    /// same request may succeed a moment later (503 with Retry-After, never a 500).
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(q) => is_conflict(q) || is_connection_lost(q),
            DbError::Join => false,
        }
    }
}

/// What the client library says when the server cannot be reached or went away while it was
/// being used: CR_CONNECTION_ERROR 2002, CR_CONN_HOST_ERROR 2003, CR_SERVER_GONE_ERROR 2006,
/// CR_SERVER_LOST 2013, CR_SERVER_LOST_EXTENDED 2055, and from the server ER_SERVER_SHUTDOWN
/// 1053 and ER_CONNECTION_KILLED 1927. Diesel reports all of them as `Unknown` with the
/// library's message (libmariadb and libmysqlclient word them slightly differently).
const CONNECTION_LOST: [&str; 6] = [
    "server has gone away",
    "lost connection to",
    "can't connect to",
    "server shutdown in progress",
    "connection was killed",
    "connection refused",
];

/// The connection failed rather than the statement: the server is down, restarting, or the
/// network dropped. Nothing about the request was wrong; it may succeed on a new connection.
pub fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::Error as E;
    match e {
        E::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        E::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            CONNECTION_LOST.iter().any(|m| message.contains(m))
        }
        // Diesel marks its transaction state broken only when a rollback itself failed, which
        // on MySQL means the connection is gone.
        E::BrokenTransactionManager => true,
        E::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_connection_lost(rollback_error) || is_connection_lost(commit_error),
        _ => false,
    }
}

/// Every connection reads committed data statement by statement (no gap locks, so far fewer
/// deadlocks between unrelated rows; sign-in admission counts what has committed when it
/// looks) and waits at most `lock_wait_seconds` for a row lock, so a conflict becomes a retry
/// instead of a hung request.
#[derive(Debug, Clone, Copy)]
struct SessionSetup {
    lock_wait_seconds: u32,
}

/// How long one statement waits for a row lock before InnoDB gives up, unless configured (the
/// server default is 50 s).
pub const LOCK_WAIT_SECONDS: u32 = 10;

impl CustomizeConnection<MysqlConnection, diesel::r2d2::Error> for SessionSetup {
    fn on_acquire(&self, conn: &mut MysqlConnection) -> Result<(), diesel::r2d2::Error> {
        // Two statements: MariaDB 10.x and MySQL 8 name the isolation variable differently.
        diesel::sql_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(conn)
            .and_then(|_| {
                diesel::sql_query(format!(
                    "SET SESSION innodb_lock_wait_timeout = {}",
                    self.lock_wait_seconds
                ))
                .execute(conn)
            })
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Longest wait for a connection: when the database is down a request gets its 503 after this.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// Set by `run` just before it drops a connection whose server went away; read once by
    /// `Manager::has_broken` during that same drop, on the same thread.
    static RETIRING: Cell<bool> = const { Cell::new(false) };
}

/// Diesel's connection manager, except that a connection which lost its server mid-request is
/// closed when it is given back instead of waiting in the pool for the next request.
#[derive(Debug)]
pub struct Manager(ConnectionManager<MysqlConnection>);

impl ManageConnection for Manager {
    type Connection = MysqlConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<MysqlConnection, Self::Error> {
        self.0.connect()
    }

    /// One `SELECT 1` round trip on every checkout (35-42 µs against a local server), so a
    /// connection that died with a database restart is replaced, never handed out.
    fn is_valid(&self, conn: &mut MysqlConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut MysqlConnection) -> bool {
        RETIRING.replace(false) || self.0.has_broken(conn)
    }
}

/// Gives a connection back for good: the pool closes it and opens a new one when needed.
fn retire(conn: DbConn) {
    RETIRING.set(true);
    drop(conn);
    RETIRING.set(false);
}

fn builder(size: u32, lock_wait_seconds: u32) -> diesel::r2d2::Builder<Manager> {
    Pool::builder()
        .connection_customizer(Box::new(SessionSetup { lock_wait_seconds }))
        .max_size(size)
        .connection_timeout(CONNECTION_TIMEOUT)
        .test_on_check_out(true)
}

pub fn build_pool(settings: &crate::config::database::Database) -> Result<DbPool, DbError> {
    builder(settings.pool_size, settings.lock_wait_seconds)
        .min_idle(Some(1))
        .build(Manager(ConnectionManager::new(&settings.url)))
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

/// A pool that does not connect until first use (for `check`, which reports a dead database
/// as a problem instead of failing to start).
pub fn lazy_pool(url: &str, size: u32) -> DbPool {
    builder(size, LOCK_WAIT_SECONDS)
        .min_idle(Some(0))
        .build_unchecked(Manager(ConnectionManager::new(url)))
}

/// Applies the pending migrations, then fills what SQL alone cannot: the employees' search
/// keys (folded in Rust, see `domain::search_key`).
pub fn run_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| e.to_string())?;
    queries::employees::fill_search_keys(conn).map_err(|e| e.to_string())?;
    Ok(applied)
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

/// Migrations the database has applied that this binary does not know: the schema belongs to
/// a newer release (this binary was rolled back without rolling the database back).
pub fn unknown_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    use diesel::migration::MigrationSource;
    let known: Vec<String> = MigrationSource::<diesel::mysql::Mysql>::migrations(&MIGRATIONS)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied = conn.applied_migrations().map_err(|e| e.to_string())?;
    Ok(applied
        .iter()
        .map(|v| v.to_string())
        .filter(|v| !known.contains(v))
        .collect())
}

/// Why this binary must not serve this database, if it must not: the schema is older
/// (`staffgate migrate` first) or newer (a rolled-back binary) than the binary.
pub fn schema_mismatch(conn: &mut MysqlConnection) -> Result<Option<String>, String> {
    let newer = unknown_migrations(conn)?;
    if !newer.is_empty() {
        return Ok(Some(format!(
            "データベースのスキーマがこのバージョンより新しいため起動しません。新しいリリースを配置するか、データベースを戻してください / the database schema is newer than this binary (unknown migrations {}): deploy the newer release, or restore the database from before the upgrade",
            newer.join(", ")
        )));
    }
    let pending = pending_migrations(conn)?;
    if !pending.is_empty() {
        return Ok(Some(format!(
            "未適用のマイグレーションがあります。先に `staffgate migrate` を実行してください / pending migrations, run `staffgate migrate` first: {}",
            pending.join(", ")
        )));
    }
    Ok(None)
}

pub fn pending_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, String> {
    conn.pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.name().to_string()).collect())
        .map_err(|e| e.to_string())
}

/// Runs `f` with a pooled connection on the blocking pool. After a failure the connection is
/// asked whether its server still answers; if not, it is closed rather than pooled.
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
        let result = f(&mut conn);
        if result.is_err() && ping(&mut conn).is_err() {
            retire(conn);
        }
        result
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
/// No retry starts after this long (each lock wait lasts up to the configured seconds).
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

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn mysql_error(message: &str) -> Error {
        Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
    }

    #[test]
    fn a_lost_or_refused_connection_is_transient() {
        for message in [
            "Server has gone away",
            "MySQL server has gone away",
            "Lost connection to server during query",
            "Lost connection to MySQL server during query",
            "Lost connection to server at 'handshake: reading initial communication packet', system error: 104",
            "Can't connect to server on '127.0.0.1' (111)",
            "Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)",
            "Server shutdown in progress",
            "Connection was killed",
        ] {
            assert!(
                DbError::Query(mysql_error(message)).is_transient(),
                "{message}"
            );
        }
        assert!(DbError::Query(Error::BrokenTransactionManager).is_transient());
        assert!(DbError::Unavailable("timed out waiting for connection".into()).is_transient());
    }

    #[test]
    fn a_failed_statement_is_a_fault_not_an_outage() {
        for error in [
            mysql_error("Table 'staffgate.employees' doesn't exist"),
            mysql_error("Data too long for column 'name' at row 1"),
            Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                Box::new("Duplicate entry 'N0001' for key 'employee_id'".to_owned()),
            ),
            Error::NotFound,
        ] {
            assert!(!DbError::Query(error).is_transient());
        }
        assert!(!DbError::Join.is_transient());
    }
}
