//! onetime_tokens: QR onboarding tokens, stored as SHA-256 only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bigint;

use crate::db::models::OnetimeToken;
use crate::db::schema::onetime_tokens::dsl as t;
use crate::domain::TokenHash;

pub fn insert(
    conn: &mut MysqlConnection,
    employee: i64,
    hash: &TokenHash,
    purpose: &str,
    issued_by: Option<i64>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(t::onetime_tokens)
        .values((
            t::employee_ref.eq(employee),
            t::token_hash.eq(hash.0.as_slice()),
            t::purpose.eq(purpose),
            t::issued_by.eq(issued_by),
            t::issued_at.eq(now),
            t::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
}

/// Revokes every unused, unrevoked token of the employee except `keep`; returns how many.
pub fn revoke_others(
    conn: &mut MysqlConnection,
    employee: i64,
    keep: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        t::onetime_tokens
            .filter(t::employee_ref.eq(employee))
            .filter(t::id.ne(keep))
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null()),
    )
    .set(t::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn find_by_hash(
    conn: &mut MysqlConnection,
    hash: &TokenHash,
) -> QueryResult<Option<OnetimeToken>> {
    t::onetime_tokens
        .filter(t::token_hash.eq(hash.0.as_slice()))
        .select(OnetimeToken::as_select())
        .first(conn)
        .optional()
}

/// Single use: every guard is in the WHERE clause and exactly one matched row means this
/// caller, and only this caller, redeemed it.
pub fn redeem(
    conn: &mut MysqlConnection,
    hash: &TokenHash,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        t::onetime_tokens
            .filter(t::token_hash.eq(hash.0.as_slice()))
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null())
            .filter(t::expires_at.gt(now)),
    )
    .set((t::used_at.eq(Some(now)), t::used_ip.eq(Some(ip))))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every open (unused, unrevoked, unexpired) token of the employee; returns how many.
pub fn revoke_open(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        t::onetime_tokens
            .filter(t::employee_ref.eq(employee))
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null())
            .filter(t::expires_at.gt(now)),
    )
    .set(t::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes one open token of the employee; true when it was open.
pub fn revoke_one(
    conn: &mut MysqlConnection,
    employee: i64,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        t::onetime_tokens
            .filter(t::id.eq(id))
            .filter(t::employee_ref.eq(employee))
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null())
            .filter(t::expires_at.gt(now)),
    )
    .set(t::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every token neither used nor revoked, of every employee, expired or not; returns how
/// many.
pub fn revoke_all_unused(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        t::onetime_tokens
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null()),
    )
    .set(t::revoked_at.eq(Some(now)))
    .execute(conn)
}
