//! API-5: unlocking by admins.

use reqwest::StatusCode;
use serde_json::{Value, json};
use staffgate::db::schema::login_history::dsl as h;

use diesel::prelude::*;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_unlock_lets_the_employee_sign_in_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    app.lock_out(STAFF_ID, STAFF_PW).await;
    account_locked(app.login(STAFF_ID, STAFF_PW).await).await;

    let res = app
        .unlock(
            &admin,
            &json!({ "employeeId": STAFF_ID, "reason": "本人確認済み（内線1234）" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["wasLocked"], true);

    // Same address that was rate limited: the window was cleared too.
    assert_eq!(app.login(STAFF_ID, STAFF_PW).await.status(), StatusCode::OK);

    let mut conn = app.db.conn();
    let (actor, detail): (Option<i64>, Option<String>) = h::login_history
        .filter(h::event.eq("unlocked"))
        .select((h::actor_ref, h::detail))
        .first(&mut conn)
        .unwrap();
    assert_eq!(actor, Some(app.employee(ADMIN_ID).id));
    let detail: Value = serde_json::from_str(&detail.unwrap()).unwrap();
    assert_eq!(detail["reason"], "本人確認済み（内線1234）");
}

#[tokio::test]
async fn unlocking_needs_admin_rights_and_a_reason() {
    let app = spawn_app().await;
    let admin = app.admin_with_staff().await;
    let staff = app.access_token(STAFF_ID, STAFF_PW).await;
    problem(
        app.unlock(&staff, &json!({ "employeeId": STAFF_ID, "reason": "x" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    invalid_input(
        app.unlock(&admin, &json!({ "employeeId": STAFF_ID, "reason": "  " }))
            .await,
    )
    .await;
    invalid_input(app.unlock(&admin, &json!({ "employeeId": STAFF_ID })).await).await;
    problem(
        app.unlock(&admin, &json!({ "employeeId": "NOBODY", "reason": "x" }))
            .await,
        404,
        "not_found",
    )
    .await;
    assert!(!app.has_event(STAFF_ID, "unlocked"));
}
