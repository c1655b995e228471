//! The MariaDB/MySQL command-line tools a backup runs (`mariadb-dump`, `mariadb`, or MySQL's
//! `mysqldump`, `mysql`), and how they are told where to connect: the connection details of
//! DATABASE_URL go into an option file only the current user can read, named by
//! `--defaults-extra-file`, so the password never appears in a command line (`ps`) or in the
//! environment of a process.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use percent_encoding::percent_decode_str;

use super::BackupError;

/// Where and how to connect, from a `mysql://user:pass@host:port/db?unix_socket=..` URL, read
/// the way Diesel reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub user: String,
    password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: String,
    pub socket: Option<String>,
    ssl_mode: Option<String>,
    ssl_ca: Option<String>,
    ssl_cert: Option<String>,
    ssl_key: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn from_url(database_url: &str) -> Result<Connection, BackupError> {
        let bad = |why: &str| BackupError::DatabaseUrl(why.to_owned());
        let url = url::Url::parse(database_url).map_err(|_| bad("not a URL"))?;
        if url.scheme() != "mysql" {
            return Err(bad("the scheme must be mysql://"));
        }
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("user or password is not UTF-8"))
        };
        let database = url
            .path_segments()
            .and_then(|mut segments| segments.next())
            .unwrap_or_default()
            .to_owned();
        if database.is_empty() {
            return Err(bad(
                "it names no database (mysql://user:pass@host:3306/DATABASE)",
            ));
        }
        if database.starts_with('-') {
            return Err(bad("a database name must not start with '-'"));
        }
        let mut conn = Connection {
            user: decode(url.username())?,
            password: url.password().map(decode).transpose()?,
            host: url.host().map(|h| match h {
                url::Host::Ipv6(a) => a.to_string(),
                other => other.to_string(),
            }),
            port: url.port(),
            database,
            socket: None,
            ssl_mode: None,
            ssl_ca: None,
            ssl_cert: None,
            ssl_key: None,
        };
        for (key, value) in url.query_pairs() {
            let value = Some(value.into_owned());
            match key.as_ref() {
                "unix_socket" => conn.socket = value,
                "ssl_mode" => conn.ssl_mode = value.map(|v| v.to_ascii_lowercase()),
                "ssl_ca" => conn.ssl_ca = value,
                "ssl_cert" => conn.ssl_cert = value,
                "ssl_key" => conn.ssl_key = value,
                other => return Err(bad(&format!("unknown parameter {other:?}"))),
            }
        }
        // Diesel connects through the socket when both are given, like the tools do without
        // a host.
        if conn.socket.is_some() && conn.host.as_deref() == Some("localhost") {
            conn.host = None;
        }
        Ok(conn)
    }

    /// The `[client]` option group for `flavor`'s tools.
    fn option_file(&self, flavor: Flavor) -> Result<String, BackupError> {
        let mut out = String::from("[client]\n");
        let mut set = |name: &str, value: &str| {
            out.push_str(name);
            out.push('=');
            out.push_str(&quote_option(value));
            out.push('\n');
        };
        set("user", &self.user);
        if let Some(p) = &self.password {
            set("password", p);
        }
        if let Some(h) = &self.host {
            set("host", h);
        }
        if let Some(port) = self.port {
            set("port", &port.to_string());
        }
        if let Some(s) = &self.socket {
            set("socket", s);
        }
        for (name, value) in [
            ("ssl-ca", &self.ssl_ca),
            ("ssl-cert", &self.ssl_cert),
            ("ssl-key", &self.ssl_key),
        ] {
            if let Some(v) = value {
                set(name, v);
            }
        }
        match (flavor, self.ssl_mode.as_deref()) {
            (_, None | Some("preferred")) => {}
            (Flavor::MySql, Some(mode)) => set("ssl-mode", &mode.to_ascii_uppercase()),
            (Flavor::MariaDb, Some("disabled")) => out.push_str("skip-ssl\n"),
            (Flavor::MariaDb, Some("required")) => out.push_str("ssl\n"),
            (Flavor::MariaDb, Some("verify_ca" | "verify_identity")) => {
                out.push_str("ssl\nssl-verify-server-cert\n")
            }
            (Flavor::MariaDb, Some(other)) => {
                return Err(BackupError::DatabaseUrl(format!(
                    "unknown ssl_mode {other:?}"
                )));
            }
        }
        Ok(out)
    }
}

