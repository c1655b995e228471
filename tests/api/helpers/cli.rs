//! The staffgate binary, run as HR would run it: a clean environment, a database URL.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `staffgate <args>` against `db_url`, feeding `stdin` if given.
pub fn staffgate(db_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    staffgate_with(db_url, &[], args, stdin)
}

/// The same with `env` set on top of the clean environment.
pub fn staffgate_with(
    db_url: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_staffgate"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LANG", "ja_JP.UTF-8")
        .env("DATABASE_URL", db_url)
        .env("STAFFGATE_PUBLIC_URL", "https://staffgate.test")
        .env("RUST_LOG", "error")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Everything the command printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `staffgate serve` as its own process on a free local port, its log captured; killed when
/// dropped if it is still running.
pub struct Served {
    child: std::process::Child,
    pub base: String,
    log: std::path::PathBuf,
}

impl Served {
    /// Starts the server on `db_url` (already migrated) with `env` on top of a clean
    /// environment, and waits until `/readyz` answers 200.
    pub async fn start(db_url: &str, env: &[(&str, &str)]) -> Served {
        let port = super::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("staffgate-serve-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_staffgate"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db_url)
            .env("STAFFGATE_BIND", format!("127.0.0.1:{port}"))
            .env("STAFFGATE_PUBLIC_URL", &base)
            .env("STAFFGATE_ARCHIVE_SCHEDULE", "false")
            .env("STAFFGATE_ADMIN_2FA", "optional")
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut served = Served {
            child: cmd.spawn().unwrap(),
            base,
            log,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(res) = client.get(format!("{}/readyz", served.base)).send().await
                && res.status() == 200
            {
                return served;
            }
            if let Ok(Some(status)) = served.child.try_wait() {
                panic!(
                    "staffgate serve exited with {status}: {}",
                    served.log_text()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("staffgate serve did not get ready: {}", served.log_text());
    }

    /// Asks the server to stop (SIGTERM) and waits for it to exit; its whole log.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "staffgate serve exited with {status}");
        self.log_text()
    }

    /// Kills the server without warning (SIGKILL), as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
