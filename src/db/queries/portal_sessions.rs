//! portal_sessions: the HR portal's server-side sessions, keyed by the hash of the cookie key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::portal_sessions::dsl as p;

/// The columns a session row carries besides its state.
pub struct SessionRow<'a> {
    pub key_hash: &'a [u8],
    pub session_ref: Option<&'a str>,
    pub state: &'a str,
    pub employee_ref: Option<i64>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// One of an employee's live sessions, for "my sessions".
#[derive(Debug, Clone, Queryable)]
pub struct LiveSession {
    pub session_ref: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

pub fn load(
    conn: &mut MysqlConnection,
    key_hash: &[u8],
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    p::portal_sessions
        .filter(p::session_key_hash.eq(key_hash))
        .filter(p::expires_at.gt(now))
        .select(p::state)
        .first(conn)
        .optional()
}

pub fn insert(
    conn: &mut MysqlConnection,
    row: &SessionRow<'_>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(p::portal_sessions)
        .values((
            p::session_key_hash.eq(row.key_hash),
            p::session_ref.eq(row.session_ref),
            p::state.eq(row.state),
            p::employee_ref.eq(row.employee_ref),
            p::client_ip.eq(row.client_ip),
            p::user_agent.eq(row.user_agent),
            p::created_at.eq(now),
            p::last_seen_at.eq(now),
            p::expires_at.eq(expires_at),
        ))
        .execute(conn)
}

/// Replaces the state of a live session; 0 when it has ended (expired or revoked).
pub fn update(
    conn: &mut MysqlConnection,
    row: &SessionRow<'_>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        p::portal_sessions
            .filter(p::session_key_hash.eq(row.key_hash))
            .filter(p::expires_at.gt(now)),
    )
    .set((
        p::session_ref.eq(row.session_ref),
        p::state.eq(row.state),
        p::employee_ref.eq(row.employee_ref),
        p::client_ip.eq(row.client_ip),
        p::user_agent.eq(row.user_agent),
        p::last_seen_at.eq(now),
        p::expires_at.eq(expires_at),
    ))
    .execute(conn)
}

/// Slides the idle timeout of a live session.
pub fn touch(
    conn: &mut MysqlConnection,
    key_hash: &[u8],
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        p::portal_sessions
            .filter(p::session_key_hash.eq(key_hash))
            .filter(p::expires_at.gt(now)),
    )
    .set((p::last_seen_at.eq(now), p::expires_at.eq(expires_at)))
    .execute(conn)
}

pub fn delete(conn: &mut MysqlConnection, key_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(p::portal_sessions.filter(p::session_key_hash.eq(key_hash))).execute(conn)
}

pub fn list_live(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<LiveSession>> {
    p::portal_sessions
        .filter(p::employee_ref.eq(employee))
        .filter(p::expires_at.gt(now))
        .order(p::last_seen_at.desc())
        .select((
            p::session_ref,
            p::client_ip,
            p::user_agent,
            p::created_at,
            p::last_seen_at,
        ))
        .load(conn)
}

/// Ends one of the employee's sessions by its reference; returns how many ended (0 or 1).
pub fn delete_by_ref(
    conn: &mut MysqlConnection,
    employee: i64,
    session_ref: &str,
) -> QueryResult<usize> {
    diesel::delete(
        p::portal_sessions
            .filter(p::employee_ref.eq(employee))
            .filter(p::session_ref.eq(session_ref)),
    )
    .execute(conn)
}

/// Ends every session of the employee except `keep` (None: all of them).
pub fn delete_for_employee(
    conn: &mut MysqlConnection,
    employee: i64,
    keep: Option<&str>,
) -> QueryResult<usize> {
    let all = p::portal_sessions.filter(p::employee_ref.eq(employee));
    match keep {
        Some(keep) => diesel::delete(all.filter(p::session_ref.ne(keep))).execute(conn),
        None => diesel::delete(all).execute(conn),
    }
}

pub fn prune(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(p::portal_sessions.filter(p::expires_at.le(now))).execute(conn)
}

/// Ends every session (after a restore brought back sessions from the backup); returns how
/// many.
pub fn delete_all(conn: &mut MysqlConnection) -> QueryResult<usize> {
    diesel::delete(p::portal_sessions).execute(conn)
}
