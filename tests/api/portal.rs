//! The HR portal over HTTP with a cookie-keeping client: every page and its failure paths.

use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn pages_without_a_session_send_you_to_sign_in() {
    let app = spawn_portal().await;
    let p = Portal::new(&app);
    for path in [
        "/admin",
        "/admin/employees?q=N",
        "/admin/locked",
        "/admin/history",
        "/admin/audit",
        "/admin/import",
        "/admin/sessions",
    ] {
        let res = p.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(
            location(&res).starts_with("/admin/login?next=/admin"),
            "{path} -> {}",
            location(&res)
        );
    }
    let res = p
        .post("/admin/employees/N0001/unlock", &[("reason", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn admin_signs_in_sees_the_dashboard_and_signs_out() {
    let app = spawn_portal().await;
    app.seed_admin();
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = session_cookie(&res);
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/admin"), "{session}");

    let res = p.get("/admin").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = header(&res, "content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let html = res.text().await.unwrap();
    assert!(html.contains("ダッシュボード"));
    assert!(html.contains("人事 太郎"));
    assert_eq!(app.count("portal_sessions"), 1);
    assert!(app.has_event(ADMIN_ID, "password_login_ok"));

    let res = p.sign_out().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/login?signed_out=1");
    assert!(p.shows(&location(&res), "サインアウトしました。").await);
    assert_eq!(app.count("portal_sessions"), 0);
    assert_eq!(p.get("/admin").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.events(ADMIN_ID).last().unwrap(), "logout");
}

#[tokio::test]
async fn the_session_cookie_is_secure_outside_localhost() {
    let app = spawn_app_configured(|_| {}).await; // public URL https://staffgate.test
    app.seed_admin();
    let (_, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = session_cookie(&res);
    assert!(session.contains("Secure"), "{session}");
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_the_account_locks() {
    let app = spawn_portal().await;
    app.seed_admin();
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, "wrong-password-1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("職員番号またはパスワードが正しくありません")
    );
    for _ in 0..4 {
        p.sign_in(ADMIN_ID, "wrong-password-1").await;
    }
    // Locked now: even the right password is refused, with the time it ends (JST).
    let res = p.sign_in(ADMIN_ID, ADMIN_PW).await;
    assert_eq!(res.status().as_u16(), 423);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("ロックされています") && html.contains("09:30"),
        "{html}"
    );
    assert_eq!(app.count("portal_sessions"), 0);
    assert!(app.employee(ADMIN_ID).locked_until.is_some());
}

#[tokio::test]
async fn staff_without_admin_permission_get_403_and_no_session() {
    let app = spawn_portal().await;
    app.seed_staff();
    let (_, res) = Portal::signing_in(&app, STAFF_ID, STAFF_PW).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("人事管理者"));
    let mut conn = app.db.conn();
    use diesel::prelude::*;
    let rows: Vec<(Option<i64>, String)> = staffgate::db::schema::portal_sessions::table
        .select((
            staffgate::db::schema::portal_sessions::employee_ref,
            staffgate::db::schema::portal_sessions::state,
        ))
        .load(&mut conn)
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    assert_eq!(app.events(STAFF_ID), vec!["portal_denied"]);
    assert_eq!(app.employee(STAFF_ID).failed_login_count, 0);
}

#[tokio::test]
async fn an_admin_who_loses_the_permission_gets_403_on_the_next_page() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    app.set_permission(ADMIN_ID, 3.0);
    let res = p.get("/admin/employees").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("権限がありません"));
    // The session ended with it: the sign-in page is open for someone else.
    assert_eq!(app.count("portal_sessions"), 0);
    assert_eq!(p.get("/admin/login").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_with_403() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "N0002",
        ..Seed::default()
    });
    let p = Portal::signed_in_admin(&app).await;
    let before = app.count("login_history");
    let path = "/admin/employees/N0002/unlock";
    let missing = p
        .post(path, &[("reason", "電話で確認"), ("confirm", "yes")])
        .await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = p
        .post(
            path,
            &[
                ("csrf", "0000"),
                ("reason", "電話で確認"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("フォームの有効期限が切れました")
    );
    assert_eq!(
        app.count("login_history"),
        before,
        "nothing was recorded or changed"
    );

    // The sign-in form itself needs its cookie-bound token.
    let fresh = Portal::new(&app);
    let res = fresh
        .post(
            "/admin/login",
            &[("employee_id", ADMIN_ID), ("password", ADMIN_PW)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn idle_and_absolute_timeouts_send_you_back_to_sign_in() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(p.get("/admin").await.status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(31));
    let res = p.get("/admin/employees").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).contains("expired=1"), "{}", location(&res));
    let login = p.get(&location(&res)).await.text().await.unwrap();
    assert!(login.contains("サインアウトしました"));

    // Active all day: still out after 8 hours.
    let p = Portal::admin_signs_in(&app).await;
    for _ in 0..16 {
        app.clock.advance(chrono::Duration::minutes(29));
        assert_eq!(p.get("/admin").await.status(), StatusCode::OK);
    }
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(p.get("/admin").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_out_of_my_other_sessions() {
    let app = spawn_portal().await;
    let office = Portal::signed_in_admin(&app).await;
    let ward = Portal::admin_signs_in(&app).await;
    let list = office.html("/admin/sessions").await;
    assert_eq!(list.matches("<tr").count() - 1, 2, "two sessions listed");
    assert!(list.contains(PORTAL_IP));

    let res = office
        .submit("/admin/sessions", "/admin/sessions/end-others", &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(office.shows("/admin/sessions", "1件終了しました").await);
    assert_eq!(ward.get("/admin").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(office.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_with_an_initial_password_must_change_it_first() {
    let app = spawn_portal().await;
    app.seed(Seed {
        must_change: true,
        ..Seed::admin()
    });
    let (p, res) = Portal::signing_in(&app, ADMIN_ID, ADMIN_PW).await;
    assert_eq!(location(&res), "/admin/password");
    let res = p.get("/admin/employees").await;
    assert_eq!(location(&res), "/admin/password");

    let res = p.change_password(ADMIN_PW, "password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("推測されやすい"));

    let res = p.change_password(ADMIN_PW, "Fresh-Jinji-Pass-9").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows("/admin", "パスワードを変更しました").await);
    assert!(!app.employee(ADMIN_ID).password_must_change);
    assert_eq!(
        app.tokens(ADMIN_ID, "Fresh-Jinji-Pass-9").await["scope"],
        "full"
    );
}

#[tokio::test]
async fn employees_are_found_by_id_name_kana_and_department_and_filtered() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "N0001",
        name: "山田 花子",
        ..Seed::default()
    });
    app.seed(Seed {
        code: "N0002",
        name: "佐藤 次郎",
        password: None,
        must_change: true,
        ..Seed::default()
    });
    app.seed(Seed {
        code: "D0100",
        name: "鈴木 一郎",
        status: "retired",
        ..Seed::default()
    });
    let p = Portal::signed_in_admin(&app).await;

    let all = p.html("/admin/employees").await;
    assert!(all.contains("4件"), "3 staff + the admin");
    let by_name = p.html("/admin/employees?q=%E5%B1%B1%E7%94%B0").await; // 山田
    assert!(by_name.contains("N0001") && !by_name.contains("N0002"));
    let by_prefix = p.html("/admin/employees?q=D01").await;
    assert!(by_prefix.contains("鈴木 一郎") && by_prefix.contains("1件"));
    let no_pw = p.html("/admin/employees?no_password=1").await;
    assert!(
        no_pw.contains("N0002") && !no_pw.contains("N0001") && no_pw.contains("パスワード未設定")
    );
    let retired = p.html("/admin/employees?status=retired").await;
    assert!(retired.contains("D0100") && retired.contains("退職"));
    let none = p.html("/admin/employees?q=%25").await; // a literal %, not a wildcard
    assert!(none.contains("条件に合う職員はいません"));
    assert_eq!(
        p.get("/admin/employees/NOPE99").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn issuing_a_qr_shows_it_once_and_the_code_signs_the_employee_in() {
    let app = spawn_portal().await;
    let p = Portal::admin_with_new_employee(&app).await;
    let page = employee_page(STAFF_ID);
    let res = p.issue_qr(STAFF_ID, &[("validity", "24")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "cache-control").contains("no-store"));
    let html = res.text().await.unwrap();
    assert!(html.contains("data:image/png;base64,"));
    assert!(html.contains("2026-04-02 09:00"), "expiry shown in JST");
    let token = &token_in(&html);

    // Reissue: the first code no longer works, the second does.
    let res = p
        .issue_qr(STAFF_ID, &[("validity", "custom"), ("custom_hours", "5")])
        .await;
    let html2 = res.text().await.unwrap();
    assert!(html2.contains("2026-04-01 14:00"));
    let token2 = &token_in(&html2);
    assert_eq!(app.verify(token).await.status().as_u16(), 410);
    assert_eq!(app.verify(token2).await.status(), StatusCode::OK);

    let detail = p.html(&page).await;
    assert!(detail.contains("使用済み") && detail.contains("無効"));
    let events = app.events(STAFF_ID);
    assert!(
        events.contains(&"token_issued".to_owned()) && events.contains(&"token_revoked".to_owned())
    );

    let bad = p
        .issue_qr(STAFF_ID, &[("validity", "custom"), ("custom_hours", "169")])
        .await;
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "1〜168時間").await);
}

/// Issuing answers with a redirect to the code's page: reloading that page (or coming back to
/// it) shows the same code and issues nothing, for 10 minutes and in this session only. The
/// session row in the database holds the code only sealed.
#[tokio::test]
async fn reloading_the_issued_qr_page_shows_the_same_code_and_issues_no_other() {
    let app = spawn_portal().await;
    let p = Portal::admin_with_new_employee(&app).await;
    let page = employee_page(STAFF_ID);
    let issued = format!("{page}/issued");
    let first = p.issue_qr(STAFF_ID, &[("validity", "72")]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let token = token_in(&first.text().await.unwrap());

    for _ in 0..3 {
        let again = p.get(&issued).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert!(header(&again, "cache-control").contains("no-store"));
        let html = again.text().await.unwrap();
        assert_eq!(token_in(&html), token, "a reload shows the same code");
        assert!(html.contains("2026-04-04 09:00"), "its expiry, 72 h on");
    }
    assert_eq!(app.count("onetime_tokens"), 1, "a reload issued nothing");
    assert_eq!(app.event_count(STAFF_ID, "token_issued"), 1);
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);

    let mut conn = app.db.conn();
    let sessions: Vec<String> =
        diesel::sql_query("SELECT CAST(state AS CHAR) AS state FROM portal_sessions")
            .load::<SessionState>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|s| s.state)
            .collect();
    assert!(
        sessions.iter().any(|s| s.contains("issued_qr")),
        "{sessions:?}"
    );
    assert!(
        sessions.iter().all(|s| !s.contains(&token)),
        "the session row holds the code in the clear"
    );

    // Another admin's session cannot show it.
    let other = Portal::admin_signs_in(&app).await;
    let res = other.get(&issued).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), page);
    assert!(other.shows(&page, "10分間").await);

    // Ten minutes on, the page is gone; the code itself still works until it expires.
    app.clock.advance(chrono::Duration::minutes(11));
    let res = p.get(&issued).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "もう一度発行してください").await);
    assert_eq!(app.count("onetime_tokens"), 1);
}

/// The 詳細 columns read as labelled fields with JST times: no JSON, no UTC timestamps, on the
/// employee page, in the login history and in the audit log (whose IP column is filled).
#[tokio::test]
async fn records_read_as_labelled_fields_in_jst_not_json() {
    let app = spawn_portal().await;
    let p = Portal::admin_with_new_employee(&app).await;
    p.issue_qr(STAFF_ID, &[("validity", "72")]).await;
    p.issue_qr(STAFF_ID, &[("validity", "24")]).await;
    app.seed(Seed {
        code: "N0002",
        name: "病棟 次郎",
        ..Seed::default()
    });
    app.lock_out("N0002", STAFF_PW).await;
    p.submit(
        &employee_page("N0002"),
        &format!("{}/unlock", employee_page("N0002")),
        &[("reason", "本人に電話で確認"), ("confirm", "yes")],
    )
    .await;
    let policy = [
        ("warn_days", "14"),
        ("expire_days", "180"),
        ("long_length", "13"),
        ("enabled", "1"),
    ];
    let res = p.submit("/admin/policy", "/admin/policy", &policy).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let employee = p.html(&employee_page(STAFF_ID)).await;
    assert!(
        employee.contains("有効期間: 72 時間") && employee.contains("有効期限: 2026-04-04 09:00"),
        "{employee}"
    );
    assert!(employee.contains("理由: 新しいQRコードの発行 · 新しいQRコード #2 に置き換え"));
    let locked = p.html(&employee_page("N0002")).await;
    assert!(
        locked.contains("ロック解除予定: 2026-04-01 09:30:00"),
        "{locked}"
    );
    assert!(locked.contains("理由: 本人に電話で確認"));
    let history = p.html("/admin/history").await;
    let audit = p.html("/admin/audit").await;
    for (page, html) in [
        ("employee", &employee),
        ("history", &history),
        ("audit", &audit),
    ] {
        let cells: Vec<&str> = html
            .split("<td class=\"detail\">")
            .skip(1)
            .map(|c| &c[..c.find("</td>").unwrap()])
            .collect();
        assert!(!cells.is_empty(), "{page} has details");
        for cell in cells {
            assert!(
                !cell.contains('{') && !cell.contains("&#34;") && !cell.contains("&quot;"),
                "JSON on the {page} page: {cell}"
            );
            assert!(
                !cell.contains("+00:00") && !cell.contains("T00:"),
                "UTC on the {page} page: {cell}"
            );
        }
    }
    assert!(audit.contains("パスワード有効期限の設定変更"), "{audit}");
    assert!(
        audit.contains("事前のお知らせ（日）: ") && audit.contains(" → 14"),
        "{audit}"
    );
    assert!(
        audit.contains(&format!("<td>{PORTAL_IP}</td>")),
        "the audit log shows the address: {audit}"
    );
}

/// The server's own address leads to the portal's sign-in page, which tells staff who land
/// there where they sign in; the staff page names the app too, its name HTML-escaped.
#[tokio::test]
async fn the_root_address_and_the_staff_pages_name_the_app_staff_sign_in_to() {
    let app = spawn_portal_configured(|s| {
        s.staff_app.name = Some("VoiceDrive <病棟>".into());
        s.staff_app.url = Some("https://voicedrive.hospital.example.jp".into());
    })
    .await;
    let p = Portal::new(&app);
    let icon = p.get("/favicon.ico").await;
    assert_eq!(icon.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(p.get(&location(&icon)).await.status(), StatusCode::OK);
    let root = p.get("/").await;
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&root), "/admin");
    let login = p.html("/admin/login").await;
    assert!(
        login.contains("職員の方のサインイン先は <a href=\"https://voicedrive.hospital.example.jp\">VoiceDrive &#60;病棟&#62;</a> です。")
            || login.contains("職員の方のサインイン先は <a href=\"https://voicedrive.hospital.example.jp\">VoiceDrive &lt;病棟&gt;</a> です。"),
        "{login}"
    );
    let welcome = p.html("/welcome").await;
    assert!(
        welcome.contains("<meta name=\"staffgate-app-name\" content=\"VoiceDrive &lt;病棟&gt;\">")
            && welcome.contains("<meta name=\"staffgate-app-url\" content=\"https://voicedrive.hospital.example.jp\">"),
        "{welcome}"
    );

    // Not configured: nothing is named, and the placeholders do not show.
    let plain = spawn_portal().await;
    let welcome = Portal::new(&plain).html("/welcome").await;
    assert!(welcome.contains("<meta name=\"staffgate-app-name\" content=\"\">"));
    assert!(!welcome.contains("{{"));
    assert!(
        !Portal::new(&plain)
            .html("/admin/login")
            .await
            .contains("staff-app")
    );
}

