//! Password sign-in with lockout and rate limits, bearer checks, password change and unlock.

use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use serde_json::json;

use super::history::{self, Event, Record};
use super::jwt::{AccessClaims, Scope};
use super::passwords::{self, Violation};
use super::sessions::{self, TokenSet};
use super::{Actor, ClientInfo};
use crate::db::models::Employee;
use crate::db::queries::{attempts, employees};
use crate::db::{self, DbError};
use crate::domain::{EmployeeId, EmployeeStatus, Password, PermissionLevel};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::services::hashing::HashingError;
use crate::state::AppState;

/// Why a one-time or refresh token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
    Used,
    Revoked,
}

impl TokenProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenProblem::Unknown => "unknown",
            TokenProblem::Expired => "expired",
            TokenProblem::Used => "used",
            TokenProblem::Revoked => "revoked",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: i64 },
    #[error("account is not active")]
    Disabled,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this session may only change the password")]
    PasswordChangeRequired,
    #[error("permission denied")]
    Forbidden,
    #[error("employee not found")]
    NotFound,
    #[error("one-time token not accepted: {0:?}")]
    Token(TokenProblem),
    #[error("refresh token not accepted: {0:?}")]
    RefreshInvalid(TokenProblem),
    #[error("password policy")]
    Policy(Vec<Violation>),
    #[error("invalid input: {0}")]
    Invalid(crate::domain::ParseError),
    #[error("hashing pool saturated")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

impl From<HashingError> for AuthError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy => AuthError::Busy,
            other => AuthError::Internal(other.to_string()),
        }
    }
}

impl From<getrandom::Error> for AuthError {
    fn from(e: getrandom::Error) -> Self {
        AuthError::Internal(format!("random source: {e}"))
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        AuthError::Internal(format!("jwt: {e}"))
    }
}

/// A verified bearer token and the employee it names, freshly read.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: AccessClaims,
    pub employee: Employee,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::Employee {
            id: self.employee.id,
            employee_id: self.employee.employee_id.clone(),
        }
    }
}

enum Admission {
    Admitted {
        employee: Option<Box<Employee>>,
        attempt: i64,
    },
    Locked {
        until: DateTime<Utc>,
    },
    RateLimited {
        retry_after: i64,
    },
}

/// API-3: employee ID + password -> tokens.
#[tracing::instrument(skip(state, password, device_label), fields(employee_id = %employee_id))]
pub async fn authenticate(
    state: &AppState,
    employee_id: EmployeeId,
    password: Password,
    device_label: Option<String>,
    client: ClientInfo,
) -> Result<TokenSet, AuthError> {
    let admission = admit(state, &employee_id, &client).await?;
    let (employee, attempt) = match admission {
        Admission::Admitted { employee, attempt } => (employee, attempt),
        Admission::Locked { until } => {
            Metrics::inc(&state.metrics.logins_locked);
            return Err(AuthError::Locked { until });
        }
        Admission::RateLimited { retry_after } => {
            Metrics::inc(&state.metrics.logins_rate_limited);
            return Err(AuthError::RateLimited { retry_after });
        }
    };

    let hash = employee.as_ref().and_then(|e| e.password_hash.clone());
    let verified = state.hashing.verify(&password, hash.as_deref()).await?;

    let st = state.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let now = st.clock.now_naive();
        conn.transaction::<_, AuthError, _>(|conn| match (&employee, verified) {
            (Some(emp), true) if emp.status() == EmployeeStatus::Active => {
                attempts::mark_success(conn, attempt)?;
                employees::mark_signed_in(conn, emp.id, now)?;
                history::write(
                    conn,
                    Record {
                        event: Event::PasswordLoginOk,
                        employee: Some(emp.id),
                        code: Some(&emp.employee_id),
                        actor: None,
                        client: &client,
                        detail: json!({ "mustChange": emp.password_must_change }),
                        now,
                    },
                )?;
                let set = sessions::issue(conn, &st, emp, device_label.as_deref(), now)?;
                Ok(Ok(set))
            }
            (Some(emp), true) => {
                // Right password for a suspended or retired account: not a guessing failure.
                attempts::mark_success(conn, attempt)?;
                history::write(
                    conn,
                    Record {
                        event: Event::PasswordLoginFailed,
                        employee: Some(emp.id),
                        code: Some(&emp.employee_id),
                        actor: None,
                        client: &client,
                        detail: json!({ "reason": "disabled", "status": emp.status }),
                        now,
                    },
                )?;
                Ok(Err(AuthError::Disabled))
            }
            (Some(emp), false) => {
                // The failure that locks still answers "invalid credentials"; the next
                // attempt learns about the lock (and runs no bcrypt).
                if register_failure(conn, &st, emp, &client, "wrong_password", now)?.is_some() {
                    Metrics::inc(&st.metrics.accounts_locked);
                }
                Ok(Err(AuthError::InvalidCredentials))
            }
            (None, _) => {
                history::write(
                    conn,
                    Record {
                        event: Event::PasswordLoginFailed,
                        employee: None,
                        code: Some(employee_id.as_str()),
                        actor: None,
                        client: &client,
                        detail: json!({ "reason": "unknown_employee" }),
                        now,
                    },
                )?;
                Ok(Err(AuthError::InvalidCredentials))
            }
        })
    })
    .await?;
    match &outcome {
        Ok(_) => Metrics::inc(&state.metrics.logins_ok),
        Err(_) => Metrics::inc(&state.metrics.logins_failed),
    }
    outcome
}

