//! Writing login_history events.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::principal::ClientInfo;
use crate::db::queries::history::{self, NewHistory};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    PasswordLoginOk,
    PasswordLoginFailed,
    /// Not checked: the account was locked, a rate limit was reached or the account is disabled.
    PasswordLoginRefused,
    /// Not checked: no free check slot within the wait bound (503), not a failure.
    PasswordLoginDeferred,
    QrLogin,
    PasswordChanged,
    Locked,
    Unlocked,
    TokenIssued,
    TokenRevoked,
    TokenUsed,
    TokenRejected,
    SheetPrinted,
    Refresh,
    RefreshReuseDetected,
    Logout,
    PortalDenied,
    /// HR suspended, retired or reinstated the employee.
    StatusChanged,
    /// HR corrected the employee's name, kana, department, e-mail or permission.
    ListingChanged,
    SecondFactorOk,
    SecondFactorFailed,
    SecondFactorLocked,
    MfaEnrolled,
    MfaRemoved,
    RecoveryCodesIssued,
    PasskeyAdded,
    PasskeyRemoved,
    MfaReset,
    MfaResetRolledBack,
}

impl Event {
    pub const ALL: [Event; 29] = [
        Event::PasswordLoginOk,
        Event::PasswordLoginFailed,
        Event::PasswordLoginRefused,
        Event::PasswordLoginDeferred,
        Event::QrLogin,
        Event::PasswordChanged,
        Event::Locked,
        Event::Unlocked,
        Event::TokenIssued,
        Event::TokenRevoked,
        Event::TokenUsed,
        Event::TokenRejected,
        Event::SheetPrinted,
        Event::Refresh,
        Event::RefreshReuseDetected,
        Event::Logout,
        Event::PortalDenied,
        Event::StatusChanged,
        Event::ListingChanged,
        Event::SecondFactorOk,
        Event::SecondFactorFailed,
        Event::SecondFactorLocked,
        Event::MfaEnrolled,
        Event::MfaRemoved,
        Event::RecoveryCodesIssued,
        Event::PasskeyAdded,
        Event::PasskeyRemoved,
        Event::MfaReset,
        Event::MfaResetRolledBack,
    ];

