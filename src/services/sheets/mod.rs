//! Printing account sheets is an issuing act: every sheet carries a fresh QR token (older
//! unused ones are revoked) and, for staff who have never set their own password, a fresh
//! initial password. Tokens, passwords, print records, history and the audit row commit in
//! one transaction together with the finished PDF; if anything fails nothing is written.

pub mod pdf;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rand::RngExt;
use serde_json::json;

use super::history::{self, Event, Record};
use super::passwords::generate_initial_password;
use super::{Actor, ClientInfo, tokens};
use crate::db::models::Employee;
use crate::db::queries::{audit, onetime_tokens, sheets as q};
use crate::db::{self, DbError};
use crate::domain::{EmployeeId, EmployeeStatus, Password, PlainToken, ValidityHours};
use crate::services::clock::to_utc;
use crate::services::hashing::HashingError;
use crate::state::AppState;
pub use pdf::{FontError, Sheet, SheetFont};

/// One PDF holds at most this many sheets (about 12 MB; larger runs are split by department).
pub const MAX_BATCH: usize = 2000;

/// Whom a batch prints for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These employees, each of whom must exist, be active and be within the actor's level.
    Employees(Vec<EmployeeId>),
    /// Every active employee of a department.
    Department(String),
    /// Every active employee who has not set a password of their own yet.
    Pending,
}

impl Selection {
    fn describe(&self) -> serde_json::Value {
        match self {
            Selection::Employees(ids) => json!({
                "employees": ids.iter().map(|i| i.as_str()).collect::<Vec<_>>()
            }),
            Selection::Department(d) => json!({ "department": d }),
            Selection::Pending => json!({ "pending": true }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error(transparent)]
    Font(#[from] FontError),
    #[error("unknown employee ID(s): {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("not active: {}", .0.iter().map(|(c, s)| format!("{c} ({})", s.as_str())).collect::<Vec<_>>().join(", "))]
    NotActive(Vec<(String, EmployeeStatus)>),
    #[error("above the actor's permission level: {}", .0.join(", "))]
    Forbidden(Vec<String>),
    #[error("nobody to print for")]
    Empty,
    #[error("{count} sheets requested, at most {MAX_BATCH} per batch")]
    TooMany { count: usize },
    #[error("the selection changed: {expected} confirmed, {actual} now")]
    Changed { expected: usize, actual: usize },
    #[error("the hashing pool is saturated")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl crate::db::TxError for SheetError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            SheetError::Db(db) => db.query_error(),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for SheetError {
    fn from(e: diesel::result::Error) -> Self {
        SheetError::Db(DbError::Query(e))
    }
}

impl From<HashingError> for SheetError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy => SheetError::Busy,
            other => SheetError::Internal(other.to_string()),
        }
    }
}

impl SheetError {
    /// What the person printing reads, in Japanese and English.
    pub fn messages(&self) -> (String, String) {
        match self {
            SheetError::Font(f) => (f.message_ja(), f.to_string()),
            SheetError::Unknown(codes) => (
                format!("登録されていない社員IDです: {}", codes.join("、")),
                format!("No employee with ID {}.", codes.join(", ")),
            ),
            SheetError::NotActive(list) => {
                let ja = list
                    .iter()
                    .map(|(c, s)| format!("{c}（{}）", status_ja(*s)))
                    .collect::<Vec<_>>()
                    .join("、");
                let en = list
                    .iter()
                    .map(|(c, s)| format!("{c} ({})", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!("在職中でない職員のシートは印刷できません: {ja}"),
                    format!("Sheets are printed only for active staff: {en}."),
                )
            }
            SheetError::Forbidden(codes) => (
                format!(
                    "ご自身より権限レベルの高いアカウントのシートは印刷できません: {}",
                    codes.join("、")
                ),
                format!(
                    "You cannot print sheets for accounts above your own permission level: {}.",
                    codes.join(", ")
                ),
            ),
            SheetError::Empty => (
                "印刷する対象の職員がいません。".into(),
                "There is nobody to print a sheet for.".into(),
            ),
            SheetError::TooMany { count } => (
                format!(
                    "{count} 件が選ばれました。一度に印刷できるのは {MAX_BATCH} 件までです。部署ごとに分けて印刷してください。"
                ),
                format!(
                    "{count} sheets selected; at most {MAX_BATCH} can be printed at once. Print by department instead."
                ),
            ),
            SheetError::Changed { expected, actual } => (
                format!(
                    "確認後に対象が変わりました（確認時 {expected} 件、現在 {actual} 件）。もう一度確認してください。"
                ),
                format!(
                    "The selection changed after you confirmed it ({expected} then, {actual} now). Please confirm again."
                ),
            ),
            SheetError::Busy => (
                "ただいま混み合っています。しばらくしてからもう一度お試しください。".into(),
                "The server is busy. Please try again shortly.".into(),
            ),
            SheetError::Db(_) | SheetError::Internal(_) => (
                "シートを作成できませんでした。何も変更されていません。".into(),
                "The sheets could not be created. Nothing was changed.".into(),
            ),
        }
    }
}

fn status_ja(s: EmployeeStatus) -> &'static str {
    match s {
        EmployeeStatus::Active => "在職",
        EmployeeStatus::Suspended => "停止中",
        EmployeeStatus::Retired => "退職",
    }
}

