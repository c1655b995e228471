//! Login-history archival against the real database: dry run, exact moves, a crash between
//! batches, one run at a time, sign-ins during a batch, the monthly schedule, the portal
//! and the CLI.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Datetime};
use reqwest::StatusCode;
use staffgate::db::queries::archive as q;
use staffgate::services::archive::{self, ArchiveError, Finish, Plan, RunBy, Trigger};
use staffgate::services::clock::Clock;
use staffgate::state::AppState;

use crate::helpers::cli::{staffgate, text};
use crate::helpers::*;

/// 0..10,000 without MariaDB-only tables (works on MySQL 8 too).
const NUMBERS: &str = "(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM \
    (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a \
    CROSS JOIN (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b \
    CROSS JOIN (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c \
    CROSS JOIN (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e) nums";

/// `count` history rows, one a minute going back from `newest`.
fn seed_history(conn: &mut MysqlConnection, count: i64, newest: NaiveDateTime) {
    diesel::sql_query(format!(
        "INSERT INTO login_history (event, employee_ref, employee_code, actor_ref, client_ip, \
                                    user_agent, detail, created_at) \
         SELECT ELT(1 + n % 3, 'password_login_ok', 'refresh', 'password_login_failed'), NULL, \
                CONCAT('N', LPAD(n % 50, 4, '0')), NULL, CONCAT('10.0.0.', n % 250), \
                'Mozilla/5.0 (iPhone)', CONCAT('{{\"n\":', n, '}}'), ? - INTERVAL n MINUTE \
         FROM {NUMBERS} WHERE n < ?"
    ))
    .bind::<Datetime, _>(newest)
    .bind::<Bigint, _>(count)
    .execute(conn)
    .unwrap();
}

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Sum {
    #[diesel(sql_type = Bigint)]
    rows: i64,
    #[diesel(sql_type = Bigint)]
    ids: i64,
    #[diesel(sql_type = Bigint)]
    content: i64,
}

/// Count, sum of ids and a checksum of every row's content over both tables together.
fn checksum(conn: &mut MysqlConnection) -> Sum {
    diesel::sql_query(
        "SELECT COUNT(*) AS `rows`, CAST(COALESCE(SUM(id), 0) AS SIGNED) AS ids, \
                CAST(COALESCE(SUM(CRC32(CONCAT_WS('|', id, event, employee_code, client_ip, \
                     user_agent, detail, created_at))), 0) AS SIGNED) AS content \
         FROM (SELECT id, event, employee_code, client_ip, user_agent, detail, created_at \
                 FROM login_history \
               UNION ALL \
               SELECT id, event, employee_code, client_ip, user_agent, detail, created_at \
                 FROM login_history_archive) t",
    )
    .get_result(conn)
    .unwrap()
}

fn scalar(conn: &mut MysqlConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = Bigint)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

/// No id in both tables, nothing young in the archive, nothing old left in the history.
fn assert_split_at(conn: &mut MysqlConnection, cutoff: NaiveDateTime) {
    assert_eq!(
        scalar(
            conn,
            "SELECT COUNT(*) AS n FROM login_history h JOIN login_history_archive a ON a.id = h.id"
        ),
        0,
        "a row is in both tables"
    );
    let at = cutoff.format("%Y-%m-%d %H:%M:%S%.6f");
    assert_eq!(
        scalar(
            conn,
            &format!("SELECT COUNT(*) AS n FROM login_history WHERE created_at < '{at}'")
        ),
        0,
        "old rows left behind"
    );
    assert_eq!(
        scalar(
            conn,
            &format!("SELECT COUNT(*) AS n FROM login_history_archive WHERE created_at >= '{at}'")
        ),
        0,
        "young rows archived"
    );
}

/// Every row is still there exactly once, unchanged, on the right side of the cutoff.
fn assert_moved_intact(app: &TestApp, before: &Sum, cutoff: NaiveDateTime) {
    let mut conn = app.db.conn();
    assert_eq!(
        &checksum(&mut conn),
        before,
        "a row was lost, duplicated or changed"
    );
    assert_split_at(&mut conn, cutoff);
}

fn by_cli() -> RunBy {
    RunBy {
        trigger: Trigger::Cli,
        actor_ref: None,
        label: "cli".into(),
    }
}

