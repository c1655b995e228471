//! The password-expiry policy as a value that cannot be invalid, and what it says about one
//! password: when it expires, whether to warn, whether it must be changed now.

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use super::ParseError;

/// The longest force period the portal accepts (10 years).
pub const MAX_EXPIRE_DAYS: i32 = 3650;
/// Length bands stored for the long-password exemption: lengths below the first are stored as
/// 0, lengths above the last as the last, so the table never holds a long password's length.
pub const LONG_LENGTH_MIN: i32 = 13;
pub const LONG_LENGTH_MAX: i32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    pub enabled: bool,
    /// Days after a password is set when its owner starts being warned.
    pub warn_days: i32,
    /// Days after a password is set when it must be changed before anything else.
    pub expire_days: i32,
    /// Passwords of `long_length`+ characters do not expire (MHLW guideline 6.0 allows this).
    pub long_exempt: bool,
    pub long_length: i32,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            warn_days: 90,
            expire_days: 180,
            long_exempt: false,
            long_length: LONG_LENGTH_MIN,
        }
    }
}

/// The raw values of the policy form (or of the environment).
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub enabled: bool,
    pub warn_days: String,
    pub expire_days: String,
    pub long_exempt: bool,
    pub long_length: String,
}

fn whole(raw: &str) -> Option<i32> {
    raw.trim().parse::<i32>().ok()
}

impl ExpiryPolicy {
    /// Checks every field and reports every problem at once.
    pub fn parse(raw: &RawPolicy) -> Result<Self, Vec<ParseError>> {
        let mut problems = Vec::new();
        let warn = whole(&raw.warn_days);
        let expire = whole(&raw.expire_days);
        let long = whole(&raw.long_length);
        match expire {
            Some(d) if (2..=MAX_EXPIRE_DAYS).contains(&d) => {}
            _ => problems.push(ParseError::new(
                "expire_days",
                format!("変更を強制するまでの日数は2〜{MAX_EXPIRE_DAYS}の整数で入力してください。"),
                format!("Days until a change is forced must be a whole number from 2 to {MAX_EXPIRE_DAYS}."),
            )),
        }
        match (warn, expire) {
            (Some(w), Some(e)) if w >= 1 && w < e => {}
            (Some(w), _) if (1..MAX_EXPIRE_DAYS).contains(&w) => problems.push(ParseError::new(
                "warn_days",
                "警告を始める日数は、変更を強制するまでの日数より短くしてください。",
                "Warning must start before the change is forced.",
            )),
            _ => problems.push(ParseError::new(
                "warn_days",
                "警告を始めるまでの日数は1以上の整数で入力してください。",
                "Days until the warning starts must be a whole number of at least 1.",
            )),
        }
        match long {
            Some(n) if (LONG_LENGTH_MIN..=LONG_LENGTH_MAX).contains(&n) => {}
            _ => problems.push(ParseError::new(
                "long_length",
                format!("期限を適用しない文字数は{LONG_LENGTH_MIN}〜{LONG_LENGTH_MAX}で入力してください。"),
                format!("The exempt length must be from {LONG_LENGTH_MIN} to {LONG_LENGTH_MAX} characters."),
            )),
        }
        match (warn, expire, long) {
            (Some(warn_days), Some(expire_days), Some(long_length)) if problems.is_empty() => {
                Ok(Self {
                    enabled: raw.enabled,
                    warn_days,
                    expire_days,
                    long_exempt: raw.long_exempt,
                    long_length,
                })
            }
            _ => Err(problems),
        }
    }

    /// Whether the policy exempts a password of this stored length class.
    pub fn exempts(&self, length_class: i32) -> bool {
        self.long_exempt && length_class >= self.long_length
    }

    /// Days a password lives, brought forward by the account's spread offset (at most by half).
    pub fn lifetime_days(&self, offset_days: i32) -> i32 {
        self.expire_days - offset_days.clamp(0, self.expire_days / 2)
    }

    /// When a password set at `set_at` expires, or None when it never does.
    pub fn expires_at(
        &self,
        set_at: Option<NaiveDateTime>,
        length_class: i32,
        offset_days: i32,
    ) -> Option<NaiveDateTime> {
        if !self.enabled || self.exempts(length_class) {
            return None;
        }
        set_at.map(|t| t + Duration::days(i64::from(self.lifetime_days(offset_days))))
    }

    /// When the warning starts for a password that expires at `expires_at`.
    pub fn warn_from(&self, expires_at: NaiveDateTime) -> NaiveDateTime {
        expires_at - Duration::days(i64::from(self.expire_days - self.warn_days))
    }
}

/// The stored length band of a new password: 0 below 13 characters, else the length capped
/// at 16 (only the band matters to the exemption).
pub fn length_class(password: &super::Password) -> i32 {
    let n = i32::try_from(password.expose().chars().count()).unwrap_or(i32::MAX);
    if n < LONG_LENGTH_MIN {
        0
    } else {
        n.min(LONG_LENGTH_MAX)
    }
}

/// The first-expiry offset of a bulk-created account: a stable value in `0..window_days`
/// derived from the employee ID, so re-running an import gives the same dates and a whole
/// ward imported on one day does not expire on one day.
pub fn spread_offset(employee_id: &str, window_days: i32) -> i32 {
    if window_days <= 1 {
        return 0;
    }
    let digest = Sha256::digest(employee_id.as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    i32::try_from(n % window_days.unsigned_abs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(warn: &str, expire: &str, long: &str) -> RawPolicy {
        RawPolicy {
            enabled: true,
            warn_days: warn.into(),
            expire_days: expire.into(),
            long_exempt: false,
            long_length: long.into(),
        }
    }

    #[test]
    fn defaults_parse_and_bad_values_are_all_reported() {
        assert_eq!(
            ExpiryPolicy::parse(&raw("90", "180", "13")),
            Ok(ExpiryPolicy::default())
        );
        let problems = ExpiryPolicy::parse(&raw("200", "x", "8")).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["expire_days", "warn_days", "long_length"]);
        assert!(ExpiryPolicy::parse(&raw("180", "180", "13")).is_err());
    }

    #[test]
    fn spread_brings_expiry_forward_by_at_most_half() {
        let p = ExpiryPolicy::default();
        assert_eq!(p.lifetime_days(0), 180);
        assert_eq!(p.lifetime_days(29), 151);
        assert_eq!(p.lifetime_days(500), 90);
        let offsets: std::collections::HashSet<i32> = (0..200)
            .map(|i| spread_offset(&format!("E{i:05}"), 30))
            .collect();
        assert!(offsets.len() > 20, "{offsets:?}");
        assert!(offsets.iter().all(|o| (0..30).contains(o)));
        assert_eq!(spread_offset("E00001", 30), spread_offset("E00001", 30));
        assert_eq!(spread_offset("E00001", 0), 0);
    }

    #[test]
    fn long_passwords_are_stored_as_a_band() {
        let pw = |s: &str| super::super::Password::parse(s.into(), "p").unwrap();
        assert_eq!(length_class(&pw("short-pass12")), 0);
        assert_eq!(length_class(&pw("thirteen-char")), 13);
        assert_eq!(length_class(&pw("a much longer passphrase")), 16);
    }
}
