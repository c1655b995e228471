//! HTTP routes: the JSON API, health endpoints and the shared extractors.

pub mod api;
pub mod extract;
pub mod health;

use actix_web::{HttpRequest, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::configure).configure(api::configure);
}

/// Unknown paths: a problem+json 404.
pub async fn not_found(_req: HttpRequest) -> actix_web::HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found())
}