/// Recent rows first (low ids), then old ones, then recent again: ids are not in time order.
fn seed_mixed(app: &TestApp, old: i64) -> NaiveDateTime {
    let now = app.clock.now_naive();
    let mut conn = app.db.conn();
    seed_history(&mut conn, 300, now - Duration::days(1));
    seed_history(&mut conn, old, now - Duration::days(1200));
    seed_history(&mut conn, 200, now - Duration::days(30));
    now - Duration::days(1095)
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_a_run_moves_exactly_the_old_rows_once() {
    let app = spawn_app().await;
    let cutoff = seed_mixed(&app, 7_000);
    let before = checksum(&mut app.db.conn());

    let plan = Plan::new(1095).unwrap();
    let preview = archive::preview(&app.state, &plan).await.unwrap();
    assert_eq!(preview.cutoff, cutoff);
    assert_eq!(preview.pending.rows, 7_000);
    assert_eq!(preview.archived_total, 0);
    assert_eq!(app.count("login_history"), 7_500);
    assert_eq!(app.count("history_archive_runs"), 0);
    assert_eq!(app.count("admin_audit"), 0);

    let out = archive::execute(&app.state, plan.clone(), by_cli(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (out.archived, out.already_archived, out.batches, out.finish),
        (7_000, 0, 2, Finish::Done),
        "5,000 rows a batch at most"
    );
    assert_eq!(app.count("login_history"), 500);
    assert_eq!(app.count("login_history_archive"), 7_000);
    assert_moved_intact(&app, &before, cutoff);

    // Recorded: the run row and the audit entry with counts and duration.
    let runs = q::recent_runs(&mut app.db.conn(), 5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].status.as_str(),
            runs[0].rows_archived,
            runs[0].batches
        ),
        ("done", 7_000, 2)
    );
    let detail: String = {
        use staffgate::db::schema::admin_audit::dsl as a;
        a::admin_audit
            .filter(a::action.eq("history_archived"))
            .select(a::detail.assume_not_null())
            .first(&mut app.db.conn())
            .unwrap()
    };
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["archived"], 7_000);
    assert_eq!(detail["trigger"], "cli");
    assert!(detail["durationMs"].is_number());

    // Safe to run twice: nothing more moves, nothing changes.
    let again = archive::execute(&app.state, plan, by_cli(), |_| {})
        .await
        .unwrap();
    assert_eq!((again.archived, again.batches), (0, 0));
    assert_eq!(checksum(&mut app.db.conn()), before);
}

#[tokio::test]
async fn a_crash_between_batches_loses_and_duplicates_nothing() {
    let app = spawn_app().await;
    let cutoff = seed_mixed(&app, 2_500);
    let before = checksum(&mut app.db.conn());
    let plan = Plan::new(1095).unwrap().batch_size(1_000).unwrap();

    // The first run stops after one batch.
    let first = archive::execute(
        &app.state,
        Plan {
            max_batches: Some(1),
            ..plan.clone()
        },
        by_cli(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((first.archived, first.finish), (1_000, Finish::Stopped));
    assert_eq!(checksum(&mut app.db.conn()), before);

    // Then a process dies: its run row says running, and 400 rows were copied to the archive
    // but not deleted from the history (as a writer outside one transaction might leave them).
    {
        let mut conn = app.db.conn();
        q::start_run(&mut conn, "cli", None, "cli", cutoff, app.clock.now_naive()).unwrap();
        let ids = q::next_ids(&mut conn, cutoff, 400).unwrap();
        assert_eq!(
            q::copy_to_archive(&mut conn, &ids, app.clock.now_naive()).unwrap(),
            400
        );
    }
    assert_eq!(app.count("login_history_archive"), 1_400);

    let rerun = archive::execute(&app.state, plan, by_cli(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (rerun.archived, rerun.already_archived, rerun.finish),
        (1_500, 400, Finish::Done)
    );
    assert_eq!(app.count("login_history_archive"), 2_500);
    assert_eq!(app.count("login_history"), 500);
    assert_moved_intact(&app, &before, cutoff);
    let statuses: Vec<String> = q::recent_runs(&mut app.db.conn(), 5)
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, ["done", "interrupted", "stopped"]);
}

#[tokio::test]
async fn while_one_run_holds_the_lock_others_are_told_it_is_busy() {
    let app = spawn_app().await;
    seed_mixed(&app, 100);
    // Another node's run: the named lock on its own connection.
    let mut other = MysqlConnection::establish(&app.db.url).unwrap();
    assert!(q::try_lock(&mut other).unwrap());

    let busy = archive::execute(&app.state, Plan::new(1095).unwrap(), by_cli(), |_| {}).await;
    assert!(matches!(busy, Err(ArchiveError::Busy)), "{busy:?}");
    let out = staffgate(&app.db.url, &["archive-history", "--execute"], None);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(
        text(&out).contains("別のアーカイブ処理が実行中です"),
        "{}",
        text(&out)
    );
    assert_eq!(app.count("login_history_archive"), 0);
    assert_eq!(app.count("history_archive_runs"), 0);

    // The lock dies with the other node's connection (a crash releases it too), once the
    // server has noticed the connection is gone: that happens after the client's close.
    drop(other);
    let mut conn = app.db.conn();
    for _ in 0..200 {
        if q::lock_is_free(&mut conn).unwrap() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = archive::execute(&app.state, Plan::new(1095).unwrap(), by_cli(), |_| {})
        .await
        .unwrap();
    assert_eq!(out.archived, 100);
    app.assert_metrics(&[
        "staffgate_archive_runs_total{outcome=\"busy\"} 1",
        "staffgate_archive_runs_total{outcome=\"ok\"} 1",
    ])
    .await;
}

#[tokio::test]
async fn a_sign_in_goes_through_while_a_batch_holds_its_locks() {
    let app = spawn_app().await;
    app.seed_staff();
    let cutoff = seed_mixed(&app, 3_000);
    let url = app.db.url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    // A batch as the archiver runs it, held open before its commit.
    let batch = std::thread::spawn(move || {
        let mut conn = MysqlConnection::establish(&url).unwrap();
        q::read_committed(&mut conn).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let ids = q::next_ids(conn, cutoff, 5_000)?;
            q::copy_to_archive(conn, &ids, cutoff)?;
            let deleted = q::delete_archived(conn, &ids)?;
            locked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            Ok(deleted)
        })
        .unwrap()
    });
    tokio::task::spawn_blocking(move || locked_rx.recv().unwrap())
        .await
        .unwrap();
    let signed_in = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.login(STAFF_ID, STAFF_PW),
    )
    .await
    .expect("the sign-in waited for the archive batch");
    assert_eq!(signed_in.status(), StatusCode::OK);
    go_tx.send(()).unwrap();
    let moved = tokio::task::spawn_blocking(move || batch.join().unwrap())
        .await
        .unwrap();
    assert_eq!(moved, 3_000);
    assert_eq!(
        app.events(STAFF_ID).last().map(String::as_str),
        Some("password_login_ok")
    );
}

