//! The only HTTP-aware errors: `ApiError` renders RFC 9457 problem+json with a stable `code`
//! and a Japanese (or English) `detail`. 5xx bodies carry a request id; causes go to the log.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

use crate::db::DbError;
use crate::i18n::Lang;
use crate::services::auth::{AuthError, TokenProblem};
use crate::services::clock::format_jst;
use crate::services::import::ImportError;

/// Everything needed to render a problem in either language; stored in the response
/// extensions so the language middleware can re-render it in English.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail_ja: String,
    pub detail_en: String,
    pub extensions: Map<String, Value>,
    pub retry_after: Option<i64>,
}

#[derive(Debug)]
pub struct ApiError {
    problem: Problem,
    cause: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.problem.code, self.problem.status)
    }
}

fn title(code: &str) -> &'static str {
    match code {
        "validation" => "Invalid request",
        "payload_too_large" => "Payload too large",
        "unsupported_media_type" => "Unsupported media type",
        "not_found" => "Not found",
        "method_not_allowed" => "Method not allowed",
        "unauthorized" => "Unauthorized",
        "forbidden" => "Forbidden",
        "password_change_required" => "Password change required",
        "invalid_credentials" => "Invalid credentials",
        "account_locked" => "Account locked",
        "account_disabled" => "Account disabled",
        "rate_limited" => "Too many attempts",
        "token_invalid" => "Token not accepted",
        "password_policy" => "Password policy",
        "busy" => "Service busy",
        _ => "Internal error",
    }
}

impl Problem {
    pub fn body(&self, lang: Lang) -> Value {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            json!(format!("urn:staffgate:problem:{}", self.code)),
        );
        body.insert("title".into(), json!(title(self.code)));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("code".into(), json!(self.code));
        body.insert(
            "detail".into(),
            json!(lang.pick(&self.detail_ja, &self.detail_en)),
        );
        for (k, v) in &self.extensions {
            body.insert(k.clone(), v.clone());
        }
        // Field errors carry both languages internally; the body shows the requested one.
        if let Some(Value::Array(errors)) = body.get_mut("errors") {
            for err in errors.iter_mut() {
                if let Value::Object(fields) = err {
                    let en = fields.remove("messageEn");
                    if let (Lang::En, Some(en)) = (lang, en) {
                        fields.insert("message".into(), en);
                    }
                }
            }
        }
        Value::Object(body)
    }

    pub fn to_response(&self, lang: Lang) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.code == "unauthorized" {
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"staffgate\""),
            ));
        }
        let mut res = builder.body(self.body(lang).to_string());
        res.extensions_mut().insert(self.clone());
        res
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            problem: Problem {
                status,
                code,
                detail_ja: ja.into(),
                detail_en: en.into(),
                extensions: Map::new(),
                retry_after: None,
            },
            cause: None,
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.problem.extensions.insert(key.into(), value);
        self
    }

    fn retry_after(mut self, secs: i64) -> Self {
        self.problem.retry_after = Some(secs);
        self.with("retryAfter", json!(secs))
    }

    /// A 500 whose cause is logged under a request id; the client sees only the id.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。",
            "Something went wrong on the server. Please try again later.",
        );
        e.cause = Some(cause.into());
        e
    }

    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "ただいま混み合っています。少し待ってからもう一度お試しください。",
            "The service is busy. Please try again shortly.",
        )
        .retry_after(5);
        e.cause = Some(cause.into());
        e
    }

    pub fn validation(field: &str, ja: &str, en: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation", ja, en).with(
            "errors",
            json!([{ "field": field, "message": ja, "messageEn": en }]),
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "指定されたURLは存在しません。",
            "No such resource.",
        )
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut problem = self.problem.clone();
        if problem.status.is_server_error() {
            let id = crate::domain::token::random_hex(8);
            match &self.cause {
                Some(cause) => {
                    tracing::error!(request_id = %id, code = problem.code, %cause, "request failed")
                }
                None => tracing::error!(request_id = %id, code = problem.code, "request failed"),
            }
            problem.extensions.insert("requestId".into(), json!(id));
        }
        problem.to_response(Lang::Ja)
    }
}

