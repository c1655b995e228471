//! employees: lookups, the atomic failure counter and lock, passwords, and the listings the
//! CSV import and `create-admin` write. Every write of a name, kana or department here also
//! writes the search key folded from them (`domain::search_key`).

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Bool, Datetime, Integer};

use crate::db::models::{Employee, NewEmployee};
use crate::db::schema::employees::dsl as e;
use crate::domain::ExpiryPolicy;
use crate::domain::search_key::employee_key;

/// The search key of a new employee, to insert with it.
fn keyed<'a>(
    row: &'a NewEmployee<'a>,
) -> (
    &'a NewEmployee<'a>,
    diesel::dsl::Eq<e::search_key, Option<String>>,
) {
    let key = employee_key(row.name, row.name_kana, row.department);
    (row, e::search_key.eq(Some(key)))
}

pub fn find_by_code(conn: &mut MysqlConnection, code: &str) -> QueryResult<Option<Employee>> {
    e::employees
        .filter(e::employee_id.eq(code))
        .select(Employee::as_select())
        .first(conn)
        .optional()
}

/// Same, holding the row lock until the transaction ends (serialises sign-in admission for
/// one account across every node).
pub fn find_by_code_for_update(
    conn: &mut MysqlConnection,
    code: &str,
) -> QueryResult<Option<Employee>> {
    e::employees
        .filter(e::employee_id.eq(code))
        .select(Employee::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn find(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<Employee>> {
    e::employees
        .find(id)
        .select(Employee::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut MysqlConnection, row: &NewEmployee<'_>) -> QueryResult<i64> {
    diesel::insert_into(e::employees)
        .values(keyed(row))
        .execute(conn)?;
    diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
}

/// Counts one wrong password: increments the counter in one statement (no lost update under any
/// concurrency) and sets the lock when the counter reaches `threshold`. `locked_until` is
/// assigned first so it reads the counter's old value on both MySQL and MariaDB.
pub fn record_failure(
    conn: &mut MysqlConnection,
    id: i64,
    threshold: i32,
    lock_until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE employees SET \
           locked_until = IF(failed_login_count + 1 >= ?, ?, locked_until), \
           failed_login_count = failed_login_count + 1, \
           updated_at = ? \
         WHERE id = ?",
    )
    .bind::<Integer, _>(threshold)
    .bind::<Datetime, _>(lock_until)
    .bind::<Datetime, _>(now)
    .bind::<Bigint, _>(id)
    .execute(conn)
}

/// A lock that has run out also resets the counter, so the next failure starts from zero.
pub fn clear_expired_lock(
    conn: &mut MysqlConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        e::employees
            .filter(e::id.eq(id))
            .filter(e::locked_until.le(now)),
    )
    .set((
        e::locked_until.eq(None::<NaiveDateTime>),
        e::failed_login_count.eq(0),
    ))
    .execute(conn)
}

pub fn mark_signed_in(
    conn: &mut MysqlConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(e::employees.find(id))
        .set((
            e::failed_login_count.eq(0),
            e::locked_until.eq(None::<NaiveDateTime>),
            e::last_login_at.eq(Some(now)),
            e::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Clears lock and counter; returns whether the account was locked at `now`.
pub fn unlock(conn: &mut MysqlConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let was_locked = diesel::update(
        e::employees
            .filter(e::id.eq(id))
            .filter(e::locked_until.gt(now)),
    )
    .set(e::updated_at.eq(now))
    .execute(conn)?
        > 0;
    diesel::update(e::employees.find(id))
        .set((
            e::failed_login_count.eq(0),
            e::locked_until.eq(None::<NaiveDateTime>),
            e::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(was_locked)
}

/// A new password as the table keeps it.
pub struct NewPassword<'a> {
    pub hash: &'a str,
    pub must_change: bool,
    /// See `domain::expiry::length_class`.
    pub length_class: i32,
    /// The first-expiry spread offset to keep (the first password an account chooses keeps
    /// it; every later one expires after the full period).
    pub expiry_offset_days: i32,
}

/// Sets a new hash, guarded by the password version the caller saw (optimistic: a concurrent
/// change makes this match zero rows).
pub fn set_password(
    conn: &mut MysqlConnection,
    id: i64,
    new: &NewPassword<'_>,
    seen_updated_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = e::employees.filter(e::id.eq(id));
    let (hash, must_change) = (new.hash, new.must_change);
    let values = (
        e::password_length_class.eq(new.length_class),
        e::password_expiry_offset_days.eq(new.expiry_offset_days),
        e::password_hash.eq(Some(hash)),
        e::password_must_change.eq(must_change),
        e::password_updated_at.eq(Some(now)),
        e::failed_login_count.eq(0),
        e::locked_until.eq(None::<NaiveDateTime>),
        e::updated_at.eq(now),
    );
    match seen_updated_at {
        Some(seen) => diesel::update(target.filter(e::password_updated_at.eq(seen)))
            .set(values)
            .execute(conn),
        None => diesel::update(target.filter(e::password_updated_at.is_null()))
            .set(values)
            .execute(conn),
    }
}

/// SQL for "the password expires within (`from`, `until`]" under `policy` (`from` None: any
/// time up to `until`), matching `ExpiryPolicy::expires_at`. The numbers come from a validated
/// policy, the times are bound.
pub fn expires_between(
    policy: &ExpiryPolicy,
    from: Option<NaiveDateTime>,
    until: NaiveDateTime,
) -> Box<dyn BoxableExpression<e::employees, Mysql, SqlType = Bool>> {
    if !policy.enabled {
        return Box::new(sql::<Bool>("FALSE"));
    }
    let exempt = if policy.long_exempt {
        format!(" AND password_length_class < {}", policy.long_length)
    } else {
        String::new()
    };
    let expires = format!(
        "DATE_ADD(password_updated_at, INTERVAL ({} - LEAST(GREATEST(password_expiry_offset_days, 0), {})) DAY)",
        policy.expire_days,
        policy.expire_days / 2
    );
    let head = sql::<Bool>(&format!(
        "(password_hash IS NOT NULL AND password_updated_at IS NOT NULL{exempt} AND {expires} <= "
    ))
    .bind::<Datetime, _>(until);
    match from {
        Some(from) => Box::new(
            head.sql(&format!(" AND {expires} > "))
                .bind::<Datetime, _>(from)
                .sql(")"),
        ),
        None => Box::new(head.sql(")")),
    }
}

/// Active employees with an address whose password expires within (`from`, `until`] and who
/// have chosen it themselves (an initial password is changed at sign-in anyway).
pub fn expiring_with_email(
    conn: &mut MysqlConnection,
    policy: &ExpiryPolicy,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<Employee>> {
    e::employees
        .filter(e::status.eq("active"))
        .filter(e::email.is_not_null())
        .filter(e::password_must_change.eq(false))
        .filter(expires_between(policy, Some(from), until))
        .select(Employee::as_select())
        .load(conn)
}

pub fn by_ids(
    conn: &mut MysqlConnection,
    ids: impl Iterator<Item = i64>,
) -> QueryResult<std::collections::HashMap<i64, Employee>> {
    let ids: Vec<i64> = ids.collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Employee> = e::employees
        .filter(e::id.eq_any(ids))
        .select(Employee::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// What the employee list (the CSV import) says about an employee.
#[derive(Debug, Queryable)]
pub struct Listing {
    pub id: i64,
    pub employee_id: String,
    pub name: String,
    pub name_kana: String,
    pub department: String,
    pub email: Option<String>,
    pub permission_level: f64,
    pub status: String,
}

/// The columns of a `Listing`.
const LISTING: (
    e::id,
    e::employee_id,
    e::name,
    e::name_kana,
    e::department,
    e::email,
    e::permission_level,
    e::status,
) = (
    e::id,
    e::employee_id,
    e::name,
    e::name_kana,
    e::department,
    e::email,
    e::permission_level,
    e::status,
);

/// The listings of the employees with these IDs, read 1,000 IDs per statement.
pub fn listings(conn: &mut MysqlConnection, codes: &[&str]) -> QueryResult<Vec<Listing>> {
    let mut found = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(1000) {
        found.extend(
            e::employees
                .filter(e::employee_id.eq_any(chunk))
                .select(LISTING)
                .load::<Listing>(conn)?,
        );
    }
    Ok(found)
}

/// The same listings, each row locked until the transaction ends, so what a caller checks
/// (a permission level, a status) is still so when it writes.
pub fn listings_for_update(
    conn: &mut MysqlConnection,
    codes: &[&str],
) -> QueryResult<Vec<Listing>> {
    let mut found = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(1000) {
        found.extend(
            e::employees
                .filter(e::employee_id.eq_any(chunk))
                .select(LISTING)
                .for_update()
                .load::<Listing>(conn)?,
        );
    }
    Ok(found)
}

/// Inserts every row, 500 rows per statement.
pub fn insert_all(conn: &mut MysqlConnection, rows: &[NewEmployee<'_>]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        let keyed: Vec<_> = chunk.iter().map(keyed).collect();
        diesel::insert_into(e::employees)
            .values(keyed)
            .execute(conn)?;
    }
    Ok(())
}

/// Sets the employee's status (`active`, `suspended`, `retired`).
pub fn set_status(
    conn: &mut MysqlConnection,
    id: i64,
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(e::employees.find(id))
        .set((e::status.eq(status), e::updated_at.eq(now)))
        .execute(conn)
}

/// A changed listing, written over the employee with this ID.
pub struct ListingChange<'a> {
    pub name: &'a str,
    pub name_kana: &'a str,
    pub department: &'a str,
    pub email: Option<&'a str>,
    pub permission_level: f64,
}

pub fn update_listing(
    conn: &mut MysqlConnection,
    code: &str,
    change: &ListingChange<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(e::employees.filter(e::employee_id.eq(code)))
        .set((
            e::name.eq(change.name),
            e::name_kana.eq(change.name_kana),
            e::department.eq(change.department),
            e::search_key.eq(Some(employee_key(
                change.name,
                change.name_kana,
                change.department,
            ))),
            e::email.eq(change.email),
            e::permission_level.eq(change.permission_level),
            e::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Computes the search keys that are not there yet (after the migration that added the
/// column, or for rows written by other means), 500 rows per round; returns how many.
pub fn fill_search_keys(conn: &mut MysqlConnection) -> QueryResult<usize> {
    let mut filled = 0;
    loop {
        let rows: Vec<(i64, String, String, String)> = e::employees
            .filter(e::search_key.is_null())
            .order(e::id.asc())
            .limit(500)
            .select((e::id, e::name, e::name_kana, e::department))
            .load(conn)?;
        if rows.is_empty() {
            return Ok(filled);
        }
        // One commit per round, not per row.
        conn.transaction(|conn| {
            for (id, name, kana, department) in &rows {
                let key = employee_key(name, kana, department);
                diesel::update(e::employees.find(id))
                    .set(e::search_key.eq(Some(key)))
                    .execute(conn)?;
            }
            QueryResult::Ok(())
        })?;
        filled += rows.len();
    }
}

/// Makes an existing employee an active, unlocked admin (at least `level`) with a new password.
pub fn make_admin(
    conn: &mut MysqlConnection,
    emp: &Employee,
    name: &str,
    level: f64,
    password: &NewPassword<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(e::employees.find(emp.id))
        .set((
            e::name.eq(name),
            e::search_key.eq(Some(employee_key(name, &emp.name_kana, &emp.department))),
            e::permission_level.eq(emp.permission_level.max(level)),
            e::status.eq("active"),
            e::password_hash.eq(Some(password.hash)),
            e::password_must_change.eq(password.must_change),
            e::password_updated_at.eq(Some(now)),
            e::password_length_class.eq(password.length_class),
            e::password_expiry_offset_days.eq(password.expiry_offset_days),
            e::failed_login_count.eq(0),
            e::locked_until.eq(None::<NaiveDateTime>),
            e::updated_at.eq(now),
        ))
        .execute(conn)
}
