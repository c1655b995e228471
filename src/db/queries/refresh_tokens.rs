//! refresh_tokens: rotating opaque tokens grouped in families (one family = one device session).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bigint;

use crate::db::models::RefreshToken;
use crate::db::schema::refresh_tokens::dsl as r;
use crate::domain::TokenHash;

pub struct NewRefresh<'a> {
    pub hash: &'a TokenHash,
    pub family: &'a str,
    pub employee: i64,
    pub device_label: Option<&'a str>,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The factors the session was opened with, in `Amr`'s stored form.
    pub amr: &'a str,
}

pub fn insert(conn: &mut MysqlConnection, n: &NewRefresh<'_>) -> QueryResult<i64> {
    diesel::insert_into(r::refresh_tokens)
        .values((
            r::token_hash.eq(n.hash.0.as_slice()),
            r::family.eq(n.family),
            r::employee_ref.eq(n.employee),
            r::device_label.eq(n.device_label),
            r::created_at.eq(n.now),
            r::expires_at.eq(n.expires_at),
            r::amr.eq(n.amr),
        ))
        .execute(conn)?;
    diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
}

pub fn find_by_hash_for_update(
    conn: &mut MysqlConnection,
    hash: &TokenHash,
) -> QueryResult<Option<RefreshToken>> {
    r::refresh_tokens
        .filter(r::token_hash.eq(hash.0.as_slice()))
        .select(RefreshToken::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Marks `id` as spent by `successor`; zero rows means someone else spent it first.
pub fn mark_replaced(
    conn: &mut MysqlConnection,
    id: i64,
    successor: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        r::refresh_tokens
            .filter(r::id.eq(id))
            .filter(r::replaced_by.is_null())
            .filter(r::revoked_at.is_null()),
    )
    .set((
        r::replaced_by.eq(Some(successor)),
        r::last_used_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(
    conn: &mut MysqlConnection,
    family: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        r::refresh_tokens
            .filter(r::family.eq(family))
            .filter(r::revoked_at.is_null()),
    )
    .set(r::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes all of an employee's sessions except `keep_family`, in one statement so a session
/// rotated concurrently cannot escape.
pub fn revoke_all_for_employee(
    conn: &mut MysqlConnection,
    employee: i64,
    keep_family: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let live = r::refresh_tokens
        .filter(r::employee_ref.eq(employee))
        .filter(r::revoked_at.is_null());
    match keep_family {
        Some(f) => diesel::update(live.filter(r::family.ne(f)))
            .set(r::revoked_at.eq(Some(now)))
            .execute(conn),
        None => diesel::update(live)
            .set(r::revoked_at.eq(Some(now)))
            .execute(conn),
    }
}

/// A family is live while it has a token that is neither revoked nor expired.
pub fn family_is_active(
    conn: &mut MysqlConnection,
    family: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        r::refresh_tokens
            .filter(r::family.eq(family))
            .filter(r::revoked_at.is_null())
            .filter(r::replaced_by.is_null())
            .filter(r::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Revokes every token still open (neither revoked nor replaced, expired or not), so no device
/// session survives; returns how many.
pub fn revoke_all_open(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        r::refresh_tokens
            .filter(r::revoked_at.is_null())
            .filter(r::replaced_by.is_null()),
    )
    .set(r::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Revokes the employee's sessions opened without a second factor (their `amr` has neither
/// `otp` nor `hwk`), except `keep_family`: a factor just set up must not leave a password-only
/// session of someone else standing.
pub fn revoke_without_second_factor(
    conn: &mut MysqlConnection,
    employee: i64,
    keep_family: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let weak = r::refresh_tokens
        .filter(r::employee_ref.eq(employee))
        .filter(r::revoked_at.is_null())
        .filter(r::amr.not_like("%otp%"))
        .filter(r::amr.not_like("%hwk%"));
    match keep_family {
        Some(f) => diesel::update(weak.filter(r::family.ne(f)))
            .set(r::revoked_at.eq(Some(now)))
            .execute(conn),
        None => diesel::update(weak)
            .set(r::revoked_at.eq(Some(now)))
            .execute(conn),
    }
}

/// When the session (refresh family) was opened: its first token's creation.
pub fn family_opened_at(
    conn: &mut MysqlConnection,
    family: &str,
) -> QueryResult<Option<NaiveDateTime>> {
    r::refresh_tokens
        .filter(r::family.eq(family))
        .select(diesel::dsl::min(r::created_at))
        .first(conn)
}
