//! `staffgate check`: configuration, database and font; lists every problem, exit 1 if any.

use std::path::Path;
use std::process::ExitCode;

use diesel::{Connection, MysqlConnection};

use crate::config::Settings;
use crate::config::redact::redact_url;
use crate::db;
use crate::services::sheets::SheetFont;

pub async fn run() -> Result<ExitCode, String> {
    let (settings, mut problems) = Settings::from_env_all();
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
    if problems.is_empty() {
        println!(
            "OK: configuration, database ({}) and sheet font look good",
            redact_url(&settings.database.url)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found:", problems.len());
        for p in &problems {
            println!("  - {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}

fn database_problems(url: &str) -> Vec<String> {
    let mut conn = match MysqlConnection::establish(url) {
        Ok(c) => c,
        Err(e) => return vec![format!("database {}: cannot connect: {e}", redact_url(url))],
    };
    match db::pending_migrations(&mut conn) {
        Ok(p) if p.is_empty() => vec![],
        Ok(p) => vec![format!(
            "database has {} pending migration(s); run `staffgate migrate`: {}",
            p.len(),
            p.join(", ")
        )],
        Err(e) => vec![format!("cannot read the migration state: {e}")],
    }
}

/// The account-sheet font must exist, parse, and have Japanese glyphs (the same load the
/// first print does).
pub fn font_problem(path: &Path) -> Option<String> {
    SheetFont::load(path).err().map(|e| e.to_string())
}
