//! API-4: changing the password under the policy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn session(app: &TestApp) -> Value {
    app.seed_staff();
    app.tokens(STAFF_ID, STAFF_PW).await
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    let t = session(&app).await;
    let access = t["accessToken"].as_str().unwrap();
    invalid_input(app.choose_password(access, "Ajisai-Tsuyu-2026").await).await;
    invalid_credentials(
        app.replace_password(access, "wrong", "Ajisai-Tsuyu-2026")
            .await,
    )
    .await;
    assert_eq!(
        app.employee(STAFF_ID).failed_login_count,
        1,
        "a wrong current password counts"
    );
    assert_eq!(
        app.login(STAFF_ID, "Ajisai-Tsuyu-2026").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_policy_lists_every_violation() {
    let app = spawn_app().await;
    let t = session(&app).await;
    let access = t["accessToken"].as_str().unwrap();
    let cases: [(&str, &[&str]); 5] = [
        ("Kx7#q", &["too_short"]),
        ("password123", &["common_password"]),
        ("my-n0001-pass", &["contains_employee_id"]),
        (STAFF_PW, &["same_as_current"]),
        ("n0001", &["too_short", "contains_employee_id"]),
    ];
    for (pw, expected) in cases {
        let body = problem(
            app.replace_password(access, STAFF_PW, pw).await,
            422,
            "password_policy",
        )
        .await;
        let got: Vec<&str> = body["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "for {pw:?}");
    }
    assert_eq!(
        app.login(STAFF_ID, STAFF_PW).await.status(),
        StatusCode::OK,
        "nothing changed"
    );
}

#[tokio::test]
async fn passwords_over_72_bytes_are_refused_not_truncated() {
    let app = spawn_app().await;
    let t = session(&app).await;
    let access = t["accessToken"].as_str().unwrap();
    // 25 full-width characters = 75 bytes in UTF-8.
    let long = "さくらの花が咲く季節にまた会いましょうね病院の庭で";
    assert!(long.len() > 72);
    let body = problem(
        app.replace_password(access, STAFF_PW, long).await,
        422,
        "password_policy",
    )
    .await;
    assert_eq!(body["violations"], json!(["too_long_bytes"]));
    assert!(
        body["detail"].as_str().unwrap().contains("72バイト"),
        "{body}"
    );
    // Exactly 72 bytes is fine, and the whole of it matters.
    let edge = format!("{}Z", "k9".repeat(35)) + "Q";
    assert_eq!(edge.len(), 72);
    let res = app.replace_password(access, STAFF_PW, &edge).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.login(STAFF_ID, &edge).await.status(), StatusCode::OK);
    assert_eq!(
        app.login(STAFF_ID, &edge[..71]).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_new_password_replaces_the_old_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let t = session(&app).await;
    let other_device = app.tokens(STAFF_ID, STAFF_PW).await;
    let access = t["accessToken"].as_str().unwrap();
    let res = app
        .replace_password(access, STAFF_PW, "Hanabi-Natsu-2026")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(
        app.me(fresh["accessToken"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    invalid_credentials(app.login(STAFF_ID, STAFF_PW).await).await;
    assert_eq!(
        app.login(STAFF_ID, "Hanabi-Natsu-2026").await.status(),
        StatusCode::OK
    );
    token_invalid(app.refresh(&other_device["refreshToken"]).await).await;
    unauthorized(app.me(other_device["accessToken"].as_str().unwrap()).await).await;
}
