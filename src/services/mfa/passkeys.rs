//! Passkeys (WebAuthn) as a second factor: registering one (the first one also issues recovery
//! codes), signing in with one at the second step, listing and removing them.
//!
//! The relying party is the portal's public URL: its host is the RP id and its origin the only
//! one accepted. A ceremony is two requests; what the server must remember between them (the
//! challenge) is handed to the caller to keep in its server-side session and give back once.
//! The database holds each passkey's public key and signature counter, nothing secret.

use chrono::NaiveDateTime;
use diesel::MysqlConnection;
use serde_json::json;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

use super::{Factors, Proof, RecoveryCodes};
use crate::db::models::{Employee, PasskeyRow};
use crate::db::queries::{passkeys, recovery_codes, second_factors};
use crate::domain::ParseError;
use crate::services::auth_error::AuthError;
use crate::services::history::{self, Event, Record};
use crate::services::principal::ClientInfo;
use crate::state::AppState;

/// The longest label, in characters (the column holds 100).
pub const LABEL_MAX: usize = 60;

/// A person's name for one of their passkeys ("事務室のPC", "iPhone"), trimmed, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyLabel(String);

impl PasskeyLabel {
    /// An empty label becomes the default one; control characters are refused.
    pub fn parse(raw: &str) -> Result<PasskeyLabel, ParseError> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(PasskeyLabel("パスキー".to_owned()));
        }
        if text.chars().count() > LABEL_MAX {
            return Err(ParseError::new(
                "label",
                format!("名前は{LABEL_MAX}文字以内にしてください。"),
                format!("Keep the name within {LABEL_MAX} characters."),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::new(
                "label",
                "名前に使えない文字が含まれています。",
                "The name contains characters that cannot be used.",
            ));
        }
        Ok(PasskeyLabel(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The relying party for this deployment, from `STAFFGATE_PUBLIC_URL`. A plain `localhost`
/// address (development, tests) accepts any port, as browsers treat it as one secure origin.
pub fn relying_party(public_url: &str, name: &str) -> Result<Webauthn, AuthError> {
    let unavailable = |why: String| AuthError::Internal(format!("passkeys unavailable: {why}"));
    let origin = Url::parse(public_url).map_err(|e| unavailable(e.to_string()))?;
    let rp_id = origin
        .domain()
        .ok_or_else(|| unavailable(format!("{public_url} has no domain name")))?
        .to_owned();
    let localhost = rp_id == "localhost";
    WebauthnBuilder::new(&rp_id, &origin)
        .map_err(|e| unavailable(e.to_string()))?
        .rp_name(name)
        .allow_any_port(localhost)
        .build()
        .map_err(|e| unavailable(e.to_string()))
}

/// Whether this deployment's public URL can be a relying party (it has a domain name).
pub fn available(state: &AppState) -> bool {
    webauthn(state).is_ok()
}

fn webauthn(state: &AppState) -> Result<Webauthn, AuthError> {
    relying_party(&state.settings.http.public_url, &state.settings.mfa.issuer)
}

/// The WebAuthn user handle: stable per account, without showing its database id.
fn user_handle(employee: i64) -> Uuid {
    let digest = Sha256::digest(format!("staffgate-user:{employee}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn credential_id_hash(passkey: &Passkey) -> [u8; 32] {
    Sha256::digest(passkey.cred_id().as_ref()).into()
}

fn decode(row: &PasskeyRow) -> Result<Passkey, AuthError> {
    serde_json::from_str(&row.credential)
        .map_err(|e| AuthError::Internal(format!("passkey {} unreadable: {e}", row.id)))
}

fn encode(passkey: &Passkey) -> Result<String, AuthError> {
    serde_json::to_string(passkey).map_err(|e| AuthError::Internal(e.to_string()))
}

/// The stored signature counter (not exposed by the type without its internals feature).
fn stored_counter(passkey: &Passkey) -> u64 {
    serde_json::to_value(passkey)
        .ok()
        .and_then(|v| v["cred"]["counter"].as_u64())
        .unwrap_or(0)
}

fn refused_registration() -> AuthError {
    AuthError::Invalid(ParseError::new(
        "credential",
        "パスキーを登録できませんでした。もう一度お試しください。",
        "The passkey could not be registered. Please try again.",
    ))
}

pub async fn list(state: &AppState, employee: i64) -> Result<Vec<PasskeyRow>, AuthError> {
    state
        .read(move |conn, _, _| Ok(passkeys::for_employee(conn, employee)?))
        .await
}

/// The options for the browser's `navigator.credentials.create`, and the state to keep.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn start_registration(
    state: &AppState,
    emp: &Employee,
) -> Result<(CreationChallengeResponse, PasskeyRegistration), AuthError> {
    let webauthn = webauthn(state)?;
    let existing = list(state, emp.id).await?;
    let exclude = existing
        .iter()
        .map(|row| decode(row).map(|p| p.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    webauthn
        .start_passkey_registration(
            user_handle(emp.id),
            &emp.employee_id,
            &emp.name,
            Some(exclude),
        )
        .map_err(|e| AuthError::Internal(format!("passkey registration: {e}")))
}

/// Checks the browser's answer against the kept state and stores the passkey. An account's
/// first second factor also gets its recovery codes, returned to be shown once.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn finish_registration(
    state: &AppState,
    emp: Employee,
    label: PasskeyLabel,
    answer: &RegisterPublicKeyCredential,
    kept: &PasskeyRegistration,
    origin: super::Origin,
    client: ClientInfo,
) -> Result<Option<RecoveryCodes>, AuthError> {
    let passkey = webauthn(state)?
        .finish_passkey_registration(answer, kept)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            refused_registration()
        })?;
    let credential = encode(&passkey)?;
    let id_hash = credential_id_hash(&passkey);
    state
        .transaction(move |conn, st, now| {
            second_factors::lock(conn, emp.id, now)?;
            let first = !super::factors_in(conn, emp.id, now)?.any();
            match passkeys::insert(conn, emp.id, &id_hash, label.as_str(), &credential, now) {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => return Err(refused_registration()),
                other => other?,
            };
            let codes = if first {
                second_factors::set_must_enrol(conn, emp.id, false, now)?;
                Some(super::issue_recovery_codes(conn, emp.id, now)?)
            } else {
                None
            };
            // As for an authenticator app: no password-only session of someone else stays.
            origin.end_weak_sessions(conn, emp.id, now)?;
            let change = super::FactorChange::Enrolled;
            crate::services::outbox::queue_factor_change(conn, st, &emp, change, &client, now)?;
            history::write(
                conn,
                Record::about(
                    Event::PasskeyAdded,
                    &emp,
                    &client,
                    json!({
                        "label": label.as_str(),
                        "recoveryCodes": codes.as_ref().map_or(0, |c| c.0.len()),
                    }),
                    now,
                ),
            )?;
            Ok(codes)
        })
        .await
}

/// The options for `navigator.credentials.get` at the second step, and the state to keep.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn start_authentication(
    state: &AppState,
    emp: &Employee,
) -> Result<(RequestChallengeResponse, PasskeyAuthentication), AuthError> {
    let webauthn = webauthn(state)?;
    let keys = list(state, emp.id)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(AuthError::NotEnrolled);
    }
    webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| AuthError::Internal(format!("passkey authentication: {e}")))
}

