//! Backups that restore: a drill (a backup taken while staff sign in, the database wiped and
//! restored, the server back on it), and every refusal of `restore` before it writes anything.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use age::secrecy::ExposeSecret;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::cli::{Served, staffgate_with, text};
use crate::helpers::tools::scratch_dir;
use crate::helpers::*;

/// Staff who sign in during the drill, all with STAFF_PW.
const SIGNING_IN: usize = 8;

/// A new age key pair: the private key in `dir/name` (mode 0600), and the public key.
fn key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    writeln!(
        file,
        "# backup key of a test\n{}",
        identity.to_string().expose_secret()
    )
    .unwrap();
    (path, identity.to_public().to_string())
}

fn backup(db: &TestDb, recipient: &str, dir: &Path) -> std::process::Output {
    staffgate_with(
        &db.url,
        &[("STAFFGATE_BACKUP_RECIPIENT", recipient)],
        &["backup", "-o", dir.to_str().unwrap()],
        None,
    )
}

fn restore(db: &TestDb, from: &Path, identity: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "restore",
        from.to_str().unwrap(),
        "--identity",
        identity.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    staffgate_with(&db.url, &[], &args, None)
}

/// The one backup in `dir`: its data file and its manifest.
fn written(dir: &Path) -> (PathBuf, Value) {
    let mut data = None;
    let mut manifest = None;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".sql.zst.age") {
            assert!(data.replace(path).is_none(), "one backup in {dir:?}");
        } else if name.ends_with(".json") {
            manifest = Some(serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap());
        } else {
            panic!("nothing else is left in the backup directory: {name}");
        }
    }
    (data.unwrap(), manifest.unwrap())
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    v: String,
}

/// A time no revocation reaches, for `fingerprint`.
const NEVER: &str = "9999-12-31 00:00:00";

/// The database server's time, to the second (the restore's clock is this machine's too).
fn utc_timestamp() -> String {
    let mut conn = MysqlConnection::establish(&server_url()).unwrap();
    let now: Line = diesel::sql_query("SELECT CAST(UTC_TIMESTAMP() AS CHAR) AS v")
        .get_result(&mut conn)
        .unwrap();
    now.v
}

/// One line per row of what a restore must bring back exactly: the employees' password hashes
/// and status, the one-time tokens' states, refresh tokens, and the login history. A one-time
/// token unused and unrevoked, or revoked at `open_since` or later (by the restore), is `open`.
fn fingerprint(
    conn: &mut MysqlConnection,
    open_since: &str,
) -> BTreeMap<&'static str, Vec<String>> {
    let onetime = format!(
        "SELECT CONCAT_WS('|', id, HEX(token_hash), COALESCE(used_at, '-'), \
         IF(used_at IS NULL AND (revoked_at IS NULL OR revoked_at >= '{open_since}'), 'open', revoked_at), \
         expires_at) AS v FROM onetime_tokens"
    );
    let queries = [
        (
            "employees",
            "SELECT CONCAT_WS('|', employee_id, COALESCE(password_hash, '-'), status, permission_level) AS v FROM employees",
        ),
        ("onetime_tokens", onetime.as_str()),
        (
            "refresh_tokens",
            "SELECT CONCAT_WS('|', id, HEX(token_hash), family, employee_ref) AS v FROM refresh_tokens",
        ),
        (
            "login_history",
            "SELECT CONCAT_WS('|', id, event, COALESCE(employee_code, '-'), COALESCE(client_ip, '-'), created_at, COALESCE(detail, '-')) AS v FROM login_history",
        ),
    ];
    queries
        .into_iter()
        .map(|(table, sql)| {
            let mut lines: Vec<String> = diesel::sql_query(sql)
                .load::<Line>(conn)
                .unwrap()
                .into_iter()
                .map(|l| l.v)
                .collect();
            lines.sort();
            (table, lines)
        })
        .collect()
}

fn count(conn: &mut MysqlConnection, table: &str) -> u64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM `{table}`"))
        .get_result::<N>(conn)
        .unwrap()
        .n as u64
}

fn table_count(db: &TestDb) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    diesel::sql_query(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .get_result::<N>(&mut conn)
    .unwrap()
    .n
}

