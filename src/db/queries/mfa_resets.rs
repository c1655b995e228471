//! mfa_resets: one row per second-factor reset, with the previous credentials sealed under the
//! reset-log key it names, until the rollback window closes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bigint;

use crate::db::models::MfaReset;
use crate::db::schema::mfa_resets::dsl as m;

pub struct NewReset<'a> {
    pub target: i64,
    pub target_code: &'a str,
    pub actor: Option<i64>,
    pub actor_label: &'a str,
    pub reason: &'a str,
    pub key_id: &'a str,
    pub sealed: &'a str,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut MysqlConnection, r: &NewReset<'_>) -> QueryResult<i64> {
    diesel::insert_into(m::mfa_resets)
        .values((
            m::target_ref.eq(r.target),
            m::target_code.eq(r.target_code),
            m::actor_ref.eq(r.actor),
            m::actor_label.eq(r.actor_label),
            m::reason.eq(r.reason),
            m::created_at.eq(r.now),
            m::key_id.eq(Some(r.key_id)),
            m::sealed_payload.eq(Some(r.sealed)),
        ))
        .execute(conn)?;
    diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
}

pub fn find_for_update(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<MfaReset>> {
    m::mfa_resets
        .filter(m::id.eq(id))
        .select(MfaReset::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// The newest rows first, at most `limit`.
pub fn recent(conn: &mut MysqlConnection, limit: i64) -> QueryResult<Vec<MfaReset>> {
    m::mfa_resets
        .order(m::id.desc())
        .limit(limit)
        .select(MfaReset::as_select())
        .load(conn)
}

pub fn for_target(conn: &mut MysqlConnection, target: i64) -> QueryResult<Vec<MfaReset>> {
    m::mfa_resets
        .filter(m::target_ref.eq(target))
        .order(m::id.desc())
        .select(MfaReset::as_select())
        .load(conn)
}

pub struct RolledBack<'a> {
    pub by: Option<i64>,
    pub by_label: &'a str,
    pub reason: &'a str,
    pub now: NaiveDateTime,
}

/// Marks the row rolled back and erases its payload: a reset is rolled back at most once.
pub fn mark_rolled_back(
    conn: &mut MysqlConnection,
    id: i64,
    r: &RolledBack<'_>,
) -> QueryResult<usize> {
    diesel::update(
        m::mfa_resets
            .filter(m::id.eq(id))
            .filter(m::rolled_back_at.is_null())
            .filter(m::sealed_payload.is_not_null()),
    )
    .set((
        m::rolled_back_at.eq(Some(r.now)),
        m::rolled_back_by_ref.eq(r.by),
        m::rolled_back_by_label.eq(Some(r.by_label)),
        m::rollback_reason.eq(Some(r.reason)),
        m::sealed_payload.eq(None::<String>),
        m::erased_at.eq(Some(r.now)),
    ))
    .execute(conn)
}

/// Erases the payloads of resets made before `before` (the row stays as the record).
pub fn erase_before(
    conn: &mut MysqlConnection,
    before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        m::mfa_resets
            .filter(m::created_at.lt(before))
            .filter(m::sealed_payload.is_not_null()),
    )
    .set((
        m::sealed_payload.eq(None::<String>),
        m::erased_at.eq(Some(now)),
    ))
    .execute(conn)
}

/// Rows with a payload, after `after_id`, oldest first (rekey and verify walk them in batches).
pub fn sealed_batch(
    conn: &mut MysqlConnection,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<MfaReset>> {
    m::mfa_resets
        .filter(m::id.gt(after_id))
        .filter(m::sealed_payload.is_not_null())
        .order(m::id.asc())
        .limit(limit)
        .select(MfaReset::as_select())
        .for_update()
        .load(conn)
}

pub fn reseal(
    conn: &mut MysqlConnection,
    id: i64,
    key_id: &str,
    sealed: &str,
) -> QueryResult<usize> {
    diesel::update(m::mfa_resets.filter(m::id.eq(id)))
        .set((
            m::key_id.eq(Some(key_id)),
            m::sealed_payload.eq(Some(sealed)),
        ))
        .execute(conn)
}

/// How many sealed rows each key id holds.
pub fn key_counts(conn: &mut MysqlConnection) -> QueryResult<Vec<(Option<String>, i64)>> {
    m::mfa_resets
        .filter(m::sealed_payload.is_not_null())
        .group_by(m::key_id)
        .select((m::key_id, diesel::dsl::count_star()))
        .load(conn)
}
