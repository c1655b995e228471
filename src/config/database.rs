//! Database settings: the MySQL URL (a secret), the size of the connection pool and how long a
//! statement waits for a row lock.

use super::reader::Reader;
use super::redact::redact_url;
use crate::db::LOCK_WAIT_SECONDS;

#[derive(Clone)]
pub struct Database {
    pub url: String,
    pub pool_size: u32,
    /// `innodb_lock_wait_timeout` of every pool connection: a write blocked this long by
    /// another holder gives up and its transaction runs again.
    pub lock_wait_seconds: u32,
}

impl Database {
    pub(super) fn read(r: &mut Reader) -> Self {
        let url = r.secret("DATABASE_URL").unwrap_or_default();
        if url.is_empty() {
            r.problem("DATABASE_URL is required (mysql://user:pass@host:3306/db)");
        } else if !url.starts_with("mysql://") {
            r.problem("DATABASE_URL must start with mysql://");
        }
        let pool_size = r.parse("STAFFGATE_DB_POOL_SIZE", 16u32, "a whole number");
        if pool_size == 0 {
            r.problem("STAFFGATE_DB_POOL_SIZE must be at least 1");
        }
        let lock_wait_seconds = r.parse(
            "STAFFGATE_DB_LOCK_WAIT_SECONDS",
            LOCK_WAIT_SECONDS,
            "a whole number of seconds",
        );
        if !(1..=60).contains(&lock_wait_seconds) {
            r.problem("STAFFGATE_DB_LOCK_WAIT_SECONDS must be between 1 and 60");
        }
        Self {
            url,
            pool_size,
            lock_wait_seconds,
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("lock_wait_seconds", &self.lock_wait_seconds)
            .finish()
    }
}
