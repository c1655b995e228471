//! Limits that must hold under parallel requests and across app instances.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_redemptions_of_one_token_succeed_exactly_once() {
    let app = spawn_app().await;
    app.seed_staff();
    let admin = app.admin_token().await;
    let token = app.issue_token(&admin, STAFF_ID).await;
    let results = join_all((0..50).map(|_| app.verify(&token))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        49,
        "{statuses:?}"
    );
    let used = app
        .events(STAFF_ID)
        .iter()
        .filter(|e| *e == "token_used")
        .count();
    assert_eq!(used, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passwords_from_one_address_admit_exactly_five() {
    let app = spawn_app().await;
    app.seed_staff();
    let results = join_all((0..20).map(|_| app.login(STAFF_ID, "wrong-password"))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [401, 423, 429].contains(s)),
        "{statuses:?}"
    );
    let emp = app.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 5);
    assert!(emp.locked_until.is_some());
    problem(app.login(STAFF_ID, STAFF_PW).await, 423, "account_locked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passwords_from_many_addresses_get_exactly_five_checks() {
    let app = spawn_app().await;
    app.seed_staff();
    let results = join_all((0..20).map(|i| {
        let ip = format!("198.51.100.{}", i + 1);
        let app = &app;
        async move { app.login_from(&ip, STAFF_ID, "wrong-password").await }
    }))
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    // Failures are reserved before bcrypt runs, so the addresses together get exactly the
    // threshold of password checks; everything after meets the lock.
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 423).count(),
        15,
        "{statuses:?}"
    );
    let emp = app.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 5);
    assert!(emp.locked_until.is_some());
    let locked_events = app
        .events(STAFF_ID)
        .iter()
        .filter(|e| *e == "locked")
        .count();
    assert_eq!(locked_events, 1, "the lock is recorded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_share_the_lockout_and_the_rate_limit() {
    let a = spawn_app().await;
    let b = spawn_app_with(a.db.clone(), a.clock.clone(), |_| {}).await;
    a.seed_staff();

    // Lockout: failures alternate between the nodes.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        problem(
            node.login_from(&format!("203.0.113.{i}"), STAFF_ID, "wrong")
                .await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    problem(
        b.login_from("203.0.113.99", STAFF_ID, STAFF_PW).await,
        423,
        "account_locked",
    )
    .await;
    problem(
        a.login_from("203.0.113.98", STAFF_ID, STAFF_PW).await,
        423,
        "account_locked",
    )
    .await;

    // Rate limit per (ID, address): unknown ID, so no lock gets in the way.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        problem(
            node.login_from("192.0.2.50", "GHOST1", "guess").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    problem(
        b.login_from("192.0.2.50", "GHOST1", "guess").await,
        429,
        "rate_limited",
    )
    .await;
    problem(
        a.login_from("192.0.2.50", "GHOST1", "guess").await,
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refreshes_of_one_token_yield_one_rotation() {
    let app = spawn_app().await;
    app.seed_staff();
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    let body = json!({ "refreshToken": refresh });
    let results = join_all((0..10).map(|_| app.post("/api/v2/auth/refresh", &body, None))).await;
    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "one rotation; the others are treated as reuse");
    let new_refresh = results
        .into_iter()
        .find(|r| r.status() == StatusCode::OK)
        .unwrap();
    let new_refresh: Value = new_refresh.json().await.unwrap();
    let again = app
        .post(
            "/api/v2/auth/refresh",
            &json!({ "refreshToken": new_refresh["refreshToken"] }),
            None,
        )
        .await;
    problem(again, 401, "token_invalid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_password_spraying_from_one_address_stops_at_the_ceiling() {
    let app = spawn_app_configured(|s| s.limits.ip_failures = 10).await;
    let results = join_all((0..30).map(|i| {
        let id = format!("SPRAY{i:02}");
        let app = &app;
        async move { app.login_from("192.0.2.77", &id, "Winter2026!").await }
    }))
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        20,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_on_an_unknown_id_are_limited_like_a_real_one() {
    let app = spawn_app().await;
    let results = join_all((0..20).map(|_| app.login_from("192.0.2.78", "GHOST7", "guess"))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_setup_session_sets_the_password_once_under_parallel_requests() {
    let app = spawn_app().await;
    let setup = app.setup_session().await;
    let results = join_all((0..10).map(|i| {
        let body = json!({ "newPassword": format!("Parallel-Pass-{i:02}x") });
        let app = &app;
        let setup = setup.clone();
        async move { app.change_password(&setup, &body).await }
    }))
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401].contains(s)),
        "{statuses:?}"
    );
    let changed = app
        .events(STAFF_ID)
        .iter()
        .filter(|e| *e == "password_changed")
        .count();
    assert_eq!(changed, 1);
}
