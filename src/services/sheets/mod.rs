//! Printing account sheets is an issuing act: every sheet carries a fresh QR token (older
//! unused ones are revoked) and, for staff who have never set their own password, a fresh
//! initial password. Tokens, passwords, print records, history and the audit row commit in
//! one transaction together with the finished PDF; if anything fails nothing is written.

mod error;
pub mod font;
pub mod pdf;
mod selection;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::MysqlConnection;
use rand::RngExt;
use serde_json::json;

use super::history::{self, Event, Record};
use super::passwords::generate_initial_password;
use super::principal::{Actor, ClientInfo};
use super::tokens;
use crate::db::models::Employee;
use crate::db::queries::{audit, sheets as q};
use crate::domain::{Password, PlainToken, TokenPurpose, ValidityHours};
use crate::services::clock::to_utc;
use crate::state::AppState;
pub use error::SheetError;
pub use pdf::{FontError, MAX_BATCH, Sheet, SheetFont};
pub use selection::{Plan, Selection, plan};
use selection::{check_printable, needs_initial_password};

/// A printed batch.
pub struct Printed {
    pub pdf: Vec<u8>,
    pub count: usize,
    pub initial_passwords: usize,
    pub revoked: usize,
    pub serials: Vec<String>,
}

impl std::fmt::Debug for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printed")
            .field("count", &self.count)
            .field("bytes", &self.pdf.len())
            .finish_non_exhaustive()
    }
}

/// Everything a sheet needs that is made before the transaction: the secrets and their hashes.
struct Prepared {
    token: PlainToken,
    serial: String,
    password: Option<(Password, String)>,
}

/// Prints `sel`. `expected` is the count the person confirmed; a different count now is
/// refused, so nobody reissues more tokens than they agreed to.
#[tracing::instrument(skip(state, client, sel), fields(actor = %actor.label()))]
pub async fn print(
    state: &AppState,
    actor: Actor,
    sel: Selection,
    validity: ValidityHours,
    expected: Option<usize>,
    client: ClientInfo,
) -> Result<Printed, SheetError> {
    let font = state.sheet_font.get().await?;
    let plan = plan(state, &actor, &sel).await?;
    if let Some(expected) = expected
        && expected != plan.employees.len()
    {
        return Err(SheetError::Changed {
            expected,
            actual: plan.employees.len(),
        });
    }
    let prepared = prepare(state, &plan.employees).await?;
    let ids: Vec<i64> = plan.employees.iter().map(|e| e.id).collect();
    state
        .transaction(move |conn, st, now| {
            let employees = lock_printable(conn, &actor, &ids)?;
            let grant = tokens::Grant {
                actor: &actor,
                client: &client,
                purpose: TokenPurpose::Onboarding,
                validity,
                via: Some("sheet"),
            };
            let mut sheets = Vec::with_capacity(employees.len());
            let mut revoked_total = 0;
            // Read, not taken: a deadlock runs this closure again with the same secrets.
            for emp in &employees {
                let p = prepared
                    .get(&emp.id)
                    .ok_or_else(|| SheetError::Internal("employee not planned".into()))?;
                let (sheet, revoked) =
                    issue_sheet(conn, &grant, emp, p, &st.settings.http.public_url, now)?;
                revoked_total += revoked;
                sheets.push(sheet);
            }
            let initial_total = sheets
                .iter()
                .filter(|s| s.initial_password.is_some())
                .count();
            let serials: Vec<String> = sheets.iter().map(|s| s.serial.clone()).collect();
            audit::insert(
                conn,
                "sheets_printed",
                actor.id(),
                &actor.label(),
                &json!({
                    "selection": sel.describe(),
                    "count": sheets.len(),
                    "initialPasswords": initial_total,
                    "revokedTokens": revoked_total,
                    "validityHours": validity.hours(),
                    "serials": serials,
                    "clientIp": client.ip,
                }),
                now,
            )?;
            // The PDF is made before the commit: if it cannot be made, nothing was issued.
            let pdf = pdf::render(
                &font,
                &st.settings.sheets.organisation,
                &st.settings.staff_app,
                &sheets,
                to_utc(now),
            )
            .map_err(|e| SheetError::Internal(e.to_string()))?;
            Ok(Printed {
                pdf,
                count: sheets.len(),
                initial_passwords: initial_total,
                revoked: revoked_total,
                serials,
            })
        })
        .await
}

