//! Account sheets: choose whom to print for, confirm what will be reissued, download the PDF.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::view::{Chrome, PortalError, encode, page, see_other};
use super::{GET, POST, Route, route};
use crate::db::queries::sheets::Department;
use crate::domain::{EmployeeId, ValidityHours};
use crate::services::clock::format_jst;
use crate::services::clock::{file_stamp, jst};
use crate::services::directory;
use crate::services::portal::actor;
use crate::services::sheets::{self, Plan, Selection, SheetError};

/// Sheets go out on paper and are handed over in person: a week by default.
const DEFAULT_VALIDITY: u32 = 168;
/// The confirmation page lists this many people by name.
const LISTED: usize = 300;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/sheets", index),
        route(GET, "/sheets/confirm", confirm),
        route(POST, "/sheets/print", print),
    ]
}

#[derive(Template)]
#[template(path = "admin/sheets/index.html")]
struct IndexPage {
    c: Chrome,
    departments: Vec<Department>,
    /// Without a password of their own and without a working sheet.
    pending: i64,
    /// Without a password of their own, holding a sheet whose QR code still works.
    handed_out: i64,
    /// The IDs typed last time, back after a refusal so nothing has to be pasted again.
    ids: String,
}

#[derive(Deserialize)]
struct IndexQuery {
    ids: Option<String>,
}

async fn index(me: Admin, query: web::Query<IndexQuery>) -> Result<HttpResponse, PortalError> {
    let (departments, pending, handed_out) =
        directory::sheet_overview(&me.state, me.employee.permission_level).await?;
    Ok(page(&IndexPage {
        c: me.chrome("sheets"),
        departments,
        pending,
        handed_out,
        ids: query
            .ids
            .clone()
            .unwrap_or_default()
            .chars()
            .take(40_000)
            .collect(),
    }))
}

/// A selection as the forms carry it: `e` (repeated, from the employee list's checkboxes),
/// `ids` (typed, separated by spaces, commas or new lines), `department`, `pending=1` (no
/// working sheet) or `pending=handed_out` (a sheet handed out and not used yet).
#[derive(Default)]
struct SelectionParams {
    codes: Vec<String>,
    department: Option<String>,
    pending: Option<bool>,
    validity: Option<String>,
}

impl SelectionParams {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut p = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "e" | "ids" | "employees" => p.codes.extend(
                    v.split(|c: char| c.is_whitespace() || c == ',' || c == '、')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                "department" if !v.trim().is_empty() => p.department = Some(v.trim().to_owned()),
                "pending" => {
                    p.pending = match v.as_str() {
                        "1" => Some(false),
                        "handed_out" => Some(true),
                        _ => None,
                    }
                }
                "validity" => p.validity = Some(v),
                _ => {}
            }
        }
        p
    }

    fn selection(&self) -> Result<Selection, (String, String)> {
        if let Some(handed_out) = self.pending {
            return Ok(Selection::Pending { handed_out });
        }
        if let Some(d) = &self.department {
            return Ok(Selection::Department(d.chars().take(100).collect()));
        }
        if self.codes.is_empty() {
            return Err((
                "印刷する職員を選んでください。".into(),
                "Choose whom to print sheets for.".into(),
            ));
        }
        if self.codes.len() > sheets::MAX_BATCH {
            let e = SheetError::TooMany {
                count: self.codes.len(),
            };
            return Err(e.messages());
        }
        let mut ids = Vec::with_capacity(self.codes.len());
        let mut bad = Vec::new();
        for c in &self.codes {
            match EmployeeId::parse(c) {
                Ok(id) => ids.push(id),
                Err(_) => bad.push(c.chars().take(40).collect::<String>()),
            }
        }
        if !bad.is_empty() {
            return Err((
                format!("職員番号の形式が正しくありません: {}", bad.join("、")),
                format!("Not a valid employee ID: {}.", bad.join(", ")),
            ));
        }
        Ok(Selection::Employees(ids))
    }

    fn validity(&self) -> Result<ValidityHours, (String, String)> {
        let raw = self
            .validity
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let hours = match raw {
            None => Some(i64::from(DEFAULT_VALIDITY)),
            Some(v) => v.parse::<i64>().ok(),
        };
        hours
            .and_then(|h| ValidityHours::parse(Some(h)).ok())
            .ok_or_else(|| {
                (
                    "有効期間は1〜168時間の整数で指定してください。".into(),
                    "The validity must be a whole number of hours from 1 to 168.".into(),
                )
            })
    }

    /// The sheet page, with typed IDs put back in their box.
    fn index_url(&self) -> String {
        if self.pending.is_none() && self.department.is_none() && !self.codes.is_empty() {
            format!(
                "/admin/sheets?ids={}#ids-panel",
                encode(&self.codes.join(" "))
            )
        } else {
            "/admin/sheets".to_owned()
        }
    }

    /// The confirmation page for this selection.
    fn confirm_url(&self) -> String {
        let mut parts = Vec::new();
        if let Some(handed_out) = self.pending {
            parts.push(format!("pending={}", pending_value(handed_out)));
        } else if let Some(d) = &self.department {
            parts.push(format!("department={}", encode(d)));
        } else {
            parts.extend(self.codes.iter().map(|c| format!("e={}", encode(c))));
        }
        if let Some(v) = &self.validity {
            parts.push(format!("validity={}", encode(v)));
        }
        format!("/admin/sheets/confirm?{}", parts.join("&"))
    }
}

