//! Portal sign-in and sign-out, my sessions, my password, the language switch.

use actix_session::{Session, SessionExt};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::guard::{LANG_COOKIE, lang_of};
use super::view::{self, Chrome, PortalError, jst, page, render, see_other};
use super::{Admin, SignedIn, cookie_secure, keys};
use crate::db;
use crate::db::queries::portal_sessions;
use crate::domain::{EmployeeId, Password, random_hex};
use crate::i18n::Lang;
use crate::routes::extract::client_info;
use crate::services::auth::{self, AuthError};
use crate::services::clock::{JST, to_utc};
use crate::services::passwords::Violation;
use crate::services::portal::{self, Step};
use crate::state::AppState;

const LOGIN_COOKIE: &str = "staffgate_login";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/sessions", web::get().to(sessions))
        .route("/sessions/end-others", web::post().to(end_others))
        .route("/sessions/end", web::post().to(end_one))
        .route("/password", web::get().to(password_page))
        .route("/password", web::post().to(change_password))
        .route("/lang/{code}", web::get().to(switch_language));
}

#[derive(Template)]
#[template(path = "admin/auth/login.html")]
struct LoginPage {
    lang_code: &'static str,
    lang: Lang,
    csrf: String,
    next: String,
    employee_id: String,
    error: Option<String>,
    expired: bool,
}

impl LoginPage {
    fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    locked: Option<String>,
}

/// Sign-in happens before there is a session, so its form is protected by a double-submit
/// cookie: a random value in a strict, HttpOnly cookie that the form must repeat.
fn login_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, value)
        .path("/admin/login")
        .http_only(true)
        .secure(cookie_secure(&state.settings.public_url))
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(2))
        .finish()
}

fn render_login(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    next: String,
    employee_id: String,
    error: Option<String>,
    expired: bool,
) -> Result<HttpResponse, PortalError> {
    let lang = lang_of(req);
    let csrf = match req.cookie(LOGIN_COOKIE) {
        Some(c) if c.value().len() == 64 => c.value().to_owned(),
        _ => random_hex(32),
    };
    let mut res = render(
        status,
        &LoginPage {
            lang_code: if lang == Lang::En { "en" } else { "ja" },
            lang,
            csrf: csrf.clone(),
            next,
            employee_id,
            error,
            expired,
        },
    );
    res.add_cookie(&login_cookie(state, csrf))
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}

async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PortalError> {
    let next = view::safe_next(query.next.as_deref());
    if req
        .get_session()
        .get::<i64>(keys::EMPLOYEE)
        .ok()
        .flatten()
        .is_some()
    {
        return Ok(see_other(&next));
    }
    // Signed out because the current password was wrong too often: say until when.
    let locked = query
        .locked
        .as_deref()
        .filter(|t| t.len() == 5 && t.chars().all(|c| c.is_ascii_digit() || c == ':'))
        .map(|at| {
            lang_of(&req)
                .pick(
                    &format!("パスワードを続けて間違えたため、アカウントがロックされました。{at}以降にもう一度サインインしてください。"),
                    &format!("The account was locked after repeated wrong passwords. Sign in again after {at} (JST)."),
                )
                .to_owned()
        });
    render_login(
        &req,
        &state,
        StatusCode::OK,
        next,
        String::new(),
        locked,
        query.expired.is_some(),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    employee_id: String,
    #[serde(default)]
    password: String,
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let csrf_ok = expected.is_some_and(|e| {
        !form.csrf.is_empty() && bool::from(e.as_bytes().ct_eq(form.csrf.as_bytes()))
    });
    if !csrf_ok {
        return Err(PortalError::Csrf);
    }
    let lang = lang_of(&req);
    let next = view::safe_next(Some(&form.next));
    let typed_id = form.employee_id.trim().to_owned();
    let refuse = |status: StatusCode, ja: &str, en: &str| {
        render_login(
            &req,
            &state,
            status,
            next.clone(),
            typed_id.clone(),
            Some(lang.pick(ja, en).to_owned()),
            false,
        )
    };
    let (Ok(employee_id), Ok(password)) = (
        EmployeeId::parse(&form.employee_id),
        Password::parse(form.password, "password"),
    ) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "社員IDまたはパスワードが違います。",
            "The employee ID or password is wrong.",
        );
    };
    let client = client_info(&req, state.settings.trust_proxy_headers);
    let (employee, step) = match portal::sign_in(&state, employee_id, password, client.clone())
        .await
    {
        Ok(ok) => ok,
        Err(AuthError::InvalidCredentials | AuthError::Disabled) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "社員IDまたはパスワードが違います。",
                "The employee ID or password is wrong.",
            );
        }
        Err(AuthError::Locked { until }) => {
            let at = until.with_timezone(&JST).format("%H:%M").to_string();
            return refuse(
                StatusCode::LOCKED,
                &format!(
                    "パスワードを続けて間違えたため、アカウントがロックされています。{at}以降にもう一度お試しいただくか、ほかの管理者に解除を依頼してください。"
                ),
                &format!(
                    "This account is locked after repeated wrong passwords. Try again after {at} (JST), or ask another administrator to unlock it."
                ),
            );
        }
        Err(AuthError::RateLimited { retry_after }) => {
            let minutes = (retry_after + 59) / 60;
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "試行回数が多すぎます。{minutes}分ほど待ってから、もう一度お試しください。"
                ),
                &format!("Too many attempts. Please wait about {minutes} minutes and try again."),
            );
        }
        Err(AuthError::Forbidden) => return Err(PortalError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    start_session(&session, &state, &employee.id, step, &client)?;
    let mut res = see_other(match step {
        Step::PasswordChange => "/admin/password",
        Step::Complete => &next,
    });
    let mut gone = login_cookie(&state, String::new());
    gone.make_removal();
    res.add_cookie(&gone)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}

