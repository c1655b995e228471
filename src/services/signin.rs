//! Password checks under lockout and rate limits: admit an attempt, run bcrypt, settle it.
//!
//! Every limit counts *settled* failures only; an attempt whose password is still being
//! checked holds a *slot*. Admission is one short transaction holding the employee's row lock
//! and the client address's gate (`signin_gates`), so admissions for one account or one
//! address are decided one at a time on every node. An attempt is admitted only while
//!
//! - the account is not locked (nothing is hashed while it is),
//! - settled failures + checks in flight stay below the lockout threshold for the account,
//!   below the per-(ID, address) limit and below the per-address ceiling.
//!
//! "Address" in these limits is `ClientInfo::limit_key`: an IPv4 address, or an IPv6 /64.
//!
//! So parallel wrong guesses from any number of addresses or nodes get at most `threshold`
//! password checks before the lock, while correct passwords never count: a success settles as
//! a success and frees its slot. An attempt that finds every slot taken (but no limit reached)
//! waits server-side, polling, for at most `admission_wait_ms`, then is answered 503 and
//! recorded as `password_login_deferred`, not as a failure.
//!
//! An attempt runs from admission to settlement as a task of its own, so a client going away
//! mid-check still settles it. A check left pending past `pending_stale_seconds` (its node
//! died) is settled as a wrong password at the account's next admission: its slot frees
//! without buying an extra guess.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::MysqlConnection;
use rand::RngExt;
use serde_json::json;

use super::auth_error::AuthError;
use super::history::{self, Event, Record};
use super::principal::ClientInfo;
use crate::db::models::Employee;
use crate::db::queries::{attempts, employees, signin_gates};
use crate::domain::{EmployeeId, EmployeeStatus, Password};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::state::AppState;

/// An admitted attempt: its ledger row and the employee as read under the row lock.
pub struct Ticket {
    /// The login ID as requested (for the history of unknown IDs).
    code: String,
    employee: Option<Box<Employee>>,
    attempt: i64,
}

enum Admission {
    Admitted(Ticket),
    Refused(AuthError),
    /// Every slot is taken by checks in flight; try again when one settles.
    Full,
}

/// One password attempt from admission to settlement, run as a task of its own so that a
/// client going away mid-check cannot leave its slot taken: the attempt is always settled (or,
/// if the check or the settlement could not run at all, removed). `on_verdict` runs in the
/// settling transaction; `reason` names a wrong password in the history.
pub async fn attempt<T, F>(
    state: &AppState,
    employee_id: EmployeeId,
    password: Password,
    client: ClientInfo,
    reason: &'static str,
    mut on_verdict: F,
) -> Result<T, AuthError>
where
    T: Send + 'static,
    F: FnMut(&mut MysqlConnection, &AppState, Verdict, NaiveDateTime) -> Result<T, AuthError>
        + Send
        + 'static,
{
    let st = state.clone();
    tokio::spawn(async move {
        let ticket = admit(&st, &employee_id, &client).await?;
        let attempt = ticket.attempt;
        let employee = ticket.employee.as_ref().map(|e| e.id);
        let verified = check(&st, &ticket, &password).await?;
        let settled = st
            .transaction(move |conn, st, now| {
                let verdict = settle(conn, st, &ticket, verified, &client, reason, now)?;
                on_verdict(conn, st, verdict, now)
            })
            .await;
        if settled.is_err() {
            if verified {
                forget_pending(&st, attempt).await;
            } else {
                // The password was checked and wrong: it counts even if its record failed.
                count_failure(&st, attempt, employee).await;
            }
        }
        settled
    })
    .await
    .map_err(|e| AuthError::Internal(format!("sign-in task: {e}")))?
}

/// Frees the slot of an attempt that could not be settled (best effort: a row left behind
/// frees itself after the stale bound).
async fn forget_pending(state: &AppState, attempt: i64) {
    let freed = state
        .transaction(move |conn, _, _| {
            attempts::delete_pending(conn, attempt).map_err(AuthError::from)
        })
        .await;
    if let Err(e) = freed {
        tracing::warn!(attempt, error = %e, "could not free a sign-in slot");
    }
}

