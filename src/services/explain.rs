//! What a service error tells the person who met it: status, stable code and the sentence in
//! Japanese and English, said once here for the API's problem+json and the portal alike.

use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};

pub use crate::db::DbError;
use crate::i18n::Lang;
use crate::services::archive::ArchiveError;
use crate::services::auth_error::{AuthError, TokenProblem};
use crate::services::clock::format_jst;
use crate::services::import::ImportError;
use crate::services::sheets::SheetError;

/// One refusal or failure as a person sees it.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub status: StatusCode,
    /// The API's stable problem code.
    pub code: &'static str,
    pub ja: String,
    pub en: String,
    /// Seconds after which trying again may succeed.
    pub retry_after: Option<i64>,
}

impl Explanation {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            ja: ja.into(),
            en: en.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.ja, &self.en)
    }

    /// A fault of the server or a dependency (5xx), not something the person did.
    pub fn is_fault(&self) -> bool {
        self.status.is_server_error()
    }

    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "ただいま混み合っています。少し待ってからもう一度お試しください。",
            "The service is busy. Please try again shortly.",
        )
        .retry_after(5)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。",
            "Something went wrong on the server. Please try again later.",
        )
    }
}

/// Implemented by every service error a person can meet.
pub trait Explain {
    fn explain(&self) -> Explanation;
}

/// The sentence for a locked account, with the time the lock ends (JST).
pub fn locked_until(until: DateTime<Utc>) -> Explanation {
    let at = format_jst(until);
    Explanation::new(
        StatusCode::LOCKED,
        "account_locked",
        format!(
            "パスワードを続けて間違えたため、アカウントがロックされています。{at}（日本時間）以降にもう一度お試しいただくか、人事部（管理者）にロック解除を依頼してください。"
        ),
        format!(
            "The account is locked after repeated wrong passwords. Try again after {at} JST, or ask HR (an administrator) to unlock it."
        ),
    )
}

impl Explain for DbError {
    fn explain(&self) -> Explanation {
        if self.is_transient() {
            Explanation::busy()
        } else {
            Explanation::internal()
        }
    }
}

