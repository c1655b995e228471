//! Employee CSV import through the service shared by the CLI and the portal.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;
use staffgate::services::import;
use staffgate::services::principal::{Actor, ClientInfo};

use crate::helpers::*;

const HEADER: &str = "employee_id,name,name_kana,department,email,permission_level\r\n";

fn csv(rows: &[&str]) -> String {
    let mut s = HEADER.to_owned();
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

#[tokio::test]
async fn shift_jis_from_excel_imports_and_reimport_is_idempotent() {
    let app = spawn_app().await;
    let body = csv(&[
        "N1001,髙橋 一郎,タカハシ イチロウ,外科病棟,ichiro@example.jp,1.0",
        "N1002,渡邉 花子,ワタナベ ハナコ,看護部,,1.5",
        "HR9001,人事 次郎,ジンジ ジロウ,人事部,,9.0",
    ]);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&body);
    let report = app.import_csv(sjis.to_vec(), false).await;
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (3, 0, 0)
    );
    assert!(report.written);
    let e = app.employee("N1001");
    assert_eq!(e.name, "髙橋 一郎");
    assert_eq!(e.department, "外科病棟");
    assert!(e.password_hash.is_none() && e.password_must_change);
    assert_eq!(app.employee("HR9001").permission_level, 9.0);

    let again = app.import_csv(sjis.to_vec(), false).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));

    let changed = csv(&["N1002,渡邉 花子,ワタナベ ハナコ,救急外来,hanako@example.jp,1.5"]);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(changed.as_bytes());
    let r = app.import_csv(bom, false).await;
    assert_eq!((r.created, r.updated), (0, 1));
    assert_eq!(app.employee("N1002").department, "救急外来");
    assert_eq!(app.count("employees"), 3);
    assert_eq!(
        app.count("admin_audit WHERE action = 'employees_imported'"),
        3
    );
}

#[tokio::test]
async fn one_bad_row_writes_nothing_and_every_error_has_its_line() {
    let app = spawn_app().await;
    let body = csv(&[
        "N2001,山田 太郎,ヤマダ タロウ,内科,,1.0",
        "N 2002,空白入り,,,,1.0",
        "N2003,,,,,1.0",
        "N2004,田中,,,tanaka-at-example,1.0",
        "N2001,重複,,,,1.0",
    ]);
    let report = app.import_csv(body.into_bytes(), false).await;
    assert!(!report.written);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6]);
    assert!(
        report.errors[3].message_ja.contains("2行目と重複"),
        "{:?}",
        report.errors[3]
    );
    assert_eq!(app.count("employees"), 0);
    assert_eq!(app.count("admin_audit"), 0);
}

#[tokio::test]
async fn a_dry_run_reports_without_writing() {
    let app = spawn_app().await;
    let body = csv(&["N3001,佐藤 三郎,サトウ サブロウ,薬剤部,,1.0"]);
    let report = app.import_csv(body.into_bytes(), true).await;
    assert_eq!(report.created, 1);
    assert!(!report.written);
    assert_eq!(app.count("employees"), 0);
}

/// Waits until a statement on `employees` in this test's database has run for 300 ms: it
/// waits for a row lock (a test user sees its own threads without the PROCESS privilege).
fn wait_for_a_lock_wait(app: &TestApp) {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let waiting: N = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND COMMAND <> 'Sleep' AND ID <> CONNECTION_ID() \
             AND INFO LIKE '%employees%' AND TIME_MS > 300",
        )
        .get_result(&mut app.db.conn())
        .unwrap();
        if waiting.n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the import never waited for the row"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_raised_by_another_admin_during_an_import_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.seed(Seed {
        code: "HR5001",
        permission: 5.0,
        ..Seed::admin()
    });
    app.seed(Seed {
        code: "N3001",
        department: "薬剤部",
        permission: 3.0,
        ..Seed::default()
    });
    let actor = Actor::Employee {
        id: admin,
        employee_id: "HR5001".into(),
        permission: 5.0,
    };
    let body = csv(&[
        "N3001,看護 花子,カンゴ ハナコ,救急外来,,3.0",
        "N3002,佐藤 三郎,サトウ サブロウ,薬剤部,,1.0",
    ]);
    let preview = import::import(
        &app.state,
        actor.clone(),
        ClientInfo::cli(),
        body.clone().into_bytes(),
        true,
    )
    .await
    .unwrap();
    assert!(preview.errors.is_empty(), "{:?}", preview.errors);

    // Another admin raises N3001 to 9 and has not committed yet when the import is confirmed.
    let mut other = MysqlConnection::establish(&app.db.url).unwrap();
    for sql in [
        "BEGIN",
        "UPDATE employees SET permission_level = 9.0 WHERE employee_id = 'N3001'",
    ] {
        diesel::sql_query(sql).execute(&mut other).unwrap();
    }
    let state = app.state.clone();
    let confirmed = tokio::spawn(async move {
        import::import(&state, actor, ClientInfo::cli(), body.into_bytes(), false).await
    });
    wait_for_a_lock_wait(&app);
    diesel::sql_query("COMMIT").execute(&mut other).unwrap();
    let report = confirmed.await.unwrap().unwrap();

    assert!(!report.written, "{report:?}");
    let refused: Vec<(u64, &str)> = report.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(refused, vec![(2, "permission_level")]);
    let raised = app.employee("N3001");
    assert_eq!(raised.permission_level, 9.0, "the raise stands");
    assert_eq!(raised.department, "薬剤部");
    assert_eq!(app.count("employees WHERE employee_id = 'N3002'"), 0);
    assert_eq!(
        app.count("admin_audit WHERE action = 'employees_imported'"),
        0
    );
}

