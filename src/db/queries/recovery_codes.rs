//! recovery_codes: SHA-256 hashes of an account's one-time recovery codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::RecoveryCode;
use crate::db::schema::recovery_codes::dsl as c;

/// Replaces the account's set: the old codes, used or not, stop working.
pub fn replace(
    conn: &mut MysqlConnection,
    employee: i64,
    hashes: &[[u8; 32]],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(c::recovery_codes.filter(c::employee_ref.eq(employee))).execute(conn)?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|h| {
            (
                c::employee_ref.eq(employee),
                c::code_hash.eq(h.as_slice()),
                c::created_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(c::recovery_codes)
        .values(rows)
        .execute(conn)
}

/// Spends one code: zero rows if it is not one of the account's or was used already.
pub fn spend(
    conn: &mut MysqlConnection,
    employee: i64,
    hash: &[u8; 32],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        c::recovery_codes
            .filter(c::employee_ref.eq(employee))
            .filter(c::code_hash.eq(hash.as_slice()))
            .filter(c::used_at.is_null()),
    )
    .set(c::used_at.eq(Some(now)))
    .execute(conn)
}

pub fn unused_count(conn: &mut MysqlConnection, employee: i64) -> QueryResult<i64> {
    c::recovery_codes
        .filter(c::employee_ref.eq(employee))
        .filter(c::used_at.is_null())
        .count()
        .get_result(conn)
}

pub fn all_for(conn: &mut MysqlConnection, employee: i64) -> QueryResult<Vec<RecoveryCode>> {
    c::recovery_codes
        .filter(c::employee_ref.eq(employee))
        .order(c::id.asc())
        .select(RecoveryCode::as_select())
        .load(conn)
}

pub fn delete_all(conn: &mut MysqlConnection, employee: i64) -> QueryResult<usize> {
    diesel::delete(c::recovery_codes.filter(c::employee_ref.eq(employee))).execute(conn)
}

/// Puts codes back exactly as they were, used ones still used (a rolled-back reset).
pub fn restore(
    conn: &mut MysqlConnection,
    employee: i64,
    codes: &[(Vec<u8>, NaiveDateTime, Option<NaiveDateTime>)],
) -> QueryResult<usize> {
    diesel::delete(c::recovery_codes.filter(c::employee_ref.eq(employee))).execute(conn)?;
    if codes.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = codes
        .iter()
        .map(|(hash, created, used)| {
            (
                c::employee_ref.eq(employee),
                c::code_hash.eq(hash.as_slice()),
                c::created_at.eq(*created),
                c::used_at.eq(*used),
            )
        })
        .collect();
    diesel::insert_into(c::recovery_codes)
        .values(rows)
        .execute(conn)
}