/// Counts one failed password; returns the lock end when this failure locked the account.
fn register_failure(
    conn: &mut diesel::MysqlConnection,
    state: &AppState,
    emp: &Employee,
    client: &ClientInfo,
    reason: &str,
    now: chrono::NaiveDateTime,
) -> Result<Option<chrono::NaiveDateTime>, AuthError> {
    let limits = &state.settings.limits;
    let until = now + Duration::minutes(limits.lockout_minutes);
    employees::record_failure(conn, emp.id, limits.lockout_threshold, until, now)?;
    let after = employees::find(conn, emp.id)?.ok_or(AuthError::NotFound)?;
    history::write(
        conn,
        Record {
            event: Event::PasswordLoginFailed,
            employee: Some(emp.id),
            code: Some(&emp.employee_id),
            actor: None,
            client,
            detail: json!({ "reason": reason, "failedCount": after.failed_login_count }),
            now,
        },
    )?;
    // Increments are atomic, so exactly one failure observes the threshold itself.
    if after.failed_login_count == limits.lockout_threshold {
        history::write(
            conn,
            Record {
                event: Event::Locked,
                employee: Some(emp.id),
                code: Some(&emp.employee_id),
                actor: None,
                client,
                detail: json!({
                    "failedCount": after.failed_login_count,
                    "lockedUntil": to_utc(until).to_rfc3339(),
                }),
                now,
            },
        )?;
        return Ok(Some(until));
    }
    Ok(None)
}

/// Decides whether this attempt may run bcrypt at all.
///
/// The attempt is first written, committed on its own, as a pending failure; its id is its
/// rank. It is admitted only if it ranks within the limits among the failures of the window
/// (`id <= own id`), so parallel attempts, on one node or many, cannot all read "0 so far"
/// and slip past the per-(ID, address) limit or the per-address ceiling. The employee's row
/// lock additionally serialises admissions for one account. Refused attempts are removed
/// again, so only evaluated passwords count.
async fn admit(
    state: &AppState,
    employee_id: &EmployeeId,
    client: &ClientInfo,
) -> Result<Admission, AuthError> {
    let st = state.clone();
    let code = employee_id.as_str().to_owned();
    let key = employee_id.rate_limit_key();
    let client = client.clone();
    db::run(&state.pool, move |conn| {
        let now = st.clock.now_naive();
        let limits = st.settings.limits.clone();
        let since = now - Duration::minutes(limits.window_minutes);
        let attempt = attempts::insert_pending(conn, &key, &client.ip, now)?;
        let decision = conn.transaction::<_, AuthError, _>(|conn| {
            let mut employee = employees::find_by_code_for_update(conn, &code)?;
            if let Some(emp) = &employee {
                if let Some(until) = emp.locked_until.filter(|u| *u > now) {
                    history::write(
                        conn,
                        Record {
                            event: Event::PasswordLoginFailed,
                            employee: Some(emp.id),
                            code: Some(&emp.employee_id),
                            actor: None,
                            client: &client,
                            detail: json!({ "reason": "locked" }),
                            now,
                        },
                    )?;
                    return Ok(Admission::Locked {
                        until: to_utc(until),
                    });
                }
                if emp.locked_until.is_some()
                    && employees::clear_expired_lock(conn, emp.id, now)? > 0
                {
                    employee = employees::find(conn, emp.id)?;
                }
            }
            let retry_after = |oldest: Option<chrono::NaiveDateTime>| {
                oldest
                    .map(|o| (o + Duration::minutes(limits.window_minutes) - now).num_seconds() + 1)
                    .unwrap_or(60)
                    .max(1)
            };
            let (rank, oldest) =
                attempts::failures_for_key_ip(conn, &key, &client.ip, since, attempt)?;
            let wait = if rank > limits.key_ip_failures {
                Some(retry_after(oldest))
            } else {
                let (ip_rank, oldest_ip) =
                    attempts::failures_for_ip(conn, &client.ip, since, attempt)?;
                (ip_rank > limits.ip_failures).then(|| retry_after(oldest_ip))
            };
            if let Some(wait) = wait {
                history::write(
                    conn,
                    Record {
                        event: Event::PasswordLoginFailed,
                        employee: employee.as_ref().map(|e| e.id),
                        code: Some(&code),
                        actor: None,
                        client: &client,
                        detail: json!({ "reason": "rate_limited", "retryAfter": wait }),
                        now,
                    },
                )?;
                return Ok(Admission::RateLimited { retry_after: wait });
            }
            Ok(Admission::Admitted {
                employee: employee.map(Box::new),
                attempt,
            })
        });
        if !matches!(decision, Ok(Admission::Admitted { .. })) {
            attempts::delete(conn, attempt)?;
        }
        decision
    })
    .await
}

