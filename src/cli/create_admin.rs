//! `staffgate create-admin EMPLOYEE_ID --name NAME [--password-stdin]`

use std::io::Read;
use std::process::ExitCode;

use diesel::prelude::*;
use serde_json::json;

use crate::db::models::NewEmployee;
use crate::db::queries::{audit, employees};
use crate::db::schema::employees::dsl as e;
use crate::domain::{EmployeeId, Password};
use crate::services::passwords;

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
        passwords::check_new_password(&password, &id, state.settings.password_min_length);
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
                    diesel::update(e::employees.find(emp.id))
                        .set((
                            e::name.eq(&name),
                            e::permission_level.eq(emp.permission_level.max(admin_level)),
                            e::status.eq("active"),
                            e::password_hash.eq(Some(&hash.0)),
                            e::password_must_change.eq(false),
                            e::password_updated_at.eq(Some(now)),
                            e::password_length_class.eq(length_class),
                            e::password_expiry_offset_days.eq(0),
                            e::failed_login_count.eq(0),
                            e::locked_until.eq(None::<chrono::NaiveDateTime>),
                            e::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    // A reset ends every session of the account, like any password change.
                    crate::db::queries::refresh_tokens::revoke_all_for_employee(
                        conn, emp.id, None, now,
                    )?;
                    crate::services::history::write(
                        conn,
                        crate::services::history::Record {
                            event: crate::services::history::Event::PasswordChanged,
                            employee: Some(emp.id),
                            code: Some(&emp.employee_id),
                            actor: None,
                            client: &crate::services::ClientInfo::cli(),
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
