//! Stopping a node as systemd or docker does (SIGTERM: it stops taking connections and lets
//! the requests in flight finish before it exits) and losing one abruptly (SIGKILL: the other
//! node goes on, and the database holds exactly what clients were told).

use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::{Connection, MysqlConnection};

use crate::helpers::cli::Served;
use crate::helpers::*;

/// `n` nurses N1001.. with STAFF_PW whose passwords count as set now by the real clock (the
/// served binary runs on it).
fn seed_nurses(app: &TestApp, n: usize) -> Vec<String> {
    let codes: Vec<String> = (1..=n).map(|i| format!("N1{i:03}")).collect();
    for code in &codes {
        app.seed(Seed {
            code,
            ..Seed::default()
        });
    }
    app.passwords_set_now_by_the_database();
    codes
}

async fn sign_in(client: &reqwest::Client, base: &str, code: &str) -> reqwest::Result<u16> {
    let res = client
        .post(format!("{base}/api/v2/auth/authenticate"))
        .json(&serde_json::json!({ "employeeId": code, "password": STAFF_PW }))
        .send()
        .await?;
    Ok(res.status().as_u16())
}

/// `http_requests_in_flight` as the node reports it (this scrape included).
async fn in_flight(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("http_requests_in_flight ")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_listening_and_lets_the_requests_in_flight_finish() {
    let app = spawn_app().await;
    let codes = seed_nurses(&app, 6);
    let server = Served::start(&app.db.url, &[("STAFFGATE_DB_LOCK_WAIT_SECONDS", "30")]).await;
    let base = server.base.clone();

    // Another client holds the six employee rows: each sign-in is admitted and then waits
    // for its row, in flight for as long as the test wants.
    let mut holder = MysqlConnection::establish(&app.db.url).unwrap();
    diesel::sql_query("START TRANSACTION")
        .execute(&mut holder)
        .unwrap();
    diesel::sql_query("SELECT id FROM employees WHERE employee_id LIKE 'N1%' FOR UPDATE")
        .execute(&mut holder)
        .unwrap();

    let client = reqwest::Client::new();
    let sign_ins: Vec<_> = codes
        .iter()
        .map(|code| {
            let (client, base, code) = (client.clone(), base.clone(), code.clone());
            tokio::spawn(async move { sign_in(&client, &base, &code).await })
        })
        .collect();
    let mut seen = 0;
    for _ in 0..200 {
        seen = in_flight(&base).await;
        if seen > codes.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        seen,
        codes.len() as u64 + 1,
        "six sign-ins and the scrape in flight"
    );

    let stopping = tokio::task::spawn_blocking(move || server.stop());
    // The node stops taking connections at once, while the six still wait for their rows.
    let mut refused = false;
    for _ in 0..100 {
        let fresh = reqwest::Client::new();
        if fresh.get(format!("{base}/healthz")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "a stopping node still accepts new connections");
    assert!(
        !stopping.is_finished(),
        "the node exited with requests in flight"
    );

    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    let mut statuses = Vec::new();
    for s in sign_ins {
        statuses.push(s.await.unwrap().expect("a sign-in in flight is answered"));
    }
    assert_eq!(statuses, vec![200; 6], "every sign-in in flight finished");
    let log = stopping.await.unwrap();
    assert!(!log.contains("ERROR"), "{log}");
    for code in &codes {
        assert_eq!(app.event_count(code, "password_login_ok"), 1, "{code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_load_leaves_the_other_serving_and_the_records_true() {
    let app = spawn_app().await;
    let codes = seed_nurses(&app, 8);
    let doomed = Served::start(&app.db.url, &[]).await;
    let survivor = Served::start(&app.db.url, &[]).await;
    let (doomed_base, survivor_base) = (doomed.base.clone(), survivor.base.clone());

    // Eight clients, one account each, alternate between the two nodes until told to stop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = codes
        .iter()
        .map(|code| {
            let (code, stop) = (code.clone(), stop.clone());
            let bases = [doomed_base.clone(), survivor_base.clone()];
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let (mut ok, mut lost, mut other) = (0usize, 0usize, Vec::new());
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match sign_in(&client, &bases[i % 2], &code).await {
                        Ok(200) => ok += 1,
                        Ok(status) => other.push(status),
                        Err(_) if i % 2 == 0 => lost += 1,
                        Err(e) => panic!("the surviving node failed a request: {e}"),
                    }
                    i += 1;
                }
                (ok, lost, other)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut doomed = doomed;
    doomed.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let (mut ok, mut lost) = (0, 0);
    for c in clients {
        let (o, l, other) = c.await.unwrap();
        assert!(other.is_empty(), "answers other than 200: {other:?}");
        ok += o;
        lost += l;
    }
    assert!(lost > 0, "the killed node answered nothing after its death");
    eprintln!("{ok} sign-ins answered 200, {lost} lost with the killed node");

    // What the database says happened: every 200 is on record. Each client waits for one
    // answer before it asks again, so at most one request per client died with the node, and
    // it either committed (its answer never arrived) or left nothing. No failure, no lock.
    let on_record: usize = codes
        .iter()
        .map(|c| app.event_count(c, "password_login_ok"))
        .sum();
    assert!(
        (ok..=ok + codes.len()).contains(&on_record),
        "{on_record} sign-ins on record for {ok} answered ({lost} refused by the dead node)"
    );
    for code in &codes {
        assert_eq!(app.event_count(code, "password_login_failed"), 0, "{code}");
        let nurse = app.employee(code);
        assert_eq!(nurse.failed_login_count, 0, "{code}");
        assert!(nurse.locked_until.is_none(), "{code}");
        let client = reqwest::Client::new();
        assert_eq!(sign_in(&client, &survivor_base, code).await.unwrap(), 200);
    }
}
