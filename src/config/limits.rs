//! Lockout and rate-limit numbers: the defaults are the documented policy; the per-address
//! ceiling and the admission wait are configurable.

use super::reader::Reader;

#[derive(Debug, Clone)]
pub struct Limits {
    pub lockout_threshold: i32,
    pub lockout_minutes: i64,
    pub key_ip_failures: i64,
    pub ip_failures: i64,
    pub window_minutes: i64,
    /// How long an attempt waits server-side for a free check slot of its account or address
    /// before it is answered 503 (a slot frees when another attempt's check settles).
    pub admission_wait_ms: u64,
    /// A check pending longer than this (its node died) counts as a failure and frees its slot.
    pub pending_stale_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 30,
            key_ip_failures: 5,
            ip_failures: 100,
            window_minutes: 15,
            admission_wait_ms: 5_000,
            pending_stale_seconds: 60,
        }
    }
}

impl Limits {
    pub(super) fn read(r: &mut Reader) -> Self {
        let limits = Limits {
            ip_failures: r.parse("STAFFGATE_IP_FAILURE_LIMIT", 100i64, "a whole number"),
            admission_wait_ms: r.parse("STAFFGATE_SIGNIN_WAIT_MS", 5_000u64, "a whole number"),
            ..Limits::default()
        };
        if !(100..=30_000).contains(&limits.admission_wait_ms) {
            r.problem(format!(
                "STAFFGATE_SIGNIN_WAIT_MS={} must be between 100 and 30000",
                limits.admission_wait_ms
            ));
        }
        if limits.ip_failures < limits.key_ip_failures {
            r.problem(format!(
                "STAFFGATE_IP_FAILURE_LIMIT={} must be at least {}",
                limits.ip_failures, limits.key_ip_failures
            ));
        }
        limits
    }
}