#[tokio::test]
async fn the_schedule_runs_once_a_month_at_night_on_one_node() {
    let db = TestDb::create();
    // 2026-04-01 09:00 JST.
    let clock = test_clock();
    let state = AppState::with_pool(
        test_settings(&db),
        clock.clone() as Arc<dyn Clock>,
        db.pool.clone(),
    )
    .unwrap();
    let seed = |n: i64| {
        let mut conn = db.conn();
        seed_history(&mut conn, n, clock.now_naive() - Duration::days(1100));
    };
    let tick = || archive::scheduled_tick(&state);
    seed(50);

    assert!(tick().await.unwrap().is_none(), "not in the daytime");
    clock.advance(Duration::hours(17)); // 2 April, 02:00 JST
    // Another node is running it: this one lets it be.
    let mut other = MysqlConnection::establish(&db.url).unwrap();
    assert!(q::try_lock(&mut other).unwrap());
    assert!(tick().await.unwrap().is_none());
    drop(other);
    let out = tick().await.unwrap().expect("the monthly run");
    assert_eq!(out.archived, 50);

    seed(20);
    clock.advance(Duration::hours(1));
    assert!(tick().await.unwrap().is_none(), "once a month");
    clock.advance(Duration::days(20));
    assert!(tick().await.unwrap().is_none(), "once a month");
    // 1 May, 02:00 JST is 30 April, 17:00 UTC.
    clock.advance(Duration::days(8) + Duration::hours(23));
    assert_eq!(
        clock.now().to_rfc3339(),
        "2026-04-30T17:00:00+00:00",
        "test arithmetic"
    );
    // Two nodes look at the same moment: one runs, the other finds it busy or done.
    let (a, b) = tokio::join!(tick(), tick());
    let ran: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(ran.len(), 1, "May's run, once");
    assert_eq!(ran[0].archived, 20);
    assert_eq!(
        scalar(
            &mut db.conn(),
            "SELECT COUNT(*) AS n FROM history_archive_runs WHERE trigger_kind = 'schedule' AND status = 'done'"
        ),
        2
    );
}

