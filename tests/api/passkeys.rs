//! Passkeys as the second factor, in headless Chromium with a WebDriver virtual authenticator
//! (W3C WebAuthn §11): an admin registers one, signs out, signs in with password + passkey;
//! removing it works, except for an admin's last factor while admin 2FA is required.
//!
//! WebAuthn needs a domain name as the relying party (browsers refuse an IP address), so these
//! tests run the portal with `STAFFGATE_PUBLIC_URL=http://localhost` and browse it there.

use std::path::PathBuf;

use fantoccini::wd::WebDriverCompatibleCommand;
use reqwest::Method;
use serde_json::json;
use staffgate::config::mfa::AdminTwoFactor;
use url::{ParseError, Url};

use crate::helpers::browser::Browser;
use crate::helpers::*;

/// §11.3 Add Virtual Authenticator: a platform authenticator with resident keys that
/// verifies its user without asking.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, ParseError> {
        let session = session.expect("a WebDriver session");
        base.join(&format!("session/{session}/webauthn/authenticator"))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (Method::POST, Some(body.to_string()))
    }
}

async fn spawn(admin_2fa: AdminTwoFactor) -> (TestApp, String) {
    let app = spawn_portal_configured(|s| {
        s.http.public_url = "http://localhost".into();
        s.mfa.admin = admin_2fa;
    })
    .await;
    app.seed(Seed::admin());
    let base = app.address.replace("127.0.0.1", "localhost");
    (app, base)
}

async fn browser_with_authenticator() -> Browser {
    let browser = Browser::start().await;
    browser.resize(1280, 900).await;
    browser
        .client()
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("add a virtual authenticator");
    browser
}

async fn password_step(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/admin/login")).await;
    browser.wait_for("#employee_id").await;
    browser.fill("#employee_id", ADMIN_ID).await;
    browser.fill("#password", ADMIN_PW).await;
    browser.click("form button[type=submit]").await;
}

async fn sign_out(browser: &Browser) {
    browser
        .click("form[action=\"/admin/logout\"] button[type=submit]")
        .await;
    browser.wait_for("#employee_id").await;
}

/// Registers a passkey with the form on the current page and waits for the codes page.
async fn register_passkey(browser: &Browser, label: &str) {
    browser
        .wait_for("#passkey-register[data-ready=\"true\"]")
        .await;
    browser.fill("#passkey-label", label).await;
    browser.click("#passkey-register-button").await;
}

/// The stored state of every portal session.
fn session_states(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use staffgate::db::schema::portal_sessions::dsl as s;
    let mut conn = app.db.conn();
    s::portal_sessions.select(s::state).load(&mut conn).unwrap()
}

fn passkey_rows(app: &TestApp) -> Vec<(String, bool)> {
    use diesel::prelude::*;
    use staffgate::db::schema::passkeys::dsl as p;
    let mut conn = app.db.conn();
    p::passkeys
        .order(p::id.asc())
        .select((p::label, p::last_used_at.is_not_null()))
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn an_admin_registers_a_passkey_signs_in_with_it_and_removes_it() {
    let (app, base) = spawn(AdminTwoFactor::Optional).await;
    let browser = browser_with_authenticator().await;

    // Signed in with a password alone (2FA optional here), the admin adds a passkey.
    password_step(&browser, &base).await;
    browser.wait_for("#stats").await;
    browser.goto(&format!("{base}/admin/security")).await;
    register_passkey(&browser, "事務室のPC").await;
    // The first second factor comes with recovery codes, shown once.
    browser.wait_for("#recovery-codes").await;
    browser.click("#codes-saved").await;
    let row = browser.wait_for("tr.passkey .passkey-label").await;
    assert_eq!(row.text().await.unwrap(), "事務室のPC");
    assert_eq!(passkey_rows(&app), vec![("事務室のPC".to_owned(), false)]);
    assert!(app.has_event(ADMIN_ID, "passkey_added"));
    if let Ok(dir) = std::env::var("STAFFGATE_SCREENSHOTS")
        && !dir.is_empty()
    {
        let png = browser.client().screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join("22-security-passkey.png"), png).unwrap();
    }

    // Next time the password is followed by the passkey.
    sign_out(&browser).await;
    password_step(&browser, &base).await;
    browser
        .wait_for("#passkey-signin[data-ready=\"true\"]")
        .await;
    assert!(browser.current_url().await.ends_with("/admin/mfa"));
    browser.click("#passkey-signin-button").await;
    browser.wait_for("#stats").await;
    assert_eq!(
        passkey_rows(&app),
        vec![("事務室のPC".to_owned(), true)],
        "the use is stored"
    );
    assert_eq!(app.event_count(ADMIN_ID, "second_factor_ok"), 1);
    let states = session_states(&app);
    assert!(
        states.iter().any(|s| s.contains("pwd,hwk")),
        "the session records the passkey (hwk): {states:?}"
    );
    assert!(
        states.iter().all(|s| !s.contains("passkey_auth")),
        "the answered challenge left the session"
    );

    // Someone with the password but not the passkey: a forged answer counts as a wrong try.
    let (intruder, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(location(&res), "/admin/mfa");
    let res = options(&intruder, "/admin/mfa", "/admin/mfa/passkey/options").await;
    let offer: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        offer["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let forged = json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key", "extensions": {},
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": null},
    });
    let res = intruder
        .submit(
            "/admin/mfa",
            "/admin/mfa/passkey",
            &[("credential", &forged.to_string())],
        )
        .await;
    assert_ne!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "not signed in"
    );
    assert_eq!(app.event_count(ADMIN_ID, "second_factor_failed"), 1);
    assert!(
        intruder
            .get("/admin/employees")
            .await
            .status()
            .is_redirection()
    );

    // Removing it: the passkey and, with no factor left, the recovery codes go.
    browser.goto(&format!("{base}/admin/security")).await;
    browser.click("tr.passkey button.danger").await;
    browser.wait_for(".flash.flash-ok").await;
    assert!(
        browser
            .client()
            .find(fantoccini::Locator::Css("tr.passkey"))
            .await
            .is_err(),
        "no passkey listed after removal"
    );
    assert!(passkey_rows(&app).is_empty());
    assert_eq!(app.count("recovery_codes"), 0);
    assert!(app.has_event(ADMIN_ID, "passkey_removed"));
    browser.close().await;
}

