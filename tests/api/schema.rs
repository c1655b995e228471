//! Migrations run up, down and up again.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;
use staffgate::db::MIGRATIONS;

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    table_name: String,
}

fn tables(conn: &mut MysqlConnection) -> Vec<String> {
    let mut t: Vec<String> = diesel::sql_query(
        "SELECT table_name AS table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Table>(conn)
    .unwrap()
    .into_iter()
    .map(|t| t.table_name)
    .collect();
    t.sort();
    t
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = TestDb::create();
    let mut conn = MysqlConnection::establish(&db.url).unwrap();
    let all = tables(&mut conn);
    assert_eq!(
        all,
        [
            "admin_audit",
            "employees",
            "history_archive_runs",
            "login_attempts",
            "login_history",
            "login_history_archive",
            "mail_outbox",
            "mfa_resets",
            "mfa_tokens",
            "onetime_tokens",
            "passkeys",
            "portal_sessions",
            "recovery_codes",
            "refresh_tokens",
            "second_factors",
            "settings",
            "sheet_prints",
            "signin_gates"
        ]
    );
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert!(
        tables(&mut conn).is_empty(),
        "down.sql must drop everything"
    );
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(tables(&mut conn), all);
}
