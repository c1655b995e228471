//! Retention of the login history: rows older than the retention period move to
//! login_history_archive, in batches of at most 5,000 rows, each its own short transaction.
//!
//! One run at a time across every node: a run holds a MySQL named lock on a connection of
//! its own for as long as it lasts (the lock dies with the connection, so a crashed node
//! never leaves it behind). Runs come from the monthly schedule, the CLI and the portal;
//! each executed run is a row in history_archive_runs and an entry in admin_audit with its
//! counts and duration. A dry run writes nothing.

mod plan;
mod run;
mod schedule;

pub use plan::{ArchiveError, MAX_BATCH, Plan, Preview, RunBy, Trigger, preview};
pub use run::{Finish, Outcome, Progress, execute};
pub use schedule::{month_start, scheduled_tick};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};

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
