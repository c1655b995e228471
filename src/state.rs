//! The one application state, built once and shared by every handler, CLI command and test.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::DbPool;
use crate::metrics::Metrics;
use crate::services::clock::Clock;
use crate::services::hashing::HashingPool;
use crate::services::jwt::SigningKey;
use crate::services::mail::Mailer;
use crate::services::sheets::FontCache;

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
