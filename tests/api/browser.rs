//! In headless Chromium: staff set their password from the QR link (/welcome), and HR signs
//! in to the portal, issues a QR code and unlocks an account.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::browser::{Browser, PHONE};
use crate::helpers::qr::decode_qr_data_url;
use crate::helpers::*;

// ---------------------------------------------------------------------------------------
// The staff QR landing page (/welcome)
// ---------------------------------------------------------------------------------------

const NEW_PASSWORD: &str = "Kangoshi-2026-haru";

fn welcome_link(app: &TestApp, token: &str) -> String {
    app.url(&format!("/welcome#t={token}"))
}

async fn wait_for_state(browser: &Browser, state: &str) {
    browser
        .wait_for(&format!("body[data-state=\"{state}\"]"))
        .await;
}

/// Waits for the error panel with this reason and returns its visible text.
async fn wait_for_error(browser: &Browser, reason: &str) -> String {
    wait_for_state(browser, "error").await;
    browser
        .wait_for(&format!("#error[data-reason=\"{reason}\"]"))
        .await
        .text()
        .await
        .expect("error text")
}

async fn hint_ok(browser: &Browser, rule: &str, ok: bool) {
    browser
        .wait_for(&format!("#hint-{rule}[data-ok=\"{ok}\"]"))
        .await;
}

async fn submit_enabled(browser: &Browser) -> bool {
    browser
        .find("#submit")
        .await
        .is_enabled()
        .await
        .expect("submit state")
}

#[tokio::test]
async fn staff_member_sets_a_password_from_the_qr_link_and_signs_in_with_it() {
    let app = spawn_app_configured(|s| {
        s.staff_app.name = Some("VoiceDrive".into());
        s.staff_app.url = Some("https://voicedrive.hospital.example.jp".into());
    })
    .await;
    let (_, token) = app.new_employee_with_qr().await;
    let browser = Browser::start().await;

    browser.goto(&welcome_link(&app, &token)).await;
    wait_for_state(&browser, "form").await;

    let url = browser.current_url().await;
    assert!(
        !url.contains("#t=") && !url.contains(&token),
        "the token must leave the address bar: {url}"
    );
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("ja"));
    let greeting = browser.text("#greeting").await;
    assert!(
        greeting.contains("看護 花子さん") && greeting.contains(STAFF_ID),
        "greeting: {greeting}"
    );
    let timer = browser.text("#timer").await;
    assert!(
        timer.starts_with("15:") || timer.starts_with("14:"),
        "a 15-minute setup session: {timer}"
    );
    assert!(!submit_enabled(&browser).await, "nothing typed yet");

    // At the narrowest phone width nothing scrolls sideways.
    browser.resize(320, 640).await;
    let overflow = browser
        .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(overflow, json!(0), "horizontal scroll at 320 px");
    browser.resize(PHONE.0, PHONE.1).await;

    // Too short: the hint stays unticked and the button stays off.
    browser.fill("#new-password", "Kango1").await;
    browser.fill("#confirm-password", "Kango1").await;
    hint_ok(&browser, "length", false).await;
    hint_ok(&browser, "match", true).await;
    assert!(!submit_enabled(&browser).await, "too short must not submit");

    // Full-width characters count three bytes each: 27 characters are 81 bytes.
    browser.fill("#new-password", &"さくら".repeat(9)).await;
    hint_ok(&browser, "length", true).await;
    hint_ok(&browser, "bytes", false).await;
    hint_ok(&browser, "match", false).await;

    // The employee ID may not appear in any letter case.
    browser.fill("#new-password", "haru-n0001-kango").await;
    hint_ok(&browser, "id", false).await;
    browser.wait_for("#hint-id.is-bad").await;
    assert!(!submit_enabled(&browser).await);

    // Passes the page's rules but the server refuses it as too common: the form stays, with
    // the server's explanation.
    browser.fill("#new-password", "password123").await;
    browser.fill("#confirm-password", "password123").await;
    hint_ok(&browser, "id", true).await;
    hint_ok(&browser, "match", true).await;
    assert!(submit_enabled(&browser).await);
    browser.click("#submit").await;
    browser
        .wait_for("#status[data-code=\"password_policy\"]")
        .await;
    assert_eq!(
        browser.attr("body", "data-state").await.as_deref(),
        Some("form")
    );
    let status = browser.text("#status").await;
    assert!(status.contains("推測されやすい"), "status: {status}");
    let violations = browser
        .attr("#status", "data-violations")
        .await
        .unwrap_or_default();
    assert!(violations.contains("common_password"), "{violations}");

    browser.fill("#new-password", NEW_PASSWORD).await;
    browser.fill("#confirm-password", NEW_PASSWORD).await;
    for rule in ["length", "bytes", "id", "match"] {
        hint_ok(&browser, rule, true).await;
    }
    browser.click("#submit").await;
    wait_for_state(&browser, "success").await;
    let success = browser.text("#success").await;
    assert!(
        success.contains("パスワードを設定しました")
            && success.contains(&format!(
                "次回からは VoiceDrive に、職員番号（{STAFF_ID}）とこのパスワードでサインインできます。"
            )),
        "success: {success}"
    );
    // It names where to go next, as a link.
    assert_eq!(
        browser.attr("#success-app-link", "href").await.as_deref(),
        Some("https://voicedrive.hospital.example.jp")
    );
    assert!(!browser.current_url().await.contains(&token));
    assert_eq!(
        browser
            .js("return [localStorage.length, sessionStorage.length, document.cookie]")
            .await,
        json!([0, 0, ""]),
        "the page keeps nothing in the browser"
    );

    let res = app.login(STAFF_ID, NEW_PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "sign-in with the new password"
    );

    // The same link a second time, in the same tab.
    browser.goto(&welcome_link(&app, &token)).await;
    let text = wait_for_error(&browser, "used").await;
    assert!(
        text.contains("このQRコードはすでに使用されています"),
        "error: {text}"
    );
    assert!(!browser.current_url().await.contains(&token));

    browser.close().await;
}