/// The audit log filters by JST day and exports what it shows as CSV (readable details and the
/// recorded JSON), and taking the copy is itself recorded.
#[tokio::test]
async fn the_audit_log_filters_by_day_and_exports_csv() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let policy = |warn: &'static str| {
        [
            ("warn_days", warn),
            ("expire_days", "180"),
            ("long_length", "13"),
            ("enabled", "1"),
        ]
    };
    p.submit("/admin/policy", "/admin/policy", &policy("14"))
        .await;
    // Two days later (JST), another change.
    app.clock.advance(chrono::Duration::days(2));
    let p = Portal::admin_signs_in(&app).await;
    p.submit("/admin/policy", "/admin/policy", &policy("21"))
        .await;

    let first_day = p.html("/admin/audit?from=2026-04-01&to=2026-04-01").await;
    assert!(
        first_day.contains("→ 14") && !first_day.contains("→ 21"),
        "{first_day}"
    );
    let later = p.html("/admin/audit?from=2026-04-02").await;
    assert!(later.contains("→ 21") && !later.contains("→ 14"), "{later}");
    let bad = p.html("/admin/audit?from=2026-04-05&to=2026-04-01").await;
    assert!(bad.contains("開始日が終了日より後になっています"));
    let bad = p.html("/admin/audit?from=4/1").await;
    assert!(bad.contains("YYYY-MM-DD"));
    assert!(
        later.contains("href=\"/admin/audit/export.csv?from=2026-04-02\""),
        "{later}"
    );

    let res = p
        .get("/admin/audit/export.csv?from=2026-04-01&to=2026-04-01")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-disposition").contains("audit-log-"));
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].contains("日時（JST）") && lines[0].contains("詳細（JSON）"));
    assert!(
        lines[1].starts_with(
            "\"2026-04-01 09:00\",\"policy_changed\",\"パスワード有効期限の設定変更\""
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("事前のお知らせ（日）: 90 → 14"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("\"\"new\"\":\"\"14\"\""),
        "the JSON too: {}",
        lines[1]
    );
    assert!(p.shows("/admin/audit", "操作記録の書き出し").await);
}

#[derive(diesel::QueryableByName)]
struct SessionState {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
}

#[tokio::test]
async fn a_token_can_be_revoked_from_the_detail_page() {
    let app = spawn_portal().await;
    let p = Portal::admin_with_new_employee(&app).await;
    let page = employee_page(STAFF_ID);
    let issued = p.issue_qr(STAFF_ID, &[("validity", "72")]).await;
    let html = issued.text().await.unwrap();
    let token = token_in(&html);
    let detail = p.html(&page).await;
    let action = detail
        .split("action=\"")
        .find(|a| a.contains("/revoke"))
        .unwrap();
    let action = &action[..action.find('"').unwrap()];
    let res = p.submit(&page, action, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "QRコードを無効にしました").await);
    assert_eq!(app.verify(&token).await.status().as_u16(), 410);
}

