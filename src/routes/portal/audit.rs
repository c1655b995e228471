//! The admin audit log: actions that are not about one employee's sign-in state.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::employees::Pager;
use super::period::{Period, csv_line};
use super::view::{Chrome, PortalError, encode, page, see_other};
use super::{GET, Route, route};
use crate::db::queries::directory::{AuditFilter, AuditRow};
use crate::i18n::Lang;
use crate::services::clock::{file_stamp, jst};
use crate::services::{detail, directory};

const PAGE_SIZE: i64 = 50;
/// The most entries one export holds (the audit log grows by a few a day).
const EXPORT_MAX: i64 = 100_000;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/audit", list),
        route(GET, "/audit/export.csv", export),
    ]
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

impl AuditQuery {
    /// The filter, and what was wrong with the dates.
    fn filter(&self, lang: Lang) -> (AuditFilter, Vec<String>) {
        let period = Period::parse(self.from.as_deref(), self.to.as_deref(), lang);
        let filter = AuditFilter {
            action: self
                .action
                .clone()
                .filter(|a| !a.is_empty() && a.len() <= 64),
            from: period.from,
            until: period.until,
        };
        (filter, period.problems)
    }

    /// The filter as a query string (for the pager and the export link).
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.join("&")
    }
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
    from: String,
    to: String,
    problems: Vec<String>,
    export: String,
    pager: Pager,
}

/// How people read an audit action.
fn action_label(action: &str) -> (&str, &str) {
    match action {
        "employees_imported" => ("職員の一括取り込み", "Employees imported"),
        "policy_changed" => ("パスワード有効期限の設定変更", "Password policy changed"),
        "history_archived" => ("サインイン履歴のアーカイブ", "Sign-in history archived"),
        "sheets_printed" => ("アカウントシートの一括印刷", "Account sheets printed"),
        "admin_created" => ("管理者の作成", "Administrator created"),
        "history_exported" => ("サインイン履歴の書き出し", "Sign-in history exported"),
        "audit_exported" => ("操作記録の書き出し", "Audit log exported"),
        other => (other, other),
    }
}

fn view(r: AuditRow, lang: Lang) -> AuditView {
    let (ja, en) = action_label(&r.action);
    AuditView {
        at: jst(&r.created_at),
        action: lang.pick(ja, en).to_owned(),
        actor: detail::actor(&r.actor_label.unwrap_or_default(), lang),
        ip: r
            .client_ip
            .or_else(|| detail::ip_in(r.detail.as_deref()))
            .unwrap_or_default(),
        detail: detail::describe(r.detail.as_deref(), lang),
    }
}

async fn list(me: Admin, query: web::Query<AuditQuery>) -> Result<HttpResponse, PortalError> {
    let q = query.into_inner();
    let (filter, problems) = q.filter(me.lang);
    let before = q.before;
    let (rows, actions) = if problems.is_empty() {
        directory::audit(&me.state, filter.clone(), before, PAGE_SIZE + 1).await?
    } else {
        (
            Vec::new(),
            directory::audit(&me.state, filter.clone(), None, 0)
                .await?
                .1,
        )
    };
    let more = rows.len() as i64 > PAGE_SIZE;
    let qs = q.query_string();
    let base = if qs.is_empty() {
        "/admin/audit".to_owned()
    } else {
        format!("/admin/audit?{qs}")
    };
    let join = if qs.is_empty() { '?' } else { '&' };
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
        rows: shown.into_iter().map(|r| view(r, me.lang)).collect(),
        actions: actions
            .into_iter()
            .map(|a| {
                let (ja, en) = action_label(&a);
                let label = me.lang.pick(ja, en).to_owned();
                (a, label)
            })
            .collect(),
        action: filter.action.unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        problems,
        export: format!(
            "/admin/audit/export.csv{}",
            if qs.is_empty() {
                String::new()
            } else {
                format!("?{qs}")
            }
        ),
        pager,
    }))
}

/// The matching entries (newest first, at most `EXPORT_MAX`) as CSV, UTF-8 with a BOM for
/// Excel: readable details and, for tools, the recorded JSON. Taking a copy is recorded too.
async fn export(me: Admin, query: web::Query<AuditQuery>) -> Result<HttpResponse, PortalError> {
    let q = query.into_inner();
    let (filter, problems) = q.filter(me.lang);
    if !problems.is_empty() {
        me.flash_error(&problems.join(" "), &problems.join(" "));
        return Ok(see_other(&format!("/admin/audit?{}", q.query_string())));
    }
    let detail = serde_json::json!({ "action": q.action, "from": q.from, "to": q.to });
    directory::record_audit(&me.state, "audit_exported", &me.employee, detail).await?;
    let (rows, _) = directory::audit(&me.state, filter, None, EXPORT_MAX).await?;
    let lang = me.lang;
    let mut out = String::from("\u{feff}");
    csv_line(
        &mut out,
        &match lang {
            Lang::Ja => [
                "日時（JST）",
                "操作コード",
                "操作",
                "実行者",
                "IPアドレス",
                "詳細",
                "詳細（JSON）",
            ],
            Lang::En => [
                "Time (JST)",
                "Action code",
                "Action",
                "By",
                "IP address",
                "Detail",
                "Detail (JSON)",
            ],
        },
    );
    for r in rows {
        let (code, raw) = (r.action.clone(), r.detail.clone().unwrap_or_default());
        let v = view(r, lang);
        csv_line(
            &mut out,
            &[&v.at, &code, &v.action, &v.actor, &v.ip, &v.detail, &raw],
        );
    }
    let stamp = file_stamp(me.state.clock.now());
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-log-{stamp}.csv\""),
        ))
        .body(out))
}
