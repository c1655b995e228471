//! `staffgate set-status EMPLOYEE_ID --status active|suspended|retired [--reason TEXT]`:
//! suspends, retires or reinstates an employee (a reason is required to suspend or retire);
//! leaving active work ends their sessions, app sign-ins and unused QR codes at once.

use std::process::ExitCode;

use crate::domain::{EmployeeId, EmployeeStatus};
use crate::services::lifecycle;
use crate::services::principal::{Actor, ClientInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub employee_id: String,
    /// active (在職), suspended (停止中・休職) or retired (退職).
    #[arg(long)]
    pub status: String,
    /// Why (recorded in the login history); required to suspend or retire.
    #[arg(long, default_value = "")]
    pub reason: String,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let said = |e: crate::domain::ParseError| lang.pick(&e.message_ja, &e.message_en).to_owned();
    let id = EmployeeId::parse(&args.employee_id).map_err(said)?;
    let to = lifecycle::parse_status(&args.status).map_err(said)?;
    let reason = lifecycle::parse_reason(&args.reason, to).map_err(said)?;
    let state = super::state().await?;
    let done = lifecycle::set_status(&state, Actor::Cli, id, to, reason, ClientInfo::cli())
        .await
        .map_err(|e| super::explained(lang, e))?;
    let (ja, en) = match to {
        EmployeeStatus::Active => ("在職", "active"),
        EmployeeStatus::Suspended => ("停止中", "suspended"),
        EmployeeStatus::Retired => ("退職", "retired"),
    };
    if done.from == to {
        println!("{} はすでに{ja}です / already {en}", done.employee_id);
    } else {
        println!(
            "{} を{ja}にしました（管理画面のセッション {} 件・アプリのサインイン {} 件・未使用のQRコード {} 件を無効化）/ now {en}",
            done.employee_id,
            done.sessions_ended,
            done.refresh_tokens_revoked,
            done.qr_codes_revoked
        );
    }
    Ok(ExitCode::SUCCESS)
}
