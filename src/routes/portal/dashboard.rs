//! The dashboard: what needs HR's attention now.

use actix_web::HttpResponse;
use askama::Template;

use super::Admin;
use super::view::{Chrome, PortalError, page};
use super::{GET, Route, route};
use crate::db::models::Employee;
use crate::db::queries::directory::Dashboard;
use crate::services::clock::{jst, jst_date};
use crate::services::directory;

pub fn routes() -> Vec<Route> {
    vec![route(GET, "", dashboard), route(GET, "/", dashboard)]
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
    let (d, locked, expiring) = directory::dashboard(&me.state).await?;
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
        today: jst_date(me.state.clock.now_naive())
            .format("%Y-%m-%d")
            .to_string(),
    }))
}
