//! Second factors: enrolling an authenticator app (confirmed by one code before it counts),
//! recovery codes, and the second step of a sign-in under its own failure count and lock.
//!
//! Every second-step decision for one account is taken with its `second_factors` row locked,
//! so two nodes never both accept one code: a time step is spent by one conditional UPDATE and
//! a code for that step or an earlier one is refused exactly like a wrong code. Wrong codes are
//! counted apart from wrong passwords; the one that reaches the threshold locks the second
//! step (the password stays valid) and HR is told as for a password lock.

mod enrolment;
pub mod passkeys;
pub mod reset;
pub mod totp;

pub(crate) use enrolment::issue_recovery_codes;
pub use enrolment::{
    Enrolment, Origin, RecoveryCodes, begin_totp, confirm_totp, regenerate_recovery_codes,
    remove_totp,
};

pub use super::outbox::FactorChange;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::MysqlConnection;
use serde_json::json;

use super::auth_error::AuthError;
use super::history::{self, Event, Record};
use super::principal::ClientInfo;
use super::sealed::Sealer;
use crate::config::Settings;
use crate::db::models::{Employee, SecondFactor};
use crate::db::queries::{self, recovery_codes, second_factors};
use crate::domain::{Amr, PermissionLevel, SecondCode};
use crate::services::clock::to_utc;
use crate::state::AppState;
use totp::TotpSecret;

/// How long the token between the password and the second step of an API sign-in lives.
pub const MFA_TOKEN_SECONDS: i64 = 5 * 60;
/// An enrolment offer is shown again on reload for this long, then replaced.
pub const OFFER_MINUTES: i64 = 30;
/// Wrong second-step codes in a row that lock the second step, and for how long.
pub const LOCK_THRESHOLD: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// The portal warns when this many recovery codes or fewer are left.
pub const RECOVERY_LOW: i64 = 2;

/// What second factors an account has.
#[derive(Debug, Clone, Default)]
pub struct Factors {
    pub totp_since: Option<DateTime<Utc>>,
    pub passkeys: i64,
    pub recovery_left: i64,
    /// A reset asks the account to enrol again at its next sign-in.
    pub must_enrol: bool,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.totp_since.is_some() || self.passkeys > 0
    }

    pub fn recovery_low(&self) -> bool {
        self.any() && self.recovery_left <= RECOVERY_LOW
    }
}

pub fn factors_in(
    conn: &mut MysqlConnection,
    employee: i64,
    now: NaiveDateTime,
) -> Result<Factors, AuthError> {
    let row = second_factors::find(conn, employee)?;
    let passkeys = queries::passkeys::count_for(conn, employee)?;
    let recovery_left = recovery_codes::unused_count(conn, employee)?;
    Ok(Factors {
        totp_since: row
            .as_ref()
            .filter(|r| r.totp_sealed.is_some())
            .and_then(|r| r.totp_confirmed_at)
            .map(to_utc),
        passkeys,
        recovery_left,
        must_enrol: row.as_ref().is_some_and(|r| r.must_enrol),
        locked_until: row
            .as_ref()
            .and_then(|r| r.locked_until)
            .filter(|u| *u > now)
            .map(to_utc),
    })
}

pub async fn factors(state: &AppState, employee: i64) -> Result<Factors, AuthError> {
    state
        .read(move |conn, _, now| factors_in(conn, employee, now))
        .await
}

/// Whether `emp` must set up a second factor before anything else: an admin while admin 2FA
/// is required, or anyone whose factor an admin reset.
pub fn owes_enrolment(settings: &Settings, emp: &Employee, factors: &Factors) -> bool {
    if factors.any() {
        return false;
    }
    let admin = emp
        .permission()
        .is_at_least(PermissionLevel::from_db(settings.admin_permission));
    factors.must_enrol || (admin && settings.mfa.admin_required())
}

fn sealer(settings: &Settings) -> Sealer {
    Sealer::derive(&settings.mfa.secret_key.bytes, "totp-secret")
}

/// The associated data binding a sealed secret to its account.
fn context(employee: i64) -> String {
    format!("totp:{employee}")
}

pub fn seal_secret(settings: &Settings, employee: i64, secret: &TotpSecret) -> String {
    sealer(settings).seal(&secret.base32(), &context(employee))
}

pub fn open_secret(settings: &Settings, employee: i64, sealed: &str) -> Option<TotpSecret> {
    let text = sealer(settings).open(sealed, &context(employee))?;
    TotpSecret::from_base32(&text)
}

/// Which proof the second step accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode { left: i64 },
    Passkey,
}

impl Proof {
    pub fn amr(self) -> Amr {
        match self {
            Proof::Totp | Proof::RecoveryCode { .. } => Amr::PASSWORD.with_otp(),
            Proof::Passkey => Amr::PASSWORD.with_hwk(),
        }
    }
}

