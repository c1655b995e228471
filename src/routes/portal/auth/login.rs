//! Signing in to the portal (the password step; whatever the account still owes follows)
//! and signing out.

use actix_session::{Session, SessionExt};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::csrf::{LOGIN_COOKIE, LOGIN_TOKEN_LEN};
use super::super::guard::lang_of;
use super::super::view::{self, PortalError, render, see_other};
use super::super::{SignedIn, cookie_secure, keys};
use super::start_session;
use crate::domain::{Amr, EmployeeId, Password, random_hex};
use crate::i18n::Lang;
use crate::routes::extract::client_info;
use crate::services::auth_error::AuthError;
use crate::services::explain;
use crate::services::portal::{self, Step};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/auth/login.html")]
struct LoginPage {
    lang_code: &'static str,
    lang: Lang,
    csrf: String,
    next: String,
    employee_id: String,
    error: Option<String>,
    notice: Notice,
    /// The app staff sign in to, named for staff who land here by mistake.
    app_name: Option<String>,
    app_url: Option<String>,
}

impl LoginPage {
    fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }
}

/// Why the sign-in page is shown, when the admin did not simply open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    None,
    /// The session ran out (idle or absolute timeout).
    Expired,
    /// The admin signed out.
    SignedOut,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    locked: Option<String>,
    signed_out: Option<String>,
}

/// Sign-in happens before there is a session, so its form is protected by a double-submit
/// cookie: a random value in a strict, HttpOnly cookie that the form must repeat (checked
/// by the portal's CSRF middleware).
fn login_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, value)
        .path("/admin/login")
        .http_only(true)
        .secure(cookie_secure(&state.settings.http.public_url))
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
    notice: Notice,
) -> Result<HttpResponse, PortalError> {
    let lang = lang_of(req);
    let csrf = match req.cookie(LOGIN_COOKIE) {
        Some(c) if c.value().len() == LOGIN_TOKEN_LEN => c.value().to_owned(),
        _ => random_hex(LOGIN_TOKEN_LEN / 2),
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
            notice,
            app_name: state.settings.staff_app.name.clone(),
            app_url: state.settings.staff_app.url.clone(),
        },
    );
    res.add_cookie(&login_cookie(state, csrf))
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}

pub(super) async fn page(
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
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|until| explain::locked_until(until).text(lang_of(&req)).to_owned());
    render_login(
        &req,
        &state,
        StatusCode::OK,
        next,
        String::new(),
        locked,
        if query.expired.is_some() {
            Notice::Expired
        } else if query.signed_out.is_some() {
            Notice::SignedOut
        } else {
            Notice::None
        },
    )
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    next: String,
    #[serde(default)]
    employee_id: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    let lang = lang_of(&req);
    let next = view::safe_next(Some(&form.next));
    let typed_id = form.employee_id.trim().to_owned();
    let refuse = |e: AuthError| match PortalError::from(e) {
        PortalError::Refused(x) => render_login(
            &req,
            &state,
            x.status,
            next.clone(),
            typed_id.clone(),
            Some(x.text(lang).to_owned()),
            Notice::None,
        ),
        other => Err(other),
    };
    let (Ok(employee_id), Ok(password)) = (
        EmployeeId::parse(&form.employee_id),
        Password::parse(form.password, "password"),
    ) else {
        return refuse(AuthError::InvalidCredentials);
    };
    let client = client_info(&req, state.settings.http.trust_proxy_headers);
    let (employee, step) =
        match portal::sign_in(&state, employee_id, password, client.clone()).await {
            Ok(ok) => ok,
            Err(e) => return refuse(e),
        };
    start_session(&session, &state, &employee.id, step, Amr::PASSWORD, &client)?;
    let mut res = match step {
        Step::Complete => see_other(&next),
        Step::SecondFactor => {
            session
                .insert(keys::NEXT, &next)
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            see_other(step.page())
        }
        other => see_other(other.page()),
    };
    let mut gone = login_cookie(&state, String::new());
    gone.make_removal();
    res.add_cookie(&gone)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}

pub(super) async fn logout(me: SignedIn) -> Result<HttpResponse, PortalError> {
    portal::signed_out(
        &me.state,
        me.employee.clone(),
        me.client.clone(),
        "sign_out",
    )
    .await?;
    me.session.purge();
    Ok(see_other("/admin/login?signed_out=1"))
}
