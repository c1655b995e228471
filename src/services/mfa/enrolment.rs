//! Setting up and removing an authenticator app, and issuing recovery codes: an offer belongs
//! to the session that asked for it and counts only once one code confirms it; every change
//! ends the account's password-only sessions where it should and mails the owner.

use chrono::{Duration, NaiveDateTime};
use diesel::MysqlConnection;
use serde_json::json;

use super::totp::TotpSecret;
use super::{
    FactorChange, Factors, OFFER_MINUTES, check_code, factors_in, open_secret, owes_enrolment,
    seal_secret,
};
use crate::db::models::Employee;
use crate::db::queries::{self, portal_sessions, recovery_codes, refresh_tokens, second_factors};
use crate::domain::second_code::RECOVERY_CODES_PER_SET;
use crate::domain::{RecoveryCode, SecondCode};
use crate::services::auth_error::AuthError;
use crate::services::history::{self, Event, Record};
use crate::services::principal::ClientInfo;
use crate::state::AppState;

/// The session a change of factors is made from. An enrolment offer belongs to it alone (a
/// second session holding the same password cannot read or confirm it), and setting up a
/// factor ends the account's other sessions that were opened without one.
#[derive(Debug, Clone)]
pub enum Origin {
    Portal { session_ref: String },
    Api { family: String },
}

impl Origin {
    fn owner(&self) -> String {
        match self {
            Origin::Portal { session_ref } => format!("portal:{session_ref}"),
            Origin::Api { family } => format!("api:{family}"),
        }
    }

    /// Ends the account's other sessions opened without a second factor.
    pub(crate) fn end_weak_sessions(
        &self,
        conn: &mut MysqlConnection,
        employee: i64,
        now: NaiveDateTime,
    ) -> Result<usize, AuthError> {
        let (family, portal) = match self {
            Origin::Portal { session_ref } => (None, Some(session_ref.as_str())),
            Origin::Api { family } => (Some(family.as_str()), None),
        };
        let api = refresh_tokens::revoke_without_second_factor(conn, employee, family, now)?;
        let portal = portal_sessions::delete_for_employee(conn, employee, portal)?;
        Ok(api + portal)
    }
}

/// An authenticator app being set up: what the person scans or types.
pub struct Enrolment {
    pub secret: TotpSecret,
    pub otpauth_uri: String,
    pub qr_data_url: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// Offers a secret for enrolment to `origin`. `fresh` always makes a new one (the API);
/// otherwise this session's offer younger than `OFFER_MINUTES` is shown again, so reloading
/// the page keeps the QR. Another session's offer is never shown: it is replaced.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn begin_totp(
    state: &AppState,
    emp: &Employee,
    origin: &Origin,
    fresh: bool,
) -> Result<Enrolment, AuthError> {
    let id = emp.id;
    let owner = origin.owner();
    let account = emp.employee_id.clone();
    let secret = state
        .transaction(move |conn, st, now| {
            let row = second_factors::lock(conn, id, now)?;
            if row.totp_sealed.is_some() {
                return Err(AuthError::AlreadyEnrolled);
            }
            let recent = row
                .pending_created_at
                .is_some_and(|t| t > now - Duration::minutes(OFFER_MINUTES));
            if !fresh
                && recent
                && row.pending_owner.as_deref() == Some(owner.as_str())
                && let Some(secret) = row
                    .pending_sealed
                    .as_deref()
                    .and_then(|s| open_secret(&st.settings, id, s))
            {
                return Ok(secret);
            }
            let secret = TotpSecret::generate();
            let sealed = seal_secret(&st.settings, id, &secret);
            let key = &st.settings.mfa.secret_key.id;
            second_factors::set_pending(conn, id, &sealed, key, &owner, now)?;
            Ok(secret)
        })
        .await?;
    let otpauth_uri = secret.otpauth_uri(&state.settings.mfa.issuer, &account);
    let qr_data_url = crate::services::qr::png_data_url(&otpauth_uri)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(Enrolment {
        secret,
        otpauth_uri,
        qr_data_url,
    })
}

