//! One archive run: under the cluster-wide lock, batch after batch in short transactions,
//! paced by the redo log and the pause ratio, recorded in history_archive_runs and admin_audit.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::{Connection, MysqlConnection};

use super::plan::{ArchiveError, Plan, RunBy};
use crate::db::queries::archive as q;
use crate::db::queries::audit;
use crate::db::{self, DbError};
use crate::metrics::Metrics;
use crate::state::AppState;

/// A batch waits while InnoDB's redo log is fuller than this: past it the server soon flushes
/// pages in a hurry and every write, a sign-in's commit too, waits for that.
const REDO_FILL_LIMIT: f64 = 0.5;
/// The longest a batch waits for the redo log to drain before it goes ahead anyway.
const REDO_WAIT_MAX: Duration = Duration::from_secs(10);

/// After each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub batch: u32,
    pub batch_rows: i64,
    pub archived: i64,
    pub already_archived: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Nothing older than the cutoff is left.
    Done,
    /// Stopped at the batch limit; the next run goes on from there.
    Stopped,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_id: i64,
    pub cutoff: NaiveDateTime,
    pub finish: Finish,
    /// Rows moved by this run.
    pub archived: i64,
    /// Of those, rows whose copy an interrupted earlier attempt had already written.
    pub already_archived: i64,
    pub batches: u32,
    pub duration: Duration,
    /// Of the duration, the time spent waiting for the database (redo log, pauses).
    pub waited: Duration,
}

impl Outcome {
    pub fn rows_per_second(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            self.archived as f64 / s
        } else {
            0.0
        }
    }
}

/// Moves every row older than the plan's cutoff, batch by batch, under the archive lock;
/// `Busy` at once when another run holds it.
pub async fn execute(
    state: &AppState,
    plan: Plan,
    by: RunBy,
    progress: impl FnMut(Progress) + Send + 'static,
) -> Result<Outcome, ArchiveError> {
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || execute_blocking(&st, &plan, &by, progress))
        .await
        .map_err(|_| ArchiveError::Db(DbError::Join))
        .and_then(|r| r);
    let m = &state.metrics;
    match &result {
        Ok(_) => Metrics::inc(&m.archive_ok),
        Err(ArchiveError::Busy) => Metrics::inc(&m.archive_busy),
        // Found under the lock: nothing was attempted.
        Err(ArchiveError::AlreadyRan) => {}
        Err(_) => Metrics::inc(&m.archive_failed),
    }
    result
}

fn execute_blocking(
    state: &AppState,
    plan: &Plan,
    by: &RunBy,
    progress: impl FnMut(Progress),
) -> Result<Outcome, ArchiveError> {
    // A connection of its own: it holds the lock for the whole run and keeps READ COMMITTED
    // away from the pool's connections.
    let mut conn = MysqlConnection::establish(&state.settings.database.url)
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    if !q::try_lock(&mut conn)? {
        return Err(ArchiveError::Busy);
    }
    let result = locked_run(&mut conn, state, plan, by, progress);
    if let Err(e) = q::unlock(&mut conn) {
        // Closing the connection releases it anyway.
        tracing::warn!(error = %e, "releasing the archive lock failed");
    }
    result
}

