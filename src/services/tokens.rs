//! One-time onboarding tokens: issue (revoking older ones) and single-use redemption.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{MysqlConnection, QueryResult};
use serde_json::json;

use super::auth_error::{AuthError, TokenProblem};
use super::history::{self, Event, Record};
use super::principal::{Actor, ClientInfo};
use super::qr;
use super::sessions::{self, TokenSet};
use crate::db::models::Employee;
use crate::db::queries::{attempts, employees, onetime_tokens};
use crate::domain::{
    Amr, EmployeeId, EmployeeStatus, PlainToken, TokenHash, TokenPurpose, ValidityHours,
};
use crate::metrics::Metrics;
use crate::services::clock::to_utc;
use crate::state::AppState;

#[derive(Clone)]
pub struct IssuedToken {
    pub token_id: i64,
    pub employee_id: String,
    pub token: PlainToken,
    pub expires_at: DateTime<Utc>,
    pub login_url: String,
    pub qr_data_url: String,
    pub revoked_count: usize,
}

/// The login URL and QR hold the secret: Debug shows neither.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_id", &self.token_id)
            .field("employee_id", &self.employee_id)
            .field("expires_at", &self.expires_at)
            .field("revoked_count", &self.revoked_count)
            .finish_non_exhaustive()
    }
}

pub fn login_url(public_url: &str, token: &PlainToken) -> String {
    format!(
        "{}/welcome#t={}",
        public_url.trim_end_matches('/'),
        token.expose()
    )
}

/// How a batch of one-time tokens is handed out: by whom, to which client, for what and how
/// long. `via` names the channel when it is not the API or the CLI (the account sheet).
pub struct Grant<'a> {
    pub actor: &'a Actor,
    pub client: &'a ClientInfo,
    pub purpose: TokenPurpose,
    pub validity: ValidityHours,
    pub via: Option<&'static str>,
}

/// A token stored by `Grant::store`.
pub struct Stored {
    pub id: i64,
    pub expires_at: NaiveDateTime,
    /// The employee's older unused tokens that it revoked.
    pub revoked: usize,
}

impl Grant<'_> {
    /// Inside the caller's transaction: stores `hash` as the employee's one open token,
    /// revokes every other unused token of theirs, and records both in the login history.
    pub fn store(
        &self,
        conn: &mut MysqlConnection,
        emp: &Employee,
        hash: &TokenHash,
        now: NaiveDateTime,
    ) -> QueryResult<Stored> {
        let actor = self.actor;
        let expires_at = now + self.validity.duration();
        let id = onetime_tokens::insert(
            conn,
            emp.id,
            hash,
            self.purpose.as_str(),
            actor.id(),
            now,
            expires_at,
        )?;
        let revoked = onetime_tokens::revoke_others(conn, emp.id, id, now)?;
        let about = |event, detail| Record {
            event,
            employee: Some(emp.id),
            code: Some(&emp.employee_id),
            actor: actor.id(),
            client: self.client,
            detail,
            now,
        };
        if revoked > 0 {
            history::write(
                conn,
                about(
                    Event::TokenRevoked,
                    json!({ "count": revoked, "reason": "reissued", "replacedBy": id }),
                ),
            )?;
        }
        let mut issued = json!({
            "tokenId": id,
            "purpose": self.purpose.as_str(),
            "validityHours": self.validity.hours(),
            "expiresAt": to_utc(expires_at).to_rfc3339(),
            "actor": actor.label(),
        });
        if let Some(via) = self.via {
            issued["via"] = via.into();
        }
        history::write(conn, about(Event::TokenIssued, issued))?;
        Ok(Stored {
            id,
            expires_at,
            revoked,
        })
    }
}

/// API-1 and `staffgate issue-token`. The new token and the revocation of every other unused
/// token of the employee commit together.
#[tracing::instrument(skip(state, client), fields(employee_id = %employee_id))]
pub async fn issue(
    state: &AppState,
    actor: Actor,
    employee_id: EmployeeId,
    validity: ValidityHours,
    purpose: TokenPurpose,
    client: ClientInfo,
) -> Result<IssuedToken, AuthError> {
    // Everything that can fail without the database (the secret, the QR image) is done
    // before the transaction that revokes the older tokens.
    let token = PlainToken::generate();
    let url = login_url(&state.settings.http.public_url, &token);
    let qr_url = url.clone();
    let qr_data_url = tokio::task::spawn_blocking(move || qr::png_data_url(&qr_url))
        .await
        .map_err(|_| AuthError::Internal("QR task failed".into()))?
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let token_hash = token.hash();
    let issued = state
        .transaction(move |conn, _, now| {
            let emp = employees::find_by_code_for_update(conn, employee_id.as_str())?
                .ok_or(AuthError::NotFound)?;
            if emp.status() != EmployeeStatus::Active {
                return Err(AuthError::Disabled);
            }
            // A token is the account: nobody hands out one for an account above their own level.
            actor.may_act_on(&emp)?;
            let grant = Grant {
                actor: &actor,
                client: &client,
                purpose,
                validity,
                via: None,
            };
            let Stored {
                id,
                expires_at,
                revoked,
            } = grant.store(conn, &emp, &token_hash, now)?;
            Ok((id, emp.employee_id, expires_at, revoked))
        })
        .await?;
    Metrics::inc(&state.metrics.onetime_issued);
    let (token_id, employee_id, expires_at, revoked_count) = issued;
    Ok(IssuedToken {
        token_id,
        employee_id,
        login_url: url,
        qr_data_url,
        token,
        expires_at: to_utc(expires_at),
        revoked_count,
    })
}

