//! `staffgate archive-history [--older-than-days N] [--execute]`: a dry run unless --execute.
//!
//! Exit codes: 0 done (or dry run), 1 failed, 2 bad arguments, 75 another run holds the lock
//! (try again later).

use std::process::ExitCode;

use crate::i18n::Lang;
use crate::services::archive::{self, ArchiveError, Finish, Plan, RunBy, Trigger};
use crate::services::clock::format_jst;

/// Another archive run holds the lock (EX_TEMPFAIL: try again later).
pub const EXIT_BUSY: u8 = 75;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Move rows older than this many days [default: STAFFGATE_HISTORY_RETENTION_DAYS, 1095].
    #[arg(long)]
    pub older_than_days: Option<i64>,
    /// Move the rows; without it, only count what would move and write nothing.
    #[arg(long)]
    pub execute: bool,
    /// Rows per batch (each batch is one transaction), 1 to 5000.
    #[arg(long, default_value_t = archive::MAX_BATCH)]
    pub batch_size: i64,
    /// Stop after this many batches; the next run goes on from there.
    #[arg(long)]
    pub max_batches: Option<u32>,
    /// After each batch, pause this many times as long as the batch took (0 to 20), leaving
    /// the database to sign-ins [default: STAFFGATE_ARCHIVE_PAUSE_RATIO, 1].
    #[arg(long)]
    pub pause_ratio: Option<f64>,
}

fn refuse(lang: Lang, e: &ArchiveError) -> String {
    let (ja, en) = e.message();
    lang.pick(&ja, &en).to_owned()
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let state = super::state().await?;
    let days = args
        .older_than_days
        .unwrap_or(state.settings.archive.retention_days);
    let pause = args
        .pause_ratio
        .unwrap_or(state.settings.archive.pause_ratio);
    let plan = match Plan::new(days)
        .and_then(|p| p.batch_size(args.batch_size))
        .and_then(|p| p.pause_ratio(pause))
    {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{}", refuse(lang, &e));
            return Ok(ExitCode::from(2));
        }
    };
    let plan = Plan {
        max_batches: args.max_batches,
        ..plan
    };
    let preview = archive::preview(&state, &plan)
        .await
        .map_err(|e| refuse(lang, &e))?;
    let p = &preview.pending;
    let cutoff = format_jst(preview.cutoff.and_utc());
    let span = match (p.oldest, p.newest) {
        (Some(o), Some(n)) => format!("{} 〜 {}", format_jst(o.and_utc()), format_jst(n.and_utc())),
        _ => "-".into(),
    };
    match lang {
        Lang::Ja => println!(
            "{days}日より前（{cutoff} JST より前）の記録: {} 件（{span}）。アーカイブ済み: {} 件",
            p.rows, preview.archived_total
        ),
        Lang::En => println!(
            "Entries older than {days} days (before {cutoff} JST): {} ({span}). Already archived: {}",
            p.rows, preview.archived_total
        ),
    }
    if !args.execute {
        println!(
            "{}",
            lang.pick(
                "確認のみ: 何も移していません。移すには --execute を付けて実行してください。",
                "Dry run: nothing was moved. Add --execute to move the rows."
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let by = RunBy {
        trigger: Trigger::Cli,
        actor_ref: None,
        label: "cli".into(),
    };
    let result = archive::execute(&state, plan, by, move |pr| match lang {
        Lang::Ja => println!(
            "バッチ {}: {} 件を移しました（累計 {} 件）",
            pr.batch, pr.batch_rows, pr.archived
        ),
        Lang::En => println!(
            "batch {}: moved {} (total {})",
            pr.batch, pr.batch_rows, pr.archived
        ),
    })
    .await;
    let out = match result {
        Ok(out) => out,
        Err(ArchiveError::Busy) => {
            eprintln!("{}", refuse(lang, &ArchiveError::Busy));
            return Ok(ExitCode::from(EXIT_BUSY));
        }
        Err(e) => {
            tracing::error!(error = %e, "archive run failed");
            return Err(refuse(lang, &e));
        }
    };
    let secs = out.duration.as_secs_f64();
    let rate = out.rows_per_second();
    let waited = out.waited.as_secs_f64();
    match lang {
        Lang::Ja => println!(
            "完了: {} 件を {} バッチで移しました（うち中断された前回の実行で複製済み {} 件）。{secs:.1} 秒（待機 {waited:.1} 秒）、毎秒 {rate:.0} 件。",
            out.archived, out.batches, out.already_archived
        ),
        Lang::En => println!(
            "Done: moved {} in {} batches ({} already copied by an interrupted earlier run). {secs:.1} s ({waited:.1} s waiting), {rate:.0} rows/s.",
            out.archived, out.batches, out.already_archived
        ),
    }
    if out.finish == Finish::Stopped {
        println!(
            "{}",
            lang.pick(
                "バッチ数の上限で止めました。残りは次回の実行で移します。",
                "Stopped at the batch limit; the next run moves the rest."
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}