fn locked_run(
    conn: &mut MysqlConnection,
    state: &AppState,
    plan: &Plan,
    by: &RunBy,
    mut progress: impl FnMut(Progress),
) -> Result<Outcome, ArchiveError> {
    if let Some(since) = plan.unless_scheduled_since
        && q::scheduled_done_since(conn, since)?
    {
        return Err(ArchiveError::AlreadyRan);
    }
    q::read_committed(conn)?;
    let now = state.clock.now_naive();
    let cutoff = plan.cutoff(now);
    let interrupted = q::mark_interrupted(conn, now)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "archive runs left running by a stopped process"
        );
    }
    let run_id = q::start_run(
        conn,
        by.trigger.as_str(),
        by.actor_ref,
        &by.label,
        cutoff,
        now,
    )?;
    tracing::info!(run_id, trigger = by.trigger.as_str(), %cutoff, "archive run started");
    let started = Instant::now();
    let mut out = Outcome {
        run_id,
        cutoff,
        finish: Finish::Done,
        archived: 0,
        already_archived: 0,
        batches: 0,
        duration: Duration::ZERO,
        waited: Duration::ZERO,
    };
    let moved = move_batches(conn, state, plan, cutoff, &mut out, &mut progress);
    out.duration = started.elapsed();
    let (status, error) = match &moved {
        Ok(Finish::Done) => ("done", None),
        Ok(Finish::Stopped) => ("stopped", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    if let Ok(f) = moved {
        out.finish = f;
    }
    let record = record_finish(conn, state, plan, by, &out, status, error.as_deref());
    tracing::info!(
        run_id,
        status,
        archived = out.archived,
        batches = out.batches,
        ms = out.duration.as_millis() as u64,
        "archive run finished"
    );
    moved?;
    record?;
    Ok(out)
}

fn move_batches(
    conn: &mut MysqlConnection,
    state: &AppState,
    plan: &Plan,
    cutoff: NaiveDateTime,
    out: &mut Outcome,
    progress: &mut impl FnMut(Progress),
) -> Result<Finish, ArchiveError> {
    loop {
        if plan.max_batches.is_some_and(|max| out.batches >= max) {
            return Ok(Finish::Stopped);
        }
        out.waited += wait_for_redo_room(conn)?;
        let now = state.clock.now_naive();
        let run_id = out.run_id;
        let batch_started = Instant::now();
        let retried = || Metrics::inc(&state.metrics.tx_retries);
        let moved = db::transaction_on(conn, &retried, |conn| {
            let ids = q::next_ids(conn, cutoff, plan.batch_size)?;
            if ids.is_empty() {
                return Ok(None);
            }
            let copied = q::copy_to_archive(conn, &ids, now)?;
            // Every row copied just now: delete by id. Otherwise some copies were already
            // there (an earlier attempt, or a different row with the same id): delete only
            // the rows whose copy matches.
            let deleted = if copied == ids.len() {
                q::delete_copied(conn, &ids)?
            } else {
                q::delete_archived(conn, &ids)?
            };
            let (copied, deleted) = (copied as i64, deleted as i64);
            if deleted == 0 {
                return Err(ArchiveError::Conflict(ids.into_iter().take(10).collect()));
            }
            let already = (deleted - copied).max(0);
            q::add_progress(conn, run_id, deleted, already)?;
            Ok(Some((deleted, already)))
        })?;
        let Some((deleted, already)) = moved else {
            return Ok(Finish::Done);
        };
        out.batches += 1;
        out.archived += deleted;
        out.already_archived += already;
        progress(Progress {
            batch: out.batches,
            batch_rows: deleted,
            archived: out.archived,
            already_archived: out.already_archived,
        });
        if plan.pause_ratio > 0.0 {
            let pause = batch_started.elapsed().mul_f64(plan.pause_ratio);
            std::thread::sleep(pause);
            out.waited += pause;
        }
    }
}

/// Waits (up to REDO_WAIT_MAX) until the redo log has room; returns how long it waited.
fn wait_for_redo_room(conn: &mut MysqlConnection) -> Result<Duration, ArchiveError> {
    let started = Instant::now();
    while started.elapsed() < REDO_WAIT_MAX {
        match q::redo_fill(conn)? {
            Some(fill) if fill >= REDO_FILL_LIMIT => std::thread::sleep(Duration::from_millis(100)),
            _ => break,
        }
    }
    Ok(started.elapsed())
}

fn record_finish(
    conn: &mut MysqlConnection,
    state: &AppState,
    plan: &Plan,
    by: &RunBy,
    out: &Outcome,
    status: &str,
    error: Option<&str>,
) -> Result<(), ArchiveError> {
    let now = state.clock.now_naive();
    let ms = i64::try_from(out.duration.as_millis()).unwrap_or(i64::MAX);
    let detail = serde_json::json!({
        "run": out.run_id,
        "trigger": by.trigger.as_str(),
        "status": status,
        "olderThanDays": plan.older_than_days,
        "cutoff": out.cutoff.and_utc().to_rfc3339(),
        "archived": out.archived,
        "alreadyArchived": out.already_archived,
        "batches": out.batches,
        "durationMs": ms,
        "waitedMs": i64::try_from(out.waited.as_millis()).unwrap_or(i64::MAX),
        "rowsPerSecond": out.rows_per_second().round(),
    });
    let error = error.map(|e| e.chars().take(500).collect::<String>());
    let retried = || Metrics::inc(&state.metrics.tx_retries);
    db::transaction_on(conn, &retried, |conn| {
        q::finish_run(conn, out.run_id, status, now, ms, error.as_deref())?;
        audit::insert(
            conn,
            "history_archived",
            by.actor_ref,
            &by.label,
            &detail,
            now,
        )?;
        Ok(())
    })
}
