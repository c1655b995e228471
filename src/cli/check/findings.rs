//! What `staffgate check` found: problems (the service must not start) and warnings (it may,
//! but something an operator relies on is missing), and the judgements that produce them from
//! facts already gathered, so each rule is tested without a server.

use std::net::SocketAddr;

use chrono::TimeDelta;

use crate::config::http::Http;
use crate::db::queries::server::ServerFacts;

/// Connections kept free beside the nodes' pools: the CLI, a backup, monitoring, an operator.
pub const SPARE_CONNECTIONS: i64 = 10;
/// The app and the database may disagree by this much; tokens, locks and second-factor codes
/// are timed against both clocks.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::seconds(2);

#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

impl Findings {
    pub fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }

    pub fn warning(&mut self, text: impl Into<String>) {
        self.warnings.push(text.into());
    }

    pub fn extend_problems(&mut self, problems: impl IntoIterator<Item = String>) {
        self.problems.extend(problems);
    }
}

/// The database server's settings against what the product relies on. `nodes` is how many
/// staffgate processes share the database, each with a pool of `pool_size`; `skew` is the
/// database clock minus the app's.
pub fn judge_server(
    f: &ServerFacts,
    nodes: u32,
    pool_size: u32,
    skew: TimeDelta,
    out: &mut Findings,
) {
    if !f.non_transactional_tables.is_empty() {
        out.problem(format!(
            "tables not on InnoDB (no transactions or row locks): {}; ALTER TABLE ... ENGINE=InnoDB",
            f.non_transactional_tables.join(", ")
        ));
    }
    if !f.read_committed {
        out.problem(
            "the server refuses READ COMMITTED isolation, which every connection of the pool asks for",
        );
    }
    if f.log_bin && f.binlog_format != "ROW" {
        out.problem(format!(
            "binlog_format={}: set binlog_format=ROW (replicas, Galera and point-in-time recovery replay rows, not statements)",
            f.binlog_format
        ));
    } else if !f.log_bin {
        out.warning(
            "binary logging is off: a backup restores to the moment it was taken, no later \
             (for point-in-time recovery set log_bin and binlog_format=ROW)",
        );
    }
    let needed = i64::from(nodes) * i64::from(pool_size) + SPARE_CONNECTIONS;
    if f.max_connections < needed {
        out.problem(format!(
            "max_connections={} is below {needed} ({nodes} node(s) x STAFFGATE_DB_POOL_SIZE={pool_size} + {SPARE_CONNECTIONS} spare): raise max_connections or lower the pool size",
            f.max_connections
        ));
    }
    if !f.named_time_zones {
        out.warning(
            "the server's time zone tables are empty: SQL such as CONVERT_TZ(..., 'UTC', 'Asia/Tokyo') \
             returns NULL in reports (load them with mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb mysql)",
        );
    }
    if skew.abs() > MAX_CLOCK_SKEW {
        out.problem(format!(
            "the database clock is {:+.1} s off this machine's (at most {} s): token expiry, locks and history times would disagree; run NTP (chrony, systemd-timesyncd) on both",
            skew.num_milliseconds() as f64 / 1000.0,
            MAX_CLOCK_SKEW.num_seconds()
        ));
    }
}

/// How the public URL, the listening address and the proxy-header setting fit together. The
/// server speaks plain HTTP: an `https://` public URL means a TLS proxy in front of it.
pub fn judge_front(http: &Http, production: bool, out: &mut Findings) {
    let https = http.public_url.starts_with("https://");
    let host = public_host(&http.public_url);
    if production && matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        out.problem(format!(
            "STAFFGATE_PUBLIC_URL={} names this machine itself: phones that scan a sheet's QR code could not reach it",
            http.public_url
        ));
    }
    if https && !http.trust_proxy_headers {
        let text = "STAFFGATE_PUBLIC_URL is https:// (a TLS proxy in front) but STAFFGATE_TRUST_PROXY_HEADERS is off: \
                    every client would appear with the proxy's address, and the per-address sign-in limits would treat all of them as one";
        if production {
            out.problem(text);
        } else {
            out.warning(text);
        }
    }
    let bound_to_loopback = http
        .bind
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if http.trust_proxy_headers && !bound_to_loopback {
        out.warning(format!(
            "STAFFGATE_TRUST_PROXY_HEADERS is on and STAFFGATE_BIND={} is reachable from other machines: a client that bypasses the proxy can claim any address; bind to 127.0.0.1 or firewall the port",
            http.bind
        ));
    }
}

