//! Employee CSV import, shared by the CLI and the portal: parse the file (`file`), then upsert
//! every row by employee ID, all or nothing, within the actor's permission level.

pub mod file;

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::lifecycle::{self, StatusMove};
use super::principal::{Actor, ClientInfo};
use crate::db::DbError;
use crate::db::models::NewEmployee;
use crate::db::queries::audit;
use crate::db::queries::employees::{self, Listing, ListingChange};
use crate::domain::EmployeeStatus;
use crate::domain::expiry::spread_offset;
use crate::state::AppState;
use file::{EmployeeRow, ParsedFile, RowError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    pub written: bool,
    /// The rows behind the counts, in file order: who is added, who changes and how, and who
    /// stays as they are.
    pub new_rows: Vec<EmployeeRow>,
    pub changed_rows: Vec<RowChange>,
    pub unchanged_rows: Vec<EmployeeRow>,
}

/// A row that changes an existing employee, with every field it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub row: EmployeeRow,
    pub fields: Vec<FieldChange>,
}

/// One column of an employee as stored (`old`) and as the file has it (`new`); `field` is the
/// CSV column name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// What `row` would change in `old`, column by column.
fn field_changes(old: &Listing, row: &EmployeeRow) -> Vec<FieldChange> {
    let level = |l: f64| format!("{l:.1}");
    let texts = [
        ("name", old.name.as_str(), row.name.as_str()),
        ("name_kana", &old.name_kana, &row.name_kana),
        ("department", &old.department, &row.department),
        (
            "email",
            old.email.as_deref().unwrap_or_default(),
            row.email.as_deref().unwrap_or_default(),
        ),
    ];
    let mut changes: Vec<FieldChange> = texts
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| FieldChange {
            field,
            old: old.to_owned(),
            new: new.to_owned(),
        })
        .collect();
    if (old.permission_level - row.permission_level).abs() >= 0.05 {
        changes.push(FieldChange {
            field: "permission_level",
            old: level(old.permission_level),
            new: level(row.permission_level),
        });
    }
    if let Some(to) = row.status
        && to.as_str() != old.status
    {
        changes.push(FieldChange {
            field: "status",
            old: old.status.clone(),
            new: to.as_str().to_owned(),
        });
    }
    changes
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Db(#[from] DbError),
}

impl crate::db::TxError for ImportError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            ImportError::Db(db) => db.query_error(),
        }
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(err: diesel::result::Error) -> Self {
        ImportError::Db(DbError::Query(err))
    }
}

/// Validates, then (unless `dry_run` or any row is invalid) upserts every row by employee_id in
/// one transaction. New employees start without a password and must set one; their first
/// expiry is spread over `STAFFGATE_EXPIRY_SPREAD_DAYS` (see `domain::expiry::spread_offset`).
pub async fn import(
    state: &AppState,
    actor: Actor,
    client: ClientInfo,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    // Decoding and validating 50,000 rows is CPU work: on the blocking pool, and before a
    // database connection is taken.
    let parsed = tokio::task::spawn_blocking(move || file::parse(&bytes))
        .await
        .map_err(|_| ImportError::Db(DbError::Join))?;
    let spread = state.settings.passwords.expiry_spread_days;
    state
        .transaction(move |conn, _, now| {
            let codes: Vec<&str> = parsed.rows.iter().map(|r| r.employee_id.as_str()).collect();
            // A write locks the rows it checks against the actor's level: another admin
            // raising one of them meanwhile waits for this import, or this import sees the new
            // level and refuses the row.
            let listed = if dry_run {
                employees::listings(conn, &codes)?
            } else {
                employees::listings_for_update(conn, &codes)?
            };
            let existing: HashMap<String, Listing> = listed
                .into_iter()
                .map(|l| (l.employee_id.to_ascii_uppercase(), l))
                .collect();
            let Changes {
                mut report,
                create,
                update,
            } = classify(&parsed, &existing, &actor);
            if dry_run || !report.errors.is_empty() {
                return Ok(report);
            }
            let new: Vec<NewEmployee<'_>> = create
                .iter()
                .map(|r| NewEmployee {
                    employee_id: &r.employee_id,
                    name: &r.name,
                    name_kana: &r.name_kana,
                    department: &r.department,
                    email: r.email.as_deref(),
                    permission_level: r.permission_level,
                    status: r.status.unwrap_or(EmployeeStatus::Active).as_str(),
                    password_hash: None,
                    password_must_change: true,
                    password_updated_at: None,
                    password_length_class: 0,
                    password_expiry_offset_days: spread_offset(&r.employee_id, spread),
                    created_at: now,
                    updated_at: now,
                })
                .collect();
            employees::insert_all(conn, &new)?;
            for (code, r) in &update {
                let change = ListingChange {
                    name: &r.name,
                    name_kana: &r.name_kana,
                    department: &r.department,
                    email: r.email.as_deref(),
                    permission_level: r.permission_level,
                };
                employees::update_listing(conn, code, &change, now)?;
                if let (Some(to), Some(old)) = (r.status, existing.get(&code.to_ascii_uppercase()))
                {
                    let m = StatusMove {
                        id: old.id,
                        code,
                        from: EmployeeStatus::from_db(&old.status),
                        to,
                    };
                    let reason = format!("CSVの取り込み（{} 行目）", r.line);
                    lifecycle::apply_status(conn, m, &reason, &actor, &client, now)?;
                }
            }
            audit::insert(
                conn,
                "employees_imported",
                actor.id(),
                &actor.label(),
                &json!({
                    "encoding": parsed.encoding.label(),
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                }),
                now,
            )?;
            report.written = true;
            Ok(report)
        })
        .await
}

