//! CSV import: upload, preview every bad row with its reason, then confirm. Same rules and
//! code path as `staffgate import-employees`; nothing is written until the confirmation, and
//! then all rows or none.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde::Deserialize;

use super::Admin;
use super::view::{Chrome, PortalError, page, render, see_other};
use super::{GET, POST, Route, route};
use crate::services::import::file::EmployeeRow;
use crate::services::import::{self, FieldChange, ImportReport, RowChange};
use crate::services::portal::actor;

/// 50,000 rows of a typical roster fit in well under this.
const MAX_UPLOAD: usize = 8 * 1024 * 1024;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/import", upload_page),
        route(POST, "/import/preview", preview),
        // The confirmation carries the file back (base64) so the server keeps nothing
        // between the two steps.
        route(POST, "/import/confirm", confirm).form_limit(MAX_UPLOAD * 4 / 3 + 64 * 1024),
    ]
}

pub struct RowErrorView {
    pub line: String,
    pub column: String,
    pub message: String,
}

/// A changed employee as the preview lists them: the row, and each changed field.
pub struct ChangeView {
    pub row: EmployeeRow,
    pub fields: Vec<FieldView>,
}

pub struct FieldView {
    /// The CSV column name (a stable `data-field` for tests and styling).
    pub field: &'static str,
    pub label: String,
    pub old: String,
    pub new: String,
}

#[derive(Template)]
#[template(path = "admin/import/upload.html")]
struct UploadPage {
    c: Chrome,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/import/preview.html")]
struct PreviewPage {
    c: Chrome,
    filename: String,
    report: ImportReport,
    errors: Vec<RowErrorView>,
    changes: Vec<ChangeView>,
    payload: String,
}

async fn upload_page(me: Admin) -> Result<HttpResponse, PortalError> {
    Ok(page(&UploadPage {
        c: me.chrome("import"),
        error: None,
    }))
}

fn upload_error(me: &Admin, ja: &str, en: &str) -> HttpResponse {
    render(
        StatusCode::BAD_REQUEST,
        &UploadPage {
            c: me.chrome("import"),
            error: Some(me.t(ja, en).to_owned()),
        },
    )
}

fn preview_page(me: &Admin, filename: String, report: ImportReport, bytes: &[u8]) -> HttpResponse {
    let errors: Vec<RowErrorView> = report
        .errors
        .iter()
        .map(|e| RowErrorView {
            line: if e.line == 0 {
                me.t("ファイル全体", "Whole file").to_owned()
            } else {
                e.line.to_string()
            },
            column: e.column.to_owned(),
            message: me.t(&e.message_ja, &e.message_en).to_owned(),
        })
        .collect();
    let changes = report
        .changed_rows
        .iter()
        .map(|RowChange { row, fields }| ChangeView {
            row: row.clone(),
            fields: fields.iter().map(|f| field_view(me, f)).collect(),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &PreviewPage {
            c: me.chrome("import"),
            filename,
            payload: if errors.is_empty() {
                STANDARD.encode(bytes)
            } else {
                String::new()
            },
            errors,
            changes,
            report,
        },
    )
}

fn field_view(me: &Admin, f: &FieldChange) -> FieldView {
    let label = match f.field {
        "name" => me.t("氏名", "Name"),
        "name_kana" => me.t("氏名（カナ）", "Name (kana)"),
        "department" => me.t("部署", "Department"),
        "email" => me.t("メールアドレス", "E-mail"),
        "permission_level" => me.t("権限レベル", "Permission level"),
        "status" => me.t("在籍状態", "Status"),
        other => other,
    };
    let shown = |v: &str| match (f.field, v) {
        (_, "") => me.t("（空欄）", "(empty)").to_owned(),
        ("status", "active") => me.t("在職", "active").to_owned(),
        ("status", "suspended") => me.t("停止中", "suspended").to_owned(),
        ("status", "retired") => me.t("退職", "retired").to_owned(),
        _ => v.to_owned(),
    };
    FieldView {
        field: f.field,
        label: label.to_owned(),
        old: shown(&f.old),
        new: shown(&f.new),
    }
}

async fn preview(me: Admin, mut form: Multipart) -> Result<HttpResponse, PortalError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    // The form has two fields; anything beyond a few is not our form.
    let mut fields = 0;
    while let Some(item) = form.next().await {
        fields += 1;
        if fields > 4 {
            return Err(PortalError::BadRequest("too many form fields".into()));
        }
        let mut field = item.map_err(|e| PortalError::BadRequest(e.to_string()))?;
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("upload.csv")
            .to_owned();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| PortalError::BadRequest(e.to_string()))?;
            if data.len() + chunk.len() > MAX_UPLOAD {
                return Ok(upload_error(
                    &me,
                    "ファイルが大きすぎます（8 MBまで）。分割して取り込んでください。",
                    "The file is too large (8 MB at most). Split it and import the parts.",
                ));
            }
            data.extend_from_slice(&chunk);
        }
        if name == "file" {
            file = Some((filename, data));
        }
    }
    let Some((filename, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Ok(upload_error(
            &me,
            "CSVファイルを選んでください。",
            "Choose a CSV file.",
        ));
    };
    let report = import::import(
        &me.state,
        actor(&me.employee),
        me.client.clone(),
        bytes.clone(),
        true,
    )
    .await?;
    Ok(preview_page(&me, filename, report, &bytes))
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    payload: String,
    #[serde(default)]
    filename: String,
}

async fn confirm(me: Admin, form: web::Form<ConfirmForm>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    let Ok(bytes) = STANDARD.decode(form.payload.as_bytes()) else {
        return Ok(upload_error(
            &me,
            "取り込むデータが壊れています。もう一度ファイルを選んでください。",
            "The data to import was damaged. Choose the file again.",
        ));
    };
    let report = import::import(
        &me.state,
        actor(&me.employee),
        me.client.clone(),
        bytes.clone(),
        false,
    )
    .await?;
    if !report.written {
        return Ok(preview_page(&me, form.filename, report, &bytes));
    }
    me.flash_ok(
        &format!(
            "{}件を取り込みました（新規 {}件、更新 {}件、変更なし {}件）。",
            report.rows, report.created, report.updated, report.unchanged
        ),
        &format!(
            "Imported {} rows ({} new, {} updated, {} unchanged).",
            report.rows, report.created, report.updated, report.unchanged
        ),
    );
    Ok(see_other("/admin/employees"))
}
