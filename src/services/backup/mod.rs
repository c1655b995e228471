//! Backups that restore: `create` writes a consistent dump of the database, compressed and
//! encrypted to the configured age public key, with a manifest (schema version, row counts,
//! checksum); `restore` checks a backup against its manifest and the binary's migrations, loads
//! it into an empty database and checks every table's row count.

mod client;
mod create;
mod keys;
mod restore;
mod rows;
mod seal;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use diesel::MysqlConnection;
use serde::{Deserialize, Serialize};

pub use client::{CLIENT_TOOLS, Connection, DUMP_TOOLS, Flavor, OptionFile, Tool};
pub use create::{Created, create};
pub use keys::{keygen, read_identities};
pub use restore::{Ended, Restored, Target, restore};
pub use rows::{BinlogPosition, RowCounter};
pub use seal::{Hashing, OpenError, Sealer, open, sha256_of};

use crate::db::{self, DbError};

/// The backup file's name ends in this: what is inside, outermost layer last.
pub const DATA_SUFFIX: &str = ".sql.zst.age";
/// The manifest's name ends in this, beside the data file of the same stem.
pub const MANIFEST_SUFFIX: &str = ".json";
/// Every backup file starts with this, followed by a JST time stamp.
pub const PREFIX: &str = "staffgate-";
/// Version of the manifest's layout.
pub const MANIFEST_FORMAT: u32 = 1;

/// What a backup holds and how to check it; written beside the data file as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// The data file's name, in the manifest's directory.
    pub file: String,
    pub created_at: DateTime<Utc>,
    /// The staffgate release that wrote the backup.
    pub staffgate_version: String,
    /// `SELECT VERSION()` of the database server dumped.
    pub database_server: String,
    /// `--version` of the dump tool.
    pub dump_tool: String,
    /// The latest migration applied to the database: the schema the backup is of.
    pub schema_version: String,
    /// Every migration applied, oldest first.
    pub migrations: Vec<String>,
    /// Rows per table in the dump (tables with none included).
    pub tables: BTreeMap<String, u64>,
    /// Size of the data file.
    pub bytes: u64,
    /// SHA-256 of the data file, hex.
    pub sha256: String,
    pub compression: String,
    pub encryption: String,
    /// The age public key the data file was encrypted to; its private key opens it.
    pub recipient: String,
    /// Where the binary log stood at the dump's snapshot (MariaDB with `log_bin` on): a
    /// point-in-time recovery replays from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog: Option<BinlogPosition>,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.values().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("STAFFGATE_BACKUP_RECIPIENT is not set")]
    NoRecipient,
    #[error("DATABASE_URL cannot be used by the dump tools: {0}")]
    DatabaseUrl(String),
    #[error("none of {0} is installed")]
    ToolMissing(String),
    #[error("cannot run {0}")]
    Tool(String),
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("migrations ran while the backup was being written")]
    SchemaChanged,
    #[error("{0} exists already")]
    Exists(PathBuf),
    #[error("no backup at {0}")]
    NotFound(PathBuf),
    #[error("manifest {path}: {why}")]
    Manifest { path: PathBuf, why: String },
    #[error("checksum mismatch for {0}")]
    Checksum(PathBuf),
    #[error("identity file: {0}")]
    Identity(String),
    #[error("wrong identity")]
    WrongIdentity,
    #[error("damaged backup: {0}")]
    Damaged(String),
    #[error("backup of a newer schema: {0:?}")]
    NewerSchema(Vec<String>),
    #[error("target database is not empty: {0:?}")]
    NotEmpty(Vec<(String, u64)>),
    #[error("other connections to the target database: {0:?}")]
    InUse(Vec<String>),
    #[error("row counts differ: {0:?}")]
    Counts(Vec<(String, u64, Option<u64>)>),
}

impl From<std::io::Error> for BackupError {
    fn from(e: std::io::Error) -> Self {
        BackupError::Io(e.to_string())
    }
}

