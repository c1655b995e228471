//! `staffgate restore DIR_OR_FILE --identity KEYFILE [--force]`: checks a backup (checksum,
//! schema, identity, an empty target), loads it into the configured database, checks every
//! table's row count and ends the sessions and tokens the backup brought back. Exit 0 when restored and checked, 1 when refused or failed, 2 for a usage
//! error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::redact::redact_url;
use crate::i18n::Lang;
use crate::services::backup::{self, Target};
use crate::services::clock::{SystemClock, format_jst};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A backup directory (its newest backup is restored), a manifest (.json) or a backup
    /// file (.sql.zst.age).
    from: PathBuf,
    /// The age private key that opens the backup (mode 0600 or stricter).
    #[arg(long, env = "STAFFGATE_BACKUP_IDENTITY_FILE", value_name = "KEYFILE")]
    identity: PathBuf,
    /// Drop every table the target database holds, then restore (refused while anything else
    /// is connected to it).
    #[arg(long)]
    force: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    // No AppState: its pool would hold connections of its own to the database `--force`
    // checks for other connections.
    let settings = super::settings()?;
    let target = Target {
        from: args.from,
        identity: args.identity,
        force: args.force,
    };
    let url = &settings.database.url;
    let done = backup::restore(url, Arc::new(SystemClock), target)
        .await
        .map_err(|e| {
            let (ja, en) = e.message();
            lang.pick(&ja, &en).to_owned()
        })?;
    let m = &done.manifest;
    let db = redact_url(url);
    let secs = done.duration.as_secs_f64();
    match lang {
        Lang::Ja => println!(
            "復元しました: {}（{} 作成、スキーマ {}）→ {db}、{secs:.1} 秒",
            done.data.display(),
            format_jst(m.created_at),
            m.schema_version
        ),
        Lang::En => println!(
            "Restored {} (taken {} JST, schema {}) into {db} in {secs:.1} s",
            done.data.display(),
            format_jst(m.created_at),
            m.schema_version
        ),
    }
    if !done.replaced.is_empty() {
        let list: Vec<String> = done
            .replaced
            .iter()
            .map(|(t, n)| format!("{t} ({n})"))
            .collect();
        match lang {
            Lang::Ja => println!("  置き換えたテーブル: {}", list.join(", ")),
            Lang::En => println!("  replaced: {}", list.join(", ")),
        }
    }
    println!(
        "{}",
        lang.pick(
            "  行数はすべてマニフェストと一致しました:",
            "  every table's row count matches the manifest:"
        )
    );
    for (table, rows) in &done.tables {
        println!("    {table:<28} {rows:>10}");
    }
    let ended = &done.ended;
    match lang {
        Lang::Ja => println!(
            "  終了させたセッション: ポータル {}、アプリ {}。無効にした未使用のQRコード: {}（必要な人には発行し直してください）",
            ended.portal_sessions, ended.refresh_tokens, ended.onetime_tokens
        ),
        Lang::En => println!(
            "  sessions ended: portal {}, app {}; unused QR codes revoked: {} (issue new ones to whoever needs one)",
            ended.portal_sessions, ended.refresh_tokens, ended.onetime_tokens
        ),
    }
    if !done.pending.is_empty() {
        match lang {
            Lang::Ja => println!(
                "このバックアップのスキーマはこのバイナリより古いため、起動する前に `staffgate migrate` を実行してください（未適用: {}）。",
                done.pending.join(", ")
            ),
            Lang::En => println!(
                "The backup's schema is older than this binary: run `staffgate migrate` before starting the server (pending: {}).",
                done.pending.join(", ")
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
