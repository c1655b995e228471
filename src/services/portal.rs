//! The portal's sign-in, a small state machine: the password step (same lockout, limits and
//! ledger as the API), then whatever the account still owes before it may use the portal.
//! In order: the second factor (an account that has one), a forced password change (initial or
//! expired password), and enrolling a second factor (an admin while admin 2FA is required, or
//! an account whose factor was reset). Each step is decided afresh from the database.

use serde_json::json;

use super::auth;
use super::auth_error::AuthError;
use super::history::{self, Event, Record};
use super::mfa::{self, Factors};
use super::principal::{Actor, ClientInfo};
use super::sessions::PasswordStatus;
use crate::db::models::Employee;
use crate::db::queries::{employees, portal_sessions};
use crate::domain::{Amr, EmployeeId, EmployeeStatus, Password, PermissionLevel};
use crate::state::AppState;

/// Where a portal session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The password was right; the account's second factor is still to be proven.
    SecondFactor,
    /// Signed in with an initial (or reset) or expired password: may only set a new one.
    PasswordChange,
    /// The account must set up a second factor before anything else.
    Enrol,
    Complete,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::SecondFactor => "second_factor",
            Step::PasswordChange => "password_change",
            Step::Enrol => "enrol",
            Step::Complete => "complete",
        }
    }

    pub fn parse(raw: &str) -> Option<Step> {
        match raw {
            "second_factor" => Some(Step::SecondFactor),
            "password_change" => Some(Step::PasswordChange),
            "enrol" => Some(Step::Enrol),
            "complete" => Some(Step::Complete),
            _ => None,
        }
    }

    /// What the account still owes, given what this session has proven (`amr`).
    pub fn owed(
        settings: &crate::config::Settings,
        emp: &Employee,
        factors: &Factors,
        status: &PasswordStatus,
        amr: Amr,
    ) -> Step {
        if factors.any() && !amr.has_second_factor() {
            Step::SecondFactor
        } else if status.must_change {
            Step::PasswordChange
        } else if mfa::owes_enrolment(settings, emp, factors) {
            Step::Enrol
        } else {
            Step::Complete
        }
    }

    /// The page where this step is taken.
    pub fn page(self) -> &'static str {
        match self {
            Step::SecondFactor => "/admin/mfa",
            Step::PasswordChange => "/admin/password",
            Step::Enrol => "/admin/mfa/enrol",
            Step::Complete => "/admin",
        }
    }
}

/// The step a session with `amr` stands at, read from the database.
pub async fn next_step(state: &AppState, emp: Employee, amr: Amr) -> Result<Step, AuthError> {
    state
        .read(move |conn, st, now| {
            let factors = mfa::factors_in(conn, emp.id, now)?;
            let status = PasswordStatus::load(conn, st, &emp, now)?;
            Ok(Step::owed(&st.settings, &emp, &factors, &status, amr))
        })
        .await
}

pub fn is_admin(state: &AppState, emp: &Employee) -> bool {
    emp.status() == EmployeeStatus::Active
        && emp
            .permission()
            .is_at_least(PermissionLevel::from_db(state.settings.admin_permission))
}

pub fn actor(emp: &Employee) -> Actor {
    Actor::Employee {
        id: emp.id,
        employee_id: emp.employee_id.clone(),
        permission: emp.permission_level,
    }
}

/// The password step. A right password from someone who may not use the portal is refused
/// with `Forbidden` (recorded, and not counted as a failure: the password was right); an
/// inactive account is refused as a wrong password.
#[tracing::instrument(skip(state, password, client), fields(employee_id = %employee_id))]
pub async fn sign_in(
    state: &AppState,
    employee_id: EmployeeId,
    password: Password,
    client: ClientInfo,
) -> Result<(Employee, Step), AuthError> {
    let c2 = client.clone();
    auth::sign_in_with_password(
        state,
        employee_id,
        password,
        client,
        move |conn, st, emp, now| {
            if !is_admin(st, &emp) {
                // The password was right: it ends any run of failures (settle did that too).
                employees::unlock(conn, emp.id, now)?;
                history::write(
                    conn,
                    Record::about(
                        Event::PortalDenied,
                        &emp,
                        &c2,
                        json!({ "channel": "portal", "permissionLevel": emp.permission_level }),
                        now,
                    ),
                )?;
                return Ok(Err(AuthError::Forbidden));
            }
            let status = PasswordStatus::load(conn, st, &emp, now)?;
            let factors = mfa::factors_in(conn, emp.id, now)?;
            let step = Step::owed(&st.settings, &emp, &factors, &status, Amr::PASSWORD);
            if step != Step::SecondFactor {
                employees::mark_signed_in(conn, emp.id, now)?;
            }
            history::write(
                conn,
                Record::about(
                    Event::PasswordLoginOk,
                    &emp,
                    &c2,
                    json!({
                        "channel": "portal",
                        "mustChange": status.must_change,
                        "expired": status.expired,
                        "secondFactor": if factors.any() { "pending" } else { "none" },
                    }),
                    now,
                ),
            )?;
            Ok(Ok((emp, step)))
        },
    )
    .await
    .map_err(|e| match e {
        // The portal does not tell who exists: an inactive account reads as a wrong password.
        AuthError::Disabled => AuthError::InvalidCredentials,
        e => e,
    })
}

/// Records a portal sign-out (the session itself is removed by the session layer).
pub async fn signed_out(
    state: &AppState,
    emp: Employee,
    client: ClientInfo,
    reason: &'static str,
) -> Result<(), AuthError> {
    state
        .read(move |conn, _, now| {
            let detail = json!({ "channel": "portal", "reason": reason });
            logged_out(conn, &emp, &client, detail, now)
        })
        .await
}

/// Ends the admin's other portal sessions (`session_ref` None: one session by reference is
/// not meant; `only` names a single session to end instead of all others). The sessions and
/// their history row go in one transaction.
pub async fn end_sessions(
    state: &AppState,
    emp: Employee,
    current_ref: String,
    only: Option<String>,
    client: ClientInfo,
) -> Result<usize, AuthError> {
    state
        .transaction(move |conn, _, now| {
            let ended = match &only {
                Some(r) if *r != current_ref => portal_sessions::delete_by_ref(conn, emp.id, r)?,
                Some(_) => 0,
                None => portal_sessions::delete_for_employee(conn, emp.id, Some(&current_ref))?,
            };
            if ended > 0 {
                let reason = if only.is_some() {
                    "ended_one"
                } else {
                    "ended_others"
                };
                let detail = json!({ "channel": "portal", "reason": reason, "sessions": ended });
                logged_out(conn, &emp, &client, detail, now)?;
            }
            Ok(ended)
        })
        .await
}

fn logged_out(
    conn: &mut diesel::MysqlConnection,
    emp: &Employee,
    client: &ClientInfo,
    detail: serde_json::Value,
    now: chrono::NaiveDateTime,
) -> Result<(), AuthError> {
    history::write(conn, Record::about(Event::Logout, emp, client, detail, now))?;
    Ok(())
}
