//! One employee's page: who they are, their QR codes, their recent sign-in records.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::super::Admin;
use super::super::view::{Chrome, PortalError, page};
use super::{EmployeeView, load_employee};
use crate::db::models::OnetimeToken;
use crate::db::queries::directory::HistoryRow;
use crate::domain::EmployeeStatus;
use crate::services::clock::{format_jst_seconds, jst, to_utc};
use crate::services::history::Event;
use crate::services::{detail, directory};

pub struct TokenView {
    pub id: i64,
    pub issued: String,
    pub expires: String,
    pub state_ja: &'static str,
    pub state_en: &'static str,
    pub open: bool,
}

impl TokenView {
    fn of(t: &OnetimeToken, now: chrono::NaiveDateTime) -> Self {
        let (state_ja, state_en, open) = if t.used_at.is_some() {
            ("使用済み", "Used", false)
        } else if t.revoked_at.is_some() {
            ("無効", "Revoked", false)
        } else if t.expires_at <= now {
            ("期限切れ", "Expired", false)
        } else {
            ("有効", "Valid", true)
        };
        Self {
            id: t.id,
            issued: jst(&t.issued_at),
            expires: jst(&t.expires_at),
            state_ja,
            state_en,
            open,
        }
    }
}

pub struct EventView {
    pub at: String,
    pub label: String,
    pub ip: String,
    pub detail: String,
}

pub fn event_view(r: &HistoryRow, lang: crate::i18n::Lang) -> EventView {
    let label = match Event::parse(&r.event) {
        Some(e) => {
            let (ja, en) = e.label();
            lang.pick(ja, en).to_owned()
        }
        None => r.event.clone(),
    };
    EventView {
        // To the second: a lock and the failures before it fall within one minute.
        at: format_jst_seconds(to_utc(r.created_at)),
        label,
        ip: r.client_ip.clone().unwrap_or_default(),
        detail: detail::describe(r.detail.as_deref(), lang),
    }
}

#[derive(Template)]
#[template(path = "admin/employees/detail.html")]
struct DetailPage {
    c: Chrome,
    v: EmployeeView,
    tokens: Vec<TokenView>,
    events: Vec<EventView>,
    can_issue: bool,
    /// The admin may act on this account (its level is not above theirs).
    can_manage: bool,
    /// The page is the admin's own account.
    is_self: bool,
    factors: crate::services::mfa::Factors,
    totp_since: Option<String>,
    validity_options: Vec<(u32, &'static str, &'static str)>,
}

pub(super) async fn show(me: Admin, code: web::Path<String>) -> Result<HttpResponse, PortalError> {
    let emp = load_employee(&me, &code).await?;
    let id = emp.id;
    let (tokens, events, policy) = directory::employee_detail(&me.state, id).await?;
    let now = me.state.clock.now_naive();
    let can_manage = emp.permission_level <= me.employee.permission_level;
    let can_issue = emp.status() == EmployeeStatus::Active && can_manage;
    let is_self = emp.id == me.employee.id;
    let factors = crate::services::mfa::factors(&me.state, id).await?;
    Ok(page(&DetailPage {
        totp_since: factors.totp_since.map(crate::services::clock::format_jst),
        factors,
        c: me.chrome("employees"),
        tokens: tokens.iter().map(|t| TokenView::of(t, now)).collect(),
        events: events.iter().map(|r| event_view(r, me.lang)).collect(),
        v: EmployeeView::of(emp, now, &policy),
        can_issue,
        can_manage,
        is_self,
        validity_options: vec![
            (1, "1時間", "1 hour"),
            (24, "24時間", "24 hours"),
            (72, "72時間（3日）", "72 hours (3 days)"),
            (168, "7日間", "7 days"),
        ],
    }))
}
