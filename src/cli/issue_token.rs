//! `staffgate issue-token EMPLOYEE_ID [--validity-hours N]`: issues a one-time QR sign-in
//! token and prints its login URL.

use std::process::ExitCode;

use crate::domain::{EmployeeId, TokenPurpose, ValidityHours};
use crate::services::clock::format_jst;
use crate::services::principal::{Actor, ClientInfo};
use crate::services::tokens;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub employee_id: String,
    /// 1 to 168 hours.
    #[arg(long, default_value_t = 24)]
    pub validity_hours: i64,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let id = EmployeeId::parse(&args.employee_id)
        .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?;
    let validity = ValidityHours::parse(Some(args.validity_hours))
        .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?;
    let state = super::state().await?;
    let issued = tokens::issue(
        &state,
        Actor::Cli,
        id,
        validity,
        TokenPurpose::Onboarding,
        ClientInfo::cli(),
    )
    .await
    .map_err(|e| crate::error::ApiError::from(e).problem().detail_ja.clone())?;
    println!("職員番号 / employee: {}", issued.employee_id);
    println!("サインインURL / login URL: {}", issued.login_url);
    println!(
        "有効期限 / expires: {} (JST)",
        format_jst(issued.expires_at)
    );
    if issued.revoked_count > 0 {
        println!(
            "以前の未使用トークン {} 件を無効にしました / revoked {} older unused token(s)",
            issued.revoked_count, issued.revoked_count
        );
    }
    Ok(ExitCode::SUCCESS)
}
