//! Response bodies (camelCase JSON).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::services::sessions::{PasswordStatus, TokenSet};

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordStatusDto {
    pub must_change: bool,
    pub expires_at: Option<String>,
    pub warn: bool,
}

impl From<&PasswordStatus> for PasswordStatusDto {
    fn from(s: &PasswordStatus) -> Self {
        Self {
            must_change: s.must_change,
            expires_at: s.expires_at.map(rfc3339),
            warn: s.warn,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub refresh_expires_in: Option<i64>,
    pub scope: &'static str,
    pub password_status: PasswordStatusDto,
}

impl From<TokenSet> for TokenResponse {
    fn from(t: TokenSet) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token.map(|r| r.expose().to_owned()),
            refresh_expires_in: t.refresh_expires_in,
            scope: t.scope.as_str(),
            password_status: (&t.password_status).into(),
        }
    }
}