/// The element with this id in a page, up to its closing tag (`section`, `details`, ...).
fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <{tag} id={id:?}> in {html}"));
    let start = html[..at].rfind(&format!("<{tag}")).unwrap();
    let close = format!("</{tag}>");
    let end = start + html[start..].find(&close).unwrap() + close.len();
    &html[start..end]
}

/// The text of an HTML fragment as a reader sees it: tags become spaces, spaces collapse.
fn text(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in fragment.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The texts of the elements carrying `data-field="field"` in a fragment.
fn fields(fragment: &str, field: &str) -> Vec<String> {
    fragment
        .match_indices(&format!("data-field=\"{field}\""))
        .map(|(at, _)| {
            let body = &fragment[at..];
            let body = &body[body.find('>').unwrap() + 1..];
            text(&body[..body.find("</li>").or(body.find("</td>")).unwrap()])
        })
        .collect()
}

async fn preview_of(p: &Portal, name: &str, bytes: Vec<u8>) -> (StatusCode, String) {
    let csrf = csrf_in(&p.html("/admin/import").await);
    let res = p.upload(&csrf, name, bytes).await;
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_preview_lists_new_and_changed_rows_with_each_change_from_a_shift_jis_file() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    app.import_csv(
        csv(&[
            "N0101,山田 花子,ヤマダ ハナコ,看護部,,1.0",
            "N0102,佐藤 健,サトウ ケン,薬剤部,,1.0",
        ]),
        false,
    )
    .await;
    let text_csv = csv(&[
        "N0101,山田 花子,ヤマダ ハナコ,外来,,1.0",
        "N0102,佐藤 健,サトウ ケン,薬剤部,,1.0",
        "N0103,髙橋 美咲,タカハシ ミサキ,放射線科,misaki@example.jp,2.0",
    ]);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text_csv);

    let (status, html) = preview_of(&p, "roster.csv", sjis.to_vec()).await;

    assert_eq!(status, StatusCode::OK);
    let updated = element(&html, "section", "updated");
    assert!(text(updated).contains("N0101 山田 花子"), "{updated}");
    assert_eq!(fields(updated, "department"), ["部署: 看護部 → 外来"]);
    assert!(!updated.contains("N0102") && !updated.contains("N0103"));
    let created = element(&html, "section", "created");
    assert!(text(created).contains("N0103 髙橋 美咲 タカハシ ミサキ 放射線科"));
    assert_eq!(fields(created, "email"), ["misaki@example.jp"]);
    assert_eq!(fields(created, "permission_level"), ["2.0"]);
    let unchanged = element(&html, "details", "unchanged");
    assert!(
        unchanged.starts_with("<details id=\"unchanged\">"),
        "folded"
    );
    assert!(text(unchanged).contains("変更なし（1名）") && unchanged.contains("N0102"));
    assert_eq!(
        app.employee("N0101").department,
        "看護部",
        "nothing written yet"
    );
}

#[tokio::test]
async fn the_preview_shows_every_changed_field_before_and_after() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    app.import_csv(csv(&["N0201,渡辺 健,ワタナベ ケン,内科,,1.0"]), false)
        .await;
    let body = csv(&["N0201,渡邊 健,ワタナベ タケシ,内科,ken@example.jp,2.5"]);

    let (_, html) = preview_of(&p, "roster.csv", body.into_bytes()).await;

    let updated = element(&html, "section", "updated");
    assert_eq!(fields(updated, "name"), ["氏名: 渡辺 健 → 渡邊 健"]);
    assert_eq!(
        fields(updated, "name_kana"),
        ["氏名（カナ）: ワタナベ ケン → ワタナベ タケシ"]
    );
    assert_eq!(
        fields(updated, "email"),
        ["メールアドレス: （空欄） → ken@example.jp"]
    );
    assert_eq!(
        fields(updated, "permission_level"),
        ["権限レベル: 1.0 → 2.5"]
    );
    assert!(fields(updated, "department").is_empty());
}

