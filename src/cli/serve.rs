//! `staffgate serve`: runs the server once the database schema is exactly the one this binary
//! was built for (not older, not newer).

use std::process::ExitCode;
use std::sync::Arc;

use crate::db;
use crate::services::clock::SystemClock;
use crate::startup::Application;
use crate::state::AppState;

pub async fn run() -> Result<ExitCode, String> {
    let settings = super::settings()?;
    let state = AppState::build(settings, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let mismatch = db::run(&state.pool, |conn| {
        db::schema_mismatch(conn).map_err(MigrateErr)
    })
    .await
    .map_err(|e| e.0)?;
    if let Some(why) = mismatch {
        return Err(why);
    }
    if state.settings.keys.jwt_key_pem.is_none() {
        tracing::warn!(
            "no STAFFGATE_JWT_KEY: tokens are signed with a key generated for this process and die with it (development only)"
        );
    }
    if state.settings.mfa.secret_key_is_development
        || state.settings.mfa.reset_log_key_is_development
    {
        tracing::warn!(
            "no STAFFGATE_MFA_KEY or STAFFGATE_MFA_RESET_LOG_KEY: second factors are sealed with a fixed development key that anyone can read in the source (development only; set STAFFGATE_ENV=production to refuse this)"
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