/// A fresh session id (no fixation), a fresh CSRF token and a fresh reference.
fn start_session(
    session: &Session,
    state: &AppState,
    employee: &i64,
    step: Step,
    client: &crate::services::ClientInfo,
) -> Result<(), PortalError> {
    session.renew();
    session.clear();
    let internal = |e: actix_session::SessionInsertError| PortalError::Internal(e.to_string());
    session.insert(keys::EMPLOYEE, employee).map_err(internal)?;
    session
        .insert(keys::SESSION_REF, random_hex(16))
        .map_err(internal)?;
    session
        .insert(keys::CSRF, random_hex(32))
        .map_err(internal)?;
    session
        .insert(keys::STEP, step.as_str())
        .map_err(internal)?;
    session
        .insert(keys::AUTH_AT, state.clock.now().timestamp_micros())
        .map_err(internal)?;
    session.insert(keys::IP, &client.ip).map_err(internal)?;
    if let Some(ua) = &client.user_agent {
        session.insert(keys::USER_AGENT, ua).map_err(internal)?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(me: SignedIn, form: web::Form<CsrfOnly>) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    portal::signed_out(
        &me.state,
        me.employee.clone(),
        me.client.clone(),
        "sign_out",
    )
    .await?;
    me.session.purge();
    Ok(see_other("/admin/login"))
}

struct SessionView {
    reference: String,
    device: String,
    ip: String,
    created: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/auth/sessions.html")]
struct SessionsPage {
    c: Chrome,
    sessions: Vec<SessionView>,
}

/// A short, human name for a browser from its user agent.
pub fn device_label(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "—".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Chrome/", "Chrome"),
        ("Firefox/", "Firefox"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} / {o}"),
        (Some(b), None) => b.into(),
        (None, Some(o)) => o.into(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

async fn sessions(me: Admin) -> Result<HttpResponse, PortalError> {
    let st = me.state.clone();
    let id = me.employee.id;
    let rows = db::run(&me.state.pool, move |conn| {
        portal_sessions::list_live(conn, id, st.clock.now_naive()).map_err(db::DbError::from)
    })
    .await?;
    let sessions = rows
        .into_iter()
        .map(|s| SessionView {
            current: s.session_ref.as_deref() == Some(me.session_ref.as_str()),
            reference: s.session_ref.unwrap_or_default(),
            device: device_label(s.user_agent.as_deref()),
            ip: s.client_ip.unwrap_or_default(),
            created: jst(&s.created_at),
            last_seen: jst(&s.last_seen_at),
        })
        .collect();
    Ok(page(&SessionsPage {
        c: me.chrome("sessions"),
        sessions,
    }))
}

async fn end_others(me: Admin, form: web::Form<CsrfOnly>) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    let n = portal::end_sessions(
        &me.state,
        me.employee.clone(),
        me.session_ref.clone(),
        None,
        me.client.clone(),
    )
    .await?;
    me.flash_ok(
        &format!("ほかの端末のセッションを{n}件終了しました。"),
        &format!("Ended {n} other session(s)."),
    );
    Ok(see_other("/admin/sessions"))
}

#[derive(Deserialize)]
struct EndOne {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
}

async fn end_one(me: Admin, form: web::Form<EndOne>) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    let n = portal::end_sessions(
        &me.state,
        me.employee.clone(),
        me.session_ref.clone(),
        Some(form.session.clone()),
        me.client.clone(),
    )
    .await?;
    if n == 1 {
        me.flash_ok("セッションを終了しました。", "The session was ended.");
    } else {
        me.flash_error(
            "そのセッションはすでに終了しています。",
            "That session has already ended.",
        );
    }
    Ok(see_other("/admin/sessions"))
}

#[derive(Template)]
#[template(path = "admin/auth/password.html")]
struct PasswordPage {
    c: Chrome,
    must_change: bool,
    /// The change is owed because the password expired (not an initial one).
    expired: bool,
    errors: Vec<String>,
    min_length: usize,
    hint: String,
}

fn password_page_for(me: &SignedIn, errors: Vec<String>) -> PasswordPage {
    let min = me.state.settings.password_min_length;
    PasswordPage {
        c: me.chrome("password"),
        must_change: me.step == Step::PasswordChange,
        expired: me.step == Step::PasswordChange && !me.employee.password_must_change,
        errors,
        min_length: min,
        hint: me
            .t(
                &format!("{min}文字以上、72バイト以内。社員IDを含むもの、よく使われるものは使えません。"),
                &format!("At least {min} characters, at most 72 bytes; not containing your employee ID, not a common password."),
            )
            .to_owned(),
    }
}

async fn password_page(me: SignedIn) -> Result<HttpResponse, PortalError> {
    Ok(page(&password_page_for(&me, Vec::new())))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn change_password(
    me: SignedIn,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PortalError> {
    me.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let again = |errors: Vec<String>| {
        Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &password_page_for(&me, errors),
        ))
    };
    if form.new_password != form.confirm_password {
        return again(vec![
            me.t(
                "確認用のパスワードが一致しません。",
                "The two new passwords do not match.",
            )
            .to_owned(),
        ]);
    }
    let (current, new) = match (
        Password::parse(form.current_password, "currentPassword"),
        Password::parse(form.new_password, "newPassword"),
    ) {
        (Ok(c), Ok(n)) => (c, n),
        (Err(e), _) | (_, Err(e)) => {
            return again(vec![me.t(&e.message_ja, &e.message_en).to_owned()]);
        }
    };
    let result = auth::change_password_of(
        &me.state,
        me.employee.clone(),
        false,
        Some(current),
        new,
        me.client.clone(),
        |_, _, fresh, _| Ok(fresh.clone()),
    )
    .await;
    match result {
        Ok(fresh) => {
            // Every session of the account ended with the change; this one continues anew.
            start_session(
                &me.session,
                &me.state,
                &fresh.id,
                Step::Complete,
                &me.client,
            )?;
            me.flash_ok(
                "パスワードを変更しました。ほかの端末はサインアウトしました。",
                "Your password was changed. Your other sessions were signed out.",
            );
            Ok(see_other("/admin"))
        }
        Err(AuthError::Policy(violations)) => again(
            violations
                .iter()
                .map(|v: &Violation| match me.lang {
                    Lang::Ja => v.message_ja(),
                    Lang::En => v.message_en(),
                })
                .collect(),
        ),
        Err(AuthError::InvalidCredentials) => again(vec![
            me.t(
                "現在のパスワードが違います。",
                "The current password is wrong.",
            )
            .to_owned(),
        ]),
        Err(AuthError::Locked { until }) => {
            let at = to_utc(until.naive_utc())
                .with_timezone(&JST)
                .format("%H:%M");
            me.session.purge();
            Err(PortalError::SignIn {
                next: format!("/admin/login?locked={at}"),
                expired: false,
            })
        }
        Err(AuthError::RateLimited { .. }) => again(vec![
            me.t(
                "試行回数が多すぎます。しばらく待ってから、もう一度お試しください。",
                "Too many attempts. Please wait a while and try again.",
            )
            .to_owned(),
        ]),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn switch_language(
    code: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, PortalError> {
    let code = match code.as_str() {
        "en" => "en",
        "ja" => "ja",
        _ => return Err(PortalError::NotFound),
    };
    let to = match back.back.as_deref() {
        Some(p) if p.starts_with("/admin/login") && !p.contains("//") => "/admin/login".to_owned(),
        other => view::safe_next(other),
    };
    let mut res = see_other(&to);
    let cookie = Cookie::build(LANG_COOKIE, code)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    res.add_cookie(&cookie)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}