/// The result of a QR sign-in: a setup session and whom it belongs to.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub session: TokenSet,
    pub employee: Employee,
}

/// API-2. Exactly one caller can redeem a token, under any concurrency: the redemption is one
/// conditional UPDATE and the caller must see exactly one matched row.
#[tracing::instrument(skip_all)]
pub async fn redeem(
    state: &AppState,
    token: PlainToken,
    client: ClientInfo,
) -> Result<Redeemed, AuthError> {
    let hash = token.hash();
    let redeemed = state
        .transaction(
            move |conn, st, now| -> Result<Result<Redeemed, AuthError>, AuthError> {
                let row = onetime_tokens::find_by_hash(conn, &hash)?
                    .ok_or(AuthError::Token(TokenProblem::Unknown))?;
                let emp = employees::find(conn, row.employee_ref)?
                    .ok_or(AuthError::Token(TokenProblem::Unknown))?;
                let refusal = if emp.status() != EmployeeStatus::Active {
                    Some(AuthError::Disabled)
                } else if !onetime_tokens::redeem(conn, &hash, &client.ip, now)? {
                    let seen = onetime_tokens::find_by_hash(conn, &hash)?;
                    Some(AuthError::Token(match seen {
                        Some(t) if t.used_at.is_some() => TokenProblem::Used,
                        Some(t) if t.revoked_at.is_some() => TokenProblem::Revoked,
                        Some(_) => TokenProblem::Expired,
                        None => TokenProblem::Unknown,
                    }))
                } else {
                    None
                };
                if let Some(refusal) = refusal {
                    // A replayed or stale sheet is worth knowing about: the refusal is recorded
                    // (and committed) against the employee the token belongs to.
                    let reason = match &refusal {
                        AuthError::Token(p) => p.as_str(),
                        _ => "disabled",
                    };
                    history::write(
                        conn,
                        Record::about(
                            Event::TokenRejected,
                            &emp,
                            &client,
                            json!({ "tokenId": row.id, "reason": reason }),
                            now,
                        ),
                    )?;
                    return Ok(Err(refusal));
                }
                // Possession of the sheet proves the person: clear failures and any lock.
                employees::unlock(conn, emp.id, now)?;
                let code = EmployeeId::parse(&emp.employee_id).map_err(AuthError::Invalid)?;
                attempts::clear_key(conn, &code.rate_limit_key())?;
                history::write(
                    conn,
                    Record::about(
                        Event::TokenUsed,
                        &emp,
                        &client,
                        json!({ "tokenId": row.id, "purpose": row.purpose }),
                        now,
                    ),
                )?;
                history::write(
                    conn,
                    Record::about(
                        Event::QrLogin,
                        &emp,
                        &client,
                        json!({ "tokenId": row.id, "session": "setup" }),
                        now,
                    ),
                )?;
                let fresh = employees::find(conn, emp.id)?.ok_or(AuthError::NotFound)?;
                Ok(Ok(Redeemed {
                    session: sessions::setup_session(conn, st, &fresh, Amr::default(), now)?,
                    employee: fresh,
                }))
            },
        )
        .await??;
    Metrics::inc(&state.metrics.onetime_redeemed);
    Ok(redeemed)
}

/// Revokes one open token of the employee (an admin's act, recorded). False when the token
/// was already used, revoked or expired, or is not this employee's.
#[tracing::instrument(skip(state, client), fields(employee_id = %employee_id))]
pub async fn revoke(
    state: &AppState,
    actor: Actor,
    employee_id: EmployeeId,
    token_id: i64,
    client: ClientInfo,
) -> Result<bool, AuthError> {
    state
        .transaction(move |conn, _, now| {
        let emp = employees::find_by_code(conn, employee_id.as_str())?
            .ok_or(AuthError::NotFound)?;
        actor.may_act_on(&emp)?;
        if !onetime_tokens::revoke_one(conn, emp.id, token_id, now)? {
            return Ok(false);
        }
        history::write(
            conn,
            Record {
                event: Event::TokenRevoked,
                employee: Some(emp.id),
                code: Some(&emp.employee_id),
                actor: actor.id(),
                client: &client,
                detail: json!({ "tokenId": token_id, "reason": "revoked_by_admin", "actor": actor.label() }),
                now,
            },
        )?;
        Ok(true)
        })
        .await
}