/// The second step with a passkey, under the same lock and failure count as a code: the
/// assertion must verify against the kept challenge, and its signature counter must be above
/// the stored one (a cloned authenticator repeats counters); the new counter is stored.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn verify(
    state: &AppState,
    emp: Employee,
    answer: PublicKeyCredential,
    kept: PasskeyAuthentication,
    client: ClientInfo,
) -> Result<Proof, AuthError> {
    let webauthn = webauthn(state)?;
    state
        .transaction(move |conn, st, now| {
            let failed_before = match super::open_second_step(conn, &emp, &client, now)? {
                Ok((_, failed)) => failed,
                Err(refused) => return Ok(Err(refused)),
            };
            match check_assertion(conn, &webauthn, &emp, &answer, &kept, now)? {
                true => super::accept(conn, &emp, &client, Proof::Passkey, now).map(Ok),
                false => super::refuse(conn, st, &emp, &client, "passkey", failed_before, now),
            }
        })
        .await?
}

/// Whether the assertion proves one of the account's current passkeys (and stores its use).
fn check_assertion(
    conn: &mut MysqlConnection,
    webauthn: &Webauthn,
    emp: &Employee,
    answer: &PublicKeyCredential,
    kept: &PasskeyAuthentication,
    now: NaiveDateTime,
) -> Result<bool, AuthError> {
    let result = match webauthn.finish_passkey_authentication(answer, kept) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            return Ok(false);
        }
    };
    for row in passkeys::for_employee(conn, emp.id)? {
        let mut passkey = decode(&row)?;
        if passkey.cred_id() != result.cred_id() {
            continue;
        }
        let stored = stored_counter(&passkey);
        let counter = u64::from(result.counter());
        if (counter > 0 || stored > 0) && counter <= stored {
            tracing::warn!(
                passkey = row.id,
                counter,
                stored,
                "passkey counter went back"
            );
            return Ok(false);
        }
        passkey.update_credential(&result);
        let updated = encode(&passkey)?;
        return Ok(passkeys::update_after_use(conn, row.id, &row.credential, &updated, now)? == 1);
    }
    // Removed since the challenge was issued.
    Ok(false)
}

