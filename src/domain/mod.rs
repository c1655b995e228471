//! Input types that cannot be invalid once parsed: parse, don't validate.

pub mod amr;
mod employee_id;
pub mod expiry;
pub mod kana;
mod password;
mod permission;
pub mod search_key;
pub mod second_code;
mod status;
pub mod token;
mod validity;

pub use amr::Amr;
pub use employee_id::EmployeeId;
pub use expiry::ExpiryPolicy;
pub use password::Password;
pub use permission::PermissionLevel;
pub use second_code::{RecoveryCode, SecondCode};
pub use status::{EmployeeStatus, TokenPurpose};
pub use token::{PlainToken, TokenHash, random_hex};
pub use validity::ValidityHours;

/// Why a raw value was refused; `field` names the JSON field or CSV column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message_en}")]
pub struct ParseError {
    pub field: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

impl ParseError {
    pub fn new(field: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            field,
            message_ja: ja.into(),
            message_en: en.into(),
        }
    }
}
