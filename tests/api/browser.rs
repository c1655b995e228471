//! Browser tests in headless Chromium, driven through chromedriver with fantoccini.
//!
//! `Browser` is the shared harness: each instance runs its own chromedriver (in its own process
//! group, so the browser goes with it) and a fresh Chromium profile in a temporary directory.
//! Binaries default to Debian's /usr/bin/chromium and /usr/bin/chromedriver; CHROMIUM_BIN and
//! CHROMEDRIVER_BIN override them.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
const DRIVER_START: Duration = Duration::from_secs(15);
/// The viewport of a common phone (CSS pixels).
pub(crate) const PHONE: (u32, u32) = (390, 844);

const SETUP_HINT: &str = "run scripts/test.sh, which installs Chromium and chromedriver \
     (or `STAFFGATE_EXTRA_PACKAGES=\"chromium chromium-driver\" scripts/setup-host.sh`), \
     or point CHROMIUM_BIN / CHROMEDRIVER_BIN at existing binaries";

fn binary(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{what} not found at {} ({var}); {SETUP_HINT}",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// A scratch directory for one browser: its profile and the chromedriver log.
fn scratch_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut rnd = [0u8; 4];
    rand::fill(&mut rnd);
    let dir = std::env::temp_dir().join(format!(
        "staffgate-browser-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        hex::encode(rnd)
    ));
    std::fs::create_dir_all(dir.join("profile")).expect("create the browser scratch directory");
    dir
}

/// A running chromedriver. Dropping it kills its whole process group (chromedriver and every
/// Chromium process it started) and removes the scratch directory.
struct Driver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Driver {
    async fn start(chromedriver: &Path, dir: PathBuf) -> Driver {
        let log_path = dir.join("chromedriver.log");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(&log_path).expect("chromedriver log file");
            let child = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {}: {e}; {SETUP_HINT}", chromedriver.display())
                });
            let mut driver = Driver {
                child,
                port,
                dir: dir.clone(),
            };
            match driver.wait_until_ready().await {
                Ok(()) => return driver,
                Err(e) => {
                    last_error = format!(
                        "{e}\n--- chromedriver log ---\n{}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    );
                    driver.stop();
                }
            }
        }
        panic!("chromedriver did not start: {last_error}");
    }

    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let status_url = format!("{}/status", self.url());
        let http = reqwest::Client::new();
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited early ({status})"));
            }
            if let Ok(res) = http.get(&status_url).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {status_url} after {DRIVER_START:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
        // Chromium's last writes may still be landing; a second try catches them.
        if std::fs::remove_dir_all(&self.dir).is_err() {
            std::thread::sleep(Duration::from_millis(200));
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Headless Chromium with a phone-sized window and a fresh profile.
pub(crate) struct Browser {
    client: Client,
    _driver: Driver,
}

impl Browser {
    /// A Japanese phone, like most of the hospital's staff carry.
    pub(crate) async fn start() -> Browser {
        Self::start_in("ja-JP").await
    }

    /// A browser whose UI language (and so `navigator.language`) is `lang`, e.g. "en-US".
    pub(crate) async fn start_in(lang: &str) -> Browser {
        let chromedriver = binary("CHROMEDRIVER_BIN", DEFAULT_CHROMEDRIVER, "chromedriver");
        let chromium = binary("CHROMIUM_BIN", DEFAULT_CHROMIUM, "Chromium");
        let _ = rustls::crypto::ring::default_provider().install_default();

        let dir = scratch_dir();
        let profile = dir.join("profile");
        let driver = Driver::start(&chromedriver, dir).await;

        let (width, height) = PHONE;
        let mut caps = fantoccini::wd::Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                    format!("--lang={lang}"),
                ],
                "prefs": {
                    "intl.accept_languages": lang,
                    "credentials_enable_service": false,
                    "profile.password_manager_enabled": false,
                },
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}; {SETUP_HINT}"));
        let browser = Browser {
            client,
            _driver: driver,
        };
        // Headless Chromium starts at least 500 px wide whatever --window-size says;
        // resizing afterwards gives the real phone width.
        browser.resize(width, height).await;
        browser
    }

    /// Ends the WebDriver session (Chromium quits), then stops chromedriver.
    pub(crate) async fn close(self) {
        let Browser { client, _driver } = self;
        let _ = client.close().await;
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub(crate) async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// Waits until an element matches `css`; on timeout the failure shows what the page shows.
    pub(crate) async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(CmdError::WaitTimeout) => {
                let page = self
                    .js(
                        "return `data-state=${document.body && document.body.dataset.state}\\n` \
                         + (document.body ? document.body.innerText : '')",
                    )
                    .await;
                panic!(
                    "nothing matched `{css}` within {WAIT:?}; the page shows:\n{}",
                    page.as_str().unwrap_or_default()
                )
            }
            Err(e) => panic!("waiting for `{css}`: {e}"),
        }
    }

    pub(crate) async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub(crate) async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .expect("element attribute")
    }

    /// Replaces the value of an input, typing it key by key like a person would.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear the input");
        input.send_keys(text).await.expect("type into the input");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }
}

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