/// Removes one of the account's passkeys. An admin's last second factor stays while admin 2FA
/// is required; without any factor left, the recovery codes go too.
#[tracing::instrument(skip_all, fields(employee = emp.id))]
pub async fn remove(
    state: &AppState,
    emp: Employee,
    passkey: i64,
    client: ClientInfo,
) -> Result<(), AuthError> {
    state
        .transaction(move |conn, st, now| {
            second_factors::lock(conn, emp.id, now)?;
            let rows = passkeys::for_employee(conn, emp.id)?;
            let Some(row) = rows.iter().find(|r| r.id == passkey) else {
                return Err(AuthError::NotFound);
            };
            let before = super::factors_in(conn, emp.id, now)?;
            let left = Factors {
                totp_since: before.totp_since,
                passkeys: before.passkeys - 1,
                ..Factors::default()
            };
            if super::owes_enrolment(&st.settings, &emp, &left) {
                return Err(AuthError::LastFactor);
            }
            passkeys::delete_one(conn, emp.id, passkey)?;
            if !left.any() {
                recovery_codes::delete_all(conn, emp.id)?;
            }
            let change = super::FactorChange::Removed;
            crate::services::outbox::queue_factor_change(conn, st, &emp, change, &client, now)?;
            history::write(
                conn,
                Record::about(
                    Event::PasskeyRemoved,
                    &emp,
                    &client,
                    json!({ "label": row.label, "passkeysLeft": left.passkeys }),
                    now,
                ),
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_defaulted_and_bounded() {
        assert_eq!(
            PasskeyLabel::parse("  事務室のPC ").unwrap().as_str(),
            "事務室のPC"
        );
        assert_eq!(PasskeyLabel::parse("   ").unwrap().as_str(), "パスキー");
        assert!(PasskeyLabel::parse(&"あ".repeat(LABEL_MAX)).is_ok());
        assert!(PasskeyLabel::parse(&"あ".repeat(LABEL_MAX + 1)).is_err());
        assert!(PasskeyLabel::parse("a\u{0}b").is_err());
    }

    #[test]
    fn the_relying_party_is_the_public_url_and_needs_a_domain_name() {
        let rp = relying_party("https://staffgate.hospital.example.jp", "病院").unwrap();
        let origins = rp.get_allowed_origins();
        assert_eq!(
            origins[0].as_str(),
            "https://staffgate.hospital.example.jp/"
        );
        assert!(relying_party("http://localhost", "病院").is_ok());
        // Browsers refuse an IP address as an RP id, so the server does not offer one.
        assert!(relying_party("http://127.0.0.1:8080", "病院").is_err());
    }

    #[test]
    fn registration_offers_exclude_nothing_for_a_new_account_and_keep_the_user_handle_stable() {
        assert_eq!(user_handle(7), user_handle(7));
        assert_ne!(user_handle(7), user_handle(8));
        let rp = relying_party("http://localhost", "病院").unwrap();
        let (offer, _) = rp
            .start_passkey_registration(user_handle(7), "N0001", "人事 太郎", None)
            .unwrap();
        let json = serde_json::to_value(&offer).unwrap();
        assert_eq!(json["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(json["publicKey"]["user"]["name"], "N0001");
    }
}
