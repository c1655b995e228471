//! The only place that reads the wall clock, so tests can move time.

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Database form (UTC, no zone).
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one read of the wall clock (clippy.toml bans it everywhere else).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Japan Standard Time (UTC+9, no daylight saving).
pub const JST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+9 is a valid offset"),
};

pub fn to_utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

/// `2026-11-21 18:04`: how every time is shown to people (JST, to the minute).
pub fn format_jst(t: DateTime<Utc>) -> String {
    t.with_timezone(&JST).format("%Y-%m-%d %H:%M").to_string()
}

/// `2026-11-21 18:04:37`: JST to the second, where events cluster within a minute (locks).
pub fn format_jst_seconds(t: DateTime<Utc>) -> String {
    t.with_timezone(&JST)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A stored (UTC) time as people see it, like [`format_jst`].
pub fn jst(t: &NaiveDateTime) -> String {
    format_jst(to_utc(*t))
}

/// `20261121-1804`: JST, for the names of downloaded files.
pub fn file_stamp(now: DateTime<Utc>) -> String {
    now.with_timezone(&JST).format("%Y%m%d-%H%M").to_string()
}

/// `20261121-180412`: JST to the second, for files written more often than once a minute.
pub fn file_stamp_seconds(now: DateTime<Utc>) -> String {
    now.with_timezone(&JST).format("%Y%m%d-%H%M%S").to_string()
}

/// The calendar day (JST) a stored time falls on.
pub fn jst_date(t: NaiveDateTime) -> NaiveDate {
    to_utc(t).with_timezone(&JST).date_naive()
}

/// Midnight (JST) at the start of a day, as stored UTC.
pub fn jst_midnight(day: NaiveDate) -> Option<NaiveDateTime> {
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(JST)
        .single()
        .map(|t| t.naive_utc())
}
