//! The deploy kit under deploy/: the systemd unit, its environment file and credentials, the
//! Prometheus alerts, and the /metrics scrape they are written against.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::cli::text;
use crate::helpers::smtp::SmtpSink;
use crate::helpers::tools::{repo_root, require, scratch_dir};
use crate::helpers::*;

const UNIT: &str = "deploy/systemd/staffgate.service";
const INSTALLED_BINARY: &str = "/usr/local/bin/staffgate";

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let analyze = require("systemd-analyze", "systemd");
    let unit = std::fs::read_to_string(repo_root().join(UNIT)).unwrap();
    assert!(unit.contains(&format!("ExecStart={INSTALLED_BINARY} serve")));
    assert!(unit.contains(&format!("ExecStartPre={INSTALLED_BINARY} check")));
    // verify insists that the binary exists: point the unit at the one under test.
    let dir = scratch_dir("unit");
    let path = dir.join("staffgate.service");
    std::fs::write(
        &path,
        unit.replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_staffgate")),
    )
    .unwrap();

    let out = run(Command::new(analyze).arg("verify").arg(&path));
    std::fs::remove_dir_all(&dir).unwrap();

    let t = text(&out);
    let about_unit: Vec<&str> = t.lines().filter(|l| l.contains("staffgate")).collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify complains about the unit:\n{t}"
    );
}

#[test]
fn the_unit_hands_every_secret_over_as_a_credential() {
    let unit = std::fs::read_to_string(repo_root().join(UNIT)).unwrap();
    for (credential, variable) in [
        ("database-url", "DATABASE_URL_FILE"),
        ("jwt-key.pem", "STAFFGATE_JWT_KEY_FILE"),
        ("session-key", "STAFFGATE_SESSION_KEY_FILE"),
        ("mfa-key", "STAFFGATE_MFA_KEY_FILE"),
        ("mfa-reset-log-key", "STAFFGATE_MFA_RESET_LOG_KEY_FILE"),
    ] {
        assert!(
            unit.contains(&format!(
                "LoadCredential={credential}:/etc/staffgate/credentials/{credential}"
            )),
            "{credential} is not loaded"
        );
        assert!(
            unit.contains(&format!("Environment={variable}=%d/{credential}")),
            "{variable} does not point at the {credential} credential"
        );
    }
    let env =
        std::fs::read_to_string(repo_root().join("deploy/systemd/staffgate.env.example")).unwrap();
    for secret in [
        "DATABASE_URL=",
        "STAFFGATE_JWT_KEY=",
        "STAFFGATE_SESSION_KEY=",
        "STAFFGATE_MFA_KEY=",
        "STAFFGATE_MFA_RESET_LOG_KEY=",
    ] {
        assert!(
            !env.lines().any(|l| l.starts_with(secret)),
            "{secret} belongs in a credential, not in the environment file"
        );
    }
}

