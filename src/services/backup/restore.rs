//! `restore`: every check that can refuse comes before the first write — the file against its
//! manifest's checksum, the identity file's permissions, the schema against the binary's
//! migrations, the target database's emptiness, the identity against the file's header and,
//! to replace what is there (`force`), that nothing else is connected to it. Then
//! the plaintext streams into the `mariadb` (or `mysql`) client, and every table's rows are
//! counted against the manifest. Last, every session and token the backup brought back is
//! ended (`end_sessions`).

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection as _, MysqlConnection, QueryableByName, RunQueryDsl};

use super::{
    BackupError, CLIENT_TOOLS, Connection, DATA_SUFFIX, MANIFEST_FORMAT, MANIFEST_SUFFIX, Manifest,
    OpenError, OptionFile, PREFIX, Running, Tool, keys, known_migrations, open, sha256_of,
};
use crate::db::DbError;
use crate::db::queries::{mfa_tokens, onetime_tokens, portal_sessions, refresh_tokens};
use crate::services::clock::Clock;

/// Where a restore goes and what it may do there.
#[derive(Debug, Clone)]
pub struct Target {
    /// The backup: a directory (its newest backup), a manifest, or a data file.
    pub from: PathBuf,
    /// The age identity file (`AGE-SECRET-KEY-1...`) that opens the backup.
    pub identity: PathBuf,
    /// Drop whatever the target database holds first.
    pub force: bool,
}

/// A restore done: what it was, what was dropped first, the rows now in each table, and the
/// binary's migrations the restored schema lacks (`staffgate migrate` applies them).
#[derive(Debug)]
pub struct Restored {
    pub data: PathBuf,
    pub manifest: Manifest,
    pub replaced: Vec<(String, u64)>,
    pub tables: BTreeMap<String, u64>,
    pub pending: Vec<String>,
    pub duration: Duration,
    pub ended: Ended,
}

/// What a restore ended of what the backup brought back: portal sessions (deleted), app
/// sessions (open refresh tokens, revoked) and QR codes (unused one-time tokens, revoked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    pub portal_sessions: usize,
    pub refresh_tokens: usize,
    pub onetime_tokens: usize,
}

/// Restores into the database at `database_url` through one connection of its own and no
/// pool, so that every other connection to the database is someone else's.
pub async fn restore(
    database_url: &str,
    clock: Arc<dyn Clock>,
    target: Target,
) -> Result<Restored, BackupError> {
    let conn = Connection::from_url(database_url)?;
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || restore_blocking(&url, &clock, &conn, &target))
        .await
        .map_err(|e| BackupError::Io(e.to_string()))?
}

