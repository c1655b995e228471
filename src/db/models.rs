//! Rows as Rust structs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    employees, mfa_resets, onetime_tokens, passkeys, recovery_codes, refresh_tokens, second_factors,
};
use crate::domain::{EmployeeStatus, PermissionLevel};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = employees, check_for_backend(diesel::mysql::Mysql))]
pub struct Employee {
    pub id: i64,
    pub employee_id: String,
    pub name: String,
    pub name_kana: String,
    pub department: String,
    pub email: Option<String>,
    pub permission_level: f64,
    pub status: String,
    pub password_hash: Option<String>,
    pub password_must_change: bool,
    pub password_updated_at: Option<NaiveDateTime>,
    pub password_length_class: i32,
    pub password_expiry_offset_days: i32,
    pub failed_login_count: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Employee {
    pub fn status(&self) -> EmployeeStatus {
        EmployeeStatus::from_db(&self.status)
    }

    pub fn permission(&self) -> PermissionLevel {
        PermissionLevel::from_db(self.permission_level)
    }

    /// Password version carried in setup tokens.
    pub fn password_version(&self) -> i64 {
        self.password_updated_at
            .map(|t| t.and_utc().timestamp_micros())
            .unwrap_or(0)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = employees)]
pub struct NewEmployee<'a> {
    pub employee_id: &'a str,
    pub name: &'a str,
    pub name_kana: &'a str,
    pub department: &'a str,
    pub email: Option<&'a str>,
    pub permission_level: f64,
    pub status: &'a str,
    pub password_hash: Option<&'a str>,
    pub password_must_change: bool,
    pub password_updated_at: Option<NaiveDateTime>,
    pub password_length_class: i32,
    pub password_expiry_offset_days: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = onetime_tokens, check_for_backend(diesel::mysql::Mysql))]
pub struct OnetimeToken {
    pub id: i64,
    pub employee_ref: i64,
    pub token_hash: Vec<u8>,
    pub purpose: String,
    pub issued_by: Option<i64>,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub used_ip: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::mysql::Mysql))]
pub struct RefreshToken {
    pub id: i64,
    pub token_hash: Vec<u8>,
    pub family: String,
    pub employee_ref: i64,
    pub device_label: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
    pub replaced_by: Option<i64>,
    pub revoked_at: Option<NaiveDateTime>,
    /// The factors the session was opened with (`Amr`'s stored form).
    pub amr: String,
}

/// An account's authenticator app (confirmed or being enrolled), second-step counter and lock.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = second_factors, check_for_backend(diesel::mysql::Mysql))]
pub struct SecondFactor {
    pub employee_ref: i64,
    pub totp_sealed: Option<String>,
    pub totp_key_id: Option<String>,
    pub totp_last_step: i64,
    pub totp_confirmed_at: Option<NaiveDateTime>,
    pub pending_sealed: Option<String>,
    pub pending_key_id: Option<String>,
    pub pending_created_at: Option<NaiveDateTime>,
    pub pending_owner: Option<String>,
    pub failed_count: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub must_enrol: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = recovery_codes, check_for_backend(diesel::mysql::Mysql))]
pub struct RecoveryCode {
    pub id: i64,
    pub employee_ref: i64,
    pub code_hash: Vec<u8>,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys, check_for_backend(diesel::mysql::Mysql))]
pub struct PasskeyRow {
    pub id: i64,
    pub employee_ref: i64,
    pub credential_id_hash: Vec<u8>,
    pub label: String,
    pub credential: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_resets, check_for_backend(diesel::mysql::Mysql))]
pub struct MfaReset {
    pub id: i64,
    pub target_ref: i64,
    pub target_code: String,
    pub actor_ref: Option<i64>,
    pub actor_label: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub key_id: Option<String>,
    pub sealed_payload: Option<String>,
    pub erased_at: Option<NaiveDateTime>,
    pub rolled_back_at: Option<NaiveDateTime>,
    pub rolled_back_by_ref: Option<i64>,
    pub rolled_back_by_label: Option<String>,
    pub rollback_reason: Option<String>,
}
