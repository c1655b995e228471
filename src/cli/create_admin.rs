//! `staffgate create-admin EMPLOYEE_ID --name NAME [--password-stdin]`: creates an HR admin,
//! or makes an existing employee one with a new password.

use std::io::Read;
use std::process::ExitCode;

use serde_json::json;

use crate::db::models::NewEmployee;
use crate::db::queries::{audit, employees, refresh_tokens};
use crate::domain::{EmployeeId, Password};
use crate::services::history::{self, Event, Record};
use crate::services::passwords;
use crate::services::principal::ClientInfo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Login ID of the admin.
    pub employee_id: String,
    /// Display name (kanji).
    #[arg(long)]
    pub name: String,
    /// Department shown in the portal.
    #[arg(long, default_value = "人事部")]
    pub department: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let state = super::state().await?;
    let id = EmployeeId::parse(&args.employee_id).map_err(|e| e.message_ja)?;
    let name = args.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            "--name は1〜100文字で指定してください / --name must be 1 to 100 characters".into(),
        );
    }
    let (password, generated) = if args.password_stdin {
        let mut raw = String::new();
        std::io::stdin()
            .read_to_string(&mut raw)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        let raw = raw.trim_end_matches(['\n', '\r']).to_owned();
        (
            Password::parse(raw, "password").map_err(|e| e.message_ja)?,
            false,
        )
    } else {
        let mut p = passwords::generate_initial_password().expose().to_owned();
        p.push_str(&passwords::generate_initial_password().expose()[..4]);
        (
            Password::parse(p, "password").map_err(|e| e.message_ja)?,
            true,
        )
    };
    let violations =
        passwords::check_new_password(&password, &id, state.settings.passwords.min_length);
    if !violations.is_empty() {
        let msgs: Vec<String> = violations.iter().map(|v| v.message_ja()).collect();
        return Err(format!(
            "パスワードがポリシーを満たしません / password policy: {}",
            msgs.join(" ")
        ));
    }
    let hash = state
        .hashing
        .hash(&password)
        .await
        .map_err(|e| e.to_string())?;
    let length_class = crate::domain::expiry::length_class(&password);
    let admin_level = state.settings.admin_permission.max(9.0);
    let now = state.clock.now_naive();
    let department = args.department.clone();
    let created = state
        .transaction(move |conn, _, _| -> Result<bool, crate::db::DbError> {
            let existing = employees::find_by_code(conn, id.as_str())?;
            let created = match existing {
                None => {
                    employees::insert(
                        conn,
                        &NewEmployee {
                            employee_id: id.as_str(),
                            name: &name,
                            name_kana: "",
                            department: &department,
                            email: None,
                            permission_level: admin_level,
                            status: "active",
                            password_hash: Some(&hash.0),
                            password_must_change: false,
                            password_updated_at: Some(now),
                            password_length_class: length_class,
                            password_expiry_offset_days: 0,
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                    true
                }
                Some(emp) => {
                    employees::make_admin(
                        conn,
                        &emp,
                        &name,
                        admin_level,
                        &employees::NewPassword {
                            hash: &hash.0,
                            must_change: false,
                            length_class,
                            expiry_offset_days: 0,
                        },
                        now,
                    )?;
                    // A reset ends every session of the account, like any password change.
                    refresh_tokens::revoke_all_for_employee(conn, emp.id, None, now)?;
                    history::write(
                        conn,
                        Record {
                            event: Event::PasswordChanged,
                            employee: Some(emp.id),
                            code: Some(&emp.employee_id),
                            actor: None,
                            client: &ClientInfo::cli(),
                            detail: json!({ "via": "create-admin" }),
                            now,
                        },
                    )?;
                    false
                }
            };
            audit::insert(
                conn,
                if created {
                    "admin_created"
                } else {
                    "admin_reset"
                },
                None,
                "cli",
                &json!({ "employeeId": id.as_str() }),
                now,
            )?;
            Ok(created)
        })
        .await
        .map_err(|e: crate::db::DbError| e.to_string())?;
    let verb = if created {
        "作成しました / created"
    } else {
        "更新しました / updated"
    };
    println!("管理者 {} を{verb}", args.employee_id.trim());
    if generated {
        println!("初期パスワード / password: {}", password.expose());
    }
    Ok(ExitCode::SUCCESS)
}