/// The secrets of every sheet, made before the transaction: bcrypt runs on every core, and
/// no row lock waits for it.
async fn prepare(
    state: &AppState,
    employees: &[Employee],
) -> Result<HashMap<i64, Prepared>, SheetError> {
    let mut passwords = Vec::new();
    for e in employees.iter().filter(|e| needs_initial_password(e)) {
        passwords.push((e.id, generate_initial_password()));
    }
    let hashes = state
        .hashing
        .hash_many(passwords.iter().map(|(_, p)| p.clone()).collect())
        .await?;
    let mut by_id: HashMap<i64, (Password, String)> = passwords
        .into_iter()
        .zip(hashes)
        .map(|((id, p), h)| (id, (p, h.0)))
        .collect();
    let mut prepared = HashMap::with_capacity(employees.len());
    for e in employees {
        let token = PlainToken::generate();
        let serial = new_serial();
        prepared.insert(
            e.id,
            Prepared {
                token,
                serial,
                password: by_id.remove(&e.id),
            },
        );
    }
    Ok(prepared)
}

/// Locks the planned rows for the print, in employee-ID order (the order of the sheets), and
/// checks them again: someone may have retired, suspended or promoted an employee since.
fn lock_printable(
    conn: &mut MysqlConnection,
    actor: &Actor,
    ids: &[i64],
) -> Result<Vec<Employee>, SheetError> {
    let mut locked = q::lock_for_print(conn, ids)?;
    check_printable(&locked, actor)?;
    locked.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    Ok(locked)
}

/// One employee's sheet, inside the print transaction: a fresh QR token (older ones revoked),
/// the initial password if they still need one, the print record and its history. Returns
/// the sheet and how many older tokens were revoked.
fn issue_sheet(
    conn: &mut MysqlConnection,
    grant: &tokens::Grant<'_>,
    emp: &Employee,
    p: &Prepared,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<(Sheet, usize), SheetError> {
    let token = grant.store(conn, emp, &p.token.hash(), now)?;
    // Someone who set their own password since the plan keeps it.
    let password = match &p.password {
        Some((plain, hash)) if needs_initial_password(emp) => {
            q::set_initial_password(conn, emp.id, hash, now)?;
            Some(plain.expose().to_owned())
        }
        _ => None,
    };
    let reprint = i32::try_from(q::prints_of(conn, emp.id)?).unwrap_or(i32::MAX);
    q::insert(
        conn,
        &q::NewPrint {
            serial: &p.serial,
            employee: emp.id,
            token: token.id,
            printed_by: grant.actor.id(),
            reprint,
            now,
        },
    )?;
    history::write(
        conn,
        Record {
            event: Event::SheetPrinted,
            employee: Some(emp.id),
            code: Some(&emp.employee_id),
            actor: grant.actor.id(),
            client: grant.client,
            detail: json!({
                "serial": p.serial,
                "tokenId": token.id,
                "reprint": reprint,
                "initialPassword": password.is_some(),
                "actor": grant.actor.label(),
            }),
            now,
        },
    )?;
    let sheet = Sheet {
        serial: p.serial.clone(),
        employee_id: emp.employee_id.clone(),
        name: emp.name.clone(),
        name_kana: emp.name_kana.clone(),
        department: emp.department.clone(),
        login_url: tokens::login_url(public_url, &p.token),
        expires_at: to_utc(token.expires_at),
        initial_password: password,
        printed_at: to_utc(now),
        reprint,
    };
    Ok((sheet, token.revoked))
}

/// `7KQ2-9XMD`: 40 random bits in Crockford base32 (no I, L, O, U), easy to read aloud.
fn new_serial() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 5];
    rand::rng().fill(&mut bytes);
    let mut bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut out = [0u8; 8];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    let s = String::from_utf8_lossy(&out);
    format!("{}-{}", &s[..4], &s[4..])
}

/// When a sheet's QR stops working, for the confirmation page.
pub fn expiry_of(now: DateTime<Utc>, validity: ValidityHours) -> DateTime<Utc> {
    now + validity.duration()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_readable_and_distinct() {
        let a = new_serial();
        let b = new_serial();
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert!(
            a.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(!a.contains(['I', 'L', 'O', 'U']));
        assert_ne!(a, b);
    }
}
