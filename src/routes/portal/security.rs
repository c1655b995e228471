//! The admin's own second factors: the authenticator app, recovery codes (how many are left,
//! a new set), and passkeys.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{codes_page, enrol_view};
use super::guard::Admin;
use super::view::{self, Chrome, PortalError, see_other};
use super::{GET, POST, Route, route};
use crate::domain::SecondCode;
use crate::services::clock::{format_jst, to_utc};
use crate::services::mfa::{self, Factors};

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/security", page),
        route(POST, "/security/recovery-codes", regenerate),
        route(POST, "/security/totp/remove", remove_totp),
        route(GET, "/security/totp", enrol),
    ]
}

#[derive(Template)]
#[template(path = "admin/security/index.html")]
struct SecurityPage {
    c: Chrome,
    factors: Factors,
    totp_since: Option<String>,
    required: bool,
    passkeys: Vec<PasskeyView>,
    /// The public URL has a domain name, so browsers accept it as a relying party.
    passkeys_available: bool,
}

/// One passkey as listed: its name and when it was registered and last used (JST).
struct PasskeyView {
    id: i64,
    label: String,
    created_at: String,
    last_used_at: Option<String>,
}

async fn page(me: Admin) -> Result<HttpResponse, PortalError> {
    let factors = mfa::factors(&me.state, me.employee.id).await?;
    let passkeys = mfa::passkeys::list(&me.state, me.employee.id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            label: p.label,
            created_at: format_jst(to_utc(p.created_at)),
            last_used_at: p.last_used_at.map(|t| format_jst(to_utc(t))),
        })
        .collect();
    Ok(view::page(&SecurityPage {
        passkeys,
        passkeys_available: mfa::passkeys::available(&me.state),
        c: me.chrome("security"),
        totp_since: factors.totp_since.map(format_jst),
        required: me.state.settings.mfa.admin_required(),
        factors,
    }))
}

async fn enrol(me: Admin) -> Result<HttpResponse, PortalError> {
    enrol_view(&me, actix_web::http::StatusCode::OK, None).await
}

async fn regenerate(me: Admin, form: web::Form<CodeForm>) -> Result<HttpResponse, PortalError> {
    let code = match SecondCode::parse(&form.code, "code") {
        Ok(c) => c,
        Err(e) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other("/admin/security"));
        }
    };
    let issued =
        mfa::regenerate_recovery_codes(&me.state, me.employee.clone(), code, me.client.clone())
            .await;
    match issued {
        Ok(codes) => Ok(codes_page(&me, &codes, "/admin/security", false)),
        Err(e) => Ok(me.refused(e, "/admin/security")),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn remove_totp(me: Admin, form: web::Form<CodeForm>) -> Result<HttpResponse, PortalError> {
    let code = match SecondCode::parse(&form.code, "code") {
        Ok(c) => c,
        Err(e) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other("/admin/security"));
        }
    };
    match mfa::remove_totp(&me.state, me.employee.clone(), code, me.client.clone()).await {
        Ok(()) => {
            me.flash_ok(
                "認証アプリの設定を解除しました。",
                "The authenticator app was removed.",
            );
            Ok(see_other("/admin/security"))
        }
        Err(e) => Ok(me.refused(e, "/admin/security")),
    }
}
