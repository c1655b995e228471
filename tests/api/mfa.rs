//! Second factors as admins and staff meet them: enrolling an authenticator app (portal, API
//! and a real browser), the second step of a sign-in, replay and drift, the second-step lock,
//! recovery codes, parallel use over two nodes, and admin acts that need a second factor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use staffgate::config::Settings;
use staffgate::config::mfa::AdminTwoFactor;
use staffgate::services::clock::Clock;
use staffgate::services::mfa::totp::{TotpSecret, step_of};
use staffgate::services::outbox::deliver_due;

use crate::helpers::browser::Browser;
use crate::helpers::qr::decode_qr_data_url;
use crate::helpers::*;

pub(crate) fn required(s: &mut Settings) {
    s.mfa.admin = AdminTwoFactor::Required;
}

/// The code an authenticator app shows `steps` time steps from the app's clock now.
pub(crate) fn code(app: &TestApp, secret: &TotpSecret, steps: i64) -> String {
    let step = step_of(app.clock.now().timestamp()) + steps;
    secret.code_at_step(step).unwrap()
}

pub(crate) fn secret_from_text(text: &str) -> TotpSecret {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    TotpSecret::from_base32(&compact).expect("a base32 key")
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

/// One text column `v` of every row `sql` selects.
pub(crate) fn strings(app: &TestApp, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    let rows: Vec<Text> = diesel::sql_query(sql).load(&mut app.db.conn()).unwrap();
    rows.into_iter().map(|r| r.v).collect()
}

/// The claims of an access token (the signature is checked by the server, not here).
fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Sets up an authenticator app for `code` over the API (signed in with `password`) and
/// returns its secret and recovery codes; the clock then moves on a minute.
pub(crate) async fn enrol_over_api(
    app: &TestApp,
    code_id: &str,
    password: &str,
) -> (TotpSecret, Vec<String>) {
    let bearer = app.access_token(code_id, password).await;
    let offer: Value = app
        .post("/api/v2/auth/mfa/totp/enroll", &json!({}), Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    let secret = secret_from_text(offer["secret"].as_str().unwrap());
    let res = app
        .post(
            "/api/v2/auth/mfa/totp/confirm",
            &json!({ "code": code(app, &secret, 0) }),
            Some(&bearer),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let codes = body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    app.clock.advance(Duration::minutes(1));
    (secret, codes)
}

/// The password step of an API sign-in for an account with a second factor: its mfaToken.
pub(crate) async fn mfa_token(app: &TestApp, code_id: &str, password: &str) -> String {
    let res = app.login(code_id, password).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "mfa_required", "{body}");
    assert!(body.get("accessToken").is_none());
    body["mfaToken"].as_str().unwrap().to_owned()
}

pub(crate) async fn second_step(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v2/auth/mfa",
        &json!({ "mfaToken": token, "code": code }),
        None,
    )
    .await
}

#[tokio::test]
async fn an_admin_enrols_at_the_portal_and_then_signs_in_with_a_code() {
    let app = spawn_portal_configured(required).await;
    app.seed_admin();
    app.seed_staff();

    // The password alone leads to enrolment, and nowhere else.
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(location(&res), "/admin/mfa/enrol");
    for elsewhere in ["/admin", "/admin/employees", &employee_page(STAFF_ID)] {
        let res = p.get(elsewhere).await;
        assert_eq!(location(&res), "/admin/mfa/enrol", "{elsewhere}");
    }
    let page = p.html("/admin/mfa/enrol").await;
    assert!(page.contains("認証アプリの設定"));
    let shown = page.split("id=\"totp-secret\">").nth(1).unwrap();
    let secret = secret_from_text(&shown[..shown.find('<').unwrap()]);
    // Reloading shows the same key: the QR scanned a moment ago stays valid.
    assert!(p.html("/admin/mfa/enrol").await.contains(&shown[..20]));

    let wrong = p
        .submit(
            "/admin/mfa/enrol",
            "/admin/mfa/enrol",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("コードが正しくありません")
    );
    assert_eq!(location(&p.get("/admin").await), "/admin/mfa/enrol");

    let done = p
        .submit(
            "/admin/mfa/enrol",
            "/admin/mfa/enrol",
            &[("code", &code(&app, &secret, 0))],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.headers()["cache-control"], "no-store");
    let codes_page = done.text().await.unwrap();
    assert_eq!(codes_page.matches("<li><code>").count(), 10);
    assert!(codes_page.contains("このコードが表示されるのは今回だけです"));
    assert!(p.shows("/admin/security", "10 / 10").await);
    assert_eq!(p.get("/admin/employees").await.status(), StatusCode::OK);
    assert!(app.has_event(ADMIN_ID, "mfa_enrolled"));

    // Next time: password, then the code. The code that confirmed enrolment is spent.
    p.sign_out().await;
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(location(&res), "/admin/mfa");
    assert_eq!(location(&p.get("/admin/employees").await), "/admin/mfa");
    assert_eq!(location(&p.get("/admin/password").await), "/admin/mfa");
    let replay = p
        .submit(
            "/admin/mfa",
            "/admin/mfa",
            &[("code", &code(&app, &secret, 0))],
        )
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("コードが正しくありません")
    );
    app.clock.advance(Duration::seconds(30));
    let ok = p
        .submit(
            "/admin/mfa",
            "/admin/mfa",
            &[("code", &code(&app, &secret, 0))],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/admin");
    assert!(p.shows("/admin/employees", "看護 花子").await);
    assert!(app.has_event(ADMIN_ID, "second_factor_ok"));

    // A recovery code works once, and the page says how many are left.
    let recovery = codes_page
        .split("<li><code>")
        .nth(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .unwrap();
    p.sign_out().await;
    let (p, _) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    let res = p
        .submit(
            "/admin/mfa",
            "/admin/mfa",
            &[("code", &recovery.to_lowercase())],
        )
        .await;
    assert_eq!(location(&res), "/admin");
    assert!(p.shows("/admin/security", "9 / 10").await);
    p.sign_out().await;
    let (p, _) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    let res = p
        .submit("/admin/mfa", "/admin/mfa", &[("code", &recovery)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a used code is refused"
    );
}

#[tokio::test]
async fn codes_one_step_away_are_accepted_and_two_steps_away_or_spent_are_not() {
    let app = spawn_app().await;
    app.seed_staff();
    let (secret, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    app.clock.advance(Duration::minutes(10));

    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    for steps in [-2, 2] {
        let res = second_step(&app, &token, &code(&app, &secret, steps)).await;
        problem(res, 401, "invalid_code").await;
    }
    let res = second_step(&app, &token, &code(&app, &secret, -1)).await;
    assert_eq!(res.status(), StatusCode::OK, "one step behind");
    let set: Value = res.json().await.unwrap();
    assert_eq!(
        claims(set["accessToken"].as_str().unwrap())["amr"],
        json!(["pwd", "otp"])
    );
    // The token is spent with its first success.
    let again = second_step(&app, &token, &code(&app, &secret, 1)).await;
    problem(again, 401, "mfa_token_invalid").await;

    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    assert_eq!(
        second_step(&app, &token, &code(&app, &secret, 1))
            .await
            .status(),
        StatusCode::OK,
        "one step ahead"
    );
    // The current step comes before the one just used: refused like a wrong code.
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    let stale = second_step(&app, &token, &code(&app, &secret, 0)).await;
    problem(stale, 401, "invalid_code").await;
    assert!(app.has_event(STAFF_ID, "second_factor_failed"));

    // The mfaToken lives five minutes.
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    app.clock.advance(Duration::minutes(6));
    let late = second_step(&app, &token, &code(&app, &secret, 0)).await;
    let body = problem(late, 401, "mfa_token_invalid").await;
    assert_eq!(body["reason"], "expired");
}

#[tokio::test]
async fn five_wrong_codes_lock_the_second_step_and_tell_hr_but_leave_the_password_alone() {
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_configured(move |s| {
        s.mail.smtp_url = Some(url);
        s.mail.from = Some("staffgate <noreply@hospital.example.jp>".into());
        s.mail.hr_email = Some("hr@hospital.example.jp".into());
    })
    .await;
    app.seed_staff();
    let (secret, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    let right = code(&app, &secret, 0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(second_step(&app, &token, wrong).await.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 423]);
    let locked = problem(second_step(&app, &token, &right).await, 423, "mfa_locked").await;
    assert!(
        locked["detail"].as_str().unwrap().contains("日本時間"),
        "{locked}"
    );

    // The password is not locked: it still leads to the second step.
    let emp = app.employee(STAFF_ID);
    assert_eq!((emp.failed_login_count, emp.locked_until), (0, None));
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    assert!(app.has_event(STAFF_ID, "second_factor_locked"));
    let mail = strings(
        &app,
        "SELECT payload AS v FROM mail_outbox WHERE template = 'account_locked'",
    );
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("\"second_step\":true"), "{}", mail[0]);

    drop(token);
    app.clock.advance(Duration::minutes(16));
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    let res = second_step(&app, &token, &code(&app, &secret, 0)).await;
    assert_eq!(res.status(), StatusCode::OK, "the lock ran out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_sent_twenty_times_over_two_nodes_signs_in_once() {
    let app = spawn_app().await;
    let other = app.another_node(|_| {}).await;
    app.seed_staff();
    let (secret, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(mfa_token(&app, STAFF_ID, STAFF_PW).await);
    }
    let sessions_before = app.count("refresh_tokens");
    let the_code = code(&app, &secret, 0);
    let answers = join_all(tokens.iter().enumerate().map(|(i, t)| {
        let node = if i % 2 == 0 { &app } else { &other };
        second_step(node, t, &the_code)
    }))
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    assert_eq!(
        app.count("refresh_tokens"),
        sessions_before + 1,
        "one session"
    );
    // A replayed right code is not a guess: nothing counts towards the lock.
    let failed = strings(
        &app,
        "SELECT CAST(failed_count AS CHAR) AS v FROM second_factors",
    );
    assert_eq!(failed, ["0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_code_signs_in_once_under_twenty_parallel_tries() {
    let app = spawn_app().await;
    let other = app.another_node(|_| {}).await;
    app.seed_staff();
    let (_, codes) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3),
        "{codes:?}"
    );
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(mfa_token(&app, STAFF_ID, STAFF_PW).await);
    }
    let answers = join_all(tokens.iter().enumerate().map(|(i, t)| {
        let node = if i % 2 == 0 { &app } else { &other };
        second_step(node, t, &codes[3])
    }))
    .await;
    let ok = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1);
    assert!(answers.iter().all(|r| r.status().as_u16() < 500));
    let bearer = {
        // The failed tries above locked the second step; after the lock another code works.
        app.clock.advance(Duration::minutes(16));
        let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
        let res = second_step(&app, &token, &codes[4]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let me: Value = app.me(&bearer).await.json().await.unwrap();
    assert_eq!(me["secondFactor"]["recoveryCodesLeft"], 8);
}

#[tokio::test]
async fn admin_acts_over_the_api_need_a_second_factor_in_the_token() {
    let app = spawn_app_configured(required).await;
    app.seed_admin();
    app.seed_staff();

    // Without a second factor, an admin's token is refused on admin endpoints.
    let set = app.tokens(ADMIN_ID, ADMIN_PW).await;
    let pwd_only = set["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(claims(&pwd_only)["amr"], json!(["pwd"]));
    problem(app.issue(&pwd_only, STAFF_ID).await, 403, "mfa_required").await;
    let unlock = app
        .unlock(
            &pwd_only,
            &json!({ "employeeId": STAFF_ID, "reason": "本人確認済み" }),
        )
        .await;
    problem(unlock, 403, "mfa_required").await;
    let me: Value = app.me(&pwd_only).await.json().await.unwrap();
    assert_eq!(me["secondFactor"]["mustEnrol"], true);

    // Enrolled over the API, the admin signs in in two steps and may act.
    let (secret, _) = enrol_over_api(&app, ADMIN_ID, ADMIN_PW).await;
    let token = mfa_token(&app, ADMIN_ID, ADMIN_PW).await;
    let set: Value = second_step(&app, &token, &code(&app, &secret, 0))
        .await
        .json()
        .await
        .unwrap();
    let strong = set["accessToken"].as_str().unwrap();
    assert_eq!(
        app.issue(strong, STAFF_ID).await.status(),
        StatusCode::CREATED
    );
    // A refreshed token keeps the second factor.
    let refreshed: Value = app
        .refresh(&set["refreshToken"])
        .await
        .json()
        .await
        .unwrap();
    let renewed = refreshed["accessToken"].as_str().unwrap();
    assert_eq!(claims(renewed)["amr"], json!(["pwd", "otp"]));
    let unlock = app
        .unlock(
            renewed,
            &json!({ "employeeId": STAFF_ID, "reason": "本人確認済み" }),
        )
        .await;
    assert_eq!(unlock.status(), StatusCode::OK);
    // Staff without a second factor sign in with the password alone, as before.
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn enrolment_over_the_api_counts_only_once_confirmed_and_removal_needs_a_code() {
    let app = spawn_app().await;
    app.seed_staff();
    let bearer = app.access_token(STAFF_ID, STAFF_PW).await;
    let res = app
        .post("/api/v2/auth/mfa/totp/enroll", &json!({}), Some(&bearer))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let offer: Value = res.json().await.unwrap();
    let uri = offer["otpauthUri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("otpauth://totp/staffgate:{STAFF_ID}?secret=")),
        "{uri}"
    );
    assert!(uri.contains("&algorithm=SHA1&digits=6&period=30"));
    assert_eq!(
        decode_qr_data_url(offer["qrCodeDataUrl"].as_str().unwrap()),
        uri
    );
    let secret = secret_from_text(offer["secret"].as_str().unwrap());

    // Not confirmed yet: the password alone still signs in.
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    let wrong = app
        .post(
            "/api/v2/auth/mfa/totp/confirm",
            &json!({ "code": "12345" }),
            Some(&bearer),
        )
        .await;
    problem(wrong, 400, "validation").await;
    let confirm = app
        .post(
            "/api/v2/auth/mfa/totp/confirm",
            &json!({ "code": code(&app, &secret, 0) }),
            Some(&bearer),
        )
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let again = app
        .post("/api/v2/auth/mfa/totp/enroll", &json!({}), Some(&bearer))
        .await;
    problem(again, 409, "mfa_already_enrolled").await;
    mfa_token(&app, STAFF_ID, STAFF_PW).await;

    // Removing needs a current code; the spent one does not do.
    let delete = |code: String| {
        app.client
            .delete(app.url("/api/v2/auth/mfa/totp"))
            .bearer_auth(&bearer)
            .json(&json!({ "code": code }))
            .send()
    };
    let spent = delete(code(&app, &secret, 0)).await.unwrap();
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::seconds(30));
    let removed = delete(code(&app, &secret, 0)).await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    assert_eq!(app.count("recovery_codes"), 0);
    assert!(app.has_event(STAFF_ID, "mfa_removed"));
}

#[tokio::test]
async fn the_database_keeps_the_authenticator_secret_sealed() {
    let app = spawn_app().await;
    app.seed_staff();
    let (secret, codes) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let rows = strings(
        &app,
        "SELECT CONCAT_WS('|', totp_sealed, totp_key_id, HEX(totp_sealed)) AS v FROM second_factors",
    );
    let hashes = strings(&app, "SELECT HEX(code_hash) AS v FROM recovery_codes");
    let all = format!("{rows:?}{hashes:?}");
    assert!(!all.contains(&secret.base32()), "secret in clear");
    for c in &codes {
        assert!(!all.contains(&c.replace('-', "")), "recovery code in clear");
    }
    assert_eq!(hashes.len(), 10);
}

#[tokio::test]
async fn an_admin_enrols_in_a_real_browser_signs_out_and_signs_in_with_a_code() {
    let app = spawn_portal_configured(required).await;
    app.seed_admin();
    let browser = Browser::start().await;
    browser.resize(1280, 900).await;
    browser.goto(&app.url("/admin/login")).await;
    browser.fill("#employee_id", ADMIN_ID).await;
    browser.fill("#password", ADMIN_PW).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#enrol-qr").await;
    let shown = browser.text("#totp-secret").await;
    let secret = secret_from_text(&shown);
    let qr = browser.attr("#enrol-qr", "src").await.unwrap();
    assert!(decode_qr_data_url(&qr).contains(&secret.base32()));
    screenshot(&browser, "19-mfa-enrol").await;
    browser.fill("#code", &code(&app, &secret, 0)).await;
    browser
        .click("form[action='/admin/mfa/enrol'] button")
        .await;
    browser.wait_for("#recovery-codes").await;
    screenshot(&browser, "20-mfa-recovery-codes").await;
    browser.click("#codes-saved").await;
    browser.wait_for("#recovery-left").await;
    browser.click("form[action='/admin/logout'] button").await;
    browser.wait_for("#signed-out").await;

    app.clock.advance(Duration::seconds(30));
    browser.fill("#employee_id", ADMIN_ID).await;
    browser.fill("#password", ADMIN_PW).await;
    browser.click("form button[type=submit]").await;
    browser
        .wait_for("input[autocomplete='one-time-code']")
        .await;
    screenshot(&browser, "21-mfa-second-step").await;
    browser.fill("#code", &code(&app, &secret, 0)).await;
    browser.click("form[action='/admin/mfa'] button").await;
    browser.wait_for(".main-nav").await;
    assert!(browser.current_url().await.ends_with("/admin"));
    browser.close().await;
}

/// Saves a screenshot under STAFFGATE_SCREENSHOTS (the README's gallery), when set.
async fn screenshot(browser: &Browser, name: &str) {
    if let Ok(dir) = std::env::var("STAFFGATE_SCREENSHOTS") {
        let png = browser.client().screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The key on one session's setup page is never shown to another session with the same
/// password: a thief who signed in first cannot read the key the owner then scans.
#[tokio::test]
async fn an_enrolment_offer_belongs_to_the_session_that_asked_for_it() {
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_portal_configured(move |s| {
        required(s);
        s.mail.smtp_url = Some(url);
        s.mail.from = Some("staffgate <noreply@hospital.example.jp>".into());
        s.mail.hr_email = Some("hr@hospital.example.jp".into());
    })
    .await;
    app.seed_admin();
    app.set_email(ADMIN_ID, "jinji.taro@hospital.example.jp");
    let key_on = |html: &str| {
        let shown = html.split("id=\"totp-secret\">").nth(1).unwrap();
        secret_from_text(&shown[..shown.find('<').unwrap()])
    };
    let (thief, _) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    let thief_page = thief.html("/admin/mfa/enrol").await;
    let thief_key = key_on(&thief_page);
    let (owner, _) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    let owner_key = key_on(&owner.html("/admin/mfa/enrol").await);
    assert_ne!(owner_key.base32(), thief_key.base32());
    // Reloading keeps each session's own key.
    assert_eq!(
        key_on(&owner.html("/admin/mfa/enrol").await).base32(),
        owner_key.base32()
    );

    // A code for a key no longer offered to this session sets nothing up.
    let csrf = csrf_in(&thief_page);
    let stale = thief
        .post(
            "/admin/mfa/enrol",
            &[("csrf", &csrf), ("code", &code(&app, &thief_key, 0))],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale.text().await.unwrap().contains("新しいQRコード"));
    let owner_key = key_on(&owner.html("/admin/mfa/enrol").await);
    let done = owner
        .submit(
            "/admin/mfa/enrol",
            "/admin/mfa/enrol",
            &[("code", &code(&app, &owner_key, 0))],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    // The other password-only session ends with the enrolment; the owner's goes on.
    assert!(location(&thief.get("/admin").await).starts_with("/admin/login"));
    assert_eq!(owner.get("/admin/employees").await.status(), StatusCode::OK);
    // The owner and HR hear of it.
    deliver_due(&app.state).await.unwrap();
    let mails = sink.wait_for(2).await;
    assert!(
        mails
            .iter()
            .all(|m| m.subject().contains("二要素認証の設定が変更されました"))
    );
}

#[tokio::test]
async fn an_old_password_only_session_cannot_change_the_password_or_the_factors() {
    let app = spawn_app().await;
    app.seed_staff();
    let old = app.tokens(STAFF_ID, STAFF_PW).await;
    let old_bearer = old["accessToken"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(1));
    let (secret, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;

    // The session opened before enrolment was ended by it, and its tokens with it.
    assert_eq!(
        app.refresh(&old["refreshToken"]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .replace_password(&old_bearer, STAFF_PW, "Another-Long-Pass-2026")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    mfa_token(&app, STAFF_ID, STAFF_PW).await;

    // A full two-factor session that is older than 15 minutes must sign in again before it
    // may change its second factors.
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    let set: Value = second_step(&app, &token, &code(&app, &secret, 0))
        .await
        .json()
        .await
        .unwrap();
    app.clock.advance(Duration::minutes(16));
    let refreshed: Value = app
        .refresh(&set["refreshToken"])
        .await
        .json()
        .await
        .unwrap();
    let bearer = refreshed["accessToken"].as_str().unwrap();
    let late = app
        .client
        .delete(app.url("/api/v2/auth/mfa/totp"))
        .bearer_auth(bearer)
        .json(&json!({ "code": code(&app, &secret, 0) }))
        .send()
        .await
        .unwrap();
    problem(late, 403, "reauthentication_required").await;
}
