//! An employee's working life from the portal and the command line: suspended, retired,
//! reinstated, their listing corrected; every way in ends when they leave active work.

use reqwest::StatusCode;

use crate::helpers::cli::{staffgate, text};
use crate::helpers::*;

fn status_form<'a>(status: &'a str, reason: &'a str) -> [(&'a str, &'a str); 3] {
    [("status", status), ("reason", reason), ("confirm", "yes")]
}

#[tokio::test]
async fn suspending_ends_every_way_in_and_reinstating_lets_the_employee_back() {
    let app = spawn_portal().await;
    app.seed_staff();
    let p = Portal::signed_in_admin(&app).await;
    let page = employee_page(STAFF_ID);
    let status = format!("{page}/status");
    // The nurse is signed in to the app and has an unused QR code waiting.
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    let admin = app.access_token(ADMIN_ID, ADMIN_PW).await;
    let qr = app.issue_token(&admin, STAFF_ID).await;

    // A reason is required, and the confirmation: nothing changes without them.
    let res = p
        .submit(&page, &status, &status_form("suspended", " "))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "停止・退職の理由を入力してください").await);
    let res = p
        .submit(
            &page,
            &status,
            &[("status", "suspended"), ("reason", "育児休業")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "確認のチェック").await);
    assert_eq!(app.employee(STAFF_ID).status, "active");

    let res = p
        .submit(
            &page,
            &status,
            &status_form("suspended", "育児休業（2026年10月まで）"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = p.html(&page).await;
    assert!(
        html.contains("アプリのサインイン 1 件、未使用のQRコード 1 件を無効にしました"),
        "{html}"
    );
    assert!(html.contains("id=\"state\">停止中<"), "{html}");
    assert!(html.contains("変更前: 在職 · 変更後: 停止中 · 理由: 育児休業（2026年10月まで）"));
    assert_eq!(app.employee(STAFF_ID).status, "suspended");

    problem(app.login(STAFF_ID, STAFF_PW).await, 403, "account_disabled").await;
    let refreshed = app.refresh(&tokens["refreshToken"]).await;
    assert!(
        refreshed.status().is_client_error(),
        "the app's sign-in ended: {}",
        refreshed.status()
    );
    problem(app.verify(&qr).await, 403, "account_disabled").await;
    let me = app
        .client
        .get(app.url("/api/v2/auth/me"))
        .bearer_auth(tokens["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(me.status().is_client_error(), "{}", me.status());
    assert_eq!(app.event_count(STAFF_ID, "status_changed"), 1);

    // Back at work: the old password works again; a reason is optional.
    let res = p.submit(&page, &status, &status_form("active", "")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "在職に戻しました").await);
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    assert_eq!(app.event_count(STAFF_ID, "status_changed"), 2);
    assert_eq!(
        app.verify(&qr).await.status().as_u16(),
        410,
        "the QR code waiting when she left was revoked, not only refused"
    );
}

#[tokio::test]
async fn a_retired_admin_loses_the_portal_at_once_and_nobody_retires_themselves() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "HR0002",
        name: "人事 花子",
        ..Seed::admin()
    });
    let p = Portal::signed_in_admin(&app).await;
    let (other, res) = Portal::signing_in(&app, "HR0002", ADMIN_PW).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(other.get("/admin").await.status(), StatusCode::OK);

    let page = employee_page("HR0002");
    let res = p
        .submit(
            &page,
            &format!("{page}/status"),
            &status_form("retired", "退職（2026年3月末）"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "管理画面のセッション 1 件").await);
    let gone = other.get("/admin").await;
    assert_eq!(
        gone.status(),
        StatusCode::SEE_OTHER,
        "the retired admin's session ended"
    );
    assert!(location(&gone).starts_with("/admin/login"));
    let (again, res) = Portal::signing_in(&app, "HR0002", ADMIN_PW).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(
        again.get("/admin").await.status(),
        StatusCode::SEE_OTHER,
        "no way back in"
    );

    // Their own account: refused, and the page does not offer it.
    let own = employee_page(ADMIN_ID);
    assert!(!p.html(&own).await.contains("id=\"status-form\""));
    p.submit(
        &own,
        &format!("{own}/status"),
        &status_form("suspended", "test"),
    )
    .await;
    assert!(
        p.shows(&own, "ご自分のアカウントの状態は変更できません")
            .await
    );
    assert_eq!(app.employee(ADMIN_ID).status, "active");
}

