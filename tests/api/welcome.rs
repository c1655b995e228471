//! The staff landing page (/welcome) and the static files over HTTP: the content security
//! policy, the web app manifest, the assets and their caching.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_staff_landing_page_and_its_assets_are_served() {
    let app = spawn_portal().await;
    let res = app.get("/welcome").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-security-policy").contains("connect-src 'self'"));
    let html = res.text().await.unwrap();
    assert!(html.contains("/static/js/welcome.js"));
    app.assert_served(&[
        "/static/js/welcome.js",
        "/static/css/staff.css",
        "/static/manifest.webmanifest",
        "/static/css/portal.css",
    ])
    .await;
}

#[tokio::test]
async fn the_welcome_page_follows_the_content_security_policy() {
    let app = spawn_app().await;
    let res = app.get("/welcome").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = header(&res, "content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
    assert!(html.contains("<link rel=\"manifest\" href=\"/static/manifest.webmanifest\">"));
    assert!(!html.contains(" style="), "no inline style attributes");
    assert!(!html.contains("<style"), "no inline style elements");
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/static/").count(),
        "every script is a file of ours"
    );

    let manifest = app.get_json("/static/manifest.webmanifest").await;
    assert_eq!(manifest["name"], "staffgate 職員サインイン");
    assert_eq!(manifest["start_url"], "/welcome");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["icons"][0]["src"], "/static/img/icon.svg");
    assert_eq!(manifest["icons"][0]["sizes"], "any");
    app.assert_served(&[
        "/static/js/welcome.js",
        "/static/css/staff.css",
        "/static/img/icon.svg",
    ])
    .await;
}

#[tokio::test]
async fn static_files_are_revalidated_with_an_etag() {
    let app = spawn_portal().await;
    let res = app.get("/static/js/welcome.js").await;
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let tag = header(&res, "etag");
    let again = app
        .client
        .get(app.url("/static/js/welcome.js"))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
