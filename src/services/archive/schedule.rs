//! The monthly archive run: every node looks hourly, and in the night window of a month
//! without a finished scheduled run, one of them runs it.

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};

use super::plan::{ArchiveError, Plan, RunBy, Trigger};
use super::run::{Outcome, execute};
use crate::db::queries::archive as q;
use crate::db::{self, DbError};
use crate::services::clock::JST;
use crate::state::AppState;

/// The monthly run starts in the first hour of this window (JST) in which the node looks,
/// on the first night of the month that it has not happened yet: the quietest hours.
const NIGHT_HOURS_JST: std::ops::Range<u32> = 2..5;

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
