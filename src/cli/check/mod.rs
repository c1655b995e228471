//! `staffgate check [--json] [--nodes N]`: configuration, secret files, the database (schema,
//! server settings, clock), the proxy in front, the mail server and the sheet font; lists every
//! problem and warning at once. Exit 0 when nothing is a problem (warnings allowed), 1 when a
//! problem was found, 2 for a usage error.

mod findings;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use diesel::{Connection, MysqlConnection};
use serde_json::json;

use crate::config::Settings;
use crate::config::redact::redact_url;
use crate::config::secret_file;
use crate::db;
use crate::db::queries::server;
use crate::services::clock::{Clock, SystemClock};
use crate::services::mail::SmtpMailer;
use crate::services::sheets::SheetFont;
use findings::{Findings, judge_front, judge_server};

/// How long the mail server may take to answer the greeting and EHLO.
const MAIL_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object on stdout (`ok`, `problems`, `warnings`) for monitoring and deploy
    /// tooling.
    #[arg(long)]
    json: bool,
    /// How many staffgate processes share the database (their pools must fit in the server's
    /// max_connections).
    #[arg(long, env = "STAFFGATE_NODES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    nodes: u32,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let (settings, problems) = Settings::from_env_all();
    let mut found = Findings::default();
    found.extend_problems(problems);
    found.extend_problems(secret_file_problems(std::env::vars()));
    judge_front(&settings.http, settings.is_production(), &mut found);
    if !settings.database.url.is_empty() {
        let url = settings.database.url.clone();
        let (nodes, pool_size) = (args.nodes, settings.database.pool_size);
        let mfa = settings.mfa.clone();
        let db_found = tokio::task::spawn_blocking(move || {
            let mut found = database_findings(&url, nodes, pool_size);
            if let Ok(mut conn) = MysqlConnection::establish(&url) {
                found
                    .problems
                    .extend(key_findings(&mut conn, &mfa, &mut found.warnings));
            }
            found
        })
        .await
        .map_err(|e| e.to_string())?;
        found.problems.extend(db_found.problems);
        found.warnings.extend(db_found.warnings);
    }
    if let (Some(url), Some(from)) = (&settings.mail.smtp_url, &settings.mail.from)
        && let Some(p) = mail_problem(url, from).await
    {
        found.problem(p);
    }
    if let Some(p) = font_problem(&settings.sheets.font) {
        found.problem(p);
    }
    let Findings { problems, warnings } = found;
    if args.json {
        let report = json!({
            "ok": problems.is_empty(),
            "database": redact_url(&settings.database.url),
            "problems": problems,
            "warnings": warnings,
        });
        println!("{report}");
    } else {
        let lang = super::lang();
        let db = redact_url(&settings.database.url);
        if problems.is_empty() {
            println!(
                "{}",
                lang.pick(
                    &format!(
                        "OK: 設定、データベース（{db}）、メール、シート用フォントに問題はありません"
                    ),
                    &format!("OK: configuration, database ({db}), mail and sheet font look good"),
                )
            );
        } else {
            let n = problems.len();
            println!(
                "{}",
                lang.pick(
                    &format!("問題が {n} 件あります（起動できません）:"),
                    &format!("{n} problem(s) found:"),
                )
            );
            for p in &problems {
                println!("  - {p}");
            }
        }
        if !warnings.is_empty() {
            let n = warnings.len();
            println!(
                "{}",
                lang.pick(
                    &format!("注意が {n} 件あります（起動はできます）:"),
                    &format!("{n} warning(s):"),
                )
            );
            for w in &warnings {
                println!("  - {w}");
            }
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Connects, greets and says EHLO (with STARTTLS or TLS as the URL asks), sends nothing.
async fn mail_problem(url: &str, from: &str) -> Option<String> {
    let mailer = match SmtpMailer::new(url, from) {
        Ok(m) => m,
        Err(e) => return Some(e.to_string()),
    };
    let target = redact_url(url);
    match tokio::time::timeout(MAIL_PROBE_TIMEOUT, mailer.reachable()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("mail server {target} cannot be reached: {e}")),
        Err(_) => Some(format!(
            "mail server {target} did not answer within {} s",
            MAIL_PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// Every `*_FILE` variable names a secret: its file must not be readable or writable by
/// every user of the machine (systemd credentials and `install -m 0600` files are not).
fn secret_file_problems(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    vars.filter(|(name, path)| {
        name.ends_with("_FILE")
            && (name.starts_with("STAFFGATE_") || name == "DATABASE_URL_FILE")
            && !path.trim().is_empty()
    })
    .filter_map(|(name, path)| secret_file::open_to_everyone(&name, Path::new(&path)))
    .collect()
}

fn database_findings(url: &str, nodes: u32, pool_size: u32) -> Findings {
    let mut found = Findings::default();
    let mut conn = match MysqlConnection::establish(url) {
        Ok(c) => c,
        Err(e) => {
            found.problem(format!("database {}: cannot connect: {e}", redact_url(url)));
            return found;
        }
    };
    found.extend_problems(schema_problems(&mut conn));
    let before = SystemClock.now_naive();
    match server::facts(&mut conn) {
        Ok(facts) => {
            // The server read its clock somewhere within the round trip: take the middle.
            let after = SystemClock.now_naive();
            let ours = before + (after - before) / 2;
            judge_server(&facts, nodes, pool_size, facts.utc_now - ours, &mut found);
        }
        Err(e) => found.problem(format!("cannot read the database server's settings: {e}")),
    }
    found
}

/// Second-factor secrets and reset-log rows sealed under keys that are not configured (they
/// cannot be opened: a problem), and reset-log rows still under a retired key (a warning until
/// `staffgate mfa-log rekey` has run).
fn key_findings(
    conn: &mut MysqlConnection,
    mfa: &crate::config::mfa::Mfa,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    use diesel::prelude::*;
    let mut problems = Vec::new();
    let totp: QueryResult<Vec<(Option<String>, i64)>> = {
        use crate::db::schema::second_factors::dsl as f;
        f::second_factors
            .filter(f::totp_sealed.is_not_null())
            .group_by(f::totp_key_id)
            .select((f::totp_key_id, diesel::dsl::count_star()))
            .load(conn)
    };
    // Before `staffgate migrate` has created the tables there is nothing to judge.
    let Ok(totp) = totp else {
        return problems;
    };
    for (key, n) in totp {
        if key.as_deref() != Some(mfa.secret_key.id.as_str()) {
            problems.push(format!(
                "{n} authenticator secret(s) are sealed under key {} but STAFFGATE_MFA_KEY is {}: those admins cannot pass the second step; restore the old STAFFGATE_MFA_KEY",
                key.unwrap_or_default(),
                mfa.secret_key.id
            ));
        }
    }
    let Ok(resets) = crate::services::mfa::reset::key_counts(conn) else {
        return problems;
    };
    for (key, n) in resets {
        let key = key.unwrap_or_default();
        if key == mfa.reset_log_key.id {
            continue;
        }
        if mfa.reset_log_old_keys.iter().any(|k| k.id == key) {
            warnings.push(format!(
                "{n} second-factor reset record(s) are still sealed under the old key {key}: run `staffgate mfa-log rekey`, then `staffgate mfa-log verify`, before retiring it"
            ));
        } else {
            problems.push(format!(
                "{n} second-factor reset record(s) are sealed under key {key}, which is neither STAFFGATE_MFA_RESET_LOG_KEY nor in STAFFGATE_MFA_RESET_LOG_OLD_KEYS: they cannot be rolled back"
            ));
        }
    }
    problems
}

fn schema_problems(conn: &mut MysqlConnection) -> Vec<String> {
    match (db::pending_migrations(conn), db::unknown_migrations(conn)) {
        (Err(e), _) | (_, Err(e)) => vec![format!("cannot read the migration state: {e}")],
        (Ok(pending), Ok(newer)) => {
            let mut problems = Vec::new();
            if !newer.is_empty() {
                problems.push(format!(
                    "the database schema is newer than this binary (unknown migrations {}): deploy the newer release, or restore the database from before the upgrade",
                    newer.join(", ")
                ));
            }
            if !pending.is_empty() {
                problems.push(format!(
                    "database has {} pending migration(s); run `staffgate migrate`: {}",
                    pending.len(),
                    pending.join(", ")
                ));
            }
            problems
        }
    }
}

/// The account-sheet font must exist, parse, and have Japanese glyphs (the same load the
/// first print does).
pub fn font_problem(path: &Path) -> Option<String> {
    SheetFont::load(path).err().map(|e| e.to_string())
}