fn restore_blocking(
    url: &str,
    clock: &Arc<dyn Clock>,
    conn: &Connection,
    target: &Target,
) -> Result<Restored, BackupError> {
    let (manifest_path, manifest) = locate(&target.from)?;
    let data = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&manifest.file);
    let file = std::fs::File::open(&data)
        .map_err(|e| BackupError::Io(format!("{}: {e}", data.display())))?;
    let (sha256, bytes) = sha256_of(BufReader::new(&file))?;
    if sha256 != manifest.sha256 || bytes != manifest.bytes {
        return Err(BackupError::Checksum(data));
    }
    let identities = keys::read_identities(&target.identity)?;
    let known = known_migrations()?;
    let unknown: Vec<String> = manifest
        .migrations
        .iter()
        .filter(|m| !known.contains(m))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(BackupError::NewerSchema(unknown));
    }
    let mut db = MysqlConnection::establish(url)
        .map_err(|e| BackupError::Db(DbError::Unavailable(e.to_string())))?;
    let present = contents(&mut db)?;
    if !present.is_empty() && !target.force {
        return Err(BackupError::NotEmpty(
            present.into_iter().map(|t| (t.name, t.rows)).collect(),
        ));
    }
    let tool = Tool::find(&CLIENT_TOOLS)?;
    // Reads and checks the age header: a wrong identity is refused before anything is dropped.
    let file = std::fs::File::open(&data)
        .map_err(|e| BackupError::Io(format!("{}: {e}", data.display())))?;
    let mut plaintext =
        open(&identities, BufReader::with_capacity(1 << 20, file)).map_err(|e| match e {
            OpenError::WrongIdentity => BackupError::WrongIdentity,
            OpenError::Damaged(why) => BackupError::Damaged(why),
        })?;

    // Last before the first write: a node still connected would write into the restored
    // database (or hold a lock the restore waits for).
    if target.force {
        let others = other_connections(&mut db)?;
        if !others.is_empty() {
            return Err(BackupError::InUse(others));
        }
    }

    let started = Instant::now();
    drop_all(&mut db, &present)?;
    let options = OptionFile::write(&std::env::temp_dir(), conn, tool.flavor)?;
    // --binary-mode: the dump's data is data, never a client command.
    let cmd = tool.command(&options, &["--binary-mode", &conn.database]);
    load(&tool, cmd, &mut plaintext)?;
    let duration = started.elapsed();

    let mut tables = BTreeMap::new();
    let mut differ = Vec::new();
    for (table, want) in &manifest.tables {
        let got = count(&mut db, table).ok();
        if got != Some(*want) {
            differ.push((table.clone(), *want, got));
        }
        tables.insert(table.clone(), got.unwrap_or(0));
    }
    if !differ.is_empty() {
        return Err(BackupError::Counts(differ));
    }
    let ended = end_sessions(&mut db, clock.now_naive())?;
    let pending = known
        .into_iter()
        .filter(|m| !manifest.migrations.contains(m))
        .collect();
    Ok(Restored {
        data,
        replaced: present.into_iter().map(|t| (t.name, t.rows)).collect(),
        manifest,
        tables,
        pending,
        duration,
        ended,
    })
}

/// A backup holds the sessions and tokens alive when it was taken, some ended since (signed
/// out, revoked, redeemed): none may work again after a restore. Everyone signs in again and
/// unused QR codes are issued anew.
fn end_sessions(db: &mut MysqlConnection, now: NaiveDateTime) -> Result<Ended, BackupError> {
    db.transaction(|conn| {
        Ok(Ended {
            portal_sessions: portal_sessions::delete_all(conn)?,
            refresh_tokens: refresh_tokens::revoke_all_open(conn, now)?,
            onetime_tokens: {
                // A password step half-way to its second step is a session too.
                mfa_tokens::delete_all(conn)?;
                onetime_tokens::revoke_all_unused(conn, now)?
            },
        })
    })
    .map_err(|e: diesel::result::Error| BackupError::Db(DbError::from(e)))
}

/// Streams `plaintext` into the client's standard input.
fn load(
    tool: &Tool,
    cmd: std::process::Command,
    plaintext: &mut impl Read,
) -> Result<(), BackupError> {
    let mut running = Running::spawn(tool, cmd, Stdio::piped(), Stdio::null())?;
    let Some(mut stdin) = running.child.stdin.take() else {
        running.kill();
        return Err(BackupError::Tool("no input pipe".into()));
    };
    match std::io::copy(plaintext, &mut stdin) {
        Ok(_) => {
            drop(stdin);
            running.wait()
        }
        // The client stopped reading: it failed, and says why.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            drop(stdin);
            running.wait()
        }
        // The backup could not be read to its end: stop the client before it sees the end
        // of its input, so no cut-off statement runs.
        Err(e) => {
            running.kill();
            Err(BackupError::Damaged(format!(
                "{e}; the database holds part of the backup: restore again with --force"
            )))
        }
    }
}

