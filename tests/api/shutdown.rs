//! Stopping a node as systemd or docker does (SIGTERM): it stops taking connections and lets
//! the sign-ins in flight finish before it exits.

use crate::helpers::cli::Served;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_sign_ins_in_flight_finish_then_exits() {
    use diesel::RunQueryDsl;

    let app = spawn_app().await;
    let codes: Vec<String> = (1..=6).map(|i| format!("N10{i:02}")).collect();
    for code in &codes {
        app.seed(Seed {
            code,
            ..Seed::default()
        });
    }
    // Slow enough hashes (cost 12) through one hashing thread: the sign-ins queue up.
    let hash = bcrypt::hash(STAFF_PW, 12).unwrap();
    diesel::sql_query(
        "UPDATE employees SET password_hash = ?, password_updated_at = UTC_TIMESTAMP(6)",
    )
    .bind::<diesel::sql_types::Text, _>(&hash)
    .execute(&mut app.db.conn())
    .unwrap();
    let server = Served::start(&app.db.url, &[("STAFFGATE_HASHING_THREADS", "1")]).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let sign_ins: Vec<_> = codes
        .iter()
        .map(|code| {
            let req = client
                .post(format!("{base}/api/v2/auth/authenticate"))
                .json(&serde_json::json!({ "employeeId": code, "password": STAFF_PW }));
            tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Wait until every sign-in is in: one hashing, five queued behind it. Then stop the node.
    let probe = reqwest::Client::new();
    let mut queued = 0;
    for _ in 0..400 {
        let metrics = probe
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        queued = metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix("staffgate_hashing_queue ")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        if queued >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(queued >= 5, "the sign-ins never queued ({queued})");
    drop((client, probe));
    let stopping = tokio::task::spawn_blocking(move || server.stop());

    let mut statuses = Vec::new();
    for s in sign_ins {
        statuses.push(s.await.unwrap().expect("an accepted sign-in is answered"));
    }
    assert_eq!(statuses, vec![200; 6], "every sign-in in flight finished");
    stopping.await.unwrap();
    // Stopped: nothing listens any more.
    let after = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(after.is_err(), "the node still answers after it exited");
}
