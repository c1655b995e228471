//! What every portal page shares: the chrome (language, CSRF token, who is signed in, the
//! flash message), the error pages, and small display helpers.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::services::archive::ArchiveError;
use crate::services::auth_error::AuthError;
use crate::services::explain::{DbError, Explain, Explanation};
use crate::services::import::ImportError;
use crate::services::sheets::SheetError;

/// A one-time message shown on the next page (POST -> 303 -> GET).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: String,
    pub text: String,
}

impl Flash {
    pub fn ok(lang: Lang, ja: &str, en: &str) -> Self {
        Self {
            kind: "ok".into(),
            text: lang.pick(ja, en).to_owned(),
        }
    }

    pub fn error(lang: Lang, ja: &str, en: &str) -> Self {
        Self {
            kind: "error".into(),
            text: lang.pick(ja, en).to_owned(),
        }
    }
}

/// Shared page frame: navigation, language, the signed-in admin, the CSRF token.
pub struct Chrome {
    pub lang: Lang,
    pub csrf: String,
    pub me_name: String,
    pub me_code: String,
    pub flash: Option<Flash>,
    /// Which navigation entry is current.
    pub nav: &'static str,
    /// The current path and query, for the language switch.
    pub here: String,
}

impl Chrome {
    pub fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }

    pub fn en(&self) -> bool {
        self.lang == Lang::En
    }

    pub fn lang_code(&self) -> &'static str {
        match self.lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// Renders a template with a status; a rendering failure is a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            PortalError::Internal("template".into()).error_response()
        }
    }
}

pub fn page(page: &impl Template) -> HttpResponse {
    render(StatusCode::OK, page)
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

/// A portal failure, rendered as a page (in both languages: the error path has no request).
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Not signed in, or the session ended: back to the sign-in page.
    #[error("sign-in required")]
    SignIn { next: String, expired: bool },
    /// A step of the sign-in comes first.
    #[error("redirect to {0}")]
    Redirect(String),
    #[error("forbidden")]
    Forbidden,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A service refused what was asked; its explanation says what to show.
    #[error("refused: {}", .0.code)]
    Refused(Explanation),
    #[error("service busy")]
    Unavailable,
    #[error("internal: {0}")]
    Internal(String),
}

impl PortalError {
    /// How a service error reaches the admin: a refusal with its explanation, a busy
    /// dependency as 503, a fault as the error page with its cause logged.
    pub fn explained(e: &(impl Explain + std::fmt::Display)) -> Self {
        let x = e.explain();
        match x.status {
            StatusCode::SERVICE_UNAVAILABLE => PortalError::Unavailable,
            StatusCode::NOT_FOUND => PortalError::NotFound,
            s if s.is_server_error() => PortalError::Internal(e.to_string()),
            _ => PortalError::Refused(x),
        }
    }
}

impl From<AuthError> for PortalError {
    fn from(e: AuthError) -> Self {
        match e {
            // At the portal this is the portal itself: the page says who may use it.
            AuthError::Forbidden => PortalError::Forbidden,
            e => PortalError::explained(&e),
        }
    }
}

macro_rules! explained_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for PortalError {
            fn from(e: $error) -> Self {
                PortalError::explained(&e)
            }
        }
    )*};
}

explained_errors!(DbError, SheetError, ArchiveError, ImportError);

#[derive(Template)]
#[template(path = "admin/errors/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title_ja: &'a str,
    title_en: &'a str,
    detail_ja: &'a str,
    detail_en: &'a str,
    request_id: Option<String>,
    signed_in: bool,
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignIn { .. } | PortalError::Redirect(_) => StatusCode::SEE_OTHER,
            PortalError::Forbidden | PortalError::Csrf => StatusCode::FORBIDDEN,
            PortalError::NotFound => StatusCode::NOT_FOUND,
            PortalError::Refused(x) => x.status,
            PortalError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PortalError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PortalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PortalError::SignIn { next, expired } = self {
            let mut to = format!("/admin/login?next={}", encode(next));
            if *expired {
                to.push_str("&expired=1");
            }
            return see_other(&to);
        }
        if let PortalError::Redirect(to) = self {
            return see_other(to);
        }
        let mut request_id = None;
        let (title_ja, title_en, detail_ja, detail_en) = match self {
            PortalError::Forbidden => (
                "権限がありません",
                "Not allowed",
                "この管理画面は人事管理者（権限レベル9以上）のみ利用できます。必要な場合は人事部にお問い合わせください。",
                "This portal is for HR administrators only. Please contact HR if you need access.",
            ),
            PortalError::Csrf => (
                "フォームの有効期限が切れました",
                "The form has expired",
                "安全のため送信を受け付けませんでした。ページを開き直してから、もう一度操作してください。",
                "For your security the form was not accepted. Reload the page and try again.",
            ),
            PortalError::NotFound => (
                "ページが見つかりません",
                "Page not found",
                "URLが正しいか確認してください。",
                "Check the address and try again.",
            ),
            PortalError::BadRequest(cause) => {
                tracing::info!(%cause, "portal request refused");
                (
                    "入力を処理できませんでした",
                    "The request could not be processed",
                    "送信内容の形式が正しくありません。ページを開き直して、もう一度操作してください。",
                    "The submitted data was not in the expected form. Reload the page and try again.",
                )
            }
            PortalError::Refused(x) => (
                "操作を完了できませんでした",
                "The action could not be completed",
                x.ja.as_str(),
                x.en.as_str(),
            ),
            PortalError::Unavailable => (
                "ただいま混み合っています",
                "The service is busy",
                "しばらく待ってから、もう一度お試しください。",
                "Please wait a moment and try again.",
            ),
            PortalError::Internal(cause) => {
                let id = crate::domain::random_hex(8);
                tracing::error!(request_id = %id, %cause, "portal error");
                request_id = Some(id);
                (
                    "エラーが発生しました",
                    "Something went wrong",
                    "操作は完了していません。問題が続く場合は、下の番号を添えてシステム管理者に連絡してください。",
                    "The action was not completed. If this keeps happening, give the number below to your system administrator.",
                )
            }
            PortalError::SignIn { .. } | PortalError::Redirect(_) => ("", "", "", ""),
        };
        let mut res = render(
            self.status_code(),
            &ErrorPage {
                status: self.status_code().as_u16(),
                title_ja,
                title_en,
                detail_ja,
                detail_en,
                request_id,
                signed_in: matches!(self, PortalError::Forbidden),
            },
        );
        res.headers_mut().insert(
            CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
        if let (PortalError::Unavailable, Some(secs)) = (self, Explanation::busy().retry_after) {
            res.headers_mut().insert(
                RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(secs),
            );
        }
        res
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A local portal path to return to after sign-in; anything else becomes the dashboard.
pub fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with("/admin")
                && !p.contains("//")
                && !p.contains('\\')
                && !p.starts_with("/admin/login")
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_portal() {
        assert_eq!(
            safe_next(Some("/admin/employees?q=a")),
            "/admin/employees?q=a"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/admin");
        assert_eq!(safe_next(Some("/admin//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin/login")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }

    #[test]
    fn a_lost_database_is_a_503_page_with_retry_after() {
        let gone = DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("Server has gone away".to_owned()),
        ));
        let res = PortalError::from(gone).error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
            Some("5")
        );
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            encode("/admin/employees?q=山田 a&b"),
            "/admin/employees%3Fq%3D%E5%B1%B1%E7%94%B0%20a%26b"
        );
    }
}
