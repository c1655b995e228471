//! The admin audit log: actions that are not about one employee's sign-in state.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::employees::Pager;
use super::view::{Chrome, PortalError, encode, page};
use super::{GET, Route, route};
use crate::services::clock::jst;
use crate::services::{detail, directory};

const PAGE_SIZE: i64 = 50;

pub fn routes() -> Vec<Route> {
    vec![route(GET, "/audit", list)]
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    before: Option<i64>,
}

pub struct AuditView {
    pub at: String,
    pub action: String,
    pub actor: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit/index.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditView>,
    /// Each action recorded so far and how it reads.
    actions: Vec<(String, String)>,
    action: String,
    pager: Pager,
}

/// How people read an audit action.
fn action_label(action: &str) -> (&str, &str) {
    match action {
        "employees_imported" => ("職員の一括取り込み", "Employees imported"),
        "policy_changed" => ("パスワード有効期限の設定変更", "Password policy changed"),
        "history_archived" => ("ログイン履歴のアーカイブ", "Login history archived"),
        "sheets_printed" => ("アカウントシートの一括印刷", "Account sheets printed"),
        "admin_created" => ("管理者の作成", "Administrator created"),
        "history_exported" => ("ログイン履歴の書き出し", "Login history exported"),
        other => (other, other),
    }
}

async fn list(me: Admin, query: web::Query<AuditQuery>) -> Result<HttpResponse, PortalError> {
    let action = query
        .action
        .clone()
        .filter(|a| !a.is_empty() && a.len() <= 64);
    let before = query.before;
    let (rows, actions) =
        directory::audit(&me.state, action.clone(), before, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let base = match &action {
        Some(a) => format!("/admin/audit?action={}", encode(a)),
        None => "/admin/audit".to_owned(),
    };
    let join = if action.is_some() { '&' } else { '?' };
    let shown: Vec<_> = rows.into_iter().take(PAGE_SIZE as usize).collect();
    let pager = Pager {
        prev: before.map(|_| base.clone()),
        next: if more {
            shown.last().map(|r| format!("{base}{join}before={}", r.id))
        } else {
            None
        },
        label: me.t("新しい順", "Newest first").to_owned(),
    };
    Ok(page(&AuditPage {
        c: me.chrome("audit"),
        rows: shown
            .into_iter()
            .map(|r| {
                let (ja, en) = action_label(&r.action);
                AuditView {
                    at: jst(&r.created_at),
                    action: me.lang.pick(ja, en).to_owned(),
                    actor: detail::actor(&r.actor_label.unwrap_or_default(), me.lang),
                    ip: r
                        .client_ip
                        .or_else(|| detail::ip_in(r.detail.as_deref()))
                        .unwrap_or_default(),
                    detail: detail::describe(r.detail.as_deref(), me.lang),
                }
            })
            .collect(),
        actions: actions
            .into_iter()
            .map(|a| {
                let (ja, en) = action_label(&a);
                let label = me.lang.pick(ja, en).to_owned();
                (a, label)
            })
            .collect(),
        action: action.unwrap_or_default(),
        pager,
    }))
}
