//! The one guard in front of every portal page: a live session, the absolute lifetime, the
//! sign-in step, and an employee who may still use the portal (re-read on every request).

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::keys;
use super::view::{Chrome, Flash, PortalError, see_other};
use crate::db::models::Employee;
use crate::domain::Amr;
use crate::i18n::Lang;
use crate::routes::extract::client_info;
use crate::services::directory;
use crate::services::explain::Explain;
use crate::services::portal::{self, Step};
use crate::services::principal::ClientInfo;
use crate::state::AppState;

pub const LANG_COOKIE: &str = "staffgate_lang";

/// The page language: the portal's language switch, else the browser's preference.
pub fn lang_of(req: &HttpRequest) -> Lang {
    match req.cookie(LANG_COOKIE).as_ref().map(|c| c.value()) {
        Some("en") => Lang::En,
        Some("ja") => Lang::Ja,
        _ => Lang::from_headers(req.headers()),
    }
}

/// A signed-in admin whose sign-in is complete.
pub struct Admin(pub SignedIn);

/// A signed-in admin at any step (the password-change page accepts this).
pub struct SignedIn {
    pub employee: Employee,
    pub step: Step,
    /// How this session was authenticated.
    pub amr: Amr,
    pub session: Session,
    pub session_ref: String,
    csrf: String,
    pub lang: Lang,
    pub client: ClientInfo,
    pub state: web::Data<AppState>,
    here: String,
}

impl SignedIn {
    pub fn chrome(&self, nav: &'static str) -> Chrome {
        let flash = self
            .session
            .remove_as::<Flash>(keys::FLASH)
            .and_then(Result::ok);
        Chrome {
            lang: self.lang,
            csrf: self.csrf.clone(),
            me_name: self.employee.name.clone(),
            me_code: self.employee.employee_id.clone(),
            flash,
            nav,
            here: self.here.clone(),
        }
    }

    pub fn flash(&self, flash: Flash) {
        if let Err(e) = self.session.insert(keys::FLASH, flash) {
            tracing::warn!(error = %e, "could not store a flash message");
        }
    }

    pub fn flash_ok(&self, ja: &str, en: &str) {
        self.flash(Flash::ok(self.lang, ja, en));
    }

    pub fn flash_error(&self, ja: &str, en: &str) {
        self.flash(Flash::error(self.lang, ja, en));
    }

    /// A service did not do what the form asked: its explanation is shown on the page at
    /// `back` (nothing was changed). A fault's cause goes to the log, not to the page.
    pub fn refused(&self, e: impl Explain + std::fmt::Display, back: &str) -> HttpResponse {
        let x = e.explain();
        if x.is_fault() {
            tracing::error!(error = %e, code = x.code, "portal action failed");
        }
        self.flash_error(&x.ja, &x.en);
        see_other(back)
    }

    pub fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }
}

impl std::ops::Deref for Admin {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

async fn signed_in(req: HttpRequest) -> Result<SignedIn, PortalError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| PortalError::Internal("application state missing".into()))?;
    let session = req.get_session();
    // The page to come back to (language switch): a page that answered a POST has no GET
    // of its own, so those go back to the dashboard.
    let here = match req.query_string() {
        _ if req.method() != actix_web::http::Method::GET => "/admin".to_owned(),
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let next = if req.method() == actix_web::http::Method::GET {
        here.clone()
    } else {
        "/admin".to_owned()
    };
    let sign_in = |expired: bool| PortalError::SignIn {
        next: next.clone(),
        expired,
    };
    let read = |key: &str| session.get::<String>(key).ok().flatten();
    let Some(id) = session.get::<i64>(keys::EMPLOYEE).ok().flatten() else {
        // An ended session still carries its cookie: say why the admin is asked to sign in.
        return Err(sign_in(req.cookie(super::SESSION_COOKIE).is_some()));
    };
    let auth_at = session
        .get::<i64>(keys::AUTH_AT)
        .ok()
        .flatten()
        .unwrap_or(0);
    let now = state.clock.now();
    let limit = chrono::Duration::hours(super::ABSOLUTE_HOURS)
        .num_microseconds()
        .unwrap_or(0);
    if now.timestamp_micros() - auth_at > limit {
        session.purge();
        return Err(sign_in(true));
    }
    let (Some(step), Some(session_ref), Some(csrf)) = (
        read(keys::STEP).as_deref().and_then(Step::parse),
        read(keys::SESSION_REF),
        read(keys::CSRF),
    ) else {
        session.purge();
        return Err(sign_in(false));
    };
    let employee = directory::employee(&state, id).await?;
    let Some(employee) = employee else {
        session.purge();
        return Err(sign_in(false));
    };
    if employee.status() != crate::domain::EmployeeStatus::Active {
        session.purge();
        return Err(sign_in(false));
    }
    if !portal::is_admin(&state, &employee) {
        // No longer an admin: the session ends, so they can sign in as someone else.
        session.purge();
        return Err(PortalError::Forbidden);
    }
    let client = client_info(&req, state.settings.http.trust_proxy_headers);
    let amr = read(keys::AMR).map_or(Amr::PASSWORD, |a| Amr::parse_stored(&a));
    Ok(SignedIn {
        employee,
        step,
        amr,
        session,
        session_ref,
        csrf,
        lang: lang_of(&req),
        client,
        state,
        here,
    })
}

impl FromRequest for SignedIn {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PortalError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(signed_in(req))
    }
}

impl FromRequest for Admin {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PortalError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let s = signed_in(req).await?;
            match s.step {
                Step::Complete => {}
                // Whatever the account still owes comes before any other page.
                owed => return Err(PortalError::Redirect(owed.page().into())),
            }
            // A session opened without a second factor (before the account had one, before
            // admin 2FA was required, or before a reset) takes the step it now owes.
            if !s.amr.has_second_factor() {
                let owed = portal::next_step(&s.state, s.employee.clone(), s.amr).await?;
                if owed != Step::Complete {
                    s.session
                        .insert(keys::STEP, owed.as_str())
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    return Err(PortalError::Redirect(owed.page().into()));
                }
            }
            Ok(Admin(s))
        })
    }
}
