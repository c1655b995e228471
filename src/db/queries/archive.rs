//! Moving login_history rows into login_history_archive, and the record of archive runs.
//!
//! A batch is one transaction: copy the rows (`INSERT IGNORE`, keyed by the original id),
//! then delete from login_history only the rows that are now in the archive with the same
//! id and time. A crash before the commit leaves both tables as they were; a row copied by
//! an earlier, interrupted attempt is not copied twice; a row is never deleted unless its
//! copy is there.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Datetime, Nullable};

use crate::db::schema::{history_archive_runs, login_history, login_history_archive};

/// What a run would move: rows older than the cutoff, and their time span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    pub rows: i64,
    pub oldest: Option<NaiveDateTime>,
    pub newest: Option<NaiveDateTime>,
}

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = Bigint)]
    n: i64,
    #[diesel(sql_type = Nullable<Datetime>)]
    oldest: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Datetime>)]
    newest: Option<NaiveDateTime>,
}

/// One range scan of `ix_login_history_created` (the index holds the time; no row is read).
pub fn pending(conn: &mut MysqlConnection, cutoff: NaiveDateTime) -> QueryResult<Pending> {
    let row: PendingRow = diesel::sql_query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, MAX(created_at) AS newest \
         FROM login_history WHERE created_at < ?",
    )
    .bind::<Datetime, _>(cutoff)
    .get_result(conn)?;
    Ok(Pending {
        rows: row.n,
        oldest: row.oldest,
        newest: row.newest,
    })
}

pub fn archived_total(conn: &mut MysqlConnection) -> QueryResult<i64> {
    login_history_archive::table.count().get_result(conn)
}

/// The next batch: up to `limit` ids older than the cutoff, oldest first, read from the
/// created_at index (which stops after `limit` entries, however many rows are left).
pub fn next_ids(
    conn: &mut MysqlConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    use login_history::dsl as h;
    h::login_history
        .filter(h::created_at.lt(cutoff))
        .order((h::created_at.asc(), h::id.asc()))
        .limit(limit)
        .select(h::id)
        .load(conn)
}

/// `1,2,3`: the ids were read from the database as integers, so the list is plain SQL.
fn id_list(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len() * 8);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out
}

/// Copies the rows with these ids into the archive (those already there are skipped) and
/// returns how many were copied now.
pub fn copy_to_archive(
    conn: &mut MysqlConnection,
    ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(format!(
        "INSERT IGNORE INTO login_history_archive \
           (id, event, employee_ref, employee_code, actor_ref, client_ip, user_agent, detail, \
            created_at, archived_at) \
         SELECT id, event, employee_ref, employee_code, actor_ref, client_ip, user_agent, detail, \
                created_at, ? \
         FROM login_history WHERE id IN ({})",
        id_list(ids)
    ))
    .bind::<Datetime, _>(now)
    .execute(conn)
}

/// Deletes the rows with these ids. Only for ids that `copy_to_archive` has just copied, all
/// of them, in this transaction: their copies are there and equal.
pub fn delete_copied(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(format!(
        "DELETE FROM login_history WHERE id IN ({})",
        id_list(ids)
    ))
    .execute(conn)
}

/// Deletes the rows with these ids whose copy (same id, same time) is in the archive.
pub fn delete_archived(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(format!(
        "DELETE h FROM login_history h \
         JOIN login_history_archive a ON a.id = h.id AND a.created_at = h.created_at \
         WHERE h.id IN ({})",
        id_list(ids)
    ))
    .execute(conn)
}

