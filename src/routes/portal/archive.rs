//! Archiving the login history from the portal: a dry-run preview (how many entries, their
//! span, the cutoff in JST), the confirmed run, and the record of recent runs. Browsing and
//! exporting the archive is the history page with `source=archive`.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Admin;
use super::view::{Chrome, PortalError, page, see_other};
use super::{GET, POST, Route, route};
use crate::db::queries::archive::RunRow;
use crate::services::archive::{self, Finish, Outcome, Plan, RunBy, Trigger};
use crate::services::clock::jst;
use crate::services::directory;

const HERE: &str = "/admin/history/archive";

/// How long the button's request waits for the run; a longer run goes on in the background
/// and its progress shows on this page.
const WAIT_FOR_RUN: Duration = Duration::from_secs(5);

pub fn routes() -> Vec<Route> {
    vec![
        route(GET, "/history/archive", show),
        route(POST, "/history/archive/run", run),
    ]
}

pub struct RunView {
    pub started: String,
    pub trigger: String,
    pub by: String,
    pub status: String,
    pub status_class: &'static str,
    pub rows: i64,
    pub already: i64,
    pub batches: i32,
    pub duration: String,
    pub cutoff: String,
}

#[derive(Template)]
#[template(path = "admin/history/archive.html")]
struct ArchivePage {
    c: Chrome,
    days: i64,
    cutoff: String,
    pending: i64,
    oldest: String,
    newest: String,
    archived_total: i64,
    running: bool,
    runs: Vec<RunView>,
}

fn run_view(me: &Admin, r: RunRow) -> RunView {
    let (trigger_ja, trigger_en) = match r.trigger_kind.as_str() {
        "schedule" => ("毎月の自動実行", "Monthly schedule"),
        "cli" => ("コマンド", "Command line"),
        _ => ("管理画面", "Portal"),
    };
    let (status_ja, status_en, status_class) = match r.status.as_str() {
        "done" => ("完了", "Done", "ok"),
        "running" => ("実行中", "Running", "warn"),
        "stopped" => ("途中で停止（上限）", "Stopped at the limit", "warn"),
        "interrupted" => (
            "中断（次回に再開）",
            "Interrupted (resumes next time)",
            "alert",
        ),
        _ => ("失敗", "Failed", "alert"),
    };
    RunView {
        started: jst(&r.started_at),
        trigger: me.t(trigger_ja, trigger_en).to_owned(),
        by: r.actor_label,
        status: me.t(status_ja, status_en).to_owned(),
        status_class,
        rows: r.rows_archived,
        already: r.rows_already_archived,
        batches: r.batches,
        duration: r
            .duration_ms
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_default(),
        cutoff: jst(&r.cutoff),
    }
}

fn plan(me: &Admin) -> Result<Plan, PortalError> {
    Plan::new(me.state.settings.archive.retention_days)
        .and_then(|p| p.pause_ratio(me.state.settings.archive.pause_ratio))
        .map_err(|e| PortalError::explained(&e))
}

async fn show(me: Admin) -> Result<HttpResponse, PortalError> {
    let plan = plan(&me)?;
    let preview = archive::preview(&me.state, &plan).await?;
    let runs = directory::archive_runs(&me.state, 20).await?;
    let p = &preview.pending;
    Ok(page(&ArchivePage {
        days: plan.older_than_days,
        cutoff: jst(&preview.cutoff),
        pending: p.rows,
        oldest: p.oldest.as_ref().map(jst).unwrap_or_default(),
        newest: p.newest.as_ref().map(jst).unwrap_or_default(),
        archived_total: preview.archived_total,
        running: runs.iter().any(|r| r.status == "running"),
        runs: runs.into_iter().map(|r| run_view(&me, r)).collect(),
        c: me.chrome("archive"),
    }))
}

#[derive(Deserialize)]
struct RunForm {
    #[serde(default)]
    confirm: String,
}

fn flash_outcome(me: &Admin, out: &Outcome) {
    let secs = out.duration.as_secs_f64();
    if out.archived == 0 {
        me.flash_ok(
            "保存期間を過ぎた記録はありませんでした。何も移していません。",
            "No entries were past the retention period; nothing was moved.",
        );
        return;
    }
    let (rest_ja, rest_en) = match out.finish {
        Finish::Done => ("", ""),
        Finish::Stopped => (
            "残りは次回の実行で移します。",
            " The rest moves at the next run.",
        ),
    };
    me.flash_ok(
        &format!(
            "{}件をアーカイブに移しました（{}回に分けて処理、{secs:.0}秒）。{rest_ja}",
            out.archived, out.batches
        ),
        &format!(
            "Moved {} entries to the archive ({} batches, {secs:.1} s).{rest_en}",
            out.archived, out.batches
        ),
    );
}

async fn run(me: Admin, form: web::Form<RunForm>) -> Result<HttpResponse, PortalError> {
    if form.confirm != "yes" {
        me.flash_error(
            "確認のチェックを入れてから実行してください。",
            "Tick the confirmation box to run the archive.",
        );
        return Ok(see_other(HERE));
    }
    let plan = plan(&me)?;
    let by = RunBy {
        trigger: Trigger::Portal,
        actor_ref: Some(me.employee.id),
        label: me.employee.employee_id.clone(),
    };
    let state = me.state.get_ref().clone();
    // The run belongs to the server, not to this request: it goes on if the browser leaves.
    let mut task = tokio::spawn(async move { archive::execute(&state, plan, by, |_| {}).await });
    match tokio::time::timeout(WAIT_FOR_RUN, &mut task).await {
        Ok(Ok(Ok(out))) => flash_outcome(&me, &out),
        Ok(Ok(Err(e))) => return Ok(me.refused(e, HERE)),
        Ok(Err(_)) => return Err(PortalError::Internal("archive task failed".into())),
        Err(_) => me.flash_ok(
            "アーカイブを開始しました。件数が多いため、裏で続けています。進み具合はこのページの実行記録で確認できます。",
            "The archive run has started and continues in the background. Its progress shows in the runs below.",
        ),
    }
    Ok(see_other(HERE))
}
