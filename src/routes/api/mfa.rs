//! The second step of an API sign-in and authenticator-app enrolment for a signed-in user.

use actix_web::{HttpResponse, delete, post, web};
use serde::Deserialize;
use serde_json::json;

use super::dto::TokenResponse;
use super::no_store;
use crate::domain::{PlainToken, SecondCode};
use crate::error::ApiError;
use crate::routes::extract::{Client, Session};
use crate::services::{auth, mfa};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SecondStepRequest {
    mfa_token: String,
    code: String,
}

#[post("/mfa")]
#[tracing::instrument(skip_all)]
pub(super) async fn second_step(
    state: web::Data<AppState>,
    Client(client): Client,
    body: web::Json<SecondStepRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token = PlainToken::parse(&body.mfa_token, "mfaToken")?;
    let code = SecondCode::parse(&body.code, "code")?;
    let set = auth::complete_second_step(&state, token, code, client).await?;
    Ok(no_store(HttpResponse::Ok().json(TokenResponse::from(set))))
}

#[post("/mfa/totp/enroll")]
#[tracing::instrument(skip_all)]
pub(super) async fn enroll(
    state: web::Data<AppState>,
    Session(principal): Session,
) -> Result<HttpResponse, ApiError> {
    auth::require_recent_sign_in(&state, &principal).await?;
    let origin = mfa::Origin::Api {
        family: principal.claims.sid.clone(),
    };
    let offer = mfa::begin_totp(&state, &principal.employee, &origin, true).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "secret": offer.secret.base32(),
        "otpauthUri": offer.otpauth_uri,
        "qrCodeDataUrl": offer.qr_data_url,
    }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CodeRequest {
    code: String,
}

#[post("/mfa/totp/confirm")]
#[tracing::instrument(skip_all)]
pub(super) async fn confirm(
    state: web::Data<AppState>,
    Session(principal): Session,
    Client(client): Client,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = SecondCode::parse(&body.code, "code")?;
    auth::require_recent_sign_in(&state, &principal).await?;
    let origin = mfa::Origin::Api {
        family: principal.claims.sid.clone(),
    };
    let codes = mfa::confirm_totp(&state, principal.employee, origin, code, client).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "recoveryCodes": codes.grouped(),
    }))))
}

#[delete("/mfa/totp")]
#[tracing::instrument(skip_all)]
pub(super) async fn remove(
    state: web::Data<AppState>,
    Session(principal): Session,
    Client(client): Client,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = SecondCode::parse(&body.code, "code")?;
    auth::require_recent_sign_in(&state, &principal).await?;
    mfa::remove_totp(&state, principal.employee, code, client).await?;
    Ok(HttpResponse::NoContent().finish())
}
