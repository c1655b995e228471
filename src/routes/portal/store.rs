//! The actix-session store behind the portal: sessions live in MySQL (`portal_sessions`), so
//! every node sees them and an admin can end them. Only the SHA-256 of a cookie key is stored.

use std::cell::Cell;
use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::keys;
use super::view::PortalError;
use crate::services::explain::DbError;
use crate::services::session_store::{self, StoredSession};
use crate::state::AppState;

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct MysqlSessionStore {
    state: AppState,
}

impl MysqlSessionStore {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn key_hash(key: &SessionKey) -> Vec<u8> {
    Sha256::digest(key.as_ref().as_bytes()).to_vec()
}

/// Values are stored JSON-encoded by actix-session; the columns want them plain.
fn plain(state: &State, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .and_then(|v| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

fn stored(key: &SessionKey, state: &State) -> Result<StoredSession, serde_json::Error> {
    Ok(StoredSession {
        key_hash: key_hash(key),
        json: serde_json::to_string(state)?,
        session_ref: plain(state, keys::SESSION_REF),
        employee: plain(state, keys::EMPLOYEE).and_then(|v| v.parse().ok()),
        ip: plain(state, keys::IP).map(|s| s.chars().take(45).collect()),
        user_agent: plain(state, keys::USER_AGENT).map(|s| s.chars().take(255).collect()),
    })
}

tokio::task_local! {
    /// Whether the store found the database unavailable during this portal request: set by
    /// the store, read by `unavailable_as_503`, which wraps the session middleware.
    static DATABASE_UNAVAILABLE: Cell<bool>;
}

/// A store error for actix-session, noting an unavailable database for `unavailable_as_503`.
fn noted(e: DbError) -> anyhow::Error {
    if e.is_transient() {
        let _ = DATABASE_UNAVAILABLE.try_with(|unavailable| unavailable.set(true));
    }
    e.into()
}

/// actix-session answers every store failure with an empty 500. When the cause was an
/// unavailable database the admin gets the portal's 503 page (with Retry-After) instead, and
/// the session stays as it was, so the same page works again once the database is back.
pub async fn unavailable_as_503(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    DATABASE_UNAVAILABLE
        .scope(Cell::new(false), async move {
            match next.call(req).await {
                Err(e) if DATABASE_UNAVAILABLE.with(Cell::get) => {
                    tracing::warn!(error = %e, "portal session store: database unavailable");
                    Err(PortalError::Unavailable.into())
                }
                other => other,
            }
        })
        .await
}

fn ttl(d: &Duration) -> chrono::Duration {
    chrono::Duration::seconds(d.whole_seconds())
}

fn new_key() -> Result<SessionKey, anyhow::Error> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    SessionKey::try_from(URL_SAFE_NO_PAD.encode(bytes)).map_err(|e| anyhow::anyhow!("{e}"))
}

impl MysqlSessionStore {
    async fn insert(&self, state: State, ttl_: &Duration) -> Result<SessionKey, anyhow::Error> {
        let key = new_key()?;
        session_store::insert(&self.state, stored(&key, &state)?, ttl(ttl_))
            .await
            .map_err(noted)?;
        Ok(key)
    }
}

impl SessionStore for MysqlSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let json = session_store::load(&self.state, key_hash(session_key))
            .await
            .map_err(|e| LoadError::Other(noted(e)))?;
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, state: State, ttl_: &Duration) -> Result<SessionKey, SaveError> {
        self.insert(state, ttl_).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        ttl_: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let row = stored(&session_key, &state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let updated = session_store::update(&self.state, row, ttl(ttl_))
            .await
            .map_err(|e| UpdateError::Other(noted(e)))?;
        if updated {
            return Ok(session_key);
        }
        // The session ended while this request ran (expired, signed out, ended from another
        // device, password changed): it must stay ended. Whatever else the request wrote
        // starts an anonymous session.
        let mut state = state;
        for key in [
            keys::EMPLOYEE,
            keys::SESSION_REF,
            keys::CSRF,
            keys::STEP,
            keys::AUTH_AT,
            keys::IP,
            keys::USER_AGENT,
        ] {
            state.remove(key);
        }
        self.insert(state, ttl_).await.map_err(UpdateError::Other)
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl_: &Duration) -> anyhow::Result<()> {
        session_store::touch(&self.state, key_hash(session_key), ttl(ttl_))
            .await
            .map_err(noted)?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        session_store::delete(&self.state, key_hash(session_key))
            .await
            .map_err(noted)?;
        Ok(())
    }
}
