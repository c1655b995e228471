//! Static files compiled into the binary (no build step, nothing to deploy beside it).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::AppState;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $ct:literal) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $file)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!(
        "/static/css/portal.css",
        "css/portal.css",
        "text/css; charset=utf-8"
    ),
    asset!(
        "/static/js/portal.js",
        "js/portal.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "/static/js/passkeys.js",
        "js/passkeys.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "/static/css/staff.css",
        "css/staff.css",
        "text/css; charset=utf-8"
    ),
    asset!(
        "/static/js/welcome-text.js",
        "js/welcome-text.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "/static/js/welcome.js",
        "js/welcome.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("/static/img/icon.svg", "img/icon.svg", "image/svg+xml"),
    asset!(
        "/static/manifest.webmanifest",
        "manifest.webmanifest",
        "application/manifest+json"
    ),
];

/// The staff QR landing page; the token stays in the URL fragment and never reaches us.
const WELCOME: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/static/staff/welcome.html"
));

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/welcome", web::get().to(welcome))
        .route("/favicon.ico", web::get().to(favicon));
    for asset in ASSETS {
        cfg.route(
            asset.path,
            web::get().to(move |req: HttpRequest| serve(req, asset)),
        );
    }
}

/// A validator for the file as built into this binary (FNV-1a of its bytes).
fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// Revalidated on every use (`no-cache` + ETag): after an upgrade, phones get the new script
/// at once, and an unchanged file costs a 304.
async fn serve(req: HttpRequest, asset: &'static Asset) -> HttpResponse {
    let tag = etag(asset.body);
    let fresh = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((CACHE_CONTROL, "no-cache"))
        .insert_header((ETAG, tag));
    if fresh {
        return res.finish();
    }
    res.insert_header((CONTENT_TYPE, asset.content_type))
        .body(asset.body)
}

/// Browsers ask for /favicon.ico on their own: the icon is the SVG one.
async fn favicon() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/static/img/icon.svg"))
        .finish()
}

/// The staff page, naming the app staff sign in to afterwards (configured, HTML-escaped).
async fn welcome(state: web::Data<AppState>) -> HttpResponse {
    let app = &state.settings.staff_app;
    let page = String::from_utf8_lossy(WELCOME)
        .replace("{{app_name}}", &escape_attr(app.name().unwrap_or("")))
        .replace(
            "{{app_url}}",
            &escape_attr(app.url.as_deref().unwrap_or("")),
        );
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::CONTENT_SECURITY_POLICY, STAFF_CSP))
        .body(page)
}

/// Text made safe inside a double-quoted HTML attribute.
fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Pages may load our own scripts, styles and images, and call our own API; nothing inline.
pub const STAFF_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; manifest-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";