#[tokio::test]
async fn unlock_needs_a_reason_and_a_confirmation_and_is_recorded() {
    let app = spawn_portal().await;
    app.seed_staff();
    app.lock_out(STAFF_ID, STAFF_PW).await;
    let p = Portal::signed_in_admin(&app).await;
    let page = employee_page(STAFF_ID);
    let path = format!("{page}/unlock");
    assert!(p.shows("/admin", "id=\"stat-locked\">1<").await);
    assert!(p.shows("/admin/locked", STAFF_ID).await);

    let res = p
        .submit(&page, &path, &[("reason", " "), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "解除の理由を入力してください").await);
    let res = p
        .submit(&page, &path, &[("reason", "本人に電話で確認")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(p.shows(&page, "確認のチェック").await);
    assert_eq!(
        app.login(STAFF_ID, STAFF_PW).await.status().as_u16(),
        423,
        "still locked"
    );

    let res = p
        .submit(
            "/admin/locked",
            &path,
            &[
                ("reason", "本人に電話で確認"),
                ("confirm", "yes"),
                ("back", "locked"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/admin/locked");
    assert!(p.shows("/admin/locked", "ロックを解除しました").await);
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);
    let history = p
        .html(&format!(
            "/admin/history?employee={STAFF_ID}&event=unlocked"
        ))
        .await;
    assert!(
        history.contains("本人に電話で確認") && history.contains("人事 太郎（HR0001）"),
        "{history}"
    );
}

#[tokio::test]
async fn csv_import_previews_every_bad_row_and_writes_nothing() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let csrf = csrf_in(&p.html("/admin/import").await);
    let csv = "employee_id,name,name_kana,department,email,permission_level\n\
               N0101,山田 花子,ヤマダ ハナコ,看護部,,1.0\n\
               ,名無し,,看護部,,1.0\n\
               N0103,田中 三郎,タナカ サブロウ,薬剤部,not-an-email,1.0\n";
    let res = p.upload(&csrf, "staff.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<td>3</td>") && html.contains("<td>4</td>"),
        "both bad lines listed: {html}"
    );
    assert!(!html.contains("id=\"confirm\""));
    assert_eq!(app.count("employees"), 1, "only the admin");

    let wrong = p.upload("nope", "staff.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn csv_import_confirms_then_writes_and_audits() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let csrf = csrf_in(&p.html("/admin/import").await);
    // Shift_JIS, as Excel saves it.
    let text = "employee_id,name,name_kana,department,email,permission_level\r\n\
                N0101,髙橋 美咲,タカハシ ミサキ,看護部,misaki@example.jp,1.0\r\n\
                N0102,渡辺 健,ワタナベ ケン,放射線科,,2.0\r\n";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let res = p.upload(&csrf, "roster.csv", sjis.to_vec()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"count-created\">2<"));
    assert_eq!(app.count("employees"), 1, "preview writes nothing");
    let payload_marker = "name=\"payload\" value=\"";
    let s = html.find(payload_marker).unwrap() + payload_marker.len();
    let payload = &html[s..s + html[s..].find('"').unwrap()];
    let res = p
        .post(
            "/admin/import/confirm",
            &[
                ("csrf", &csrf),
                ("payload", payload),
                ("filename", "roster.csv"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/employees");
    let list = p.html("/admin/employees").await;
    assert!(list.contains("2件を取り込みました") && list.contains("髙橋 美咲"));
    assert_eq!(app.count("employees"), 3);
    let audit = p.html("/admin/audit").await;
    assert!(audit.contains("職員の一括取り込み") && audit.contains(ADMIN_ID));
}

#[tokio::test]
async fn login_history_filters_pages_and_exports_csv_with_a_bom() {
    let app = spawn_portal().await;
    app.seed_staff();
    // From changing addresses, so the per-(ID, address) limit refuses none of them unchecked.
    for i in 0..60 {
        app.login_from(
            &format!("192.0.2.{}", i + 100),
            STAFF_ID,
            if i % 2 == 0 {
                STAFF_PW
            } else {
                "wrong-password"
            },
        )
        .await;
        app.clock.advance(chrono::Duration::minutes(1));
    }
    let p = Portal::signed_in_admin(&app).await;
    let failed = p
        .html(&format!(
            "/admin/history?employee={STAFF_ID}&event=password_login_failed"
        ))
        .await;
    let rows = failed.matches("<tr>").count() - 1; // the header row
    assert!(rows >= 30, "every wrong password is listed");
    assert_eq!(failed.matches("<td>サインイン失敗</td>").count(), rows);
    assert!(!failed.contains("<td>サインイン（パスワード）</td>"));
    let first = p.html(&format!("/admin/history?employee={STAFF_ID}")).await;
    assert_eq!(first.matches("<tr>").count() - 1, 50, "a page is 50 rows");
    let next = first.split("rel=\"next\"").next().unwrap();
    let href = &next[next.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    let second = p.html(&href).await;
    let total = app.events(STAFF_ID).len();
    assert_eq!(second.matches("<tr>").count() - 1, total - 50);

    let none = p.html("/admin/history?from=2026-04-02").await;
    assert!(none.contains("条件に合う記録はありません"));
    let bad = p.html("/admin/history?from=2026-13-01").await;
    assert!(bad.contains("YYYY-MM-DD"));

    let res = p
        .get(&format!(
            "/admin/history/export.csv?employee={STAFF_ID}&from=2026-04-01&to=2026-04-01"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-disposition").contains("attachment"));
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), total + 1, "header + every event");
    assert!(lines[0].starts_with("\"日時（JST）\""));
    assert!(lines[1].contains("\"2026-04-01 09:59\""), "{}", lines[1]);
}

#[tokio::test]
async fn unknown_portal_pages_are_html_404s() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let res = p.get("/admin/nothing-here").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(header(&res, "content-type").starts_with("text/html"));
}

#[tokio::test]
async fn the_portal_speaks_english_on_request() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let res = p.get("/admin/lang/en?back=/admin/employees").await;
    assert_eq!(location(&res), "/admin/employees");
    let html = p.html("/admin/employees").await;
    assert!(
        html.contains("<html lang=\"en\">")
            && html.contains("Employees")
            && html.contains("Last sign-in")
    );
    let res = p.get("/admin/lang/ja?back=https://evil.example/").await;
    assert_eq!(location(&res), "/admin");
    assert!(p.shows("/admin", "ダッシュボード").await);
}

#[tokio::test]
async fn a_portal_session_works_on_every_node_and_ends_on_every_node() {
    // Both nodes share the session key, as a deployment behind a load balancer does.
    let node = |s: &mut staffgate::config::Settings| {
        s.http.public_url = "http://127.0.0.1".into();
        s.keys.session_key = Some(vec![7u8; 64]);
    };
    let a = spawn_app_configured(node).await;
    let b = a.another_node(node).await;
    let p = Portal::signed_in_admin(&a).await;
    let on_b = p.on(&b);
    assert!(on_b.shows("/admin/employees", "人事 太郎").await);
    let res = on_b.sign_out().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        p.get("/admin").await.status(),
        StatusCode::SEE_OTHER,
        "ended on node A too"
    );
}

#[tokio::test]
async fn a_session_ended_during_a_request_does_not_come_back() {
    use actix_session::storage::{SessionKey, SessionStore};
    use staffgate::routes::portal::store::MysqlSessionStore;
    let app = spawn_portal().await;
    let admin = app.seed_admin();
    let store = MysqlSessionStore::new(app.state.clone());
    let ttl = actix_web::cookie::time::Duration::minutes(30);
    let state = std::collections::HashMap::from([
        ("uid".to_owned(), admin.to_string()),
        ("sid".to_owned(), "\"abc\"".to_owned()),
        ("csrf".to_owned(), "\"t\"".to_owned()),
        (
            "flash".to_owned(),
            "{\"kind\":\"ok\",\"text\":\"x\"}".to_owned(),
        ),
    ]);
    let key = store.save(state.clone(), &ttl).await.unwrap();
    // Signed out elsewhere while a slow request still holds the old state.
    store.delete(&key).await.unwrap();
    let fresh: SessionKey = store.update(key, state, &ttl).await.unwrap();
    let revived = store.load(&fresh).await.unwrap().unwrap();
    assert!(!revived.contains_key("uid") && !revived.contains_key("csrf"));
    assert!(revived.contains_key("flash"));
}

#[tokio::test]
async fn nobody_administers_an_account_above_their_own_level() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "SYS001",
        name: "情報 管理者",
        permission: 50.0,
        ..Seed::default()
    });
    app.lock_out("SYS001", STAFF_PW).await;
    let p = Portal::signed_in_admin(&app).await;
    let page = "/admin/employees/SYS001";
    let res = p
        .submit(
            page,
            "/admin/employees/SYS001/unlock",
            &[("reason", "依頼あり"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        p.shows(
            page,
            "権限レベルの高いアカウントは操作（QRコードの発行・無効化、ロック解除）できません"
        )
        .await
    );
    assert!(app.employee("SYS001").locked_until.is_some());

    // Import cannot lower (then take over) or raise an account beyond the admin's level.
    let csrf = csrf_in(&p.html("/admin/import").await);
    let csv = "employee_id,name,name_kana,department,email,permission_level\n\
               SYS001,情報 管理者,,情報システム部,,1.0\n\
               N0500,新人 一郎,,看護部,,9.5\n\
               N0501,新人 二郎,,看護部,,1.0\n";
    let res = p.upload(&csrf, "levels.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert_eq!(
        html.matches("より高いアカウントは作成・変更できません")
            .count(),
        2
    );
    assert!((app.employee("SYS001").permission_level - 50.0).abs() < 0.01);
}

#[tokio::test]
async fn exporting_the_history_is_recorded() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let res = p
        .get("/admin/history/export.csv?event=password_login_ok")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let _ = res.bytes().await.unwrap();
    let audit = p.html("/admin/audit").await;
    assert!(audit.contains("サインイン履歴の書き出し") && audit.contains("password_login_ok"));
}
