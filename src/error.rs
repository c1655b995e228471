//! The only HTTP-aware errors: `ApiError` renders RFC 9457 problem+json with a stable `code`
//! and a Japanese (or English) `detail`. 5xx bodies carry a request id; causes go to the log.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

use crate::db::DbError;
use crate::i18n::Lang;
use crate::services::auth_error::AuthError;
use crate::services::explain::{Explain, Explanation};
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
        "mfa_required" => "Second factor required",
        "invalid_code" => "Code not accepted",
        "mfa_locked" => "Second step locked",
        "mfa_token_invalid" => "Second-step token not accepted",
        "mfa_already_enrolled" => "Already enrolled",
        "mfa_not_enrolled" => "Not enrolled",
        "mfa_last_factor" => "Last second factor",
        "reauthentication_required" => "Recent sign-in required",
        "rollback_closed" => "Rollback not possible",
        "mfa_enrolled_since" => "Enrolled since the reset",
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
        Self::from(Explanation::new(status, code, ja, en))
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
        let mut e = Self::from(Explanation::internal());
        e.cause = Some(cause.into());
        e
    }

    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::from(Explanation::busy());
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

impl From<Explanation> for ApiError {
    fn from(x: Explanation) -> Self {
        let e = Self {
            problem: Problem {
                status: x.status,
                code: x.code,
                detail_ja: x.ja,
                detail_en: x.en,
                extensions: Map::new(),
                retry_after: None,
            },
            cause: None,
        };
        match x.retry_after {
            Some(secs) => e.retry_after(secs),
            None => e,
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let mut api = ApiError::from(e.explain());
        api.cause = Some(e.to_string());
        api
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
        let api = ApiError::from(e.explain());
        match e {
            AuthError::Locked { until } => api.with(
                "lockedUntil",
                json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ),
            AuthError::MfaLocked { until } => api.with(
                "lockedUntil",
                json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ),
            AuthError::MfaRequired(token) => api.with("mfaToken", json!(token.expose())).with(
                "mfaTokenExpiresIn",
                json!(crate::services::mfa::MFA_TOKEN_SECONDS),
            ),
            AuthError::MfaToken(problem) => api.with("reason", json!(problem.as_str())),
            AuthError::Token(problem) | AuthError::RefreshInvalid(problem) => {
                api.with("reason", json!(problem.as_str()))
            }
            AuthError::Policy(violations) => api.with(
                "violations",
                json!(violations.iter().map(|v| v.code()).collect::<Vec<_>>()),
            ),
            AuthError::Invalid(p) => p.into(),
            AuthError::Db(db) => db.into(),
            AuthError::Internal(cause) => ApiError::internal(cause),
            _ => api,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_is_a_503_problem_with_retry_after() {
        let lost = DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("Lost connection to server during query".to_owned()),
        ));
        let res = ApiError::from(lost).error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header(header::RETRY_AFTER), Some("5"));
        assert_eq!(
            header(header::CONTENT_TYPE),
            Some("application/problem+json")
        );
    }
}
