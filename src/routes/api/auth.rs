//! API-3 (authenticate), API-4 (change password), API-5 (unlock), refresh, logout, me.

use actix_web::{HttpResponse, get, post, put, web};
use serde::Deserialize;
use serde_json::json;

use super::dto::{PasswordStatusDto, TokenResponse, rfc3339};
use super::no_store;
use crate::domain::{EmployeeId, Password, PlainToken};
use crate::error::ApiError;
use crate::routes::extract::{AnySession, Client, Session};
use crate::services::auth;
use crate::services::clock::to_utc;
use crate::services::sessions;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuthenticateRequest {
    employee_id: String,
    password: String,
    device_label: Option<String>,
}

#[post("/authenticate")]
#[tracing::instrument(skip_all)]
pub(super) async fn authenticate(
    state: web::Data<AppState>,
    Client(client): Client,
    body: web::Json<AuthenticateRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let employee_id = EmployeeId::parse(&body.employee_id)?;
    let password = Password::parse(body.password, "password")?;
    let device_label = body
        .device_label
        .map(|d| d.trim().chars().take(100).collect::<String>())
        .filter(|d| !d.is_empty());
    let set = auth::authenticate(&state, employee_id, password, device_label, client).await?;
    Ok(no_store(HttpResponse::Ok().json(TokenResponse::from(set))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: String,
}

#[put("/change-password")]
#[tracing::instrument(skip_all)]
pub(super) async fn change_password(
    state: web::Data<AppState>,
    AnySession(principal): AnySession,
    Client(client): Client,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let current = body
        .current_password
        .filter(|p| !p.is_empty())
        .map(|p| Password::parse(p, "currentPassword"))
        .transpose()?;
    let new = Password::parse(body.new_password, "newPassword")?;
    let set = auth::change_password(&state, principal, current, new, client).await?;
    Ok(no_store(HttpResponse::Ok().json(TokenResponse::from(set))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UnlockRequest {
    employee_id: String,
    reason: String,
}

#[post("/unlock-account")]
#[tracing::instrument(skip_all)]
pub(super) async fn unlock(
    state: web::Data<AppState>,
    Session(principal): Session,
    Client(client): Client,
    body: web::Json<UnlockRequest>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &principal)?;
    let body = body.into_inner();
    let employee_id = EmployeeId::parse(&body.employee_id)?;
    let reason = auth::parse_reason(&body.reason)?;
    let done = auth::unlock(&state, principal.actor(), employee_id, reason, client).await?;
    Ok(HttpResponse::Ok().json(json!({
        "employeeId": done.employee_id,
        "wasLocked": done.was_locked,
        "unlockedAt": rfc3339(done.at),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshRequest {
    refresh_token: String,
}

#[post("/refresh")]
#[tracing::instrument(skip_all)]
pub(super) async fn refresh(
    state: web::Data<AppState>,
    Client(client): Client,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = PlainToken::parse(&body.refresh_token, "refreshToken")?;
    let set = sessions::refresh(&state, token, client).await?;
    Ok(no_store(HttpResponse::Ok().json(TokenResponse::from(set))))
}

#[post("/logout")]
#[tracing::instrument(skip_all)]
pub(super) async fn logout(
    state: web::Data<AppState>,
    AnySession(principal): AnySession,
    Client(client): Client,
) -> Result<HttpResponse, ApiError> {
    sessions::logout(&state, principal, client).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[get("/me")]
#[tracing::instrument(skip_all)]
pub(super) async fn me(
    state: web::Data<AppState>,
    Session(principal): Session,
) -> Result<HttpResponse, ApiError> {
    let status = sessions::password_status(&state, principal.employee.clone()).await?;
    let factors = crate::services::mfa::factors(&state, principal.employee.id).await?;
    let e = &principal.employee;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "employeeId": e.employee_id,
        "name": e.name,
        "nameKana": e.name_kana,
        "department": e.department,
        "email": e.email,
        "permissionLevel": e.permission_level,
        "status": e.status,
        "lastLoginAt": e.last_login_at.map(|t| rfc3339(to_utc(t))),
        "passwordStatus": PasswordStatusDto::from(&status),
        "secondFactor": {
            "totp": factors.totp_since.is_some(),
            "passkeys": factors.passkeys,
            "recoveryCodesLeft": factors.recovery_left,
            "mustEnrol": crate::services::mfa::owes_enrolment(&state.settings, e, &factors),
        },
        "amr": principal.claims.amr,
    }))))
}