#[tokio::test]
async fn an_admin_who_must_enrol_may_register_a_passkey_and_cannot_remove_the_last_one() {
    let (app, base) = spawn(AdminTwoFactor::Required).await;
    let browser = browser_with_authenticator().await;

    // The password step leads to the owed enrolment, where a passkey may replace the app.
    password_step(&browser, &base).await;
    browser.wait_for("#passkey-instead").await;
    assert!(browser.current_url().await.ends_with("/admin/mfa/enrol"));
    register_passkey(&browser, "").await;
    browser.wait_for("#recovery-codes").await;
    browser.click("#codes-saved").await;
    browser.wait_for("tr.passkey").await;
    assert_eq!(passkey_rows(&app), vec![("パスキー".to_owned(), false)]);

    sign_out(&browser).await;
    password_step(&browser, &base).await;
    browser
        .wait_for("#passkey-signin[data-ready=\"true\"]")
        .await;
    browser.click("#passkey-signin-button").await;
    // The admin pages need a second factor while it is required: the session has one (hwk).
    browser.wait_for("#stats").await;
    browser.goto(&format!("{base}/admin/employees")).await;
    browser.wait_for("#employees").await;

    // The only second factor of an admin stays.
    browser.goto(&format!("{base}/admin/security")).await;
    browser.click("tr.passkey button.danger").await;
    let refusal = browser
        .wait_for(".flash.flash-error:not(#passkey-error)")
        .await;
    assert!(!refusal.text().await.unwrap().is_empty());
    assert_eq!(passkey_rows(&app).len(), 1);
    assert!(!app.has_event(ADMIN_ID, "passkey_removed"));
    browser.close().await;
}

/// What the page script does first: asks for options with the CSRF token of `page`.
async fn options(portal: &Portal, page: &str, path: &str) -> reqwest::Response {
    let csrf = csrf_in(&portal.html(page).await);
    portal
        .client
        .post(format!("{}{path}", portal.base))
        .header("X-Forwarded-For", PORTAL_IP)
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_options_name_this_deployment_and_a_made_up_answer_is_refused_once() {
    let (app, _) = spawn(AdminTwoFactor::Optional).await;
    let portal = Portal::admin_signs_in(&app).await;

    // Options for signing in with a passkey belong to the second step only.
    let res = options(&portal, "/admin/security", "/admin/mfa/passkey/options").await;
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);

    // From the security page, registration options name this deployment and this admin.
    let res = options(&portal, "/admin/security", "/admin/passkeys/options").await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let offer: serde_json::Value = res.json().await.unwrap();
    assert_eq!(offer["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(offer["publicKey"]["user"]["name"], ADMIN_ID);

    // A made-up answer is refused and nothing is stored; the kept challenge is spent with it.
    let answer = [("label", "x"), ("credential", "{}")];
    let res = portal
        .submit("/admin/security", "/admin/passkeys", &answer)
        .await;
    assert_eq!(location(&res), "/admin/security");
    assert_eq!(app.count("passkeys"), 0);
    assert!(
        portal
            .shows("/admin/security", "パスキーの応答を読み取れませんでした")
            .await
    );
    let res = portal
        .submit("/admin/security", "/admin/passkeys", &answer)
        .await;
    assert_eq!(location(&res), "/admin/security");
    assert!(
        portal
            .shows("/admin/security", "登録の有効期限が切れました")
            .await
    );
}

#[tokio::test]
async fn the_portal_on_an_ip_address_answers_that_passkeys_are_unavailable() {
    let app = spawn_portal().await;
    app.seed(Seed::admin());
    let portal = Portal::admin_signs_in(&app).await;
    let res = options(&portal, "/admin/security", "/admin/passkeys/options").await;
    assert_eq!(res.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}
