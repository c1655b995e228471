//! spawn_app(): a real server on port 0 against a fresh database, and what staff and HR do with
//! it through the JSON API: seed employees, sign in, issue QR tokens, lock and unlock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use staffgate::config::Settings;
use staffgate::db::models::{Employee, NewEmployee};
use staffgate::db::schema::employees::dsl as e;
use staffgate::services::clock::{Clock, ManualClock};
use staffgate::services::import::{self, ImportReport};
use staffgate::services::principal::{Actor, ClientInfo};
use staffgate::startup::Application;
use staffgate::state::AppState;

use super::db::{TEST_COST, TestDb, test_settings};

pub const ADMIN_ID: &str = "HR0001";
pub const ADMIN_PW: &str = "Jinji-Admin-Pass-1";
pub const STAFF_ID: &str = "N0001";
pub const STAFF_PW: &str = "Sakura-Nurse-2026";

/// Every test starts on 2026-04-01 00:00 UTC (09:00 JST), so expectations can name times.
pub fn test_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap()
}

pub fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(test_start()))
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Arc<TestDb>,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_configured(|_| {}).await
}

pub async fn spawn_app_configured(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(TestDb::create(), test_clock(), tweak).await
}

/// An app instance on this database and clock; a second one is another "node".
pub async fn spawn_app_with(
    db: Arc<TestDb>,
    clock: Arc<ManualClock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(&db);
    tweak(&mut settings);
    let pool = db.pool.clone();
    start(db, clock, settings, pool).await
}

/// An app whose pool is its own, built from the tweaked settings (its size, its lock wait),
/// instead of the test database's shared pool.
pub async fn spawn_app_own_pool(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create();
    let mut settings = test_settings(&db);
    tweak(&mut settings);
    let pool = staffgate::db::build_pool(&settings.database).unwrap();
    start(db, test_clock(), settings, pool).await
}

async fn start(
    db: Arc<TestDb>,
    clock: Arc<ManualClock>,
    settings: Settings,
    pool: staffgate::db::DbPool,
) -> TestApp {
    let state =
        AppState::with_pool(settings, clock.clone() as Arc<dyn Clock>, pool).expect("state");
    let app = Application::build(state.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
        state,
        clock,
    }
}

pub fn hash(password: &str) -> String {
    bcrypt::hash(password, TEST_COST).unwrap()
}

/// An employee row to insert; the default is the nurse 看護 花子 (STAFF_ID) with STAFF_PW.
pub struct Seed<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub department: &'a str,
    pub permission: f64,
    pub password: Option<&'a str>,
    pub must_change: bool,
    pub status: &'a str,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Self {
            code: STAFF_ID,
            name: "看護 花子",
            department: "看護部",
            permission: 1.0,
            password: Some(STAFF_PW),
            must_change: false,
            status: "active",
        }
    }
}

