//! API-1 (issue a one-time token) and API-2 (redeem it for a setup session).

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use serde_json::json;

use super::dto::rfc3339;
use crate::domain::{EmployeeId, PlainToken, TokenPurpose, ValidityHours};
use crate::error::ApiError;
use crate::routes::extract::{Client, Session};
use crate::services::{auth, tokens};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GenerateRequest {
    employee_id: String,
    validity_hours: Option<serde_json::Number>,
    purpose: Option<String>,
}

#[post("/generate-onetime-token")]
#[tracing::instrument(skip_all)]
pub(super) async fn generate(
    state: web::Data<AppState>,
    Session(principal): Session,
    Client(client): Client,
    body: web::Json<GenerateRequest>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &principal)?;
    let body = body.into_inner();
    let employee_id = EmployeeId::parse(&body.employee_id)?;
    let validity = ValidityHours::parse_number(body.validity_hours.as_ref())?;
    let purpose = TokenPurpose::parse(body.purpose.as_deref())?;
    let issued = tokens::issue(
        &state,
        principal.actor(),
        employee_id,
        validity,
        purpose,
        client,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "employeeId": issued.employee_id,
            "token": issued.token.expose(),
            "expiresAt": rfc3339(issued.expires_at),
            "loginUrl": issued.login_url,
            "qrCodeDataUrl": issued.qr_data_url,
            "revokedCount": issued.revoked_count,
        })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    token: String,
}

#[post("/verify-onetime-token")]
#[tracing::instrument(skip_all)]
pub(super) async fn verify(
    state: web::Data<AppState>,
    Client(client): Client,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = PlainToken::parse(&body.token, "token")?;
    let redeemed = tokens::redeem(&state, token, client).await?;
    let emp = redeemed.employee;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "setupToken": redeemed.session.access_token,
            "tokenType": "Bearer",
            "expiresIn": redeemed.session.expires_in,
            "employee": {
                "employeeId": emp.employee_id,
                "name": emp.name,
                "nameKana": emp.name_kana,
                "department": emp.department,
            },
            "passwordMustChange": true,
        })))
}