/// What an import does with the parsed rows, given what the table holds.
struct Changes<'a> {
    report: ImportReport,
    create: Vec<&'a EmployeeRow>,
    /// Each with the employee ID as stored (the file may differ in case).
    update: Vec<(String, &'a EmployeeRow)>,
}

/// Sorts the rows into new, changed and unchanged employees (`existing` is keyed by the
/// upper-cased employee ID). An admin may not create or change accounts above their own
/// level, nor change such an account at all (lowering it would let them take it over).
fn classify<'a>(
    parsed: &'a ParsedFile,
    existing: &HashMap<String, Listing>,
    actor: &Actor,
) -> Changes<'a> {
    let mut report = ImportReport {
        rows: parsed.rows.len()
            + parsed
                .errors
                .iter()
                .map(|e| e.line)
                .collect::<HashSet<_>>()
                .len(),
        errors: parsed.errors.clone(),
        ..ImportReport::default()
    };
    let mut create = Vec::new();
    let mut update = Vec::new();
    let ceiling = match actor {
        Actor::Employee { permission, .. } => Some(*permission),
        Actor::Cli => None,
    };
    let above = |level: f64| ceiling.is_some_and(|c| level > c + 0.001);
    for row in &parsed.rows {
        let old = existing.get(&row.employee_id.to_ascii_uppercase());
        // A roster exported whole lists people above the admin too: unchanged, they are fine.
        if let Some(o) = old
            && above(o.permission_level)
            && field_changes(o, row).is_empty()
        {
            report.unchanged_rows.push(row.clone());
            continue;
        }
        if above(row.permission_level) || old.is_some_and(|o| above(o.permission_level)) {
            let c = ceiling.unwrap_or_default();
            report.errors.push(RowError {
                line: row.line,
                column: "permission_level",
                message_ja: format!(
                    "あなたの権限レベル（{c:.1}）より高いアカウントは作成・変更できません。"
                ),
                message_en: format!(
                    "You cannot create or change an account above your own permission level ({c:.1})."
                ),
            });
            continue;
        }
        // Nobody suspends or retires themselves, in a file either.
        if let (Some(o), Some(to)) = (old, row.status)
            && actor.id() == Some(o.id)
            && to.as_str() != o.status
        {
            report.errors.push(RowError {
                line: row.line,
                column: "status",
                message_ja:
                    "ご自分のアカウントの状態は変更できません。ほかの管理者に依頼してください。"
                        .into(),
                message_en:
                    "You cannot change the status of your own account; ask another administrator."
                        .into(),
            });
            continue;
        }
        match old {
            None => create.push(row),
            Some(old) => {
                let fields = field_changes(old, row);
                if fields.is_empty() {
                    report.unchanged_rows.push(row.clone());
                } else {
                    report.changed_rows.push(RowChange {
                        row: row.clone(),
                        fields,
                    });
                    update.push((old.employee_id.clone(), row));
                }
            }
        }
    }
    report.new_rows = create.iter().map(|r| (*r).clone()).collect();
    report.created = create.len();
    report.updated = update.len();
    report.unchanged = report.unchanged_rows.len();
    report.errors.sort_by_key(|e| e.line);
    Changes {
        report,
        create,
        update,
    }
}
