//! `staffgate check [--json]`: configuration, secret files, database and font; lists every
//! problem. Exit 0 when all is well, 1 when a problem was found, 2 for a usage error.

use std::path::Path;
use std::process::ExitCode;

use diesel::{Connection, MysqlConnection};
use serde_json::json;

use crate::config::Settings;
use crate::config::redact::redact_url;
use crate::config::secret_file;
use crate::db;
use crate::services::sheets::SheetFont;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object on stdout (`ok`, `problems`) for monitoring and deploy tooling.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let (settings, mut problems) = Settings::from_env_all();
    problems.extend(secret_file_problems(std::env::vars()));
    if !settings.database.url.is_empty() {
        let url = settings.database.url.clone();
        let db_problems = tokio::task::spawn_blocking(move || database_problems(&url))
            .await
            .map_err(|e| e.to_string())?;
        problems.extend(db_problems);
    }
    if let Some(p) = font_problem(&settings.sheets.font) {
        problems.push(p);
    }
    if args.json {
        let report = json!({
            "ok": problems.is_empty(),
            "database": redact_url(&settings.database.url),
            "problems": problems,
        });
        println!("{report}");
    } else if problems.is_empty() {
        println!(
            "OK: configuration, database ({}) and sheet font look good",
            redact_url(&settings.database.url)
        );
    } else {
        println!("{} problem(s) found:", problems.len());
        for p in &problems {
            println!("  - {p}");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

fn database_problems(url: &str) -> Vec<String> {
    let mut conn = match MysqlConnection::establish(url) {
        Ok(c) => c,
        Err(e) => return vec![format!("database {}: cannot connect: {e}", redact_url(url))],
    };
    match (
        db::pending_migrations(&mut conn),
        db::unknown_migrations(&mut conn),
    ) {
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
