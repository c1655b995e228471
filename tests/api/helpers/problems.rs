//! What the API answered: problem+json bodies asserted by status and code, and headers.

use reqwest::Response;
use serde_json::Value;

/// A response header that must be there, as text.
pub fn header(res: &Response, name: &str) -> String {
    let value = res.headers().get(name);
    let value = value.unwrap_or_else(|| panic!("no {name} header"));
    value.to_str().unwrap().to_owned()
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// One function per problem the API answers often: it asserts the status and the code and
/// returns the body.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident => $status:literal $code:literal;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(res: Response) -> Value {
                problem(res, $status, $code).await
            }
        )*
    };
}

problems! {
    /// A wrong employee ID or password (or an unknown ID).
    invalid_credentials => 401 "invalid_credentials";
    /// The account is locked.
    account_locked => 423 "account_locked";
    /// Too many failures from this address.
    rate_limited => 429 "rate_limited";
    /// No valid bearer token.
    unauthorized => 401 "unauthorized";
    /// A request the API cannot accept as it is.
    invalid_input => 400 "validation";
    /// A refresh or QR token that is not (or no longer) valid.
    token_invalid => 401 "token_invalid";
    /// A QR token that was used, replaced or has run out.
    token_gone => 410 "token_invalid";
    /// A setup session may only set the password.
    password_change_required => 403 "password_change_required";
}