#[tokio::test]
async fn used_and_replaced_links_explain_what_happened() {
    let app = spawn_app().await;
    let (admin, first) = app.new_employee_with_qr().await;
    let second = app.issue_token(&admin, STAFF_ID).await;
    let browser = Browser::start().await;

    // Reissuing revoked the first sheet.
    browser.goto(&welcome_link(&app, &first)).await;
    let text = wait_for_error(&browser, "revoked").await;
    assert!(text.contains("新しいアカウント情報シート"), "error: {text}");

    // The second one was redeemed elsewhere already.
    assert_eq!(app.verify(&second).await.status(), StatusCode::OK);
    browser.goto("about:blank").await;
    browser.goto(&welcome_link(&app, &second)).await;
    let text = wait_for_error(&browser, "used").await;
    assert!(
        text.contains("すでに使用されています")
            && text.contains("職員番号とパスワードでサインイン"),
        "error: {text}"
    );
    assert!(
        browser.attr("#retry", "hidden").await.is_some(),
        "nothing to retry"
    );

    browser.close().await;
}

#[tokio::test]
async fn an_expired_link_asks_for_a_new_sheet() {
    let app = spawn_app().await;
    let admin = app.admin_with_new_employee().await;
    let token = app.expired_qr_token(&admin, STAFF_ID).await;
    let browser = Browser::start().await;

    browser.goto(&welcome_link(&app, &token)).await;
    let text = wait_for_error(&browser, "expired").await;
    assert!(
        text.contains("有効期限が切れています") && text.contains("人事部に再発行を依頼"),
        "error: {text}"
    );

    browser.close().await;
}

