//! `/api/v2`: the JSON API consumed by VoiceDrive, plus JWKS and the OpenAPI description.

mod auth;
mod dto;
mod keys;
mod mfa;
mod tokens;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// Answers that carry tokens or secrets are never cached.
fn no_store(mut res: actix_web::HttpResponse) -> actix_web::HttpResponse {
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

pub const MAX_JSON_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(keys::jwks).service(
        web::scope("/api/v2")
            .app_data(json_config())
            .service(keys::openapi)
            .service(
                web::scope("/auth")
                    .service(tokens::generate)
                    .service(tokens::verify)
                    .service(auth::authenticate)
                    .service(mfa::second_step)
                    .service(mfa::enroll)
                    .service(mfa::confirm)
                    .service(mfa::remove)
                    .service(auth::change_password)
                    .service(auth::unlock)
                    .service(auth::refresh)
                    .service(auth::logout)
                    .service(auth::me),
            ),
    );
}

/// Malformed JSON, wrong types, unknown fields, oversize bodies and wrong content types all
/// become precise problem+json errors before any handler runs.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "リクエストが大きすぎます（上限 {} KiB）。",
                    MAX_JSON_BYTES / 1024
                ),
                format!(
                    "The request body is too large (limit {} KiB).",
                    MAX_JSON_BYTES / 1024
                ),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type: application/json で送信してください。",
            "Send the body as Content-Type: application/json.",
        ),
        JsonPayloadError::Deserialize(e) => {
            let what = e.to_string();
            let (ja, en) = if e.is_syntax() || e.is_eof() {
                (
                    "JSONの形式が正しくありません。",
                    "The body is not valid JSON.",
                )
            } else {
                (
                    "リクエストの項目または型が正しくありません。",
                    "A field is missing, unknown or of the wrong type.",
                )
            };
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation",
                format!("{ja}（{what}）"),
                format!("{en} ({what})"),
            )
            .with(
                "errors",
                serde_json::json!([{ "field": field_of(&what), "message": ja, "messageEn": what }]),
            )
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "リクエストを読み取れませんでした。",
            format!("The request body could not be read ({other})."),
        ),
    }
}

/// The field a serde message names (`missing field `newPassword``, `unknown field `x``),
/// or "" when the body as a whole is at fault.
fn field_of(message: &str) -> String {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field.to_owned())
        .unwrap_or_default()
}
