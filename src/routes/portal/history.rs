//! Sign-in history and its archive (one page, a source switch): filters (employee, event, JST
//! date range), keyset pages, streaming CSV export.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::employees::{Pager, event_view};
use super::period::{Period, csv_line};
use super::view::{Chrome, PortalError, encode, page};
use super::{GET, Route, route};
use crate::db::queries::directory::{Cursor, HistoryFilter, HistoryRow, HistorySource};
use crate::i18n::Lang;
use crate::services::clock::{file_stamp, jst};
use crate::services::directory;
use crate::services::history::Event;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;
const EXPORT_CHUNK: i64 = 2_000;

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/history", list),
        route(GET, "/history/export.csv", export),
    ]
}

#[derive(Deserialize, Default, Clone)]
struct HistoryQuery {
    /// `archive` for the archive; the live history otherwise.
    source: Option<String>,
    employee: Option<String>,
    event: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

/// The filter as parsed, plus what was wrong with it (shown, never fatal).
struct Parsed {
    filter: HistoryFilter,
    problems: Vec<String>,
    /// An employee ID that matches nobody: the list is empty.
    nobody: bool,
}

fn parse_cursor(raw: &Option<String>) -> Option<Cursor> {
    let (micros, id) = raw.as_deref()?.split_once('.')?;
    let created_at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some(Cursor {
        created_at,
        id: id.parse().ok()?,
    })
}

async fn parse(me: &Admin, q: &HistoryQuery) -> Result<Parsed, PortalError> {
    let mut problems = Vec::new();
    let mut filter = HistoryFilter {
        source: source_of(q),
        ..HistoryFilter::default()
    };
    let mut nobody = false;
    if let Some(code) = q
        .employee
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let found = directory::employee_by_code(&me.state, code).await?;
        match found {
            Some(e) => filter.employee = Some(e.id),
            None => {
                nobody = true;
                problems.push(
                    me.t("その職員番号の職員はいません。", "No employee has that ID.")
                        .to_owned(),
                );
            }
        }
    }
    match q.event.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some(ev) => match Event::parse(ev) {
            Some(e) => filter.event = Some(e.as_str().to_owned()),
            None => problems.push(
                me.t("種類の指定が正しくありません。", "Unknown event type.")
                    .to_owned(),
            ),
        },
    }
    let period = Period::parse(q.from.as_deref(), q.to.as_deref(), me.lang);
    filter.from = period.from;
    filter.until = period.until;
    problems.extend(period.problems);
    Ok(Parsed {
        filter,
        problems,
        nobody,
    })
}

fn source_of(q: &HistoryQuery) -> HistorySource {
    match q.source.as_deref() {
        Some("archive") => HistorySource::Archive,
        _ => HistorySource::Live,
    }
}

fn query_string(q: &HistoryQuery) -> String {
    let mut parts = Vec::new();
    if source_of(q) == HistorySource::Archive {
        parts.push("source=archive".to_owned());
    }
    for (name, value) in [
        ("employee", &q.employee),
        ("event", &q.event),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            parts.push(format!("{name}={}", encode(v)));
        }
    }
    parts.join("&")
}

pub struct HistoryView {
    pub at: String,
    pub label: String,
    pub code: String,
    pub name: String,
    pub actor: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/history/index.html")]
struct HistoryPage {
    c: Chrome,
    archive: bool,
    rows: Vec<HistoryView>,
    problems: Vec<String>,
    events: Vec<(&'static str, String)>,
    employee: String,
    event: String,
    from: String,
    to: String,
    pager: Pager,
    export: String,
}

async fn list(me: Admin, query: web::Query<HistoryQuery>) -> Result<HttpResponse, PortalError> {
    let q = query.into_inner();
    let parsed = parse(&me, &q).await?;
    let before = parse_cursor(&q.before);
    let (rows, names) = if parsed.nobody {
        (Vec::new(), Default::default())
    } else {
        directory::history(&me.state, parsed.filter.clone(), before, PAGE_SIZE + 1).await?
    };
    let more = rows.len() as i64 > PAGE_SIZE;
    let shown: Vec<&HistoryRow> = rows.iter().take(PAGE_SIZE as usize).collect();
    let qs = query_string(&q);
    let base = if qs.is_empty() {
        "/admin/history?".to_owned()
    } else {
        format!("/admin/history?{qs}&")
    };
    let next = if more {
        shown.last().map(|r| {
            format!(
                "{base}before={}.{}",
                r.created_at.and_utc().timestamp_micros(),
                r.id
            )
        })
    } else {
        None
    };
    let pager = Pager {
        prev: before.map(|_| base.trim_end_matches(['?', '&']).to_owned()),
        next,
        label: if before.is_some() {
            me.t("さらに前の記録", "Older entries").to_owned()
        } else {
            me.t("新しい順", "Newest first").to_owned()
        },
    };
    let view = shown
        .iter()
        .map(|r| {
            let ev = event_view(r, me.lang);
            let (code, name) = r
                .employee_ref
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| (r.employee_code.clone().unwrap_or_default(), String::new()));
            HistoryView {
                at: ev.at,
                label: ev.label,
                code,
                name,
                actor: r
                    .actor_ref
                    .and_then(|id| names.get(&id))
                    .map(|(c, n)| format!("{n}（{c}）"))
                    .unwrap_or_default(),
                ip: ev.ip,
                detail: ev.detail,
            }
        })
        .collect();
    Ok(page(&HistoryPage {
        events: Event::ALL
            .iter()
            .map(|e| {
                let (ja, en) = e.label();
                (e.as_str(), me.lang.pick(ja, en).to_owned())
            })
            .collect(),
        employee: q.employee.clone().unwrap_or_default(),
        event: q.event.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        export: if qs.is_empty() {
            "/admin/history/export.csv".into()
        } else {
            format!("/admin/history/export.csv?{qs}")
        },
        archive: parsed.filter.source == HistorySource::Archive,
        c: me.chrome("history"),
        rows: view,
        problems: parsed.problems,
        pager,
    }))
}

fn csv_chunk(
    rows: &[HistoryRow],
    names: &std::collections::HashMap<i64, (String, String)>,
    lang: Lang,
) -> String {
    let mut out = String::with_capacity(rows.len() * 160);
    for r in rows {
        let label = Event::parse(&r.event)
            .map(|e| {
                let (ja, en) = e.label();
                lang.pick(ja, en)
            })
            .unwrap_or(&r.event);
        let (code, name) = r
            .employee_ref
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| (r.employee_code.clone().unwrap_or_default(), String::new()));
        let actor = r
            .actor_ref
            .and_then(|id| names.get(&id))
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        csv_line(
            &mut out,
            &[
                &jst(&r.created_at),
                &r.event,
                label,
                &code,
                &name,
                &actor,
                r.client_ip.as_deref().unwrap_or(""),
                r.user_agent.as_deref().unwrap_or(""),
                r.detail.as_deref().unwrap_or(""),
            ],
        );
    }
    out
}

