//! `Browser`: headless Chromium driven through chromedriver with fantoccini.
//!
//! Each instance runs its own chromedriver (in its own process group, so the browser goes
//! with it) and a fresh Chromium profile in a temporary directory.
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
use serde_json::{Value, json};

use super::app::{ADMIN_ID, ADMIN_PW, TestApp};
use super::free_port;

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
const DRIVER_START: Duration = Duration::from_secs(15);
/// The viewport of a common phone (CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

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
pub struct Browser {
    client: Client,
    _driver: Driver,
}

impl Browser {
    /// A Japanese phone, like most of the hospital's staff carry.
    pub async fn start() -> Browser {
        Self::start_in("ja-JP").await
    }

    /// A browser whose UI language (and so `navigator.language`) is `lang`, e.g. "en-US".
    pub async fn start_in(lang: &str) -> Browser {
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

    /// On a desktop-sized window, the HR administrator opens `path` of the portal, is sent to
    /// the sign-in page, signs in and is brought back to the employee list at `path`.
    pub async fn admin_signs_in_at(&self, app: &TestApp, path: &str) {
        self.resize(1280, 900).await;
        self.goto(&app.url(path)).await;
        self.wait_for("#employee_id").await;
        self.fill("#employee_id", ADMIN_ID).await;
        self.fill("#password", ADMIN_PW).await;
        self.click("form button[type=submit]").await;
        self.wait_for("#employees").await;
    }

    /// Ends the WebDriver session (Chromium quits), then stops chromedriver.
    pub async fn close(self) {
        let Browser { client, _driver } = self;
        let _ = client.close().await;
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// Waits until an element matches `css`; on timeout the failure shows what the page shows.
    pub async fn wait_for(&self, css: &str) -> Element {
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

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .expect("element attribute")
    }

    /// Replaces the value of an input, typing it key by key like a person would.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear the input");
        input.send_keys(text).await.expect("type into the input");
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }
}
