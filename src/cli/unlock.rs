//! `staffgate unlock EMPLOYEE_ID --reason TEXT`: unlocks an account, recording the reason.

use std::process::ExitCode;

use crate::domain::EmployeeId;
use crate::services::auth;
use crate::services::principal::{Actor, ClientInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub employee_id: String,
    /// Why the account is unlocked (recorded in the login history).
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
    let done = auth::unlock(&state, Actor::Cli, id, reason, ClientInfo::cli())
        .await
        .map_err(|e| super::explained(lang, e))?;
    if done.was_locked {
        println!("{} のロックを解除しました / unlocked", done.employee_id);
    } else {
        println!(
            "{} はロックされていませんでした（失敗回数はリセットしました）/ was not locked; failure count reset",
            done.employee_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
