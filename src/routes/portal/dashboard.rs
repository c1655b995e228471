//! The dashboard: what needs HR's attention now.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::Admin;
use super::view::{Chrome, PortalError, jst, page};
use crate::db::models::Employee;
use crate::db::queries::directory::{self, Dashboard};
use crate::db::{self, DbError};
use crate::services::clock::JST;
use crate::services::policy;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(dashboard))
        .route("/", web::get().to(dashboard));
}

pub struct ExpiringView {
    pub code: String,
    pub name: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard/index.html")]
struct DashboardPage {
    c: Chrome,
    d: Dashboard,
    locked: Vec<Employee>,
    expiring: Vec<ExpiringView>,
    today: String,
}

impl DashboardPage {
    fn until(&self, e: &Employee) -> String {
        e.locked_until.as_ref().map(jst).unwrap_or_default()
    }
}

async fn dashboard(me: Admin) -> Result<HttpResponse, PortalError> {
    let st = me.state.clone();
    let now = st.clock.now();
    let local = now.with_timezone(&JST);
    let today_start = local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(JST).single())
        .map(|t| t.naive_utc())
        .unwrap_or(now.naive_utc());
    let naive = now.naive_utc();
    let (d, locked, expiring) = db::run(&me.state.pool, move |conn| {
        let policy = policy::current(conn, &st.settings)?;
        let d = directory::dashboard(conn, naive, today_start, &policy)?;
        let locked = directory::locked_employees(conn, naive, 10)?;
        let expiring = directory::tokens_expiring(conn, naive, chrono::Duration::hours(24), 10)?;
        Ok::<_, DbError>((d, locked, expiring))
    })
    .await?;
    Ok(page(&DashboardPage {
        c: me.chrome("dashboard"),
        d,
        locked,
        expiring: expiring
            .into_iter()
            .map(|(t, code, name)| ExpiringView {
                code,
                name,
                expires: jst(&t.expires_at),
            })
            .collect(),
        today: local.format("%Y-%m-%d").to_string(),
    }))
}
