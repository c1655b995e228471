//! The admin's own account at the portal: signing in and out, their sessions, their
//! password, the page language.

mod language;
mod login;
mod password;
mod sessions;

use actix_session::Session;

use super::view::PortalError;
use super::{GET, POST, Route, keys, route};
use crate::domain::random_hex;
use crate::services::portal::Step;
use crate::services::principal::ClientInfo;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/login", login::page),
        route(POST, "/login", login::submit),
        route(POST, "/logout", login::logout),
        route(GET, "/sessions", sessions::list),
        route(POST, "/sessions/end-others", sessions::end_others),
        route(POST, "/sessions/end", sessions::end_one),
        route(GET, "/password", password::page),
        route(POST, "/password", password::change),
        route(GET, "/lang/{code}", language::switch),
    ]
}

/// A fresh session id (no fixation), a fresh CSRF token and a fresh reference.
fn start_session(
    session: &Session,
    state: &AppState,
    employee: &i64,
    step: Step,
    client: &ClientInfo,
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