#[tokio::test]
async fn a_short_row_is_refused_with_its_line_and_nothing_is_written() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let body = csv(&[
        "N0301,山田 花子,ヤマダ ハナコ,看護部,,1.0",
        "N0302,佐藤 健,サトウ ケン",
    ]);

    let (status, html) = preview_of(&p, "roster.csv", body.into_bytes()).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = text(element(&html, "table", "import-errors"));
    assert!(
        errors.contains("3 列が足りません（6列のところ3列です）。"),
        "{errors}"
    );
    assert!(!html.contains("id=\"confirm\""));
    assert_eq!(app.count("employees"), 1, "only the admin");
}

#[tokio::test]
async fn an_excel_workbook_is_named_as_one_and_nothing_is_written() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    for (name, bytes) in [
        (
            "roster.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00".to_vec(),
        ),
        (
            "roster.xls",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00".to_vec(),
        ),
    ] {
        let (status, html) = preview_of(&p, name, bytes).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("Excel ファイルです。CSV（UTF-8 または Shift_JIS）で保存してください。"),
            "{html}"
        );
        assert!(!html.contains("文字コードを判別できません"));
    }
    assert_eq!(app.count("employees"), 1, "only the admin");
}

#[tokio::test]
async fn kana_in_hiragana_or_half_width_is_previewed_and_stored_as_full_width_katakana() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    let body = csv(&[
        "N0401,看護 花子,かんご はなこ,看護部,,1.0",
        "N0402,半田 パンダ,ﾊﾝﾀﾞ ﾊﾟﾝﾀﾞ,外来,,1.0",
    ]);

    let (status, html) = preview_of(&p, "roster.csv", body.clone().into_bytes()).await;

    assert_eq!(status, StatusCode::OK);
    let created = element(&html, "section", "created");
    assert_eq!(
        fields(created, "name_kana"),
        ["カンゴ ハナコ", "ハンダ パンダ"]
    );
    app.import_csv(body, false).await;
    assert_eq!(app.employee("N0401").name_kana, "カンゴ ハナコ");
    assert_eq!(app.employee("N0402").name_kana, "ハンダ パンダ");
    let again = app
        .import_csv(csv(&["N0401,看護 花子,ｶﾝｺﾞ ﾊﾅｺ,看護部,,1.0"]), false)
        .await;
    assert_eq!(again.unchanged, 1, "the same kana, however it is typed");
}

/// In Chromium: HR uploads a changed Shift_JIS roster, reads who is added and what changes
/// (old → new, the names decoded), confirms, and finds the change made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_hr_imports_a_changed_roster_and_reads_the_changes() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed(Seed {
        code: "N0101",
        name: "髙橋 美咲",
        department: "看護部",
        ..Seed::default()
    });
    let roster = "employee_id,name,name_kana,department,email,permission_level\r\n\
                  N0101,髙橋 美咲,たかはし みさき,外来,,1.0\r\n\
                  N0102,渡邊 健,ﾜﾀﾅﾍﾞ ｹﾝ,放射線科,,1.0\r\n";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(roster);
    let dir = crate::helpers::tools::scratch_dir("roster");
    let file = dir.join("roster.csv");
    std::fs::write(&file, &sjis).unwrap();

    let browser = crate::helpers::browser::Browser::start().await;
    browser.admin_signs_in_at(&app, "/admin/employees").await;
    browser.goto(&app.url("/admin/import")).await;
    browser
        .find("#file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    browser.click("#upload").await;
    browser.wait_for("#updated").await;
    let updated = browser.text("#updated").await;
    assert!(
        updated.contains("髙橋 美咲") && updated.contains("部署: 看護部 → 外来"),
        "{updated}"
    );
    assert!(
        updated.contains("タカハシ ミサキ"),
        "kana as stored: {updated}"
    );
    let created = browser.text("#created").await;
    assert!(
        created.contains("渡邊 健") && created.contains("ワタナベ ケン"),
        "{created}"
    );
    assert_eq!(
        app.employee("N0101").department,
        "看護部",
        "a preview writes nothing"
    );

    browser.click("#confirm").await;
    browser.wait_for(".flash-ok").await;
    assert_eq!(app.employee("N0101").department, "外来");
    assert_eq!(app.employee("N0102").name_kana, "ワタナベ ケン");
    browser.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
