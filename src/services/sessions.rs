//! Token sets: access JWT + rotating refresh token; refresh, logout and reuse detection.

use chrono::{Duration, NaiveDateTime};
use diesel::MysqlConnection;
use serde_json::json;

use super::auth_error::{AuthError, TokenProblem};
use super::history::{self, Event, Record};
use super::jwt::{ACCESS_TTL_SECONDS, AccessClaims, ISSUER, Scope};
use super::policy;
use super::principal::{ClientInfo, Principal};
use crate::db::models::Employee;
use crate::db::queries::{employees, refresh_tokens};
use crate::domain::token::random_hex;
use crate::domain::{Amr, EmployeeStatus, ExpiryPolicy, PlainToken};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::state::AppState;

pub const REFRESH_TTL_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct PasswordStatus {
    /// Only a password change is allowed: an initial password, or an expired one.
    pub must_change: bool,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The owner should be told that the password expires soon (or has expired).
    pub warn: bool,
    pub expired: bool,
}

impl PasswordStatus {
    pub fn of(emp: &Employee, policy: &ExpiryPolicy, now: NaiveDateTime) -> Self {
        let initial = emp.password_must_change || emp.password_hash.is_none();
        let expires = emp.password_hash.as_ref().and_then(|_| {
            policy.expires_at(
                emp.password_updated_at,
                emp.password_length_class,
                emp.password_expiry_offset_days,
            )
        });
        let expired = expires.is_some_and(|t| t <= now);
        Self {
            must_change: initial || expired,
            expires_at: expires.map(to_utc),
            warn: expires.is_some_and(|t| policy.warn_from(t) <= now),
            expired,
        }
    }

    /// Reads the policy in force and applies it to `emp`.
    pub fn load(
        conn: &mut MysqlConnection,
        state: &AppState,
        emp: &Employee,
        now: NaiveDateTime,
    ) -> Result<Self, AuthError> {
        let policy = policy::current(conn, &state.settings)?;
        Ok(Self::of(emp, &policy, now))
    }
}

/// The password status of `emp` under the policy in force now.
pub async fn password_status(state: &AppState, emp: Employee) -> Result<PasswordStatus, AuthError> {
    state
        .read(move |conn, st, now| PasswordStatus::load(conn, st, &emp, now))
        .await
}

/// What a successful sign-in hands out. `refresh_token` is None for a setup session.
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<PlainToken>,
    pub refresh_expires_in: Option<i64>,
    pub scope: Scope,
    pub password_status: PasswordStatus,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

pub fn sign_access(
    state: &AppState,
    emp: &Employee,
    scope: Scope,
    sid: &str,
    amr: Amr,
    now: NaiveDateTime,
) -> Result<String, AuthError> {
    let iat = now.and_utc().timestamp();
    let claims = AccessClaims {
        iss: ISSUER.into(),
        sub: emp.id.to_string(),
        employee_id: emp.employee_id.clone(),
        name: emp.name.clone(),
        permission_level: emp.permission_level,
        scope,
        sid: sid.to_owned(),
        pwv: emp.password_version(),
        amr: amr.names().into_iter().map(str::to_owned).collect(),
        iat,
        exp: iat + ACCESS_TTL_SECONDS,
        jti: random_hex(12),
    };
    Ok(state.keys.sign(&claims)?)
}

pub const SETUP_TTL_MINUTES: i64 = 15;

/// A setup session: an access token that can only change the password. It is backed by a
/// refresh family of its own (whose refresh token is never handed out), so logout and a
/// password change end it at once like any other session.
pub fn setup_session(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    amr: Amr,
    now: NaiveDateTime,
) -> Result<TokenSet, AuthError> {
    let family = random_hex(16);
    refresh_tokens::insert(
        conn,
        &refresh_tokens::NewRefresh {
            hash: &PlainToken::generate().hash(),
            family: &family,
            employee: emp.id,
            device_label: Some("setup"),
            now,
            expires_at: now + Duration::minutes(SETUP_TTL_MINUTES),
            amr: &amr.as_stored(),
        },
    )?;
    Ok(TokenSet {
        access_token: sign_access(state, emp, Scope::PasswordChange, &family, amr, now)?,
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token: None,
        refresh_expires_in: None,
        scope: Scope::PasswordChange,
        password_status: PasswordStatus::load(conn, state, emp, now)?,
    })
}

