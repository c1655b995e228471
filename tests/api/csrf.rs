//! CSRF by construction: every portal route that accepts a POST, taken from the router's own
//! route table, refuses a request without the session's token before anything happens.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_ID, ADMIN_PW, Portal, STAFF_ID, Seed, TestApp, csrf_in, spawn_portal};

/// The portal's paths that take an unsafe method, as the server registers them, with path
/// parameters filled in.
fn post_paths() -> Vec<String> {
    staffgate::routes::portal::routes()
        .into_iter()
        .filter(|r| !r.method.is_safe())
        .map(|r| {
            format!(
                "/admin{}",
                r.path.replace("{code}", STAFF_ID).replace("{id}", "1")
            )
        })
        .collect()
}

fn changes(app: &TestApp) -> [i64; 5] {
    [
        app.count("login_history"),
        app.count("admin_audit"),
        app.count("onetime_tokens"),
        app.count("portal_sessions"),
        app.count("history_archive_runs"),
    ]
}

#[tokio::test]
async fn every_portal_post_without_the_token_is_refused_with_403() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: STAFF_ID,
        ..Seed::default()
    });
    let p = Portal::signed_in_admin(&app).await;
    let paths = post_paths();
    for expected in [
        "/admin/login",
        "/admin/logout",
        "/admin/password",
        "/admin/employees/N0001/unlock",
        "/admin/import/preview",
        "/admin/sheets/print",
        "/admin/history/archive/run",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} is in the route table: {paths:?}"
        );
    }
    let before = changes(&app);
    for path in &paths {
        let form = p
            .post(path, &[("reason", "確認済み"), ("confirm", "yes")])
            .await;
        assert_eq!(form.status(), StatusCode::FORBIDDEN, "form POST {path}");
        let wrong = p
            .post(path, &[("csrf", "not-the-token"), ("confirm", "yes")])
            .await;
        assert_eq!(
            wrong.status(),
            StatusCode::FORBIDDEN,
            "wrong token POST {path}"
        );
        let header = p
            .client
            .post(format!("{}{path}", p.base))
            .header("X-CSRF-Token", "not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(header.status(), StatusCode::FORBIDDEN, "header POST {path}");
        let multipart = reqwest::multipart::Form::new()
            .text("confirm", "yes")
            .text("csrf", "not-the-token");
        let upload = p
            .client
            .post(format!("{}{path}", p.base))
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        assert_eq!(
            upload.status(),
            StatusCode::FORBIDDEN,
            "multipart POST {path}"
        );
        assert!(
            upload
                .text()
                .await
                .unwrap()
                .contains("フォームの有効期限が切れました"),
            "the refusal says what to do: {path}"
        );
    }
    assert_eq!(changes(&app), before, "nothing was written");
    // Still signed in: the refusals ended nothing.
    assert_eq!(p.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_token_is_accepted_from_the_form_the_header_and_a_multipart_upload() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let csrf = csrf_in(&p.html("/admin/sessions").await);
    // URL-encoded form field.
    let res = p
        .post("/admin/sessions/end-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Header (a script on the portal's own pages).
    let res = p
        .client
        .post(format!("{}/admin/sessions/end-others", p.base))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Multipart: the token is the first field, the file after it reaches the handler whole.
    let csv = "employee_id,name,name_kana,department,email,permission_level\nN0900,新人 花子,,看護部,,1.0\n";
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("staff.csv"),
        );
    let res = p
        .client
        .post(format!("{}/admin/import/preview", p.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("staff.csv") && html.contains("id=\"count-created\">1<"),
        "{html}"
    );
    // A token after the file is not looked for: the form puts it first.
    let late = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("staff.csv"),
        )
        .text("csrf", csrf);
    let res = p
        .client
        .post(format!("{}/admin/import/preview", p.base))
        .multipart(late)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_right_token_posted_from_another_site_is_refused() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let csrf = csrf_in(&p.html("/admin/sessions").await);
    // A sibling subdomain is the same site for SameSite cookies; the browser still says
    // the form did not come from the portal's own origin.
    for site in ["same-site", "cross-site"] {
        let res = p
            .client
            .post(format!("{}/admin/logout", p.base))
            .header("Sec-Fetch-Site", site)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{site}");
    }
    assert_eq!(
        p.get("/admin").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let res = p
        .client
        .post(format!("{}/admin/logout", p.base))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the portal's own form");
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_cookie_repeated() {
    let app = spawn_portal().await;
    app.seed_admin();
    let p = Portal::new(&app);
    let page = p.html("/admin/login").await;
    let token = csrf_in(&page);
    let sign_in = |csrf: String| {
        let p = &p;
        async move {
            p.post(
                "/admin/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("employee_id", ADMIN_ID),
                    ("password", ADMIN_PW),
                ],
            )
            .await
        }
    };
    // The cookie is there, the form repeats something else.
    let other = "0".repeat(64);
    assert_eq!(sign_in(other).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("portal_sessions"), 0);
    // The same form without the cookie (another browser, or a forged post).
    let bare = Portal::new(&app);
    let res = bare
        .post(
            "/admin/login",
            &[
                ("csrf", token.as_str()),
                ("employee_id", ADMIN_ID),
                ("password", ADMIN_PW),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Cookie and form agree: signed in.
    assert_eq!(sign_in(token).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("portal_sessions"), 1);
}
