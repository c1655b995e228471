//! `staffgate mfa-reset EMPLOYEE_ID --reason TEXT`: the break-glass path when the last admin
//! has lost their phone; recorded with actor `cli`, rollable back like a portal reset.

use std::process::ExitCode;

use crate::domain::EmployeeId;
use crate::services::auth;
use crate::services::mfa::reset;
use crate::services::principal::{Actor, ClientInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub employee_id: String,
    /// Why the second factor is reset (recorded in the reset log and the login history).
    #[arg(long)]
    pub reason: String,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let id = EmployeeId::parse(&args.employee_id)
        .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?;
    let reason = auth::parse_reason(&args.reason)
        .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?;
    let state = super::state().await?;
    let done = reset::reset(&state, Actor::Cli, id, reason, ClientInfo::cli())
        .await
        .map_err(|e| super::explained(lang, e))?;
    println!(
        "{} の二要素認証をリセットしました（記録 #{}: 認証アプリ {}、パスキー {} 件、リカバリーコード {} 件）。次回のサインインで設定し直します。{} 日以内なら管理画面の「二要素認証リセット記録」から取り消せます。",
        done.employee_id,
        done.id,
        if done.removed_totp {
            "あり"
        } else {
            "なし"
        },
        done.removed_passkeys,
        done.removed_recovery_codes,
        state.settings.mfa.rollback_days,
    );
    println!(
        "reset #{} of {}: the account sets up a second factor at its next sign-in; roll back within {} days from the portal's reset log",
        done.id, done.employee_id, state.settings.mfa.rollback_days
    );
    Ok(ExitCode::SUCCESS)
}