impl Explain for AuthError {
    fn explain(&self) -> Explanation {
        use StatusCode as S;
        match self {
            AuthError::InvalidCredentials => Explanation::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "職員番号またはパスワードが正しくありません。",
                "The employee ID or password is incorrect.",
            ),
            AuthError::Locked { until } => locked_until(*until),
            AuthError::RateLimited { retry_after } => {
                let minutes = (retry_after + 59) / 60;
                Explanation::new(
                    S::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "試行回数が多すぎます。{minutes}分ほど（{retry_after}秒）待ってから、もう一度お試しください。"
                    ),
                    format!(
                        "Too many attempts. Please wait about {minutes} minute(s) ({retry_after} seconds) and try again."
                    ),
                )
                .retry_after(*retry_after)
            }
            AuthError::Disabled => Explanation::new(
                S::FORBIDDEN,
                "account_disabled",
                "このアカウントは現在利用できません（休職・退職など）。人事部にお問い合わせください。",
                "This account is not active. Please contact HR.",
            ),
            AuthError::Unauthorized => Explanation::new(
                S::UNAUTHORIZED,
                "unauthorized",
                "サインインが必要です。もう一度サインインしてください。",
                "Authentication is required. Please sign in again.",
            ),
            AuthError::PasswordChangeRequired => Explanation::new(
                S::FORBIDDEN,
                "password_change_required",
                "先にパスワードを設定してください。",
                "Set a new password first.",
            ),
            AuthError::Forbidden => Explanation::new(
                S::FORBIDDEN,
                "forbidden",
                "この操作を行う権限がありません。",
                "You are not allowed to do this.",
            ),
            AuthError::AboveOwnLevel => Explanation::new(
                S::FORBIDDEN,
                "forbidden",
                "あなたより権限レベルの高いアカウントは操作（QRコードの発行・無効化、ロック解除）できません。",
                "You cannot act on (issue or revoke QR codes for, unlock) an account with a higher permission level than yours.",
            ),
            AuthError::NotFound => Explanation::new(
                S::NOT_FOUND,
                "not_found",
                "指定された社員が見つかりません。",
                "No employee with this ID.",
            ),
            AuthError::Token(problem) => token_problem(*problem),
            AuthError::RefreshInvalid(_) => Explanation::new(
                S::UNAUTHORIZED,
                "token_invalid",
                "サインインの有効期限が切れました。もう一度サインインしてください。",
                "The session has ended. Please sign in again.",
            ),
            AuthError::Policy(violations) => {
                let ja: Vec<String> = violations.iter().map(|v| v.message_ja()).collect();
                let en: Vec<String> = violations.iter().map(|v| v.message_en()).collect();
                Explanation::new(
                    S::UNPROCESSABLE_ENTITY,
                    "password_policy",
                    ja.join(""),
                    en.join(" "),
                )
            }
            AuthError::Invalid(p) => Explanation::new(
                S::BAD_REQUEST,
                "validation",
                p.message_ja.clone(),
                p.message_en.clone(),
            ),
            AuthError::Busy => Explanation::new(
                S::SERVICE_UNAVAILABLE,
                "busy",
                "ただいまサインインが集中しています。数秒後にもう一度お試しください。",
                "Too many sign-ins at once. Please retry in a few seconds.",
            )
            .retry_after(2),
            AuthError::Db(db) => db.explain(),
            AuthError::Internal(_) => Explanation::internal(),
            AuthError::MfaRequired(_) => Explanation::new(
                S::UNAUTHORIZED,
                "mfa_required",
                "認証アプリの6桁のコード（またはリカバリーコード）を入力してください。",
                "Enter the 6-digit code from your authenticator app (or a recovery code).",
            ),
            AuthError::SecondFactorRequired => Explanation::new(
                S::FORBIDDEN,
                "mfa_required",
                "管理者の操作には二要素認証でのサインインが必要です。認証アプリを設定し、コードを入力してサインインし直してください。",
                "Administrative acts need a sign-in with a second factor. Set up an authenticator app and sign in again with its code.",
            ),
            AuthError::InvalidCode => Explanation::new(
                S::UNAUTHORIZED,
                "invalid_code",
                "コードが正しくありません。認証アプリに表示されている最新のコードを入力してください。",
                "The code is not correct. Enter the newest code your authenticator app shows.",
            ),
            AuthError::MfaLocked { until } => {
                let at = format_jst(*until);
                Explanation::new(
                    S::LOCKED,
                    "mfa_locked",
                    format!(
                        "確認コードを続けて間違えたため、{at}（日本時間）まで二段階目の確認を受け付けません。時間をおいてお試しいただくか、人事部（管理者）にご連絡ください。"
                    ),
                    format!(
                        "Too many wrong codes: the second step is locked until {at} JST. Try again later or contact HR (an administrator)."
                    ),
                )
            }
            AuthError::MfaToken(_) => Explanation::new(
                S::UNAUTHORIZED,
                "mfa_token_invalid",
                "確認の有効時間（5分）が過ぎたか、すでに使用されています。もう一度パスワードからサインインしてください。",
                "This sign-in step has expired (5 minutes) or was already used. Sign in again from the password.",
            ),
            AuthError::AlreadyEnrolled => Explanation::new(
                S::CONFLICT,
                "mfa_already_enrolled",
                "認証アプリはすでに設定されています。設定し直すには、いったん解除してください。",
                "An authenticator app is already set up. Remove it first to set up another.",
            ),
            AuthError::NotEnrolled => Explanation::new(
                S::CONFLICT,
                "mfa_not_enrolled",
                "設定中または設定済みの認証アプリがありません。",
                "There is no authenticator app being set up or set up.",
            ),
            AuthError::RecentSignInRequired => Explanation::new(
                S::FORBIDDEN,
                "reauthentication_required",
                "安全のため、二要素認証の設定を変更するには、もう一度サインインしてから15分以内に操作してください。",
                "For your safety, sign in again and change your second factor within 15 minutes.",
            ),
            AuthError::ResetNotFound => Explanation::new(
                S::NOT_FOUND,
                "not_found",
                "指定された二要素認証のリセット記録が見つかりません。",
                "No such second-factor reset.",
            ),
            AuthError::RollbackClosed => Explanation::new(
                S::CONFLICT,
                "rollback_closed",
                "取り消しの期限を過ぎたため、このリセットは取り消せません（以前の認証情報は消去済みです）。",
                "The rollback window has closed: the previous credentials were erased.",
            ),
            AuthError::AlreadyRolledBack => Explanation::new(
                S::CONFLICT,
                "rollback_closed",
                "このリセットはすでに取り消されています。",
                "This reset was rolled back already.",
            ),
            AuthError::EnrolledSince => Explanation::new(
                S::CONFLICT,
                "mfa_enrolled_since",
                "この職員はリセット後に新しい認証手段を設定しています。取り消すと新しい設定は削除され、以前の設定に戻ります。よろしければ「新しい設定を置き換える」を選んでもう一度実行してください。",
                "This person set up a new factor after the reset. Rolling back replaces it with the previous one; confirm replacing it to go on.",
            ),
            AuthError::ResetLogUnreadable => Explanation::new(
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "このリセット記録は、設定されている鍵では開けません（STAFFGATE_MFA_RESET_LOG_KEY / _OLD_KEYS を確認してください）。",
                "This reset's record cannot be opened with the configured keys (check STAFFGATE_MFA_RESET_LOG_KEY / _OLD_KEYS).",
            ),
            AuthError::LastFactor => Explanation::new(
                S::CONFLICT,
                "mfa_last_factor",
                "管理者は二要素認証が必須のため、最後の認証手段は削除できません。先に別の認証手段（パスキーなど）を登録してください。",
                "Administrators must use two-factor sign-in: the last second factor cannot be removed. Add another one (a passkey) first.",
            ),
            AuthError::OwnAccount => Explanation::new(
                S::FORBIDDEN,
                "forbidden",
                "ご自身のアカウントの二要素認証はリセット・取り消しできません。別の管理者に依頼してください。",
                "You cannot reset or roll back your own second factor. Ask another administrator.",
            ),
        }
    }
}

