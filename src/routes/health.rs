//! Liveness, readiness and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::services::health;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The process answers; touches nothing else so it stays fast while logins saturate bcrypt.
#[get("/healthz")]
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers within two seconds.
#[get("/readyz")]
pub(super) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let check = health::database_answers(&state);
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Ok(Err(e)) => Err(ApiError::unavailable(e.to_string())),
        Err(_) => Err(ApiError::unavailable("database ping timed out")),
    }
}

/// Also runs the readiness check (one second at most), so a scrape tells whether this node
/// can reach the database without a separate probe.
#[get("/metrics")]
pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let check = health::database_answers(&state);
    let ready = matches!(
        tokio::time::timeout(Duration::from_secs(1), check).await,
        Ok(Ok(()))
    );
    let pool = state.pool.state();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(Gauges {
            hashing_queued: state.hashing.queued(),
            pool_open: pool.connections,
            pool_idle: pool.idle_connections,
            pool_max: state.pool.max_size(),
            ready,
        }))
}
