//! login_history: every authentication event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::login_history::dsl as h;

#[derive(Debug, Insertable)]
#[diesel(table_name = crate::db::schema::login_history)]
pub struct NewHistory<'a> {
    pub event: &'a str,
    pub employee_ref: Option<i64>,
    pub employee_code: Option<&'a str>,
    pub actor_ref: Option<i64>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut MysqlConnection, row: &NewHistory<'_>) -> QueryResult<usize> {
    diesel::insert_into(h::login_history)
        .values(row)
        .execute(conn)
}
