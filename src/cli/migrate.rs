//! `staffgate migrate`: applies the pending database migrations.

use std::process::ExitCode;

use diesel::{Connection, MysqlConnection};

use crate::db;

pub async fn run() -> Result<ExitCode, String> {
    let settings = super::settings()?;
    let url = settings.database.url.clone();
    let applied = tokio::task::spawn_blocking(move || {
        let mut conn = MysqlConnection::establish(&url).map_err(|e| {
            format!("データベースに接続できません / cannot connect to the database: {e}")
        })?;
        db::run_migrations_exclusively(&mut conn)
    })
    .await
    .map_err(|e| e.to_string())??;
    if applied.is_empty() {
        println!("マイグレーションは最新です / schema is up to date");
    } else {
        for m in applied {
            println!("applied {m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
