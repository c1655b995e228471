//! The HR portal: server-rendered pages under /admin, behind a MySQL-backed session.

mod archive;
mod audit;
mod auth;
pub mod csrf;
mod dashboard;
mod employees;
mod guard;
mod history;
mod import;
mod mail;
mod mfa_resets;
mod period;
mod policy;
mod security;
mod sheets;
pub mod store;
mod view;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, TtlExtensionPolicy};
use actix_web::cookie::SameSite;
use actix_web::http::{Method, header};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{FromRequest, Handler, Responder, web};

pub use guard::{Admin, SignedIn};
pub use view::{Chrome, Flash, PortalError};

use crate::state::AppState;

/// Names of the values a portal session holds.
pub mod keys {
    pub const EMPLOYEE: &str = "uid";
    pub const SESSION_REF: &str = "sid";
    pub const STEP: &str = "step";
    /// How the session was authenticated (`Amr`'s stored form).
    pub const AMR: &str = "amr";
    /// Where to go once the second step is passed.
    pub const NEXT: &str = "next";
    pub const AUTH_AT: &str = "auth_at";
    pub const CSRF: &str = "csrf";
    pub const IP: &str = "ip";
    pub const USER_AGENT: &str = "ua";
    pub const FLASH: &str = "flash";
    /// The QR code just issued, sealed, while its page may be shown again.
    pub const ISSUED_QR: &str = "issued_qr";
}

/// The portal session's cookie.
pub const SESSION_COOKIE: &str = "staffgate_portal";

/// Idle timeout (slides with every request) and absolute lifetime of a portal session.
pub const IDLE_MINUTES: i64 = 30;
pub const ABSOLUTE_HOURS: i64 = 8;

/// Pages load only our own files; nothing inline, no framing, forms post only to us, scripts
/// talk only to us (the passkey options).
const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The session cookie is Secure except when the portal is served over plain http on the
/// local machine (development and tests).
pub fn cookie_secure(public_url: &str) -> bool {
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"];
    !local.iter().any(|p| {
        public_url
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('/'))
    })
}

/// One portal route: the method and path it answers and its handler, made by [`route`] so
/// the method listed and the handler's guard cannot disagree.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: actix_web::Route,
    /// The largest URL-encoded form this route reads, when larger than [`FORM_LIMIT`].
    form_limit: Option<usize>,
}

impl Route {
    pub fn form_limit(mut self, bytes: usize) -> Self {
        self.form_limit = Some(bytes);
        self
    }

    /// The largest URL-encoded form this route reads (a multipart upload is bounded by its
    /// handler instead: the CSV preview reads at most the file size its confirmation form
    /// carries back as base64, so the confirmation is the larger body).
    pub fn body_limit(&self) -> usize {
        self.form_limit.unwrap_or(FORM_LIMIT)
    }
}

pub const GET: Method = Method::GET;
pub const POST: Method = Method::POST;

/// URL-encoded portal forms are small unless a route says otherwise.
pub const FORM_LIMIT: usize = 64 * 1024;

fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|e, _| PortalError::BadRequest(format!("{e}")).into())
}

pub fn route<F, Args>(method: Method, path: &'static str, handler: F) -> Route
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Route {
        handler: web::method(method.clone()).to(handler),
        method,
        path,
        form_limit: None,
    }
}

/// Every portal route, paths relative to `/admin`; the scope is built from this list.
pub fn routes() -> Vec<Route> {
    [
        auth::routes(),
        dashboard::routes(),
        employees::routes(),
        import::routes(),
        history::routes(),
        sheets::routes(),
        archive::routes(),
        audit::routes(),
        policy::routes(),
        mail::routes(),
        security::routes(),
        mfa_resets::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn scope(
    state: AppState,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(
        store::MysqlSessionStore::new(state.clone()),
        state.session_key.clone(),
    )
    .cookie_name(SESSION_COOKIE.into())
    .cookie_path("/admin".into())
    .cookie_secure(cookie_secure(&state.settings.http.public_url))
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Strict)
    .session_lifecycle(
        BrowserSession::default()
            .state_ttl(actix_web::cookie::time::Duration::minutes(IDLE_MINUTES))
            .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
    )
    .build();
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, PORTAL_CSP))
        .add((header::CACHE_CONTROL, "no-store"));
    let scope = web::scope("/admin")
        .app_data(form_config(FORM_LIMIT))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| PortalError::BadRequest(format!("{e}")).into()),
        )
        .wrap(from_fn(csrf::require_token))
        .wrap(sessions)
        .wrap(from_fn(store::unavailable_as_503))
        .wrap(headers);
    // One resource per path, holding every method's route (and its form limit).
    let mut paths: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for r in routes() {
        match paths.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, same)) => same.push(r),
            None => paths.push((r.path, vec![r])),
        }
    }
    paths
        .into_iter()
        .fold(scope, |scope, (path, routes)| {
            let resource = routes.into_iter().fold(web::resource(path), |res, r| {
                let res = res.route(r.handler);
                match r.form_limit {
                    Some(limit) => res.app_data(form_config(limit)),
                    None => res,
                }
            });
            scope.service(resource)
        })
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(PortalError::NotFound)
        }))
}