pub struct PlannedRow {
    pub code: String,
    pub name: String,
    pub department: String,
    pub initial_password: bool,
    pub last_printed: String,
}

#[derive(Template)]
#[template(path = "admin/sheets/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    what_ja: String,
    what_en: String,
    count: usize,
    live_tokens: i64,
    initial_passwords: usize,
    skipped: usize,
    rows: Vec<PlannedRow>,
    more: usize,
    kind: &'static str,
    department: String,
    employees: String,
    validity: u32,
    expires: String,
    /// Hours, labels, and the expiry a sheet printed now would carry (JST).
    validity_options: Vec<(u32, &'static str, &'static str, String)>,
}

async fn confirm(me: Admin, req: HttpRequest) -> Result<HttpResponse, PortalError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| PortalError::BadRequest(e.to_string()))?;
    let params = SelectionParams::from_pairs(pairs);
    let (sel, validity) = match (params.selection(), params.validity()) {
        (Ok(s), Ok(v)) => (s, v),
        (Err((ja, en)), _) | (_, Err((ja, en))) => {
            me.flash_error(&ja, &en);
            return Ok(see_other(&params.index_url()));
        }
    };
    let plan = match sheets::plan(&me.state, &actor(&me.employee), &sel).await {
        Ok(plan) => plan,
        Err(e) => return Ok(me.refused(e, &params.index_url())),
    };
    let (what_ja, what_en) = describe(&sel);
    let (kind, department, employees) = match &sel {
        Selection::Employees(ids) => (
            "employees",
            String::new(),
            ids.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(" "),
        ),
        Selection::Department(d) => ("department", d.clone(), String::new()),
        Selection::Pending { handed_out } => (
            "pending",
            pending_value(*handed_out).to_owned(),
            String::new(),
        ),
    };
    let Plan {
        employees: planned,
        skipped,
        live_tokens,
        initial_passwords,
    } = plan;
    let count = planned.len();
    let listed: Vec<i64> = planned.iter().take(LISTED).map(|e| e.id).collect();
    let last = directory::last_prints(&me.state, listed).await?;
    let rows = planned
        .iter()
        .take(LISTED)
        .map(|e| PlannedRow {
            last_printed: last
                .iter()
                .find(|l| l.0 == e.id)
                .map(|(_, at, reprint)| format!("{}（{}回目）", jst(at), reprint + 1))
                .unwrap_or_default(),
            code: e.employee_id.clone(),
            name: e.name.clone(),
            department: e.department.clone(),
            initial_password: e.password_hash.is_none() || e.password_must_change,
        })
        .collect();
    let now = me.state.clock.now();
    let expires = format_jst(sheets::expiry_of(now, validity));
    let expiry_at = |hours: i64| {
        ValidityHours::parse(Some(hours))
            .map(|v| format_jst(sheets::expiry_of(now, v)))
            .unwrap_or_default()
    };
    Ok(page(&ConfirmPage {
        c: me.chrome("sheets"),
        what_ja,
        what_en,
        count,
        live_tokens,
        initial_passwords,
        skipped,
        rows,
        more: count.saturating_sub(LISTED),
        kind,
        department,
        employees,
        validity: validity.hours(),
        expires,
        validity_options: vec![
            (24, "24時間", "24 hours", expiry_at(24)),
            (72, "72時間（3日）", "72 hours (3 days)", expiry_at(72)),
            (168, "7日間", "7 days", expiry_at(168)),
        ],
    }))
}

