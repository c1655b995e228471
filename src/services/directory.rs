//! What the portal's pages read: employee lists and details, the dashboard, sign-in and audit
//! records, archive runs, the mail outbox. Read-only, one pooled connection per page.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::clock::{jst_date, jst_midnight};
use super::policy::{self, StoredPolicy};
use crate::db::DbError;
use crate::db::models::{Employee, OnetimeToken};
use crate::db::queries::archive::{self as archive_rows, RunRow};
use crate::db::queries::directory::{
    self as q, AuditFilter, AuditRow, Cursor, Dashboard, EmployeeFilter, HistoryFilter, HistoryRow,
};
use crate::db::queries::outbox::{self as outbox_rows, OutboxRow};
use crate::db::queries::portal_sessions::{self, LiveSession};
use crate::db::queries::sheets::{self as sheet_rows, Department};
use crate::db::queries::{audit, employees};
use crate::domain::ExpiryPolicy;
use crate::state::AppState;

/// Employee names by id: `(employee ID, name)`.
pub type Names = HashMap<i64, (String, String)>;

pub async fn employee(state: &AppState, id: i64) -> Result<Option<Employee>, DbError> {
    state
        .read(move |conn, _, _| Ok(employees::find(conn, id)?))
        .await
}

pub async fn employee_by_code(state: &AppState, code: &str) -> Result<Option<Employee>, DbError> {
    let code = code.to_owned();
    state
        .read(move |conn, _, _| Ok(employees::find_by_code(conn, &code)?))
        .await
}

/// One page of the employee list, the number of all matches, and the expiry policy the list
/// was filtered and is shown with.
pub async fn search_employees(
    state: &AppState,
    mut filter: EmployeeFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Employee>, i64, ExpiryPolicy), DbError> {
    state
        .read(move |conn, st, now| {
            filter.policy = policy::current(conn, &st.settings)?;
            let (rows, total) = q::search_employees(conn, &filter, now, offset, limit)?;
            Ok((rows, total, filter.policy))
        })
        .await
}

/// An employee's newest QR codes and sign-in records, with the expiry policy.
pub async fn employee_detail(
    state: &AppState,
    id: i64,
) -> Result<(Vec<OnetimeToken>, Vec<HistoryRow>, ExpiryPolicy), DbError> {
    state
        .read(move |conn, st, _| {
            let policy = policy::current(conn, &st.settings)?;
            let tokens = q::tokens_of(conn, id, 10)?;
            let filter = HistoryFilter {
                employee: Some(id),
                ..HistoryFilter::default()
            };
            let events = q::history_page(conn, &filter, None, 20)?;
            Ok((tokens, events, policy))
        })
        .await
}

/// Accounts locked now (newest lock first), with the expiry policy.
pub async fn locked(
    state: &AppState,
    limit: i64,
) -> Result<(Vec<Employee>, ExpiryPolicy), DbError> {
    state
        .read(move |conn, st, now| {
            let policy = policy::current(conn, &st.settings)?;
            Ok((q::locked_employees(conn, now, limit)?, policy))
        })
        .await
}

/// The dashboard's figures for today (JST), the newest locks, and QR codes that expire
/// within a day (with the holder's employee ID and name).
pub async fn dashboard(
    state: &AppState,
) -> Result<
    (
        Dashboard,
        Vec<Employee>,
        Vec<(OnetimeToken, String, String)>,
    ),
    DbError,
> {
    state
        .read(move |conn, st, now| {
            let today_start = jst_midnight(jst_date(now)).unwrap_or(now);
            let policy = policy::current(conn, &st.settings)?;
            let d = q::dashboard(conn, now, today_start, &policy)?;
            let locked = q::locked_employees(conn, now, 10)?;
            let expiring = q::tokens_expiring(conn, now, chrono::Duration::hours(24), 10)?;
            Ok((d, locked, expiring))
        })
        .await
}

/// Sign-in records, newest first, with the names of the people they are about and by.
pub async fn history(
    state: &AppState,
    filter: HistoryFilter,
    before: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<HistoryRow>, Names), DbError> {
    state
        .read(move |conn, _, _| {
            let rows = q::history_page(conn, &filter, before, limit)?;
            let people = rows
                .iter()
                .flat_map(|r| r.employee_ref.into_iter().chain(r.actor_ref));
            let names = q::names_of(conn, people)?;
            Ok((rows, names))
        })
        .await
}