impl BackupError {
    /// Japanese, then English, for the operator. Nothing secret: no password, no key.
    pub fn message(&self) -> (String, String) {
        use BackupError as E;
        match self {
            E::NoRecipient => (
                "STAFFGATE_BACKUP_RECIPIENT（バックアップを暗号化する age 公開鍵 age1...）が設定されていません。鍵の組は `staffgate backup --keygen 鍵ファイル` で作れます。".into(),
                "STAFFGATE_BACKUP_RECIPIENT (the age public key backups are encrypted to, age1...) is not set. Make a key pair with `staffgate backup --keygen KEYFILE`.".into(),
            ),
            E::DatabaseUrl(why) => (
                format!("DATABASE_URL をダンプツールに渡せません: {why}"),
                format!("DATABASE_URL cannot be passed to the dump tools: {why}"),
            ),
            E::ToolMissing(names) => (
                format!("{names} が見つかりません。mariadb-client（または mysql-client）パッケージを入れてください。"),
                format!("{names} not found: install the mariadb-client (or mysql-client) package."),
            ),
            E::Tool(what) => (
                format!("コマンドを起動できません: {what}"),
                format!("Cannot run {what}"),
            ),
            E::ToolFailed {
                tool,
                status,
                stderr,
            } => (
                format!("{tool} が失敗しました（{status}）:\n{stderr}"),
                format!("{tool} failed ({status}):\n{stderr}"),
            ),
            E::Io(e) => (
                format!("ファイルの読み書きに失敗しました: {e}"),
                format!("File error: {e}"),
            ),
            E::Db(e) => (
                format!("データベースのエラー: {e}"),
                format!("Database error: {e}"),
            ),
            E::SchemaChanged => (
                "バックアップ中にマイグレーションが実行されました。このバックアップは保存していません。もう一度実行してください。".into(),
                "Migrations ran while the backup was being written; it was not kept. Run the backup again.".into(),
            ),
            E::Exists(p) => (
                format!("{} は既にあります。上書きはしません。", p.display()),
                format!("{} exists already; it is not overwritten.", p.display()),
            ),
            E::NotFound(p) => (
                format!("{} にバックアップ（staffgate-*.json とその暗号化ファイル）が見つかりません。", p.display()),
                format!("No backup (staffgate-*.json and its encrypted file) at {}.", p.display()),
            ),
            E::Manifest { path, why } => (
                format!("マニフェスト {} を読めません: {why}", path.display()),
                format!("Cannot read the manifest {}: {why}", path.display()),
            ),
            E::Checksum(p) => (
                format!("{} のチェックサム（SHA-256）またはサイズがマニフェストと一致しません。ファイルが壊れているか改ざんされています。何も書き込んでいません。", p.display()),
                format!("The checksum (SHA-256) or size of {} does not match the manifest: the file is damaged or was altered. Nothing was written.", p.display()),
            ),
            E::Identity(why) => (
                format!("秘密鍵ファイルを使えません: {why}"),
                format!("Cannot use the identity file: {why}"),
            ),
            E::WrongIdentity => (
                "この秘密鍵ではバックアップを復号できません（バックアップは別の公開鍵で暗号化されています）。何も書き込んでいません。".into(),
                "This identity cannot decrypt the backup (it was encrypted to another public key). Nothing was written.".into(),
            ),
            E::Damaged(why) => (
                format!("バックアップを復号・展開できません: {why}"),
                format!("The backup cannot be decrypted or decompressed: {why}"),
            ),
            E::NewerSchema(unknown) => (
                format!(
                    "このバックアップはこのバージョンより新しいスキーマのものです（このバイナリが知らないマイグレーション: {}）。バックアップを作ったリリース以降の staffgate で復元してください。",
                    unknown.join(", ")
                ),
                format!(
                    "This backup is of a newer schema than this binary (unknown migrations {}): restore it with the release that wrote it, or a later one.",
                    unknown.join(", ")
                ),
            ),
            E::NotEmpty(tables) => {
                let list = tables
                    .iter()
                    .map(|(t, n)| format!("{t} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!("復元先のデータベースは空ではありません: {list}。中身を消して置き換えるには --force を付けてください。"),
                    format!("The target database is not empty: {list}. Add --force to drop what is there and replace it."),
                )
            }
            E::InUse(others) => {
                let list = others.join(", ");
                (
                    format!("復元先のデータベースにほかの接続があります（{} 件: {list}）。動いているノードが復元したデータベースに書き込むおそれがあるため、置き換えません。すべてのノードを止めて（systemctl stop staffgate）からもう一度実行してください。何も書き込んでいません。", others.len()),
                    format!("Other connections to the target database are open ({}: {list}); a node still running would write into the restored database, so nothing is replaced. Stop every node (systemctl stop staffgate) and run the restore again. Nothing was written.", others.len()),
                )
            }
            E::Counts(diffs) => {
                let list = diffs
                    .iter()
                    .map(|(t, want, got)| match got {
                        Some(n) => format!("{t}: {n} / {want}"),
                        None => format!("{t}: - / {want}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!("復元後の行数がマニフェストと一致しません（実際 / マニフェスト）: {list}"),
                    format!("Row counts after the restore differ from the manifest (actual / manifest): {list}"),
                )
            }
        }
    }
}

/// What a backup records of the server besides the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServerState {
    /// Migrations applied to the database, oldest first.
    migrations: Vec<String>,
    version: String,
    /// The server writes a binary log.
    log_bin: bool,
}

fn server_state(conn: &mut MysqlConnection) -> Result<ServerState, DbError> {
    use diesel::RunQueryDsl;
    use diesel_migrations::MigrationHarness;
    let mut applied: Vec<String> = conn
        .applied_migrations()
        .map_err(|e| DbError::Unavailable(e.to_string()))?
        .iter()
        .map(|v| v.to_string())
        .collect();
    applied.sort();
    let (version, log_bin): (String, i32) = diesel::select((
        diesel::dsl::sql::<diesel::sql_types::Text>("VERSION()"),
        diesel::dsl::sql::<diesel::sql_types::Integer>("CAST(@@log_bin AS SIGNED)"),
    ))
    .get_result(conn)?;
    Ok(ServerState {
        migrations: applied,
        version,
        log_bin: log_bin == 1,
    })
}

/// The migration versions this binary carries.
fn known_migrations() -> Result<Vec<String>, BackupError> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::mysql::Mysql>::migrations(&db::MIGRATIONS)
        .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
        .map_err(|e| BackupError::Io(e.to_string()))
}

/// A tool running with its standard error collected (its last 4 KiB) on a thread of its own,
/// so a chatty tool can never block on a full pipe.
struct Running {
    name: String,
    child: Child,
    stderr: Option<JoinHandle<String>>,
}

const STDERR_KEPT: usize = 4096;

impl Running {
    fn spawn(
        tool: &Tool,
        mut cmd: Command,
        stdin: Stdio,
        stdout: Stdio,
    ) -> Result<Running, BackupError> {
        let name = tool
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = cmd
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BackupError::Tool(format!("{name}: {e}")))?;
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut kept: Vec<u8> = Vec::new();
                let mut buf = [0u8; 8192];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > STDERR_KEPT {
                        kept.drain(..kept.len() - STDERR_KEPT);
                    }
                }
                String::from_utf8_lossy(&kept).trim().to_owned()
            })
        });
        Ok(Running {
            name,
            child,
            stderr,
        })
    }

    /// Waits for the tool; an error unless it exited 0.
    fn wait(mut self) -> Result<(), BackupError> {
        let status = self.child.wait()?;
        let stderr = self.stderr_text();
        check_status(&self.name, status, stderr)
    }

    /// Stops the tool (something else failed) and waits for it.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.stderr_text();
    }

    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

fn check_status(tool: &str, status: ExitStatus, stderr: String) -> Result<(), BackupError> {
    if status.success() {
        Ok(())
    } else {
        Err(BackupError::ToolFailed {
            tool: tool.to_owned(),
            status: status.to_string(),
            stderr,
        })
    }
}

/// Makes `path` durable in its directory after a rename.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BackupError::Io(format!("{}: {e}", dir.display())))
}
