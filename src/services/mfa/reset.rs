//! Resetting another account's second factors, and rolling a reset back.
//!
//! A reset removes the account's authenticator app, recovery codes and passkeys, ends its
//! sessions and makes it enrol again at its next sign-in. What it removed is kept in the reset's
//! row, sealed with AES-256-GCM under the reset-log key (`STAFFGATE_MFA_RESET_LOG_KEY`, named by
//! its id in the row) and bound to the row by its associated data, so that within
//! `STAFFGATE_MFA_ROLLBACK_DAYS` the reset can be undone exactly: the old phone works again and
//! used recovery codes stay used. After the window the payload is erased; the row stays as the
//! record. `rekey` re-seals every row under the current key; `verify` opens them all and counts.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::MysqlConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{FactorChange, factors_in, open_secret, seal_secret};
use crate::config::Settings;
use crate::config::mfa::SealKey;
use crate::db::models::{MfaReset, PasskeyRow};
use crate::db::queries::{
    employees, mfa_resets, passkeys, portal_sessions, recovery_codes, refresh_tokens,
    second_factors,
};
use crate::domain::EmployeeId;
use crate::services::auth_error::AuthError;
use crate::services::clock::to_utc;
use crate::services::history::{self, Event, Record};
use crate::services::outbox;
use crate::services::principal::{Actor, ClientInfo};
use crate::services::sealed::Sealer;
use crate::state::AppState;

/// What a reset removed, as sealed in its row.
#[derive(Serialize, Deserialize)]
struct Payload {
    totp: Option<SealedTotp>,
    recovery: Vec<SavedCode>,
    passkeys: Vec<SavedPasskey>,
}

#[derive(Serialize, Deserialize)]
struct SealedTotp {
    /// The base32 secret (only ever inside the sealed payload).
    secret: String,
    last_step: i64,
    confirmed_at: NaiveDateTime,
}

