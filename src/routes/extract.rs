//! Extractors: client address, the language, and bearer principals.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::ApiError;
use crate::services::auth;
use crate::services::auth_error::AuthError;
use crate::services::principal::{ClientInfo, Principal};
use crate::state::AppState;

/// The caller's address: the TCP peer, or the last X-Forwarded-For hop when the deployment
/// says a trusted proxy sits in front (STAFFGATE_TRUST_PROXY_HEADERS).
pub struct Client(pub ClientInfo);

pub fn client_info(req: &HttpRequest, trust_proxy: bool) -> ClientInfo {
    // The last hop of the last header line is the address our own proxy saw; anything to
    // its left (or in earlier lines) may come from the client.
    let forwarded = trust_proxy
        .then(|| req.headers().get_all("x-forwarded-for").last())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
    let ip = forwarded.unwrap_or_else(|| {
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    });
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ClientInfo { ip, user_agent }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.http.trust_proxy_headers)
            .unwrap_or(false);
        ready(Ok(Client(client_info(req, trust))))
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn principal_from(req: HttpRequest, allow_setup: bool) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = bearer(&req).ok_or(AuthError::Unauthorized)?;
    Ok(auth::principal(&state, &token, allow_setup).await?)
}

/// A full session (not a setup session).
pub struct Session(pub Principal);

/// A full session or a setup session (password change only).
pub struct AnySession(pub Principal);

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_from(req, false).await.map(Session) })
    }
}

impl FromRequest for AnySession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_from(req, true).await.map(AnySession) })
    }
}
