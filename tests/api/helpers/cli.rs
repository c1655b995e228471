//! The staffgate binary, run as HR would run it: a clean environment, a database URL.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `staffgate <args>` against `db_url`, feeding `stdin` if given.
pub fn staffgate(db_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
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
