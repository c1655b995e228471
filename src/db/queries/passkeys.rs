//! passkeys: an account's WebAuthn credentials (public keys and counters).

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