/// Audit entries, newest first, and every action that occurs (for the filter).
pub async fn audit(
    state: &AppState,
    filter: AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditRow>, Vec<String>), DbError> {
    state
        .read(move |conn, _, _| {
            let rows = q::audit_page(conn, &filter, before, limit)?;
            Ok((rows, q::audit_actions(conn)?))
        })
        .await
}

/// Records in the audit trail that an admin did something that changes nothing else
/// (took an export).
pub async fn record_audit(
    state: &AppState,
    action: &'static str,
    actor: &Employee,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    let (id, label) = (actor.id, actor.employee_id.clone());
    state
        .read(move |conn, _, now| {
            audit::insert(conn, action, Some(id), &label, &detail, now)?;
            Ok(())
        })
        .await
}

/// The newest archive runs. A run still marked `running` while nobody holds the archive
/// lock belonged to a process that died: it is shown as `interrupted` (the next run marks
/// it so and resumes its work).
pub async fn archive_runs(state: &AppState, limit: i64) -> Result<Vec<RunRow>, DbError> {
    state
        .read(move |conn, _, _| {
            let mut runs = archive_rows::recent_runs(conn, limit)?;
            if archive_rows::lock_is_free(conn)? {
                for r in runs.iter_mut().filter(|r| r.status == "running") {
                    r.status = "interrupted".into();
                }
            }
            Ok(runs)
        })
        .await
}

/// Departments with their counts, and how many active people have no password yet.
/// The departments, and how many without a password of their own have no working sheet and
/// how many hold one — counting only those an admin of `max_level` may print for, as the
/// confirmation page will.
pub async fn sheet_overview(
    state: &AppState,
    max_level: f64,
) -> Result<(Vec<Department>, i64, i64), DbError> {
    state
        .read(move |conn, _, now| {
            Ok((
                sheet_rows::departments(conn)?,
                sheet_rows::pending_count(conn, false, now, Some(max_level))?,
                sheet_rows::pending_count(conn, true, now, Some(max_level))?,
            ))
        })
        .await
}

/// When each of these employees' sheet was last printed, and how often it was reprinted.
pub async fn last_prints(
    state: &AppState,
    ids: Vec<i64>,
) -> Result<Vec<(i64, NaiveDateTime, i32)>, DbError> {
    state
        .read(move |conn, _, _| Ok(sheet_rows::last_prints(conn, &ids)?))
        .await
}

/// The stored expiry policy and who last changed it.
pub async fn policy_with_author(
    state: &AppState,
) -> Result<(StoredPolicy, Option<Employee>), DbError> {
    state
        .read(|conn, st, _| {
            let stored = policy::load(conn, &st.settings)?;
            let by = match stored.updated_by {
                Some(id) => employees::find(conn, id)?,
                None => None,
            };
            Ok((stored, by))
        })
        .await
}

pub async fn current_policy(state: &AppState) -> Result<ExpiryPolicy, DbError> {
    state
        .read(|conn, st, _| Ok(policy::current(conn, &st.settings)?))
        .await
}

/// How many active employees' passwords have expired, and how many expire within 14 days,
/// under the policy in force and under `proposed`.
pub async fn expiry_impact(
    state: &AppState,
    proposed: ExpiryPolicy,
) -> Result<((i64, i64), (i64, i64)), DbError> {
    state
        .read(move |conn, st, now| {
            let current = policy::current(conn, &st.settings)?;
            Ok((
                q::password_expiry_counts(conn, &current, now)?,
                q::password_expiry_counts(conn, &proposed, now)?,
            ))
        })
        .await
}

/// The newest mail in the outbox.
pub async fn recent_mail(state: &AppState, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
    state
        .read(move |conn, _, _| Ok(outbox_rows::recent(conn, limit)?))
        .await
}

/// An admin's portal sessions that are still live.
pub async fn live_sessions(state: &AppState, employee: i64) -> Result<Vec<LiveSession>, DbError> {
    state
        .read(move |conn, _, now| Ok(portal_sessions::list_live(conn, employee, now)?))
        .await
}
