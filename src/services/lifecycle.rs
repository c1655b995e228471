//! An employee's working life as HR records it: suspended (休職・停止中), retired (退職) or back
//! at work (在職), and their listing (name, kana, department, e-mail, permission) corrected.
//! Leaving active work ends every way in at once: portal sessions, refresh tokens and unused QR
//! codes; sign-in then answers `account_disabled`. Each change is one transaction and one
//! history row saying who did it, when and why.

use chrono::NaiveDateTime;
use diesel::MysqlConnection;
use serde_json::{Value, json};

use super::auth_error::AuthError;
use super::history::{self, Event, Record};
use super::principal::{Actor, ClientInfo};
use crate::db::models::Employee;
use crate::db::queries::employees::{self, ListingChange};
use crate::db::queries::{onetime_tokens, portal_sessions, refresh_tokens};
use crate::domain::{EmployeeId, EmployeeStatus, ParseError};
use crate::state::AppState;

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    pub employee_id: String,
    pub from: EmployeeStatus,
    pub to: EmployeeStatus,
    pub sessions_ended: usize,
    pub refresh_tokens_revoked: usize,
    pub qr_codes_revoked: usize,
}

/// The listing as an admin edits it; every field is written.
#[derive(Debug, Clone)]
pub struct Listing {
    pub name: String,
    pub name_kana: String,
    pub department: String,
    pub email: Option<String>,
    pub permission_level: f64,
}

/// Parses a status as HR writes it: `active|suspended|retired`, or 在職 / 休職・停止中 / 退職.
pub fn parse_status(raw: &str) -> Result<EmployeeStatus, ParseError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "active" | "在職" | "在籍" => Ok(EmployeeStatus::Active),
        "suspended" | "休職" | "停止" | "停止中" | "休職中" => {
            Ok(EmployeeStatus::Suspended)
        }
        "retired" | "退職" | "退職済み" => Ok(EmployeeStatus::Retired),
        _ => Err(ParseError::new(
            "status",
            "状態は「在職」「停止中（休職）」「退職」のいずれかで指定してください。",
            "The status must be active, suspended or retired.",
        )),
    }
}

/// A reason is required to suspend or retire someone (at most 500 characters); bringing them
/// back may give one.
pub fn parse_reason(raw: &str, to: EmployeeStatus) -> Result<String, ParseError> {
    let r = raw.trim();
    if r.is_empty() && to != EmployeeStatus::Active {
        return Err(ParseError::new(
            "reason",
            "停止・退職の理由を入力してください（記録に残ります）。",
            "Give a reason for suspending or retiring (it is recorded).",
        ));
    }
    if r.chars().count() > 500 {
        return Err(ParseError::new(
            "reason",
            "理由は500文字以内で入力してください。",
            "The reason must be at most 500 characters.",
        ));
    }
    Ok(r.to_owned())
}

/// Sets the employee's status. Leaving active work ends their portal sessions, revokes their
/// refresh tokens and unused QR codes in the same transaction. Nobody changes their own status
/// or that of an account above their level.
#[tracing::instrument(skip(state, reason, client), fields(employee_id = %employee_id))]
pub async fn set_status(
    state: &AppState,
    actor: Actor,
    employee_id: EmployeeId,
    to: EmployeeStatus,
    reason: String,
    client: ClientInfo,
) -> Result<StatusChanged, AuthError> {
    state
        .transaction(move |conn, _, now| {
            let emp = employees::find_by_code_for_update(conn, employee_id.as_str())?
                .ok_or(AuthError::NotFound)?;
            actor.may_act_on(&emp)?;
            if actor.id() == Some(emp.id) {
                return Err(AuthError::Invalid(ParseError::new(
                    "status",
                    "ご自分のアカウントの状態は変更できません。ほかの管理者に依頼してください。",
                    "You cannot change the status of your own account; ask another administrator.",
                )));
            }
            let from = emp.status();
            apply_status(
                conn,
                StatusMove {
                    id: emp.id,
                    code: &emp.employee_id,
                    from,
                    to,
                },
                &reason,
                &actor,
                &client,
                now,
            )
            .map_err(AuthError::from)
        })
        .await
}

/// One employee's status, before and after.
pub struct StatusMove<'a> {
    pub id: i64,
    pub code: &'a str,
    pub from: EmployeeStatus,
    pub to: EmployeeStatus,
}