/// Streams every matching row (newest first) as CSV, UTF-8 with a BOM so Excel reads it;
/// rows are fetched a chunk at a time, so the memory used does not grow with the range.
async fn export(me: Admin, query: web::Query<HistoryQuery>) -> Result<HttpResponse, PortalError> {
    let q = query.into_inner();
    let parsed = parse(&me, &q).await?;
    if !parsed.problems.is_empty() {
        me.flash_error(&parsed.problems.join(" "), &parsed.problems.join(" "));
        let qs = query_string(&q);
        return Ok(super::view::see_other(&format!("/admin/history?{qs}")));
    }
    // Who took a copy of whose sign-in records, and which.
    let source = source_of(&q);
    let detail = serde_json::json!({
        "source": if source == HistorySource::Archive { "archive" } else { "live" },
        "employee": q.employee, "event": q.event, "from": q.from, "to": q.to,
    });
    directory::record_audit(&me.state, "history_exported", &me.employee, detail).await?;
    let lang = me.lang;
    let mut head = String::from("\u{feff}");
    csv_line(
        &mut head,
        &match lang {
            Lang::Ja => [
                "日時（JST）",
                "種類コード",
                "種類",
                "職員番号",
                "氏名",
                "実行者",
                "IPアドレス",
                "ユーザーエージェント",
                "詳細",
            ],
            Lang::En => [
                "Time (JST)",
                "Event code",
                "Event",
                "Employee ID",
                "Name",
                "Actor",
                "IP address",
                "User agent",
                "Detail",
            ],
        },
    );
    let state = me.state.get_ref().clone();
    let filter = parsed.filter;
    struct Walk {
        state: AppState,
        filter: HistoryFilter,
        cursor: Option<Cursor>,
        done: bool,
        head: Option<String>,
    }
    let start = Walk {
        state,
        filter,
        cursor: None,
        done: false,
        head: Some(head),
    };
    let stream = futures_util::stream::unfold(start, move |mut w| async move {
        if let Some(head) = w.head.take() {
            return Some((Ok::<_, actix_web::Error>(Bytes::from(head)), w));
        }
        if w.done {
            return None;
        }
        match directory::history(&w.state, w.filter.clone(), w.cursor, EXPORT_CHUNK).await {
            Ok((rows, names)) => {
                w.done = (rows.len() as i64) < EXPORT_CHUNK;
                w.cursor = rows.last().map(|r| Cursor {
                    created_at: r.created_at,
                    id: r.id,
                });
                if rows.is_empty() {
                    return None;
                }
                Some((Ok(Bytes::from(csv_chunk(&rows, &names, lang))), w))
            }
            Err(e) => {
                tracing::error!(error = %e, "history export stopped");
                Some((
                    Err(actix_web::error::ErrorInternalServerError("export failed")),
                    Walk { done: true, ..w },
                ))
            }
        }
    });
    let stamp = file_stamp(me.state.clock.now());
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            match source {
                HistorySource::Live => {
                    format!("attachment; filename=\"login-history-{stamp}.csv\"")
                }
                HistorySource::Archive => {
                    format!("attachment; filename=\"login-history-archive-{stamp}.csv\"")
                }
            },
        ))
        .streaming(stream))
}
