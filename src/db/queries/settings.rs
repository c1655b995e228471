//! settings: named values an admin may edit, with who changed each one when.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::settings::dsl as s;

#[derive(Debug, Clone, Queryable)]
pub struct SettingRow {
    pub name: String,
    pub value: String,
    pub updated_by: Option<i64>,
    pub updated_at: NaiveDateTime,
}

/// The rows among `names` that exist (one primary-key range read). `lock` holds them until the
/// transaction ends, so two admins editing at once apply one after the other.
pub fn load(
    conn: &mut MysqlConnection,
    names: &[&str],
    lock: bool,
) -> QueryResult<Vec<SettingRow>> {
    let q = s::settings.filter(s::name.eq_any(names)).select((
        s::name,
        s::value,
        s::updated_by,
        s::updated_at,
    ));
    if lock {
        q.for_update().load(conn)
    } else {
        q.load(conn)
    }
}

/// Writes a value only when its row is missing (configuration seeds, never overrides).
pub fn insert_missing(
    conn: &mut MysqlConnection,
    name: &str,
    value: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_or_ignore_into(s::settings)
        .values((s::name.eq(name), s::value.eq(value), s::updated_at.eq(now)))
        .execute(conn)
}

pub fn set(
    conn: &mut MysqlConnection,
    name: &str,
    value: &str,
    by: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::replace_into(s::settings)
        .values((
            s::name.eq(name),
            s::value.eq(value),
            s::updated_by.eq(by),
            s::updated_at.eq(now),
        ))
        .execute(conn)
}
