//! The admin's own account at the portal: signing in and out, their sessions, their
//! password, the page language.

mod language;
mod login;
mod passkeys;
mod password;
mod second_factor;
mod sessions;

pub(super) use second_factor::{codes_page, enrol_view};

use actix_session::Session;

use super::view::PortalError;
use super::{GET, POST, Route, keys, route};
use crate::domain::{Amr, random_hex};
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
        route(GET, "/mfa", second_factor::page),
        route(POST, "/mfa", second_factor::submit),
        route(GET, "/mfa/enrol", second_factor::enrol_page),
        route(POST, "/mfa/enrol", second_factor::enrol_confirm),
        route(POST, "/mfa/passkey/options", passkeys::sign_in_options),
        route(POST, "/mfa/passkey", passkeys::sign_in),
        route(POST, "/passkeys/options", passkeys::registration_options),
        route(POST, "/passkeys", passkeys::register),
        route(POST, "/passkeys/{id}/remove", passkeys::remove),
    ]
}

/// A fresh session id (no fixation), a fresh CSRF token and a fresh reference.
fn start_session(
    session: &Session,
    state: &AppState,
    employee: &i64,
    step: Step,
    amr: Amr,
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
        .insert(keys::AMR, amr.as_stored())
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