/// Ends every connection to the database, as stopping every node does.
fn close_connections(db: &TestDb) {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = MysqlConnection::establish(&server_url()).unwrap();
    for _ in 0..100 {
        let ids: Vec<Id> = diesel::sql_query(format!(
            "SELECT CAST(ID AS SIGNED) AS id FROM information_schema.PROCESSLIST WHERE DB = '{}'",
            db.name
        ))
        .load(&mut conn)
        .unwrap();
        if ids.is_empty() {
            return;
        }
        for i in ids {
            let _ = diesel::sql_query(format!("KILL CONNECTION {}", i.id)).execute(&mut conn);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("connections to {} stay open", db.name);
}

/// The database is dropped and created again, empty: what is left after losing the data.
fn wipe(db: &TestDb) {
    wipe_on(&server_url(), db);
}

fn wipe_on(server: &str, db: &TestDb) {
    let mut conn = MysqlConnection::establish(server).unwrap();
    for sql in [
        format!("DROP DATABASE `{}`", db.name),
        format!(
            "CREATE DATABASE `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            db.name
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

/// Staff with passwords, QR tokens issued, redeemed and revoked, sign-ins and refused
/// sign-ins in the history, copied back in time 2^12 times so the dump takes a moment.
async fn hospital() -> TestApp {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    for i in 2..=SIGNING_IN {
        let code = format!("N{i:04}");
        app.seed(Seed {
            code: &code,
            ..Seed::default()
        });
    }
    for code in ["Q0001", "Q0002", "Q0003"] {
        app.seed(Seed {
            code,
            ..Seed::without_password()
        });
    }
    let redeemed = app.issue_token(&admin, "Q0001").await;
    assert_eq!(app.verify(&redeemed).await.status(), StatusCode::OK);
    app.issue_token(&admin, "Q0002").await; // revoked by the next one
    app.issue_token(&admin, "Q0002").await;
    app.issue_token(&admin, "Q0003").await;
    app.login(STAFF_ID, "not-her-password").await;
    let mut conn = app.db.conn();
    for sql in [
        // The server below reads the real clock: passwords were set "now", not in the test's spring.
        "UPDATE employees SET password_updated_at = UTC_TIMESTAMP(6)",
        "INSERT INTO login_history (event, employee_code, client_ip, user_agent, detail, created_at) \
         VALUES ('password_login_ok', 'N0002', '192.0.2.1', 'ward-tablet', '{\"note\":\"看護部 (2F); ''quoted''\"}', '2025-01-01 00:00:00')",
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
    for _ in 0..12 {
        diesel::sql_query(
            "INSERT INTO login_history (event, employee_code, client_ip, user_agent, detail, created_at) \
             SELECT event, employee_code, client_ip, user_agent, detail, created_at - INTERVAL 1 DAY FROM login_history",
        )
        .execute(&mut conn)
        .unwrap();
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_staff_sign_in_restores_everything_committed_before_it() {
    let app = hospital().await;
    let db = app.db.clone();
    let dir = scratch_dir("backup-drill");
    let (identity, recipient) = key_pair(&dir, "backup.key");
    let out = dir.join("backups");

    let server = Served::start(&db.url, &[]).await;
    let signed_in = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (base, signed_in, stop) = (server.base.clone(), signed_in.clone(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let body = json!({ "employeeId": format!("N{:04}", 1 + i % SIGNING_IN), "password": STAFF_PW });
                let res = client
                    .post(format!("{base}/api/v2/auth/authenticate"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                signed_in.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while signed_in.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let before = fingerprint(&mut db.conn(), NEVER);
    let at_start = signed_in.load(Ordering::SeqCst);
    let (backup_db, backup_out) = (db.clone(), out.clone());
    let written_backup =
        tokio::task::spawn_blocking(move || backup(&backup_db, &recipient, &backup_out))
            .await
            .unwrap();
    let during = signed_in.load(Ordering::SeqCst) - at_start;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    assert!(written_backup.status.success(), "{}", text(&written_backup));
    assert!(during > 0, "staff kept signing in while the backup ran");
    drop(server);

    let (data, manifest) = written(&out);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&data), 0o600);
    assert_eq!(manifest["schema_version"], newest_migration());
    let rows = manifest["tables"].as_object().unwrap().clone();
    assert!(rows["login_history"].as_u64().unwrap() >= 1 << 12);
    assert!(rows.contains_key("__diesel_schema_migrations"));

    wipe(&db);
    assert_eq!(table_count(&db), 0);
    let restore_started = utc_timestamp();
    let restored = restore(&db, &out, &identity, &[]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(text(&restored).contains("行数はすべてマニフェストと一致しました"));

    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    assert_eq!(
        fingerprint(&mut conn, NEVER)["onetime_tokens"]
            .iter()
            .filter(|l| l.contains("|open|"))
            .count(),
        0,
        "the restore revoked every open QR token"
    );
    // Everything else is as it was: tokens revoked by the restore count as open here.
    let after = fingerprint(&mut conn, &restore_started);
    for (table, lines) in &before {
        let back: std::collections::BTreeSet<&String> = after[table].iter().collect();
        let lost: Vec<&String> = lines.iter().filter(|l| !back.contains(l)).collect();
        assert!(
            lost.is_empty(),
            "{table}: {} rows lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(3)]
        );
    }
    for (table, n) in &rows {
        assert_eq!(count(&mut conn, table), n.as_u64().unwrap(), "{table}");
    }

    let server = Served::start(&db.url, &[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/auth/authenticate", server.base))
        .json(&json!({ "employeeId": STAFF_ID, "password": STAFF_PW }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a password from before the backup signs in"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn restore_refuses_a_damaged_file_a_wrong_key_a_newer_schema_and_a_full_database() {
    let app = spawn_app().await;
    app.seed_staff();
    let dir = scratch_dir("backup-refusals");
    let (identity, recipient) = key_pair(&dir, "backup.key");
    let (stranger, _) = key_pair(&dir, "other.key");
    let out = dir.join("backups");

    let refused = staffgate_with(
        &app.db.url,
        &[],
        &["backup", "-o", out.to_str().unwrap()],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("STAFFGATE_BACKUP_RECIPIENT"),
        "{}",
        text(&refused)
    );
    let made = backup(&app.db, &recipient, &out);
    assert!(made.status.success(), "{}", text(&made));
    let (data, manifest) = written(&out);
    let empty = TestDb::create_empty();

    // One flipped byte: refused on the checksum, before anything else.
    let tampered = dir.join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tampered.join(path.file_name().unwrap())).unwrap();
    }
    let copy = tampered.join(data.file_name().unwrap());
    let mut bytes = std::fs::read(&copy).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&copy, bytes).unwrap();
    let o = restore(&empty, &copy, &identity, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("チェックサム"), "{}", text(&o));
    assert_eq!(table_count(&empty), 0, "nothing written");

    let o = restore(&empty, &out, &stranger, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("この秘密鍵ではバックアップを復号できません"),
        "{}",
        text(&o)
    );
    assert_eq!(table_count(&empty), 0, "nothing written");

    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = restore(&empty, &out, &identity, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A backup of a schema this binary does not know (a later release's).
    let newer = dir.join("newer");
    std::fs::create_dir(&newer).unwrap();
    std::fs::copy(&data, newer.join(data.file_name().unwrap())).unwrap();
    let mut m = manifest.clone();
    m["migrations"]
        .as_array_mut()
        .unwrap()
        .push(json!("29990101000000"));
    m["schema_version"] = json!("29990101000000");
    let newer_manifest = newer.join(
        data.file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".sql.zst.age", ".json"),
    );
    std::fs::write(&newer_manifest, m.to_string()).unwrap();
    let o = restore(&empty, &newer, &identity, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("29990101000000"), "{}", text(&o));
    assert_eq!(table_count(&empty), 0, "nothing written");

    // The live database is not empty: refused, named, and left as it was.
    let o = restore(&app.db, &out, &identity, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("employees (1)"), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    app.login(STAFF_ID, STAFF_PW).await;
    let history = app.count("login_history");
    // The node (its connections) still runs: --force refuses, names them and writes nothing.
    let o = restore(&app.db, &data, &identity, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("復元先のデータベースにほかの接続があります"),
        "{}",
        text(&o)
    );
    assert_eq!(app.count("login_history"), history, "nothing written");
    close_connections(&app.db);
    let o = restore(&app.db, &data, &identity, &["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        app.count("login_history"),
        history - 1,
        "--force replaced the database with the backup"
    );

    let o = restore(&empty, &out, &identity, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let mut conn = MysqlConnection::establish(&empty.url).unwrap();
    assert_eq!(count(&mut conn, "employees"), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_tokens_alive_at_the_backup_end_with_the_restore() {
    // The nodes share the session key, so a portal cookie works on any node.
    let node = |s: &mut staffgate::config::Settings| {
        s.http.public_url = "http://127.0.0.1".into();
        s.keys.session_key = Some(vec![7u8; 64]);
    };
    let app = spawn_app_configured(node).await;
    let portal = Portal::signed_in_admin(&app).await;
    app.seed_staff();
    let staff = app.tokens(STAFF_ID, STAFF_PW).await;
    let admin = app.access_token(ADMIN_ID, ADMIN_PW).await;
    app.seed(Seed {
        code: "Q0001",
        ..Seed::without_password()
    });
    let qr = app.issue_token(&admin, "Q0001").await;
    let portal_sessions = app.count("portal_sessions");
    let app_sessions = app.count("refresh_tokens WHERE revoked_at IS NULL AND replaced_by IS NULL");
    let qr_codes = app.count("onetime_tokens WHERE used_at IS NULL AND revoked_at IS NULL");
    assert!(portal_sessions >= 1 && app_sessions >= 2 && qr_codes == 1);

    let dir = scratch_dir("backup-sessions");
    let (identity, recipient) = key_pair(&dir, "backup.key");
    let out = dir.join("backups");
    let made = backup(&app.db, &recipient, &out);
    assert!(made.status.success(), "{}", text(&made));
    // The database is lost; the backup is restored and the nodes come back on it, with the
    // same keys and clock.
    let restored = TestDb::create_empty();
    let o = restore(&restored, &out, &identity, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let back = spawn_app_with(restored, app.clock.clone(), node).await;

    let res = portal.on(&back).get("/admin").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the portal asks to sign in"
    );
    assert!(
        location(&res).starts_with("/admin/login"),
        "{}",
        location(&res)
    );
    token_invalid(back.refresh(&staff["refreshToken"]).await).await;
    let gone = token_gone(back.verify(&qr).await).await;
    assert_eq!(gone["reason"], "revoked");
    // Signing in again works as before.
    assert_eq!(
        back.login(STAFF_ID, STAFF_PW).await.status(),
        StatusCode::OK
    );
    Portal::admin_signs_in(&back).await;
    // The operator reads what ended.
    assert!(
        text(&o).contains(&format!(
            "終了させたセッション: ポータル {portal_sessions}、アプリ {app_sessions}"
        )),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!("無効にした未使用のQRコード: {qr_codes}")),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[derive(QueryableByName)]
struct MasterStatus {
    #[diesel(sql_type = Text, column_name = "File")]
    file: String,
    #[diesel(sql_type = diesel::sql_types::Unsigned<BigInt>, column_name = "Position")]
    position: u64,
}

/// The README's point-in-time recovery, on a server of the test's own with the binary log on:
/// the backup records where the log stood at its snapshot; after a restore, replaying the log
/// from there up to just before a mistake brings back what came after the backup, not the
/// mistake.
#[test]
fn binary_logs_replayed_from_the_backups_position_recover_to_a_point_in_time() {
    let mariadb =
        PrivateMariaDb::start_with(&["--log-bin=binlog", "--binlog-format=ROW", "--server-id=1"])
            .expect("MariaDB server programs (apt-get install -y mariadb-server)");
    let db = TestDb::create_on(&mariadb.url());
    let dir = scratch_dir("backup-pitr");
    let (identity, recipient) = key_pair(&dir, "backup.key");
    let out = dir.join("backups");
    let admin = |id: &str| {
        let o = staffgate_with(
            &db.url,
            &[],
            &[
                "create-admin",
                id,
                "--name",
                "人事 太郎",
                "--password-stdin",
            ],
            Some("Jinji-Admin-Pass-1"),
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    admin("HR0001");
    let made = backup(&db, &recipient, &out);
    assert!(made.status.success(), "{}", text(&made));
    let (_, manifest) = written(&out);
    let start = &manifest["binlog"];
    assert!(
        start["file"].as_str().unwrap().starts_with("binlog."),
        "{manifest}"
    );

    admin("HR0002"); // after the backup: only the binary log has it
    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    let before_mistake: MasterStatus = diesel::sql_query("SHOW MASTER STATUS")
        .get_result(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE employees SET status = 'retired'")
        .execute(&mut conn)
        .unwrap();
    drop(conn);

    wipe_on(&mariadb.url(), &db);
    let restored = restore(&db, &out, &identity, &[]);
    assert!(restored.status.success(), "{}", text(&restored));
    let first = start["file"].as_str().unwrap();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(mariadb.datadir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("binlog.0") && name.as_str() >= first && *name <= *before_mistake.file
        })
        .collect();
    logs.sort();
    let replay = format!(
        "mariadb-binlog --database={} --start-position={} --stop-position={} {} | mariadb -h 127.0.0.1 -P {} -u root {}",
        db.name,
        start["position"],
        before_mistake.position,
        logs.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        mariadb.port(),
        db.name
    );
    let o = std::process::Command::new("sh")
        .args(["-c", &replay])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    let staff: Vec<Line> = diesel::sql_query(
        "SELECT CONCAT(employee_id, ' ', status) AS v FROM employees ORDER BY employee_id",
    )
    .load(&mut conn)
    .unwrap();
    let staff: Vec<String> = staff.into_iter().map(|l| l.v).collect();
    assert_eq!(staff, ["HR0001 active", "HR0002 active"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// The version of this binary's newest migration (`2026-11-25-000009_x` -> `20261125000009`).
fn newest_migration() -> String {
    let dir = crate::helpers::tools::repo_root().join("migrations");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            let version: String = n
                .split('_')
                .next()?
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (version.len() == 14).then_some(version)
        })
        .max()
        .unwrap()
}
