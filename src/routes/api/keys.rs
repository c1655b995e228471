//! Public keys and the API description.

use actix_web::{HttpResponse, get, web};

use crate::state::AppState;

static OPENAPI: &str = include_str!("../../../static/openapi.json");

#[get("/.well-known/jwks.json")]
pub(super) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.keys.jwks())
}

#[get("/openapi.json")]
pub(super) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