/// Issues tokens after a successful sign-in, inside the caller's transaction. An employee who
/// must change the password first gets a setup session only.
pub fn issue(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    device_label: Option<&str>,
    amr: Amr,
    now: NaiveDateTime,
) -> Result<TokenSet, AuthError> {
    let status = PasswordStatus::load(conn, state, emp, now)?;
    if status.must_change {
        return setup_session(conn, state, emp, amr, now);
    }
    let family = random_hex(16);
    let refresh = PlainToken::generate();
    refresh_tokens::insert(
        conn,
        &refresh_tokens::NewRefresh {
            hash: &refresh.hash(),
            family: &family,
            employee: emp.id,
            device_label,
            now,
            expires_at: now + Duration::days(REFRESH_TTL_DAYS),
            amr: &amr.as_stored(),
        },
    )?;
    Ok(TokenSet {
        access_token: sign_access(state, emp, Scope::Full, &family, amr, now)?,
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token: Some(refresh),
        refresh_expires_in: Some(REFRESH_TTL_DAYS * 86_400),
        scope: Scope::Full,
        password_status: status,
    })
}

enum RefreshOutcome {
    Rotated(TokenSet),
    Refused(AuthError),
}

/// Rotates a refresh token. Presenting a token that was already rotated revokes the whole
/// family (the token was copied), and that revocation is committed even though the call fails.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: &AppState,
    token: PlainToken,
    client: ClientInfo,
) -> Result<TokenSet, AuthError> {
    let outcome = state
        .transaction(move |conn, st, now| {
            let Some(row) = refresh_tokens::find_by_hash_for_update(conn, &token.hash())? else {
                return Ok(RefreshOutcome::Refused(AuthError::RefreshInvalid(
                    TokenProblem::Unknown,
                )));
            };
            if row.revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused(AuthError::RefreshInvalid(
                    TokenProblem::Revoked,
                )));
            }
            if row.replaced_by.is_some() {
                let n = refresh_tokens::revoke_family(conn, &row.family, now)?;
                history::write(
                    conn,
                    Record {
                        event: Event::RefreshReuseDetected,
                        employee: Some(row.employee_ref),
                        code: None,
                        actor: None,
                        client: &client,
                        detail: json!({ "family": row.family, "revoked": n }),
                        now,
                    },
                )?;
                return Ok(RefreshOutcome::Refused(AuthError::RefreshInvalid(
                    TokenProblem::Used,
                )));
            }
            if row.expires_at <= now {
                return Ok(RefreshOutcome::Refused(AuthError::RefreshInvalid(
                    TokenProblem::Expired,
                )));
            }
            let emp = employees::find(conn, row.employee_ref)?.ok_or(AuthError::Unauthorized)?;
            if emp.status() != EmployeeStatus::Active {
                refresh_tokens::revoke_family(conn, &row.family, now)?;
                return Ok(RefreshOutcome::Refused(AuthError::Disabled));
            }
            // An expired password turns a refresh into a setup session: change first.
            let status = PasswordStatus::load(conn, st, &emp, now)?;
            let amr = Amr::parse_stored(&row.amr);
            if status.must_change {
                return setup_session(conn, st, &emp, amr, now).map(RefreshOutcome::Rotated);
            }
            let next = PlainToken::generate();
            let next_id = refresh_tokens::insert(
                conn,
                &refresh_tokens::NewRefresh {
                    hash: &next.hash(),
                    family: &row.family,
                    employee: emp.id,
                    device_label: row.device_label.as_deref(),
                    now,
                    expires_at: now + Duration::days(REFRESH_TTL_DAYS),
                    amr: &row.amr,
                },
            )?;
            if !refresh_tokens::mark_replaced(conn, row.id, next_id, now)? {
                return Err(AuthError::RefreshInvalid(TokenProblem::Used));
            }
            history::write(
                conn,
                Record::about(
                    Event::Refresh,
                    &emp,
                    &client,
                    json!({ "family": row.family }),
                    now,
                ),
            )?;
            Ok(RefreshOutcome::Rotated(TokenSet {
                access_token: sign_access(st, &emp, Scope::Full, &row.family, amr, now)?,
                expires_in: ACCESS_TTL_SECONDS,
                refresh_token: Some(next),
                refresh_expires_in: Some(REFRESH_TTL_DAYS * 86_400),
                scope: Scope::Full,
                password_status: status,
            }))
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(set) => {
            Metrics::inc(&state.metrics.refreshes);
            Ok(set)
        }
        RefreshOutcome::Refused(e) => Err(e),
    }
}

/// Ends the session the bearer token belongs to (its whole refresh family).
pub async fn logout(
    state: &AppState,
    principal: Principal,
    client: ClientInfo,
) -> Result<(), AuthError> {
    state
        .transaction(move |conn, _, now| {
            let n = if principal.claims.sid.is_empty() {
                0
            } else {
                refresh_tokens::revoke_family(conn, &principal.claims.sid, now)?
            };
            history::write(
                conn,
                Record {
                    event: Event::Logout,
                    employee: Some(principal.employee.id),
                    code: Some(&principal.employee.employee_id),
                    actor: None,
                    client: &client,
                    detail: json!({ "revoked": n, "at": to_utc(now).to_rfc3339() }),
                    now,
                },
            )?;
            Ok(())
        })
        .await
}
