//! Second-factor resets at the portal: resetting another account's factors (from its employee
//! page) and the reset log, where a reset is rolled back within its window.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::Admin;
use super::view::{self, Chrome, PortalError, see_other};
use super::{GET, POST, Route, route};
use crate::domain::EmployeeId;
use crate::services::auth;
use crate::services::clock::{format_jst, to_utc};
use crate::services::mfa::reset::{self, IfEnrolledSince};

pub fn routes() -> Vec<Route> {
    vec![
        route(POST, "/employees/{code}/mfa-reset", reset_one),
        route(GET, "/mfa-resets", log),
        route(POST, "/mfa-resets/{id}/rollback", rollback),
    ]
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    replace: String,
}

async fn reset_one(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, PortalError> {
    let back = format!("/admin/employees/{}", urlencode(&code));
    if form.confirm != "yes" {
        me.flash_error(
            "本人確認のチェックを入れてください。",
            "Tick the identity confirmation.",
        );
        return Ok(see_other(&back));
    }
    if form.reason.trim().is_empty() {
        me.flash_error(
            "リセットの理由を入力してください。",
            "A reason for the reset is required.",
        );
        return Ok(see_other(&back));
    }
    let (id, reason) = match (EmployeeId::parse(&code), auth::parse_reason(&form.reason)) {
        (Ok(id), Ok(reason)) => (id, reason),
        (Err(e), _) | (_, Err(e)) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other(&back));
        }
    };
    match reset::reset(
        &me.state,
        crate::services::portal::actor(&me.employee),
        id,
        reason,
        me.client.clone(),
    )
    .await
    {
        Ok(done) => {
            me.flash_ok(
                &format!(
                    "{} の二要素認証をリセットしました（記録 #{}）。本人は次回のサインインで設定し直します。",
                    done.employee_id, done.id
                ),
                &format!(
                    "The second factor of {} was reset (record #{}); they set it up again at the next sign-in.",
                    done.employee_id, done.id
                ),
            );
            Ok(see_other(&back))
        }
        Err(e) => Ok(me.refused(e, &back)),
    }
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One row of the reset log as the page shows it.
pub struct ResetView {
    pub id: i64,
    pub at: String,
    pub target: String,
    pub actor: String,
    pub reason: String,
    /// Can be rolled back until (JST), while its payload is kept.
    pub open_until: Option<String>,
    pub rolled_back: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/mfa_resets/index.html")]
struct LogPage {
    c: Chrome,
    rows: Vec<ResetView>,
    days: i64,
}

async fn log(me: Admin) -> Result<HttpResponse, PortalError> {
    let rows = reset::log(&me.state, 200).await?;
    let views = rows
        .into_iter()
        .map(|r| ResetView {
            id: r.id,
            at: format_jst(to_utc(r.created_at)),
            target: r.target_code,
            actor: r.actor_label,
            reason: r.reason,
            open_until: r
                .sealed_payload
                .as_ref()
                .map(|_| format_jst(reset::window_closes(&me.state.settings, r.created_at))),
            rolled_back: r.rolled_back_at.map(|t| {
                format!(
                    "{} {}",
                    format_jst(to_utc(t)),
                    r.rolled_back_by_label.unwrap_or_default()
                )
            }),
        })
        .collect();
    Ok(view::page(&LogPage {
        c: me.chrome("security"),
        rows: views,
        days: me.state.settings.mfa.rollback_days,
    }))
}

async fn rollback(
    me: Admin,
    id: web::Path<i64>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, PortalError> {
    let back = "/admin/mfa-resets";
    if form.confirm != "yes" {
        me.flash_error("確認のチェックを入れてください。", "Tick the confirmation.");
        return Ok(see_other(back));
    }
    if form.reason.trim().is_empty() {
        me.flash_error(
            "取り消しの理由を入力してください。",
            "A reason for the rollback is required.",
        );
        return Ok(see_other(back));
    }
    let reason = match auth::parse_reason(&form.reason) {
        Ok(r) => r,
        Err(e) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other(back));
        }
    };
    let since = if form.replace == "yes" {
        IfEnrolledSince::Replace
    } else {
        IfEnrolledSince::Refuse
    };
    match reset::rollback(
        &me.state,
        crate::services::portal::actor(&me.employee),
        *id,
        reason,
        since,
        me.client.clone(),
    )
    .await
    {
        Ok(code) => {
            me.flash_ok(
                &format!("{code} の二要素認証をリセット前の設定に戻しました。"),
                &format!("The second factor of {code} is back as it was before the reset."),
            );
            Ok(see_other(back))
        }
        Err(e) => Ok(me.refused(e, back)),
    }
}
