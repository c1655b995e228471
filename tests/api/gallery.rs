//! Every portal page as an HR administrator sees it: Chromium in Japanese on a 1280 px screen.
//! The menu fits one row on every page and reaches every page. Each page is saved as a PNG in
//! `STAFFGATE_SCREENSHOTS` when that is set (`docs/screenshots` holds the README's gallery),
//! otherwise in a scratch directory that is removed.

use std::path::PathBuf;

use serde_json::json;

use crate::helpers::browser::Browser;
use crate::helpers::tools::scratch_dir;
use crate::helpers::*;

/// Every page a menu entry or the signed-in corner leads to, and one file name each.
const PAGES: [(&str, &str); 18] = [
    ("01-dashboard", "/admin"),
    ("02-employees", "/admin/employees"),
    ("03-employee", "/admin/employees/N0001"),
    ("05-locked", "/admin/locked"),
    ("06-import", "/admin/import"),
    ("07-sheets", "/admin/sheets"),
    ("08-sheets-confirm", "/admin/sheets/confirm?pending=1"),
    ("09-history", "/admin/history"),
    ("10-history-archive", "/admin/history?source=archive"),
    ("11-archive-run", "/admin/history/archive"),
    ("12-audit", "/admin/audit"),
    ("13-policy", "/admin/policy"),
    ("14-mail", "/admin/mail"),
    ("15-sessions", "/admin/sessions"),
    ("16-password", "/admin/password"),
    ("17-employee-locked", "/admin/employees/N0002"),
    ("22-security", "/admin/security"),
    ("23-mfa-resets", "/admin/mfa-resets"),
];

fn save(dir: &std::path::Path, name: &str, png: &[u8]) {
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_page_in_japanese_at_1280_px_keeps_the_menu_on_one_row() {
    let app = spawn_portal_configured(|s| {
        s.staff_app.name = Some("VoiceDrive".into());
        s.staff_app.url = Some("https://voicedrive.hospital.example.jp".into());
        s.sheets.organisation = "医療法人 さくら会 さくら総合病院".into();
    })
    .await;
    app.seed_admin();
    app.seed_staff_without_password();
    app.seed(Seed {
        code: "N0002",
        name: "病棟 次郎",
        department: "看護部 第3病棟",
        ..Seed::default()
    });
    app.lock_out("N0002", STAFF_PW).await;
    let (dir, keep) = match std::env::var("STAFFGATE_SCREENSHOTS") {
        Ok(d) if !d.is_empty() => (PathBuf::from(d), true),
        _ => (scratch_dir("screenshots"), false),
    };
    std::fs::create_dir_all(&dir).unwrap();

    let browser = Browser::start().await;
    browser.resize(1280, 900).await;
    browser.goto(&app.url("/admin/login")).await;
    browser.wait_for("#employee_id").await;
    save(
        &dir,
        "00-login",
        &browser.client().screenshot().await.unwrap(),
    );
    browser.admin_signs_in_at(&app, "/admin/employees").await;

    // Issue a QR code from the employee page: the page that shows it.
    browser.goto(&app.url("/admin/employees/N0001")).await;
    browser.click("#issue").await;
    browser.wait_for("#qr").await;
    save(
        &dir,
        "04-issued",
        &browser.client().screenshot().await.unwrap(),
    );

    let mut reached = std::collections::BTreeSet::new();
    for (name, path) in PAGES {
        browser.goto(&app.url(path)).await;
        browser.wait_for("main h1").await;
        let menu = browser
            .js(
                "const links = [...document.querySelectorAll('.main-nav a')];
                 return { rows: new Set(links.map(a => a.offsetTop)).size,
                          hrefs: links.map(a => a.getAttribute('href')),
                          me: [...document.querySelectorAll('.me a')].map(a => a.getAttribute('href')) };",
            )
            .await;
        assert_eq!(menu["rows"], json!(1), "{name}: the menu wraps: {menu}");
        for href in menu["hrefs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(menu["me"].as_array().unwrap())
        {
            reached.insert(href.as_str().unwrap().to_owned());
        }
        let h1 = browser.text("main h1").await;
        assert!(!h1.is_empty(), "{name} has a heading");
        save(&dir, name, &browser.client().screenshot().await.unwrap());
    }
    for page in [
        "/admin",
        "/admin/employees",
        "/admin/locked",
        "/admin/import",
        "/admin/sheets",
        "/admin/history",
        "/admin/audit",
        "/admin/policy",
        "/admin/mail",
        "/admin/security",
    ] {
        assert!(
            reached.contains(page),
            "no menu entry leads to {page}: {reached:?}"
        );
    }

    // An import preview of a changed roster.
    let roster = "employee_id,name,name_kana,department,email,permission_level\r\n\
                  N0001,看護 花子,かんご はなこ,外来,hanako@hospital.example.jp,1.0\r\n\
                  N0003,渡邊 健,ﾜﾀﾅﾍﾞ ｹﾝ,放射線科,,1.0\r\n";
    let file = dir.join("roster.csv");
    std::fs::write(&file, encoding_rs::SHIFT_JIS.encode(roster).0).unwrap();
    browser.goto(&app.url("/admin/import")).await;
    browser
        .find("#file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    browser.click("#upload").await;
    browser.wait_for("#updated").await;
    save(
        &dir,
        "06b-import-preview",
        &browser.client().screenshot().await.unwrap(),
    );
    std::fs::remove_file(&file).unwrap();

    // In the history, a name opens the person's page.
    browser.goto(&app.url("/admin/history")).await;
    browser
        .click("#history a[href='/admin/employees/N0002']")
        .await;
    browser.wait_for("#employee-id").await;
    assert_eq!(browser.text("#employee-id").await, "N0002");

    // Signing out says so.
    browser.click(".me button[type=submit]").await;
    browser.wait_for("#employee_id").await;
    assert!(
        browser.text("main").await.contains("サインアウトしました"),
        "{}",
        browser.text("main").await
    );
    save(
        &dir,
        "18-signed-out",
        &browser.client().screenshot().await.unwrap(),
    );
    browser.close().await;
    if !keep {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
