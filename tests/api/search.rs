//! The employee list search: name variants (異体字) and kana however it is typed.

use diesel::RunQueryDsl;

use crate::helpers::*;

const ROSTER: &str = "employee_id,name,name_kana,department,email,permission_level\n\
                      N0001,髙橋 一郎,タカハシ イチロウ,外科,,1.0\n\
                      N0002,渡邊 咲,ワタナベ サキ,看護部,,1.0\n\
                      N0003,山田 太郎,やまだ たろう,ICU,,1.0\n";

/// The employee IDs a search lists, of those in the roster.
async fn found(p: &Portal, q: &str) -> Vec<&'static str> {
    let html = p.html(&format!("/admin/employees?q={q}")).await;
    ["N0001", "N0002", "N0003", "N0004"]
        .into_iter()
        .filter(|code| html.contains(&employee_page(code)))
        .collect()
}

#[tokio::test]
async fn name_variants_and_kana_however_typed_find_the_same_people() {
    let app = spawn_portal().await;
    app.import_csv(ROSTER, false).await;
    let p = Portal::signed_in_admin(&app).await;

    assert_eq!(found(&p, "高橋").await, ["N0001"]);
    assert_eq!(found(&p, "髙橋").await, ["N0001"]);
    assert_eq!(found(&p, "渡辺").await, ["N0002"]);
    assert_eq!(found(&p, "渡邉").await, ["N0002"]);
    assert_eq!(found(&p, "さき").await, ["N0002"]);
    assert_eq!(found(&p, "ｻｷ").await, ["N0002"]);
    assert_eq!(found(&p, "わたなべ").await, ["N0002"]);
    assert_eq!(found(&p, "ワタナベ%E3%80%80サキ").await, ["N0002"]); // a full-width space
    assert_eq!(
        found(&p, "ヤマダ").await,
        ["N0003"],
        "kana imported in hiragana"
    );
    assert_eq!(found(&p, "icu").await, ["N0003"]);
    assert_eq!(found(&p, "わたなへ").await, Vec::<&str>::new());
}

#[tokio::test]
async fn a_name_changed_by_an_import_is_found_by_its_new_name() {
    let app = spawn_portal().await;
    app.import_csv(ROSTER, false).await;
    let changed = "employee_id,name,name_kana,department,email,permission_level\n\
                   N0003,濱田 太郎,ハマダ タロウ,ICU,,1.0\n";
    app.import_csv(changed, false).await;
    let p = Portal::signed_in_admin(&app).await;

    assert_eq!(found(&p, "浜田").await, ["N0003"]);
    assert_eq!(found(&p, "ハマダ").await, ["N0003"]);
    assert_eq!(found(&p, "山田").await, Vec::<&str>::new());
}

#[tokio::test]
async fn a_row_written_around_staffgate_is_found_as_typed_then_folded_after_migrate() {
    let app = spawn_portal().await;
    diesel::sql_query(
        "INSERT INTO employees (employee_id, name, name_kana, department, created_at, updated_at) \
         VALUES ('N0004', '嶋田 花子', 'シマダ ハナコ', '薬剤部', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    let p = Portal::signed_in_admin(&app).await;
    assert_eq!(found(&p, "嶋田").await, ["N0004"]);
    assert_eq!(found(&p, "島田").await, Vec::<&str>::new());

    staffgate::db::run_migrations(&mut app.db.conn()).unwrap();

    assert_eq!(found(&p, "島田").await, ["N0004"]);
    assert_eq!(found(&p, "しまだ").await, ["N0004"]);
}
