//! Resetting another account's second factor and rolling the reset back: the person enrols
//! again, a rollback brings the old phone back exactly, the window closes, the reset log's key
//! rotates, and a database dump shows no secret.

use chrono::Duration;
use reqwest::StatusCode;

use crate::helpers::cli::{staffgate_with, text};
use crate::helpers::*;
use crate::mfa::{code, enrol_over_api, mfa_token, second_step, strings};

const HR2: &str = "HR0002";
const HR2_PW: &str = "Jinji-Hanako-2026";

fn seed_second_admin(app: &TestApp) {
    app.seed(Seed {
        code: HR2,
        name: "人事 花子",
        permission: 9.0,
        password: Some(HR2_PW),
        ..Seed::default()
    });
}

/// The newest reset's id, as the reset log lists it.
fn newest_reset(app: &TestApp) -> String {
    strings(app, "SELECT CAST(MAX(id) AS CHAR) AS v FROM mfa_resets").remove(0)
}

#[tokio::test]
async fn a_reset_makes_the_person_enrol_again_and_a_rollback_brings_the_old_phone_back() {
    let app = spawn_portal_configured(crate::mfa::required).await;
    app.seed_admin();
    seed_second_admin(&app);
    // 花子 (HR0002) set up her phone; she has used one recovery code.
    let (secret, codes) = enrol_over_api(&app, HR2, HR2_PW).await;
    let token = mfa_token(&app, HR2, HR2_PW).await;
    assert_eq!(
        second_step(&app, &token, &codes[0]).await.status(),
        StatusCode::OK
    );
    // 太郎 (HR0001) signs in with his own phone.
    let (taro_secret, _) = enrol_over_api(&app, ADMIN_ID, ADMIN_PW).await;
    let (taro, _) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    let res = taro
        .submit(
            "/admin/mfa",
            "/admin/mfa",
            &[("code", &code(&app, &taro_secret, 0))],
        )
        .await;
    assert_eq!(location(&res), "/admin");

    // She lost her phone: 太郎 resets her second factor from her page.
    let page = employee_page(HR2);
    assert!(taro.shows(&page, "二要素認証をリセット").await);
    let no_reason = taro
        .submit(&page, &format!("{page}/mfa-reset"), &[("confirm", "yes")])
        .await;
    assert_eq!(location(&no_reason), page);
    assert!(taro.shows(&page, "理由を入力してください").await);
    let reset = taro
        .submit(
            &page,
            &format!("{page}/mfa-reset"),
            &[
                ("reason", "スマートフォン紛失（電話で本人確認）"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(location(&reset), page);
    assert!(taro.shows(&page, "リセットしました").await);
    assert!(app.has_event(HR2, "mfa_reset"));

    // Her next sign-in goes to setting up a factor again, nowhere else.
    let (hanako, res) = Portal::signing_in(&app, HR2, HR2_PW).await;
    assert_eq!(location(&res), "/admin/mfa/enrol");
    assert_eq!(location(&hanako.get("/admin").await), "/admin/mfa/enrol");
    hanako
        .submit("/admin/mfa/enrol", "/admin/logout", &[])
        .await;

    // The phone turned up: 太郎 rolls the reset back from the reset log.
    let log = taro.html("/admin/mfa-resets").await;
    assert!(log.contains("スマートフォン紛失") && log.contains("取り消し可能"));
    let id = newest_reset(&app);
    let rollback = taro
        .submit(
            "/admin/mfa-resets",
            &format!("/admin/mfa-resets/{id}/rollback"),
            &[("reason", "端末が見つかった"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(location(&rollback), "/admin/mfa-resets");
    assert!(taro.shows("/admin/mfa-resets", "取り消し済み").await);
    assert!(app.has_event(HR2, "mfa_reset_rolled_back"));

    // Her old phone works again; the recovery code she used stays used, the others work.
    app.clock.advance(Duration::seconds(30));
    let token = mfa_token(&app, HR2, HR2_PW).await;
    problem(
        second_step(&app, &token, &codes[0]).await,
        401,
        "invalid_code",
    )
    .await;
    assert_eq!(
        second_step(&app, &token, &code(&app, &secret, 0))
            .await
            .status(),
        StatusCode::OK
    );
    let token = mfa_token(&app, HR2, HR2_PW).await;
    assert_eq!(
        second_step(&app, &token, &codes[1]).await.status(),
        StatusCode::OK
    );

    // A rollback happens once.
    let again = taro
        .submit(
            "/admin/mfa-resets",
            &format!("/admin/mfa-resets/{id}/rollback"),
            &[("reason", "もう一度"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(location(&again), "/admin/mfa-resets");
    assert!(
        taro.shows("/admin/mfa-resets", "すでに取り消されています")
            .await
    );
}

#[tokio::test]
async fn nobody_resets_their_own_or_a_higher_account_and_the_window_closes() {
    let app = spawn_portal().await;
    app.seed_admin();
    seed_second_admin(&app);
    app.set_permission(HR2, 10.0);
    app.seed_staff();
    enrol_over_api(&app, HR2, HR2_PW).await;
    let (secret, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let admin = Portal::admin_signs_in(&app).await;
    let reason = [("reason", "テスト"), ("confirm", "yes")];

    // Own account and an account above one's level: no form, and refused if posted.
    assert!(
        !admin
            .shows(&employee_page(ADMIN_ID), "mfa-reset-form")
            .await
    );
    for who in [ADMIN_ID, HR2] {
        let page = employee_page(who);
        admin
            .submit(&page, &format!("{page}/mfa-reset"), &reason)
            .await;
        assert!(!app.has_event(who, "mfa_reset"), "{who}");
    }
    assert!(
        admin
            .shows(
                &employee_page(ADMIN_ID),
                "ご自分の二要素認証はリセットできません"
            )
            .await
    );

    // A reset of the nurse, rolled back too late: refused, the sealed copy erased.
    let page = employee_page(STAFF_ID);
    admin
        .submit(&page, &format!("{page}/mfa-reset"), &reason)
        .await;
    assert!(app.has_event(STAFF_ID, "mfa_reset"));
    app.clock.advance(Duration::days(15));
    let admin = Portal::admin_signs_in(&app).await;
    let log = admin.html("/admin/mfa-resets").await;
    assert!(log.contains("期限切れ"), "{log}");
    let id = newest_reset(&app);
    admin
        .submit(
            "/admin/mfa-resets",
            &format!("/admin/mfa-resets/{id}/rollback"),
            &[("reason", "遅すぎた"), ("confirm", "yes")],
        )
        .await;
    assert!(
        admin
            .shows("/admin/mfa-resets", "取り消しの期限を過ぎた")
            .await
    );
    assert_eq!(
        strings(
            &app,
            "SELECT COALESCE(sealed_payload, 'erased') AS v FROM mfa_resets"
        ),
        ["erased"]
    );
    // The nurse's old phone does not come back.
    let res = app.login(STAFF_ID, STAFF_PW).await;
    assert_eq!(res.status(), StatusCode::OK, "no second factor any more");
    let _ = secret;
}

/// Keys for the reset log in the rotation test (32 random bytes each, hex).
const KEY_A: &str = "4f1c9a7e2d5b8036c1e4a7d0b3f6925e8c1a4d7b0e3f6a9c2d5b8e1f4a7c0d36";
const KEY_B: &str = "b7e2a94c1d6f3085e2b9c6a3d0f7418b5e2c9a6d3f0b7e4a1c8d5f2b9e6a3c07";
const KEY_C: &str = "2a9d6c3f0e7b4a1d8c5f2e9b6a3d0c7f4e1b8a5d2c9f6e3b0a7d4c1f8e5b2a90";

#[tokio::test]
async fn the_reset_log_key_rotates_with_rekey_and_verify_and_check_names_unknown_keys() {
    let app = spawn_app().await;
    app.seed_staff();
    enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let url = app.db.url.clone();
    let with = |keys: &[(&str, &str)], args: &[&str]| staffgate_with(&url, keys, args, None);

    // Break-glass reset from the CLI, sealed under key A, recorded with actor cli.
    let out = with(
        &[("STAFFGATE_MFA_RESET_LOG_KEY", KEY_A)],
        &[
            "mfa-reset",
            STAFF_ID,
            "--reason",
            "端末紛失（夜間・管理者不在）",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("リセットしました"));
    assert_eq!(
        strings(&app, "SELECT actor_label AS v FROM mfa_resets"),
        ["cli"]
    );

    // Deploy B with A as an old key: verify opens everything; rekey moves the row to B.
    let rotating = [
        ("STAFFGATE_MFA_RESET_LOG_KEY", KEY_B),
        ("STAFFGATE_MFA_RESET_LOG_OLD_KEYS", KEY_A),
    ];
    let verify = with(&rotating, &["mfa-log", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(
        text(&verify).contains("under old keys: 1"),
        "{}",
        text(&verify)
    );
    let check = with(&rotating, &["check", "--json"]);
    assert!(text(&check).contains("mfa-log rekey"), "{}", text(&check));
    let rekey = with(&rotating, &["mfa-log", "rekey", "--batch", "1"]);
    assert!(rekey.status.success(), "{}", text(&rekey));
    assert!(text(&rekey).contains("re-sealed: 1"), "{}", text(&rekey));
    let again = with(&rotating, &["mfa-log", "rekey"]);
    assert!(
        text(&again).contains("re-sealed: 0"),
        "idempotent: {}",
        text(&again)
    );

    // Retire A: verify still passes with B alone.
    let retired = with(
        &[("STAFFGATE_MFA_RESET_LOG_KEY", KEY_B)],
        &["mfa-log", "verify"],
    );
    assert!(retired.status.success(), "{}", text(&retired));
    assert!(
        text(&retired).contains("under the current key"),
        "{}",
        text(&retired)
    );

    // A deployment with a key that never sealed the row: verify fails, check says why.
    let wrong = [("STAFFGATE_MFA_RESET_LOG_KEY", KEY_C)];
    let verify = with(&wrong, &["mfa-log", "verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(text(&verify).contains("unreadable: 1"));
    let check = with(&wrong, &["check", "--json"]);
    assert!(
        text(&check).contains("neither STAFFGATE_MFA_RESET_LOG_KEY"),
        "{}",
        text(&check)
    );
    // No output ever shows a key or a secret.
    for out in [&verify, &check, &rekey] {
        for key in [KEY_A, KEY_B, KEY_C] {
            assert!(!text(out).contains(key));
        }
    }
}

#[tokio::test]
async fn a_database_dump_after_enrolment_and_a_reset_shows_no_secret() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed_staff();
    let (secret, codes) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let admin = Portal::admin_signs_in(&app).await;
    let page = employee_page(STAFF_ID);
    admin
        .submit(
            &page,
            &format!("{page}/mfa-reset"),
            &[("reason", "ダンプ確認"), ("confirm", "yes")],
        )
        .await;
    // Enrolled again after the reset: the dump holds both a live secret and a sealed one.
    let (second, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    assert!(app.has_event(STAFF_ID, "mfa_reset"));

    let url = url::Url::parse(&app.db.url).unwrap();
    let db = url.path().trim_start_matches('/');
    let mut dump = std::process::Command::new("mariadb-dump");
    dump.arg(format!("--host={}", url.host_str().unwrap()))
        .arg(format!("--port={}", url.port().unwrap_or(3306)))
        .arg(format!("--user={}", url.username()))
        .arg("--skip-extended-insert")
        .arg(db);
    if let Some(pw) = url.password() {
        dump.env("MYSQL_PWD", pw);
    }
    let out = dump.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8_lossy(&out.stdout).to_uppercase();
    assert!(
        sql.contains("INSERT INTO `MFA_RESETS`"),
        "the dump has the reset row"
    );
    for s in [&secret, &second] {
        assert!(
            !sql.contains(&s.base32()),
            "an authenticator secret in clear"
        );
    }
    for c in &codes {
        assert!(
            !sql.contains(&c.replace('-', "")),
            "a recovery code in clear"
        );
    }
}

/// Someone who set up a new phone after the reset keeps it unless the rollback is confirmed
/// to replace it.
#[tokio::test]
async fn a_rollback_asks_before_replacing_a_factor_set_up_after_the_reset() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed_staff();
    let (old, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let admin = Portal::admin_signs_in(&app).await;
    let page = employee_page(STAFF_ID);
    let reason = [("reason", "紛失"), ("confirm", "yes")];
    admin
        .submit(&page, &format!("{page}/mfa-reset"), &reason)
        .await;
    let (new, _) = enrol_over_api(&app, STAFF_ID, STAFF_PW).await;
    let id = newest_reset(&app);
    let rollback = format!("/admin/mfa-resets/{id}/rollback");

    admin
        .submit(
            "/admin/mfa-resets",
            &rollback,
            &[("reason", "見つかった"), ("confirm", "yes")],
        )
        .await;
    assert!(
        admin
            .shows("/admin/mfa-resets", "新しい認証手段を設定しています")
            .await
    );
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        second_step(&app, &token, &code(&app, &new, 0))
            .await
            .status(),
        StatusCode::OK,
        "the new phone still works"
    );

    admin
        .submit(
            "/admin/mfa-resets",
            &rollback,
            &[
                ("reason", "見つかった"),
                ("confirm", "yes"),
                ("replace", "yes"),
            ],
        )
        .await;
    assert!(admin.shows("/admin/mfa-resets", "取り消し済み").await);
    app.clock.advance(Duration::seconds(30));
    let token = mfa_token(&app, STAFF_ID, STAFF_PW).await;
    problem(
        second_step(&app, &token, &code(&app, &new, 0)).await,
        401,
        "invalid_code",
    )
    .await;
    assert_eq!(
        second_step(&app, &token, &code(&app, &old, 0))
            .await
            .status(),
        StatusCode::OK,
        "the old phone is back"
    );
}