/// Settles a checked wrong password whose full settlement failed: the ledger row and the
/// counter, without the history.
async fn count_failure(state: &AppState, attempt: i64, employee: Option<i64>) {
    let counted = state
        .transaction(move |conn, st, now| {
            if attempts::settle(conn, attempt, false, now)? == 1
                && let Some(id) = employee
            {
                let limits = &st.settings.limits;
                let until = now + chrono::Duration::minutes(limits.lockout_minutes);
                employees::record_failure(conn, id, limits.lockout_threshold, until, now)?;
            }
            Ok::<_, AuthError>(())
        })
        .await;
    if let Err(e) = counted {
        tracing::warn!(attempt, error = %e, "could not count a wrong password");
    }
}

/// First and longest pause between two looks for a free slot.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(100);

/// Admits an attempt for `employee_id` from `client`, waiting for a free slot if need be, or
/// says why not (423 locked, 429 rate limited, `Busy` after waiting too long).
async fn admit(
    state: &AppState,
    employee_id: &EmployeeId,
    client: &ClientInfo,
) -> Result<Ticket, AuthError> {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(state.settings.limits.admission_wait_ms);
    let mut pause = POLL_FIRST;
    loop {
        let code = employee_id.as_str().to_owned();
        let key = employee_id.rate_limit_key();
        let c2 = client.clone();
        let admission = state
            .transaction(move |conn, st, now| decide(conn, st, &code, &key, &c2, now))
            .await?;
        match admission {
            Admission::Admitted(ticket) => return Ok(ticket),
            Admission::Refused(e) => {
                match &e {
                    AuthError::Locked { .. } => Metrics::inc(&state.metrics.logins_locked),
                    _ => Metrics::inc(&state.metrics.logins_rate_limited),
                }
                return Err(e);
            }
            Admission::Full if Instant::now() >= deadline => {
                defer(state, employee_id, client, started.elapsed()).await?;
                return Err(AuthError::Busy);
            }
            Admission::Full => {
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(jittered(pause).min(left)).await;
                pause = (pause * 2).min(POLL_MAX);
            }
        }
    }
}

fn jittered(pause: Duration) -> Duration {
    let ms = pause.as_millis() as u64;
    Duration::from_millis(ms + rand::rng().random_range(0..=ms / 2))
}

