//! Sign-in use cases of the API and the portal: password sign-in, bearer checks, password
//! change and unlock; every password check among them is admitted and settled by `signin`.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::auth_error::{AuthError, TokenProblem};
use super::history::{self, Event, Record};
use super::jwt::Scope;
use super::mfa;
use super::passwords::{self, Violation};
use super::principal::{Actor, ClientInfo, Principal};
use super::sessions::{self, TokenSet};
use super::signin::{self, Verdict};
use crate::db;
use crate::db::models::Employee;
use crate::db::queries::{attempts, employees, mfa_tokens};
use crate::domain::{
    Amr, EmployeeId, EmployeeStatus, Password, PermissionLevel, PlainToken, SecondCode,
};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::state::AppState;

/// API-3: employee ID + password -> tokens, or, for an account with a second factor, a
/// short-lived single-use token for the second step (`complete_second_step`).
#[tracing::instrument(skip(state, password, device_label), fields(employee_id = %employee_id))]
pub async fn authenticate(
    state: &AppState,
    employee_id: EmployeeId,
    password: Password,
    device_label: Option<String>,
    client: ClientInfo,
) -> Result<TokenSet, AuthError> {
    let c2 = client.clone();
    sign_in_with_password(
        state,
        employee_id,
        password,
        client,
        move |conn, st, emp, now| {
            let factors = mfa::factors_in(conn, emp.id, now)?;
            history::write(
                conn,
                Record::about(
                    Event::PasswordLoginOk,
                    &emp,
                    &c2,
                    json!({
                        "mustChange": emp.password_must_change,
                        "secondFactor": if factors.any() { "pending" } else { "none" },
                    }),
                    now,
                ),
            )?;
            if factors.any() {
                let token = second_step_token(conn, &emp, device_label.as_deref(), now)?;
                return Ok(Err(AuthError::MfaRequired(token)));
            }
            employees::mark_signed_in(conn, emp.id, now)?;
            sessions::issue(conn, st, &emp, device_label.as_deref(), Amr::PASSWORD, now).map(Ok)
        },
    )
    .await
}

