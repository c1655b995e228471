//! CSRF protection for the whole portal: every request with an unsafe method is refused (403)
//! before any handler runs unless it repeats the token of its session (or, for the sign-in
//! form, of the double-submit cookie).
//!
//! The token travels as the form field `csrf` (URL-encoded forms; the first field of a
//! multipart form) or in the `X-CSRF-Token` header. The body is read only as far as the token
//! and handed on unchanged, so handlers read their forms as usual.

use actix_session::SessionExt;
use actix_web::HttpMessage;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use super::keys;
use super::view::PortalError;

/// The sign-in form's double-submit cookie: a random value the form must repeat, because
/// sign-in happens before there is a session.
pub const LOGIN_COOKIE: &str = "staffgate_login";
/// The one path (within the portal scope) whose token is the double-submit cookie rather
/// than the session's, and the length of that token (32 random bytes, hex).
pub const LOGIN_PATH: &str = "/login";
pub const LOGIN_TOKEN_LEN: usize = 64;
/// The form field, and the header, that carry the token.
pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";
/// How far into a body the token must have appeared: the portal's forms carry it first.
const PREFIX_LIMIT: usize = 16 * 1024;
/// How long the start of a body may take to arrive.
const BODY_WAIT: Duration = Duration::from_secs(15);
const SEC_FETCH_SITE: &str = "sec-fetch-site";

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware on the portal scope (inside the session middleware). A refusal is an
/// ordinary response, so the scope's headers and the metrics see it.
pub async fn require_token(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !is_safe(req.method())
        && let Err(refusal) = check(&mut req).await
    {
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn check(req: &mut ServiceRequest) -> Result<(), PortalError> {
    // A browser says where a request comes from: only the portal's own pages may post to it.
    // This also refuses a sibling subdomain, which SameSite counts as the same site.
    if let Some(site) = req.headers().get(SEC_FETCH_SITE)
        && site.as_bytes() != b"same-origin"
    {
        tracing::warn!(path = req.path(), "portal form posted from another site");
        return Err(PortalError::Csrf);
    }
    let expected = if req.match_info().unprocessed() == LOGIN_PATH {
        // Without its cookie the sign-in form cannot be valid: refused before any body is read.
        match req.cookie(LOGIN_COOKIE) {
            Some(c) if c.value().len() == LOGIN_TOKEN_LEN => c.value().to_owned(),
            _ => return Err(PortalError::Csrf),
        }
    } else {
        match req.get_session().get::<String>(keys::CSRF).ok().flatten() {
            Some(token) => token,
            // No session: nothing can be done on anyone's behalf; ask for a sign-in.
            None => {
                return Err(PortalError::SignIn {
                    next: "/admin".into(),
                    expired: req.cookie(super::SESSION_COOKIE).is_some(),
                });
            }
        }
    };
    let provided = tokio::time::timeout(BODY_WAIT, provided_token(req))
        .await
        .map_err(|_| PortalError::BadRequest("the form body did not arrive in time".into()))??;
    match provided {
        Some(p) if !p.is_empty() && bool::from(expected.as_bytes().ct_eq(p.as_bytes())) => Ok(()),
        _ => {
            tracing::warn!(path = req.path(), "portal form without a valid CSRF token");
            Err(PortalError::Csrf)
        }
    }
}

/// The token the request carries, if any. The body is read only until the token has been
/// seen (at most `PREFIX_LIMIT` bytes) and handed on whole.
async fn provided_token(req: &mut ServiceRequest) -> Result<Option<String>, PortalError> {
    if let Some(v) = req.headers().get(HEADER) {
        return Ok(v.to_str().ok().map(str::to_owned));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let kind = content_type.to_ascii_lowercase();
    if kind.starts_with("application/x-www-form-urlencoded") {
        scan_body(req, form_field).await
    } else if kind.starts_with("multipart/form-data") {
        let Some(boundary) = boundary_of(&content_type) else {
            return Ok(None);
        };
        scan_body(req, |prefix, ended| first_part(prefix, &boundary, ended)).await
    } else {
        Ok(None)
    }
}

/// What a look at the start of a body found.
enum Scan {
    /// The token, or certainly no token.
    Done(Option<String>),
    /// The token's field is cut off where the read stopped.
    NeedMore,
}

/// Reads the start of the body (all of it, or `PREFIX_LIMIT` bytes), looks for the token
/// once, and puts what it read back in front of the rest.
async fn scan_body(
    req: &mut ServiceRequest,
    find: impl Fn(&[u8], bool) -> Scan,
) -> Result<Option<String>, PortalError> {
    let mut rest = req.take_payload();
    let mut prefix = Vec::new();
    let mut ended = false;
    while !ended && prefix.len() < PREFIX_LIMIT {
        match rest.next().await {
            Some(chunk) => prefix.extend_from_slice(&chunk.map_err(bad_body)?),
            None => ended = true,
        }
    }
    let token = match find(&prefix, ended) {
        Scan::Done(token) => token,
        Scan::NeedMore => None,
    };
    let head = futures_util::stream::once(async move { Ok(Bytes::from(prefix)) });
    req.set_payload(Payload::Stream {
        payload: Box::pin(head.chain(rest)),
    });
    Ok(token)
}

fn bad_body(e: impl std::fmt::Display) -> PortalError {
    PortalError::BadRequest(format!("request body: {e}"))
}

/// `a=1&csrf=...&b=2`: the token once its field is complete (followed by `&`, or the end).
fn form_field(prefix: &[u8], ended: bool) -> Scan {
    let mut fields: Vec<&[u8]> = prefix.split(|b| *b == b'&').collect();
    if !ended {
        // The last field may still be arriving.
        fields.pop();
    }
    for field in fields {
        if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(field)
            && let Some((_, v)) = pairs.into_iter().find(|(k, _)| k == FIELD)
        {
            return Scan::Done(Some(v));
        }
    }
    if ended {
        Scan::Done(None)
    } else {
        Scan::NeedMore
    }
}

fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        if !key.eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Reads the first part of a multipart body: `--boundary CRLF headers CRLF CRLF value CRLF
/// --boundary`. Browsers send fields in document order; the portal's forms put `csrf` first.
fn first_part(body: &[u8], boundary: &str, ended: bool) -> Scan {
    let more = if ended {
        Scan::Done(None)
    } else {
        Scan::NeedMore
    };
    let opening = format!("--{boundary}\r\n");
    if body.len() < opening.len() {
        return more;
    }
    if !body.starts_with(opening.as_bytes()) {
        return Scan::Done(None);
    }
    let after = &body[opening.len()..];
    let Some(head_end) = find(after, b"\r\n\r\n") else {
        return more;
    };
    let value_start = &after[head_end + 4..];
    let closing = format!("\r\n--{boundary}");
    let Some(value_end) = find(value_start, closing.as_bytes()) else {
        return more;
    };
    let headers = String::from_utf8_lossy(&after[..head_end]).to_ascii_lowercase();
    let is_csrf = headers.lines().any(|line| {
        line.starts_with("content-disposition:")
            && line
                .split(';')
                .any(|p| p.trim() == format!("name=\"{FIELD}\""))
    });
    Scan::Done(is_csrf.then(|| String::from_utf8_lossy(&value_start[..value_end]).into_owned()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(scan: Scan) -> Option<Option<String>> {
        match scan {
            Scan::Done(t) => Some(t),
            Scan::NeedMore => None,
        }
    }

    #[test]
    fn reads_the_token_from_the_first_multipart_field() {
        let part = |body: &str, ended| done(first_part(body.as_bytes(), "XyZ", ended));
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n1,2\r\n--XyZ--\r\n";
        assert_eq!(part(body, false), Some(Some("abc123".into())));
        assert_eq!(part(&body[..30], false), None, "waits for more of the body");
        assert_eq!(
            part(&body[..30], true),
            Some(None),
            "a cut-off body has none"
        );
        let file_first =
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(part(file_first, false), Some(None));
        assert_eq!(part("garbage that is long enough", false), Some(None));
    }

    #[test]
    fn reads_the_token_from_a_urlencoded_form() {
        let form = |body: &str, ended| done(form_field(body.as_bytes(), ended));
        assert_eq!(form("a=1&csrf=t%2B1&b=2", false), Some(Some("t+1".into())));
        assert_eq!(form("a=1&csrf=t%2B", false), None, "the field may go on");
        assert_eq!(form("a=1&csrf=t%2B1", true), Some(Some("t+1".into())));
        assert_eq!(form("a=1", true), Some(None));
        assert_eq!(form("", true), Some(None));
    }

    #[test]
    fn finds_the_boundary() {
        assert_eq!(
            boundary_of("multipart/form-data; boundary=----AbC"),
            Some("----AbC".into())
        );
        assert_eq!(boundary_of("multipart/form-data"), None);
    }
}
