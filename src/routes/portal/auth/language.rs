//! The language switch: a cookie, then back to the page it was clicked on.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::guard::LANG_COOKIE;
use super::super::view::{self, PortalError, see_other};

#[derive(Deserialize)]
pub(super) struct Back {
    back: Option<String>,
}

pub(super) async fn switch(
    code: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, PortalError> {
    let code = match code.as_str() {
        "en" => "en",
        "ja" => "ja",
        _ => return Err(PortalError::NotFound),
    };
    let to = match back.back.as_deref() {
        Some(p) if p.starts_with("/admin/login") && !p.contains("//") => "/admin/login".to_owned(),
        other => view::safe_next(other),
    };
    let mut res = see_other(&to);
    let cookie = Cookie::build(LANG_COOKIE, code)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    res.add_cookie(&cookie)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(res)
}