/// `staffgate check`, as ExecStartPre runs it: the example environment file plus the three
/// credentials as files, read through their `*_FILE` variables. Credential files open to every
/// user are refused; private ones (as systemd hands them over) pass, also with `--json`.
#[test]
fn the_example_environment_and_credential_files_pass_staffgate_check() {
    let db = TestDb::create();
    let creds = scratch_dir("credentials");
    std::fs::write(creds.join("database-url"), format!("{}\n", db.url)).unwrap();
    std::fs::write(
        creds.join("jwt-key.pem"),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::write(
        creds.join("session-key"),
        "1iXypWik3032Z02tMebUIJCjgL7crB4J89wIgvRzWL4kAGHxPVMSefhPc31pzpE/eyQg/4Kim4Kiz1YUIBDIqA==\n",
    )
    .unwrap();
    std::fs::write(
        creds.join("mfa-key"),
        "9c1f4e7a2b8d3065f1a4c7e9b2d5086a3f6c9e1b4d7a0c3e6f9b2d5a8c1e4f70\n",
    )
    .unwrap();
    std::fs::write(
        creds.join("mfa-reset-log-key"),
        "5e8b1d4a7c0f3926e5b8d1a4c7f0e3b6d9a2c5f8e1b4d7a0c3f6e9b2d5a8c1f4\n",
    )
    .unwrap();
    let env_file =
        std::fs::read_to_string(repo_root().join("deploy/systemd/staffgate.env.example")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_staffgate"));
    cmd.arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&creds);
    for line in env_file.lines().map(str::trim) {
        if let Some((name, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            cmd.env(name, value);
        }
    }
    for (variable, credential) in [
        ("DATABASE_URL_FILE", "database-url"),
        ("STAFFGATE_JWT_KEY_FILE", "jwt-key.pem"),
        ("STAFFGATE_SESSION_KEY_FILE", "session-key"),
        ("STAFFGATE_MFA_KEY_FILE", "mfa-key"),
        ("STAFFGATE_MFA_RESET_LOG_KEY_FILE", "mfa-reset-log-key"),
    ] {
        cmd.env(variable, creds.join(credential));
    }

    let credentials = [
        "database-url",
        "jwt-key.pem",
        "session-key",
        "mfa-key",
        "mfa-reset-log-key",
    ];
    let chmod = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        for c in credentials {
            let perms = std::fs::Permissions::from_mode(mode);
            std::fs::set_permissions(creds.join(c), perms).unwrap();
        }
    };

    chmod(0o644);
    let open = run(&mut cmd);
    chmod(0o600);
    let private = run(&mut cmd);
    cmd.arg("--json");
    let report = run(&mut cmd);
    chmod(0o604);
    let report_open = run(&mut cmd);
    std::fs::remove_dir_all(&creds).unwrap();

    assert_eq!(open.status.code(), Some(1), "{}", text(&open));
    let said = text(&open);
    for variable in [
        "DATABASE_URL_FILE",
        "STAFFGATE_JWT_KEY_FILE",
        "STAFFGATE_SESSION_KEY_FILE",
    ] {
        assert!(
            said.contains(&format!("{variable}: ")) && said.contains("mode 0644"),
            "{variable} open to everyone is a problem: {said}"
        );
    }
    assert!(private.status.success(), "{}", text(&private));
    let ok: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["problems"], serde_json::json!([]));
    let bad: serde_json::Value = serde_json::from_slice(&report_open.stdout).unwrap();
    assert_eq!(report_open.status.code(), Some(1));
    assert_eq!(bad["ok"], false);
    assert_eq!(
        bad["problems"].as_array().map(Vec::len),
        Some(credentials.len()),
        "{bad}"
    );
}

#[test]
fn the_alert_rules_pass_promtool_check_and_their_unit_tests() {
    let promtool = require("promtool", "prometheus");
    let dir = repo_root().join("deploy/prometheus");

    let check = run(Command::new(&promtool)
        .args(["check", "rules", "alerts.yml"])
        .current_dir(&dir));
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("SUCCESS: 8 rules found"),
        "{}",
        text(&check)
    );

    let unit_tests = run(Command::new(&promtool)
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(&dir));
    assert!(unit_tests.status.success(), "{}", text(&unit_tests));
}