/// The manifest named by `from`, or the newest one in the directory `from`.
fn locate(from: &Path) -> Result<(PathBuf, Manifest), BackupError> {
    let path = if from.is_dir() {
        let newest = std::fs::read_dir(from)
            .map_err(|e| BackupError::Io(format!("{}: {e}", from.display())))?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(PREFIX) && name.ends_with(MANIFEST_SUFFIX))
            .max();
        match newest {
            Some(name) => from.join(name),
            None => return Err(BackupError::NotFound(from.to_owned())),
        }
    } else {
        let text = from.to_string_lossy();
        match text.strip_suffix(DATA_SUFFIX) {
            Some(stem) => PathBuf::from(format!("{stem}{MANIFEST_SUFFIX}")),
            None => from.to_owned(),
        }
    };
    let bad = |why: String| BackupError::Manifest {
        path: path.clone(),
        why,
    };
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BackupError::NotFound(path.clone()),
        _ => bad(e.to_string()),
    })?;
    let manifest: Manifest = serde_json::from_reader(BufReader::new(file.take(1 << 20)))
        .map_err(|e| bad(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(bad(format!("unknown format {}", manifest.format)));
    }
    if Path::new(&manifest.file)
        .file_name()
        .map(|n| n.to_string_lossy())
        != Some(manifest.file.as_str().into())
    {
        return Err(bad(format!(
            "file {:?} is not a plain file name",
            manifest.file
        )));
    }
    Ok((path, manifest))
}

struct Present {
    name: String,
    view: bool,
    rows: u64,
}

#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[derive(QueryableByName)]
struct Other {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    user: String,
    #[diesel(sql_type = Text)]
    host: String,
    #[diesel(sql_type = Text)]
    command: String,
    #[diesel(sql_type = BigInt)]
    secs: i64,
}

/// The other connections to the target database, e.g. `#12 staffgate@10.0.0.5:40022 (Sleep,
/// 3 s)`. Without the PROCESS privilege a user sees only its own connections: those of the
/// nodes, when they use the same account.
fn other_connections(db: &mut MysqlConnection) -> Result<Vec<String>, BackupError> {
    let others: Vec<Other> = diesel::sql_query(
        "SELECT CAST(ID AS SIGNED) AS id, CAST(USER AS CHAR) AS user, \
                CAST(COALESCE(HOST, '') AS CHAR) AS host, CAST(COMMAND AS CHAR) AS command, \
                CAST(TIME AS SIGNED) AS secs \
         FROM information_schema.PROCESSLIST \
         WHERE DB = DATABASE() AND ID <> CONNECTION_ID() ORDER BY ID",
    )
    .load(db)
    .map_err(DbError::from)?;
    Ok(others
        .into_iter()
        .map(|o| {
            format!(
                "#{} {}@{} ({}, {} s)",
                o.id, o.user, o.host, o.command, o.secs
            )
        })
        .collect())
}

/// Every table and view in the target database, with the rows of each table.
fn contents(db: &mut MysqlConnection) -> Result<Vec<Present>, BackupError> {
    let tables: Vec<TableRow> = diesel::sql_query(
        "SELECT CAST(table_name AS CHAR) AS name, CAST(table_type AS CHAR) AS kind \
         FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
    )
    .load(db)
    .map_err(DbError::from)?;
    tables
        .into_iter()
        .map(|t| {
            let view = t.kind == "VIEW";
            let rows = if view { 0 } else { count(db, &t.name)? };
            Ok(Present {
                name: t.name,
                view,
                rows,
            })
        })
        .collect()
}

fn count(db: &mut MysqlConnection, table: &str) -> Result<u64, BackupError> {
    let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quote_ident(table)))
        .get_result(db)
        .map_err(DbError::from)?;
    Ok(c.n.max(0) as u64)
}

/// Drops every table and view found in the target (foreign keys do not get in the way).
fn drop_all(db: &mut MysqlConnection, present: &[Present]) -> Result<(), BackupError> {
    if present.is_empty() {
        return Ok(());
    }
    let list = |view: bool| {
        present
            .iter()
            .filter(|p| p.view == view)
            .map(|p| quote_ident(&p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut statements = vec!["SET FOREIGN_KEY_CHECKS = 0".to_owned()];
    let (views, tables) = (list(true), list(false));
    if !views.is_empty() {
        statements.push(format!("DROP VIEW IF EXISTS {views}"));
    }
    if !tables.is_empty() {
        statements.push(format!("DROP TABLE IF EXISTS {tables}"));
    }
    statements.push("SET FOREIGN_KEY_CHECKS = 1".to_owned());
    for s in statements {
        diesel::sql_query(s).execute(db).map_err(DbError::from)?;
    }
    Ok(())
}
