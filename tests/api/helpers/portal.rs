//! `Portal`: a browser-like HTTP client of the HR portal (keeps cookies, does not follow
//! redirects, posts forms with the CSRF token of the page they are on).

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

use staffgate::config::Settings;

use super::app::{ADMIN_ID, ADMIN_PW, TestApp, spawn_app_configured};

/// The address the portal sees every request come from.
pub const PORTAL_IP: &str = "198.51.100.7";

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct Portal {
    pub client: reqwest::Client,
    pub base: String,
}

pub async fn spawn_portal() -> TestApp {
    spawn_portal_configured(|_| {}).await
}

/// The portal with settings of the test's own on top.
pub async fn spawn_portal_configured(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_configured(|s| {
        // Plain http on the local machine: the session cookie is not Secure, so the client
        // sends it.
        s.http.public_url = "http://127.0.0.1".into();
        tweak(s);
    })
    .await
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The one-time token in an issued-QR page.
pub fn token_in(html: &str) -> String {
    let start = html.find("/welcome#t=").expect("a login URL") + "/welcome#t=".len();
    html[start..start + 43].to_owned()
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The portal's session cookie set by this response, with its attributes.
pub fn session_cookie(res: &Response) -> String {
    let cookies = res.headers().get_all(SET_COOKIE).iter();
    let mut texts = cookies.map(|v| v.to_str().unwrap().to_owned());
    texts
        .find(|c| c.starts_with("staffgate_portal="))
        .expect("session cookie")
}

/// The page of one employee in the portal.
pub fn employee_page(code: &str) -> String {
    format!("/admin/employees/{code}")
}

impl Portal {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
        }
    }

    /// The same browser (same cookies) talking to another node.
    pub fn on(&self, node: &TestApp) -> Portal {
        Portal {
            client: self.client.clone(),
            base: node.address.clone(),
        }
    }

    /// Seeds the HR administrator, who signs in and lands on the dashboard.
    pub async fn signed_in_admin(app: &TestApp) -> Portal {
        app.seed_admin();
        Portal::admin_signs_in(app).await
    }

    /// The nurse STAFF_ID, who has no password yet, and the HR administrator signed in.
    pub async fn admin_with_new_employee(app: &TestApp) -> Portal {
        app.seed_staff_without_password();
        Portal::signed_in_admin(app).await
    }

    /// A fresh browser opens the sign-in page and signs in: the portal and the answer.
    pub async fn signing_in(app: &TestApp, code: &str, password: &str) -> (Portal, Response) {
        let p = Portal::new(app);
        let res = p.sign_in(code, password).await;
        (p, res)
    }

    /// The already seeded HR administrator signs in (again, or on another device).
    pub async fn admin_signs_in(app: &TestApp) -> Portal {
        let (p, res) = Portal::signing_in(app, ADMIN_ID, ADMIN_PW).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/admin");
        p
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("X-Forwarded-For", PORTAL_IP)
            .send()
            .await
            .unwrap()
    }

    pub async fn html(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }

    /// Whether the page at `path` (which must open) shows `text`.
    pub async fn shows(&self, path: &str, text: &str) -> bool {
        self.html(path).await.contains(text)
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("X-Forwarded-For", PORTAL_IP)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with the CSRF token of the page at `page`.
    pub async fn submit(&self, page: &str, path: &str, form: &[(&str, &str)]) -> Response {
        let csrf = csrf_in(&self.html(page).await);
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    pub async fn sign_in(&self, code: &str, password: &str) -> Response {
        let page = self.get("/admin/login").await;
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = csrf_in(&page.text().await.unwrap());
        self.post(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("employee_id", code),
                ("password", password),
                ("next", "/admin"),
            ],
        )
        .await
    }

    pub async fn sign_out(&self) -> Response {
        self.submit("/admin", "/admin/logout", &[]).await
    }

    /// Issues a QR code from the employee's page, e.g. `&[("validity", "24")]`, and follows
    /// the redirect to the issued code's page; a refusal's redirect is returned as it is.
    pub async fn issue_qr(&self, code: &str, form: &[(&str, &str)]) -> Response {
        let page = employee_page(code);
        let res = self.submit(&page, &format!("{page}/tokens"), form).await;
        let issued = format!("{page}/issued");
        if res.status() == StatusCode::SEE_OTHER && location(&res) == issued {
            return self.get(&issued).await;
        }
        res
    }

    /// Sets a new password on the password page (the form repeats the new one).
    pub async fn change_password(&self, current: &str, new: &str) -> Response {
        let form = [
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", new),
        ];
        self.submit("/admin/password", "/admin/password", &form)
            .await
    }

    /// Uploads a CSV file for the import preview, with this CSRF token.
    pub async fn upload(&self, csrf: &str, name: &str, bytes: Vec<u8>) -> Response {
        let file = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("file", file);
        self.client
            .post(format!("{}/admin/import/preview", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}
