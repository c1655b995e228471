//! Prometheus text exposition: request counts and latency, sign-in outcomes, pool and queue
//! gauges. Hand-written: a few atomics and one fixed-bucket histogram need no registry crate.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-duration buckets: from a static file to a sign-in
/// queued behind a busy bcrypt pool.
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Debug)]
pub struct Metrics {
    http_by_class: [AtomicU64; 5],
    http_duration: Histogram,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_locked: AtomicU64,
    pub logins_rate_limited: AtomicU64,
    pub logins_deferred: AtomicU64,
    pub accounts_locked: AtomicU64,
    pub onetime_issued: AtomicU64,
    pub onetime_redeemed: AtomicU64,
    pub refreshes: AtomicU64,
    pub tx_retries: AtomicU64,
    pub archive_ok: AtomicU64,
    pub archive_failed: AtomicU64,
    pub archive_busy: AtomicU64,
    /// Undelivered mail as last counted by this node's outbox worker; negative until it has.
    outbox_pending: AtomicI64,
    /// Requests received and not yet answered (a draining node counts down to 0).
    in_flight: Arc<AtomicI64>,
}

/// One request being handled; counted in `http_requests_in_flight` until dropped (answered,
/// failed or abandoned by its client).
#[derive(Debug)]
pub struct InFlight(Arc<AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            http_by_class: Default::default(),
            http_duration: Histogram::default(),
            logins_ok: AtomicU64::new(0),
            logins_failed: AtomicU64::new(0),
            logins_locked: AtomicU64::new(0),
            logins_rate_limited: AtomicU64::new(0),
            logins_deferred: AtomicU64::new(0),
            accounts_locked: AtomicU64::new(0),
            onetime_issued: AtomicU64::new(0),
            onetime_redeemed: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            tx_retries: AtomicU64::new(0),
            archive_ok: AtomicU64::new(0),
            archive_failed: AtomicU64::new(0),
            archive_busy: AtomicU64::new(0),
            outbox_pending: AtomicI64::new(-1),
            in_flight: Arc::default(),
        }
    }
}

/// What is read at scrape time rather than counted.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    pub hashing_queued: usize,
    pub pool_open: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    /// The database answered the readiness check during this scrape.
    pub ready: bool,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request arrived; it stays in flight until the returned guard is dropped.
    pub fn request_started(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    /// One answered request: its status class and how long it took.
    pub fn record_http(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        Self::inc(&self.http_by_class[class]);
        self.http_duration.observe(elapsed);
    }

    pub fn set_outbox_pending(&self, pending: i64) {
        self.outbox_pending.store(pending, Ordering::Relaxed);
    }

    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);

        let by_class: Vec<(String, u64)> = STATUS_CLASSES
            .iter()
            .zip(&self.http_by_class)
            .map(|(class, n)| (format!("status_class=\"{class}\""), load(n)))
            .collect();
        family(
            &mut out,
            "http_requests_total",
            "counter",
            "HTTP requests answered, by status class",
            &by_class,
        );
        self.http_duration.render(
            &mut out,
            "http_request_duration_seconds",
            "Time from request to response head",
        );
        let in_flight = u64::try_from(self.in_flight.load(Ordering::Relaxed)).unwrap_or(0);
        family(
            &mut out,
            "http_requests_in_flight",
            "gauge",
            "Requests received and not yet answered, this scrape included",
            &[(String::new(), in_flight)],
        );

        let by_outcome = [
            (
                "staffgate_signins_total",
                "Password sign-ins by outcome: ok, failed (wrong credentials), locked (refused, account locked), rate_limited, deferred (503 after waiting for a check slot)",
                &[
                    ("ok", &self.logins_ok),
                    ("failed", &self.logins_failed),
                    ("locked", &self.logins_locked),
                    ("rate_limited", &self.logins_rate_limited),
                    ("deferred", &self.logins_deferred),
                ][..],
            ),
            (
                "staffgate_archive_runs_total",
                "Login-history archive runs started on this node, by outcome (busy: another run held the lock)",
                &[
                    ("ok", &self.archive_ok),
                    ("failed", &self.archive_failed),
                    ("busy", &self.archive_busy),
                ][..],
            ),
        ];
        for (name, help, outcomes) in by_outcome {
            let samples: Vec<(String, u64)> = outcomes
                .iter()
                .map(|(outcome, n)| (format!("outcome=\"{outcome}\""), load(n)))
                .collect();
            family(&mut out, name, "counter", help, &samples);
        }

        let counters = [
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
                "staffgate_db_transaction_retries_total",
                "Transactions run again after a deadlock or lock wait timeout",
                &self.tx_retries,
            ),
        ];
        for (name, help, n) in counters {
            family(&mut out, name, "counter", help, &[(String::new(), load(n))]);
        }

        let in_use = g.pool_open.saturating_sub(g.pool_idle);
        family(
            &mut out,
            "staffgate_db_pool_connections",
            "gauge",
            "Open database connections of this node's pool, idle or in use",
            &[
                ("state=\"idle\"".into(), u64::from(g.pool_idle)),
                ("state=\"in_use\"".into(), u64::from(in_use)),
            ],
        );
        let gauges = [
            (
                "staffgate_db_pool_max",
                "Most connections the pool opens",
                u64::from(g.pool_max),
            ),
            (
                "staffgate_hashing_queue",
                "Password hashes waiting for a hashing thread",
                g.hashing_queued as u64,
            ),
            (
                "staffgate_ready",
                "1 when the database answered the readiness check during this scrape",
                u64::from(g.ready),
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, name, "gauge", help, &[(String::new(), value)]);
        }
        if let Ok(pending) = u64::try_from(self.outbox_pending.load(Ordering::Relaxed)) {
            family(
                &mut out,
                "staffgate_outbox_pending",
                "gauge",
                "Mail neither sent nor given up, as last counted by this node's outbox worker",
                &[(String::new(), pending)],
            );
        }
        out
    }
}

/// Writes one metric family: HELP, TYPE and a sample per label set (empty: no labels).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is above the largest bound.
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let slot = DURATION_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            cumulative += n.load(Ordering::Relaxed);
            match DURATION_BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauges() -> Gauges {
        Gauges {
            hashing_queued: 0,
            pool_open: 3,
            pool_idle: 1,
            pool_max: 16,
            ready: true,
        }
    }

    #[test]
    fn requests_are_counted_by_status_class_and_bucketed_cumulatively() {
        let m = Metrics::default();
        m.record_http(200, Duration::from_millis(3));
        m.record_http(503, Duration::from_millis(300));
        m.record_http(401, Duration::from_secs(20));
        let text = m.render(gauges());
        assert!(text.contains("http_requests_total{status_class=\"2xx\"} 1\n"));
        assert!(text.contains("http_requests_total{status_class=\"5xx\"} 1\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("http_request_duration_seconds_count 3\n"));
        assert!(text.contains("staffgate_db_pool_connections{state=\"in_use\"} 2\n"));
    }

    #[test]
    fn the_outbox_gauge_appears_once_the_worker_has_counted() {
        let m = Metrics::default();
        assert!(!m.render(gauges()).contains("staffgate_outbox_pending"));
        m.set_outbox_pending(4);
        assert!(m.render(gauges()).contains("staffgate_outbox_pending 4\n"));
    }
}
