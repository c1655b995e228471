//! `staffgate migrate [--plan]`: applies the pending database migrations, or with `--plan`
//! lists what would run and changes nothing.

use std::process::ExitCode;

use diesel::{Connection, MysqlConnection};

use crate::db;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// List the migrations that would run, in order, and change nothing.
    #[arg(long)]
    plan: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let settings = super::settings()?;
    let url = settings.database.url.clone();
    let plan = args.plan;
    let names = tokio::task::spawn_blocking(move || {
        let mut conn = MysqlConnection::establish(&url).map_err(|e| {
            format!("データベースに接続できません / cannot connect to the database: {e}")
        })?;
        if plan {
            db::pending_migrations(&mut conn)
        } else {
            db::run_migrations_exclusively(&mut conn)
        }
    })
    .await
    .map_err(|e| e.to_string())??;
    if names.is_empty() {
        println!("マイグレーションは最新です / schema is up to date");
    } else if plan {
        println!(
            "{} 件のマイグレーションを適用します / {} migration(s) would run:",
            names.len(),
            names.len()
        );
        for m in names {
            println!("  {m}");
        }
    } else {
        for m in names {
            println!("適用しました / applied: {m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
