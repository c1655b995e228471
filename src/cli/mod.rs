//! The command line: one module per subcommand.

mod archive_history;
mod backup;
mod check;
mod create_admin;
mod import;
mod issue_token;
mod mfa_log;
mod mfa_reset;
mod migrate;
mod print_sheets;
mod restore;
mod serve;
mod set_status;
mod unlock;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::i18n::Lang;
use crate::services::clock::SystemClock;
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(
    name = "staffgate",
    version,
    about = "Staff sign-in server: HR portal, QR onboarding, JSON API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no subcommand is given).
    Serve,
    /// Apply pending database migrations (`--plan`: list them, change nothing).
    Migrate(migrate::Args),
    /// Validate configuration, secret files, database and font; list every problem; exit 1
    /// if any.
    Check(check::Args),
    /// Create an HR admin (or reset an existing employee's password and make them admin).
    CreateAdmin(create_admin::Args),
    /// Import employees from CSV (UTF-8 with or without BOM, or Shift_JIS).
    ImportEmployees(import::Args),
    /// Issue a one-time QR sign-in token for an employee (revokes older unused ones).
    IssueToken(issue_token::Args),
    /// Unlock a locked account; the reason is recorded.
    Unlock(unlock::Args),
    /// Suspend, retire or reinstate an employee (a reason is required to suspend or retire).
    SetStatus(set_status::Args),
    /// Print account sheets to one PDF (reissues every printed employee's QR code).
    PrintSheets(print_sheets::Args),
    /// Move login history older than the retention period to the archive (dry run unless
    /// --execute).
    ArchiveHistory(archive_history::Args),
    /// Write an encrypted, consistent backup of the database with its manifest (or, with
    /// --keygen, make the backup key pair).
    Backup(backup::Args),
    /// Restore a backup into the configured (empty) database and check its row counts.
    Restore(restore::Args),
    /// Reset an employee's second factors (break-glass; recorded with actor cli, rollable back).
    MfaReset(mfa_reset::Args),
    /// The second-factor reset log's keys: `verify` (counts; exit 1 if a row cannot be
    /// opened) or `rekey` (re-seal every row under the current key).
    MfaLog(mfa_log::Args),
}

/// A refused or failed sign-in operation as the operator reads it, in their language.
pub fn explained(lang: Lang, e: crate::services::auth_error::AuthError) -> String {
    let p = crate::error::ApiError::from(e);
    lang.pick(&p.problem().detail_ja, &p.problem().detail_en)
        .to_owned()
}

/// Language for operator messages: English when LANG/LC_ALL say so, Japanese otherwise.
pub fn lang() -> Lang {
    let v = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if v.starts_with("en") {
        Lang::En
    } else {
        Lang::Ja
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::run().await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::CreateAdmin(args) => create_admin::run(args).await,
            Command::ImportEmployees(args) => import::run(args).await,
            Command::IssueToken(args) => issue_token::run(args).await,
            Command::Unlock(args) => unlock::run(args).await,
            Command::SetStatus(args) => set_status::run(args).await,
            Command::PrintSheets(args) => print_sheets::run(args).await,
            Command::ArchiveHistory(args) => archive_history::run(args).await,
            Command::Backup(args) => backup::run(args).await,
            Command::Restore(args) => restore::run(args).await,
            Command::MfaReset(args) => mfa_reset::run(args).await,
            Command::MfaLog(args) => mfa_log::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Settings or a readable list of every problem.
fn settings() -> Result<Settings, String> {
    Settings::from_env().map_err(|problems| {
        let mut out = String::from("設定に問題があります / configuration problems:\n");
        for p in problems {
            out.push_str(&format!("  - {p}\n"));
        }
        out
    })
}

async fn state() -> Result<AppState, String> {
    let settings = settings()?;
    AppState::build(settings, Arc::new(SystemClock)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands_parse_as_documented() {
        let ok = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(ok(&["staffgate"]), Ok(()));
        assert_eq!(
            ok(&["staffgate", "import-employees", "a.csv", "--dry-run"]),
            Ok(())
        );
        assert_eq!(
            ok(&["staffgate", "issue-token", "E1", "--validity-hours", "72"]),
            Ok(())
        );
        assert_eq!(
            ok(&["staffgate", "unlock", "E1", "--reason", "本人確認済み"]),
            Ok(())
        );
        assert_eq!(
            ok(&[
                "staffgate",
                "create-admin",
                "A1",
                "--name",
                "人事 太郎",
                "--password-stdin"
            ]),
            Ok(())
        );
        assert_eq!(
            ok(&[
                "staffgate",
                "print-sheets",
                "--employee",
                "E1",
                "--employee",
                "E2",
                "-o",
                "s.pdf"
            ]),
            Ok(())
        );
        assert_eq!(
            ok(&[
                "staffgate",
                "print-sheets",
                "--all-pending",
                "-o",
                "s.pdf",
                "--yes"
            ]),
            Ok(())
        );
        assert!(
            ok(&["staffgate", "print-sheets", "-o", "s.pdf"]).is_err(),
            "whom to print for is required"
        );
        assert_eq!(
            ok(&[
                "staffgate",
                "archive-history",
                "--older-than-days",
                "400",
                "--execute"
            ]),
            Ok(())
        );
        assert!(
            ok(&["staffgate", "unlock", "E1"]).is_err(),
            "reason is required"
        );
        assert_eq!(
            ok(&["staffgate", "backup", "-o", "/var/backups/sg"]),
            Ok(())
        );
        assert_eq!(ok(&["staffgate", "backup", "--keygen", "k.txt"]), Ok(()));
        assert!(
            ok(&["staffgate", "backup"]).is_err(),
            "a directory or --keygen is required"
        );
        assert!(ok(&["staffgate", "backup", "-o", "d", "--keygen", "k"]).is_err());
        assert_eq!(
            ok(&[
                "staffgate",
                "restore",
                "/var/backups/sg",
                "--identity",
                "k.txt",
                "--force"
            ]),
            Ok(())
        );
    }
}
