//! `staffgate migrate`

use std::process::ExitCode;

use diesel::sql_types::{Integer, Nullable};
use diesel::{Connection, MysqlConnection, RunQueryDsl};

use crate::db;

pub async fn run() -> Result<ExitCode, String> {
    let settings = super::settings()?;
    let url = settings.database.url.clone();
    let applied = tokio::task::spawn_blocking(move || {
        let mut conn = MysqlConnection::establish(&url).map_err(|e| {
            format!("データベースに接続できません / cannot connect to the database: {e}")
        })?;
        // Several nodes may start at once: one migrates, the others wait and find nothing to do.
        let locked: Option<i32> = diesel::select(diesel::dsl::sql::<Nullable<Integer>>(
            "GET_LOCK('staffgate_migrate', 300)",
        ))
        .get_result(&mut conn)
        .map_err(|e| e.to_string())?;
        if locked != Some(1) {
            return Err(
                "another node is migrating; could not get the migration lock in 5 minutes"
                    .to_owned(),
            );
        }
        let result = db::run_migrations(&mut conn);
        let _: Result<Option<i32>, _> = diesel::select(diesel::dsl::sql::<Nullable<Integer>>(
            "RELEASE_LOCK('staffgate_migrate')",
        ))
        .get_result(&mut conn);
        result
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