/// Sets a status inside the caller's transaction: leaving active work ends the employee's
/// portal sessions, refresh tokens and unused QR codes; one history row records the change.
/// Nothing happens when the status stays the same. Shared by the portal, the CLI and the CSV
/// import.
pub fn apply_status(
    conn: &mut MysqlConnection,
    m: StatusMove<'_>,
    reason: &str,
    actor: &Actor,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<StatusChanged, diesel::result::Error> {
    let StatusMove { id, code, from, to } = m;
    let mut changed = StatusChanged {
        employee_id: code.to_owned(),
        from,
        to,
        sessions_ended: 0,
        refresh_tokens_revoked: 0,
        qr_codes_revoked: 0,
    };
    if from == to {
        return Ok(changed);
    }
    employees::set_status(conn, id, to.as_str(), now)?;
    if to != EmployeeStatus::Active {
        changed.sessions_ended = portal_sessions::delete_for_employee(conn, id, None)?;
        changed.refresh_tokens_revoked =
            refresh_tokens::revoke_all_for_employee(conn, id, None, now)?;
        changed.qr_codes_revoked = onetime_tokens::revoke_open(conn, id, now)?;
    }
    history::write(
        conn,
        Record {
            event: Event::StatusChanged,
            employee: Some(id),
            code: Some(code),
            actor: actor.id(),
            client,
            detail: json!({
                "from": from.as_str(),
                "to": to.as_str(),
                "reason": reason,
                "sessions": changed.sessions_ended,
                "appSessionsEnded": changed.refresh_tokens_revoked,
                "qrCodesRevoked": changed.qr_codes_revoked,
                "actor": actor.label(),
            }),
            now,
        },
    )?;
    Ok(changed)
}

/// Writes the employee's listing; records each field that changed, old and new. The
/// permission level may not go above the actor's own.
#[tracing::instrument(skip(state, listing, client), fields(employee_id = %employee_id))]
pub async fn edit_listing(
    state: &AppState,
    actor: Actor,
    employee_id: EmployeeId,
    listing: Listing,
    client: ClientInfo,
) -> Result<usize, AuthError> {
    state
        .transaction(move |conn, _, now| {
            let emp = employees::find_by_code_for_update(conn, employee_id.as_str())?
                .ok_or(AuthError::NotFound)?;
            actor.may_act_on(&emp)?;
            if let Actor::Employee { permission, .. } = &actor
                && listing.permission_level > *permission
            {
                return Err(AuthError::AboveOwnLevel);
            }
            let changes = differences(&emp, &listing);
            if changes.is_empty() {
                return Ok(0);
            }
            employees::update_listing(
                conn,
                &emp.employee_id,
                &ListingChange {
                    name: &listing.name,
                    name_kana: &listing.name_kana,
                    department: &listing.department,
                    email: listing.email.as_deref(),
                    permission_level: listing.permission_level,
                },
                now,
            )?;
            let n = changes.len();
            history::write(
                conn,
                Record {
                    event: Event::ListingChanged,
                    employee: Some(emp.id),
                    code: Some(&emp.employee_id),
                    actor: actor.id(),
                    client: &client,
                    detail: json!({ "fields": Value::Object(changes), "actor": actor.label() }),
                    now,
                },
            )?;
            Ok(n)
        })
        .await
}

/// `{field: {old, new}}` for every field the listing changes.
fn differences(emp: &Employee, l: &Listing) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    let mut diff = |field: &str, old: Value, new: Value| {
        if old != new {
            out.insert(field.into(), json!({ "old": old, "new": new }));
        }
    };
    diff("name", json!(emp.name), json!(l.name));
    diff("nameKana", json!(emp.name_kana), json!(l.name_kana));
    diff("department", json!(emp.department), json!(l.department));
    diff("email", json!(emp.email), json!(l.email));
    diff(
        "permissionLevel",
        json!(emp.permission_level),
        json!(l.permission_level),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_in_english_and_japanese() {
        for (raw, status) in [
            ("active", EmployeeStatus::Active),
            (" 在職 ", EmployeeStatus::Active),
            ("Suspended", EmployeeStatus::Suspended),
            ("休職", EmployeeStatus::Suspended),
            ("停止中", EmployeeStatus::Suspended),
            ("retired", EmployeeStatus::Retired),
            ("退職", EmployeeStatus::Retired),
        ] {
            assert_eq!(parse_status(raw).unwrap(), status, "{raw}");
        }
        assert!(parse_status("休み").is_err());
        assert!(parse_status("").is_err());
    }

    #[test]
    fn leaving_needs_a_reason_coming_back_does_not() {
        assert!(parse_reason(" ", EmployeeStatus::Suspended).is_err());
        assert!(parse_reason("", EmployeeStatus::Retired).is_err());
        assert_eq!(parse_reason("", EmployeeStatus::Active).unwrap(), "");
        assert_eq!(
            parse_reason(" 産休 ", EmployeeStatus::Suspended).unwrap(),
            "産休"
        );
        assert!(parse_reason(&"長".repeat(501), EmployeeStatus::Active).is_err());
    }
}
