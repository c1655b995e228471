//! Employee CSV import through the service shared by the CLI and the portal.

use staffgate::services::import;
use staffgate::services::principal::Actor;

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
    let report = import::import(&app.state, Actor::Cli, sjis.to_vec(), false)
        .await
        .unwrap();
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

    let again = import::import(&app.state, Actor::Cli, sjis.to_vec(), false)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));

    let changed = csv(&["N1002,渡邉 花子,ワタナベ ハナコ,救急外来,hanako@example.jp,1.5"]);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(changed.as_bytes());
    let r = import::import(&app.state, Actor::Cli, bom, false)
        .await
        .unwrap();
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
    let report = import::import(&app.state, Actor::Cli, body.into_bytes(), false)
        .await
        .unwrap();
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
    let report = import::import(&app.state, Actor::Cli, body.into_bytes(), true)
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    assert!(!report.written);
    assert_eq!(app.count("employees"), 0);
}