/// An employee without a password and an admin-issued QR token for them.
async fn staff_with_token(app: &TestApp) -> (String, String) {
    app.seed(Seed {
        password: None,
        must_change: true,
        ..Seed::default()
    });
    let admin = app.admin_token().await;
    let token = app.issue_token(&admin, STAFF_ID).await;
    (admin, token)
}

#[tokio::test]
async fn staff_member_sets_a_password_from_the_qr_link_and_signs_in_with_it() {
    let app = spawn_app().await;
    let (_, token) = staff_with_token(&app).await;
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
        success.contains("パスワードを設定しました") && success.contains("次回からは社員ID"),
        "success: {success}"
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
    let (admin, first) = staff_with_token(&app).await;
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
        text.contains("すでに使用されています") && text.contains("社員IDとパスワードでサインイン"),
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
    app.seed(Seed {
        password: None,
        must_change: true,
        ..Seed::default()
    });
    let admin = app.admin_token().await;
    let res: Value = app
        .issue(&admin, STAFF_ID, json!({ "validityHours": 1 }))
        .await
        .json()
        .await
        .unwrap();
    let token = res["token"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::minutes(61));
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

#[tokio::test]
async fn the_welcome_page_follows_the_content_security_policy() {
    let app = spawn_app().await;
    let res = app.get("/welcome").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
    assert!(html.contains("<link rel=\"manifest\" href=\"/static/manifest.webmanifest\">"));
    assert!(!html.contains(" style="), "no inline style attributes");
    assert!(!html.contains("<style"), "no inline style elements");
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/static/").count(),
        "every script is a file of ours"
    );

    let manifest: Value = app
        .get("/static/manifest.webmanifest")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["name"], "staffgate 職員サインイン");
    assert_eq!(manifest["start_url"], "/welcome");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["icons"][0]["src"], "/static/img/icon.svg");
    assert_eq!(manifest["icons"][0]["sizes"], "any");
    for path in [
        "/static/js/welcome.js",
        "/static/css/staff.css",
        "/static/img/icon.svg",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(!res.bytes().await.unwrap().is_empty(), "{path} is empty");
    }
}

// ---------------------------------------------------------------------------------------
// The HR portal
// ---------------------------------------------------------------------------------------

/// Decodes the QR code in a `data:image/png;base64,...` URL.
fn decode_qr_data_url(data_url: &str) -> String {
    use base64::Engine;
    let b64 = data_url
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn an_admin_signs_in_finds_an_employee_issues_a_qr_and_unlocks_an_account() {
    let app = crate::portal::spawn_portal().await;
    app.seed_admin();
    app.seed(Seed {
        code: STAFF_ID,
        password: None,
        must_change: true,
        ..Seed::default()
    });
    app.seed(Seed {
        code: "N0002",
        name: "病棟 次郎",
        ..Seed::default()
    });
    for _ in 0..5 {
        app.login("N0002", "not-the-password").await;
    }
    assert_eq!(app.login("N0002", STAFF_PW).await.status().as_u16(), 423);

    let browser = Browser::start().await;
    browser.resize(1280, 900).await;
    browser.goto(&app.url("/admin/employees")).await;
    // Not signed in: the sign-in page, which brings the admin back where they were going.
    browser.wait_for("#employee_id").await;
    browser.fill("#employee_id", ADMIN_ID).await;
    browser.fill("#password", ADMIN_PW).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#employees").await;
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
