//! login_attempts: the rate-limit ledger shared by every node.
//!
//! A row is *pending* from admission until its password check settles (`settled_at`), then a
//! failure or a success. Limits count settled failures; pending rows only hold a slot, so a
//! correct password in flight never counts against anyone. A pending row older than the stale
//! bound (its node died mid-check) counts as a failure.
//!
//! `client_ip` holds the address as the limits count it (`ClientInfo::limit_key`: an IPv6
//! client's /64), not necessarily the full address; the history keeps that.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Datetime, Nullable, Text};

use crate::db::schema::login_attempts::dsl as a;

/// Failures and checks in flight of one window, as admission weighs them.
#[derive(Debug, Clone, Copy, Default, QueryableByName)]
pub struct Tally {
    /// Settled failures (and pending rows past the stale bound).
    #[diesel(sql_type = Bigint)]
    pub failed: i64,
    /// Attempts admitted whose password check has not settled yet.
    #[diesel(sql_type = Bigint)]
    pub in_flight: i64,
    /// The oldest counted failure (for Retry-After).
    #[diesel(sql_type = Nullable<Datetime>)]
    pub oldest_failure: Option<NaiveDateTime>,
}

const TALLY: &str = "SELECT \
       CAST(COALESCE(SUM(settled_at IS NOT NULL OR created_at <= ?), 0) AS SIGNED) AS failed, \
       CAST(COALESCE(SUM(settled_at IS NULL AND created_at > ?), 0) AS SIGNED) AS in_flight, \
       MIN(IF(settled_at IS NOT NULL OR created_at <= ?, created_at, NULL)) AS oldest_failure \
     FROM login_attempts \
     WHERE success = FALSE AND created_at > ?";

/// The failures of one client address (its limit key) since `since`, of one login key from it
/// when `key` is given; pending rows created at or before `stale` count as failures.
pub fn tally(
    conn: &mut MysqlConnection,
    key: Option<&str>,
    ip: &str,
    since: NaiveDateTime,
    stale: NaiveDateTime,
) -> QueryResult<Tally> {
    let sql = match key {
        Some(_) => format!("{TALLY} AND client_ip = ? AND login_key = ?"),
        None => format!("{TALLY} AND client_ip = ?"),
    };
    let query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<Datetime, _>(stale)
        .bind::<Datetime, _>(stale)
        .bind::<Datetime, _>(stale)
        .bind::<Datetime, _>(since)
        .bind::<Text, _>(ip.to_owned());
    match key {
        Some(key) => query.bind::<Text, _>(key.to_owned()).get_result(conn),
        None => query.get_result(conn),
    }
}

/// Checks of one login key in flight from any address (not yet settled, not stale).
pub fn in_flight_for_key(
    conn: &mut MysqlConnection,
    key: &str,
    stale: NaiveDateTime,
) -> QueryResult<i64> {
    a::login_attempts
        .filter(a::login_key.eq(key))
        .filter(a::success.eq(false))
        .filter(a::settled_at.is_null())
        .filter(a::created_at.gt(stale))
        .count()
        .get_result(conn)
}

/// Settles a login key's checks pending since `stale` or longer as failures; returns how many.
pub fn reap_stale(
    conn: &mut MysqlConnection,
    key: &str,
    stale: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        a::login_attempts
            .filter(a::login_key.eq(key))
            .filter(a::success.eq(false))
            .filter(a::settled_at.is_null())
            .filter(a::created_at.le(stale)),
    )
    .set(a::settled_at.eq(Some(now)))
    .execute(conn)
}

/// Records an admitted attempt as pending; returns its id.
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

/// Removes an attempt that was never settled (its password could not be checked, or its
/// settlement failed).
pub fn delete_pending(conn: &mut MysqlConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(
        a::login_attempts
            .filter(a::id.eq(id))
            .filter(a::settled_at.is_null()),
    )
    .execute(conn)
}

/// Settles a pending attempt: `success` or a counted failure. Matches nothing when the attempt
/// was already settled (reaped as stale) or removed.
pub fn settle(
    conn: &mut MysqlConnection,
    id: i64,
    success: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        a::login_attempts
            .filter(a::id.eq(id))
            .filter(a::settled_at.is_null()),
    )
    .set((a::success.eq(success), a::settled_at.eq(Some(now))))
    .execute(conn)
}

/// Forgets an employee's settled failures from every address (admin unlock, password change).
/// Checks still in flight keep their slot until they settle.
pub fn clear_key(conn: &mut MysqlConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(
        a::login_attempts
            .filter(a::login_key.eq(key))
            .filter(a::success.eq(true).or(a::settled_at.is_not_null())),
    )
    .execute(conn)
}

/// Drops rows no window can see any more.
pub fn prune(conn: &mut MysqlConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(a::login_attempts.filter(a::created_at.lt(before))).execute(conn)
}
