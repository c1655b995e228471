//! `staffgate import-employees FILE.csv [--dry-run]`: imports the employee CSV, listing every
//! refused row.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::i18n::Lang;
use crate::services::import;
use crate::services::principal::{Actor, ClientInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV with the header employee_id,name,name_kana,department,email,permission_level
    pub file: PathBuf,
    /// Validate and show what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let state = super::state().await?;
    let report = import::import(&state, Actor::Cli, ClientInfo::cli(), bytes, args.dry_run)
        .await
        .map_err(|e| e.to_string())?;
    let lang = super::lang();
    for err in &report.errors {
        let msg = lang.pick(&err.message_ja, &err.message_en);
        match (err.line, lang) {
            (0, _) => println!("{msg}"),
            (line, Lang::Ja) => println!("{line}行目 [{}]: {msg}", err.column),
            (line, Lang::En) => println!("line {line} [{}]: {msg}", err.column),
        }
    }
    let summary = match lang {
        Lang::Ja => format!(
            "{}行: 新規 {} / 更新 {} / 変更なし {} / エラー {}",
            report.rows,
            report.created,
            report.updated,
            report.unchanged,
            report.errors.len()
        ),
        Lang::En => format!(
            "{} rows: {} new / {} updated / {} unchanged / {} errors",
            report.rows,
            report.created,
            report.updated,
            report.unchanged,
            report.errors.len()
        ),
    };
    println!("{summary}");
    if !report.errors.is_empty() {
        println!(
            "{}",
            lang.pick(
                "エラーがあるため、何も書き込んでいません。",
                "Nothing was written because of the errors above."
            )
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.dry_run {
        println!(
            "{}",
            lang.pick(
                "確認のみ（--dry-run）: 何も書き込んでいません。",
                "Dry run: nothing was written."
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}
