//! Retention of the login history: rows older than the retention period move to
//! login_history_archive, in batches of at most 5,000 rows, each its own short transaction.
//!
//! One run at a time across every node: a run holds a MySQL named lock on a connection of
//! its own for as long as it lasts (the lock dies with the connection, so a crashed node
//! never leaves it behind). Runs come from the monthly schedule, the CLI and the portal;
//! each executed run is a row in history_archive_runs and an entry in admin_audit with its
//! counts and duration. A dry run writes nothing.

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};
use diesel::{Connection, MysqlConnection};

use crate::config::archive::{MAX_PAUSE_RATIO, MIN_HISTORY_RETENTION_DAYS};
use crate::db::queries::archive::{self as q, Pending};
use crate::db::queries::audit;
use crate::db::{self, DbError};
use crate::metrics::Metrics;
use crate::services::clock::JST;
use crate::state::AppState;

/// The most rows one batch (one transaction) moves.
pub const MAX_BATCH: i64 = 5_000;

/// A batch waits while InnoDB's redo log is fuller than this: past it the server soon flushes
/// pages in a hurry and every write, a sign-in's commit too, waits for that.
const REDO_FILL_LIMIT: f64 = 0.5;
/// The longest a batch waits for the redo log to drain before it goes ahead anyway.
const REDO_WAIT_MAX: Duration = Duration::from_secs(10);

/// The monthly run starts in the first hour of this window (JST) in which the node looks,
/// on the first night of the month that it has not happened yet: the quietest hours.
const NIGHT_HOURS_JST: std::ops::Range<u32> = 2..5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Cli,
    Portal,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Cli => "cli",
            Trigger::Portal => "portal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("another archive run is in progress")]
    Busy,
    /// The scheduled run of this month has already happened (found under the lock).
    #[error("this month's scheduled run has already happened")]
    AlreadyRan,
    #[error("the retention period must be at least {MIN_HISTORY_RETENTION_DAYS} days (got {0})")]
    TooRecent(i64),
    #[error("a batch holds 1 to {MAX_BATCH} rows (got {0})")]
    BatchSize(i64),
    #[error("the pause ratio is 0 to {MAX_PAUSE_RATIO} (got {0})")]
    PauseRatio(f64),
    /// Rows that cannot be moved because the archive holds different rows with their ids.
    #[error("login_history rows {0:?} conflict with rows already in the archive")]
    Conflict(Vec<i64>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ArchiveError {
    fn from(e: diesel::result::Error) -> Self {
        ArchiveError::Db(DbError::Query(e))
    }
}

impl db::TxError for ArchiveError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            ArchiveError::Db(db) => db.query_error(),
            _ => None,
        }
    }
}

impl ArchiveError {
    /// Japanese, then English, for operators and HR.
    pub fn message(&self) -> (String, String) {
        match self {
            ArchiveError::Busy => (
                "別のアーカイブ処理が実行中です。終わってから、もう一度お試しください。".into(),
                "Another archive run is in progress. Try again when it has finished.".into(),
            ),
            ArchiveError::AlreadyRan => (
                "今月の自動実行は済んでいます。".into(),
                "This month's scheduled run has already happened.".into(),
            ),
            ArchiveError::TooRecent(d) => (
                format!(
                    "保存期間は{MIN_HISTORY_RETENTION_DAYS}日以上を指定してください（指定: {d}日）。"
                ),
                format!(
                    "The retention period must be at least {MIN_HISTORY_RETENTION_DAYS} days (given: {d})."
                ),
            ),
            ArchiveError::BatchSize(n) => (
                format!("1回に移す行数は1〜{MAX_BATCH}行です（指定: {n}）。"),
                format!("A batch holds 1 to {MAX_BATCH} rows (given: {n})."),
            ),
            ArchiveError::PauseRatio(r) => (
                format!("休止の比率は0〜{MAX_PAUSE_RATIO}です（指定: {r}）。"),
                format!("The pause ratio is 0 to {MAX_PAUSE_RATIO} (given: {r})."),
            ),
            ArchiveError::Conflict(ids) => (
                format!(
                    "アーカイブに同じIDの別の記録があるため、移せない記録があります（ID: {ids:?}）。システム管理者に連絡してください。"
                ),
                format!(
                    "Some entries cannot be moved: the archive holds different entries with their ids ({ids:?}). Contact your system administrator."
                ),
            ),
            ArchiveError::Db(_) => (
                "データベースのエラーで中断しました。移し終えた分はそのまま残り、もう一度実行すると続きから再開します。".into(),
                "Stopped by a database error. What was moved stays moved; running again resumes where it stopped.".into(),
            ),
        }
    }
}

/// What to archive and how.
#[derive(Debug, Clone)]
pub struct Plan {
    pub older_than_days: i64,
    pub batch_size: i64,
    /// Stop after this many batches (the rest waits for the next run).
    pub max_batches: Option<u32>,
    /// After each batch, pause this many times as long as the batch took, so the database
    /// spends at most 1 / (1 + ratio) of its time on the archive.
    pub pause_ratio: f64,
    /// Only if no scheduled run has finished since then (checked under the lock, so two
    /// nodes that both saw "not yet" do not both run).
    pub unless_scheduled_since: Option<NaiveDateTime>,
}

