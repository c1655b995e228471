//! mfa_tokens: the short-lived, single-use token between a right password and the second
//! step of an API sign-in (stored as its SHA-256).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::mfa_tokens::dsl as m;
use crate::domain::TokenHash;

pub fn insert(
    conn: &mut MysqlConnection,
    hash: &TokenHash,
    employee: i64,
    device_label: Option<&str>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(m::mfa_tokens)
        .values((
            m::token_hash.eq(hash.0.as_slice()),
            m::employee_ref.eq(employee),
            m::device_label.eq(device_label),
            m::created_at.eq(now),
            m::expires_at.eq(expires_at),
        ))
        .execute(conn)
}

/// A token still to be used: (id, employee, device label, expires at).
pub type Pending = (
    i64,
    i64,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

pub fn find(conn: &mut MysqlConnection, hash: &TokenHash) -> QueryResult<Option<Pending>> {
    m::mfa_tokens
        .filter(m::token_hash.eq(hash.0.as_slice()))
        .select((
            m::id,
            m::employee_ref,
            m::device_label,
            m::expires_at,
            m::used_at,
        ))
        .first(conn)
        .optional()
}

/// Spends the token: zero rows when it was used (or has expired) meanwhile.
pub fn spend(conn: &mut MysqlConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        m::mfa_tokens
            .filter(m::id.eq(id))
            .filter(m::used_at.is_null())
            .filter(m::expires_at.gt(now)),
    )
    .set(m::used_at.eq(Some(now)))
    .execute(conn)
}

/// Tokens an hour past their expiry are of no use to anyone.
pub fn delete_expired(conn: &mut MysqlConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(m::mfa_tokens.filter(m::expires_at.lt(before))).execute(conn)
}

/// Every token, used or not (a restore: no half-finished sign-in survives it).
pub fn delete_all(conn: &mut MysqlConnection) -> QueryResult<usize> {
    diesel::delete(m::mfa_tokens).execute(conn)
}
