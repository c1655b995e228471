//! healthz, readyz, metrics, JWKS and the OpenAPI document.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    app.seed_staff();
    let h = app.get_json("/healthz").await;
    assert_eq!(h["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    app.login(STAFF_ID, STAFF_PW).await;
    app.login(STAFF_ID, "wrong").await;
    app.assert_metrics(&[
        "staffgate_signins_total{outcome=\"ok\"} 1",
        "staffgate_signins_total{outcome=\"failed\"} 1",
        "# TYPE staffgate_hashing_queue gauge",
    ])
    .await;
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/v2/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v2/auth/generate-onetime-token",
        "/api/v2/auth/verify-onetime-token",
        "/api/v2/auth/authenticate",
        "/api/v2/auth/change-password",
        "/api/v2/auth/unlock-account",
        "/api/v2/auth/refresh",
        "/api/v2/auth/logout",
        "/api/v2/auth/me",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from openapi.json"
        );
    }
}

#[tokio::test]
async fn readiness_reports_a_dead_database_as_503_while_liveness_stays_up() {
    let db = TestDb::create();
    let mut settings = test_settings(&db);
    settings.database.url = "mysql://root@127.0.0.1:1/nothing".into();
    let pool = staffgate::db::lazy_pool(&settings.database.url, 1);
    let clock = std::sync::Arc::new(staffgate::services::clock::SystemClock);
    let state = staffgate::state::AppState::with_pool(settings, clock, pool).unwrap();
    let app = staffgate::startup::Application::build(state).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let live = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    let body = problem(ready, 503, "busy").await;
    assert!(
        body["requestId"].is_string(),
        "5xx bodies carry a request id for the logs"
    );
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("connect"),
        "no internals leak: {text}"
    );
    let scrape = client.get(format!("{base}/metrics")).send().await.unwrap();
    let m = scrape.text().await.unwrap();
    assert!(m.contains("staffgate_ready 0\n"), "{m}");
}
