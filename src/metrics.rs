//! Prometheus text exposition of a few counters; no registry crate needed for this little.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_4xx: AtomicU64,
    pub http_5xx: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_locked: AtomicU64,
    pub logins_rate_limited: AtomicU64,
    pub accounts_locked: AtomicU64,
    pub onetime_issued: AtomicU64,
    pub onetime_redeemed: AtomicU64,
    pub refreshes: AtomicU64,
    pub logins_deferred: AtomicU64,
    pub tx_retries: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, hashing_queued: usize, db_connections: u32, db_idle: u32) -> String {
        let mut out = String::with_capacity(2048);
        let counters: [(&str, &str, &AtomicU64); 13] = [
            (
                "staffgate_http_requests_total",
                "HTTP requests served",
                &self.http_requests,
            ),
            (
                "staffgate_http_client_errors_total",
                "HTTP responses with a 4xx status",
                &self.http_4xx,
            ),
            (
                "staffgate_http_server_errors_total",
                "HTTP responses with a 5xx status",
                &self.http_5xx,
            ),
            (
                "staffgate_logins_succeeded_total",
                "Password sign-ins that succeeded",
                &self.logins_ok,
            ),
            (
                "staffgate_logins_failed_total",
                "Password sign-ins refused for wrong credentials",
                &self.logins_failed,
            ),
            (
                "staffgate_logins_locked_total",
                "Sign-ins refused because the account is locked",
                &self.logins_locked,
            ),
            (
                "staffgate_logins_rate_limited_total",
                "Sign-ins refused by the rate limit",
                &self.logins_rate_limited,
            ),
            (
                "staffgate_accounts_locked_total",
                "Accounts that became locked",
                &self.accounts_locked,
            ),
            (
                "staffgate_onetime_tokens_issued_total",
                "One-time tokens issued",
                &self.onetime_issued,
            ),
            (
                "staffgate_onetime_tokens_redeemed_total",
                "One-time tokens redeemed",
                &self.onetime_redeemed,
            ),
            (
                "staffgate_refreshes_total",
                "Refresh token rotations",
                &self.refreshes,
            ),
            (
                "staffgate_logins_deferred_total",
                "Sign-ins answered 503 after waiting too long for a free check slot of their account or address",
                &self.logins_deferred,
            ),
            (
                "staffgate_db_transaction_retries_total",
                "Transactions run again after a deadlock or lock wait timeout",
                &self.tx_retries,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let gauges = [
            (
                "staffgate_hashing_queue",
                "Password hashes waiting for a hashing thread",
                hashing_queued as u64,
            ),
            (
                "staffgate_db_connections",
                "Open database connections",
                u64::from(db_connections),
            ),
            (
                "staffgate_db_connections_idle",
                "Idle database connections",
                u64::from(db_idle),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