fn token_problem(problem: TokenProblem) -> Explanation {
    let (status, ja, en) = match problem {
        TokenProblem::Unknown => (
            StatusCode::UNAUTHORIZED,
            "このリンク（QRコード）は無効です。人事部に再発行を依頼してください。",
            "This link (QR code) is not valid. Ask HR for a new one.",
        ),
        TokenProblem::Expired => (
            StatusCode::GONE,
            "このリンク（QRコード）は有効期限が切れています。人事部に再発行を依頼してください。",
            "This link (QR code) has expired. Ask HR for a new one.",
        ),
        TokenProblem::Used => (
            StatusCode::GONE,
            "このリンク（QRコード）はすでに使用されています。パスワードでサインインするか、人事部に再発行を依頼してください。",
            "This link (QR code) has already been used. Sign in with your password or ask HR for a new one.",
        ),
        TokenProblem::Revoked => (
            StatusCode::GONE,
            "このリンク（QRコード）は再発行により無効になりました。新しいアカウント情報シートをお使いください。",
            "This link (QR code) was replaced by a newer one. Use your newest account sheet.",
        ),
    };
    Explanation::new(status, "token_invalid", ja, en)
}

impl Explain for SheetError {
    fn explain(&self) -> Explanation {
        let (ja, en) = self.messages();
        let (status, code) = match self {
            SheetError::Busy => return Explanation::busy(),
            SheetError::Db(db) if db.is_transient() => return Explanation::busy(),
            SheetError::Db(_) | SheetError::Internal(_) | SheetError::Font(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            SheetError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            SheetError::Changed { .. } => (StatusCode::CONFLICT, "conflict"),
            SheetError::Unknown(_)
            | SheetError::NotActive(_)
            | SheetError::Empty { .. }
            | SheetError::TooMany { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        };
        Explanation::new(status, code, ja, en)
    }
}

impl Explain for ArchiveError {
    fn explain(&self) -> Explanation {
        let (ja, en) = self.message();
        let (status, code) = match self {
            ArchiveError::Busy | ArchiveError::AlreadyRan => (StatusCode::CONFLICT, "conflict"),
            ArchiveError::Db(db) if db.is_transient() => return Explanation::busy(),
            ArchiveError::Db(_) | ArchiveError::Conflict(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            ArchiveError::TooRecent(_)
            | ArchiveError::BatchSize(_)
            | ArchiveError::PauseRatio(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        };
        Explanation::new(status, code, ja, en)
    }
}

impl Explain for ImportError {
    fn explain(&self) -> Explanation {
        match self {
            ImportError::Db(db) => db.explain(),
        }
    }
}
