//! server: what the MySQL/MariaDB server itself is set to, as far as the product relies on it
//! (read by `staffgate check`; needs no privilege beyond the application's own database).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Datetime, Nullable, Text};

/// The server settings and state `staffgate check` judges.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version: String,
    /// Binary logging is on (replicas, Galera and point-in-time recovery need it).
    pub log_bin: bool,
    /// `ROW`, `MIXED` or `STATEMENT`.
    pub binlog_format: String,
    pub max_connections: i64,
    /// Named zones such as `Asia/Tokyo` work in SQL (the time zone tables are loaded).
    pub named_time_zones: bool,
    /// `SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED` was accepted, as every pool
    /// connection asks.
    pub read_committed: bool,
    /// Tables of this database not on InnoDB (no transactions, no row locks).
    pub non_transactional_tables: Vec<String>,
    /// The server's clock (UTC) when it answered.
    pub utc_now: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Variables {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = BigInt)]
    log_bin: i64,
    #[diesel(sql_type = Text)]
    binlog_format: String,
    #[diesel(sql_type = BigInt)]
    max_connections: i64,
    #[diesel(sql_type = Nullable<Datetime>)]
    tokyo: Option<NaiveDateTime>,
    #[diesel(sql_type = Datetime)]
    utc_now: NaiveDateTime,
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

/// One round trip for the variables and the clock, then the table engines.
pub fn facts(conn: &mut MysqlConnection) -> QueryResult<ServerFacts> {
    let read_committed =
        diesel::sql_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(conn)
            .is_ok();
    let v: Variables = diesel::sql_query(
        "SELECT VERSION() AS version, CAST(@@log_bin AS SIGNED) AS log_bin, \
         CAST(@@binlog_format AS CHAR) AS binlog_format, \
         CAST(@@max_connections AS SIGNED) AS max_connections, \
         CONVERT_TZ('2026-01-01 00:00:00', 'UTC', 'Asia/Tokyo') AS tokyo, \
         UTC_TIMESTAMP(6) AS utc_now",
    )
    .get_result(conn)?;
    let tables: Vec<TableName> = diesel::sql_query(
        "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' \
         AND (engine IS NULL OR engine <> 'InnoDB') ORDER BY table_name",
    )
    .load(conn)?;
    Ok(ServerFacts {
        version: v.version,
        log_bin: v.log_bin != 0,
        binlog_format: v.binlog_format.to_ascii_uppercase(),
        max_connections: v.max_connections,
        named_time_zones: v.tokyo.is_some(),
        read_committed,
        non_transactional_tables: tables.into_iter().map(|t| t.name).collect(),
        utc_now: v.utc_now,
    })
}
