//! Bad input: precise 4xx problem+json, nothing written.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SIGN_IN: &str = "/api/v2/auth/authenticate";

/// Signs in with the browser's language preference.
async fn sign_in_in(app: &TestApp, accept_language: &str, body: &Value) -> reqwest::Response {
    let req = app.client.post(app.url(SIGN_IN));
    let req = req.header("accept-language", accept_language).json(body);
    req.send().await.unwrap()
}

async fn raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    bearer: Option<&str>,
) -> reqwest::Response {
    let body_head = body[..body.len().min(60)].to_vec();
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let what = format!("{content_type} {}", String::from_utf8_lossy(&body_head));
    req.send().await.unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

#[tokio::test]
async fn malformed_wrong_typed_unknown_and_oversize_bodies_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let history_before = app.count("login_history");
    let issue = "/api/v2/auth/generate-onetime-token";
    let issue_json = |body: &'static [u8]| {
        raw(
            &app,
            issue,
            "application/json",
            body.to_vec(),
            Some(admin.as_str()),
        )
    };

    let b = invalid_input(issue_json(b"{\"employeeId\": ").await).await;
    assert!(b["detail"].as_str().unwrap().contains("JSON"));
    let wrong_types: [&[u8]; 2] = [
        br#"{"employeeId": 42}"#,
        br#"{"employeeId": "N0001", "validityHours": 2.5}"#,
    ];
    for body in wrong_types {
        invalid_input(issue_json(body).await).await;
    }
    let unknown = issue_json(br#"{"employeeId": "N0001", "isAdmin": true}"#).await;
    let unknown = invalid_input(unknown).await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("isAdmin"),
        "{unknown}"
    );
    let mut big = br#"{"employeeId": "N0001", "purpose": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    big.extend(br#""}"#);
    // A client of its own: the server answers 413 without reading the body and closes that
    // connection, which a pooled client would otherwise try to reuse.
    let big_res = reqwest::Client::new()
        .post(app.url(issue))
        .header("content-type", "application/json")
        .bearer_auth(&admin)
        .body(big)
        .send()
        .await
        .unwrap();
    problem(big_res, 413, "payload_too_large").await;
    problem(
        raw(
            &app,
            issue,
            "text/plain",
            br#"{"employeeId": "N0001"}"#.to_vec(),
            Some(&admin),
        )
        .await,
        415,
        "unsupported_media_type",
    )
    .await;
    let sign_in_bodies: [&[u8]; 2] = [b"[]", br#"{"employeeId": "N0001"}"#];
    for body in sign_in_bodies {
        let res = raw(&app, SIGN_IN, "application/json", body.to_vec(), None).await;
        invalid_input(res).await;
    }

    assert_eq!(app.count("onetime_tokens"), 0);
    assert_eq!(app.count("login_history"), history_before);
    assert_eq!(app.employee(STAFF_ID).failed_login_count, 0);
}

#[tokio::test]
async fn problems_are_japanese_by_default_and_english_on_request() {
    let app = spawn_app().await;
    let ja = invalid_credentials(app.login("NOBODY", "x").await).await;
    assert_eq!(ja["detail"], "職員番号またはパスワードが正しくありません。");
    let body = json!({ "employeeId": "NOBODY", "password": "x" });
    let res = sign_in_in(&app, "en-US,en;q=0.9,ja;q=0.5", &body).await;
    let en = invalid_credentials(res).await;
    assert_eq!(en["detail"], "The employee ID or password is incorrect.");
    assert_eq!(en["type"], "urn:staffgate:problem:invalid_credentials");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems_too() {
    let app = spawn_app().await;
    problem(app.get("/api/v2/nope").await, 404, "not_found").await;
    let res = app.get("/api/v2/auth/authenticate").await;
    assert!(res.status().is_client_error());
    assert!(!res.status().is_server_error());
}

#[tokio::test]
async fn api_responses_carry_security_headers() {
    let app = spawn_app().await;
    app.seed_staff();
    let res = app.login(STAFF_ID, STAFF_PW).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("content-security-policy"));
    let body: Value = res.json().await.unwrap();
    assert!(body["accessToken"].is_string());
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app_configured(|s| {
        s.http.cors_origins = vec!["https://voicedrive.example.jp".into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                app.url("/api/v2/auth/authenticate"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://voicedrive.example.jp").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://voicedrive.example.jp"
    );
    let evil = preflight("https://evil.example.com").await.unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn wrong_methods_on_known_paths_are_405_with_allow() {
    let app = spawn_app().await;
    let res = app.get("/api/v2/auth/authenticate").await;
    assert_eq!(res.headers()["allow"], "POST");
    problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn field_errors_name_the_field_in_the_requested_language() {
    let app = spawn_app().await;
    let res = sign_in_in(&app, "en", &json!({ "employeeId": "N0001" })).await;
    let body = invalid_input(res).await;
    assert_eq!(body["errors"][0]["field"], "password");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("missing field")
    );
    assert!(body["errors"][0].get("messageEn").is_none());
    let ja = invalid_input(app.login("", "x").await).await;
    assert_eq!(ja["errors"][0]["field"], "employeeId");
    assert_eq!(ja["errors"][0]["message"], "職員番号を入力してください。");
}
