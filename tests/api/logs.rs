//! The server's own log, as journald or Loki would receive it: one JSON object per line,
//! requests identified, and no password or token of a whole sign-in journey in it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::cli::Served;
use crate::helpers::*;

const NEW_PASSWORD: &str = "Hinode-Ward-7-2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_no_secret_of_a_whole_journey() {
    let app = spawn_app().await;
    app.seed_admin();
    app.seed_staff_without_password();
    app.passwords_set_now_by_the_database();
    let server = Served::start(
        &app.db.url,
        &[("STAFFGATE_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
    )
    .await;
    let api = |path: &str| format!("{}/api/v2/auth/{path}", server.base);
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value, bearer: Option<&str>| {
        let mut req = client.post(api(path)).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    let json_of = |res: reqwest::Response| async move {
        let status = res.status();
        let body = res.json::<Value>().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    };

    // HR signs in and issues a QR code; the nurse redeems it and chooses her password.
    let admin = json_of(
        post(
            "authenticate",
            json!({ "employeeId": ADMIN_ID, "password": ADMIN_PW }),
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    let admin_access = admin["accessToken"].as_str().unwrap().to_owned();
    let issued = json_of(
        post(
            "generate-onetime-token",
            json!({ "employeeId": STAFF_ID }),
            Some(&admin_access),
        )
        .await
        .unwrap(),
    )
    .await;
    let qr = issued["token"].as_str().unwrap().to_owned();
    let setup = json_of(
        post("verify-onetime-token", json!({ "token": qr }), None)
            .await
            .unwrap(),
    )
    .await;
    let setup_token = setup["setupToken"].as_str().unwrap().to_owned();
    let res = client
        .put(api("change-password"))
        .bearer_auth(&setup_token)
        .json(&json!({ "newPassword": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    // A wrong password, the right one, a refresh.
    let wrong = post(
        "authenticate",
        json!({ "employeeId": STAFF_ID, "password": "Wrong-Guess-12345" }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let nurse = json_of(
        post(
            "authenticate",
            json!({ "employeeId": STAFF_ID, "password": NEW_PASSWORD }),
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    let refresh = nurse["refreshToken"].as_str().unwrap().to_owned();
    let renewed = json_of(
        post("refresh", json!({ "refreshToken": refresh }), None)
            .await
            .unwrap(),
    )
    .await;
    // HR signs in to the portal too.
    let portal = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = portal
        .get(format!("{}/admin/login", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let signed_in = portal
        .post(format!("{}/admin/login", server.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("employee_id", ADMIN_ID),
            ("password", ADMIN_PW),
            ("next", "/admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    // A visitor who is not signed in is sent to the sign-in page: not an error.
    let visitor = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sent = visitor
        .get(format!("{}/admin/employees", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);

    // Idle keep-alive connections would hold the graceful shutdown.
    drop((client, portal, visitor));
    let log = server.stop();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let spans = |line: &Value| line["spans"].as_array().cloned().unwrap_or_default();
    let request_id = |line: &Value| {
        spans(line)
            .iter()
            .find_map(|s| s["request_id"].as_str().map(str::to_owned))
    };
    for line in &lines {
        if spans(line).iter().any(|s| s["name"] == "HTTP request") {
            assert!(
                request_id(line).is_some_and(|id| !id.is_empty()),
                "a request line without its id: {line}"
            );
        }
    }
    // The refused password is in the log, as a warning of that request.
    let refused = lines
        .iter()
        .find(|l| l["level"] == "WARN" && l["fields"]["status"] == 401)
        .unwrap_or_else(|| panic!("no line for the refused sign-in: {log}"));
    assert!(request_id(refused).is_some(), "{refused}");
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(
        errors.is_empty(),
        "ERROR lines in a run without faults: {errors:?}"
    );
    for secret in [
        ADMIN_PW,
        NEW_PASSWORD,
        "Wrong-Guess-12345",
        &qr,
        &setup_token,
        &admin_access,
        nurse["accessToken"].as_str().unwrap(),
        &refresh,
        renewed["refreshToken"].as_str().unwrap(),
        &csrf,
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}
