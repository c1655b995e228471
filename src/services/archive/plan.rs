//! What an archive run is asked to do (the plan and its bounds), who asked, why a run is
//! refused, and the dry run's preview.

use chrono::NaiveDateTime;

use crate::config::archive::{MAX_PAUSE_RATIO, MIN_HISTORY_RETENTION_DAYS};
use crate::db::queries::archive::{self as q, Pending};
use crate::db::{self, DbError};
use crate::state::AppState;

/// The most rows one batch (one transaction) moves.
pub const MAX_BATCH: i64 = 5_000;

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
