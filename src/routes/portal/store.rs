//! The actix-session store behind the portal: sessions live in MySQL (`portal_sessions`), so
//! every node sees them and an admin can end them. Only the SHA-256 of a cookie key is stored.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::keys;
use crate::db::queries::portal_sessions::{self, SessionRow};
use crate::db::{self, DbError};
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

struct Columns {
    json: String,
    session_ref: Option<String>,
    employee: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl Columns {
    fn of(state: &State) -> Result<Self, serde_json::Error> {
        Ok(Self {
            json: serde_json::to_string(state)?,
            session_ref: plain(state, keys::SESSION_REF),
            employee: plain(state, keys::EMPLOYEE).and_then(|v| v.parse().ok()),
            ip: plain(state, keys::IP).map(|s| s.chars().take(45).collect()),
            user_agent: plain(state, keys::USER_AGENT).map(|s| s.chars().take(255).collect()),
        })
    }

    fn row<'a>(&'a self, hash: &'a [u8]) -> SessionRow<'a> {
        SessionRow {
            key_hash: hash,
            session_ref: self.session_ref.as_deref(),
            state: &self.json,
            employee_ref: self.employee,
            client_ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
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
        let hash = key_hash(&key);
        let cols = Columns::of(&state)?;
        let st = self.state.clone();
        let ttl_ = ttl(ttl_);
        db::run(&self.state.pool, move |conn| {
            let now = st.clock.now_naive();
            portal_sessions::insert(conn, &cols.row(&hash), now, now + ttl_).map_err(DbError::from)
        })
        .await?;
        Ok(key)
    }
}

impl SessionStore for MysqlSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let hash = key_hash(session_key);
        let st = self.state.clone();
        let json = db::run(&self.state.pool, move |conn| {
            portal_sessions::load(conn, &hash, st.clock.now_naive()).map_err(DbError::from)
        })
        .await
        .map_err(|e| LoadError::Other(e.into()))?;
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
        let hash = key_hash(&session_key);
        let cols = Columns::of(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let st = self.state.clone();
        let t = ttl(ttl_);
        let updated = db::run(&self.state.pool, move |conn| {
            let now = st.clock.now_naive();
            portal_sessions::update(conn, &cols.row(&hash), now, now + t).map_err(DbError::from)
        })
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated == 1 {
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
        let hash = key_hash(session_key);
        let st = self.state.clone();
        let t = ttl(ttl_);
        db::run(&self.state.pool, move |conn| {
            let now = st.clock.now_naive();
            portal_sessions::touch(conn, &hash, now, now + t).map_err(DbError::from)
        })
        .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let hash = key_hash(session_key);
        db::run(&self.state.pool, move |conn| {
            portal_sessions::delete(conn, &hash).map_err(DbError::from)
        })
        .await?;
        Ok(())
    }
}
