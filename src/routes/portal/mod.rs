//! The HR portal: server-rendered pages under /admin, behind a MySQL-backed session.

mod archive;
mod audit;
mod auth;
mod dashboard;
mod employees;
mod guard;
mod history;
mod import;
mod policy;
mod sheets;
pub mod store;
mod view;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, TtlExtensionPolicy};
use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub use guard::{Admin, SignedIn};
pub use view::{Chrome, Flash, PortalError};

use crate::state::AppState;

/// Names of the values a portal session holds.
pub mod keys {
    pub const EMPLOYEE: &str = "uid";
    pub const SESSION_REF: &str = "sid";
    pub const STEP: &str = "step";
    pub const AUTH_AT: &str = "auth_at";
    pub const CSRF: &str = "csrf";
    pub const IP: &str = "ip";
    pub const USER_AGENT: &str = "ua";
    pub const FLASH: &str = "flash";
}

/// Idle timeout (slides with every request) and absolute lifetime of a portal session.
pub const IDLE_MINUTES: i64 = 30;
pub const ABSOLUTE_HOURS: i64 = 8;

/// Pages load only our own files; nothing inline, no framing, forms post only to us.
const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

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
    .cookie_name("staffgate_portal".into())
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
    web::scope("/admin")
        .app_data(
            web::FormConfig::default()
                .limit(64 * 1024)
                .error_handler(|e, _| PortalError::BadRequest(format!("{e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| PortalError::BadRequest(format!("{e}")).into()),
        )
        .wrap(sessions)
        .wrap(headers)
        .configure(auth::configure)
        .configure(dashboard::configure)
        .configure(employees::configure)
        .configure(import::configure)
        .configure(history::configure)
        .configure(sheets::configure)
        .configure(archive::configure)
        .configure(audit::configure)
        .configure(policy::configure)
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(PortalError::NotFound)
        }))
}