/// How the two pending groups are named in URLs and forms.
fn pending_value(handed_out: bool) -> &'static str {
    if handed_out { "handed_out" } else { "1" }
}

fn describe(sel: &Selection) -> (String, String) {
    match sel {
        Selection::Employees(ids) if ids.len() == 1 => (
            format!("職員番号 {}", ids[0].as_str()),
            format!("employee {}", ids[0].as_str()),
        ),
        Selection::Employees(ids) => (
            format!("選択した職員 {} 名", ids.len()),
            format!("{} selected employees", ids.len()),
        ),
        Selection::Department(d) => (
            format!("部署「{d}」の在籍者"),
            format!("active staff of {d}"),
        ),
        Selection::Pending { handed_out: false } => (
            "パスワードをまだ設定していない在籍者のうち、使えるシートがない人（未印刷・期限切れ）".into(),
            "active staff without a password of their own and without a working sheet (never printed, or expired)".into(),
        ),
        Selection::Pending { handed_out: true } => (
            "シートを配布済みで、まだパスワードを設定していない在籍者（再印刷）".into(),
            "active staff who hold a working sheet and have not set a password yet (reprint)".into(),
        ),
    }
}

#[derive(Deserialize)]
struct PrintForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    employees: String,
    #[serde(default)]
    validity: String,
    #[serde(default)]
    expected: String,
}

impl PrintForm {
    fn params(&self) -> SelectionParams {
        let mut pairs = vec![("validity".to_owned(), self.validity.clone())];
        match self.kind.as_str() {
            // The confirmation form carries which pending group in its department field.
            "pending" => pairs.push(("pending".into(), self.department.clone())),
            "department" => pairs.push(("department".into(), self.department.clone())),
            _ => pairs.push(("employees".into(), self.employees.clone())),
        }
        SelectionParams::from_pairs(pairs)
    }
}

/// Issues and prints: the answer is the PDF itself (never cached), or back to the
/// confirmation page with the reason when nothing was printed.
async fn print(me: Admin, form: web::Form<PrintForm>) -> Result<HttpResponse, PortalError> {
    let params = form.params();
    let back = params.confirm_url();
    let (sel, validity) = match (params.selection(), params.validity()) {
        (Ok(s), Ok(v)) => (s, v),
        (Err((ja, en)), _) | (_, Err((ja, en))) => {
            me.flash_error(&ja, &en);
            return Ok(see_other("/admin/sheets"));
        }
    };
    let Ok(expected) = form.expected.trim().parse::<usize>() else {
        return Err(PortalError::BadRequest("expected count missing".into()));
    };
    let printed = match sheets::print(
        &me.state,
        actor(&me.employee),
        sel,
        validity,
        Some(expected),
        me.client.clone(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return Ok(me.refused(e, &back)),
    };
    let stamp = file_stamp(me.state.clock.now());
    let filename = format!("account-sheets-{stamp}-{}.pdf", printed.count);
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/pdf"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((CACHE_CONTROL, "no-store, private"))
        .insert_header(("X-Sheet-Count", printed.count.to_string()))
        .body(printed.pdf))
}