impl Seed<'_> {
    /// The HR administrator 人事 太郎 (ADMIN_ID, permission 9) with ADMIN_PW.
    pub fn admin() -> Self {
        Self {
            code: ADMIN_ID,
            name: "人事 太郎",
            permission: 9.0,
            password: Some(ADMIN_PW),
            ..Self::default()
        }
    }

    /// A new employee who has no password yet and sets one from a QR sheet.
    pub fn without_password() -> Self {
        Self {
            password: None,
            must_change: true,
            ..Self::default()
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Another node of the same deployment: same database, same clock.
    pub async fn another_node(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        spawn_app_with(self.db.clone(), self.clock.clone(), tweak).await
    }

    pub fn seed(&self, s: Seed<'_>) -> i64 {
        let now = self.clock.now_naive();
        let hashed = s.password.map(hash);
        let mut conn = self.db.conn();
        staffgate::db::queries::employees::insert(
            &mut conn,
            &NewEmployee {
                employee_id: s.code,
                name: s.name,
                name_kana: "カンゴ ハナコ",
                department: s.department,
                email: None,
                permission_level: s.permission,
                status: s.status,
                password_hash: hashed.as_deref(),
                password_must_change: s.must_change,
                password_updated_at: s.password.map(|_| now),
                password_length_class: s.password.map_or(0, |p| {
                    staffgate::domain::expiry::length_class(
                        &staffgate::domain::Password::parse(p.into(), "password").unwrap(),
                    )
                }),
                password_expiry_offset_days: 0,
                created_at: now,
                updated_at: now,
            },
        )
        .unwrap()
    }

    /// The nurse STAFF_ID, signing in with STAFF_PW.
    pub fn seed_staff(&self) -> i64 {
        self.seed(Seed::default())
    }

    /// The nurse STAFF_ID before she has set a password.
    pub fn seed_staff_without_password(&self) -> i64 {
        self.seed(Seed::without_password())
    }

    /// The HR administrator 人事 太郎 (ADMIN_ID, permission 9), signing in with ADMIN_PW.
    pub fn seed_admin(&self) -> i64 {
        self.seed(Seed::admin())
    }

    pub fn employee(&self, code: &str) -> Employee {
        let mut conn = self.db.conn();
        staffgate::db::queries::employees::find_by_code(&mut conn, code)
            .unwrap()
            .unwrap()
    }

    /// HR changed the employee's status (active, suspended, retired) behind the app's back.
    pub fn set_status(&self, code: &str, status: &str) {
        let row = e::employees.filter(e::employee_id.eq(code));
        let changed = diesel::update(row).set(e::status.eq(status));
        changed.execute(&mut self.db.conn()).unwrap();
    }

    pub fn set_permission(&self, code: &str, level: f64) {
        let row = e::employees.filter(e::employee_id.eq(code));
        let changed = diesel::update(row).set(e::permission_level.eq(level));
        changed.execute(&mut self.db.conn()).unwrap();
    }

    pub fn set_email(&self, code: &str, email: &str) {
        let row = e::employees.filter(e::employee_id.eq(code));
        let changed = diesel::update(row).set(e::email.eq(Some(email)));
        changed.execute(&mut self.db.conn()).unwrap();
    }

    /// The employee's password counts as set just now (so it has not expired).
    pub fn password_set_now(&self, code: &str) {
        let row = e::employees.filter(e::employee_id.eq(code));
        let changed = diesel::update(row).set(e::password_updated_at.eq(self.clock.now_naive()));
        changed.execute(&mut self.db.conn()).unwrap();
    }

    /// Events of one employee's login history, oldest first.
    pub fn events(&self, code: &str) -> Vec<String> {
        use staffgate::db::schema::login_history::dsl as h;
        let mut conn = self.db.conn();
        h::login_history
            .filter(h::employee_code.eq(code))
            .order(h::id.asc())
            .select(h::event)
            .load(&mut conn)
            .unwrap()
    }

    /// One employee's login history as (event, client IP), oldest first.
    pub fn events_with_ip(&self, code: &str) -> Vec<(String, Option<String>)> {
        use staffgate::db::schema::login_history::dsl as h;
        let mut conn = self.db.conn();
        h::login_history
            .filter(h::employee_code.eq(code))
            .order(h::id.asc())
            .select((h::event, h::client_ip))
            .load(&mut conn)
            .unwrap()
    }

    /// Every seeded password counts as set just now by the database's clock, for a server
    /// process that reads the real clock instead of the test clock (which dates from spring).
    pub fn passwords_set_now_by_the_database(&self) {
        diesel::sql_query("UPDATE employees SET password_updated_at = UTC_TIMESTAMP(6)")
            .execute(&mut self.db.conn())
            .unwrap();
    }

    /// Whether `event` is in the employee's login history.
    pub fn has_event(&self, code: &str, event: &str) -> bool {
        self.events(code).iter().any(|e| e == event)
    }

    /// How often `event` is in the employee's login history.
    pub fn event_count(&self, code: &str, event: &str) -> usize {
        self.events(code).iter().filter(|e| *e == event).count()
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Bigint)]
            n: i64,
        }
        let mut conn = self.db.conn();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .unwrap()
            .n
    }

    /// HR imports a staff CSV through the service the CLI and the portal share
    /// (`dry_run`: report only).
    pub async fn import_csv(&self, csv: impl Into<Vec<u8>>, dry_run: bool) -> ImportReport {
        let bytes = csv.into();
        import::import(&self.state, Actor::Cli, ClientInfo::cli(), bytes, dry_run)
            .await
            .unwrap()
    }

    /// Asserts that every one of these static files is there and not empty.
    pub async fn assert_served(&self, paths: &[&str]) {
        for path in paths {
            let res = self.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(!res.bytes().await.unwrap().is_empty(), "{path} is empty");
        }
    }

    /// Asserts that a /metrics scrape holds each of these samples as a whole line.
    pub async fn assert_metrics(&self, samples: &[&str]) {
        let scrape = self.get("/metrics").await.text().await.unwrap();
        for sample in samples {
            assert!(
                scrape.lines().any(|l| l == *sample),
                "{sample:?} missing from /metrics:\n{scrape}"
            );
        }
    }

    /// GETs a JSON document.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value, bearer: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn login_from(&self, ip: &str, code: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v2/auth/authenticate"))
            .header("X-Forwarded-For", ip)
            .json(&json!({ "employeeId": code, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, code: &str, password: &str) -> Response {
        self.login_from("192.0.2.10", code, password).await
    }

    /// Five wrong passwords, each refused; then the right one meets the lock.
    pub async fn lock_out(&self, code: &str, right_password: &str) {
        for _ in 0..5 {
            let res = self.login(code, "not-the-password").await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{code}");
        }
        let res = self.login(code, right_password).await;
        assert_eq!(res.status(), StatusCode::LOCKED, "{code} is locked");
    }

    /// Signs in and returns the JSON token response, asserting 200.
    pub async fn tokens(&self, code: &str, password: &str) -> Value {
        let res = self.login(code, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {code} failed");
        res.json().await.unwrap()
    }

    /// Signs in and returns the bearer token.
    pub async fn access_token(&self, code: &str, password: &str) -> String {
        self.tokens(code, password).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Seeds the HR administrator and signs in: their bearer token.
    pub async fn admin_token(&self) -> String {
        self.seed_admin();
        self.access_token(ADMIN_ID, ADMIN_PW).await
    }

    pub async fn refresh(&self, refresh_token: &Value) -> Response {
        let body = json!({ "refreshToken": refresh_token });
        self.post("/api/v2/auth/refresh", &body, None).await
    }

    pub async fn logout(&self, bearer: &str) -> Response {
        let req = self.client.post(self.url("/api/v2/auth/logout"));
        req.bearer_auth(bearer).send().await.unwrap()
    }

    pub async fn unlock(&self, bearer: &str, body: &Value) -> Response {
        self.post("/api/v2/auth/unlock-account", body, Some(bearer))
            .await
    }

    /// Issues a QR token for `code` with the default validity.
    pub async fn issue(&self, admin: &str, code: &str) -> Response {
        self.issue_with(admin, code, json!({})).await
    }

    /// Issues a QR token with more request fields, e.g. `{"validityHours": 72}`.
    pub async fn issue_with(&self, admin: &str, code: &str, extra: Value) -> Response {
        let mut body = json!({ "employeeId": code });
        if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("/api/v2/auth/generate-onetime-token", &body, Some(admin))
            .await
    }

    pub async fn issue_token(&self, admin: &str, code: &str) -> String {
        self.issued_token(self.issue(admin, code).await).await
    }

    /// The token of a successful issue response.
    pub async fn issued_token(&self, res: Response) -> String {
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// The nurse STAFF_ID with her password, and the HR administrator's bearer token.
    pub async fn admin_with_staff(&self) -> String {
        self.seed_staff();
        self.admin_token().await
    }

    /// The nurse STAFF_ID before she has set a password, and the HR administrator's
    /// bearer token.
    pub async fn admin_with_new_employee(&self) -> String {
        self.seed_staff_without_password();
        self.admin_token().await
    }

    /// A QR token for `code` that was valid for one hour, issued 61 minutes ago.
    pub async fn expired_qr_token(&self, admin: &str, code: &str) -> String {
        let hour = json!({ "validityHours": 1 });
        let token = self
            .issued_token(self.issue_with(admin, code, hour).await)
            .await;
        self.clock.advance(chrono::Duration::minutes(61));
        token
    }

    /// A new employee without a password and the QR token an admin issued for her:
    /// (the admin's bearer token, the QR token).
    pub async fn new_employee_with_qr(&self) -> (String, String) {
        let admin = self.admin_with_new_employee().await;
        let token = self.issue_token(&admin, STAFF_ID).await;
        (admin, token)
    }

    /// A new employee redeems her QR code: the setup session's bearer token.
    pub async fn setup_session(&self) -> String {
        let (_, token) = self.new_employee_with_qr().await;
        let res = self.verify(&token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["setupToken"].as_str().unwrap().to_owned()
    }

    pub async fn verify(&self, token: &str) -> Response {
        self.post(
            "/api/v2/auth/verify-onetime-token",
            &json!({ "token": token }),
            None,
        )
        .await
    }

    pub async fn change_password(&self, bearer: &str, body: &Value) -> Response {
        self.client
            .put(self.url("/api/v2/auth/change-password"))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Sets the first (or an expired) password from a setup session: no current password.
    pub async fn choose_password(&self, setup: &str, new: &str) -> Response {
        let body = json!({ "newPassword": new });
        self.change_password(setup, &body).await
    }

    /// A signed-in employee replaces her password, giving the current one.
    pub async fn replace_password(&self, bearer: &str, current: &str, new: &str) -> Response {
        let body = json!({ "currentPassword": current, "newPassword": new });
        self.change_password(bearer, &body).await
    }

    pub async fn me(&self, bearer: &str) -> Response {
        self.client
            .get(self.url("/api/v2/auth/me"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }
}
