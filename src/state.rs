//! The one application state, built once and shared by every handler, CLI command and test.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::MysqlConnection;

use crate::config::Settings;
use crate::db::{self, DbError, DbPool, TxError};
use crate::metrics::Metrics;
use crate::services::clock::Clock;
use crate::services::hashing::HashingPool;
use crate::services::jwt::SigningKey;
use crate::services::mail::Mailer;
use crate::services::sheets::font::FontCache;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<SigningKey>,
    pub hashing: HashingPool,
    pub metrics: Arc<Metrics>,
    pub mailer: Arc<dyn Mailer>,
    /// Signs and encrypts the portal's session cookie.
    pub session_key: actix_web::cookie::Key,
    /// The account-sheet font, loaded on first print.
    pub sheet_font: Arc<FontCache>,
}

impl AppState {
    /// Runs `f(conn, state, now)` on a pooled connection off the async runtime, without a
    /// transaction: reads, and single statements that are whole on their own.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut MysqlConnection, &AppState, NaiveDateTime) -> Result<T, E> + Send + 'static,
    {
        let st = self.clone();
        db::run(&self.pool, move |conn| {
            let now = st.clock.now_naive();
            f(conn, &st, now)
        })
        .await
    }

    /// Runs `f(conn, state, now)` in one transaction, run again when InnoDB rolls it back as
    /// a deadlock victim or after a lock wait timeout (`db::transaction`); `now` is read anew
    /// for every run. Every write path of the services goes through here.
    pub async fn transaction<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: TxError,
        F: FnMut(&mut MysqlConnection, &AppState, NaiveDateTime) -> Result<T, E> + Send + 'static,
    {
        let st = self.clone();
        let metrics = self.metrics.clone();
        db::transaction(
            &self.pool,
            move || Metrics::inc(&metrics.tx_retries),
            move |conn| {
                let now = st.clock.now_naive();
                f(conn, &st, now)
            },
        )
        .await
    }
}