/// The sheet font, loaded on first use and kept (a failed load is retried next time, so
/// installing the font fixes printing without a restart).
pub struct FontCache {
    path: PathBuf,
    loaded: Mutex<Option<Arc<SheetFont>>>,
}

impl FontCache {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            loaded: Mutex::new(None),
        }
    }

    pub async fn get(self: &Arc<Self>) -> Result<Arc<SheetFont>, SheetError> {
        if let Some(font) = self.cached() {
            return Ok(font);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let font = Arc::new(SheetFont::load(&this.path)?);
            *this.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Some(font.clone());
            Ok(font)
        })
        .await
        .map_err(|_| SheetError::Internal("font task failed".into()))?
    }

    fn cached(&self) -> Option<Arc<SheetFont>> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What a batch will do, for the confirmation step.
#[derive(Debug)]
pub struct Plan {
    pub employees: Vec<Employee>,
    /// Left out of a department or pending batch: above the actor's permission level.
    pub skipped: usize,
    /// Unused QR tokens that printing revokes.
    pub live_tokens: i64,
    /// Sheets that carry a fresh initial password.
    pub initial_passwords: usize,
}

fn needs_initial_password(e: &Employee) -> bool {
    e.password_hash.is_none() || e.password_must_change
}

/// Resolves the selection and checks it; reads only.
pub async fn plan(state: &AppState, actor: &Actor, sel: &Selection) -> Result<Plan, SheetError> {
    let (actor, sel) = (actor.clone(), sel.clone());
    let now = state.clock.now_naive();
    db::run(&state.pool, move |conn| {
        let (employees, skipped) = resolve(conn, &actor, &sel)?;
        let ids: Vec<i64> = employees.iter().map(|e| e.id).collect();
        let live_tokens = q::live_tokens(conn, &ids, now)?;
        let initial_passwords = employees
            .iter()
            .filter(|e| needs_initial_password(e))
            .count();
        Ok(Plan {
            employees,
            skipped,
            live_tokens,
            initial_passwords,
        })
    })
    .await
}

fn resolve(
    conn: &mut diesel::MysqlConnection,
    actor: &Actor,
    sel: &Selection,
) -> Result<(Vec<Employee>, usize), SheetError> {
    let within = |e: &Employee| actor.may_act_on(e).is_ok();
    let (employees, skipped) = match sel {
        Selection::Employees(ids) => {
            let mut codes: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
            codes.sort();
            codes.dedup();
            if codes.len() > MAX_BATCH {
                return Err(SheetError::TooMany { count: codes.len() });
            }
            let found = q::by_codes(conn, &codes)?;
            let unknown: Vec<String> = codes
                .iter()
                .filter(|c| !found.iter().any(|e| &e.employee_id == *c))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(SheetError::Unknown(unknown));
            }
            let inactive: Vec<(String, EmployeeStatus)> = found
                .iter()
                .filter(|e| e.status() != EmployeeStatus::Active)
                .map(|e| (e.employee_id.clone(), e.status()))
                .collect();
            if !inactive.is_empty() {
                return Err(SheetError::NotActive(inactive));
            }
            let above: Vec<String> = found
                .iter()
                .filter(|e| !within(e))
                .map(|e| e.employee_id.clone())
                .collect();
            if !above.is_empty() {
                return Err(SheetError::Forbidden(above));
            }
            (found, 0)
        }
        Selection::Department(d) => split(q::by_department(conn, d)?, within),
        Selection::Pending => split(q::pending(conn)?, within),
    };
    if employees.is_empty() {
        return Err(SheetError::Empty);
    }
    if employees.len() > MAX_BATCH {
        return Err(SheetError::TooMany {
            count: employees.len(),
        });
    }
    Ok((employees, skipped))
}

