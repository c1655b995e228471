//! Whom a batch of account sheets prints for: the selection, its checks, and the plan shown
//! for confirmation before anything is issued.

use serde_json::json;

use super::error::SheetError;
use super::pdf::MAX_BATCH;
use crate::db;
use crate::db::models::Employee;
use crate::db::queries::sheets as q;
use crate::domain::{EmployeeId, EmployeeStatus};
use crate::services::principal::Actor;
use crate::state::AppState;

/// Whom a batch prints for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These employees, each of whom must exist, be active and be within the actor's level.
    Employees(Vec<EmployeeId>),
    /// Every active employee of a department.
    Department(String),
    /// Every active employee who has not set a password of their own yet and whose sheet
    /// (if any) no longer works: `handed_out` takes those whose sheet still does instead
    /// (reprinting stops the sheets they hold).
    Pending { handed_out: bool },
}

impl Selection {
    pub(super) fn describe(&self) -> serde_json::Value {
        match self {
            Selection::Employees(ids) => json!({
                "employees": ids.iter().map(|i| i.as_str()).collect::<Vec<_>>()
            }),
            Selection::Department(d) => json!({ "department": d }),
            Selection::Pending { handed_out } => {
                json!({ "pending": if *handed_out { "handed_out" } else { "without_sheet" } })
            }
        }
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

pub(super) fn needs_initial_password(e: &Employee) -> bool {
    e.password_hash.is_none() || e.password_must_change
}

/// Resolves the selection and checks it; reads only.
pub async fn plan(state: &AppState, actor: &Actor, sel: &Selection) -> Result<Plan, SheetError> {
    let (actor, sel) = (actor.clone(), sel.clone());
    let now = state.clock.now_naive();
    db::run(&state.pool, move |conn| {
        let (employees, skipped) = resolve(conn, &actor, &sel, now)?;
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
    now: chrono::NaiveDateTime,
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
                .filter(|c| !found.iter().any(|e| e.employee_id.eq_ignore_ascii_case(c)))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(SheetError::Unknown(unknown));
            }
            check_printable(&found, actor)?;
            (found, 0)
        }
        Selection::Department(d) => split(q::by_department(conn, d)?, within),
        Selection::Pending { handed_out } => split(q::pending(conn, *handed_out, now)?, within),
    };
    if employees.is_empty() {
        return Err(SheetError::Empty {
            above_level: skipped,
        });
    }
    if employees.len() > MAX_BATCH {
        return Err(SheetError::TooMany {
            count: employees.len(),
        });
    }
    Ok((employees, skipped))
}

/// Every employee must be active and within the actor's permission level; checked when the
/// batch is planned and again under the row locks of the print.
pub(super) fn check_printable(employees: &[Employee], actor: &Actor) -> Result<(), SheetError> {
    let inactive: Vec<(String, EmployeeStatus)> = employees
        .iter()
        .filter(|e| e.status() != EmployeeStatus::Active)
        .map(|e| (e.employee_id.clone(), e.status()))
        .collect();
    if !inactive.is_empty() {
        return Err(SheetError::NotActive(inactive));
    }
    let above: Vec<String> = employees
        .iter()
        .filter(|e| actor.may_act_on(e).is_err())
        .map(|e| e.employee_id.clone())
        .collect();
    if !above.is_empty() {
        return Err(SheetError::Forbidden(above));
    }
    Ok(())
}

fn split(all: Vec<Employee>, within: impl Fn(&Employee) -> bool) -> (Vec<Employee>, usize) {
    let total = all.len();
    let kept: Vec<Employee> = all.into_iter().filter(|e| within(e)).collect();
    let skipped = total - kept.len();
    (kept, skipped)
}
