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