/// A value for an option file: in double quotes, with the escapes the MariaDB and MySQL option
/// parsers undo (so `#`, quotes, backslashes and spaces in a password survive).
fn quote_option(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Which family the installed tools belong to: their TLS options differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

/// One of the command-line tools, found on PATH.
#[derive(Debug, Clone)]
pub struct Tool {
    pub path: PathBuf,
    pub flavor: Flavor,
    /// What `--version` said, for the manifest.
    pub version: String,
}

/// The dump tool: MariaDB's, or MySQL's where MariaDB's is not installed.
pub const DUMP_TOOLS: [&str; 2] = ["mariadb-dump", "mysqldump"];
/// The client that loads a dump.
pub const CLIENT_TOOLS: [&str; 2] = ["mariadb", "mysql"];

impl Tool {
    /// The first of `names` found on PATH.
    pub fn find(names: &[&str]) -> Result<Tool, BackupError> {
        let path = first_on_path(names, &std::env::var_os("PATH").unwrap_or_default())
            .ok_or_else(|| BackupError::ToolMissing(names.join(" / ")))?;
        let out = Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| BackupError::Tool(format!("{}: {e}", path.display())))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let flavor = if version.contains("MariaDB") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        Ok(Tool {
            path,
            flavor,
            version,
        })
    }

    /// The tool's command, connected through `options` (written by [`OptionFile::write`]):
    /// the option file comes first, as the tools require, and nothing secret follows.
    pub fn command(&self, options: &OptionFile, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.path);
        let mut first = OsString::from("--defaults-extra-file=");
        first.push(options.path());
        cmd.arg(first).args(args);
        cmd
    }
}

fn first_on_path(names: &[&str], path: &std::ffi::OsStr) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The connection's option file, readable only by the current user, removed when dropped. A
/// process killed before that leaves it behind: its name carries the process ID, and the next
/// `write` in the same directory removes the files of processes that are gone. (Under the
/// README's systemd unit, PrivateTmp removes them when the run ends.)
#[derive(Debug)]
pub struct OptionFile {
    path: PathBuf,
}

/// Option files are named `staffgate-db-<pid>-<24 hex digits>.cnf`.
const OPTION_FILE_PREFIX: &str = "staffgate-db-";
const OPTION_FILE_SUFFIX: &str = ".cnf";

