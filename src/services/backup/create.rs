//! `create`: one consistent dump (`--single-transaction`), counted, compressed and encrypted on
//! its way to a private temporary file in the backup directory, renamed into place only when
//! complete; then the manifest, the same way.

use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{
    BackupError, BinlogPosition, Connection, DATA_SUFFIX, DUMP_TOOLS, Flavor, Hashing,
    MANIFEST_FORMAT, MANIFEST_SUFFIX, Manifest, OptionFile, PREFIX, RowCounter, Running, Sealer,
    Tool, server_state, sync_dir,
};
use crate::db;
use crate::services::clock::file_stamp_seconds;
use crate::state::AppState;

/// A backup written: where, what it holds, and how long the dump took.
#[derive(Debug)]
pub struct Created {
    pub data: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
    pub duration: Duration,
}

/// Writes a backup of the application's database into `dir` (created, mode 0700, if absent).
pub async fn create(state: &AppState, dir: &Path) -> Result<Created, BackupError> {
    let recipient = state
        .settings
        .backup
        .recipient
        .clone()
        .ok_or(BackupError::NoRecipient)?;
    let recipient_text = recipient.to_string();
    let conn = Connection::from_url(&state.settings.database.url)?;
    let now = state.clock.now();
    let stem = format!("{PREFIX}{}", file_stamp_seconds(now));
    let data = dir.join(format!("{stem}{DATA_SUFFIX}"));
    let manifest_path = dir.join(format!("{stem}{MANIFEST_SUFFIX}"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| BackupError::Io(format!("{}: {e}", dir.display())))?;
    for path in [&data, &manifest_path] {
        if path.exists() {
            return Err(BackupError::Exists(path.clone()));
        }
    }
    let before = db::run(&state.pool, |c| server_state(c).map_err(BackupError::from)).await?;
    let log_bin = before.log_bin;

    let started = Instant::now();
    let (dir_owned, data_owned) = (dir.to_owned(), data.clone());
    let (dumped, tool, partial) = tokio::task::spawn_blocking(move || {
        let tool = Tool::find(&DUMP_TOOLS)?;
        let mut partial = Partial::create(&dir_owned, &data_owned)?;
        let dumped = dump(&tool, &conn, &recipient, log_bin, partial.file()?)?;
        Ok::<_, BackupError>((dumped, tool, partial))
    })
    .await
    .map_err(|e| BackupError::Io(e.to_string()))??;
    let duration = started.elapsed();

    let after = db::run(&state.pool, |c| server_state(c).map_err(BackupError::from)).await?;
    if after.migrations != before.migrations {
        return Err(BackupError::SchemaChanged);
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        file: file_name(&data),
        created_at: now,
        staffgate_version: env!("CARGO_PKG_VERSION").to_owned(),
        database_server: before.version,
        dump_tool: tool.version.clone(),
        schema_version: before.migrations.last().cloned().unwrap_or_default(),
        migrations: before.migrations,
        tables: dumped.tables,
        bytes: dumped.bytes,
        sha256: dumped.sha256,
        compression: format!("zstd (level {})", super::seal::ZSTD_LEVEL),
        encryption: "age (X25519)".into(),
        recipient: recipient_text,
        binlog: dumped.binlog,
    };
    partial.persist(&data)?;
    let mut json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
    json.push(b'\n');
    let mut m = Partial::create(dir, &manifest_path)?;
    m.file()?.write_all(&json)?;
    m.persist(&manifest_path)?;
    Ok(Created {
        data,
        manifest_path,
        manifest,
        duration,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What the dump held and what was written.
struct Dumped {
    tables: std::collections::BTreeMap<String, u64>,
    binlog: Option<BinlogPosition>,
    sha256: String,
    bytes: u64,
}

/// Runs the dump tool and streams its output through the row counter, zstd and age into
/// `out`. With `log_bin`, MariaDB's dump also records its snapshot's binary log position (read
/// from the snapshot itself, without locking tables).
fn dump(
    tool: &Tool,
    conn: &Connection,
    recipient: &age::x25519::Recipient,
    log_bin: bool,
    out: &mut std::fs::File,
) -> Result<Dumped, BackupError> {
    let options = OptionFile::write(&std::env::temp_dir(), conn, tool.flavor)?;
    let mut args = vec![
        // One transaction sees one moment of every InnoDB table, without locking writers out.
        "--single-transaction",
        "--skip-lock-tables",
        "--quick",
        "--hex-blob",
        "--no-tablespaces",
        "--triggers",
        "--default-character-set=utf8mb4",
    ];
    match tool.flavor {
        Flavor::MySql => args.push("--set-gtid-purged=OFF"),
        Flavor::MariaDb if log_bin => args.push("--master-data=2"),
        Flavor::MariaDb => {}
    }
    args.push(&conn.database);
    let cmd = tool.command(&options, &args);
    let mut running = Running::spawn(tool, cmd, Stdio::null(), Stdio::piped())?;
    let Some(mut stdout) = running.child.stdout.take() else {
        running.kill();
        return Err(BackupError::Tool("no output pipe".into()));
    };
    let streamed = (|| {
        let sealer = Sealer::new(
            recipient,
            Hashing::new(BufWriter::with_capacity(1 << 20, &mut *out)),
        )?;
        let mut counter = RowCounter::new(sealer);
        std::io::copy(&mut stdout, &mut counter)?;
        let (tables, binlog, sealer) = counter.finish();
        let (sha256, bytes, buffered) = sealer.finish()?.finish();
        buffered.into_inner().map_err(|e| e.into_error())?;
        Ok::<_, std::io::Error>(Dumped {
            tables,
            binlog,
            sha256,
            bytes,
        })
    })();
    match streamed {
        Ok(result) => {
            running.wait()?;
            out.sync_all()?;
            Ok(result)
        }
        Err(e) => {
            running.kill();
            Err(BackupError::Io(e.to_string()))
        }
    }
}

/// A file being written under a temporary name beside its final one, mode 0600; removed if it
/// is dropped before `persist` renames it into place.
struct Partial {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Partial {
    fn create(dir: &Path, final_path: &Path) -> Result<Partial, BackupError> {
        let mut rnd = [0u8; 6];
        rand::fill(&mut rnd);
        let path = dir.join(format!(
            ".{}.{}.partial",
            file_name(final_path),
            hex::encode(rnd)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
        Ok(Partial {
            path,
            file: Some(file),
        })
    }

    fn file(&mut self) -> Result<&mut std::fs::File, BackupError> {
        self.file
            .as_mut()
            .ok_or_else(|| BackupError::Io("the file was closed".into()))
    }

    fn persist(mut self, final_path: &Path) -> Result<(), BackupError> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        if final_path.exists() {
            return Err(BackupError::Exists(final_path.to_owned()));
        }
        std::fs::rename(&self.path, final_path)
            .map_err(|e| BackupError::Io(format!("{}: {e}", final_path.display())))?;
        self.path = PathBuf::new();
        match final_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
            _ => sync_dir(Path::new(".")),
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