#[test]
fn every_alert_has_a_firing_case_and_reads_only_metrics_the_server_exports() {
    let rules = std::fs::read_to_string(repo_root().join("deploy/prometheus/alerts.yml")).unwrap();
    let cases =
        std::fs::read_to_string(repo_root().join("deploy/prometheus/alerts.test.yml")).unwrap();
    let source = std::fs::read_to_string(repo_root().join("src/metrics.rs")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(alerts.len(), 8);
    for alert in alerts {
        let fires = cases.split("alertname: ").skip(1).any(|case| {
            case.starts_with(alert)
                && case
                    .lines()
                    .nth(1)
                    .is_some_and(|l| l.contains("exp_alerts:") && !l.contains("[]"))
        });
        assert!(fires, "no case in alerts.test.yml shows {alert} firing");
    }
    for metric in [
        "http_requests_total",
        "staffgate_ready",
        "staffgate_accounts_locked_total",
        "staffgate_db_pool_connections",
        "staffgate_db_pool_max",
        "staffgate_db_transaction_retries_total",
        "staffgate_outbox_pending",
        "staffgate_archive_runs_total",
    ] {
        assert!(rules.contains(metric), "{metric} is not used by an alert");
        assert!(
            source.contains(&format!("\"{metric}\"")),
            "{metric} is not exported"
        );
    }
}

#[tokio::test]
async fn a_real_scrape_passes_promtool_check_metrics() {
    let promtool = require("promtool", "prometheus");
    let app = spawn_app().await;
    app.seed_staff();
    app.login(STAFF_ID, STAFF_PW).await;
    app.login(STAFF_ID, "wrong").await;
    app.get("/no-such-page").await;
    let scrape = app.get("/metrics").await.text().await.unwrap();

    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();

    assert!(
        out.status.success() && text(&out).trim().is_empty(),
        "promtool check metrics:\n{}\n{scrape}",
        text(&out)
    );
    for sample in [
        "staffgate_signins_total{outcome=\"ok\"} 1\n",
        "staffgate_signins_total{outcome=\"failed\"} 1\n",
        "http_requests_total{status_class=\"2xx\"} 1\n",
        "http_requests_total{status_class=\"4xx\"} 2\n",
        "http_request_duration_seconds_count 3\n",
        "staffgate_db_pool_max 20\n",
        "staffgate_ready 1\n",
        "staffgate_hashing_queue 0\n",
    ] {
        assert!(scrape.contains(sample), "{sample:?} missing from\n{scrape}");
    }
}

/// `staffgate check --json` on `db_url` with `env`, run as an operator would; exit code and
/// report.
async fn check_report(db_url: &str, env: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_staffgate"));
    cmd.args(["check", "--json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Off the runtime's threads: the SMTP sink it probes answers on them.
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code(), report)
}

fn said(report: &serde_json::Value, key: &str) -> String {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}\n", p.as_str().unwrap()))
        .collect()
}

/// The database server, the proxy setting and the mail server are judged with the rest: a
/// server too small for the nodes' pools, a proxy whose headers are not trusted and a mail
/// server that is down are each a problem, named; with all three fixed, nothing is.
#[tokio::test]
async fn check_judges_the_database_server_the_proxy_and_the_mail_server() {
    let db = TestDb::create();
    let smtp = SmtpSink::start().await;
    let smtp_url = smtp.url();
    let mail = [
        ("STAFFGATE_SMTP_URL", smtp_url.as_str()),
        (
            "STAFFGATE_MAIL_FROM",
            "staffgate <noreply@hospital.example.jp>",
        ),
    ];

    let (code, good) = check_report(&db.url, &mail).await;
    assert_eq!(code, Some(0), "{good}");
    assert_eq!(good["problems"], serde_json::json!([]), "{good}");
    assert!(smtp.messages().is_empty(), "the mail probe sends nothing");

    smtp.stop();
    let mut env = mail.to_vec();
    env.extend([
        ("STAFFGATE_NODES", "1000"),
        (
            "STAFFGATE_PUBLIC_URL",
            "https://staffgate.hospital.example.jp",
        ),
    ]);
    let (code, bad) = check_report(&db.url, &env).await;
    assert_eq!(code, Some(1), "{bad}");
    let problems = said(&bad, "problems");
    assert_eq!(
        bad["problems"].as_array().map(Vec::len),
        Some(2),
        "{problems}"
    );
    assert!(
        problems.contains(&format!("mail server smtp://127.0.0.1:{}", smtp.port))
            && problems.contains("cannot be reached"),
        "{problems}"
    );
    assert!(
        problems.contains("1000 node(s) x STAFFGATE_DB_POOL_SIZE=16 + 10 spare"),
        "{problems}"
    );
    // Outside production an untrusted proxy is a warning; every warning names its fix.
    let warnings = said(&bad, "warnings");
    assert!(
        warnings.contains("STAFFGATE_TRUST_PROXY_HEADERS is off"),
        "{warnings}"
    );

    env.push(("STAFFGATE_ENV", "production"));
    let (_, production) = check_report(&db.url, &env).await;
    assert!(
        said(&production, "problems").contains("STAFFGATE_TRUST_PROXY_HEADERS is off"),
        "{production}"
    );
}
