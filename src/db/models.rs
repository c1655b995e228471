//! Rows as Rust structs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{employees, onetime_tokens, refresh_tokens};
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
}
