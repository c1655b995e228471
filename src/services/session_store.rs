//! The rows behind portal sessions: what the session store keeps per cookie (only the
//! SHA-256 of its key), read and written with the session's time to live.

use chrono::Duration;

use crate::db::DbError;
use crate::db::queries::portal_sessions::{self, SessionRow};
use crate::state::AppState;

/// One session's state and the columns taken from it (so an admin can list and end them).
pub struct StoredSession {
    pub key_hash: Vec<u8>,
    pub json: String,
    pub session_ref: Option<String>,
    pub employee: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl StoredSession {
    fn row(&self) -> SessionRow<'_> {
        SessionRow {
            key_hash: &self.key_hash,
            session_ref: self.session_ref.as_deref(),
            state: &self.json,
            employee_ref: self.employee,
            client_ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

pub async fn insert(state: &AppState, s: StoredSession, ttl: Duration) -> Result<(), DbError> {
    state
        .read(move |conn, _, now| {
            portal_sessions::insert(conn, &s.row(), now, now + ttl)?;
            Ok(())
        })
        .await
}

/// The state of a live session.
pub async fn load(state: &AppState, key_hash: Vec<u8>) -> Result<Option<String>, DbError> {
    state
        .read(move |conn, _, now| Ok(portal_sessions::load(conn, &key_hash, now)?))
        .await
}

/// Writes a live session's new state; false when the session has ended meanwhile.
pub async fn update(state: &AppState, s: StoredSession, ttl: Duration) -> Result<bool, DbError> {
    state
        .read(move |conn, _, now| Ok(portal_sessions::update(conn, &s.row(), now, now + ttl)? == 1))
        .await
}

pub async fn touch(state: &AppState, key_hash: Vec<u8>, ttl: Duration) -> Result<(), DbError> {
    state
        .read(move |conn, _, now| {
            portal_sessions::touch(conn, &key_hash, now, now + ttl)?;
            Ok(())
        })
        .await
}

pub async fn delete(state: &AppState, key_hash: Vec<u8>) -> Result<(), DbError> {
    state
        .read(move |conn, _, _| {
            portal_sessions::delete(conn, &key_hash)?;
            Ok(())
        })
        .await
}
