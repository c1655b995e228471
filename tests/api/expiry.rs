//! Password expiry: the status the API reports as time passes, an expired password reaching
//! only the setup session, the long-password exemption, the spread of bulk accounts, and the
//! policy page.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use staffgate::domain::expiry::spread_offset;
use staffgate::services::clock::Clock;

use crate::helpers::*;

/// The staff seed sets the password at 2026-04-01 00:00 UTC; +180 days.
const EXPIRES: &str = "2026-09-28T00:00:00Z";

fn status(body: &Value) -> (Value, bool, bool) {
    let s = &body["passwordStatus"];
    (
        s["expiresAt"].clone(),
        s["warn"].as_bool().unwrap(),
        s["mustChange"].as_bool().unwrap(),
    )
}

/// `/me` with the access token of a token response.
async fn me_of(app: &TestApp, tokens: &Value) -> Value {
    let res = app.me(tokens["accessToken"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn tokens_and_me_report_the_status_at_89_91_and_181_days() {
    let app = spawn_app().await;
    app.seed_staff();

    app.clock.advance(Duration::days(89));
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(status(&t), (json!(EXPIRES), false, false));
    let me = me_of(&app, &t).await;
    assert_eq!(status(&me), (json!(EXPIRES), false, false));

    app.clock.advance(Duration::days(2));
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(t["scope"], "full");
    assert_eq!(status(&t), (json!(EXPIRES), true, false));

    app.clock.advance(Duration::days(88));
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(status(&t), (json!(EXPIRES), true, false));
    let refresh = t["refreshToken"].as_str().unwrap().to_owned();

    app.clock.advance(Duration::days(2));
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(status(&t), (json!(EXPIRES), true, true));
    assert_eq!(
        t["scope"], "password_change",
        "an expired password gets a setup session"
    );
    assert!(t["refreshToken"].is_null());
    let setup = t["accessToken"].as_str().unwrap().to_owned();
    password_change_required(app.me(&setup).await).await;

    // A refresh token from before the expiry no longer yields full tokens either.
    let res = app.refresh(&json!(refresh)).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "password_change");
    assert!(body["refreshToken"].is_null());

    // Change first, full tokens after, with a fresh expiry.
    let res = app.choose_password(&setup, "Aozora-Kango-2026!").await;
    assert_eq!(res.status(), StatusCode::OK);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["scope"], "full");
    assert_eq!(status(&t), (json!("2027-03-28T00:00:00Z"), false, false));
    assert!(!status(&me_of(&app, &t).await).2);
}

#[tokio::test]
async fn thirteen_characters_or_more_can_be_exempt() {
    let app = spawn_app_configured(|s| s.passwords.expiry_defaults.long_exempt = true).await;
    app.seed_staff(); // a 17-character password
    app.seed(Seed {
        code: "N0002",
        password: Some("Twelve-ch-12"),
        ..Seed::default()
    });
    app.clock.advance(Duration::days(181));

    let long = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(long["scope"], "full");
    assert_eq!(status(&long), (Value::Null, false, false));

    let short = app.tokens("N0002", "Twelve-ch-12").await;
    assert_eq!(short["scope"], "password_change");
    assert!(status(&short).2);
}

#[tokio::test]
async fn bulk_accounts_get_their_first_expiry_spread_and_only_the_first() {
    let app = spawn_app().await;
    let mut body = String::from("employee_id,name,name_kana,department,email,permission_level\r\n");
    for i in 0..40 {
        body.push_str(&format!("W{i:04},職員 {i},ショクイン,病棟,,1.0\r\n"));
    }
    app.import_csv(body.into_bytes(), false).await;
    let offsets: std::collections::BTreeSet<i32> = (0..40)
        .map(|i| {
            app.employee(&format!("W{i:04}"))
                .password_expiry_offset_days
        })
        .collect();
    assert!(offsets.len() >= 15, "spread over the window: {offsets:?}");
    assert!(offsets.iter().all(|o| (0..30).contains(o)));

    // Pick an account whose offset is not zero and let it choose its first password.
    let code = (0..40)
        .map(|i| format!("W{i:04}"))
        .find(|c| spread_offset(c, 30) > 5)
        .unwrap();
    let offset = i64::from(spread_offset(&code, 30));
    assert_eq!(
        i64::from(app.employee(&code).password_expiry_offset_days),
        offset
    );
    let admin = app.admin_token().await;
    let token = app.issue_token(&admin, &code).await;
    let setup: Value = app.verify(&token).await.json().await.unwrap();
    let res = app
        .choose_password(setup["setupToken"].as_str().unwrap(), "Hajimete-no-Pass1")
        .await;
    let first: Value = res.json().await.unwrap();
    let start = app.clock.now();
    let expected =
        (start + Duration::days(180 - offset)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(first["passwordStatus"]["expiresAt"], json!(expected));

    // The next password lives the full period.
    let res = app
        .replace_password(
            first["accessToken"].as_str().unwrap(),
            "Hajimete-no-Pass1",
            "Tsugi-no-Pass-22",
        )
        .await;
    let second: Value = res.json().await.unwrap();
    let expected = (start + Duration::days(180)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(second["passwordStatus"]["expiresAt"], json!(expected));
}

/// Signs the admin in afresh after the clock moved (a portal session lives 8 hours), with a
/// password set now so that it has not expired itself.
async fn admin_now(app: &TestApp) -> Portal {
    app.password_set_now(ADMIN_ID);
    Portal::admin_signs_in(app).await
}

/// Posts the policy form (the long-password exemption left off).
async fn save_policy(
    p: &Portal,
    enabled: bool,
    warn: &str,
    expire: &str,
    long: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("warn_days", warn),
        ("expire_days", expire),
        ("long_length", long),
    ];
    if enabled {
        form.push(("enabled", "1"));
    }
    p.submit("/admin/policy", "/admin/policy", &form).await
}

fn policy_values(app: &TestApp) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use staffgate::db::schema::settings::dsl as s;
    s::settings
        .select((s::name, s::value))
        .order(s::name.asc())
        .load(&mut app.db.conn())
        .unwrap()
}

#[tokio::test]
async fn the_policy_page_edits_validates_audits_and_switches_off() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    app.seed_staff();
    let html = p.html("/admin/policy").await;
    assert!(html.contains("まだ一度も変更されていません"), "{html}");
    assert!(html.contains("value=\"90\"") && html.contains("value=\"180\""));
    let seeded = policy_values(&app);
    assert_eq!(seeded.len(), 5, "seeded from configuration: {seeded:?}");

    // Invalid: every problem is named, in Japanese, and nothing is written.
    let res = save_policy(&p, true, "70", "60", "8").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("警告を始める日数は、変更を強制するまでの日数より短くしてください。"),
        "{html}"
    );
    assert!(html.contains("期限を適用しない文字数は13〜16で入力してください。"));
    assert!(html.contains("value=\"70\""), "the input is kept");
    assert_eq!(policy_values(&app), seeded);
    assert_eq!(app.count("admin_audit"), 0);

    // Valid: saved, audited old -> new, shown with who and when.
    let res = save_policy(&p, true, "30", "60", "13").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/policy");
    let html = p.html("/admin/policy").await;
    assert!(html.contains("保存しました"), "{html}");
    assert!(
        html.contains("最終変更: 2026-04-01 09:00 人事 太郎（HR0001）"),
        "{html}"
    );
    let audit = p.html("/admin/audit").await;
    assert!(audit.contains("パスワード有効期限の設定変更") || audit.contains("policy_changed"));
    assert!(audit.contains("有効期限（日）: 180 → 60"), "{audit}");
    assert_eq!(app.count("admin_audit"), 1);

    // The new numbers apply at once: 61 days is past a 60-day expiry.
    app.clock.advance(Duration::days(61));
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(t["scope"], "password_change");
    let p = admin_now(&app).await;
    let dash = p.html("/admin").await;
    assert!(dash.contains("id=\"stat-pw-expired\">1<"), "{dash}");
    let list = p.html("/admin/employees?expiry=expired").await;
    assert!(
        list.contains(STAFF_ID) && list.contains("パスワード期限切れ"),
        "{list}"
    );
    let detail = p.html(&format!("/admin/employees/{STAFF_ID}")).await;
    assert!(detail.contains("2026-05-31 09:00"), "{detail}");

    // Switched off: nothing expires.
    let res = save_policy(&p, false, "30", "60", "13").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let t = app.tokens(STAFF_ID, STAFF_PW).await;
    assert_eq!(t["scope"], "full");
    assert_eq!(status(&t), (Value::Null, false, false));
    assert!(p.shows("/admin", "id=\"stat-pw-expired\">0<").await);
}

