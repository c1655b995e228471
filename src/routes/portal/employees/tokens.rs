//! QR codes from the employee page: issue one (shown once) and revoke one.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::super::view::{Chrome, PortalError, encode, render, see_other};
use super::super::{Admin, keys};
use super::load_employee;
use crate::db::models::Employee;
use crate::domain::{EmployeeId, TokenPurpose, ValidityHours};
use crate::services::clock::format_jst;
use crate::services::portal::actor;
use crate::services::qr;
use crate::services::sealed::Sealer;
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

/// How long the page of a just-issued QR code can be shown again (a reload, the back button).
const VIEW_MINUTES: i64 = 10;

/// A just-issued QR code as the admin's session keeps it for its page: the login URL sealed
/// with a key the database never holds, for this session and this employee only.
#[derive(Serialize, Deserialize)]
struct IssuedView {
    code: String,
    sealed_url: String,
    expires_at: DateTime<Utc>,
    hours: u32,
    revoked: usize,
    shown_until: NaiveDateTime,
}

fn view_sealer(me: &Admin) -> Sealer {
    Sealer::derive(me.state.session_key.master(), "portal issued-qr view")
}

fn view_context(me: &Admin, code: &str) -> String {
    format!("{}\n{code}", me.session_ref)
}

/// Issues a QR code and sends the browser to its page (post/redirect/get): reloading that page
/// shows the same code again for `VIEW_MINUTES` and never issues another one. The secret is in
/// the database only as a hash, and in the session only sealed.
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
    let view = IssuedView {
        code: issued.employee_id.clone(),
        sealed_url: view_sealer(&me)
            .seal(&issued.login_url, &view_context(&me, &issued.employee_id)),
        expires_at: issued.expires_at,
        hours: validity.hours(),
        revoked: issued.revoked_count,
        shown_until: me.state.clock.now_naive() + TimeDelta::minutes(VIEW_MINUTES),
    };
    if let Err(e) = me.session.insert(keys::ISSUED_QR, view) {
        return Err(PortalError::Internal(format!(
            "keeping the issued QR code: {e}"
        )));
    }
    Ok(see_other(&format!("{back}/issued")))
}

/// The page of the QR code just issued to this employee in this session, while it may be shown.
pub(super) async fn show_issued(
    me: Admin,
    code: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let back = format!("/admin/employees/{}", encode(&code));
    let now = me.state.clock.now_naive();
    let view = me
        .session
        .get::<IssuedView>(keys::ISSUED_QR)
        .ok()
        .flatten()
        .filter(|v| v.code.eq_ignore_ascii_case(&code) && v.shown_until > now);
    let opened = view.and_then(|v| {
        let url = view_sealer(&me).open(&v.sealed_url, &view_context(&me, &v.code))?;
        Some((v, url))
    });
    let Some((view, url)) = opened else {
        me.flash_error(
            "発行したQRコードを表示できるのは発行から10分間です。必要なら、もう一度発行してください（前のQRコードは使えなくなります）。",
            "An issued QR code can be shown for 10 minutes after issuing. If you need one, issue it again (the earlier code then stops working).",
        );
        return Ok(see_other(&back));
    };
    let qr_url = url.clone();
    let qr = tokio::task::spawn_blocking(move || qr::png_data_url(&qr_url))
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let emp = load_employee(&me, &view.code).await?;
    let mut res = render(
        StatusCode::OK,
        &IssuedPage {
            c: me.chrome("employees"),
            e: emp,
            qr,
            url,
            expires: format_jst(view.expires_at),
            hours: view.hours,
            revoked: view.revoked,
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
