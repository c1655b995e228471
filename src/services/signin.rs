//! Password checks under lockout and rate limits: admit an attempt, run bcrypt, settle it.
//!
//! Admission happens before any bcrypt, in one short transaction that holds the employee's
//! row lock:
//! - a locked account is refused at once (no hashing while locked);
//! - the attempt, already committed as a pending failure, must rank within the per-(ID,
//!   address) and per-address limits (failures of the window with an id up to its own), so
//!   parallel requests cannot all read "none so far"; the only slack left is an earlier
//!   insert whose id was allocated but not yet committed when the count ran (microseconds);
//! - the failure is *reserved* on the employee (atomic increment, lock at the threshold)
//!   before bcrypt runs, so parallel guesses from any number of addresses or nodes get at most
//!   `threshold` password checks per lock period. A success clears the reservation.

use chrono::{Duration, NaiveDateTime};
use diesel::{Connection, MysqlConnection};
use serde_json::json;

use super::ClientInfo;
use super::auth::AuthError;
use super::history::{self, Event, Record};
use crate::db;
use crate::db::models::Employee;
use crate::db::queries::{attempts, employees};
use crate::domain::{EmployeeId, Password};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::state::AppState;

/// An admitted attempt: its ledger row and the employee as read under the row lock.
pub struct Ticket {
    /// The login ID as requested (for the history of unknown IDs).
    code: String,
    pub employee: Option<Box<Employee>>,
    attempt: i64,
    /// The failure count including this attempt's reservation (known employees only).
    reserved: Option<i32>,
}

enum Admission {
    Admitted(Ticket),
    Refused(AuthError),
}

/// Admits an attempt for `employee_id` from `client`, or says why not (423 / 429).
pub async fn admit(
    state: &AppState,
    employee_id: &EmployeeId,
    client: &ClientInfo,
) -> Result<Ticket, AuthError> {
    let st = state.clone();
    let code = employee_id.as_str().to_owned();
    let key = employee_id.rate_limit_key();
    let client = client.clone();
    let admission = db::run(&state.pool, move |conn| {
        let now = st.clock.now_naive();
        let attempt = attempts::insert_pending(conn, &key, &client.ip, now)?;
        let decision = conn.transaction::<_, AuthError, _>(|conn| {
            decide(conn, &st, &code, &key, &client, attempt, now)
        });
        if !matches!(decision, Ok(Admission::Admitted(_))) {
            attempts::delete(conn, attempt)?;
        }
        decision
    })
    .await?;
    match admission {
        Admission::Admitted(ticket) => Ok(ticket),
        Admission::Refused(e) => {
            match &e {
                AuthError::Locked { .. } => Metrics::inc(&state.metrics.logins_locked),
                _ => Metrics::inc(&state.metrics.logins_rate_limited),
            }
            Err(e)
        }
    }
}

fn decide(
    conn: &mut MysqlConnection,
    st: &AppState,
    code: &str,
    key: &str,
    client: &ClientInfo,
    attempt: i64,
    now: NaiveDateTime,
) -> Result<Admission, AuthError> {
    let limits = &st.settings.limits;
    let window = Duration::minutes(limits.window_minutes);
    let mut employee = employees::find_by_code_for_update(conn, code)?;
    if let Some(emp) = &employee {
        if let Some(until) = emp.locked_until.filter(|u| *u > now) {
            history::write(
                conn,
                Record::about(
                    Event::PasswordLoginFailed,
                    emp,
                    client,
                    json!({ "reason": "locked" }),
                    now,
                ),
            )?;
            return Ok(Admission::Refused(AuthError::Locked {
                until: to_utc(until),
            }));
        }
        if emp.locked_until.is_some() && employees::clear_expired_lock(conn, emp.id, now)? > 0 {
            employee = employees::find_by_code_for_update(conn, code)?;
        }
    }
    let retry_after = |oldest: Option<NaiveDateTime>| {
        oldest
            .map(|o| (o + window - now).num_seconds() + 1)
            .unwrap_or(60)
            .max(1)
    };
    let (rank, oldest) =
        attempts::failures_for_key_ip(conn, key, &client.ip, now - window, attempt)?;
    let wait = if rank > limits.key_ip_failures {
        Some(retry_after(oldest))
    } else {
        let (ip_rank, oldest_ip) =
            attempts::failures_for_ip(conn, &client.ip, now - window, attempt)?;
        (ip_rank > limits.ip_failures).then(|| retry_after(oldest_ip))
    };
    if let Some(wait) = wait {
        history::write(
            conn,
            Record {
                event: Event::PasswordLoginFailed,
                employee: employee.as_ref().map(|e| e.id),
                code: Some(code),
                actor: None,
                client,
                detail: json!({ "reason": "rate_limited", "retryAfter": wait }),
                now,
            },
        )?;
        return Ok(Admission::Refused(AuthError::RateLimited {
            retry_after: wait,
        }));
    }
    let reserved = match &employee {
        Some(emp) => {
            let until = now + Duration::minutes(limits.lockout_minutes);
            employees::record_failure(conn, emp.id, limits.lockout_threshold, until, now)?;
            Some(emp.failed_login_count + 1)
        }
        None => None,
    };
    Ok(Admission::Admitted(Ticket {
        code: code.to_owned(),
        employee: employee.map(Box::new),
        attempt,
        reserved,
    }))
}

