//! login_attempts: the rate-limit ledger shared by every node.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bigint;

use crate::db::schema::login_attempts::dsl as a;

/// Failed (or still pending) attempts for one (login key, client IP) since `since` up to and
/// including attempt `upto` (its rank), and the oldest of them (for Retry-After).
pub fn failures_for_key_ip(
    conn: &mut MysqlConnection,
    key: &str,
    ip: &str,
    since: NaiveDateTime,
    upto: i64,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    a::login_attempts
        .filter(a::login_key.eq(key))
        .filter(a::client_ip.eq(ip))
        .filter(a::id.le(upto))
        .filter(a::success.eq(false))
        .filter(a::created_at.gt(since))
        .select((diesel::dsl::count_star(), diesel::dsl::min(a::created_at)))
        .first(conn)
}

pub fn failures_for_ip(
    conn: &mut MysqlConnection,
    ip: &str,
    since: NaiveDateTime,
    upto: i64,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    a::login_attempts
        .filter(a::client_ip.eq(ip))
        .filter(a::id.le(upto))
        .filter(a::success.eq(false))
        .filter(a::created_at.gt(since))
        .select((diesel::dsl::count_star(), diesel::dsl::min(a::created_at)))
        .first(conn)
}

/// Records an attempt as a failure until proven otherwise, so concurrent attempts count
/// against the limit while their bcrypt runs.
pub fn insert_pending(
    conn: &mut MysqlConnection,
    key: &str,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(a::login_attempts)
        .values((
            a::login_key.eq(key),
            a::client_ip.eq(ip),
            a::success.eq(false),
            a::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
}

/// Removes an attempt that was refused before any password check.
pub fn delete(conn: &mut MysqlConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(a::login_attempts.find(id)).execute(conn)
}

pub fn mark_success(conn: &mut MysqlConnection, id: i64) -> QueryResult<usize> {
    diesel::update(a::login_attempts.find(id))
        .set(a::success.eq(true))
        .execute(conn)
}

/// Forgets an employee's failures from every address (admin unlock).
pub fn clear_key(conn: &mut MysqlConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(a::login_attempts.filter(a::login_key.eq(key))).execute(conn)
}

/// Drops rows no window can see any more.
pub fn prune(conn: &mut MysqlConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(a::login_attempts.filter(a::created_at.lt(before))).execute(conn)
}