/// The second step, in the caller's transaction. The outer error is a fault (roll back); the
/// inner one is a refusal whose count and history must commit.
pub fn check_code(
    conn: &mut MysqlConnection,
    st: &AppState,
    emp: &Employee,
    code: &SecondCode,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Result<Proof, AuthError>, AuthError> {
    let (row, failed_before) = match open_second_step(conn, emp, client, now)? {
        Ok(opened) => opened,
        Err(refused) => return Ok(Err(refused)),
    };
    let accepted = match code {
        SecondCode::Totp(digits) => match totp_step(st, &row, digits, now)? {
            Some(step) if second_factors::spend_step(conn, emp.id, step, now)? == 1 => {
                Some(Proof::Totp)
            }
            Some(_) => {
                // Right code, already spent: refused like a wrong one, but not a guess.
                history::write(
                    conn,
                    Record::about(
                        Event::SecondFactorFailed,
                        emp,
                        client,
                        json!({ "reason": "replayed", "method": "totp" }),
                        now,
                    ),
                )?;
                return Ok(Err(AuthError::InvalidCode));
            }
            None => None,
        },
        SecondCode::Recovery(rc) => {
            if recovery_codes::spend(conn, emp.id, &rc.hash(), now)? == 1 {
                let left = recovery_codes::unused_count(conn, emp.id)?;
                Some(Proof::RecoveryCode { left })
            } else {
                None
            }
        }
    };
    match accepted {
        Some(proof) => accept(conn, emp, client, proof, now).map(Ok),
        None => refuse(conn, st, emp, client, code.kind(), failed_before, now),
    }
}

/// Locks the account's second-factor row for one attempt: a refusal while the second step is
/// locked (recorded), else the row and the failures counted so far.
pub(crate) fn open_second_step(
    conn: &mut MysqlConnection,
    emp: &Employee,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Result<(SecondFactor, i32), AuthError>, AuthError> {
    let row = second_factors::lock(conn, emp.id, now)?;
    if let Some(until) = row.locked_until {
        if until > now {
            history::write(
                conn,
                Record::about(
                    Event::SecondFactorFailed,
                    emp,
                    client,
                    json!({ "reason": "locked", "lockedUntil": to_utc(until).to_rfc3339() }),
                    now,
                ),
            )?;
            return Ok(Err(AuthError::MfaLocked {
                until: to_utc(until),
            }));
        }
        second_factors::clear_failures(conn, emp.id, now)?;
    }
    let failed_before = if row.locked_until.is_some() {
        0
    } else {
        row.failed_count
    };
    Ok(Ok((row, failed_before)))
}

/// Records an accepted second step: the failure count starts again.
pub(crate) fn accept(
    conn: &mut MysqlConnection,
    emp: &Employee,
    client: &ClientInfo,
    proof: Proof,
    now: NaiveDateTime,
) -> Result<Proof, AuthError> {
    second_factors::clear_failures(conn, emp.id, now)?;
    let detail = match proof {
        Proof::Totp => json!({ "method": "totp" }),
        Proof::RecoveryCode { left } => {
            json!({ "method": "recovery_code", "recoveryCodesLeft": left })
        }
        Proof::Passkey => json!({ "method": "passkey" }),
    };
    history::write(
        conn,
        Record::about(Event::SecondFactorOk, emp, client, detail, now),
    )?;
    Ok(proof)
}

/// Counts a wrong attempt (`method`: how it was made); the one that reaches the threshold
/// locks the second step and tells HR. Returns the refusal to answer with.
pub(crate) fn refuse(
    conn: &mut MysqlConnection,
    st: &AppState,
    emp: &Employee,
    client: &ClientInfo,
    method: &str,
    failed_before: i32,
    now: NaiveDateTime,
) -> Result<Result<Proof, AuthError>, AuthError> {
    let until = now + Duration::minutes(LOCK_MINUTES);
    second_factors::record_failure(conn, emp.id, LOCK_THRESHOLD, until, now)?;
    let failed = failed_before + 1;
    history::write(
        conn,
        Record::about(
            Event::SecondFactorFailed,
            emp,
            client,
            json!({ "reason": "wrong_code", "method": method, "failedCount": failed }),
            now,
        ),
    )?;
    if failed == LOCK_THRESHOLD {
        history::write(
            conn,
            Record::about(
                Event::SecondFactorLocked,
                emp,
                client,
                json!({ "failedCount": failed, "lockedUntil": to_utc(until).to_rfc3339() }),
                now,
            ),
        )?;
        super::outbox::queue_second_step_lock(conn, st, emp, client, until, now)?;
        return Ok(Err(AuthError::MfaLocked {
            until: to_utc(until),
        }));
    }
    Ok(Err(AuthError::InvalidCode))
}

/// The step of `digits` for the account's confirmed secret, within the drift window. A secret
/// the configured key cannot open is a fault of the server (a lost or changed
/// `STAFFGATE_MFA_KEY`), not a wrong code: it must not lock the person out.
fn totp_step(
    st: &AppState,
    row: &SecondFactor,
    digits: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, AuthError> {
    let Some(sealed) = row.totp_sealed.as_deref() else {
        return Ok(None);
    };
    let secret = open_secret(&st.settings, row.employee_ref, sealed).ok_or_else(|| {
        AuthError::Internal(format!(
            "the authenticator secret of employee {} was sealed under key {} and cannot be opened with STAFFGATE_MFA_KEY {}",
            row.employee_ref,
            row.totp_key_id.as_deref().unwrap_or("?"),
            st.settings.mfa.secret_key.id
        ))
    })?;
    Ok(secret.matching_step(digits, now.and_utc().timestamp()))
}

/// The portal's second step for a signed-in session that owes it.
pub async fn verify(
    state: &AppState,
    emp: Employee,
    code: SecondCode,
    client: ClientInfo,
) -> Result<Proof, AuthError> {
    state
        .transaction(move |conn, st, now| check_code(conn, st, &emp, &code, &client, now))
        .await?
}
