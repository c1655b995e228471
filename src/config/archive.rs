//! Login-history retention: how old a row gets before it moves to the archive, whether this
//! node runs the monthly archive, and how gently a run goes; with the bounds of each.

use super::reader::Reader;

/// Retention of the live login history: three years by default; never less than 30 days, so
/// a typo cannot empty the history HR looks at every day.
pub const DEFAULT_HISTORY_RETENTION_DAYS: i64 = 1095;
pub const MIN_HISTORY_RETENTION_DAYS: i64 = 30;
pub const MAX_HISTORY_RETENTION_DAYS: i64 = 36_500;
/// An archive run pauses after each batch at most this many times as long as the batch took.
pub const MAX_PAUSE_RATIO: f64 = 20.0;

#[derive(Debug, Clone)]
pub struct Archive {
    /// login_history rows older than this many days move to login_history_archive.
    pub retention_days: i64,
    /// Whether this node takes part in the monthly archive run (one node runs it).
    pub schedule: bool,
    /// After each archive batch, pause this many times as long as the batch took.
    pub pause_ratio: f64,
}

impl Archive {
    pub(super) fn read(r: &mut Reader) -> Self {
        let retention_days = r.parse(
            "STAFFGATE_HISTORY_RETENTION_DAYS",
            DEFAULT_HISTORY_RETENTION_DAYS,
            "a whole number of days",
        );
        if !(MIN_HISTORY_RETENTION_DAYS..=MAX_HISTORY_RETENTION_DAYS).contains(&retention_days) {
            r.problem(format!(
                "STAFFGATE_HISTORY_RETENTION_DAYS={retention_days} must be between {MIN_HISTORY_RETENTION_DAYS} and {MAX_HISTORY_RETENTION_DAYS} days (default {DEFAULT_HISTORY_RETENTION_DAYS}, three years)"
            ));
        }
        let schedule = r.flag_on_by_default("STAFFGATE_ARCHIVE_SCHEDULE");
        let pause_ratio = r.parse("STAFFGATE_ARCHIVE_PAUSE_RATIO", 1.0f64, "a number");
        if !(0.0..=MAX_PAUSE_RATIO).contains(&pause_ratio) {
            r.problem(format!(
                "STAFFGATE_ARCHIVE_PAUSE_RATIO={pause_ratio} must be between 0 and {MAX_PAUSE_RATIO}"
            ));
        }
        Self {
            retention_days,
            schedule,
            pause_ratio,
        }
    }
}
