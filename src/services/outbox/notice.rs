//! What a queued message says (stored as JSON in `payload`) and how it reads when sent:
//! Japanese subject, text and HTML, times in JST.

use askama::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::services::clock::format_jst;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockNotice {
    pub employee_id: String,
    pub name: String,
    pub department: String,
    pub locked_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub client_ip: String,
    /// Wrong second-step codes locked the second step (the password still works).
    #[serde(default)]
    pub second_step: bool,
}

impl LockNotice {
    pub fn locked_at_jst(&self) -> String {
        format_jst(self.locked_at)
    }

    pub fn until_jst(&self) -> String {
        self.locked_until.map(format_jst).unwrap_or_default()
    }
}

/// What a queued message says; stored as JSON in `payload`, rendered when it is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    AccountLocked(LockNotice),
    LockDigest {
        date: String,
        locks: Vec<LockNotice>,
    },
    PasswordExpiring {
        employee_id: String,
        name: String,
        expires_at: DateTime<Utc>,
    },
    /// A second factor was set up or removed, or recovery codes were issued.
    SecondFactorChanged {
        employee_id: String,
        name: String,
        change: FactorChange,
        at: DateTime<Utc>,
        client_ip: String,
    },
}

/// What changed about an account's second factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorChange {
    Enrolled,
    Removed,
    RecoveryCodes,
    /// An admin reset them: the account sets up a factor again at its next sign-in.
    Reset,
    ResetRolledBack,
}

impl FactorChange {
    pub fn ja(self) -> &'static str {
        match self {
            FactorChange::Enrolled => {
                "二要素認証の認証手段（認証アプリまたはパスキー）が追加されました"
            }
            FactorChange::Removed => {
                "二要素認証の認証手段（認証アプリまたはパスキー）が削除されました"
            }
            FactorChange::RecoveryCodes => {
                "リカバリーコードが新しく発行されました（以前のコードは無効です）"
            }
            FactorChange::Reset => {
                "管理者が二要素認証をリセットしました（次回のサインインで設定し直してください）"
            }
            FactorChange::ResetRolledBack => {
                "二要素認証のリセットが取り消され、以前の設定に戻りました"
            }
        }
    }
}

#[derive(Template)]
#[template(path = "email/second_factor_changed.txt")]
struct FactorText<'a> {
    name: &'a str,
    employee_id: &'a str,
    what: &'a str,
    at: String,
    client_ip: &'a str,
}

#[derive(Template)]
#[template(path = "email/account_locked.txt")]
struct LockedText<'a> {
    n: &'a LockNotice,
    portal: &'a str,
}

#[derive(Template)]
#[template(path = "email/account_locked.html")]
struct LockedHtml<'a> {
    n: &'a LockNotice,
    portal: &'a str,
}

#[derive(Template)]
#[template(path = "email/lock_digest.txt")]
struct DigestText<'a> {
    date: &'a str,
    locks: &'a [LockNotice],
    portal: &'a str,
}

#[derive(Template)]
#[template(path = "email/lock_digest.html")]
struct DigestHtml<'a> {
    date: &'a str,
    locks: &'a [LockNotice],
    portal: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_expiring.txt")]
struct ExpiringText<'a> {
    name: &'a str,
    employee_id: &'a str,
    expires: String,
    days_left: i64,
}

#[derive(Template)]
#[template(path = "email/password_expiring.html")]
struct ExpiringHtml<'a> {
    name: &'a str,
    employee_id: &'a str,
    expires: String,
    days_left: i64,
}

impl Notice {
    pub fn template(&self) -> &'static str {
        match self {
            Notice::AccountLocked(_) => "account_locked",
            Notice::LockDigest { .. } => "lock_digest",
            Notice::PasswordExpiring { .. } => "password_expiring",
            Notice::SecondFactorChanged { .. } => "second_factor_changed",
        }
    }

    /// Subject, text and HTML, in Japanese with times in JST.
    pub fn render(
        &self,
        public_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String, String), askama::Error> {
        let portal = format!("{public_url}/admin");
        Ok(match self {
            Notice::AccountLocked(n) => (
                if n.second_step {
                    format!(
                        "【staffgate】二要素認証の確認が一時停止されました（職員番号 {}）",
                        n.employee_id
                    )
                } else {
                    format!(
                        "【staffgate】アカウントがロックされました（職員番号 {}）",
                        n.employee_id
                    )
                },
                LockedText { n, portal: &portal }.render()?,
                LockedHtml { n, portal: &portal }.render()?,
            ),
            Notice::LockDigest { date, locks } => (
                format!(
                    "【staffgate】{date} のアカウントロック（{}件）",
                    locks.len()
                ),
                DigestText {
                    date,
                    locks,
                    portal: &portal,
                }
                .render()?,
                DigestHtml {
                    date,
                    locks,
                    portal: &portal,
                }
                .render()?,
            ),
            Notice::PasswordExpiring {
                employee_id,
                name,
                expires_at,
            } => {
                let expires = format_jst(*expires_at);
                let days_left = (*expires_at - now).num_days().max(0);
                (
                    format!("【staffgate】パスワードの有効期限が近づいています（{expires}まで）"),
                    ExpiringText {
                        name,
                        employee_id,
                        expires: expires.clone(),
                        days_left,
                    }
                    .render()?,
                    ExpiringHtml {
                        name,
                        employee_id,
                        expires,
                        days_left,
                    }
                    .render()?,
                )
            }
            Notice::SecondFactorChanged {
                employee_id,
                name,
                change,
                at,
                client_ip,
            } => {
                let text = FactorText {
                    name,
                    employee_id,
                    what: change.ja(),
                    at: format_jst(*at),
                    client_ip,
                };
                (
                    format!(
                        "【staffgate】二要素認証の設定が変更されました（職員番号 {employee_id}）"
                    ),
                    text.render()?,
                    FactorHtml { t: &text }.render()?,
                )
            }
        })
    }
}

#[derive(Template)]
#[template(path = "email/second_factor_changed.html")]
struct FactorHtml<'a> {
    t: &'a FactorText<'a>,
}