/// `host` of `scheme://host[:port]/...`, lower-cased; empty when there is none.
fn public_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> ServerFacts {
        ServerFacts {
            version: "10.11.6-MariaDB".into(),
            log_bin: true,
            binlog_format: "ROW".into(),
            max_connections: 151,
            named_time_zones: true,
            read_committed: true,
            non_transactional_tables: vec![],
            utc_now: chrono::NaiveDateTime::default(),
        }
    }

    fn judge(f: &ServerFacts, nodes: u32, skew_ms: i64) -> Findings {
        let mut out = Findings::default();
        judge_server(f, nodes, 16, TimeDelta::milliseconds(skew_ms), &mut out);
        out
    }

    #[test]
    fn a_well_set_server_has_nothing_to_say() {
        let out = judge(&healthy(), 2, 300);
        assert!(
            out.problems.is_empty() && out.warnings.is_empty(),
            "{out:?}"
        );
    }

    #[test]
    fn statement_logging_myisam_and_refused_isolation_are_problems() {
        let f = ServerFacts {
            binlog_format: "STATEMENT".into(),
            non_transactional_tables: vec!["employees".into()],
            read_committed: false,
            ..healthy()
        };
        let out = judge(&f, 1, 0);
        assert_eq!(out.problems.len(), 3, "{out:?}");
        assert!(
            out.problems
                .iter()
                .any(|p| p.contains("binlog_format=STATEMENT"))
        );
        assert!(out.problems.iter().any(|p| p.contains("employees")));
    }

    #[test]
    fn no_binary_log_and_no_time_zones_are_warnings() {
        let f = ServerFacts {
            log_bin: false,
            binlog_format: "MIXED".into(),
            named_time_zones: false,
            ..healthy()
        };
        let out = judge(&f, 1, 0);
        assert!(out.problems.is_empty(), "{out:?}");
        assert_eq!(out.warnings.len(), 2, "{out:?}");
    }

    #[test]
    fn connections_must_cover_every_nodes_pool_plus_spare() {
        // 8 nodes x 16 + 10 = 138 fit in 151; 9 nodes (154) do not.
        assert!(judge(&healthy(), 8, 0).problems.is_empty());
        let out = judge(&healthy(), 9, 0);
        assert_eq!(out.problems.len(), 1);
        assert!(out.problems[0].contains("max_connections=151 is below 154"));
    }

    #[test]
    fn clock_skew_beyond_two_seconds_either_way_is_a_problem() {
        assert!(judge(&healthy(), 1, 1_900).problems.is_empty());
        let ahead = judge(&healthy(), 1, 2_500);
        assert!(ahead.problems[0].contains("+2.5 s"), "{ahead:?}");
        let behind = judge(&healthy(), 1, -3_000);
        assert!(behind.problems[0].contains("-3.0 s"), "{behind:?}");
    }

    fn http(bind: &str, url: &str, trust: bool) -> Http {
        Http {
            bind: bind.into(),
            public_url: url.into(),
            trust_proxy_headers: trust,
            cors_origins: vec![],
            workers: None,
        }
    }

    #[test]
    fn https_behind_a_proxy_must_trust_its_headers_and_listen_on_loopback() {
        let mut out = Findings::default();
        judge_front(
            &http("127.0.0.1:8080", "https://sg.example.jp", true),
            true,
            &mut out,
        );
        assert!(
            out.problems.is_empty() && out.warnings.is_empty(),
            "{out:?}"
        );

        let mut out = Findings::default();
        judge_front(
            &http("127.0.0.1:8080", "https://sg.example.jp", false),
            true,
            &mut out,
        );
        assert!(out.problems[0].contains("STAFFGATE_TRUST_PROXY_HEADERS is off"));

        let mut out = Findings::default();
        judge_front(
            &http("0.0.0.0:8080", "https://sg.example.jp", true),
            true,
            &mut out,
        );
        assert!(out.problems.is_empty());
        assert!(out.warnings[0].contains("bypasses the proxy"), "{out:?}");
    }

    #[test]
    fn a_public_url_naming_the_machine_itself_is_refused_in_production() {
        for url in [
            "https://localhost",
            "https://127.0.0.1:8443/",
            "https://[::1]:8443",
        ] {
            let mut out = Findings::default();
            judge_front(&http("127.0.0.1:8080", url, true), true, &mut out);
            assert_eq!(out.problems.len(), 1, "{url}: {out:?}");
        }
        let mut dev = Findings::default();
        judge_front(
            &http("127.0.0.1:8080", "http://localhost:8080", false),
            false,
            &mut dev,
        );
        assert!(dev.problems.is_empty() && dev.warnings.is_empty());
    }
}
