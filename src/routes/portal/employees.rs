//! Employees: search and filters, the detail page, QR issue / revoke, unlock.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::view::{Chrome, PortalError, encode, jst, page, render, see_other};
use crate::db::models::{Employee, OnetimeToken};
use crate::db::queries::directory::{
    self, EmployeeFilter, ExpiryFilter, HistoryFilter, HistoryRow,
};
use crate::db::queries::employees as employee_rows;
use crate::db::{self, DbError};
use crate::domain::{EmployeeId, EmployeeStatus, ExpiryPolicy, TokenPurpose, ValidityHours};
use crate::services::auth;
use crate::services::auth_error::AuthError;
use crate::services::clock::JST;
use crate::services::history::Event;
use crate::services::policy;
use crate::services::portal::actor;
use crate::services::sessions::PasswordStatus;
use crate::services::tokens;

const PAGE_SIZE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/employees", web::get().to(list))
        .route("/employees/{code}", web::get().to(detail))
        .route("/employees/{code}/tokens", web::post().to(issue))
        .route(
            "/employees/{code}/tokens/{id}/revoke",
            web::post().to(revoke),
        )
        .route("/employees/{code}/unlock", web::post().to(unlock))
        .route("/locked", web::get().to(locked));
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
    let mut f2 = f.clone();
    let st = me.state.clone();
    let (rows, total, policy) = db::run(&me.state.pool, move |conn| {
        f2.policy = policy::current(conn, &st.settings)?;
        let (rows, total) =
            directory::search_employees(conn, &f2, now, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)?;
        Ok::<_, DbError>((rows, total, f2.policy))
    })
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
        at: jst(&r.created_at),
        label,
        ip: r.client_ip.clone().unwrap_or_default(),
        detail: r.detail.clone().unwrap_or_default(),
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
    validity_options: Vec<(u32, &'static str, &'static str)>,
}

async fn load_employee(me: &Admin, code: &str) -> Result<Employee, PortalError> {
    let code = code.to_owned();
    db::run(&me.state.pool, move |conn| {
        employee_rows::find_by_code(conn, &code).map_err(DbError::from)
    })
    .await?
    .ok_or(PortalError::NotFound)
}

async fn detail(me: Admin, code: web::Path<String>) -> Result<HttpResponse, PortalError> {
    let emp = load_employee(&me, &code).await?;
    let id = emp.id;
    let st = me.state.clone();
    let (tokens, events, policy) = db::run(&me.state.pool, move |conn| {
        let policy = policy::current(conn, &st.settings)?;
        let tokens = directory::tokens_of(conn, id, 10)?;
        let events = directory::history_page(
            conn,
            &HistoryFilter {
                employee: Some(id),
                ..HistoryFilter::default()
            },
            None,
            20,
        )?;
        Ok::<_, DbError>((tokens, events, policy))
    })
    .await?;
    let now = me.state.clock.now_naive();
    let can_issue = emp.status() == EmployeeStatus::Active
        && emp.permission_level <= me.employee.permission_level;
    Ok(page(&DetailPage {
        c: me.chrome("employees"),
        tokens: tokens.iter().map(|t| TokenView::of(t, now)).collect(),
        events: events.iter().map(|r| event_view(r, me.lang)).collect(),
        v: EmployeeView::of(emp, now, &policy),
        can_issue,
        validity_options: vec![
            (1, "1時間", "1 hour"),
            (24, "24時間", "24 hours"),
            (72, "72時間（3日）", "72 hours (3 days)"),
            (168, "7日間", "7 days"),
        ],
    }))
}

#[derive(Deserialize)]
struct IssueForm {
    #[serde(default)]
    csrf: String,
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
async fn issue(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<IssueForm>,
) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
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
        Err(AuthError::Disabled) => {
            me.flash_error(
                "在籍中でない職員にはQRコードを発行できません。",
                "QR codes can only be issued to active employees.",
            );
            return Ok(see_other(&back));
        }
        Err(AuthError::Forbidden) => {
            me.flash_error(
                "ご自身より権限レベルの高いアカウントのQRコードは発行できません。",
                "You cannot issue a QR code for an account with a higher permission level than yours.",
            );
            return Ok(see_other(&back));
        }
        Err(e) => return Err(e.into()),
    };
    let emp = load_employee(&me, &code).await?;
    let mut res = render(
        StatusCode::OK,
        &IssuedPage {
            c: me.chrome("employees"),
            e: emp,
            qr: issued.qr_data_url.clone(),
            url: issued.login_url.clone(),
            expires: issued
                .expires_at
                .with_timezone(&JST)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            hours: validity.hours(),
            revoked: issued.revoked_count,
        },
    );
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store, private"));
    Ok(res)
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn revoke(
    me: Admin,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    let (code, token_id) = path.into_inner();
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
        Err(AuthError::Forbidden) => false,
        other => other?,
    };
    if revoked {
        me.flash_ok("QRコードを無効にしました。", "The QR code was revoked.");
    } else {
        me.flash_error(
            "このQRコードはすでに使用済み・無効・期限切れです。",
            "This QR code was already used, revoked or expired.",
        );
    }
    Ok(see_other(&format!("/admin/employees/{}", encode(&code))))
}

#[derive(Deserialize)]
struct UnlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    back: String,
}

async fn unlock(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<UnlockForm>,
) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    let back = if form.back == "locked" {
        "/admin/locked".to_owned()
    } else {
        format!("/admin/employees/{}", encode(&code))
    };
    let reason = match auth::parse_reason(&form.reason) {
        Ok(r) => r,
        Err(e) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other(&back));
        }
    };
    if form.confirm != "yes" {
        me.flash_error(
            "確認のチェックを入れてから解除してください。",
            "Tick the confirmation box to unlock.",
        );
        return Ok(see_other(&back));
    }
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    let done = match auth::unlock(
        &me.state,
        actor(&me.employee),
        employee_id,
        reason,
        me.client.clone(),
    )
    .await
    {
        Ok(done) => done,
        Err(AuthError::Forbidden) => {
            me.flash_error(
                "ご自身より権限レベルの高いアカウントは解除できません。",
                "You cannot unlock an account with a higher permission level than yours.",
            );
            return Ok(see_other(&back));
        }
        Err(e) => return Err(e.into()),
    };
    if done.was_locked {
        me.flash_ok(
            &format!(
                "{} のロックを解除しました。すぐにサインインできます。",
                done.employee_id
            ),
            &format!("{} was unlocked and can sign in now.", done.employee_id),
        );
    } else {
        me.flash_ok(
            &format!(
                "{} はロックされていませんでした。失敗回数をリセットしました。",
                done.employee_id
            ),
            &format!(
                "{} was not locked; the failure count was reset.",
                done.employee_id
            ),
        );
    }
    Ok(see_other(&back))
}

#[derive(Template)]
#[template(path = "admin/locked/index.html")]
struct LockedPage {
    c: Chrome,
    rows: Vec<EmployeeView>,
}

async fn locked(me: Admin) -> Result<HttpResponse, PortalError> {
    let now = me.state.clock.now_naive();
    let st = me.state.clone();
    let (rows, policy) = db::run(&me.state.pool, move |conn| {
        let policy = policy::current(conn, &st.settings)?;
        Ok::<_, DbError>((directory::locked_employees(conn, now, 500)?, policy))
    })
    .await?;
    Ok(page(&LockedPage {
        c: me.chrome("locked"),
        rows: rows
            .into_iter()
            .map(|e| EmployeeView::of(e, now, &policy))
            .collect(),
    }))
}