#[tokio::test]
async fn english_phones_get_english_and_a_missing_token_is_explained() {
    let app = spawn_app().await;
    let browser = Browser::start_in("en-US").await;

    browser.goto(&app.url("/welcome")).await;
    let text = wait_for_error(&browser, "missing").await;
    assert!(text.contains("The QR code could not be read"), "{text}");
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("en"));
    let title = browser.client().title().await.unwrap();
    assert!(title.starts_with("Set your password"), "{title}");

    // ?lang=ja wins over the phone's language; a mangled token is caught before any request.
    browser
        .goto(&app.url("/welcome?lang=ja#t=not-a-token"))
        .await;
    let text = wait_for_error(&browser, "missing").await;
    assert!(text.contains("QRコードを読み取れませんでした"), "{text}");
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("ja"));
    let url = browser.current_url().await;
    assert!(url.ends_with("/welcome?lang=ja"), "{url}");

    browser.close().await;
}

// ---------------------------------------------------------------------------------------
// The HR portal
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_signs_in_finds_an_employee_issues_a_qr_and_unlocks_an_account() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed_staff_without_password();
    app.seed(Seed {
        code: "N0002",
        name: "病棟 次郎",
        ..Seed::default()
    });
    app.lock_out("N0002", STAFF_PW).await;

    let browser = Browser::start().await;
    // Not signed in: the sign-in page, which brings the admin back where they were going.
    browser.admin_signs_in_at(&app, "/admin/employees").await;
    assert!(browser.current_url().await.ends_with("/admin/employees"));

    // Find the employee by name and open their page.
    browser.fill("#q", "花子").await;
    browser.click("#search").await;
    browser.wait_for("input#q[value='花子']").await;
    assert!(browser.text("#result-count").await.starts_with('1'));
    browser
        .click(&format!("a[href='/admin/employees/{STAFF_ID}']"))
        .await;
    browser.wait_for("#issue-form").await;
    assert_eq!(browser.text("#employee-id").await, STAFF_ID);

    // Issue a QR code valid for 24 hours; the page shows it with its JST expiry.
    browser
        .find("#validity option[value='24']")
        .await
        .click()
        .await
        .unwrap();
    browser.click("#issue").await;
    let qr = browser.wait_for("#qr").await;
    assert!(
        browser
            .text("#expires")
            .await
            .starts_with("2026-04-02 09:00")
    );
    let url = decode_qr_data_url(&qr.attr("src").await.unwrap().unwrap());
    assert_eq!(browser.text("#login-url").await, url);
    let token = url.split("#t=").nth(1).unwrap();
    assert_eq!(app.verify(token).await.status(), StatusCode::OK);
    // Its print button opens the browser's print dialog.
    browser
        .js("window.print = () => { window.printDialogs = (window.printDialogs || 0) + 1; }")
        .await;
    browser.click("#issued-actions button[data-print]").await;
    assert_eq!(
        browser.js("return window.printDialogs").await,
        serde_json::json!(1)
    );

    // The dashboard shows one locked account; unlock it from the locked list.
    browser.goto(&app.url("/admin")).await;
    assert_eq!(browser.text("#stat-locked").await, "1");
    browser.click("a[href='/admin/locked']").await;
    browser.wait_for("#locked").await;
    browser
        .fill("#locked input[name=reason]", "本人に電話で確認")
        .await;
    browser.click("#locked input[name=confirm]").await;
    browser.click("#locked button[type=submit]").await;
    browser.wait_for("#none-locked").await;
    assert!(
        browser
            .text(".flash-ok")
            .await
            .contains("ロックを解除しました")
    );
    assert_eq!(app.login("N0002", STAFF_PW).await.status(), StatusCode::OK);

    // Signing out ends the session: the portal asks for a sign-in again.
    browser.click(".me button[type=submit]").await;
    browser.wait_for("#employee_id").await;
    browser.goto(&app.url("/admin")).await;
    browser.wait_for("#employee_id").await;
    browser.close().await;
}
