//! Notification mail through the outbox to a real SMTP listener: HR lock notices (one per
//! lock, or a daily digest), expiry warnings to staff, and delivery across an SMTP outage.

use chrono::Duration;
use staffgate::config::Settings;
use staffgate::db::queries::outbox::{self, OutboxRow};
use staffgate::services::clock::Clock;
use staffgate::services::outbox::{Delivery, deliver_due, scan};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::*;

const HR: &str = "jinji@hospital.example.jp";

async fn mail_app(sink: &SmtpSink, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let url = sink.url();
    spawn_app_configured(move |s| {
        s.http.public_url = "http://127.0.0.1".into();
        s.mail.smtp_url = Some(url);
        s.mail.from = Some("staffgate <noreply@hospital.example.jp>".into());
        s.mail.hr_email = Some(HR.into());
        s.mail.poll_seconds = 0;
        tweak(s);
    })
    .await
}

fn outbox_rows(app: &TestApp) -> Vec<OutboxRow> {
    outbox::recent(&mut app.db.conn(), 100).unwrap()
}

#[tokio::test]
async fn a_lock_mails_hr_once_even_across_an_smtp_outage() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink, |_| {}).await;
    app.seed_staff();
    app.lock_out(STAFF_ID, STAFF_PW).await;

    let rows = outbox_rows(&app);
    assert_eq!(rows.len(), 1, "queued with the lock");
    assert_eq!(rows[0].recipient, HR);

    sink.stop();
    let failed = deliver_due(&app.state).await.unwrap();
    assert_eq!(
        failed,
        Delivery {
            sent: 0,
            retrying: 1,
            gave_up: 0
        }
    );
    app.assert_metrics(&["staffgate_outbox_pending 1"]).await;
    let row = &outbox_rows(&app)[0];
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        row.next_attempt_at,
        app.clock.now_naive() + Duration::seconds(60)
    );

    // Not due yet: nothing is tried.
    assert_eq!(deliver_due(&app.state).await.unwrap(), Delivery::default());
    app.clock.advance(Duration::seconds(61));
    assert_eq!(deliver_due(&app.state).await.unwrap().retrying, 1);
    let row = &outbox_rows(&app)[0];
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.next_attempt_at,
        app.clock.now_naive() + Duration::seconds(120)
    );

    sink.restart().await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), Delivery::default());
    app.clock.advance(Duration::seconds(121));
    assert_eq!(deliver_due(&app.state).await.unwrap().sent, 1);
    assert_eq!(deliver_due(&app.state).await.unwrap(), Delivery::default());
    app.assert_metrics(&["staffgate_outbox_pending 0"]).await;

    let got = sink.messages();
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert_eq!(got[0].to, [HR]);
    assert!(
        got[0].subject().contains("アカウントがロックされました"),
        "{}",
        got[0].subject()
    );
    assert!(got[0].subject().contains(STAFF_ID));
    let text = got[0].part("text/plain");
    assert!(text.contains(&format!("職員番号: {STAFF_ID}")), "{text}");
    assert!(text.contains("看護 花子"));
    // Locked at 2026-04-01 00:00 UTC = 09:00 JST, for 30 minutes.
    assert!(text.contains("2026-04-01 09:00（日本時間）"), "{text}");
    assert!(text.contains("2026-04-01 09:30（日本時間）"), "{text}");
    assert!(
        got[0]
            .part("text/html")
            .contains("<th align=\"left\">職員番号</th><td>N0001</td>")
    );
    assert!(outbox_rows(&app)[0].sent_at.is_some());

    // HR sees the delivery on the portal.
    let p = Portal::signed_in_admin(&app).await;
    let html = p.html("/admin/mail").await;
    assert!(html.contains("送信済み") && html.contains(HR), "{html}");
}

#[tokio::test]
async fn the_background_worker_delivers_without_anyone_waiting() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink, |s| s.mail.poll_seconds = 1).await;
    app.seed_staff();
    app.lock_out(STAFF_ID, STAFF_PW).await;
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].part("text/plain").contains(STAFF_ID));
}

#[tokio::test]
async fn no_mail_is_queued_when_mail_is_off() {
    let app = spawn_app().await;
    app.seed_staff();
    app.lock_out(STAFF_ID, STAFF_PW).await;
    assert_eq!(app.count("mail_outbox"), 0);
}

#[tokio::test]
async fn the_hr_digest_lists_the_days_locks_in_one_mail() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink, |s| s.mail.hr_lock_digest = true).await;
    app.seed_staff();
    app.seed(Seed {
        code: "N0002",
        name: "検査 次郎",
        ..Seed::default()
    });
    app.lock_out(STAFF_ID, STAFF_PW).await;
    for _ in 0..5 {
        app.login_from("203.0.113.9", "N0002", "wrong-password")
            .await;
    }
    assert_eq!(
        app.count("mail_outbox"),
        0,
        "no mail per lock in digest mode"
    );

    // The day (JST) is not over yet: nothing to send.
    assert_eq!(scan(&app.state).await.unwrap(), 0);
    app.clock.advance(Duration::hours(16));
    assert_eq!(scan(&app.state).await.unwrap(), 1);
    assert_eq!(scan(&app.state).await.unwrap(), 0, "one digest per day");
    assert_eq!(deliver_due(&app.state).await.unwrap().sent, 1);
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].subject().contains("2026-04-01"),
        "{}",
        got[0].subject()
    );
    let text = got[0].part("text/plain");
    assert!(text.contains("2 件"), "{text}");
    assert!(
        text.contains("職員番号 N0001") && text.contains("職員番号 N0002"),
        "{text}"
    );
}

#[tokio::test]
async fn staff_with_an_address_are_warned_once_before_their_password_expires() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink, |_| {}).await;
    app.seed_staff();
    app.set_email(STAFF_ID, "hanako@hospital.example.jp");
    app.seed(Seed {
        code: "N0002",
        name: "検査 次郎",
        ..Seed::default()
    });

    app.clock.advance(Duration::days(89));
    assert_eq!(
        scan(&app.state).await.unwrap(),
        0,
        "not yet in the warning period"
    );
    app.clock.advance(Duration::days(2));
    assert_eq!(
        scan(&app.state).await.unwrap(),
        1,
        "only the employee with an address"
    );
    // Another node scanning the same database queues nothing more.
    let other = app
        .another_node(|s| {
            s.mail.smtp_url = Some(sink.url());
            s.mail.from = Some("noreply@hospital.example.jp".into());
            s.mail.poll_seconds = 0;
        })
        .await;
    assert_eq!(scan(&other.state).await.unwrap(), 0);
    assert_eq!(scan(&app.state).await.unwrap(), 0);

    assert_eq!(deliver_due(&app.state).await.unwrap().sent, 1);
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["hanako@hospital.example.jp"]);
    assert!(
        got[0].subject().contains("パスワードの有効期限"),
        "{}",
        got[0].subject()
    );
    let text = got[0].part("text/plain");
    // Set 2026-04-01 00:00 UTC + 180 days = 2026-09-28 09:00 JST.
    assert!(
        text.contains("有効期限: 2026-09-28 09:00（日本時間）"),
        "{text}"
    );
    assert!(text.contains("看護 花子 様"), "{text}");
}
