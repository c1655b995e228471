//! The staffgate binary itself: check, import-employees, issue-token, unlock, create-admin.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::cli::{staffgate, text};
use crate::helpers::*;

#[test]
fn check_in_production_lists_every_problem_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_staffgate"))
        .arg("check")
        .env_clear()
        .env("STAFFGATE_ENV", "production")
        .env("DATABASE_URL", "mysql://root@127.0.0.1:1/none")
        .env("STAFFGATE_SHEET_FONT", "/nonexistent/font.ttf")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    for needle in [
        "STAFFGATE_JWT_KEY",
        "STAFFGATE_SESSION_KEY",
        "STAFFGATE_CORS_ORIGINS",
        "STAFFGATE_PUBLIC_URL",
        "cannot connect",
        "STAFFGATE_SHEET_FONT",
    ] {
        assert!(t.contains(needle), "{needle} not reported:\n{t}");
    }
    assert!(!t.contains("root@127.0.0.1:1/none\n") || !t.contains("password"));
}

#[tokio::test]
async fn import_issue_token_and_unlock_from_the_command_line() {
    let app = spawn_app().await;
    let url = app.db.url.clone();
    let dir = std::env::temp_dir().join(format!("sg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "employee_id,name,name_kana,department,email,permission_level\nN1,,,,,1.0\n",
    )
    .unwrap();
    let out = staffgate(&url, &["import-employees", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("2行目 [name]"), "{}", text(&out));
    assert_eq!(app.count("employees"), 0);

    let good = dir.join("good.csv");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("employee_id,name,name_kana,department,email,permission_level\nN0001,看護 花子,カンゴ ハナコ,看護部,,1.0\n");
    std::fs::write(&good, &sjis).unwrap();
    let out = staffgate(&url, &["import-employees", good.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(app.employee("N0001").name, "看護 花子");

    let out = staffgate(
        &url,
        &["issue-token", "N0001", "--validity-hours", "48"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    let token = t
        .split("#t=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);

    let out = staffgate(
        &url,
        &["issue-token", "N0001", "--validity-hours", "200"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("1〜168"));

    let out = staffgate(
        &url,
        &[
            "create-admin",
            "HR0001",
            "--name",
            "人事 太郎",
            "--password-stdin",
        ],
        Some("Jinji-Admin-Pass-1"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(app.login(ADMIN_ID, ADMIN_PW).await.status(), StatusCode::OK);

    for _ in 0..5 {
        app.login_from("203.0.113.5", ADMIN_ID, "wrong").await;
    }
    account_locked(app.login(ADMIN_ID, ADMIN_PW).await).await;
    let out = staffgate(
        &url,
        &["unlock", ADMIN_ID, "--reason", "電話で本人確認"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(app.login(ADMIN_ID, ADMIN_PW).await.status(), StatusCode::OK);
    std::fs::remove_dir_all(&dir).ok();
}

/// Every migration's down runs, the schema comes back with `migrate`, and `migrate --plan`
/// lists what would run without changing anything.
#[test]
fn every_migration_goes_down_and_up_and_the_plan_changes_nothing() {
    use diesel::migration::MigrationSource;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Bigint)]
        n: i64,
    }
    let db = TestDb::create();
    let tables = |conn: &mut MysqlConnection| {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '__diesel_schema_migrations'",
        )
        .get_result::<Count>(conn)
        .unwrap()
        .n
    };
    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    let all: Vec<String> =
        MigrationSource::<diesel::mysql::Mysql>::migrations(&staffgate::db::MIGRATIONS)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
    assert!(tables(&mut conn) > 5);

    let reverted = conn
        .revert_all_migrations(staffgate::db::MIGRATIONS)
        .unwrap();
    assert_eq!(reverted.len(), all.len());
    assert_eq!(tables(&mut conn), 0, "every down removes what its up made");

    let plan = staffgate(&db.url, &["migrate", "--plan"], None);
    assert!(plan.status.success(), "{}", text(&plan));
    let listed = text(&plan);
    assert!(
        listed.contains(&format!("{} migration(s) would run", all.len())),
        "{listed}"
    );
    for name in &all {
        assert!(
            listed.contains(name.as_str()),
            "{name} in the plan: {listed}"
        );
    }
    assert_eq!(tables(&mut conn), 0, "the plan changed nothing");

    let applied = staffgate(&db.url, &["migrate"], None);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(tables(&mut conn) > 5);
    let again = staffgate(&db.url, &["migrate", "--plan"], None);
    assert!(
        text(&again).contains("schema is up to date"),
        "{}",
        text(&again)
    );
}

/// A rolled-back binary refuses a database a newer release migrated, and a new binary
/// refuses a database not yet migrated: a clear message and exit 1, never a half-working
/// server.
#[test]
fn serve_refuses_a_schema_newer_or_older_than_the_binary() {
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;

    let db = TestDb::create();
    let serve = |db_url: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_staffgate"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db_url)
            .env("STAFFGATE_BIND", "127.0.0.1:0")
            .env("STAFFGATE_ARCHIVE_SCHEDULE", "false")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap();
        panic!("staffgate serve kept running on a mismatched schema");
    };
    let mut conn = MysqlConnection::establish(&db.url).unwrap();

    // A newer release applied a migration this binary does not have.
    diesel::sql_query(
        "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('29991231000000', NOW())",
    )
    .execute(&mut conn)
    .unwrap();
    let newer = serve(&db.url);
    assert_eq!(newer.status.code(), Some(1), "{}", text(&newer));
    assert!(
        text(&newer).contains("newer than this binary") && text(&newer).contains("29991231000000"),
        "{}",
        text(&newer)
    );
    let check = staffgate(&db.url, &["check"], None);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        text(&check).contains("newer than this binary"),
        "{}",
        text(&check)
    );

    // The previous release's schema: this binary's newest migration not applied yet.
    diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '29991231000000'")
        .execute(&mut conn)
        .unwrap();
    conn.revert_last_migration(staffgate::db::MIGRATIONS)
        .unwrap();
    let older = serve(&db.url);
    assert_eq!(older.status.code(), Some(1), "{}", text(&older));
    assert!(
        text(&older).contains("staffgate migrate"),
        "{}",
        text(&older)
    );
}
