//! `staffgate serve`: runs the server once the database schema is current.

use std::process::ExitCode;
use std::sync::Arc;

use crate::db;
use crate::services::clock::SystemClock;
use crate::startup::Application;
use crate::state::AppState;

pub async fn run() -> Result<ExitCode, String> {
    let settings = super::settings()?;
    let state = AppState::build(settings, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let pending = db::run(&state.pool, |conn| {
        db::pending_migrations(conn).map_err(MigrateErr)
    })
    .await;
    match pending {
        Ok(p) if p.is_empty() => {}
        Ok(p) => {
            return Err(format!(
                "未適用のマイグレーションがあります。先に `staffgate migrate` を実行してください / pending migrations, run `staffgate migrate` first: {}",
                p.join(", ")
            ));
        }
        Err(e) => return Err(e.0),
    }
    if state.settings.keys.jwt_key_pem.is_none() {
        tracing::warn!(
            "no STAFFGATE_JWT_KEY: tokens are signed with a key generated for this process and die with it (development only)"
        );
    }
    let app = Application::build(state.clone()).map_err(|e| e.to_string())?;
    tracing::info!(
        bind = %state.settings.http.bind,
        port = app.port(),
        public_url = %state.settings.http.public_url,
        "staffgate is listening"
    );
    app.run_until_stopped().await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

struct MigrateErr(String);

impl From<db::DbError> for MigrateErr {
    fn from(e: db::DbError) -> Self {
        MigrateErr(e.to_string())
    }
}
