//! admin_audit: admin actions that are not about one employee's sign-in state.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::admin_audit::dsl as a;

pub fn insert(
    conn: &mut MysqlConnection,
    action: &str,
    actor_ref: Option<i64>,
    actor_label: &str,
    detail: &serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(a::admin_audit)
        .values((
            a::action.eq(action),
            a::actor_ref.eq(actor_ref),
            a::actor_label.eq(Some(actor_label)),
            a::detail.eq(Some(detail.to_string())),
            a::created_at.eq(now),
        ))
        .execute(conn)
}