fn split(all: Vec<Employee>, within: impl Fn(&Employee) -> bool) -> (Vec<Employee>, usize) {
    let total = all.len();
    let kept: Vec<Employee> = all.into_iter().filter(|e| within(e)).collect();
    let skipped = total - kept.len();
    (kept, skipped)
}

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

    // Secrets and bcrypt first, outside any transaction: bcrypt runs on every core.
    let mut passwords = Vec::new();
    for e in plan.employees.iter().filter(|e| needs_initial_password(e)) {
        passwords.push((e.id, generate_initial_password()));
    }
    let hashes = state
        .hashing
        .hash_many(passwords.iter().map(|(_, p)| p.clone()).collect())
        .await?;
    let mut by_id: std::collections::HashMap<i64, (Password, String)> = passwords
        .into_iter()
        .zip(hashes)
        .map(|((id, p), h)| (id, (p, h.0)))
        .collect();
    let mut prepared = std::collections::HashMap::with_capacity(plan.employees.len());
    for e in &plan.employees {
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

    let ids: Vec<i64> = plan.employees.iter().map(|e| e.id).collect();
    state
        .transaction(move |conn, st, now| {
        let locked = q::lock_for_print(conn, &ids)?;
        // Someone may have retired, suspended or promoted an employee since the plan.
        let gone: Vec<(String, EmployeeStatus)> = locked
            .iter()
            .filter(|e| e.status() != EmployeeStatus::Active)
            .map(|e| (e.employee_id.clone(), e.status()))
            .collect();
        if !gone.is_empty() {
            return Err(SheetError::NotActive(gone));
        }
        let above: Vec<String> = locked
            .iter()
            .filter(|e| actor.may_act_on(e).is_err())
            .map(|e| e.employee_id.clone())
            .collect();
        if !above.is_empty() {
            return Err(SheetError::Forbidden(above));
        }
        let mut by_code: Vec<&Employee> = locked.iter().collect();
        by_code.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));

        let mut sheets = Vec::with_capacity(by_code.len());
        let mut revoked_total = 0;
        let mut initial_total = 0;
        let expires_at = now + validity.duration();
        for emp in by_code {
            let p = prepared
                .remove(&emp.id)
                .ok_or_else(|| SheetError::Internal("employee not planned".into()))?;
            let token_id = onetime_tokens::insert(
                conn,
                emp.id,
                &p.token.hash(),
                "onboarding",
                actor.id(),
                now,
                expires_at,
            )?;
            let revoked = onetime_tokens::revoke_others(conn, emp.id, token_id, now)?;
            revoked_total += revoked;
            // Someone who set their own password since the plan keeps it.
            let password = match p.password {
                Some((plain, hash)) if needs_initial_password(emp) => {
                    q::set_initial_password(conn, emp.id, &hash, now)?;
                    initial_total += 1;
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
                    token: token_id,
                    printed_by: actor.id(),
                    reprint,
                    now,
                },
            )?;
            let about = |event, detail| Record {
                event,
                employee: Some(emp.id),
                code: Some(&emp.employee_id),
                actor: actor.id(),
                client: &client,
                detail,
                now,
            };
            if revoked > 0 {
                history::write(
                    conn,
                    about(
                        Event::TokenRevoked,
                        json!({ "count": revoked, "reason": "reissued", "replacedBy": token_id }),
                    ),
                )?;
            }
            history::write(
                conn,
                about(
                    Event::TokenIssued,
                    json!({
                        "tokenId": token_id,
                        "purpose": "onboarding",
                        "validityHours": validity.hours(),
                        "expiresAt": to_utc(expires_at).to_rfc3339(),
                        "actor": actor.label(),
                        "via": "sheet",
                    }),
                ),
            )?;
            history::write(
                conn,
                about(
                    Event::SheetPrinted,
                    json!({
                        "serial": p.serial,
                        "tokenId": token_id,
                        "reprint": reprint,
                        "initialPassword": password.is_some(),
                        "actor": actor.label(),
                    }),
                ),
            )?;
            sheets.push(Sheet {
                serial: p.serial,
                employee_id: emp.employee_id.clone(),
                name: emp.name.clone(),
                name_kana: emp.name_kana.clone(),
                department: emp.department.clone(),
                login_url: tokens::login_url(&st.settings.public_url, &p.token),
                expires_at: to_utc(expires_at),
                initial_password: password,
                printed_at: to_utc(now),
                reprint,
            });
        }
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
        let pdf = pdf::render(&font, &st.settings.organisation, &sheets, to_utc(now))
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
