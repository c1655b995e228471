//! Limits that must hold under parallel requests and across app instances.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_redemptions_of_one_token_succeed_exactly_once() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let token = app.issue_token(&admin, STAFF_ID).await;
    let results = join_all((0..50).map(|_| app.verify(&token))).await;
    let statuses = statuses_of(&results);
    assert_statuses(&statuses, &[(200, 1), (410, 49)]);
    assert_eq!(app.event_count(STAFF_ID, "token_used"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passwords_from_one_address_admit_exactly_five() {
    let app = spawn_app().await;
    app.seed_staff();
    let results = join_all((0..20).map(|_| app.login(STAFF_ID, "wrong-password"))).await;
    let statuses = statuses_of(&results);
    assert_eq!(tally(&statuses, 401), 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 423, 429].contains(s)),
        "{statuses:?}"
    );
    assert_locked_after_five_failures(&app);
    account_locked(app.login(STAFF_ID, STAFF_PW).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passwords_from_many_addresses_get_exactly_five_checks() {
    let app = spawn_app().await;
    app.seed_staff();
    let statuses = twenty_wrong_passwords_at_once(&[&app], "198.51.100").await;
    // Failures are reserved before bcrypt runs, so the addresses together get exactly the
    // threshold of password checks; everything after meets the lock.
    assert_five_checked_fifteen_locked(&statuses);
    assert_locked_after_five_failures(&app);
    assert_eq!(
        app.event_count(STAFF_ID, "locked"),
        1,
        "the lock is recorded once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_share_the_lockout_and_the_rate_limit() {
    let a = spawn_app().await;
    let b = a.another_node(|_| {}).await;
    a.seed_staff();

    // Lockout: failures alternate between the nodes.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        invalid_credentials(
            node.login_from(&format!("203.0.113.{i}"), STAFF_ID, "wrong")
                .await,
        )
        .await;
    }
    account_locked(b.login_from("203.0.113.99", STAFF_ID, STAFF_PW).await).await;
    account_locked(a.login_from("203.0.113.98", STAFF_ID, STAFF_PW).await).await;

    // Rate limit per (ID, address): unknown ID, so no lock gets in the way.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        invalid_credentials(node.login_from("192.0.2.50", "GHOST1", "guess").await).await;
    }
    rate_limited(b.login_from("192.0.2.50", "GHOST1", "guess").await).await;
    rate_limited(a.login_from("192.0.2.50", "GHOST1", "guess").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refreshes_of_one_token_yield_one_rotation() {
    let app = spawn_app().await;
    app.seed_staff();
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    let refresh = json!(tokens["refreshToken"].as_str().unwrap());
    let results = join_all((0..10).map(|_| app.refresh(&refresh))).await;
    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "one rotation; the others are treated as reuse");
    let new_refresh = results
        .into_iter()
        .find(|r| r.status() == StatusCode::OK)
        .unwrap();
    let new_refresh: Value = new_refresh.json().await.unwrap();
    let again = app.refresh(&new_refresh["refreshToken"]).await;
    token_invalid(again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_password_spraying_from_one_address_stops_at_the_ceiling() {
    let app = spawn_app_configured(|s| s.limits.ip_failures = 10).await;
    let results = join_all((0..30).map(|i| {
        let id = format!("SPRAY{i:02}");
        let app = &app;
        async move { app.login_from("192.0.2.77", &id, "Winter2026!").await }
    }))
    .await;
    let statuses = statuses_of(&results);
    assert_statuses(&statuses, &[(401, 10), (429, 20)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_on_an_unknown_id_are_limited_like_a_real_one() {
    let app = spawn_app().await;
    let results = join_all((0..20).map(|_| app.login_from("192.0.2.78", "GHOST7", "guess"))).await;
    let statuses = statuses_of(&results);
    assert_statuses(&statuses, &[(401, 5), (429, 15)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_setup_session_sets_the_password_once_under_parallel_requests() {
    let app = spawn_app().await;
    let setup = app.setup_session().await;
    let results = join_all((0..10).map(|i| {
        let body = json!({ "newPassword": format!("Parallel-Pass-{i:02}x") });
        let app = &app;
        let setup = setup.clone();
        async move { app.change_password(&setup, &body).await }
    }))
    .await;
    let statuses = statuses_of(&results);
    assert_eq!(tally(&statuses, 200), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 401].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(app.event_count(STAFF_ID, "password_changed"), 1);
}

/// Two nodes on one database with a bcrypt cost high enough that checks really overlap.
async fn two_nodes() -> (TestApp, TestApp) {
    let a = spawn_app_configured(|s| s.passwords.bcrypt_cost = 8).await;
    let b = a.another_node(|s| s.passwords.bcrypt_cost = 8).await;
    a.seed_staff();
    (a, b)
}

fn event_count(events: &[String], name: &str) -> usize {
    events.iter().filter(|e| *e == name).count()
}

fn tally(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

fn statuses_of(results: &[reqwest::Response]) -> Vec<u16> {
    results.iter().map(|r| r.status().as_u16()).collect()
}

/// Twenty wrong passwords for STAFF_ID at once, each from its own address in `subnet`,
/// taking turns over `nodes`: their statuses.
async fn twenty_wrong_passwords_at_once(nodes: &[&TestApp], subnet: &str) -> Vec<u16> {
    let results = join_all((0..20).map(|i| {
        let node = nodes[i % nodes.len()];
        let ip = format!("{subnet}.{}", i + 1);
        async move { node.login_from(&ip, STAFF_ID, "wrong-password").await }
    }))
    .await;
    statuses_of(&results)
}

/// Exactly the threshold of five passwords was checked; the other fifteen met the lock.
fn assert_five_checked_fifteen_locked(statuses: &[u16]) {
    assert_statuses(statuses, &[(401, 5), (423, 15)]);
}

/// How many requests got each status, e.g. `&[(401, 5), (429, 15)]`.
fn assert_statuses(statuses: &[u16], expected: &[(u16, usize)]) {
    for (status, n) in expected {
        assert_eq!(tally(statuses, *status), *n, "{status}: {statuses:?}");
    }
}

fn assert_locked_after_five_failures(app: &TestApp) {
    let emp = app.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 5);
    assert!(emp.locked_until.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_correct_sign_ins_over_two_nodes_all_succeed() {
    let (a, b) = two_nodes().await;
    // One shared ward terminal address for half of them, the rest from their own devices:
    // neither the per-(ID, address) limit nor the lockout may count a correct password.
    let results = join_all((0..20).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let ip = if i < 10 {
            "192.0.2.20".to_owned()
        } else {
            format!("198.51.100.{i}")
        };
        async move { node.login_from(&ip, STAFF_ID, STAFF_PW).await }
    }))
    .await;
    let statuses = statuses_of(&results);
    assert_eq!(tally(&statuses, 200), 20, "{statuses:?}");
    let emp = a.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 0);
    assert!(emp.locked_until.is_none());
    let events = a.events(STAFF_ID);
    assert_eq!(event_count(&events, "password_login_ok"), 20, "{events:?}");
    assert_eq!(
        event_count(&events, "password_login_failed"),
        0,
        "{events:?}"
    );
    assert_eq!(
        event_count(&events, "password_login_refused"),
        0,
        "{events:?}"
    );
    // And the account still signs in afterwards from the shared address.
    a.tokens(STAFF_ID, STAFF_PW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passwords_over_two_nodes_get_exactly_five_checks() {
    let (a, b) = two_nodes().await;
    let statuses = twenty_wrong_passwords_at_once(&[&a, &b], "203.0.113").await;
    // Five checks in flight at most; once five wrong passwords have settled the lock holds
    // and everything still waiting meets it without any hashing.
    assert_five_checked_fifteen_locked(&statuses);
    assert_locked_after_five_failures(&a);
    let events = a.events(STAFF_ID);
    assert_eq!(
        event_count(&events, "password_login_failed"),
        5,
        "{events:?}"
    );
    assert_eq!(event_count(&events, "locked"), 1, "{events:?}");
    assert_eq!(
        event_count(&events, "password_login_refused"),
        15,
        "{events:?}"
    );
    account_locked(a.login(STAFF_ID, STAFF_PW).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_right_and_ten_wrong_in_parallel_refuse_a_right_one_only_after_a_settled_lock() {
    let (a, b) = two_nodes().await;
    let results = join_all((0..20).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let ip = format!("203.0.113.{}", i + 1);
        let right = i % 4 < 2;
        async move {
            let pw = if right { STAFF_PW } else { "wrong-password" };
            (
                right,
                node.login_from(&ip, STAFF_ID, pw).await.status().as_u16(),
            )
        }
    }))
    .await;
    let right: Vec<u16> = results.iter().filter(|r| r.0).map(|r| r.1).collect();
    let wrong: Vec<u16> = results.iter().filter(|r| !r.0).map(|r| r.1).collect();
    assert!(right.iter().all(|s| [200, 423].contains(s)), "{right:?}");
    assert!(wrong.iter().all(|s| [401, 423].contains(s)), "{wrong:?}");

    // Every password that was checked left exactly one record of what it was.
    let events = a.events(STAFF_ID);
    assert_eq!(
        event_count(&events, "password_login_ok"),
        tally(&right, 200)
    );
    assert_eq!(
        event_count(&events, "password_login_failed"),
        tally(&wrong, 401)
    );
    let refused = tally(&right, 423) + tally(&wrong, 423);
    assert_eq!(event_count(&events, "password_login_refused"), refused);

    // A right password meets 423 only if five wrong ones settled in a row before it was
    // admitted: then the lock is recorded, and every refusal comes after it in the history.
    let emp = a.employee(STAFF_ID);
    let locked_at = events.iter().position(|e| e == "locked");
    match locked_at {
        None => {
            assert_eq!(refused, 0, "no lock, so nothing may be refused: {events:?}");
            assert!(emp.locked_until.is_none());
            assert!(emp.failed_login_count < 5);
        }
        Some(at) => {
            assert_eq!(emp.failed_login_count, 5);
            let first_refusal = events.iter().position(|e| e == "password_login_refused");
            assert!(first_refusal.is_none_or(|r| r > at), "{events:?}");
            assert!(
                events[..at]
                    .iter()
                    .rev()
                    .take_while(|e| *e != "password_login_ok")
                    .filter(|e| *e == "password_login_failed")
                    .count()
                    >= 5,
                "the lock follows five failures in a row: {events:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_admins_issuing_120_tokens_over_two_nodes_see_no_server_error() {
    let a = spawn_app().await;
    let b = a.another_node(|_| {}).await;
    let staff = ["N0001", "N0002", "N0003"];
    for code in staff {
        a.seed(Seed {
            code,
            ..Seed::default()
        });
    }
    // Admin k works on node k % 2 (each node signs with its own development key).
    let mut admins = Vec::new();
    for k in 0..6 {
        let code = format!("HR000{k}");
        a.seed(Seed {
            code: &code,
            ..Seed::admin()
        });
        let node = if k % 2 == 0 { &a } else { &b };
        admins.push(node.access_token(&code, ADMIN_PW).await);
    }
    let results = join_all((0..120).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let admin = admins[i % 6].clone();
        let code = staff[i % 3];
        async move { node.issue(&admin, code).await.status().as_u16() }
    }))
    .await;
    assert_eq!(tally(&results, 201), 120, "{results:?}");
    for code in staff {
        let id = a.employee(code).id;
        let open = open_tokens(&a, id);
        assert_eq!(open, 1, "{code} keeps exactly its newest token");
    }
}

fn open_tokens(app: &TestApp, employee: i64) -> i64 {
    use diesel::prelude::*;
    use staffgate::db::schema::onetime_tokens::dsl as t;
    t::onetime_tokens
        .filter(t::employee_ref.eq(employee))
        .filter(t::used_at.is_null())
        .filter(t::revoked_at.is_null())
        .count()
        .get_result(&mut app.db.conn())
        .unwrap()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

/// Holds `staff`'s QR-token rows in a heavy test transaction; once the server's transaction
/// holds the employee row and waits for those, takes the employee row too: a lock cycle in
/// which InnoDB rolls the server's (lighter) transaction back.
fn deadlock_rival(app: &TestApp, staff: i64) -> tokio::task::JoinHandle<()> {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::Bigint;

    let mut rival = MysqlConnection::establish(&app.db.url).unwrap();
    rival.batch_execute("BEGIN").unwrap();
    diesel::sql_query(
        "INSERT INTO login_history (event, client_ip, created_at) \
         SELECT 'logout', 'test', NOW() FROM information_schema.COLUMNS LIMIT 500",
    )
    .execute(&mut rival)
    .unwrap();
    diesel::sql_query(
        "UPDATE onetime_tokens SET purpose = purpose, used_ip = 'held' WHERE employee_ref = ?",
    )
    .bind::<Bigint, _>(staff)
    .execute(&mut rival)
    .unwrap();
    let db_name = app.db.name.clone();
    tokio::task::spawn_blocking(move || {
        let mut watch = MysqlConnection::establish(&server_url()).unwrap();
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = Bigint)]
            n: i64,
        }
        // The process list shows the test user's own connections.
        for _ in 0..200 {
            let waiting = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST \
                 WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'UPDATE `onetime\\_tokens`%'",
            )
            .bind::<diesel::sql_types::Text, _>(&db_name)
            .get_result::<N>(&mut watch)
            .unwrap()
            .n;
            if waiting > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        diesel::sql_query("SELECT id FROM employees WHERE id = ? FOR UPDATE")
            .bind::<Bigint, _>(staff)
            .execute(&mut rival)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        rival.batch_execute("ROLLBACK").unwrap();
    })
}

async fn retries(app: &TestApp) -> u64 {
    let m = app.get("/metrics").await.text().await.unwrap();
    metric(&m, "staffgate_db_transaction_retries_total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_chosen_as_deadlock_victim_is_run_again_and_succeeds() {
    let app = spawn_app().await;
    let staff = app.seed_staff();
    let admin = app.admin_token().await;
    app.issue_token(&admin, STAFF_ID).await;

    let rival = deadlock_rival(&app, staff);
    let (res, rival_done) = tokio::join!(app.issue(&admin, STAFF_ID), rival);
    rival_done.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(open_tokens(&app, staff), 1);
    assert!(retries(&app).await >= 1);
}

/// Printing a sheet is run again whole after a deadlock, with the same prepared secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sheet_print_chosen_as_deadlock_victim_is_run_again_and_succeeds() {
    use staffgate::domain::{EmployeeId, ValidityHours};
    use staffgate::services::principal::{Actor, ClientInfo};
    use staffgate::services::sheets::{self, Selection};

    let app = spawn_app().await;
    let staff = app.seed_staff();
    let admin = app.admin_token().await;
    app.issue_token(&admin, STAFF_ID).await;

    let rival = deadlock_rival(&app, staff);
    let print = sheets::print(
        &app.state,
        Actor::Cli,
        Selection::Employees(vec![EmployeeId::parse(STAFF_ID).unwrap()]),
        ValidityHours::parse(Some(168)).unwrap(),
        None,
        ClientInfo::cli(),
    );
    let (printed, rival_done) = tokio::join!(print, rival);
    rival_done.unwrap();
    let printed = printed.expect("printed after the retry");
    assert_eq!(printed.count, 1);
    assert_eq!(open_tokens(&app, staff), 1);
    assert_eq!(app.count("sheet_prints"), 1);
    assert!(retries(&app).await >= 1);
}

/// Pending checks of `code` from `ip`, created `age` before the app's clock.
fn pending_checks(app: &TestApp, code: &str, ip: &str, n: usize, age: chrono::Duration) {
    let key = staffgate::domain::EmployeeId::parse(code)
        .unwrap()
        .rate_limit_key();
    let at = staffgate::services::clock::Clock::now_naive(app.clock.as_ref()) - age;
    let mut conn = app.db.conn();
    for _ in 0..n {
        staffgate::db::queries::attempts::insert_pending(&mut conn, &key, ip, at).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_that_finds_every_slot_taken_waits_then_is_deferred_not_failed() {
    let app = spawn_app_configured(|s| s.limits.admission_wait_ms = 300).await;
    app.seed_staff();
    // Five checks of this account in flight (from elsewhere) and none settling.
    pending_checks(
        &app,
        STAFF_ID,
        "198.51.100.7",
        5,
        chrono::Duration::seconds(1),
    );
    let started = std::time::Instant::now();
    let res = app.login(STAFF_ID, STAFF_PW).await;
    assert!(res.headers().get("retry-after").is_some());
    problem(res, 503, "busy").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let events = app.events(STAFF_ID);
    assert_eq!(events, ["password_login_deferred"]);
    let emp = app.employee(STAFF_ID);
    assert_eq!(emp.failed_login_count, 0);
    assert!(emp.locked_until.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_that_never_settled_count_as_failures_once_stale() {
    let app = spawn_app().await;
    app.seed_staff();
    // Five checks whose node died a minute and a half ago: they cannot be left holding the
    // account's slots, and they cannot buy five more guesses either.
    pending_checks(
        &app,
        STAFF_ID,
        "198.51.100.8",
        5,
        chrono::Duration::seconds(90),
    );
    account_locked(app.login(STAFF_ID, STAFF_PW).await).await;
    assert_eq!(app.employee(STAFF_ID).failed_login_count, 5);

    // Four stale ones leave exactly one check before the lock.
    let other = spawn_app().await;
    other.seed_staff();
    pending_checks(
        &other,
        STAFF_ID,
        "198.51.100.9",
        4,
        chrono::Duration::seconds(90),
    );
    invalid_credentials(other.login(STAFF_ID, "wrong").await).await;
    account_locked(other.login(STAFF_ID, STAFF_PW).await).await;
}
