//! Faults survived, nothing lost: the database dies under a running server and comes back.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::Response;
use staffgate::db::CONNECTION_TIMEOUT;
use staffgate::db::schema::login_attempts::dsl as a;

use crate::helpers::*;

/// A 503 problem saying "try again", with the Retry-After header; never a 500.
async fn try_again_later(res: Response) {
    let retry_after = header(&res, "retry-after");
    assert!(
        retry_after.parse::<u32>().is_ok_and(|s| s > 0),
        "{retry_after}"
    );
    problem(res, 503, "busy").await;
}

#[tokio::test]
async fn a_database_outage_answers_503_and_sign_ins_recover_without_a_restart() {
    let mut mariadb = PrivateMariaDb::start().expect(
        "mariadbd and mariadb-install-db (Debian package mariadb-server, installed by \
         scripts/setup-host.sh) start a private server for this test",
    );
    let app = spawn_app_with(TestDb::create_on(&mariadb.url()), test_clock(), |_| {}).await;
    app.seed_staff();
    let portal = Portal::signed_in_admin(&app).await;
    let mut signed_in = 0;
    for _ in 0..2 {
        assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), 200);
        signed_in += 1;
    }

    mariadb.kill();
    let down = Instant::now();
    let (first, second, ready, page) = tokio::join!(
        app.login(STAFF_ID, STAFF_PW),
        app.login_from("192.0.2.20", STAFF_ID, STAFF_PW),
        app.get("/readyz"),
        portal.get("/admin"),
    );
    let answered_in = down.elapsed();
    eprintln!("with the database down, answered 503 after {answered_in:?}");
    try_again_later(first).await;
    try_again_later(second).await;
    try_again_later(ready).await;
    assert_eq!(page.status(), 503, "the portal shows its 503 page");
    assert!(header(&page, "retry-after").parse::<u32>().is_ok());
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(
        answered_in < CONNECTION_TIMEOUT + Duration::from_secs(3),
        "a dead database is reported within the pool's connection timeout, took {answered_in:?}"
    );

    mariadb.restart();
    let back = Instant::now();
    loop {
        let res = app.login(STAFF_ID, STAFF_PW).await;
        if res.status() == 200 {
            signed_in += 1;
            break;
        }
        try_again_later(res).await;
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "sign-ins still refused 5 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "sign-ins succeeded again {:?} after the database answered",
        back.elapsed()
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(
        portal.get("/admin").await.status(),
        200,
        "the admin's portal session outlived the outage"
    );

    // Only what clients were told happened is on record.
    assert_eq!(app.event_count(STAFF_ID, "password_login_ok"), signed_in);
    assert_eq!(app.event_count(STAFF_ID, "password_login_failed"), 0);
    let nurse = app.employee(STAFF_ID);
    assert_eq!(nurse.failed_login_count, 0);
    assert!(nurse.locked_until.is_none());
    let failures: i64 = a::login_attempts
        .filter(a::success.eq(false))
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();
    assert_eq!(
        failures, 0,
        "no attempt is left pending or counted as failed"
    );
}

/// A database that stalls on one account (another client holds its row): the sign-ins that
/// need the row give up after a bounded wait with 503 and Retry-After, every connection of the
/// pool tied up meanwhile; the liveness check never needs the database and stays quick; once
/// the row is free the account signs in, with nothing counted against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_held_elsewhere_costs_bounded_waits_and_503s_never_the_whole_node() {
    let app = spawn_app_own_pool(|s| {
        s.database.pool_size = 4;
        s.database.lock_wait_seconds = 1;
    })
    .await;
    app.seed_staff();
    let mut holder = diesel::MysqlConnection::establish(&app.db.url).unwrap();
    diesel::sql_query("START TRANSACTION")
        .execute(&mut holder)
        .unwrap();
    diesel::sql_query("SELECT id FROM employees WHERE employee_id = ? FOR UPDATE")
        .bind::<diesel::sql_types::Text, _>(STAFF_ID)
        .execute(&mut holder)
        .unwrap();

    let started = Instant::now();
    let app = &app;
    let stalled = futures::future::join_all((0..8).map(|i| async move {
        let res = app
            .login_from(&format!("192.0.2.{}", 30 + i), STAFF_ID, STAFF_PW)
            .await;
        (res, started.elapsed())
    }));
    let liveness = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let asked = Instant::now();
            assert_eq!(app.get("/healthz").await.status(), 200);
            slowest = slowest.max(asked.elapsed());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        slowest
    };
    let (answers, slowest_health) = tokio::join!(stalled, liveness);

    // Five runs of at most one 1 s lock wait each (and their pauses), or a wait for a pooled
    // connection.
    let bound = Duration::from_secs(u64::from(staffgate::db::TX_ATTEMPTS) + 1) + CONNECTION_TIMEOUT;
    for (res, after) in answers {
        assert!(after < bound, "a stalled sign-in took {after:?}");
        try_again_later(res).await;
    }
    assert!(
        slowest_health < Duration::from_secs(1),
        "/healthz took {slowest_health:?} while the pool was tied up"
    );

    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), 200);
    assert_eq!(app.event_count(STAFF_ID, "password_login_failed"), 0);
    assert_eq!(app.event_count(STAFF_ID, "password_login_ok"), 1);
    let nurse = app.employee(STAFF_ID);
    assert_eq!(nurse.failed_login_count, 0);
    assert!(nurse.locked_until.is_none());
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let retries: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("staffgate_db_transaction_retries_total ")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap();
    assert!(retries > 0, "the lock waits were retried");
}
