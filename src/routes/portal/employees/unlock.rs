//! Unlocking an account (a reason and a confirmation, recorded) and the list of locked
//! accounts.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::Admin;
use super::super::view::{Chrome, PortalError, encode, page, see_other};
use super::EmployeeView;
use crate::domain::EmployeeId;
use crate::services::auth;
use crate::services::directory;
use crate::services::portal::actor;

#[derive(Deserialize)]
pub(super) struct UnlockForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    back: String,
}

pub(super) async fn unlock(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<UnlockForm>,
) -> Result<HttpResponse, PortalError> {
    let back = if form.back == "locked" {
        "/admin/locked".to_owned()
    } else {
        format!("/admin/employees/{}", encode(&code))
    };
    let reason = match auth::parse_reason(&form.reason) {
        Ok(r) => r,
        Err(e) => {
            me.flash_error(&e.message_ja, &e.message_en);
            return Ok(see_other(&back));
        }
    };
    if form.confirm != "yes" {
        me.flash_error(
            "確認のチェックを入れてから解除してください。",
            "Tick the confirmation box to unlock.",
        );
        return Ok(see_other(&back));
    }
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    let done = match auth::unlock(
        &me.state,
        actor(&me.employee),
        employee_id,
        reason,
        me.client.clone(),
    )
    .await
    {
        Ok(done) => done,
        Err(e) => return Ok(me.refused(e, &back)),
    };
    if done.was_locked {
        me.flash_ok(
            &format!(
                "{} のロックを解除しました。すぐにサインインできます。",
                done.employee_id
            ),
            &format!("{} was unlocked and can sign in now.", done.employee_id),
        );
    } else {
        me.flash_ok(
            &format!(
                "{} はロックされていませんでした。失敗回数をリセットしました。",
                done.employee_id
            ),
            &format!(
                "{} was not locked; the failure count was reset.",
                done.employee_id
            ),
        );
    }
    Ok(see_other(&back))
}

#[derive(Template)]
#[template(path = "admin/locked/index.html")]
struct LockedPage {
    c: Chrome,
    rows: Vec<EmployeeView>,
}

pub(super) async fn locked(me: Admin) -> Result<HttpResponse, PortalError> {
    let now = me.state.clock.now_naive();
    let (rows, policy) = directory::locked(&me.state, 500).await?;
    Ok(page(&LockedPage {
        c: me.chrome("locked"),
        rows: rows
            .into_iter()
            .map(|e| EmployeeView::of(e, now, &policy))
            .collect(),
    }))
}