/// Checks a bearer token: signature, expiry, that its session is still live and that the
/// employee may still sign in. `allow_setup` admits setup (password-change-only) tokens.
pub async fn principal(
    state: &AppState,
    token: &str,
    allow_setup: bool,
) -> Result<Principal, AuthError> {
    let now = state.clock.now();
    let claims = state
        .keys
        .verify(token, now)
        .ok_or(AuthError::Unauthorized)?;
    if claims.scope == Scope::PasswordChange && !allow_setup {
        return Err(AuthError::PasswordChangeRequired);
    }
    let id: i64 = claims.sub.parse().map_err(|_| AuthError::Unauthorized)?;
    let st = state.clone();
    let sid = claims.sid.clone();
    let scope = claims.scope;
    let pwv = claims.pwv;
    let employee = db::run(&state.pool, move |conn| {
        let emp = employees::find(conn, id)?.ok_or(AuthError::Unauthorized)?;
        if emp.status() != EmployeeStatus::Active {
            return Err(AuthError::Unauthorized);
        }
        let live = match scope {
            Scope::Full => crate::db::queries::refresh_tokens::family_is_active(
                conn,
                &sid,
                st.clock.now_naive(),
            )?,
            Scope::PasswordChange => emp.password_version() == pwv,
        };
        if live {
            Ok(emp)
        } else {
            Err(AuthError::Unauthorized)
        }
    })
    .await?;
    Ok(Principal { claims, employee })
}

/// A principal that may administer accounts (permission >= the configured admin level).
pub fn require_admin(state: &AppState, p: &Principal) -> Result<(), AuthError> {
    let needed = PermissionLevel::from_db(state.settings.admin_permission);
    if p.employee.permission().is_at_least(needed) {
        Ok(())
    } else {
        Err(AuthError::Forbidden)
    }
}

