//! HTTP routes: the JSON API, health endpoints and the shared extractors.

pub mod api;
pub mod assets;
pub mod extract;
pub mod health;
pub mod portal;

use actix_web::{HttpRequest, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(root))
        .configure(health::configure)
        .configure(api::configure)
        .configure(assets::configure);
}

/// Someone opened the server's address itself: the portal's sign-in page, which names the app
/// staff sign in to.
async fn root() -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/admin"))
        .finish()
}

/// Every route and its method, for 405 answers on known paths.
const ROUTES: &[(&str, &str)] = &[
    ("/", "GET"),
    ("/api/v2/auth/generate-onetime-token", "POST"),
    ("/api/v2/auth/verify-onetime-token", "POST"),
    ("/api/v2/auth/authenticate", "POST"),
    ("/api/v2/auth/change-password", "PUT"),
    ("/api/v2/auth/unlock-account", "POST"),
    ("/api/v2/auth/refresh", "POST"),
    ("/api/v2/auth/logout", "POST"),
    ("/api/v2/auth/me", "GET"),
    ("/api/v2/openapi.json", "GET"),
    ("/.well-known/jwks.json", "GET"),
    ("/favicon.ico", "GET"),
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
];

/// Unmatched requests: 405 with `Allow` on a known path, otherwise 404; both problem+json.
pub async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    let known = ROUTES.iter().find(|(path, _)| *path == req.path());
    let err = match known {
        Some((_, method)) => ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("このURLでは {method} のみ使えます。"),
            format!("Only {method} is allowed here."),
        ),
        None => ApiError::not_found(),
    };
    let mut res = actix_web::ResponseError::error_response(&err);
    if let Some((_, method)) = known
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(method)
    {
        res.headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    res
}