#[tokio::test]
async fn the_expiring_filter_lists_passwords_due_within_14_days() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed_staff();
    app.clock.advance(Duration::days(160));
    let p = admin_now(&app).await;
    assert!(!p.shows("/admin/employees?expiry=soon", STAFF_ID).await);
    app.clock.advance(Duration::days(10));
    let p = admin_now(&app).await;
    let list = p.html("/admin/employees?expiry=soon").await;
    assert!(list.contains(STAFF_ID), "{list}");
    assert!(!p.shows("/admin/employees?expiry=expired", STAFF_ID).await);
    assert!(p.shows("/admin", "id=\"stat-pw-expiring\">1<").await);
}

#[tokio::test]
async fn an_expired_admin_password_reaches_only_the_password_page() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.clock.advance(Duration::days(181));
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/password");
    let res = p.get("/admin/employees").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/password");
    let html = p.html("/admin/password").await;
    assert!(
        html.contains("パスワードの有効期限が切れています"),
        "{html}"
    );
    // After the change the portal opens.
    let res = p.change_password(ADMIN_PW, "Atarashii-Jinji-Pass-2").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(p.get("/admin/employees").await.status(), StatusCode::OK);
}

/// Before saving, the policy page shows what a change would do: how many active staff's
/// passwords would be expired, beside the policy in force; nothing is saved.
#[tokio::test]
async fn the_policy_page_previews_how_many_passwords_a_change_expires() {
    let app = spawn_portal().await;
    app.seed_staff();
    app.seed(Seed {
        code: "N0002",
        ..Seed::default()
    });
    app.seed_admin();
    app.clock.advance(Duration::days(100));
    let p = admin_now(&app).await;
    let before = policy_values(&app);
    let form = [
        ("enabled", "1"),
        ("warn_days", "14"),
        ("expire_days", "90"),
        ("long_length", "13"),
        ("action", "preview"),
    ];
    let res = p.submit("/admin/policy", "/admin/policy", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"impact-expired-now\">0<"), "{html}");
    assert!(html.contains("id=\"impact-expired-then\">2<"), "{html}");
    assert!(
        html.contains("value=\"90\""),
        "the proposed values stay in the form"
    );
    assert_eq!(policy_values(&app), before, "a preview saves nothing");
    assert_eq!(app.count("admin_audit"), 0);
}