/// API-4. A setup session sets the first password without the current one; a full session
/// must prove the current password. Everything is validated before anything is written.
#[tracing::instrument(skip_all, fields(employee = principal.employee.id))]
pub async fn change_password(
    state: &AppState,
    principal: Principal,
    current: Option<Password>,
    new: Password,
    client: ClientInfo,
) -> Result<TokenSet, AuthError> {
    let emp = principal.employee.clone();
    let now = state.clock.now_naive();
    let via_setup = principal.claims.scope == Scope::PasswordChange;
    if !via_setup {
        if let Some(until) = emp.locked_until.filter(|u| *u > now) {
            return Err(AuthError::Locked {
                until: to_utc(until),
            });
        }
        let current = current.ok_or_else(|| {
            AuthError::Invalid(crate::domain::ParseError::new(
                "currentPassword",
                "現在のパスワードを入力してください。",
                "currentPassword is required.",
            ))
        })?;
        if !state
            .hashing
            .verify(&current, emp.password_hash.as_deref())
            .await?
        {
            let st = state.clone();
            let e2 = emp.clone();
            let c2 = client.clone();
            db::run(&state.pool, move |conn| {
                conn.transaction::<_, AuthError, _>(|conn| {
                    register_failure(
                        conn,
                        &st,
                        &e2,
                        &c2,
                        "wrong_current_password",
                        st.clock.now_naive(),
                    )
                })
            })
            .await?;
            return Err(AuthError::InvalidCredentials);
        }
    }

    let code = EmployeeId::parse(&emp.employee_id).map_err(AuthError::Invalid)?;
    let mut violations =
        passwords::check_new_password(&new, &code, state.settings.password_min_length);
    if !violations.contains(&Violation::TooLongBytes)
        && emp.password_hash.is_some()
        && state
            .hashing
            .verify(&new, emp.password_hash.as_deref())
            .await?
    {
        violations.push(Violation::SameAsCurrent);
    }
    if !violations.is_empty() {
        return Err(AuthError::Policy(violations));
    }
    let hash = state.hashing.hash(&new).await?;

    let st = state.clone();
    db::run(&state.pool, move |conn| {
        let now = st.clock.now_naive();
        conn.transaction::<_, AuthError, _>(|conn| {
            // Guarded by the password version we read: a setup token is spent by the first change.
            if employees::set_password(conn, emp.id, &hash.0, false, emp.password_updated_at, now)? != 1 {
                return Err(AuthError::Unauthorized);
            }
            let revoked = crate::db::queries::refresh_tokens::revoke_all_for_employee(conn, emp.id, None, now)?;
            attempts::clear_key(conn, &code.rate_limit_key())?;
            history::write(conn, Record {
                event: Event::PasswordChanged,
                employee: Some(emp.id),
                code: Some(&emp.employee_id),
                actor: None,
                client: &client,
                detail: json!({ "via": if via_setup { "setup_session" } else { "session" }, "sessionsRevoked": revoked }),
                now,
            })?;
            let fresh = employees::find(conn, emp.id)?.ok_or(AuthError::NotFound)?;
            sessions::issue(conn, &st, &fresh, None, now)
        })
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Unlocked {
    pub employee_id: String,
    pub was_locked: bool,
    pub at: DateTime<Utc>,
}

/// API-5 and `staffgate unlock`: clears the lock, the failure count and the rate-limit window
/// so the employee can sign in at once; recorded with actor and reason.
#[tracing::instrument(skip(state, client), fields(employee_id = %employee_id))]
pub async fn unlock(
    state: &AppState,
    actor: Actor,
    employee_id: EmployeeId,
    reason: String,
    client: ClientInfo,
) -> Result<Unlocked, AuthError> {
    let st = state.clone();
    db::run(&state.pool, move |conn| {
        let now = st.clock.now_naive();
        conn.transaction::<_, AuthError, _>(|conn| {
            let emp = employees::find_by_code_for_update(conn, employee_id.as_str())?
                .ok_or(AuthError::NotFound)?;
            let was_locked = employees::unlock(conn, emp.id, now)?;
            let cleared = attempts::clear_key(conn, &employee_id.rate_limit_key())?;
            history::write(
                conn,
                Record {
                    event: Event::Unlocked,
                    employee: Some(emp.id),
                    code: Some(&emp.employee_id),
                    actor: actor.id(),
                    client: &client,
                    detail: json!({
                        "reason": reason,
                        "actor": actor.label(),
                        "wasLocked": was_locked,
                        "failedCount": emp.failed_login_count,
                        "attemptsCleared": cleared,
                    }),
                    now,
                },
            )?;
            Ok(Unlocked {
                employee_id: emp.employee_id,
                was_locked,
                at: to_utc(now),
            })
        })
    })
    .await
}

/// Validates an unlock reason: required, at most 500 characters.
pub fn parse_reason(raw: &str) -> Result<String, crate::domain::ParseError> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(crate::domain::ParseError::new(
            "reason",
            "解除の理由を入力してください。",
            "A reason is required.",
        ));
    }
    if r.chars().count() > 500 {
        return Err(crate::domain::ParseError::new(
            "reason",
            "理由は500文字以内で入力してください。",
            "The reason must be at most 500 characters.",
        ));
    }
    Ok(r.to_owned())
}