#[tokio::test]
async fn hr_previews_runs_browses_and_exports_the_archive_in_the_portal() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    seed_mixed(&app, 120);

    // A run whose process died: shown as interrupted, and the button is there to resume.
    let cutoff = app.clock.now_naive() - Duration::days(1095);
    q::start_run(&mut app.db.conn(), "cli", None, "cli", cutoff, cutoff).unwrap();

    let html = p.html("/admin/history/archive").await;
    assert!(html.contains("id=\"pending\">120<"), "{html}");
    assert!(html.contains("中断（次回に再開）"), "{html}");
    assert!(html.contains("id=\"archive-form\""), "{html}");
    // The cutoff in JST: 2026-04-01 09:00 JST less 1095 days.
    assert!(html.contains("2023-04-02 09:00"), "cutoff shown in JST");
    assert_eq!(
        app.count("login_history_archive"),
        0,
        "the preview moves nothing"
    );

    // Without the confirmation box, and without the CSRF token, nothing happens.
    let res = p
        .submit("/admin/history/archive", "/admin/history/archive/run", &[])
        .await;
    assert_eq!(location(&res), "/admin/history/archive");
    assert!(p.shows("/admin/history/archive", "確認のチェック").await);
    let res = p
        .post("/admin/history/archive/run", &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("login_history_archive"), 0);

    let res = p
        .submit(
            "/admin/history/archive",
            "/admin/history/archive/run",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut html = p.html("/admin/history/archive").await;
    if html.contains("裏で続けています") {
        // A slow machine: the run outlasted the button's wait and goes on in the background.
        for _ in 0..300 {
            if !html.contains("id=\"archive-running\"") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            html = p.html("/admin/history/archive").await;
        }
    } else {
        assert!(html.contains("120件をアーカイブに移しました"), "{html}");
    }
    assert!(html.contains("id=\"nothing-to-move\""));
    assert!(
        html.contains("管理画面（HR0001）"),
        "the run is listed with who ran it"
    );
    assert_eq!(app.count("login_history_archive"), 120);

    // Browse: the archive lists the old rows, the live history no longer does.
    let archived = p.html("/admin/history?source=archive&event=refresh").await;
    assert!(archived.contains("サインイン履歴（アーカイブ）"));
    assert_eq!(archived.matches("トークン更新</td>").count(), 40);
    let live = p.html("/admin/history?event=refresh").await;
    assert!(
        !live.contains("2022-"),
        "old rows still in the live history"
    );

    let res = p.get("/admin/history/export.csv?source=archive").await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = header(&res, "content-disposition");
    assert!(
        disposition.contains("login-history-archive-"),
        "{disposition}"
    );
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 121, "a header and every archived row");
    assert!(p.shows("/admin/audit", "サインイン履歴のアーカイブ").await);
}

#[tokio::test]
async fn the_command_line_dry_run_and_execute() {
    let app = spawn_app().await;
    seed_mixed(&app, 1_200);
    let before = checksum(&mut app.db.conn());
    let url = app.db.url.clone();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || staffgate(&url, args, None))
    };

    let out = run(&["archive-history"]).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1200 件"), "{}", text(&out));
    assert!(text(&out).contains("何も移していません"));
    assert_eq!(app.count("login_history_archive"), 0);
    assert_eq!(app.count("history_archive_runs"), 0);

    let out = run(&["archive-history", "--older-than-days", "7"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("30日以上"), "{}", text(&out));

    let out = run(&["archive-history", "--execute", "--batch-size", "500"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("バッチ 3: 200 件を移しました（累計 1200 件）"),
        "{t}"
    );
    assert!(t.contains("完了: 1200 件を 3 バッチで移しました"), "{t}");
    assert_eq!(app.count("login_history_archive"), 1_200);
    assert_eq!(checksum(&mut app.db.conn()), before);
}

#[tokio::test]
async fn a_row_whose_id_the_archive_already_holds_differently_is_kept_not_lost() {
    let app = spawn_app().await;
    let cutoff = seed_mixed(&app, 1_500);
    let clash = {
        let mut conn = app.db.conn();
        let id = q::next_ids(&mut conn, cutoff, 1).unwrap()[0];
        diesel::sql_query(
            "INSERT INTO login_history_archive (id, event, created_at, archived_at) \
             VALUES (?, 'logout', '2001-01-01', '2001-01-01')",
        )
        .bind::<Bigint, _>(id)
        .execute(&mut conn)
        .unwrap();
        id
    };
    let plan = Plan::new(1095).unwrap().batch_size(1_000).unwrap();
    let res = archive::execute(&app.state, plan, by_cli(), |_| {}).await;
    assert!(
        matches!(&res, Err(ArchiveError::Conflict(ids)) if ids == &vec![clash]),
        "{res:?}"
    );
    // Every other old row moved; the clashing one is still in the live history.
    assert_eq!(app.count("login_history"), 501);
    assert_eq!(
        scalar(
            &mut app.db.conn(),
            &format!("SELECT COUNT(*) AS n FROM login_history WHERE id = {clash}")
        ),
        1
    );
    let runs = q::recent_runs(&mut app.db.conn(), 1).unwrap();
    assert_eq!(runs[0].status, "failed");
    assert!(runs[0].error.as_deref().unwrap_or("").contains("conflict"));
    app.assert_metrics(&["staffgate_archive_runs_total{outcome=\"failed\"} 1"])
        .await;
}
