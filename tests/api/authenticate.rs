//! API-3: password sign-in, lockout, rate limits, JWKS verification.

use base64::Engine;
use chrono::Duration;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_correct_password_yields_tokens_that_verify_against_the_jwks() {
    let app = spawn_app().await;
    app.seed_staff();
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["expiresIn"], 900);
    assert_eq!(tokens["scope"], "full");
    assert_eq!(tokens["refreshToken"].as_str().unwrap().len(), 43);
    assert_eq!(tokens["passwordStatus"]["mustChange"], false);

    let jwks = app.get_json("/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    let jwt = tokens["accessToken"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(jwt, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["employeeId"], STAFF_ID);
    assert_eq!(claims["name"], "看護 花子");
    assert_eq!(claims["permissionLevel"], 1.0);
    assert_eq!(claims["scope"], "full");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    // A token signed by someone else is refused.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[2] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64]);
    unauthorized(app.me(&parts.join(".")).await).await;
    assert!(app.has_event(STAFF_ID, "password_login_ok"));
}

#[tokio::test]
async fn unknown_ids_and_wrong_passwords_get_the_same_answer() {
    let app = spawn_app().await;
    app.seed_staff();
    let wrong = invalid_credentials(app.login(STAFF_ID, "not-my-password").await).await;
    let unknown = invalid_credentials(app.login("NOBODY9", "not-my-password").await).await;
    assert_eq!(wrong, unknown);
    assert_eq!(
        wrong["detail"],
        "職員番号またはパスワードが正しくありません。"
    );
    assert_eq!(app.events("NOBODY9"), ["password_login_failed"]);
}

#[tokio::test]
async fn five_failures_lock_the_account_for_thirty_minutes() {
    let app = spawn_app().await;
    app.seed_staff();
    for i in 0..5 {
        invalid_credentials(
            app.login_from(&format!("198.51.100.{i}"), STAFF_ID, "wrong")
                .await,
        )
        .await;
    }
    let locked = account_locked(app.login(STAFF_ID, STAFF_PW).await).await;
    assert_eq!(locked["lockedUntil"], "2026-04-01T00:30:00Z");
    assert!(
        locked["detail"]
            .as_str()
            .unwrap()
            .contains("2026-04-01 09:30"),
        "shown in JST: {locked}"
    );
    assert!(app.has_event(STAFF_ID, "locked"));

    app.clock.advance(Duration::minutes(29));
    account_locked(app.login(STAFF_ID, STAFF_PW).await).await;
    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    assert_eq!(app.employee(STAFF_ID).failed_login_count, 0);
}

#[tokio::test]
async fn a_lock_that_ran_out_starts_counting_from_zero() {
    let app = spawn_app().await;
    app.seed_staff();
    for i in 0..5 {
        app.login_from(&format!("198.51.100.{i}"), STAFF_ID, "wrong")
            .await;
    }
    app.clock.advance(Duration::minutes(31));
    invalid_credentials(app.login_from("198.51.100.77", STAFF_ID, "wrong").await).await;
    assert_eq!(app.employee(STAFF_ID).failed_login_count, 1);
    assert_eq!(app.employee(STAFF_ID).locked_until, None);
}

#[tokio::test]
async fn the_rate_limit_is_per_id_and_address_with_retry_after() {
    let app = spawn_app().await;
    for _ in 0..5 {
        invalid_credentials(app.login_from("192.0.2.1", "GHOST1", "guess").await).await;
    }
    let res = app.login_from("192.0.2.1", "GHOST1", "guess").await;
    let retry: i64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=901).contains(&retry), "Retry-After {retry}");
    let body = rate_limited(res).await;
    assert_eq!(body["retryAfter"], retry);
    // Another address (another ward behind another NAT) is not affected.
    invalid_credentials(app.login_from("192.0.2.2", "GHOST1", "guess").await).await;
    // The window slides: after 15 minutes the address may try again.
    app.clock.advance(Duration::minutes(16));
    invalid_credentials(app.login_from("192.0.2.1", "GHOST1", "guess").await).await;
}