// ------------------------------------------------------------------------------------------
// history_archive_runs
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = history_archive_runs)]
pub struct RunRow {
    pub id: i64,
    pub trigger_kind: String,
    pub actor_ref: Option<i64>,
    pub actor_label: String,
    pub cutoff: NaiveDateTime,
    pub status: String,
    pub rows_archived: i64,
    pub rows_already_archived: i64,
    pub batches: i32,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

pub fn start_run(
    conn: &mut MysqlConnection,
    trigger: &str,
    actor_ref: Option<i64>,
    actor_label: &str,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    use history_archive_runs::dsl as r;
    conn.transaction(|conn| {
        diesel::insert_into(r::history_archive_runs)
            .values((
                r::trigger_kind.eq(trigger),
                r::actor_ref.eq(actor_ref),
                r::actor_label.eq(actor_label),
                r::cutoff.eq(cutoff),
                r::status.eq("running"),
                r::started_at.eq(now),
            ))
            .execute(conn)?;
        diesel::select(diesel::dsl::sql::<Bigint>("LAST_INSERT_ID()")).get_result(conn)
    })
}

/// Runs left `running` by a process that died (called under the archive lock, so no run is
/// really going on).
pub fn mark_interrupted(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    use history_archive_runs::dsl as r;
    diesel::update(r::history_archive_runs.filter(r::status.eq("running")))
        .set((r::status.eq("interrupted"), r::finished_at.eq(now)))
        .execute(conn)
}

/// Progress of a run, written in the transaction of the batch it counts.
pub fn add_progress(
    conn: &mut MysqlConnection,
    run: i64,
    archived: i64,
    already: i64,
) -> QueryResult<usize> {
    use history_archive_runs::dsl as r;
    diesel::update(r::history_archive_runs.find(run))
        .set((
            r::rows_archived.eq(r::rows_archived + archived),
            r::rows_already_archived.eq(r::rows_already_archived + already),
            r::batches.eq(r::batches + 1),
        ))
        .execute(conn)
}

pub fn finish_run(
    conn: &mut MysqlConnection,
    run: i64,
    status: &str,
    now: NaiveDateTime,
    duration_ms: i64,
    error: Option<&str>,
) -> QueryResult<usize> {
    use history_archive_runs::dsl as r;
    diesel::update(r::history_archive_runs.find(run))
        .set((
            r::status.eq(status),
            r::finished_at.eq(now),
            r::duration_ms.eq(duration_ms),
            r::error.eq(error),
        ))
        .execute(conn)
}

pub fn recent_runs(conn: &mut MysqlConnection, limit: i64) -> QueryResult<Vec<RunRow>> {
    use history_archive_runs::dsl as r;
    r::history_archive_runs
        .order(r::id.desc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)
}

/// Whether a scheduled run finished since `since` (the start of this month).
pub fn scheduled_done_since(conn: &mut MysqlConnection, since: NaiveDateTime) -> QueryResult<bool> {
    use history_archive_runs::dsl as r;
    diesel::select(diesel::dsl::exists(
        r::history_archive_runs
            .filter(r::trigger_kind.eq("schedule"))
            .filter(r::status.eq("done"))
            .filter(r::started_at.ge(since)),
    ))
    .get_result(conn)
}

/// Takes the archive lock on this connection, without waiting: true if it is ours now.
/// MySQL named locks are server-wide, so the name carries the database's name; the lock goes
/// away with the connection, so a crashed run never leaves it behind.
pub fn try_lock(conn: &mut MysqlConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = Nullable<Bigint>)]
        got: Option<i64>,
    }
    let got: Got = diesel::sql_query(
        "SELECT GET_LOCK(LEFT(CONCAT('staffgate.archive:', DATABASE()), 64), 0) AS got",
    )
    .get_result(conn)?;
    Ok(got.got == Some(1))
}

/// How full InnoDB's redo log is (checkpoint age over its maximum), where the server says
/// (MariaDB does; MySQL 8 does not: `None`).
pub fn redo_fill(conn: &mut MysqlConnection) -> QueryResult<Option<f64>> {
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let rows: Vec<Status> = diesel::sql_query(
        "SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value \
         FROM information_schema.GLOBAL_STATUS \
         WHERE VARIABLE_NAME IN ('INNODB_CHECKPOINT_AGE', 'INNODB_CHECKPOINT_MAX_AGE')",
    )
    .load(conn)?;
    let value = |n: &str| {
        rows.iter()
            .find(|r| r.name.eq_ignore_ascii_case(n))
            .and_then(|r| r.value.parse::<f64>().ok())
    };
    Ok(
        match (
            value("INNODB_CHECKPOINT_AGE"),
            value("INNODB_CHECKPOINT_MAX_AGE"),
        ) {
            (Some(age), Some(max)) if max > 0.0 => Some(age / max),
            _ => None,
        },
    )
}

/// Whether no run holds the archive lock now (a `running` row without it is a run that died).
pub fn lock_is_free(conn: &mut MysqlConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Free {
        #[diesel(sql_type = Nullable<Bigint>)]
        free: Option<i64>,
    }
    let free: Free = diesel::sql_query(
        "SELECT IS_FREE_LOCK(LEFT(CONCAT('staffgate.archive:', DATABASE()), 64)) AS free",
    )
    .get_result(conn)?;
    Ok(free.free == Some(1))
}

pub fn unlock(conn: &mut MysqlConnection) -> QueryResult<()> {
    diesel::sql_query("DO RELEASE_LOCK(LEFT(CONCAT('staffgate.archive:', DATABASE()), 64))")
        .execute(conn)
        .map(|_| ())
}

/// Row reads of this session see only committed data and take no gap locks, so a batch never
/// holds a lock that a sign-in's INSERT into login_history would wait for.
pub fn read_committed(conn: &mut MysqlConnection) -> QueryResult<()> {
    diesel::sql_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(conn)
        .map(|_| ())
}