fn decide(
    conn: &mut MysqlConnection,
    st: &AppState,
    code: &str,
    key: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Admission, AuthError> {
    let limits = &st.settings.limits;
    let since = now - chrono::Duration::minutes(limits.window_minutes);
    let stale = now - chrono::Duration::seconds(limits.pending_stale_seconds);
    let mut employee = employees::find_by_code_for_update(conn, code)?;
    // A check that never settled (its node died, or it is stuck) counts as a wrong password
    // once it is stale, so the slot it frees cannot buy an extra check.
    if let Some(emp) = &employee {
        let reaped = attempts::reap_stale(conn, key, stale, now)?;
        if reaped > 0 {
            let until = now + chrono::Duration::minutes(limits.lockout_minutes);
            for _ in 0..reaped {
                employees::record_failure(conn, emp.id, limits.lockout_threshold, until, now)?;
            }
            employee = employees::find_by_code_for_update(conn, code)?;
        }
    }
    if let Some(emp) = &employee {
        if let Some(until) = emp.locked_until.filter(|u| *u > now) {
            history::write(
                conn,
                Record::about(
                    Event::PasswordLoginRefused,
                    emp,
                    client,
                    json!({ "reason": "locked", "lockedUntil": to_utc(until).to_rfc3339() }),
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
    // Per-address limits count an IPv6 client by its /64 (`ClientInfo::limit_key`).
    let address = client.limit_key();
    signin_gates::enter(conn, &gate_name(&address), now)?;

    let key_ip = attempts::tally(conn, Some(key), &address, since, stale)?;
    let ip = attempts::tally(conn, None, &address, since, stale)?;
    let exhausted = if key_ip.failed >= limits.key_ip_failures {
        Some(key_ip)
    } else {
        (ip.failed >= limits.ip_failures).then_some(ip)
    };
    if let Some(tally) = exhausted {
        let wait = tally
            .oldest_failure
            .map(|o| (o + chrono::Duration::minutes(limits.window_minutes) - now).num_seconds() + 1)
            .unwrap_or(60)
            .max(1);
        history::write(
            conn,
            Record {
                event: Event::PasswordLoginRefused,
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

    // Unknown IDs get the same slots as an account without failures, so waiting for a slot
    // does not tell which IDs exist.
    let in_flight = attempts::in_flight_for_key(conn, key, stale)?;
    let failed = employee
        .as_ref()
        .map_or(0, |e| i64::from(e.failed_login_count));
    let account_full = failed + in_flight >= i64::from(limits.lockout_threshold);
    if account_full
        || key_ip.failed + key_ip.in_flight >= limits.key_ip_failures
        || ip.failed + ip.in_flight >= limits.ip_failures
    {
        return Ok(Admission::Full);
    }
    let attempt = attempts::insert_pending(conn, key, &address, now)?;
    Ok(Admission::Admitted(Ticket {
        code: code.to_owned(),
        employee: employee.map(Box::new),
        attempt,
    }))
}

fn gate_name(address: &str) -> String {
    format!("ip:{address}")
}

/// Records an attempt that waited for a slot longer than allowed: not a failure, nothing was
/// checked.
async fn defer(
    state: &AppState,
    employee_id: &EmployeeId,
    client: &ClientInfo,
    waited: Duration,
) -> Result<(), AuthError> {
    Metrics::inc(&state.metrics.logins_deferred);
    let code = employee_id.as_str().to_owned();
    let client = client.clone();
    let waited = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
    state
        .transaction(move |conn, _, now| -> Result<(), AuthError> {
            let emp = employees::find_by_code(conn, &code)?;
            history::write(
                conn,
                Record {
                    event: Event::PasswordLoginDeferred,
                    employee: emp.as_ref().map(|e| e.id),
                    code: Some(&code),
                    actor: None,
                    client: &client,
                    detail: json!({ "reason": "too_many_in_flight", "waitedMs": waited }),
                    now,
                },
            )?;
            Ok(())
        })
        .await
}

/// Runs bcrypt for an admitted attempt (a dummy hash for unknown IDs and accounts without a
/// password). If the check cannot run at all (hashing pool saturated), the attempt is removed
/// so nobody is limited by the server's own load.
async fn check(state: &AppState, ticket: &Ticket, password: &Password) -> Result<bool, AuthError> {
    let hash = ticket
        .employee
        .as_ref()
        .and_then(|e| e.password_hash.clone());
    match state.hashing.verify(password, hash.as_deref()).await {
        Ok(ok) => Ok(ok),
        Err(e) => {
            forget_pending(state, ticket.attempt).await;
            Err(e.into())
        }
    }
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
/// row and the failure counter and writes the history. `reason` names the failure kind.
fn settle(
    conn: &mut MysqlConnection,
    st: &AppState,
    ticket: &Ticket,
    verified: bool,
    client: &ClientInfo,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Verdict, AuthError> {
    let Some(seen) = &ticket.employee else {
        attempts::settle(conn, ticket.attempt, false, now)?;
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
    let changed =
        emp.password_updated_at != seen.password_updated_at || emp.password_hash.is_none();
    if verified {
        attempts::settle(conn, ticket.attempt, true, now)?;
        // Right when checked but replaced meanwhile: neither a success nor a wrong password.
        let refusal = if changed {
            json!({ "reason": "password_changed" })
        } else {
            // A right password ends the run of consecutive failures.
            employees::unlock(conn, emp.id, now)?;
            if emp.status() == EmployeeStatus::Active {
                return Ok(Verdict::Accepted(Box::new(emp)));
            }
            json!({ "reason": "disabled", "status": emp.status })
        };
        history::write(
            conn,
            Record::about(Event::PasswordLoginRefused, &emp, client, refusal, now),
        )?;
        return Ok(if changed {
            Verdict::Rejected
        } else {
            Verdict::Disabled
        });
    }
    // A check reaped as stale has already been counted as a failure.
    let claimed = attempts::settle(conn, ticket.attempt, false, now)? == 1;
    let limits = &st.settings.limits;
    let until = now + chrono::Duration::minutes(limits.lockout_minutes);
    if claimed {
        employees::record_failure(conn, emp.id, limits.lockout_threshold, until, now)?;
    }
    // The row lock is held, so this count is exact and exactly one settlement reaches the
    // threshold: it records the lock.
    let failed = emp.failed_login_count + i32::from(claimed);
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
    if claimed && failed == limits.lockout_threshold {
        let locked = employees::find(conn, emp.id)?.ok_or(AuthError::InvalidCredentials)?;
        history::write(
            conn,
            Record::about(
                Event::Locked,
                &locked,
                client,
                json!({
                    "failedCount": failed,
                    "lockedUntil": locked.locked_until.map(|t| to_utc(t).to_rfc3339()),
                }),
                now,
            ),
        )?;
        super::outbox::queue_lock(conn, st, &locked, client, now)?;
        Metrics::inc(&st.metrics.accounts_locked);
    }
    Ok(Verdict::Rejected)
}
