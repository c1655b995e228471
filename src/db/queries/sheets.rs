//! Account sheets: who a batch prints for, and the print records.

use chrono::NaiveDateTime;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::models::Employee;
use crate::db::schema::employees::dsl as e;
use crate::db::schema::onetime_tokens::dsl as t;
use crate::db::schema::sheet_prints::dsl as s;

/// Employees by login ID (any status: the caller reports the ones that cannot be printed).
pub fn by_codes(conn: &mut MysqlConnection, codes: &[String]) -> QueryResult<Vec<Employee>> {
    e::employees
        .filter(e::employee_id.eq_any(codes))
        .order(e::employee_id.asc())
        .select(Employee::as_select())
        .load(conn)
}

/// Active employees of one department.
pub fn by_department(conn: &mut MysqlConnection, department: &str) -> QueryResult<Vec<Employee>> {
    e::employees
        .filter(e::department.eq(department))
        .filter(e::status.eq("active"))
        .order(e::employee_id.asc())
        .select(Employee::as_select())
        .load(conn)
}

/// Active employees who have not set a password of their own yet: those whose printed sheet
/// still holds a working QR code (`handed_out`), or those with none (never printed, or the
/// code expired, was used or revoked).
fn pending_query<'a>(
    handed_out: bool,
    now: NaiveDateTime,
) -> crate::db::schema::employees::BoxedQuery<'a, Mysql> {
    let live = t::onetime_tokens
        .filter(t::employee_ref.eq(e::id))
        .filter(t::used_at.is_null())
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.gt(now));
    let q = e::employees
        .filter(e::status.eq("active"))
        .filter(
            e::password_hash
                .is_null()
                .or(e::password_must_change.eq(true)),
        )
        .into_boxed();
    if handed_out {
        q.filter(diesel::dsl::exists(live))
    } else {
        q.filter(diesel::dsl::not(diesel::dsl::exists(live)))
    }
}

pub fn pending(
    conn: &mut MysqlConnection,
    handed_out: bool,
    now: NaiveDateTime,
) -> QueryResult<Vec<Employee>> {
    pending_query(handed_out, now)
        .order(e::employee_id.asc())
        .select(Employee::as_select())
        .load(conn)
}

/// How many `pending` would print for an admin of `max_level` (None: no ceiling).
pub fn pending_count(
    conn: &mut MysqlConnection,
    handed_out: bool,
    now: NaiveDateTime,
    max_level: Option<f64>,
) -> QueryResult<i64> {
    let q = pending_query(handed_out, now);
    match max_level {
        Some(level) => q
            .filter(e::permission_level.le(level))
            .count()
            .get_result(conn),
        None => q.count().get_result(conn),
    }
}

/// The rows a batch writes to, locked in primary-key order (two batches over the same
/// people wait for each other instead of deadlocking).
pub fn lock_for_print(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<Vec<Employee>> {
    e::employees
        .filter(e::id.eq_any(ids))
        .order(e::id.asc())
        .select(Employee::as_select())
        .for_update()
        .load(conn)
}

/// How many unused, unrevoked QR tokens these employees hold (what printing will revoke).
pub fn live_tokens(
    conn: &mut MysqlConnection,
    ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<i64> {
    t::onetime_tokens
        .filter(t::employee_ref.eq_any(ids))
        .filter(t::used_at.is_null())
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.gt(now))
        .count()
        .get_result(conn)
}

/// Earlier sheets of one employee (the reprint number of the next one).
pub fn prints_of(conn: &mut MysqlConnection, employee: i64) -> QueryResult<i64> {
    s::sheet_prints
        .filter(s::employee_ref.eq(employee))
        .count()
        .get_result(conn)
}

pub struct NewPrint<'a> {
    pub serial: &'a str,
    pub employee: i64,
    pub token: i64,
    pub printed_by: Option<i64>,
    pub reprint: i32,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut MysqlConnection, p: &NewPrint<'_>) -> QueryResult<usize> {
    diesel::insert_into(s::sheet_prints)
        .values((
            s::serial.eq(p.serial),
            s::employee_ref.eq(p.employee),
            s::token_ref.eq(Some(p.token)),
            s::printed_by.eq(p.printed_by),
            s::printed_at.eq(p.now),
            s::reprint_number.eq(p.reprint),
        ))
        .execute(conn)
}

/// A fresh initial password: it must be changed at the next sign-in. The password version
/// moves on, so setup sessions from older sheets end.
pub fn set_initial_password(
    conn: &mut MysqlConnection,
    id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(e::employees.filter(e::id.eq(id)))
        .set((
            e::password_hash.eq(Some(hash)),
            e::password_must_change.eq(true),
            e::password_updated_at.eq(Some(now)),
            e::updated_at.eq(now),
        ))
        .execute(conn)
}

#[derive(Debug, QueryableByName)]
pub struct Department {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
}

/// Departments with active staff, and how many of them have no password of their own yet.
pub fn departments(conn: &mut MysqlConnection) -> QueryResult<Vec<Department>> {
    diesel::sql_query(
        "SELECT department AS name, COUNT(*) AS active, \
           CAST(SUM(password_hash IS NULL OR password_must_change) AS SIGNED) AS pending \
         FROM employees WHERE status = 'active' AND department <> '' \
         GROUP BY department ORDER BY department",
    )
    .load(conn)
}

/// Last sheet printed for each of these employees: (employee, printed_at, reprint number).
pub fn last_prints(
    conn: &mut MysqlConnection,
    ids: &[i64],
) -> QueryResult<Vec<(i64, NaiveDateTime, i32)>> {
    let rows: Vec<(i64, NaiveDateTime, i32)> = s::sheet_prints
        .filter(s::employee_ref.eq_any(ids))
        .order((s::employee_ref.asc(), s::printed_at.desc(), s::id.desc()))
        .select((s::employee_ref, s::printed_at, s::reprint_number))
        .load(conn)?;
    let mut last: Vec<(i64, NaiveDateTime, i32)> = Vec::new();
    for row in rows {
        if last.last().map(|l| l.0) != Some(row.0) {
            last.push(row);
        }
    }
    Ok(last)
}