impl Plan {
    pub fn new(older_than_days: i64) -> Result<Plan, ArchiveError> {
        if older_than_days < MIN_HISTORY_RETENTION_DAYS {
            return Err(ArchiveError::TooRecent(older_than_days));
        }
        Ok(Plan {
            older_than_days,
            batch_size: MAX_BATCH,
            max_batches: None,
            pause_ratio: 0.0,
            unless_scheduled_since: None,
        })
    }

    pub fn batch_size(mut self, n: i64) -> Result<Plan, ArchiveError> {
        if !(1..=MAX_BATCH).contains(&n) {
            return Err(ArchiveError::BatchSize(n));
        }
        self.batch_size = n;
        Ok(self)
    }

    pub fn pause_ratio(mut self, ratio: f64) -> Result<Plan, ArchiveError> {
        if !(0.0..=MAX_PAUSE_RATIO).contains(&ratio) {
            return Err(ArchiveError::PauseRatio(ratio));
        }
        self.pause_ratio = ratio;
        Ok(self)
    }

    pub fn cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - chrono::Duration::days(self.older_than_days)
    }
}

/// Who started a run, as recorded.
#[derive(Debug, Clone)]
pub struct RunBy {
    pub trigger: Trigger,
    pub actor_ref: Option<i64>,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Preview {
    pub cutoff: NaiveDateTime,
    pub pending: Pending,
    pub archived_total: i64,
}

/// What a dry run reports: nothing is written.
pub async fn preview(state: &AppState, plan: &Plan) -> Result<Preview, ArchiveError> {
    let cutoff = plan.cutoff(state.clock.now_naive());
    db::run(&state.pool, move |conn| {
        Ok(Preview {
            cutoff,
            pending: q::pending(conn, cutoff)?,
            archived_total: q::archived_total(conn)?,
        })
    })
    .await
}

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
    let state = state.clone();
    tokio::task::spawn_blocking(move || execute_blocking(&state, &plan, &by, progress))
        .await
        .map_err(|_| ArchiveError::Db(DbError::Join))?
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

/// Midnight JST on the first day of the month `now` falls in (JST), as stored UTC.
pub fn month_start(now: NaiveDateTime) -> NaiveDateTime {
    let local = now.and_utc().with_timezone(&JST);
    JST.with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
        .single()
        .map(|t| t.naive_utc())
        .unwrap_or(now)
}

/// One look of the monthly schedule (every node looks hourly): in the night window, when no
/// scheduled run has finished this month, run one. A run of another node holding the lock
/// makes this a no-op; a run that failed or was cut short is retried at the next look.
pub async fn scheduled_tick(state: &AppState) -> Result<Option<Outcome>, ArchiveError> {
    if !state.settings.archive.schedule {
        return Ok(None);
    }
    let now = state.clock.now_naive();
    let hour = now.and_utc().with_timezone(&JST).hour();
    if !NIGHT_HOURS_JST.contains(&hour) {
        return Ok(None);
    }
    let since = month_start(now);
    let done = db::run(&state.pool, move |conn| {
        q::scheduled_done_since(conn, since).map_err(DbError::from)
    })
    .await?;
    if done {
        return Ok(None);
    }
    let plan = Plan {
        unless_scheduled_since: Some(since),
        ..Plan::new(state.settings.archive.retention_days)?
            .pause_ratio(state.settings.archive.pause_ratio)?
    };
    let by = RunBy {
        trigger: Trigger::Schedule,
        actor_ref: None,
        label: "schedule".into(),
    };
    match execute(state, plan, by, |_| {}).await {
        Ok(out) => Ok(Some(out)),
        Err(ArchiveError::Busy | ArchiveError::AlreadyRan) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn the_month_is_the_jst_month() {
        // 2026-04-30 16:00 UTC is already 1 May in Japan.
        assert_eq!(month_start(at(2026, 4, 30, 16)), at(2026, 4, 30, 15));
        assert_eq!(month_start(at(2026, 4, 30, 14)), at(2026, 3, 31, 15));
    }

    #[test]
    fn plans_refuse_nonsense() {
        assert!(matches!(Plan::new(7), Err(ArchiveError::TooRecent(7))));
        assert!(Plan::new(30).is_ok());
        let plan = Plan::new(1095).unwrap();
        assert_eq!(plan.batch_size, MAX_BATCH);
        assert!(plan.clone().batch_size(5_001).is_err());
        assert!(plan.clone().batch_size(0).is_err());
        assert!(plan.clone().pause_ratio(-0.5).is_err());
        assert!(plan.clone().pause_ratio(f64::NAN).is_err());
        assert!(plan.clone().pause_ratio(21.0).is_err());
        assert_eq!(plan.clone().pause_ratio(1.5).unwrap().pause_ratio, 1.5);
        assert_eq!(
            plan.cutoff(at(2026, 4, 1, 0)),
            at(2023, 4, 2, 0),
            "1095 days before"
        );
    }
}
