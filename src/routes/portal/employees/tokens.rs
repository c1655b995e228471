//! QR codes from the employee page: issue one (shown once) and revoke one.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::Admin;
use super::super::view::{Chrome, PortalError, encode, render, see_other};
use super::load_employee;
use crate::db::models::Employee;
use crate::domain::{EmployeeId, TokenPurpose, ValidityHours};
use crate::services::clock::format_jst;
use crate::services::portal::actor;
use crate::services::tokens;

#[derive(Deserialize)]
pub(super) struct IssueForm {
    #[serde(default)]
    validity: String,
    #[serde(default)]
    custom_hours: String,
}

#[derive(Template)]
#[template(path = "admin/employees/issued.html")]
struct IssuedPage {
    c: Chrome,
    e: Employee,
    qr: String,
    url: String,
    expires: String,
    hours: u32,
    revoked: usize,
}

/// Issues a QR code and shows it at once. The secret exists only in this response (the
/// database keeps its hash), so this page is the one answer to a POST that is not a redirect;
/// it is never cached.
pub(super) async fn issue(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<IssueForm>,
) -> Result<HttpResponse, PortalError> {
    let back = format!("/admin/employees/{}", encode(&code));
    let raw = if form.validity == "custom" {
        form.custom_hours.trim()
    } else {
        form.validity.trim()
    };
    let validity = match raw
        .parse::<i64>()
        .ok()
        .map(|h| ValidityHours::parse(Some(h)))
    {
        Some(Ok(v)) => v,
        _ => {
            me.flash_error(
                "有効期間は1〜168時間の整数で指定してください。",
                "The validity must be a whole number of hours from 1 to 168.",
            );
            return Ok(see_other(&back));
        }
    };
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    let issued = match tokens::issue(
        &me.state,
        actor(&me.employee),
        employee_id,
        validity,
        TokenPurpose::Onboarding,
        me.client.clone(),
    )
    .await
    {
        Ok(issued) => issued,
        Err(e) => return Ok(me.refused(e, &back)),
    };
    let emp = load_employee(&me, &code).await?;
    let mut res = render(
        StatusCode::OK,
        &IssuedPage {
            c: me.chrome("employees"),
            e: emp,
            qr: issued.qr_data_url.clone(),
            url: issued.login_url.clone(),
            expires: format_jst(issued.expires_at),
            hours: validity.hours(),
            revoked: issued.revoked_count,
        },
    );
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store, private"));
    Ok(res)
}

pub(super) async fn revoke(
    me: Admin,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, PortalError> {
    let (code, token_id) = path.into_inner();
    let back = format!("/admin/employees/{}", encode(&code));
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    let revoked = match tokens::revoke(
        &me.state,
        actor(&me.employee),
        employee_id,
        token_id,
        me.client.clone(),
    )
    .await
    {
        Ok(revoked) => revoked,
        Err(e) => return Ok(me.refused(e, &back)),
    };
    if revoked {
        me.flash_ok("QRコードを無効にしました。", "The QR code was revoked.");
    } else {
        me.flash_error(
            "このQRコードはすでに使用済み・無効・期限切れです。",
            "This QR code was already used, revoked or expired.",
        );
    }
    Ok(see_other(&back))
}