#[tokio::test]
async fn accounts_above_your_level_offer_no_status_edit_or_unlock_and_refuse_them() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "CIO001",
        name: "情報 部長",
        permission: 20.0,
        ..Seed::default()
    });
    app.lock_out("CIO001", STAFF_PW).await;
    let p = Portal::signed_in_admin(&app).await;
    let page = employee_page("CIO001");
    let html = p.html(&page).await;
    for form in ["status-form", "listing-form", "unlock-form"] {
        assert!(!html.contains(&format!("id=\"{form}\"")), "{form} offered");
    }
    p.submit(
        "/admin",
        &format!("{page}/status"),
        &status_form("suspended", "x"),
    )
    .await;
    assert_eq!(app.employee("CIO001").status, "active");
    let listing = [
        ("name", "乗っ取り"),
        ("name_kana", ""),
        ("department", ""),
        ("email", ""),
        ("permission_level", "1"),
    ];
    p.submit("/admin", &format!("{page}/listing"), &listing)
        .await;
    assert_eq!(app.employee("CIO001").name, "情報 部長");
}

#[tokio::test]
async fn the_listing_is_corrected_recorded_field_by_field_and_capped_at_your_level() {
    let app = spawn_portal().await;
    app.seed_staff();
    let p = Portal::signed_in_admin(&app).await;
    let page = employee_page(STAFF_ID);
    let path = format!("{page}/listing");
    let form = |department: &'static str, email: &'static str, level: &'static str| {
        [
            ("name", "看護 花子"),
            ("name_kana", "かんご はなこ"),
            ("department", department),
            ("email", email),
            ("permission_level", level),
        ]
    };

    p.submit(
        &page,
        &path,
        &form("外来", "hanako@hospital.example.jp", "1"),
    )
    .await;
    let html = p.html(&page).await;
    assert!(html.contains("登録内容を変更しました（2 項目）"), "{html}");
    assert!(html.contains("id=\"email\">hanako@hospital.example.jp<"));
    assert!(html.contains("部署: 看護部 → 外来"), "{html}");
    let nurse = app.employee(STAFF_ID);
    assert_eq!(nurse.department, "外来");
    assert_eq!(
        nurse.name_kana, "カンゴ ハナコ",
        "kana kept as full-width katakana"
    );
    assert_eq!(nurse.email.as_deref(), Some("hanako@hospital.example.jp"));

    p.submit(&page, &path, &form("外来", "not-an-address", "1"))
        .await;
    assert!(
        p.shows(&page, "メールアドレスの形式が正しくありません")
            .await
    );
    p.submit(&page, &path, &form("外来", "", "10")).await;
    assert!(p.shows(&page, "権限レベル").await);
    assert_eq!(
        app.employee(STAFF_ID).permission_level,
        1.0,
        "not above the admin's 9"
    );
    assert_eq!(app.event_count(STAFF_ID, "listing_changed"), 1);
}

#[tokio::test]
async fn the_command_line_suspends_and_reinstates_with_a_reason() {
    let app = spawn_app().await;
    app.seed_staff();
    let url = &app.db.url;
    let refused = staffgate(url, &["set-status", STAFF_ID, "--status", "retired"], None);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("理由を入力してください"),
        "{}",
        text(&refused)
    );

    let done = staffgate(
        url,
        &[
            "set-status",
            STAFF_ID,
            "--status",
            "休職",
            "--reason",
            "療養",
        ],
        None,
    );
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    assert!(text(&done).contains("停止中にしました"), "{}", text(&done));
    problem(app.login(STAFF_ID, STAFF_PW).await, 403, "account_disabled").await;

    let back = staffgate(url, &["set-status", STAFF_ID, "--status", "active"], None);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
}

/// In Chromium: the admin suspends a nurse from her page (the nurse is refused), then brings
/// her back (she signs in again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_an_admin_suspends_and_reinstates_a_nurse() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed_staff();
    let browser = crate::helpers::browser::Browser::start().await;
    browser.admin_signs_in_at(&app, "/admin/employees").await;
    browser.goto(&app.url(&employee_page(STAFF_ID))).await;
    browser.wait_for("#status-form").await;
    browser
        .find("#status option[value='suspended']")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("#status-reason", "育児休業").await;
    browser.click("#status-confirm").await;
    browser.click("#change-status").await;
    browser.wait_for(".flash-ok").await;
    assert_eq!(browser.text("#state").await, "停止中");
    problem(app.login(STAFF_ID, STAFF_PW).await, 403, "account_disabled").await;

    browser
        .find("#status option[value='active']")
        .await
        .click()
        .await
        .unwrap();
    browser.click("#status-confirm").await;
    browser.click("#change-status").await;
    browser.wait_for(".flash-ok").await;
    assert!(browser.text(".flash-ok").await.contains("在職に戻しました"));
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    browser.close().await;
}

