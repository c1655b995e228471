//! signin_gates: one row per client address (an IPv6 client's /64) whose lock serialises
//! sign-in admission from that address on every node.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Datetime, Text};

use crate::db::schema::signin_gates::dsl as g;

/// Takes the gate's row lock until the transaction ends, creating the row on first use.
pub fn enter(conn: &mut MysqlConnection, name: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO signin_gates (name, touched_at) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE touched_at = VALUES(touched_at)",
    )
    .bind::<Text, _>(name)
    .bind::<Datetime, _>(now)
    .execute(conn)
}

/// Drops gates nobody has used since `before`.
pub fn prune(conn: &mut MysqlConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(g::signin_gates.filter(g::touched_at.lt(before))).execute(conn)
}