#[derive(Serialize, Deserialize)]
struct SavedCode {
    hash: String,
    created_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

#[derive(Serialize, Deserialize)]
struct SavedPasskey {
    credential_id_hash: String,
    label: String,
    credential: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

fn sealer(key: &SealKey) -> Sealer {
    Sealer::derive(&key.bytes, "mfa-reset-log")
}

/// Binds a payload to its row: the account and the reset's time (microseconds).
fn context(target: i64, created_at: NaiveDateTime) -> String {
    format!(
        "mfa-reset:v1:{target}:{}",
        created_at.and_utc().timestamp_micros()
    )
}

/// Opens a row's payload with whichever configured key the row names.
fn open_row(settings: &Settings, row: &MfaReset) -> Option<String> {
    let sealed = row.sealed_payload.as_deref()?;
    let key = settings
        .mfa
        .reset_log_keys()
        .find(|k| Some(k.id.as_str()) == row.key_id.as_deref())?;
    sealer(key).open(sealed, &context(row.target_ref, row.created_at))
}

/// A reset done: the row that records it.
#[derive(Debug, Clone)]
pub struct ResetDone {
    pub id: i64,
    pub employee_id: String,
    pub removed_totp: bool,
    pub removed_passkeys: usize,
    pub removed_recovery_codes: usize,
}

/// Resets `target`'s second factors (never one's own, never above one's level; a reason is
/// required), keeping what was removed sealed in the reset's row.
#[tracing::instrument(skip(state, reason, client), fields(actor = %actor.label()))]
pub async fn reset(
    state: &AppState,
    actor: Actor,
    target: EmployeeId,
    reason: String,
    client: ClientInfo,
) -> Result<ResetDone, AuthError> {
    state
        .transaction(move |conn, st, now| {
            let emp = employees::find_by_code_for_update(conn, target.as_str())?
                .ok_or(AuthError::NotFound)?;
            if actor.id() == Some(emp.id) {
                return Err(AuthError::OwnAccount);
            }
            actor.may_act_on(&emp)?;
            let row = second_factors::lock(conn, emp.id, now)?;
            let totp = match (&row.totp_sealed, row.totp_confirmed_at) {
                (Some(sealed), Some(confirmed_at)) => Some(SealedTotp {
                    secret: open_secret(&st.settings, emp.id, sealed)
                        .ok_or_else(|| {
                            AuthError::Internal(
                                "the authenticator secret cannot be opened with STAFFGATE_MFA_KEY"
                                    .into(),
                            )
                        })?
                        .base32(),
                    last_step: row.totp_last_step,
                    confirmed_at,
                }),
                _ => None,
            };
            let recovery: Vec<SavedCode> = recovery_codes::all_for(conn, emp.id)?
                .into_iter()
                .map(|c| SavedCode {
                    hash: hex::encode(c.code_hash),
                    created_at: c.created_at,
                    used_at: c.used_at,
                })
                .collect();
            let keys: Vec<SavedPasskey> = passkeys::for_employee(conn, emp.id)?
                .into_iter()
                .map(|p| SavedPasskey {
                    credential_id_hash: hex::encode(p.credential_id_hash),
                    label: p.label,
                    credential: p.credential,
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect();
            let done = ResetDone {
                id: 0,
                employee_id: emp.employee_id.clone(),
                removed_totp: totp.is_some(),
                removed_passkeys: keys.len(),
                removed_recovery_codes: recovery.len(),
            };
            let payload = serde_json::to_string(&Payload {
                totp,
                recovery,
                passkeys: keys,
            })
            .map_err(|e| AuthError::Internal(e.to_string()))?;
            let key = &st.settings.mfa.reset_log_key;
            let sealed = sealer(key).seal(&payload, &context(emp.id, now));
            let label = actor.label();
            let id = mfa_resets::insert(
                conn,
                &mfa_resets::NewReset {
                    target: emp.id,
                    target_code: &emp.employee_id,
                    actor: actor.id(),
                    actor_label: &label,
                    reason: &reason,
                    key_id: &key.id,
                    sealed: &sealed,
                    now,
                },
            )?;
            second_factors::remove_totp(conn, emp.id, now)?;
            second_factors::clear_failures(conn, emp.id, now)?;
            second_factors::set_must_enrol(conn, emp.id, true, now)?;
            recovery_codes::delete_all(conn, emp.id)?;
            passkeys::delete_all(conn, emp.id)?;
            let sessions = refresh_tokens::revoke_all_for_employee(conn, emp.id, None, now)?
                + portal_sessions::delete_for_employee(conn, emp.id, None)?;
            history::write(
                conn,
                Record {
                    event: Event::MfaReset,
                    employee: Some(emp.id),
                    code: Some(&emp.employee_id),
                    actor: actor.id(),
                    client: &client,
                    detail: json!({
                        "reset": id,
                        "actor": label,
                        "reason": reason,
                        "totp": done.removed_totp,
                        "passkeys": done.removed_passkeys,
                        "recoveryCodes": done.removed_recovery_codes,
                        "sessionsEnded": sessions,
                    }),
                    now,
                },
            )?;
            outbox::queue_factor_change(conn, st, &emp, FactorChange::Reset, &client, now)?;
            Ok(ResetDone { id, ..done })
        })
        .await
}

/// Whether the rollback may replace factors the account set up after the reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfEnrolledSince {
    Refuse,
    Replace,
}

/// Rolls reset `id` back within the window: the previous credentials come back exactly.
#[tracing::instrument(skip(state, reason, client), fields(actor = %actor.label()))]
pub async fn rollback(
    state: &AppState,
    actor: Actor,
    id: i64,
    reason: String,
    since: IfEnrolledSince,
    client: ClientInfo,
) -> Result<String, AuthError> {
    state
        .transaction(move |conn, st, now| {
            erase_expired_in(conn, &st.settings, now)?;
            let row = mfa_resets::find_for_update(conn, id)?.ok_or(AuthError::ResetNotFound)?;
            if row.rolled_back_at.is_some() {
                return Err(AuthError::AlreadyRolledBack);
            }
            if row.sealed_payload.is_none() {
                return Err(AuthError::RollbackClosed);
            }
            let emp = employees::find(conn, row.target_ref)?.ok_or(AuthError::NotFound)?;
            if actor.id() == Some(emp.id) {
                return Err(AuthError::OwnAccount);
            }
            actor.may_act_on(&emp)?;
            second_factors::lock(conn, emp.id, now)?;
            let current = factors_in(conn, emp.id, now)?;
            if (current.any() || current.recovery_left > 0) && since == IfEnrolledSince::Refuse {
                return Err(AuthError::EnrolledSince);
            }
            let text = open_row(&st.settings, &row).ok_or(AuthError::ResetLogUnreadable)?;
            let payload: Payload =
                serde_json::from_str(&text).map_err(|_| AuthError::ResetLogUnreadable)?;
            second_factors::remove_totp(conn, emp.id, now)?;
            passkeys::delete_all(conn, emp.id)?;
            if let Some(t) = &payload.totp {
                let secret = super::totp::TotpSecret::from_base32(&t.secret)
                    .ok_or(AuthError::ResetLogUnreadable)?;
                let sealed = seal_secret(&st.settings, emp.id, &secret);
                let key = &st.settings.mfa.secret_key.id;
                second_factors::restore_totp(
                    conn,
                    emp.id,
                    &sealed,
                    key,
                    t.last_step,
                    t.confirmed_at,
                    now,
                )?;
            }
            let codes = payload
                .recovery
                .iter()
                .map(|c| {
                    hex::decode(&c.hash)
                        .map(|h| (h, c.created_at, c.used_at))
                        .map_err(|_| AuthError::ResetLogUnreadable)
                })
                .collect::<Result<Vec<_>, _>>()?;
            recovery_codes::restore(conn, emp.id, &codes)?;
            let keys = payload
                .passkeys
                .iter()
                .map(|p| {
                    Ok(PasskeyRow {
                        id: 0,
                        employee_ref: emp.id,
                        credential_id_hash: hex::decode(&p.credential_id_hash)
                            .map_err(|_| AuthError::ResetLogUnreadable)?,
                        label: p.label.clone(),
                        credential: p.credential.clone(),
                        created_at: p.created_at,
                        last_used_at: p.last_used_at,
                    })
                })
                .collect::<Result<Vec<_>, AuthError>>()?;
            passkeys::restore(conn, &keys)?;
            second_factors::set_must_enrol(conn, emp.id, false, now)?;
            let label = actor.label();
            if mfa_resets::mark_rolled_back(
                conn,
                id,
                &mfa_resets::RolledBack {
                    by: actor.id(),
                    by_label: &label,
                    reason: &reason,
                    now,
                },
            )? != 1
            {
                return Err(AuthError::AlreadyRolledBack);
            }
            history::write(
                conn,
                Record {
                    event: Event::MfaResetRolledBack,
                    employee: Some(emp.id),
                    code: Some(&emp.employee_id),
                    actor: actor.id(),
                    client: &client,
                    detail: json!({
                        "reset": id,
                        "actor": label,
                        "reason": reason,
                        "replacedNewEnrolment": current.any(),
                    }),
                    now,
                },
            )?;
            outbox::queue_factor_change(
                conn,
                st,
                &emp,
                FactorChange::ResetRolledBack,
                &client,
                now,
            )?;
            Ok(emp.employee_id)
        })
        .await
}

/// The day the rollback window of a reset made at `at` closes.
pub fn window_closes(settings: &Settings, at: NaiveDateTime) -> DateTime<Utc> {
    to_utc(at + Duration::days(settings.mfa.rollback_days))
}

fn erase_expired_in(
    conn: &mut MysqlConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<usize, AuthError> {
    let before = now - Duration::days(settings.mfa.rollback_days);
    Ok(mfa_resets::erase_before(conn, before, now)?)
}

/// Erases the payloads whose rollback window has closed.
pub async fn erase_expired(state: &AppState) -> Result<usize, AuthError> {
    state
        .transaction(|conn, st, now| erase_expired_in(conn, &st.settings, now))
        .await
}

/// The reset log, newest first (payloads past the window erased first).
pub async fn log(state: &AppState, limit: i64) -> Result<Vec<MfaReset>, AuthError> {
    erase_expired(state).await?;
    state
        .read(move |conn, _, _| mfa_resets::recent(conn, limit).map_err(AuthError::from))
        .await
}

/// What `verify` found: counts only, never contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    pub sealed: u64,
    pub under_current_key: u64,
    pub under_old_keys: u64,
    pub unreadable: u64,
}

const BATCH: i64 = 200;

/// Opens every sealed row with the configured keys.
pub async fn verify(state: &AppState) -> Result<LogCounts, AuthError> {
    erase_expired(state).await?;
    let mut counts = LogCounts::default();
    let mut after = 0;
    loop {
        let rows = state
            .read(move |conn, _, _| {
                mfa_resets::sealed_batch(conn, after, BATCH).map_err(AuthError::from)
            })
            .await?;
        let Some(last) = rows.last() else {
            return Ok(counts);
        };
        after = last.id;
        for row in &rows {
            counts.sealed += 1;
            if open_row(&state.settings, row).is_none() {
                counts.unreadable += 1;
            } else if row.key_id.as_deref() == Some(state.settings.mfa.reset_log_key.id.as_str()) {
                counts.under_current_key += 1;
            } else {
                counts.under_old_keys += 1;
            }
        }
    }
}

/// Re-seals every row not under the current key, `batch` rows per transaction; resumable and
/// idempotent (a row already under the current key is left alone). Rows no configured key
/// opens are counted and left as they are.
pub async fn rekey(state: &AppState, batch: i64) -> Result<LogCounts, AuthError> {
    let mut counts = LogCounts::default();
    let mut after = 0;
    loop {
        let (last, part) = state
            .transaction(move |conn, st, _| {
                let rows = mfa_resets::sealed_batch(conn, after, batch.max(1))?;
                let mut part = LogCounts::default();
                let current = &st.settings.mfa.reset_log_key;
                for row in &rows {
                    part.sealed += 1;
                    if row.key_id.as_deref() == Some(current.id.as_str()) {
                        part.under_current_key += 1;
                        continue;
                    }
                    match open_row(&st.settings, row) {
                        Some(text) => {
                            let sealed = sealer(current)
                                .seal(&text, &context(row.target_ref, row.created_at));
                            mfa_resets::reseal(conn, row.id, &current.id, &sealed)?;
                            part.under_old_keys += 1;
                        }
                        None => part.unreadable += 1,
                    }
                }
                Ok::<_, AuthError>((rows.last().map(|r| r.id), part))
            })
            .await?;
        counts.sealed += part.sealed;
        counts.under_current_key += part.under_current_key;
        counts.under_old_keys += part.under_old_keys;
        counts.unreadable += part.unreadable;
        match last {
            Some(id) => after = id,
            None => return Ok(counts),
        }
    }
}

/// Sealed rows per key id, for `staffgate check`.
pub fn key_counts(conn: &mut MysqlConnection) -> Result<Vec<(Option<String>, i64)>, AuthError> {
    Ok(mfa_resets::key_counts(conn)?)
}
