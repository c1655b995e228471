//! second_factors: an account's authenticator app (confirmed or being enrolled), the
//! second-step failure counter and lock, and whether the account owes an enrolment.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Datetime, Integer};

use crate::db::models::SecondFactor;
use crate::db::schema::second_factors::dsl as f;

pub fn find(conn: &mut MysqlConnection, employee: i64) -> QueryResult<Option<SecondFactor>> {
    f::second_factors
        .filter(f::employee_ref.eq(employee))
        .select(SecondFactor::as_select())
        .first(conn)
        .optional()
}

/// The row, created empty if missing, locked for the rest of the transaction: every
/// second-step decision for one account is taken one at a time, on every node.
pub fn lock(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> QueryResult<SecondFactor> {
    diesel::sql_query(
        "INSERT INTO second_factors (employee_ref, updated_at) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE employee_ref = employee_ref",
    )
    .bind::<Bigint, _>(employee)
    .bind::<Datetime, _>(now)
    .execute(conn)?;
    f::second_factors
        .filter(f::employee_ref.eq(employee))
        .select(SecondFactor::as_select())
        .for_update()
        .first(conn)
}

/// Offers a new secret for enrolment to the session `owner` (replacing any earlier offer).
pub fn set_pending(
    conn: &mut MysqlConnection,
    employee: i64,
    sealed: &str,
    key_id: &str,
    owner: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(f::second_factors.filter(f::employee_ref.eq(employee)))
        .set((
            f::pending_sealed.eq(Some(sealed)),
            f::pending_key_id.eq(Some(key_id)),
            f::pending_created_at.eq(Some(now)),
            f::pending_owner.eq(Some(owner)),
            f::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Makes the offered secret the account's authenticator, with the confirming code's step
/// spent. Guarded on the offer still being the one that was checked.
pub fn confirm_pending(
    conn: &mut MysqlConnection,
    employee: i64,
    sealed: &str,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE second_factors SET totp_sealed = pending_sealed, totp_key_id = pending_key_id, \
           totp_last_step = ?, totp_confirmed_at = ?, pending_sealed = NULL, \
           pending_key_id = NULL, pending_created_at = NULL, pending_owner = NULL, \
           must_enrol = FALSE, \
           failed_count = 0, locked_until = NULL, updated_at = ? \
         WHERE employee_ref = ? AND pending_sealed = ?",
    )
    .bind::<Bigint, _>(step)
    .bind::<Datetime, _>(now)
    .bind::<Datetime, _>(now)
    .bind::<Bigint, _>(employee)
    .bind::<diesel::sql_types::Text, _>(sealed)
    .execute(conn)
}

/// Spends time step `step`: one statement, so of two nodes checking the same code at once
/// only one moves the step forward. Zero rows: the step (or a later one) was already used.
pub fn spend_step(
    conn: &mut MysqlConnection,
    employee: i64,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        f::second_factors
            .filter(f::employee_ref.eq(employee))
            .filter(f::totp_sealed.is_not_null())
            .filter(f::totp_last_step.lt(step)),
    )
    .set((f::totp_last_step.eq(step), f::updated_at.eq(now)))
    .execute(conn)
}

/// Counts a wrong code; the one that reaches `threshold` sets the lock.
pub fn record_failure(
    conn: &mut MysqlConnection,
    employee: i64,
    threshold: i32,
    lock_until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE second_factors SET \
           locked_until = IF(failed_count + 1 >= ?, ?, locked_until), \
           failed_count = failed_count + 1, updated_at = ? \
         WHERE employee_ref = ?",
    )
    .bind::<Integer, _>(threshold)
    .bind::<Datetime, _>(lock_until)
    .bind::<Datetime, _>(now)
    .bind::<Bigint, _>(employee)
    .execute(conn)
}

/// A right code (or a lock that ran out, or an admin's unlock) starts the count afresh.
pub fn clear_failures(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        f::second_factors
            .filter(f::employee_ref.eq(employee))
            .filter(f::failed_count.gt(0).or(f::locked_until.is_not_null())),
    )
    .set((
        f::failed_count.eq(0),
        f::locked_until.eq(None::<NaiveDateTime>),
        f::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Removes the authenticator app (and any offer).
pub fn remove_totp(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(f::second_factors.filter(f::employee_ref.eq(employee)))
        .set((
            f::totp_sealed.eq(None::<String>),
            f::totp_key_id.eq(None::<String>),
            f::totp_last_step.eq(0),
            f::totp_confirmed_at.eq(None::<NaiveDateTime>),
            f::pending_sealed.eq(None::<String>),
            f::pending_key_id.eq(None::<String>),
            f::pending_created_at.eq(None::<NaiveDateTime>),
            f::pending_owner.eq(None::<String>),
            f::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Puts an authenticator back exactly as it was (a rolled-back reset).
pub fn restore_totp(
    conn: &mut MysqlConnection,
    employee: i64,
    sealed: &str,
    key_id: &str,
    last_step: i64,
    confirmed_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(f::second_factors.filter(f::employee_ref.eq(employee)))
        .set((
            f::totp_sealed.eq(Some(sealed)),
            f::totp_key_id.eq(Some(key_id)),
            f::totp_last_step.eq(last_step),
            f::totp_confirmed_at.eq(Some(confirmed_at)),
            f::pending_sealed.eq(None::<String>),
            f::pending_key_id.eq(None::<String>),
            f::pending_created_at.eq(None::<NaiveDateTime>),
            f::pending_owner.eq(None::<String>),
            f::must_enrol.eq(false),
            f::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_must_enrol(
    conn: &mut MysqlConnection,
    employee: i64,
    must: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(f::second_factors.filter(f::employee_ref.eq(employee)))
        .set((f::must_enrol.eq(must), f::updated_at.eq(now)))
        .execute(conn)
}