/// The CSV's optional status column goes through the same change: a row marked 退職 ends the
/// person's sign-ins at once, 在職 brings them back; the preview shows it; an empty cell or no
/// column keeps the status.
#[tokio::test]
async fn the_csv_status_column_retires_and_reinstates_through_the_same_change() {
    let app = spawn_portal().await;
    app.seed_staff();
    app.seed(Seed {
        code: "N0002",
        name: "病棟 次郎",
        ..Seed::default()
    });
    let tokens = app.tokens(STAFF_ID, STAFF_PW).await;
    let p = Portal::signed_in_admin(&app).await;
    let csv = format!(
        "employee_id,name,name_kana,department,email,permission_level,status\n\
         {STAFF_ID},看護 花子,カンゴ ハナコ,看護部,,1.0,退職\n\
         N0002,病棟 次郎,カンゴ ハナコ,看護部,,1.0,\n"
    );
    let res = p
        .upload(
            &csrf_in(&p.html("/admin/import").await),
            "staff.csv",
            csv.into_bytes(),
        )
        .await;
    let preview = res.text().await.unwrap();
    assert!(
        preview
            .contains("<li data-field=\"status\">在籍状態: <del>在職</del> → <ins>退職</ins></li>"),
        "{preview}"
    );
    let payload_marker = "name=\"payload\" value=\"";
    let s = preview.find(payload_marker).unwrap() + payload_marker.len();
    let payload = &preview[s..s + preview[s..].find('"').unwrap()];
    let res = p
        .post(
            "/admin/import/confirm",
            &[
                ("csrf", &csrf_in(&preview)),
                ("payload", payload),
                ("filename", "staff.csv"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.employee(STAFF_ID).status, "retired");
    assert_eq!(
        app.employee("N0002").status,
        "active",
        "an empty cell keeps it"
    );
    problem(app.login(STAFF_ID, STAFF_PW).await, 403, "account_disabled").await;
    assert!(
        app.refresh(&tokens["refreshToken"])
            .await
            .status()
            .is_client_error()
    );
    let page = p.html(&employee_page(STAFF_ID)).await;
    assert!(page.contains("理由: CSVの取り込み（2 行目）"), "{page}");

    let back = format!(
        "employee_id,name,name_kana,department,email,permission_level,status\n\
         {STAFF_ID},看護 花子,カンゴ ハナコ,看護部,,1.0,active\n"
    );
    let report = app.import_csv(back.as_bytes(), false).await;
    assert_eq!(report.updated, 1, "{report:?}");
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    // The admin's own row cannot retire them.
    let own = "employee_id,name,name_kana,department,email,permission_level,status\n\
               HR0001,人事 太郎,カンゴ ハナコ,看護部,,9.0,退職\n";
    let csrf = csrf_in(&p.html("/admin/import").await);
    let refused = p
        .upload(&csrf, "own.csv", own.as_bytes().to_vec())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("ご自分のアカウントの状態は変更できません"),
        "{refused}"
    );
    assert_eq!(app.employee(ADMIN_ID).status, "active");
    let bad = "employee_id,name,name_kana,department,email,permission_level,status\n\
               N0002,病棟 次郎,,看護部,,1.0,休み\n";
    let report = app.import_csv(bad.as_bytes(), false).await;
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert_eq!(report.errors[0].column, "status");
}

/// A whole roster exported and imported again by an admin lists people above their level too:
/// unchanged rows of theirs pass, a changed one is refused.
#[tokio::test]
async fn an_imported_roster_may_list_higher_levels_unchanged() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "CIO001",
        name: "情報 部長",
        department: "情報システム部",
        permission: 20.0,
        ..Seed::default()
    });
    let p = Portal::signed_in_admin(&app).await;
    let roster = |department: &str| {
        format!(
            "employee_id,name,name_kana,department,email,permission_level\n\
             CIO001,情報 部長,カンゴ ハナコ,{department},,20.0\n\
             N0100,新人 一,シンジン イチ,看護部,,1.0\n"
        )
    };
    let csrf = csrf_in(&p.html("/admin/import").await);
    let ok = p
        .upload(&csrf, "roster.csv", roster("情報システム部").into_bytes())
        .await
        .text()
        .await
        .unwrap();
    assert!(ok.contains("id=\"count-created\">1<"), "{ok}");
    assert!(!ok.contains("権限レベル（9.0）より高い"), "{ok}");
    let refused = p
        .upload(&csrf, "roster.csv", roster("総務部").into_bytes())
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("権限レベル（9.0）より高い"), "{refused}");
}