/// The token that carries a right password over to the second step (stored as its hash).
fn second_step_token(
    conn: &mut diesel::MysqlConnection,
    emp: &Employee,
    device_label: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<PlainToken, AuthError> {
    let token = PlainToken::generate();
    let expires = now + chrono::Duration::seconds(mfa::MFA_TOKEN_SECONDS);
    mfa_tokens::insert(conn, &token.hash(), emp.id, device_label, now, expires)?;
    Ok(token)
}

/// `POST /api/v2/auth/mfa`: the second step of an API sign-in. Wrong codes may be retried with
/// the same token until the second step locks; the token is spent by the first success.
#[tracing::instrument(skip_all)]
pub async fn complete_second_step(
    state: &AppState,
    token: PlainToken,
    code: SecondCode,
    client: ClientInfo,
) -> Result<TokenSet, AuthError> {
    let outcome = state
        .transaction(move |conn, st, now| {
            let Some((id, employee, device_label, expires_at, used_at)) =
                mfa_tokens::find(conn, &token.hash())?
            else {
                return Ok(Err(AuthError::MfaToken(TokenProblem::Unknown)));
            };
            if used_at.is_some() {
                return Ok(Err(AuthError::MfaToken(TokenProblem::Used)));
            }
            if expires_at <= now {
                return Ok(Err(AuthError::MfaToken(TokenProblem::Expired)));
            }
            let emp = employees::find(conn, employee)?.ok_or(AuthError::Unauthorized)?;
            if emp.status() != EmployeeStatus::Active {
                return Ok(Err(AuthError::Disabled));
            }
            let proof = match mfa::check_code(conn, st, &emp, &code, &client, now)? {
                Ok(proof) => proof,
                Err(refused) => return Ok(Err(refused)),
            };
            // Spent after the code was accepted: a parallel success with the same token
            // rolls this one back whole, its spent step included.
            if mfa_tokens::spend(conn, id, now)? != 1 {
                return Err(AuthError::MfaToken(TokenProblem::Used));
            }
            employees::mark_signed_in(conn, emp.id, now)?;
            sessions::issue(conn, st, &emp, device_label.as_deref(), proof.amr(), now).map(Ok)
        })
        .await?;
    match &outcome {
        Ok(_) => Metrics::inc(&state.metrics.logins_ok),
        Err(_) => Metrics::inc(&state.metrics.logins_failed),
    }
    outcome
}

/// A password sign-in under lockout and rate limits, shared by the API and the portal. When
/// the password is right, `finish` runs in the transaction that settles the attempt (a refusal
/// it returns as `Ok(Err(..))` still commits what it wrote).
pub async fn sign_in_with_password<T, F>(
    state: &AppState,
    employee_id: EmployeeId,
    password: Password,
    client: ClientInfo,
    finish: F,
) -> Result<T, AuthError>
where
    T: Send + 'static,
    F: FnMut(
            &mut diesel::MysqlConnection,
            &AppState,
            Employee,
            chrono::NaiveDateTime,
        ) -> Result<Result<T, AuthError>, AuthError>
        + Send
        + 'static,
{
    let mut finish = finish;
    let outcome = signin::attempt(
        state,
        employee_id,
        password,
        client,
        "wrong_password",
        move |conn, st, verdict, now| match verdict {
            Verdict::Accepted(emp) => finish(conn, st, *emp, now),
            Verdict::Disabled => Ok(Err(AuthError::Disabled)),
            Verdict::Rejected => Ok(Err(AuthError::InvalidCredentials)),
        },
    )
    .await?;
    match &outcome {
        Ok(_) => Metrics::inc(&state.metrics.logins_ok),
        // A right password that continues to the second step is neither yet.
        Err(AuthError::MfaRequired(_)) => {}
        Err(_) => Metrics::inc(&state.metrics.logins_failed),
    }
    outcome
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
        // Both kinds of session must still be live (not logged out, not ended by a password
        // change); a setup session is moreover spent by the first password change.
        let live =
            crate::db::queries::refresh_tokens::family_is_active(conn, &sid, st.clock.now_naive())?
                && (scope == Scope::Full || emp.password_version() == pwv);
        if live {
            Ok(emp)
        } else {
            Err(AuthError::Unauthorized)
        }
    })
    .await?;
    Ok(Principal { claims, employee })
}

/// A principal that may administer accounts (permission >= the configured admin level) and,
/// while admin 2FA is required, whose session was opened with a second factor.
pub fn require_admin(state: &AppState, p: &Principal) -> Result<(), AuthError> {
    let needed = PermissionLevel::from_db(state.settings.admin_permission);
    if !p.employee.permission().is_at_least(needed) {
        return Err(AuthError::Forbidden);
    }
    if state.settings.mfa.admin_required() && !p.claims.amr().has_second_factor() {
        return Err(AuthError::SecondFactorRequired);
    }
    Ok(())
}

/// How recent a sign-in must be to change the account's second factors over the API (a
/// stolen long-lived refresh token alone must not be enough).
pub const RECENT_SIGN_IN_MINUTES: i64 = 15;

