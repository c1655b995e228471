//! Database settings: the MySQL URL (a secret) and the size of the connection pool.

use super::reader::Reader;
use super::redact::redact_url;

#[derive(Clone)]
pub struct Database {
    pub url: String,
    pub pool_size: u32,
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
        Self { url, pool_size }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}