impl OptionFile {
    /// Writes the file under `dir` (the system's temporary directory in use) with mode 0600,
    /// under a new random name that no one else can have created first.
    pub fn write(dir: &Path, conn: &Connection, flavor: Flavor) -> Result<OptionFile, BackupError> {
        let content = conn.option_file(flavor)?;
        remove_orphans(dir);
        let mut rnd = [0u8; 12];
        rand::fill(&mut rnd);
        let path = dir.join(format!(
            "{OPTION_FILE_PREFIX}{}-{}{OPTION_FILE_SUFFIX}",
            std::process::id(),
            hex::encode(rnd)
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
        let written = OptionFile { path };
        file.write_all(content.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| BackupError::Io(format!("{}: {e}", written.path.display())))?;
        Ok(written)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OptionFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the option files in `dir` whose process no longer runs (best effort: a file of
/// another user stays where the sticky bit of /tmp keeps it).
fn remove_orphans(dir: &Path) {
    // Without /proc no process can be told alive: leave every file.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(OPTION_FILE_PREFIX))
            .and_then(|n| n.strip_suffix(OPTION_FILE_SUFFIX))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, rnd)| (rnd.len() == 24).then_some(pid))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const NASTY: &str = "p@ss w#rd\"q'\\x:/?";

    fn url_with_nasty_password() -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(NASTY, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!("mysql://backup:{encoded}@db.internal:3307/staffgate")
    }

    #[test]
    fn the_url_is_read_like_diesel_reads_it() {
        let c = Connection::from_url(&url_with_nasty_password()).unwrap();
        assert_eq!(c.user, "backup");
        assert_eq!(c.password.as_deref(), Some(NASTY));
        assert_eq!(c.host.as_deref(), Some("db.internal"));
        assert_eq!(c.port, Some(3307));
        assert_eq!(c.database, "staffgate");
        assert!(
            !format!("{c:?}").contains("w#rd"),
            "Debug hides the password"
        );

        let c = Connection::from_url(
            "mysql://root@localhost/sg?unix_socket=/run/mysqld/mysqld.sock&ssl_mode=REQUIRED",
        )
        .unwrap();
        assert_eq!(c.host, None, "the socket is used, as Diesel does");
        assert_eq!(c.socket.as_deref(), Some("/run/mysqld/mysqld.sock"));

        for bad in [
            "mysql://root@127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/",
            "postgres://root@127.0.0.1/sg",
            "mysql://root@127.0.0.1/sg?database=x",
            "mysql://root@127.0.0.1/-x",
        ] {
            assert!(Connection::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn option_files_left_by_a_process_that_died_are_removed_by_the_next_one() {
        let dir = std::env::temp_dir().join(format!("sg-options-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let stale = dir.join(format!(
            "staffgate-db-{}-0123456789abcdef01234567.cnf",
            gone.id()
        ));
        let running = dir.join(format!(
            "staffgate-db-{}-0123456789abcdef01234567.cnf",
            std::process::id()
        ));
        let other = dir.join("notes.cnf");
        for f in [&stale, &running, &other] {
            std::fs::write(f, "[client]\n").unwrap();
        }
        let conn = Connection::from_url(&url_with_nasty_password()).unwrap();

        let options = OptionFile::write(&dir, &conn, Flavor::MariaDb).unwrap();

        assert!(!stale.exists(), "the dead process's password file is gone");
        assert!(
            running.exists() && other.exists(),
            "nothing else is touched"
        );
        drop(options);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_password_goes_to_a_private_option_file_never_to_the_command_line() {
        let conn = Connection::from_url(&url_with_nasty_password()).unwrap();
        let dir = std::env::temp_dir();
        let options = OptionFile::write(&dir, &conn, Flavor::MariaDb).unwrap();
        let mode = std::fs::metadata(options.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let content = std::fs::read_to_string(options.path()).unwrap();
        assert!(content.starts_with("[client]\n"), "{content}");
        assert!(
            content.contains(r#"password="p@ss w#rd\"q'\\x:/?""#),
            "{content}"
        );
        assert!(content.contains("host=\"db.internal\"\nport=\"3307\"\n"));

        let tool = Tool {
            path: "/usr/bin/mariadb-dump".into(),
            flavor: Flavor::MariaDb,
            version: String::new(),
        };
        let cmd = tool.command(&options, &["--single-transaction", "staffgate"]);
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args[0].starts_with("--defaults-extra-file="), "{args:?}");
        assert!(
            args.iter()
                .all(|a| !a.contains("w#rd") && !a.contains("p@ss"))
        );
        assert!(cmd.get_envs().next().is_none(), "no MYSQL_PWD or the like");

        let path = options.path().to_owned();
        drop(options);
        assert!(!path.exists(), "removed when done");
    }

    #[test]
    fn tls_options_follow_the_tools_flavor() {
        let conn = Connection::from_url("mysql://u:p@h/d?ssl_mode=verify_identity&ssl_ca=/ca.pem")
            .unwrap();
        let maria = conn.option_file(Flavor::MariaDb).unwrap();
        assert!(maria.contains("ssl-ca=\"/ca.pem\"\nssl\nssl-verify-server-cert\n"));
        let mysql = conn.option_file(Flavor::MySql).unwrap();
        assert!(mysql.contains("ssl-mode=\"VERIFY_IDENTITY\"\n"), "{mysql}");
    }

    #[test]
    fn mysql_tools_stand_in_when_mariadb_tools_are_missing() {
        let dir = std::env::temp_dir().join(format!("sg-tools-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mysqldump"), "").unwrap();
        let path = std::env::join_paths([dir.clone()]).unwrap();
        assert_eq!(
            first_on_path(&DUMP_TOOLS, &path),
            Some(dir.join("mysqldump"))
        );
        std::fs::write(dir.join("mariadb-dump"), "").unwrap();
        assert_eq!(
            first_on_path(&DUMP_TOOLS, &path),
            Some(dir.join("mariadb-dump"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
