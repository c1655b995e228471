//! The password-expiry policy page: the policy, who changed it last, and the mail settings
//! that go with it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::view::{Chrome, PortalError, page, render, see_other};
use super::{GET, POST, Route, route};
use crate::domain::ExpiryPolicy;
use crate::domain::expiry::{LONG_LENGTH_MAX, LONG_LENGTH_MIN, MAX_EXPIRE_DAYS, RawPolicy};
use crate::services::clock::jst;
use crate::services::directory;
use crate::services::policy;
use crate::services::portal::actor;

pub fn routes() -> Vec<Route> {
    vec![route(GET, "/policy", show), route(POST, "/policy", save)]
}

#[derive(Deserialize, Default)]
struct PolicyForm {
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    warn_days: String,
    #[serde(default)]
    expire_days: String,
    #[serde(default)]
    long_exempt: String,
    #[serde(default)]
    long_length: String,
    /// `preview`: show what the change would do, save nothing.
    #[serde(default)]
    action: String,
}

impl PolicyForm {
    fn raw(&self) -> RawPolicy {
        RawPolicy {
            enabled: self.enabled == "1",
            warn_days: self.warn_days.chars().take(12).collect(),
            expire_days: self.expire_days.chars().take(12).collect(),
            long_exempt: self.long_exempt == "1",
            long_length: self.long_length.chars().take(12).collect(),
        }
    }
}

/// A message next to one field.
pub struct FieldError {
    pub field: &'static str,
    pub ja: String,
    pub en: String,
}

#[derive(Template)]
#[template(path = "admin/policy/index.html")]
struct PolicyPage {
    c: Chrome,
    form: RawPolicy,
    errors: Vec<FieldError>,
    changed: String,
    mail_on: bool,
    hr_email: String,
    digest: bool,
    spread_days: i32,
    max_expire: i32,
    long_min: i32,
    long_max: i32,
    preview: Option<Impact>,
}

/// What a proposed policy would do to active employees' passwords, beside what the policy in
/// force does.
pub struct Impact {
    pub expired_now: i64,
    pub expired_then: i64,
    pub soon_now: i64,
    pub soon_then: i64,
}

impl PolicyPage {
    fn error_for(&self, field: &str) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.field == field)
    }
}

fn raw_of(p: &ExpiryPolicy) -> RawPolicy {
    RawPolicy {
        enabled: p.enabled,
        warn_days: p.warn_days.to_string(),
        expire_days: p.expire_days.to_string(),
        long_exempt: p.long_exempt,
        long_length: p.long_length.to_string(),
    }
}

async fn policy_page(
    me: &Admin,
    form: RawPolicy,
    errors: Vec<FieldError>,
) -> Result<PolicyPage, PortalError> {
    let (stored, by) = directory::policy_with_author(&me.state).await?;
    let changed = match (stored.updated_at, by) {
        (Some(at), Some(by)) => format!("{} {}（{}）", jst(&at), by.name, by.employee_id),
        (Some(at), None) => jst(&at),
        _ => String::new(),
    };
    let s = &me.state.settings;
    Ok(PolicyPage {
        c: me.chrome("policy"),
        form,
        errors,
        changed,
        mail_on: me.state.mailer.enabled(),
        hr_email: s.mail.hr_email.clone().unwrap_or_default(),
        digest: s.mail.hr_lock_digest,
        spread_days: s.passwords.expiry_spread_days,
        max_expire: MAX_EXPIRE_DAYS,
        long_min: LONG_LENGTH_MIN,
        long_max: LONG_LENGTH_MAX,
        preview: None,
    })
}

async fn show(me: Admin) -> Result<HttpResponse, PortalError> {
    let current = directory::current_policy(&me.state).await?;
    Ok(page(&policy_page(&me, raw_of(&current), Vec::new()).await?))
}

/// Saves a valid form (303 with a message); an invalid one is shown again with every
/// problem beside its field and nothing written.
async fn save(me: Admin, form: web::Form<PolicyForm>) -> Result<HttpResponse, PortalError> {
    let raw = form.raw();
    let new = match ExpiryPolicy::parse(&raw) {
        Ok(p) => p,
        Err(problems) => {
            let errors = problems
                .into_iter()
                .map(|p| FieldError {
                    field: p.field,
                    ja: p.message_ja,
                    en: p.message_en,
                })
                .collect();
            let body = policy_page(&me, raw, errors).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &body));
        }
    };
    if form.action == "preview" {
        let ((soon_now, expired_now), (soon_then, expired_then)) =
            directory::expiry_impact(&me.state, new).await?;
        let mut body = policy_page(&me, raw, Vec::new()).await?;
        body.preview = Some(Impact {
            expired_now,
            expired_then,
            soon_now,
            soon_then,
        });
        return Ok(page(&body));
    }
    let changed = policy::update(&me.state, actor(&me.employee), me.client.clone(), new).await?;
    if changed == 0 {
        me.flash_ok("変更はありませんでした。", "Nothing changed.");
    } else {
        me.flash_ok(
            "パスワードの有効期限の設定を保存しました。すべてのサーバーにすぐ反映されます。",
            "The password expiry policy was saved; every server applies it at once.",
        );
    }
    Ok(see_other("/admin/policy"))
}
