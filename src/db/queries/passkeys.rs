//! passkeys: an account's WebAuthn credentials (public keys and counters).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::PasskeyRow;
use crate::db::schema::passkeys::dsl as p;

pub fn for_employee(conn: &mut MysqlConnection, employee: i64) -> QueryResult<Vec<PasskeyRow>> {
    p::passkeys
        .filter(p::employee_ref.eq(employee))
        .order(p::id.asc())
        .select(PasskeyRow::as_select())
        .load(conn)
}

pub fn count_for(conn: &mut MysqlConnection, employee: i64) -> QueryResult<i64> {
    p::passkeys
        .filter(p::employee_ref.eq(employee))
        .count()
        .get_result(conn)
}

pub fn delete_all(conn: &mut MysqlConnection, employee: i64) -> QueryResult<usize> {
    diesel::delete(p::passkeys.filter(p::employee_ref.eq(employee))).execute(conn)
}

/// Puts passkeys back exactly as they were (a rolled-back reset).
pub fn restore(conn: &mut MysqlConnection, rows: &[PasskeyRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                p::employee_ref.eq(r.employee_ref),
                p::credential_id_hash.eq(r.credential_id_hash.as_slice()),
                p::label.eq(&r.label),
                p::credential.eq(&r.credential),
                p::created_at.eq(r.created_at),
                p::last_used_at.eq(r.last_used_at),
            )
        })
        .collect();
    diesel::insert_into(p::passkeys)
        .values(values)
        .execute(conn)
}

pub fn insert(
    conn: &mut MysqlConnection,
    employee: i64,
    credential_id_hash: &[u8; 32],
    label: &str,
    credential: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(p::passkeys)
        .values((
            p::employee_ref.eq(employee),
            p::credential_id_hash.eq(credential_id_hash.as_slice()),
            p::label.eq(label),
            p::credential.eq(credential),
            p::created_at.eq(now),
        ))
        .execute(conn)
}

/// Deletes one passkey of this account (0 when the id is not theirs).
pub fn delete_one(conn: &mut MysqlConnection, employee: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        p::passkeys
            .filter(p::id.eq(id))
            .filter(p::employee_ref.eq(employee)),
    )
    .execute(conn)
}

/// Stores the credential after a sign-in (its new counter), only if nobody stored another
/// since it was read: 0 rows means a concurrent use of the same passkey won.
pub fn update_after_use(
    conn: &mut MysqlConnection,
    id: i64,
    read: &str,
    updated: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        p::passkeys
            .filter(p::id.eq(id))
            .filter(p::credential.eq(read)),
    )
    .set((p::credential.eq(updated), p::last_used_at.eq(now)))
    .execute(conn)
}
