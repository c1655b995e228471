//! `staffgate backup -o DIR`: a consistent dump of the database, compressed and encrypted to
//! STAFFGATE_BACKUP_RECIPIENT, with its manifest. `staffgate backup --keygen KEYFILE` makes the
//! key pair instead. Exit 0 when written, 1 when not, 2 for a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::i18n::Lang;
use crate::services::backup::{self, BackupError};
use crate::services::clock::{Clock, SystemClock, format_jst};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["output", "keygen"])))]
pub struct Args {
    /// Directory for the backup and its manifest (created with mode 0700 if absent).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Make a key pair instead: the private key goes to KEYFILE (mode 0600; keep it offline,
    /// not on the server), the public key for STAFFGATE_BACKUP_RECIPIENT is printed.
    #[arg(long, value_name = "KEYFILE")]
    keygen: Option<PathBuf>,
}

fn refuse(lang: Lang, e: &BackupError) -> String {
    let (ja, en) = e.message();
    lang.pick(&ja, &en).to_owned()
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    if let Some(keyfile) = args.keygen {
        let public = backup::keygen(&keyfile, SystemClock.now()).map_err(|e| refuse(lang, &e))?;
        match lang {
            Lang::Ja => println!(
                "秘密鍵を {} に書きました（サーバーには置かず、オフラインで保管してください）。\nサーバーの設定:\nSTAFFGATE_BACKUP_RECIPIENT={public}",
                keyfile.display()
            ),
            Lang::En => println!(
                "Private key written to {} (keep it offline, not on the server).\nServer setting:\nSTAFFGATE_BACKUP_RECIPIENT={public}",
                keyfile.display()
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.output else {
        return Ok(ExitCode::from(2));
    };
    let state = super::state().await?;
    let done = backup::create(&state, &dir)
        .await
        .map_err(|e| refuse(lang, &e))?;
    let m = &done.manifest;
    let secs = done.duration.as_secs_f64();
    let mib = m.bytes as f64 / (1024.0 * 1024.0);
    let (taken, schema) = (format_jst(m.created_at), &m.schema_version);
    let (tables, rows) = (m.tables.len(), m.rows());
    let (head, details) = match lang {
        Lang::Ja => (
            "バックアップを作成しました",
            format!(
                "{taken} 作成、スキーマ {schema}、{tables} テーブル {rows} 行、{mib:.1} MiB（zstd + age）、{secs:.1} 秒"
            ),
        ),
        Lang::En => (
            "Backup written",
            format!(
                "taken {taken} JST, schema {schema}, {tables} tables, {rows} rows, {mib:.1} MiB (zstd + age), {secs:.1} s"
            ),
        ),
    };
    println!(
        "{head}: {}\n  {}: {}\n  {details}",
        done.data.display(),
        lang.pick("マニフェスト", "manifest"),
        done.manifest_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
