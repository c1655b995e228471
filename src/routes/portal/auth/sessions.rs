//! The admin's portal sessions: every signed-in browser, and ending them.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::Admin;
use super::super::view::{Chrome, PortalError, page, see_other};
use crate::services::clock::jst;
use crate::services::{directory, portal};

struct SessionView {
    reference: String,
    device: String,
    ip: String,
    created: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/auth/sessions.html")]
struct SessionsPage {
    c: Chrome,
    sessions: Vec<SessionView>,
}

/// A short, human name for a browser from its user agent.
pub fn device_label(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "—".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Chrome/", "Chrome"),
        ("Firefox/", "Firefox"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} / {o}"),
        (Some(b), None) => b.into(),
        (None, Some(o)) => o.into(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

pub(super) async fn list(me: Admin) -> Result<HttpResponse, PortalError> {
    let rows = directory::live_sessions(&me.state, me.employee.id).await?;
    let sessions = rows
        .into_iter()
        .map(|s| SessionView {
            current: s.session_ref.as_deref() == Some(me.session_ref.as_str()),
            reference: s.session_ref.unwrap_or_default(),
            device: device_label(s.user_agent.as_deref()),
            ip: s.client_ip.unwrap_or_default(),
            created: jst(&s.created_at),
            last_seen: jst(&s.last_seen_at),
        })
        .collect();
    Ok(page(&SessionsPage {
        c: me.chrome("sessions"),
        sessions,
    }))
}

pub(super) async fn end_others(me: Admin) -> Result<HttpResponse, PortalError> {
    let n = portal::end_sessions(
        &me.state,
        me.employee.clone(),
        me.session_ref.clone(),
        None,
        me.client.clone(),
    )
    .await?;
    me.flash_ok(
        &format!("ほかの端末のセッションを{n}件終了しました。"),
        &format!("Ended {n} other session(s)."),
    );
    Ok(see_other("/admin/sessions"))
}

#[derive(Deserialize)]
pub(super) struct EndOne {
    #[serde(default)]
    session: String,
}

pub(super) async fn end_one(
    me: Admin,
    form: web::Form<EndOne>,
) -> Result<HttpResponse, PortalError> {
    let n = portal::end_sessions(
        &me.state,
        me.employee.clone(),
        me.session_ref.clone(),
        Some(form.session.clone()),
        me.client.clone(),
    )
    .await?;
    if n == 1 {
        me.flash_ok("セッションを終了しました。", "The session was ended.");
    } else {
        me.flash_error(
            "そのセッションはすでに終了しています。",
            "That session has already ended.",
        );
    }
    Ok(see_other("/admin/sessions"))
}
