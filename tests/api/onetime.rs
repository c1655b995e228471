//! API-1 and API-2: issuing and redeeming one-time QR tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::qr::png_in_data_url;
use crate::helpers::*;

#[tokio::test]
async fn admin_issues_a_token_and_staff_redeem_it_exactly_once() {
    let app = spawn_app().await;
    let admin = app.admin_with_new_employee().await;

    let res = app
        .issue_with(&admin, STAFF_ID, json!({ "validityHours": 72 }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert_eq!(
        body["loginUrl"],
        format!("https://staffgate.test/welcome#t={token}")
    );
    assert_eq!(body["expiresAt"], "2026-04-04T00:00:00Z");
    let png = png_in_data_url(body["qrCodeDataUrl"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let first = app.verify(token).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["employee"]["employeeId"], STAFF_ID);
    assert_eq!(first["employee"]["name"], "看護 花子");
    assert_eq!(first["passwordMustChange"], true);
    assert_eq!(first["expiresIn"], 900);

    let again = token_gone(app.verify(token).await).await;
    assert_eq!(again["reason"], "used");
    assert!(
        app.has_event(STAFF_ID, "token_rejected"),
        "a replay is recorded"
    );
    let events = app.events(STAFF_ID);
    for e in ["token_issued", "token_used", "qr_login"] {
        assert!(events.contains(&e.to_string()), "{e} missing in {events:?}");
    }
}

#[tokio::test]
async fn validity_outside_1_to_168_hours_is_refused_naming_the_range() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    for bad in [json!(0), json!(169), json!(-1)] {
        let body = invalid_input(
            app.issue_with(&admin, STAFF_ID, json!({ "validityHours": bad }))
                .await,
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("1〜168"),
            "{body}"
        );
        assert_eq!(body["errors"][0]["field"], "validityHours");
    }
    invalid_input(
        app.issue_with(&admin, STAFF_ID, json!({ "validityHours": "24" }))
            .await,
    )
    .await;
    assert_eq!(app.count("onetime_tokens"), 0, "nothing may be written");
    // The default is 24 hours.
    let res: Value = app.issue(&admin, STAFF_ID).await.json().await.unwrap();
    assert_eq!(res["expiresAt"], "2026-04-02T00:00:00Z");
}

#[tokio::test]
async fn reissuing_revokes_the_older_unused_token() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let old = app.issue_token(&admin, STAFF_ID).await;
    let res: Value = app.issue(&admin, STAFF_ID).await.json().await.unwrap();
    assert_eq!(res["revokedCount"], 1);
    let body = token_gone(app.verify(&old).await).await;
    assert_eq!(body["reason"], "revoked");
    assert_eq!(
        app.verify(res["token"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    assert!(app.has_event(STAFF_ID, "token_revoked"));
}

#[tokio::test]
async fn tokens_expire_when_the_clock_moves_past_their_validity() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let token = app.expired_qr_token(&admin, STAFF_ID).await;
    let body = token_gone(app.verify(&token).await).await;
    assert_eq!(body["reason"], "expired");
}

#[tokio::test]
async fn only_admins_issue_tokens() {
    let app = spawn_app().await;
    app.seed_staff();
    app.seed(Seed {
        code: "N0002",
        ..Seed::default()
    });
    let staff = app.access_token(STAFF_ID, STAFF_PW).await;
    problem(app.issue(&staff, "N0002").await, 403, "forbidden").await;
    unauthorized(
        app.post(
            "/api/v2/auth/generate-onetime-token",
            &json!({ "employeeId": STAFF_ID }),
            None,
        )
        .await,
    )
    .await;
    unauthorized(app.issue("not-a-jwt", STAFF_ID).await).await;
    assert_eq!(app.count("onetime_tokens"), 0);
}

#[tokio::test]
async fn unknown_and_retired_employees_get_no_token() {
    let app = spawn_app().await;
    app.seed(Seed {
        code: "R0001",
        status: "retired",
        ..Seed::default()
    });
    let admin = app.admin_token().await;
    problem(app.issue(&admin, "NOBODY").await, 404, "not_found").await;
    problem(app.issue(&admin, "R0001").await, 403, "account_disabled").await;
    assert_eq!(app.count("onetime_tokens"), 0);
}

#[tokio::test]
async fn unknown_or_malformed_tokens_are_refused() {
    let app = spawn_app().await;
    let body = token_invalid(app.verify(&"A".repeat(43)).await).await;
    assert_eq!(body["reason"], "unknown");
    invalid_input(app.verify("short").await).await;
}

#[tokio::test]
async fn a_qr_sign_in_clears_the_lock_and_the_failure_count() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    app.lock_out(STAFF_ID, STAFF_PW).await;
    assert!(app.employee(STAFF_ID).locked_until.is_some());
    let token = app.issue_token(&admin, STAFF_ID).await;
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);
    let emp = app.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 0);
    assert_eq!(emp.locked_until, None);
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_setup_session_can_only_set_the_password_and_only_once() {
    let app = spawn_app().await;
    let setup = app.setup_session().await;

    password_change_required(app.issue(&setup, STAFF_ID).await).await;
    password_change_required(app.me(&setup).await).await;

    let res = app.choose_password(&setup, "Ume-no-hana-2026").await;
    assert_eq!(res.status(), StatusCode::OK);
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["scope"], "full");
    assert!(tokens["refreshToken"].as_str().is_some());
    assert_eq!(tokens["passwordStatus"]["mustChange"], false);

    unauthorized(app.choose_password(&setup, "Another-one-2026").await).await;
    assert_eq!(
        app.login(STAFF_ID, "Ume-no-hana-2026").await.status(),
        StatusCode::OK
    );
    assert!(app.has_event(STAFF_ID, "password_changed"));
}

#[tokio::test]
async fn logging_out_ends_a_setup_session() {
    let app = spawn_app().await;
    let setup = app.setup_session().await;
    let res = app.logout(&setup).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    unauthorized(app.choose_password(&setup, "Kiri-no-naka-77").await).await;
    assert!(app.employee(STAFF_ID).password_hash.is_none());
}

#[tokio::test]
async fn a_token_of_a_since_suspended_employee_is_refused_and_not_spent() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let token = app.issue_token(&admin, STAFF_ID).await;
    app.set_status(STAFF_ID, "suspended");
    problem(app.verify(&token).await, 403, "account_disabled").await;
    app.set_status(STAFF_ID, "active");
    assert_eq!(
        app.verify(&token).await.status(),
        StatusCode::OK,
        "the token was not spent"
    );
}

#[tokio::test]
async fn admins_cannot_issue_tokens_for_higher_accounts() {
    let app = spawn_app().await;
    app.seed(Seed {
        code: "CIO001",
        name: "情報 部長",
        permission: 20.0,
        ..Seed::default()
    });
    let admin = app.admin_token().await;
    problem(app.issue(&admin, "CIO001").await, 403, "forbidden").await;
    assert_eq!(app.count("onetime_tokens"), 0);
}