#[tokio::test]
async fn one_address_has_a_ceiling_across_all_ids() {
    let app = spawn_app_configured(|s| s.limits.ip_failures = 8).await;
    for i in 0..8 {
        invalid_credentials(
            app.login_from("192.0.2.9", &format!("GHOST{i}"), "guess")
                .await,
        )
        .await;
    }
    rate_limited(app.login_from("192.0.2.9", "GHOST99", "guess").await).await;
    invalid_credentials(app.login_from("192.0.2.10", "GHOST99", "guess").await).await;
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64_not_by_each_address() {
    let app = spawn_app_configured(|s| s.limits.ip_failures = 8).await;
    // One host owns 2001:db8:7:7::/64 and guesses from a new address each time.
    let addresses: Vec<String> = (1..=5)
        .map(|i| format!("2001:db8:7:7:{i:x}:0:{i:x}:1"))
        .collect();
    for ip in &addresses {
        invalid_credentials(app.login_from(ip, "GHOST1", "guess").await).await;
    }
    rate_limited(app.login_from("2001:db8:7:7::9", "GHOST1", "guess").await).await;
    for i in 2..=4 {
        invalid_credentials(
            app.login_from(
                &format!("2001:db8:7:7::{i:x}"),
                &format!("GHOST{i}"),
                "guess",
            )
            .await,
        )
        .await;
    }
    // Eight failures from the /64 across IDs: its ceiling.
    rate_limited(
        app.login_from("2001:db8:7:7:ab::1", "GHOST99", "guess")
            .await,
    )
    .await;

    // The neighbouring /64 and the IPv4 addresses are other clients.
    invalid_credentials(app.login_from("2001:db8:7:8::1", "GHOST1", "guess").await).await;
    invalid_credentials(app.login_from("192.0.2.77", "GHOST99", "guess").await).await;
    // The history names each address, not the /64.
    let seen: Vec<Option<String>> = app
        .events_with_ip("GHOST1")
        .into_iter()
        .map(|(_, ip)| ip)
        .take(5)
        .collect();
    let expected: Vec<Option<String>> = addresses.into_iter().map(Some).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn ipv4_addresses_written_as_ipv6_are_still_limited_one_by_one() {
    let app = spawn_app().await;
    for _ in 0..5 {
        invalid_credentials(app.login_from("::ffff:192.0.2.40", "GHOST1", "guess").await).await;
    }
    rate_limited(app.login_from("192.0.2.40", "GHOST1", "guess").await).await;
    invalid_credentials(app.login_from("::ffff:192.0.2.41", "GHOST1", "guess").await).await;
}

#[tokio::test]
async fn successful_sign_ins_never_count_against_anyone() {
    let app = spawn_app().await;
    app.seed_staff();
    for _ in 0..12 {
        assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    }
    for _ in 0..4 {
        invalid_credentials(app.login(STAFF_ID, "wrong").await).await;
    }
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    assert_eq!(
        app.employee(STAFF_ID).failed_login_count,
        0,
        "a success resets the count"
    );
}

#[tokio::test]
async fn an_initial_password_signs_in_to_a_setup_session_only() {
    let app = spawn_app().await;
    app.seed(Seed {
        must_change: true,
        ..Seed::default()
    });
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(tokens["scope"], "password_change");
    assert!(tokens["refreshToken"].is_null());
    assert_eq!(tokens["passwordStatus"]["mustChange"], true);
    let access = tokens["accessToken"].as_str().unwrap();
    let res = app
        .change_password(
            access,
            &serde_json::json!({ "newPassword": "Momiji-Aki-2026" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!app.employee(STAFF_ID).password_must_change);
}

#[tokio::test]
async fn suspended_accounts_cannot_sign_in() {
    let app = spawn_app().await;
    app.seed(Seed {
        status: "suspended",
        ..Seed::default()
    });
    problem(app.login(STAFF_ID, STAFF_PW).await, 403, "account_disabled").await;
    invalid_credentials(app.login(STAFF_ID, "wrong").await).await;
}

#[tokio::test]
async fn an_account_without_a_password_cannot_sign_in_with_one() {
    let app = spawn_app().await;
    app.seed(Seed {
        password: None,
        must_change: true,
        ..Seed::default()
    });
    invalid_input(app.login(STAFF_ID, "").await).await;
    invalid_credentials(app.login(STAFF_ID, "anything-at-all").await).await;
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let app = spawn_app_configured(|s| s.http.trust_proxy_headers = false).await;
    for i in 0..5 {
        invalid_credentials(
            app.login_from(&format!("10.9.9.{i}"), "GHOST1", "guess")
                .await,
        )
        .await;
    }
    // Rotating X-Forwarded-For does not make a new client: the peer address is what counts.
    rate_limited(app.login_from("10.9.9.200", "GHOST1", "guess").await).await;
}

#[tokio::test]
async fn only_the_last_forwarded_hop_counts_behind_a_proxy() {
    let app = spawn_app().await;
    for i in 0..5 {
        let res = app
            .client
            .post(app.url("/api/v2/auth/authenticate"))
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .header("x-forwarded-for", "192.0.2.33")
            .json(&serde_json::json!({ "employeeId": "GHOST2", "password": "guess" }))
            .send()
            .await
            .unwrap();
        invalid_credentials(res).await;
    }
    rate_limited(
        app.login_from("10.0.0.99, 192.0.2.33", "GHOST2", "guess")
            .await,
    )
    .await;
}
