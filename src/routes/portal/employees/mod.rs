//! Employees: the searchable, filtered list; each employee's page, their QR codes and unlocking
//! live beside it.

mod detail;
mod lifecycle;
mod tokens;
mod unlock;

pub use detail::event_view;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::view::{Chrome, PortalError, encode, page};
use super::{Admin, GET, POST, Route, route};
use crate::db::models::Employee;
use crate::db::queries::directory::{EmployeeFilter, ExpiryFilter};
use crate::domain::{EmployeeStatus, ExpiryPolicy};
use crate::services::clock::jst;
use crate::services::directory;
use crate::services::sessions::PasswordStatus;

const PAGE_SIZE: i64 = 50;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/employees", list),
        route(GET, "/employees/{code}", detail::show),
        route(POST, "/employees/{code}/tokens", tokens::issue),
        route(GET, "/employees/{code}/issued", tokens::show_issued),
        route(POST, "/employees/{code}/tokens/{id}/revoke", tokens::revoke),
        route(POST, "/employees/{code}/unlock", unlock::unlock),
        route(POST, "/employees/{code}/status", lifecycle::status),
        route(POST, "/employees/{code}/listing", lifecycle::listing),
        route(GET, "/locked", unlock::locked),
    ]
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    locked: Option<String>,
    must_change: Option<String>,
    no_password: Option<String>,
    never: Option<String>,
    status: Option<String>,
    expiry: Option<String>,
    page: Option<String>,
}

impl ListQuery {
    fn flag(v: &Option<String>) -> bool {
        v.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
    }

    fn filter(&self) -> EmployeeFilter {
        EmployeeFilter {
            q: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| q.chars().take(100).collect()),
            locked: Self::flag(&self.locked),
            must_change: Self::flag(&self.must_change),
            no_password: Self::flag(&self.no_password),
            never_signed_in: Self::flag(&self.never),
            status: self
                .status
                .as_deref()
                .filter(|s| ["active", "suspended", "retired"].contains(s))
                .map(str::to_owned),
            expiry: match self.expiry.as_deref() {
                Some("soon") => Some(ExpiryFilter::Soon),
                Some("expired") => Some(ExpiryFilter::Expired),
                _ => None,
            },
            policy: ExpiryPolicy::default(),
        }
    }

    /// The query string for this filter at another page.
    fn link(&self, f: &EmployeeFilter, page: i64) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &f.q {
            parts.push(format!("q={}", encode(q)));
        }
        for (on, name) in [
            (f.locked, "locked"),
            (f.must_change, "must_change"),
            (f.no_password, "no_password"),
            (f.never_signed_in, "never"),
        ] {
            if on {
                parts.push(format!("{name}=1"));
            }
        }
        if let Some(s) = &f.status {
            parts.push(format!("status={s}"));
        }
        match f.expiry {
            Some(ExpiryFilter::Soon) => parts.push("expiry=soon".into()),
            Some(ExpiryFilter::Expired) => parts.push("expiry=expired".into()),
            None => {}
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            "/admin/employees".into()
        } else {
            format!("/admin/employees?{}", parts.join("&"))
        }
    }
}

pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub label: String,
}

/// What the lists show about an employee's sign-in state.
pub struct EmployeeView {
    pub e: Employee,
    pub locked_until: Option<String>,
    /// When the password expires (JST), empty when it does not.
    pub password_expires: String,
    pub password_expired: bool,
    pub last_login: String,
    pub state_ja: &'static str,
    pub state_en: &'static str,
    pub state_class: &'static str,
}

impl EmployeeView {
    pub fn of(e: Employee, now: chrono::NaiveDateTime, policy: &ExpiryPolicy) -> Self {
        let locked_until = e.locked_until.filter(|t| *t > now).as_ref().map(jst);
        let password = PasswordStatus::of(&e, policy, now);
        let (state_ja, state_en, state_class) = match e.status() {
            EmployeeStatus::Suspended => ("停止中", "Suspended", "muted"),
            EmployeeStatus::Retired => ("退職", "Retired", "muted"),
            EmployeeStatus::Active if locked_until.is_some() => ("ロック中", "Locked", "alert"),
            EmployeeStatus::Active if e.password_hash.is_none() => {
                ("パスワード未設定", "No password yet", "warn")
            }
            EmployeeStatus::Active if e.password_must_change => {
                ("初期パスワード", "Must change password", "warn")
            }
            EmployeeStatus::Active if password.expired => {
                ("パスワード期限切れ", "Password expired", "warn")
            }
            EmployeeStatus::Active => ("利用中", "Active", "ok"),
        };
        Self {
            last_login: e.last_login_at.as_ref().map(jst).unwrap_or_default(),
            locked_until,
            password_expires: password
                .expires_at
                .map(|t| jst(&t.naive_utc()))
                .unwrap_or_default(),
            password_expired: password.expired,
            state_ja,
            state_en,
            state_class,
            e,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/employees/list.html")]
struct ListPage {
    c: Chrome,
    f: EmployeeFilter,
    rows: Vec<EmployeeView>,
    total: i64,
    pager: Pager,
    status: String,
    expiry: &'static str,
}

async fn list(me: Admin, query: web::Query<ListQuery>) -> Result<HttpResponse, PortalError> {
    let f = query.filter();
    let page_no = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let now = me.state.clock.now_naive();
    let (rows, total, policy) =
        directory::search_employees(&me.state, f.clone(), (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
            .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let pager = Pager {
        prev: (page_no > 1).then(|| query.link(&f, page_no - 1)),
        next: (page_no < pages).then(|| query.link(&f, page_no + 1)),
        label: format!("{page_no} / {pages}"),
    };
    Ok(page(&ListPage {
        c: me.chrome("employees"),
        status: f.status.clone().unwrap_or_default(),
        expiry: match f.expiry {
            Some(ExpiryFilter::Soon) => "soon",
            Some(ExpiryFilter::Expired) => "expired",
            None => "",
        },
        f,
        rows: rows
            .into_iter()
            .map(|e| EmployeeView::of(e, now, &policy))
            .collect(),
        total,
        pager,
    }))
}

pub(super) async fn load_employee(me: &Admin, code: &str) -> Result<Employee, PortalError> {
    directory::employee_by_code(&me.state, code)
        .await?
        .ok_or(PortalError::NotFound)
}
