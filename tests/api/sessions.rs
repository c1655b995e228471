//! Refresh rotation, reuse detection, logout, /me and token expiry.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    app.seed_staff();
    let first = app.tokens(STAFF_ID, STAFF_PW).await;
    let res = app.refresh(&first["refreshToken"]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refreshToken"], first["refreshToken"]);

    // The first token was copied and is presented again: the whole family dies.
    let reuse = token_invalid(app.refresh(&first["refreshToken"]).await).await;
    assert_eq!(reuse["reason"], "used");
    token_invalid(app.refresh(&second["refreshToken"]).await).await;
    unauthorized(app.me(second["accessToken"].as_str().unwrap()).await).await;
    let events = app.events(STAFF_ID);
    assert!(events.contains(&"refresh".to_string()));
    assert!(app.count("login_history WHERE event = 'refresh_reuse_detected'") == 1);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    app.seed_staff();
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    let access = t["accessToken"].as_str().unwrap();
    let res = app.logout(access).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    token_invalid(app.refresh(&t["refreshToken"]).await).await;
    unauthorized(app.me(access).await).await;
    assert!(app.has_event(STAFF_ID, "logout"));
}

#[tokio::test]
async fn me_shows_the_profile_and_password_status() {
    let app = spawn_app().await;
    app.seed_staff();
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    let res = app.me(t["accessToken"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["employeeId"], STAFF_ID);
    assert_eq!(me["department"], "看護部");
    assert_eq!(me["status"], "active");
    assert_eq!(me["lastLoginAt"], "2026-04-01T00:00:00Z");
    assert_eq!(me["passwordStatus"]["mustChange"], false);
    unauthorized(app.get("/api/v2/auth/me").await).await;
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes_and_refresh_tokens_after_thirty_days() {
    let app = spawn_app().await;
    app.seed_staff();
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    app.clock.advance(Duration::minutes(15));
    unauthorized(app.me(t["accessToken"].as_str().unwrap()).await).await;
    let res = app.refresh(&t["refreshToken"]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let t2: Value = res.json().await.unwrap();
    app.clock.advance(Duration::days(31));
    let body = token_invalid(app.refresh(&t2["refreshToken"]).await).await;
    assert_eq!(body["reason"], "expired");
}