/// A fresh set of recovery codes, shown once: the plain codes go to the person, the hashes to
/// the database, replacing the old set.
pub struct RecoveryCodes(pub Vec<RecoveryCode>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

impl RecoveryCodes {
    pub fn grouped(&self) -> Vec<String> {
        self.0.iter().map(RecoveryCode::grouped).collect()
    }
}

pub(crate) fn issue_recovery_codes(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> Result<RecoveryCodes, AuthError> {
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES_PER_SET)
        .map(|_| RecoveryCode::generate())
        .collect();
    let hashes: Vec<[u8; 32]> = codes.iter().map(RecoveryCode::hash).collect();
    recovery_codes::replace(conn, employee, &hashes, now)?;
    Ok(RecoveryCodes(codes))
}

/// Confirms the secret offered to `origin` with one code from the app: only then does it
/// count, and the confirming code's step is spent. The account's other sessions opened without
/// a second factor end; the owner (and HR, for an admin) is told by mail. Returns the new
/// recovery codes.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn confirm_totp(
    state: &AppState,
    emp: Employee,
    origin: Origin,
    code: SecondCode,
    client: ClientInfo,
) -> Result<RecoveryCodes, AuthError> {
    let SecondCode::Totp(code) = code else {
        return Err(AuthError::InvalidCode);
    };
    state
        .transaction(move |conn, st, now| {
            let row = second_factors::lock(conn, emp.id, now)?;
            if row.totp_sealed.is_some() {
                return Err(AuthError::AlreadyEnrolled);
            }
            let offered_here = row.pending_owner.as_deref() == Some(origin.owner().as_str());
            let fresh = row
                .pending_created_at
                .is_some_and(|t| t > now - Duration::minutes(OFFER_MINUTES));
            let Some(sealed) = row.pending_sealed.clone().filter(|_| offered_here && fresh) else {
                return Err(AuthError::NotEnrolled);
            };
            let secret =
                open_secret(&st.settings, emp.id, &sealed).ok_or(AuthError::NotEnrolled)?;
            let step = secret
                .matching_step(&code, now.and_utc().timestamp())
                .ok_or(AuthError::InvalidCode)?;
            if second_factors::confirm_pending(conn, emp.id, &sealed, step, now)? != 1 {
                return Err(AuthError::NotEnrolled);
            }
            let codes = issue_recovery_codes(conn, emp.id, now)?;
            let ended = origin.end_weak_sessions(conn, emp.id, now)?;
            history::write(
                conn,
                Record::about(
                    Event::MfaEnrolled,
                    &emp,
                    &client,
                    json!({
                        "method": "totp",
                        "recoveryCodes": codes.0.len(),
                        "sessionsEnded": ended,
                    }),
                    now,
                ),
            )?;
            crate::services::outbox::queue_factor_change(
                conn,
                st,
                &emp,
                FactorChange::Enrolled,
                &client,
                now,
            )?;
            Ok(codes)
        })
        .await
}

/// Replaces the recovery codes of an account that has a second factor, proven again by a
/// current code (an unattended signed-in screen is not enough).
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn regenerate_recovery_codes(
    state: &AppState,
    emp: Employee,
    code: SecondCode,
    client: ClientInfo,
) -> Result<RecoveryCodes, AuthError> {
    state
        .transaction(move |conn, st, now| {
            second_factors::lock(conn, emp.id, now)?;
            if !factors_in(conn, emp.id, now)?.any() {
                return Err(AuthError::NotEnrolled);
            }
            if let Err(refused) = check_code(conn, st, &emp, &code, &client, now)? {
                return Ok(Err(refused));
            }
            let codes = issue_recovery_codes(conn, emp.id, now)?;
            history::write(
                conn,
                Record::about(
                    Event::RecoveryCodesIssued,
                    &emp,
                    &client,
                    json!({ "recoveryCodes": codes.0.len() }),
                    now,
                ),
            )?;
            crate::services::outbox::queue_factor_change(
                conn,
                st,
                &emp,
                FactorChange::RecoveryCodes,
                &client,
                now,
            )?;
            Ok(Ok(codes))
        })
        .await?
}

/// Removes the authenticator app, proven by a current code (or a recovery code). Without a
/// passkey left, the recovery codes go too: they stand for a factor the account no longer has.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn remove_totp(
    state: &AppState,
    emp: Employee,
    code: SecondCode,
    client: ClientInfo,
) -> Result<(), AuthError> {
    state
        .transaction(move |conn, st, now| {
            let row = second_factors::lock(conn, emp.id, now)?;
            if row.totp_sealed.is_none() {
                return Err(AuthError::NotEnrolled);
            }
            if let Err(refused) = check_code(conn, st, &emp, &code, &client, now)? {
                return Ok(Err(refused));
            }
            let passkeys = queries::passkeys::count_for(conn, emp.id)?;
            let left = Factors {
                passkeys,
                ..Factors::default()
            };
            if owes_enrolment(&st.settings, &emp, &left) {
                return Err(AuthError::LastFactor);
            }
            second_factors::remove_totp(conn, emp.id, now)?;
            if passkeys == 0 {
                recovery_codes::delete_all(conn, emp.id)?;
            }
            history::write(
                conn,
                Record::about(
                    Event::MfaRemoved,
                    &emp,
                    &client,
                    json!({ "method": "totp", "passkeysLeft": passkeys }),
                    now,
                ),
            )?;
            crate::services::outbox::queue_factor_change(
                conn,
                st,
                &emp,
                FactorChange::Removed,
                &client,
                now,
            )?;
            Ok(Ok(()))
        })
        .await?
}