    pub fn parse(raw: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == raw)
    }

    /// How people read the event, Japanese then English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Event::PasswordLoginOk => ("サインイン（パスワード）", "Signed in (password)"),
            Event::PasswordLoginFailed => ("サインイン失敗", "Sign-in failed"),
            Event::PasswordLoginRefused => (
                "サインイン拒否（ロック中・試行制限・利用停止）",
                "Sign-in refused (locked, rate limit, disabled)",
            ),
            Event::PasswordLoginDeferred => (
                "サインイン保留（同時試行の待ち時間超過）",
                "Sign-in deferred (too many at once)",
            ),
            Event::QrLogin => ("サインイン（QRコード）", "Signed in (QR code)"),
            Event::PasswordChanged => ("パスワード変更", "Password changed"),
            Event::Locked => ("アカウントロック", "Account locked"),
            Event::Unlocked => ("ロック解除", "Unlocked"),
            Event::TokenIssued => ("QRコード発行", "QR code issued"),
            Event::TokenRevoked => ("QRコード無効化", "QR code revoked"),
            Event::TokenUsed => ("QRコード使用", "QR code used"),
            Event::TokenRejected => ("QRコード拒否", "QR code refused"),
            Event::SheetPrinted => ("アカウントシート印刷", "Account sheet printed"),
            Event::Refresh => ("トークン更新", "Token refreshed"),
            Event::RefreshReuseDetected => ("トークン再利用の検知", "Token reuse detected"),
            Event::Logout => ("サインアウト", "Signed out"),
            Event::PortalDenied => ("管理画面への入室拒否", "Portal access refused"),
            Event::StatusChanged => ("在籍状態の変更", "Status changed"),
            Event::ListingChanged => ("登録内容の変更", "Details changed"),
            Event::SecondFactorOk => ("二要素認証の確認", "Second factor verified"),
            Event::SecondFactorFailed => ("二要素認証の失敗", "Second factor failed"),
            Event::SecondFactorLocked => ("二要素認証の一時停止", "Second step locked"),
            Event::MfaEnrolled => ("認証アプリの設定", "Authenticator app set up"),
            Event::MfaRemoved => ("認証アプリの解除", "Authenticator app removed"),
            Event::RecoveryCodesIssued => ("リカバリーコードの発行", "Recovery codes issued"),
            Event::PasskeyAdded => ("パスキーの登録", "Passkey added"),
            Event::PasskeyRemoved => ("パスキーの削除", "Passkey removed"),
            Event::MfaReset => ("二要素認証のリセット", "Second factor reset"),
            Event::MfaResetRolledBack => (
                "二要素認証リセットの取り消し",
                "Second factor reset rolled back",
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Event::PasswordLoginOk => "password_login_ok",
            Event::PasswordLoginFailed => "password_login_failed",
            Event::PasswordLoginRefused => "password_login_refused",
            Event::PasswordLoginDeferred => "password_login_deferred",
            Event::QrLogin => "qr_login",
            Event::PasswordChanged => "password_changed",
            Event::Locked => "locked",
            Event::Unlocked => "unlocked",
            Event::TokenIssued => "token_issued",
            Event::TokenRevoked => "token_revoked",
            Event::TokenUsed => "token_used",
            Event::TokenRejected => "token_rejected",
            Event::SheetPrinted => "sheet_printed",
            Event::Refresh => "refresh",
            Event::RefreshReuseDetected => "refresh_reuse_detected",
            Event::Logout => "logout",
            Event::PortalDenied => "portal_denied",
            Event::StatusChanged => "status_changed",
            Event::ListingChanged => "listing_changed",
            Event::SecondFactorOk => "second_factor_ok",
            Event::SecondFactorFailed => "second_factor_failed",
            Event::SecondFactorLocked => "second_factor_locked",
            Event::MfaEnrolled => "mfa_enrolled",
            Event::MfaRemoved => "mfa_removed",
            Event::RecoveryCodesIssued => "recovery_codes_issued",
            Event::PasskeyAdded => "passkey_added",
            Event::PasskeyRemoved => "passkey_removed",
            Event::MfaReset => "mfa_reset",
            Event::MfaResetRolledBack => "mfa_reset_rolled_back",
        }
    }
}

/// One event about one employee (or an unknown login ID in `code`).
pub struct Record<'a> {
    pub event: Event,
    pub employee: Option<i64>,
    pub code: Option<&'a str>,
    pub actor: Option<i64>,
    pub client: &'a ClientInfo,
    pub detail: serde_json::Value,
    pub now: NaiveDateTime,
}

impl<'a> Record<'a> {
    /// An event about a known employee, not performed by an admin.
    pub fn about(
        event: Event,
        emp: &'a crate::db::models::Employee,
        client: &'a ClientInfo,
        detail: serde_json::Value,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            event,
            employee: Some(emp.id),
            code: Some(&emp.employee_id),
            actor: None,
            client,
            detail,
            now,
        }
    }
}

pub fn write(conn: &mut MysqlConnection, r: Record<'_>) -> QueryResult<usize> {
    let ua = r.client.user_agent.as_deref().map(|ua| truncate(ua, 255));
    history::insert(
        conn,
        &NewHistory {
            event: r.event.as_str(),
            employee_ref: r.employee,
            employee_code: r.code.map(|c| truncate(c, 32)),
            actor_ref: r.actor,
            client_ip: Some(truncate(&r.client.ip, 45)),
            user_agent: ua,
            detail: (!r.detail.is_null()).then(|| r.detail.to_string()),
            created_at: r.now,
        },
    )
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
