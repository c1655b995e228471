//! A MariaDB server of one test's own (its datadir in a temporary directory, a free port on
//! 127.0.0.1), so that test may kill and restart it; the shared server is never touched.
//! Dropping it kills the server and removes the directory, also when the test fails.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, MysqlConnection};

use super::free_port;

pub struct PrivateMariaDb {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
    /// Server options on top of the defaults, kept for restarts.
    options: Vec<String>,
}

/// The first of `names` found in PATH or the sbin directories (Debian puts mariadbd there).
fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .collect::<Vec<_>>();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

impl PrivateMariaDb {
    /// Installs a fresh datadir and starts the server on it; `None` when this machine has no
    /// MariaDB server programs (the test then has nothing to run against).
    pub fn start() -> Option<PrivateMariaDb> {
        Self::start_with(&[])
    }

    /// The same with more server options, e.g. `--log-bin=binlog` (the binary log is off
    /// otherwise).
    pub fn start_with(options: &[&str]) -> Option<PrivateMariaDb> {
        let server = program(&["mariadbd", "mysqld"])?;
        let install = program(&["mariadb-install-db", "mysql_install_db"])?;
        let mut rnd = [0u8; 4];
        rand::fill(&mut rnd);
        let dir = std::env::temp_dir().join(format!(
            "staffgate-mariadb-{}-{}",
            std::process::id(),
            hex::encode(rnd)
        ));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let mut db = PrivateMariaDb {
            dir,
            port: free_port(),
            server: None,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        let installed = Command::new(install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", db.datadir().display()))
            .arg(db.tmpdir())
            .args([
                "--skip-test-db",
                "--user=root",
                "--auth-root-authentication-method=normal",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(installed.success(), "mariadb-install-db failed");
        db.server = Some(db.spawn(&server));
        db.wait_until_ready();
        Some(db)
    }

    /// The server's data directory (its binary logs, when they are on).
    pub fn datadir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A temporary directory of its own: a starting server deletes every `#sql*` file in its
    /// tmpdir, which in /tmp are the shared server's temporary tables in use.
    fn tmpdir(&self) -> String {
        format!("--tmpdir={}", self.dir.join("tmp").display())
    }

    fn spawn(&self, program: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        Command::new(program)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir().display()))
            .arg(self.tmpdir())
            .arg(format!(
                "--socket={}",
                self.dir.join("server.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("server.pid").display()
            ))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-grant-tables",
                "--innodb-buffer-pool-size=16M",
            ])
            .args(&self.options)
            .args(
                (!self.options.iter().any(|o| o.starts_with("--log-bin")))
                    .then_some("--skip-log-bin"),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// The server URL without a database name (root, no password: grant tables are off).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits (at most 30 s) until the server accepts a connection.
    fn wait_until_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && MysqlConnection::establish(&self.url()).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        panic!("the private MariaDB did not start in 30 s:\n{log}");
    }

    /// Kills the server as a crash or a power cut would (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same datadir and port, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let program = program(&["mariadbd", "mysqld"]).unwrap();
        self.server = Some(self.spawn(&program));
        self.wait_until_ready();
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