/// Refuses a session opened more than `RECENT_SIGN_IN_MINUTES` ago (refreshing does not make
/// it younger).
pub async fn require_recent_sign_in(state: &AppState, p: &Principal) -> Result<(), AuthError> {
    let family = p.claims.sid.clone();
    let opened = state
        .read(move |conn, _, _| {
            crate::db::queries::refresh_tokens::family_opened_at(conn, &family)
                .map_err(AuthError::from)
        })
        .await?;
    let now = state.clock.now_naive();
    match opened {
        Some(t) if t > now - chrono::Duration::minutes(RECENT_SIGN_IN_MINUTES) => Ok(()),
        _ => Err(AuthError::RecentSignInRequired),
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
    let via_setup = principal.claims.scope == Scope::PasswordChange;
    let amr = principal.claims.amr();
    // A session opened with the password alone (before the account had a second factor)
    // cannot change the password of an account that has one now: nothing is written.
    if !via_setup && !amr.has_second_factor() {
        let factors = mfa::factors(state, principal.employee.id).await?;
        if factors.any() {
            return Err(AuthError::SecondFactorRequired);
        }
    }
    change_password_of(
        state,
        principal.employee,
        via_setup,
        current,
        new,
        client,
        move |conn, st, fresh, now| {
            // A setup session (QR sheet) proves no second factor: an account that has one
            // continues to the second step with its new password set.
            if !amr.has_second_factor() && mfa::factors_in(conn, fresh.id, now)?.any() {
                let token = second_step_token(conn, fresh, None, now)?;
                return Ok(Err(AuthError::MfaRequired(token)));
            }
            sessions::issue(conn, st, fresh, None, amr, now).map(Ok)
        },
    )
    .await?
}

/// Changes an employee's password (API-4 and the portal). `via_setup` skips the proof of the
/// current password (a QR setup session). Every API and portal session of the employee ends;
/// `finish` runs in the same transaction with the updated row (new tokens, a new session).
pub async fn change_password_of<T, F>(
    state: &AppState,
    emp: Employee,
    via_setup: bool,
    current: Option<Password>,
    new: Password,
    client: ClientInfo,
    finish: F,
) -> Result<T, AuthError>
where
    T: Send + 'static,
    F: FnMut(
            &mut diesel::MysqlConnection,
            &AppState,
            &Employee,
            chrono::NaiveDateTime,
        ) -> Result<T, AuthError>
        + Send
        + 'static,
{
    let code = EmployeeId::parse(&emp.employee_id).map_err(AuthError::Invalid)?;
    if !via_setup {
        let current = current.ok_or_else(|| {
            AuthError::Invalid(crate::domain::ParseError::new(
                "currentPassword",
                "現在のパスワードを入力してください。",
                "currentPassword is required.",
            ))
        })?;
        // Proving the current password is a password check like a sign-in: same lockout,
        // same rate limits, same ledger.
        // A refusal is returned inside Ok so that its history commits.
        signin::attempt(
            state,
            code.clone(),
            current,
            client.clone(),
            "wrong_current_password",
            |_, _, verdict, _| match verdict {
                Verdict::Accepted(_) => Ok(Ok(())),
                Verdict::Disabled => Ok(Err(AuthError::Unauthorized)),
                Verdict::Rejected => Ok(Err(AuthError::InvalidCredentials)),
            },
        )
        .await??;
    }

    let mut violations =
        passwords::check_new_password(&new, &code, state.settings.passwords.min_length);
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
    let length_class = crate::domain::expiry::length_class(&new);

    let mut finish = finish;
    state
        .transaction(move |conn, st, now| {
            // Guarded by the password version we read: a setup token is spent by the first change.
            let first_choice = emp.password_hash.is_none() || emp.password_must_change;
            let row = employees::NewPassword {
                hash: &hash.0,
                must_change: false,
                length_class,
                expiry_offset_days: if first_choice { emp.password_expiry_offset_days } else { 0 },
            };
            if employees::set_password(conn, emp.id, &row, emp.password_updated_at, now)? != 1 {
                return Err(AuthError::Unauthorized);
            }
            let revoked = crate::db::queries::refresh_tokens::revoke_all_for_employee(conn, emp.id, None, now)?;
            crate::db::queries::portal_sessions::delete_for_employee(conn, emp.id, None)?;
            attempts::clear_key(conn, &code.rate_limit_key())?;
            history::write(conn, Record::about(Event::PasswordChanged, &emp, &client, json!({ "via": if via_setup { "setup_session" } else { "session" }, "sessionsRevoked": revoked }), now))?;
            let fresh = employees::find(conn, emp.id)?.ok_or(AuthError::NotFound)?;
            finish(conn, st, &fresh, now)
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
    state
        .transaction(move |conn, _, now| {
            let emp = employees::find_by_code_for_update(conn, employee_id.as_str())?
                .ok_or(AuthError::NotFound)?;
            actor.may_act_on(&emp)?;
            let was_locked = employees::unlock(conn, emp.id, now)?;
            // The second step's lock too: the admin has spoken with the person.
            let second_step =
                crate::db::queries::second_factors::clear_failures(conn, emp.id, now)? > 0;
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
                        "secondStepCleared": second_step,
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