/// Runs bcrypt for an admitted attempt (a dummy hash for unknown IDs and accounts without a
/// password). If the check cannot run at all (hashing pool saturated), the attempt and its
/// reservation are released so nobody is locked out by the server's own load.
pub async fn check(
    state: &AppState,
    ticket: &Ticket,
    password: &Password,
) -> Result<bool, AuthError> {
    let hash = ticket
        .employee
        .as_ref()
        .and_then(|e| e.password_hash.clone());
    match state.hashing.verify(password, hash.as_deref()).await {
        Ok(ok) => Ok(ok),
        Err(e) => {
            release(state, ticket).await?;
            Err(e.into())
        }
    }
}

async fn release(state: &AppState, ticket: &Ticket) -> Result<(), AuthError> {
    let attempt = ticket.attempt;
    let employee = ticket.employee.as_ref().map(|e| e.id).zip(ticket.reserved);
    let threshold = state.settings.limits.lockout_threshold;
    db::run(&state.pool, move |conn| {
        conn.transaction::<_, AuthError, _>(|conn| {
            if let Some((id, reserved)) = employee {
                employees::release_reservation(conn, id, reserved >= threshold)?;
            }
            attempts::delete(conn, attempt)?;
            Ok(())
        })
    })
    .await
}

/// The verdict on an admitted attempt, settled in the caller's transaction.
pub enum Verdict {
    /// The password is right and the account may sign in: failures and lock cleared.
    Accepted(Box<Employee>),
    /// The password is right but the account is suspended or retired.
    Disabled,
    /// Wrong password, unknown ID, or the password changed while bcrypt ran.
    Rejected,
}

/// Records the outcome: locks the employee row first (the same order as admission), re-reads
/// it so a password change or suspension during bcrypt is honoured, then settles the ledger
/// and writes the history. `reason` names the failure kind in the history detail.
pub fn settle(
    conn: &mut MysqlConnection,
    st: &AppState,
    ticket: &Ticket,
    verified: bool,
    client: &ClientInfo,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Verdict, AuthError> {
    let Some(seen) = &ticket.employee else {
        history::write(
            conn,
            Record {
                event: Event::PasswordLoginFailed,
                employee: None,
                code: Some(&ticket.code),
                actor: None,
                client,
                detail: json!({ "reason": "unknown_employee" }),
                now,
            },
        )?;
        return Ok(Verdict::Rejected);
    };
    let emp = employees::find_by_code_for_update(conn, &seen.employee_id)?
        .ok_or(AuthError::InvalidCredentials)?;
    let still_valid = verified
        && emp.password_updated_at == seen.password_updated_at
        && emp.password_hash.is_some();
    if still_valid {
        attempts::mark_success(conn, ticket.attempt)?;
        if emp.status() == crate::domain::EmployeeStatus::Active {
            return Ok(Verdict::Accepted(Box::new(emp)));
        }
        employees::unlock(conn, emp.id, now)?;
        history::write(
            conn,
            Record::about(
                Event::PasswordLoginFailed,
                &emp,
                client,
                json!({ "reason": "disabled", "status": emp.status }),
                now,
            ),
        )?;
        return Ok(Verdict::Disabled);
    }
    let failed = ticket.reserved.unwrap_or(emp.failed_login_count);
    history::write(
        conn,
        Record::about(
            Event::PasswordLoginFailed,
            &emp,
            client,
            json!({ "reason": reason, "failedCount": failed }),
            now,
        ),
    )?;
    // Reservations are atomic increments under the row lock, so exactly one attempt holds
    // the threshold itself; it records the lock once its password proved wrong.
    if ticket.reserved == Some(st.settings.limits.lockout_threshold) {
        history::write(
            conn,
            Record::about(
                Event::Locked,
                &emp,
                client,
                json!({
                    "failedCount": failed,
                    "lockedUntil": emp.locked_until.map(|t| to_utc(t).to_rfc3339()),
                }),
                now,
            ),
        )?;
        super::outbox::queue_lock(conn, st, &emp, client, now)?;
        Metrics::inc(&st.metrics.accounts_locked);
    }
    Ok(Verdict::Rejected)
}