impl From<crate::domain::ParseError> for ApiError {
    fn from(e: crate::domain::ParseError) -> Self {
        ApiError::validation(e.field, &e.message_ja, &e.message_en)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => ApiError::unavailable(cause),
            // Contention, not a fault: InnoDB chose this transaction as a deadlock victim or a
            // lock wait ran out. The client may simply retry.
            DbError::Query(q) if is_contention(&q) => ApiError::unavailable(q.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

fn is_contention(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(kind, info) => {
            matches!(
                kind,
                diesel::result::DatabaseErrorKind::SerializationFailure
            ) || info.message().contains("Deadlock found")
                || info.message().contains("Lock wait timeout")
        }
        _ => false,
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Db(db) => db.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use StatusCode as S;
        match e {
            AuthError::InvalidCredentials => ApiError::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "社員IDまたはパスワードが正しくありません。",
                "The employee ID or password is incorrect.",
            ),
            AuthError::Locked { until } => ApiError::new(
                S::LOCKED,
                "account_locked",
                format!(
                    "ログインの失敗が続いたため、アカウントをロックしています。{}（日本時間）以降にもう一度お試しいただくか、人事部にロック解除を依頼してください。",
                    format_jst(until)
                ),
                format!(
                    "The account is locked after repeated failed sign-ins. Try again after {} JST or ask HR to unlock it.",
                    format_jst(until)
                ),
            )
            .with("lockedUntil", json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
            AuthError::RateLimited { retry_after } => ApiError::new(
                S::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("試行回数が多すぎます。{}秒ほど待ってからもう一度お試しください。", retry_after),
                format!("Too many attempts. Try again in about {retry_after} seconds."),
            )
            .retry_after(retry_after),
            AuthError::Disabled => ApiError::new(
                S::FORBIDDEN,
                "account_disabled",
                "このアカウントは現在利用できません（休職・退職など）。人事部にお問い合わせください。",
                "This account is not active. Please contact HR.",
            ),
            AuthError::Unauthorized => ApiError::new(
                S::UNAUTHORIZED,
                "unauthorized",
                "ログインが必要です。もう一度ログインしてください。",
                "Authentication is required. Please sign in again.",
            ),
            AuthError::PasswordChangeRequired => ApiError::new(
                S::FORBIDDEN,
                "password_change_required",
                "先にパスワードを設定してください。",
                "Set a new password first.",
            ),
            AuthError::Forbidden => ApiError::new(
                S::FORBIDDEN,
                "forbidden",
                "この操作を行う権限がありません。",
                "You are not allowed to do this.",
            ),
            AuthError::NotFound => ApiError::new(
                S::NOT_FOUND,
                "not_found",
                "指定された社員が見つかりません。",
                "No employee with this ID.",
            ),
            AuthError::Token(problem) => {
                let (status, ja, en) = match problem {
                    TokenProblem::Unknown => (
                        S::UNAUTHORIZED,
                        "このリンク（QRコード）は無効です。人事部に再発行を依頼してください。",
                        "This link (QR code) is not valid. Ask HR for a new one.",
                    ),
                    TokenProblem::Expired => (
                        S::GONE,
                        "このリンク（QRコード）は有効期限が切れています。人事部に再発行を依頼してください。",
                        "This link (QR code) has expired. Ask HR for a new one.",
                    ),
                    TokenProblem::Used => (
                        S::GONE,
                        "このリンク（QRコード）はすでに使用されています。パスワードでログインするか、人事部に再発行を依頼してください。",
                        "This link (QR code) has already been used. Sign in with your password or ask HR for a new one.",
                    ),
                    TokenProblem::Revoked => (
                        S::GONE,
                        "このリンク（QRコード）は再発行により無効になりました。新しいアカウント情報シートをお使いください。",
                        "This link (QR code) was replaced by a newer one. Use your newest account sheet.",
                    ),
                };
                ApiError::new(status, "token_invalid", ja, en).with("reason", json!(problem.as_str()))
            }
            AuthError::RefreshInvalid(problem) => ApiError::new(
                S::UNAUTHORIZED,
                "token_invalid",
                "ログインの有効期限が切れました。もう一度ログインしてください。",
                "The session has ended. Please sign in again.",
            )
            .with("reason", json!(problem.as_str())),
            AuthError::Policy(violations) => {
                let ja: Vec<String> = violations.iter().map(|v| v.message_ja()).collect();
                let en: Vec<String> = violations.iter().map(|v| v.message_en()).collect();
                ApiError::new(S::UNPROCESSABLE_ENTITY, "password_policy", ja.join(""), en.join(" "))
                    .with("violations", json!(violations.iter().map(|v| v.code()).collect::<Vec<_>>()))
            }
            AuthError::Invalid(p) => p.into(),
            AuthError::Busy => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "busy",
                "ただいまログインが集中しています。数秒後にもう一度お試しください。",
                "Too many sign-ins at once. Please retry in a few seconds.",
            )
            .retry_after(2),
            AuthError::Db(db) => db.into(),
            AuthError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
