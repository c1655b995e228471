//! Load generator for staffgate's JSON API (used by `scripts/bench.sh`).
//!
//! ```text
//! cargo run --release --example loadgen -- [--base-url URL] <COMMAND>
//!
//!   setup  --employees N [--offset K] [--concurrency C]
//!       Makes employees <prefix>{K..K+N} (imported beforehand, no password yet) able to sign
//!       in: as admin, issue a one-time token; redeem it; set the password with the setup
//!       token. Re-running it is harmless (an unchanged password counts as done).
//!   enrol-admin
//!       Signs the admin in with the password (an admin without a second factor still gets
//!       full tokens), enrols an authenticator app over the API and prints its base32 secret
//!       on stdout, and nothing else, for `LOADGEN_ADMIN_TOTP_SECRET`.
//!   logins --concurrency C --duration S [--employees N] [--warmup S] [--mfa]
//!       Correct-password sign-ins spread over the first N employees for S seconds, while
//!       GET /healthz is probed every 10 ms on its own connection. With `--mfa` (phase
//!       `logins_2fa`) the N employees first enrol an authenticator app over the API, and each
//!       sign-in is the password (answered `mfa_required`) and then POST /auth/mfa with a code.
//!   verify --count N [--concurrency C] [--offset K]
//!       As admin, issues one token to each of N employees, then redeems them all concurrently.
//! ```
//!
//! The admin's credentials come from `LOADGEN_ADMIN_ID` and `LOADGEN_ADMIN_PASSWORD`, and, once
//! `enrol-admin` has run, `LOADGEN_ADMIN_TOTP_SECRET` (the admin endpoints want a second factor
//! in the token while `STAFFGATE_ADMIN_2FA=required`); the employees' password from
//! `LOADGEN_EMPLOYEE_PASSWORD` (a default that meets the policy is built in). Employee IDs are
//! `<prefix><index, 6 digits>` (`E000000`, `E000001`, ...), as written by `scripts/bench.sh`.
//! Results are JSON lines on stdout; progress goes to stderr. Only the given base URL is
//! contacted (meant for a server on this machine), and every loop is bounded in count or time.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures::stream::{self, StreamExt};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use staffgate::services::clock::{Clock, SystemClock};
use staffgate::services::mfa::totp::{STEP_SECONDS, TotpSecret, step_of};
use tokio::sync::Mutex;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "Load generator for the staffgate JSON API")]
struct Cli {
    /// Base URL of the server under test.
    #[arg(
        long,
        env = "LOADGEN_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    base_url: String,
    /// Employee ID prefix; IDs are the prefix and a 6-digit index.
    #[arg(long, env = "LOADGEN_EMPLOYEE_PREFIX", default_value = "E")]
    prefix: String,
    /// The password every prepared employee gets.
    #[arg(
        long,
        env = "LOADGEN_EMPLOYEE_PASSWORD",
        default_value = "Kichijoji-Ward3-2025",
        hide_env_values = true,
        hide_default_value = true
    )]
    employee_password: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make N imported employees able to sign in with full tokens.
    Setup {
        #[arg(long)]
        employees: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Enrol the admin's authenticator app; prints the base32 secret on stdout.
    EnrolAdmin,
    /// Correct-password sign-ins for a while, with /healthz probed alongside.
    Logins {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Measured seconds (after the warm-up).
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Sign-ins are spread over employees 0..N (they must have been set up).
        #[arg(long, default_value_t = 100)]
        employees: usize,
        /// Seconds of load before measuring starts.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Seconds of /healthz probing on the idle server before the load starts.
        #[arg(long, default_value_t = 2)]
        idle_probe: u64,
        /// Milliseconds between two /healthz probes.
        #[arg(long, default_value_t = 10)]
        probe_interval_ms: u64,
        /// Name of this run in the results (the /healthz phases get it as a prefix unless it
        /// is `logins`) [logins, or logins_2fa with --mfa].
        #[arg(long)]
        phase: Option<String>,
        /// Enrol the employees' authenticator apps first, then sign in with password + code.
        #[arg(long)]
        mfa: bool,
    },
    /// Issue N one-time tokens as admin, then redeem them concurrently.
    Verify {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Concurrency of the issuing phase (not measured).
        #[arg(long, default_value_t = 4)]
        issue_concurrency: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, BoxError> {
    let api = Api::new(&cli)?;
    match cli.command {
        Command::Setup {
            employees,
            offset,
            concurrency,
        } => setup(&api, employees, offset, concurrency).await,
        Command::EnrolAdmin => enrol_admin(&api).await,
        Command::Logins {
            concurrency,
            duration,
            employees,
            warmup,
            idle_probe,
            probe_interval_ms,
            phase,
            mfa,
        } => {
            let default_phase = if mfa { "logins_2fa" } else { "logins" };
            logins(
                &api,
                LoginPlan {
                    concurrency: concurrency.max(1),
                    duration: Duration::from_secs(duration.max(1)),
                    employees: employees.max(1),
                    warmup: Duration::from_secs(warmup),
                    idle_probe: Duration::from_secs(idle_probe),
                    probe_interval: Duration::from_millis(probe_interval_ms.max(1)),
                    phase: phase.unwrap_or_else(|| default_phase.to_owned()),
                    mfa,
                },
            )
            .await
        }
        Command::Verify {
            count,
            concurrency,
            offset,
            issue_concurrency,
        } => {
            verify(
                &api,
                count,
                concurrency.max(1),
                offset,
                issue_concurrency.max(1),
            )
            .await
        }
    }
}

// ------------------------------------------------------------------------------------------
// HTTP plumbing
// ------------------------------------------------------------------------------------------

struct Api {
    base: String,
    client: Client,
    timeout: Duration,
    prefix: String,
    employee_password: String,
    admin: Mutex<Option<(String, Instant)>>,
}

/// The outcome of one request: status (None on a transport error), parsed body, latency.
struct Reply {
    status: Option<StatusCode>,
    body: Value,
    latency: Duration,
    transport_error: Option<String>,
}

impl Reply {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }

    fn status_key(&self) -> String {
        match self.status {
            Some(s) => s.as_u16().to_string(),
            None => "transport".into(),
        }
    }

    /// A short description for the error samples: status, problem code, detail.
    fn describe(&self) -> Value {
        json!({
            "status": self.status.map(|s| s.as_u16()),
            "code": self.body.get("code"),
            "detail": self.body.get("detail"),
            "transportError": self.transport_error,
        })
    }
}

impl Api {
    fn new(cli: &Cli) -> Result<Self, BoxError> {
        let timeout = Duration::from_secs(cli.timeout.max(1));
        Ok(Self {
            base: cli.base_url.trim_end_matches('/').to_owned(),
            client: client(timeout)?,
            timeout,
            prefix: cli.prefix.clone(),
            employee_password: cli.employee_password.clone(),
            admin: Mutex::new(None),
        })
    }

    fn employee_id(&self, index: usize) -> String {
        format!("{}{index:06}", self.prefix)
    }

    async fn call(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        request(
            client,
            method,
            &format!("{}{path}", self.base),
            bearer,
            body,
        )
        .await
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.call(&self.client, Method::POST, path, bearer, Some(body))
            .await
    }

    /// The admin's access token; signs in again when the cached one is 10 minutes old
    /// (access tokens live 15 minutes). An admin with a second factor completes
    /// `mfa_required` with a code from `LOADGEN_ADMIN_TOTP_SECRET`.
    async fn admin_token(&self) -> Result<String, BoxError> {
        let mut cached = self.admin.lock().await;
        if let Some((token, at)) = cached.as_ref()
            && at.elapsed() < Duration::from_secs(600)
        {
            return Ok(token.clone());
        }
        let reply = self.admin_password_step().await?;
        let token = match full_access_token(&reply) {
            Some(token) => token,
            None if problem_code(&reply) == Some("mfa_required") => {
                self.admin_second_step(&reply).await?
            }
            None => return Err(format!("admin sign-in failed: {}", reply.describe()).into()),
        };
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// POST /auth/authenticate with the admin's ID and password.
    async fn admin_password_step(&self) -> Result<Reply, BoxError> {
        let id = std::env::var("LOADGEN_ADMIN_ID")
            .map_err(|_| "LOADGEN_ADMIN_ID is not set (the admin's employee ID)")?;
        let password = std::env::var("LOADGEN_ADMIN_PASSWORD")
            .map_err(|_| "LOADGEN_ADMIN_PASSWORD is not set")?;
        Ok(self
            .post(
                "/api/v2/auth/authenticate",
                None,
                &json!({ "employeeId": id, "password": password }),
            )
            .await)
    }

    /// POST /auth/mfa with the code for the current step. A step already spent (by an earlier
    /// run in the same 30 s) is refused as `invalid_code`: then wait for the next step and
    /// retry with the same mfaToken, which stays valid until a code is accepted.
    async fn admin_second_step(&self, first: &Reply) -> Result<String, BoxError> {
        let secret_text = std::env::var("LOADGEN_ADMIN_TOTP_SECRET").map_err(|_| {
            "the admin has a second factor but LOADGEN_ADMIN_TOTP_SECRET is not set (run `loadgen enrol-admin`)"
        })?;
        let secret = TotpSecret::from_base32(secret_text.trim())
            .ok_or("LOADGEN_ADMIN_TOTP_SECRET is not a base32 authenticator secret")?;
        let mfa_token = first
            .body
            .get("mfaToken")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("mfa_required without an mfaToken: {}", first.describe()))?;
        const ATTEMPTS: usize = 3;
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            let step = current_step();
            let code = secret
                .code_at_step(step)
                .ok_or("cannot compute the admin's code")?;
            let reply = self
                .post(
                    "/api/v2/auth/mfa",
                    None,
                    &json!({ "mfaToken": mfa_token, "code": code }),
                )
                .await;
            if let Some(token) = full_access_token(&reply) {
                return Ok(token);
            }
            if problem_code(&reply) != Some("invalid_code") || attempt == ATTEMPTS {
                last = Some(reply);
                break;
            }
            let wait = until_step(step + 1);
            eprintln!(
                "loadgen: the admin's code for this step was refused (already used?); retrying in {:.1} s",
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
        let detail = last.map(|r| r.describe()).unwrap_or(Value::Null);
        Err(format!("admin second step failed: {detail}").into())
    }

    /// API-1 as admin: a fresh one-time token for the employee.
    async fn issue_token(&self, employee_id: &str) -> Result<String, Value> {
        let admin = self
            .admin_token()
            .await
            .map_err(|e| json!({ "error": e.to_string() }))?;
        let reply = self
            .post(
                "/api/v2/auth/generate-onetime-token",
                Some(&admin),
                &json!({ "employeeId": employee_id, "validityHours": 24 }),
            )
            .await;
        match reply.body.get("token").and_then(Value::as_str) {
            Some(token) if reply.ok() => Ok(token.to_owned()),
            _ => Err(with_step("generate-onetime-token", employee_id, &reply)),
        }
    }
}

/// One JSON request; never fails, the outcome is in the reply.
async fn request(
    client: &Client,
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut req = client.request(method, url).header("Accept-Language", "en");
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let started = Instant::now();
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let bytes = res.bytes().await;
            let latency = started.elapsed();
            match bytes {
                Ok(bytes) => Reply {
                    status: Some(status),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    latency,
                    transport_error: None,
                },
                Err(e) => Reply {
                    status: None,
                    body: Value::Null,
                    latency,
                    transport_error: Some(e.to_string()),
                },
            }
        }
        Err(e) => Reply {
            status: None,
            body: Value::Null,
            latency: started.elapsed(),
            transport_error: Some(e.to_string()),
        },
    }
}

fn client(timeout: Duration) -> Result<Client, BoxError> {
    Ok(Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .user_agent("staffgate-loadgen/1")
        .build()?)
}

fn with_step(step: &str, employee_id: &str, reply: &Reply) -> Value {
    let mut v = reply.describe();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("step".into(), json!(step));
        obj.insert("employeeId".into(), json!(employee_id));
    }
    v
}

/// The access token of a reply carrying full tokens.
fn full_access_token(reply: &Reply) -> Option<String> {
    if !reply.ok() || reply.body.get("scope").and_then(Value::as_str) != Some("full") {
        return None;
    }
    reply
        .body
        .get("accessToken")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The problem code (`invalid_code`, `mfa_required`, ...) of an error reply.
fn problem_code(reply: &Reply) -> Option<&str> {
    reply.body.get("code").and_then(Value::as_str)
}

fn unix_ms() -> i64 {
    SystemClock.now().timestamp_millis()
}

/// The RFC 6238 time step now, by this machine's clock (the server's, in a local run).
fn current_step() -> i64 {
    step_of(unix_ms().div_euclid(1000))
}

/// How long until `step` begins, plus a margin against clock granularity.
fn until_step(step: i64) -> Duration {
    let starts_ms = step.saturating_mul(STEP_SECONDS * 1000);
    let wait_ms = (starts_ms - unix_ms()).max(0) + 200;
    Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))
}

fn emit(v: &Value) {
    println!("{v}");
}

// ------------------------------------------------------------------------------------------
// Statistics
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<String, u64>,
    ok: u64,
    samples: Vec<Value>,
}

impl Tally {
    fn record(&mut self, reply: &Reply, success: bool) {
        self.latencies_ms.push(reply.latency.as_secs_f64() * 1000.0);
        *self.statuses.entry(reply.status_key()).or_default() += 1;
        if success {
            self.ok += 1;
        } else if self.samples.len() < 5 {
            self.samples.push(reply.describe());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_ms.extend(other.latencies_ms);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.ok += other.ok;
        for s in other.samples {
            if self.samples.len() < 5 {
                self.samples.push(s);
            }
        }
    }

    fn total(&self) -> u64 {
        self.latencies_ms.len() as u64
    }

    fn latency_json(&mut self) -> Value {
        self.latencies_ms.sort_by(f64::total_cmp);
        let l = &self.latencies_ms;
        let mean = if l.is_empty() {
            0.0
        } else {
            l.iter().sum::<f64>() / l.len() as f64
        };
        json!({
            "meanMs": round3(mean),
            "p50Ms": round3(percentile(l, 50.0)),
            "p90Ms": round3(percentile(l, 90.0)),
            "p99Ms": round3(percentile(l, 99.0)),
            "maxMs": round3(l.last().copied().unwrap_or(0.0)),
        })
    }
}

/// Nearest-rank percentile of a sorted slice.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn merge_json(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

// ------------------------------------------------------------------------------------------
// setup
// ------------------------------------------------------------------------------------------

async fn setup(
    api: &Api,
    employees: usize,
    offset: usize,
    concurrency: usize,
) -> Result<ExitCode, BoxError> {
    api.admin_token().await?;
    let started = Instant::now();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<&'static str, Value>> = stream::iter(offset..offset + employees)
        .map(|i| {
            let done = &done;
            async move {
                let r = prepare_employee(api, &api.employee_id(i)).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(50) || n == employees {
                    eprintln!("loadgen setup: {n}/{employees}");
                }
                r
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut prepared = 0;
    let mut already = 0;
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok("already") => already += 1,
            Ok(_) => prepared += 1,
            Err(e) => failures.push(e),
        }
    }
    let failed = failures.len();
    failures.truncate(5);
    emit(&json!({
        "phase": "setup",
        "employees": employees,
        "offset": offset,
        "concurrency": concurrency,
        "prepared": prepared,
        "alreadyPrepared": already,
        "failed": failed,
        "failureSamples": failures,
        "elapsedS": round3(elapsed),
    }));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Token -> setup session -> password. `Ok("already")` when the password was already the
/// one we set (a re-run).
async fn prepare_employee(api: &Api, employee_id: &str) -> Result<&'static str, Value> {
    let token = api.issue_token(employee_id).await?;
    let reply = api
        .post(
            "/api/v2/auth/verify-onetime-token",
            None,
            &json!({ "token": token }),
        )
        .await;
    let setup = match reply.body.get("setupToken").and_then(Value::as_str) {
        Some(t) if reply.ok() => t.to_owned(),
        _ => return Err(with_step("verify-onetime-token", employee_id, &reply)),
    };
    let reply = api
        .call(
            &api.client,
            Method::PUT,
            "/api/v2/auth/change-password",
            Some(&setup),
            Some(&json!({ "newPassword": api.employee_password })),
        )
        .await;
    if reply.ok() && reply.body.get("scope").and_then(Value::as_str) == Some("full") {
        return Ok("prepared");
    }
    let same_as_current = reply.body.to_string().contains("same_as_current");
    if same_as_current {
        return Ok("already");
    }
    Err(with_step("change-password", employee_id, &reply))
}

// ------------------------------------------------------------------------------------------
// enrol-admin and authenticator enrolment
// ------------------------------------------------------------------------------------------

/// An authenticator app enrolled over the API: its secret, the step its confirming code spent,
/// and the recovery codes the confirmation returned.
struct Enrolled {
    secret: TotpSecret,
    spent_step: i64,
    recovery_codes: Vec<String>,
}

/// POST /auth/mfa/totp/enroll, then /confirm with the code for the current step.
async fn enrol_totp(api: &Api, bearer: &str, employee_id: &str) -> Result<Enrolled, Value> {
    let reply = api
        .post("/api/v2/auth/mfa/totp/enroll", Some(bearer), &json!({}))
        .await;
    let secret = match reply.body.get("secret").and_then(Value::as_str) {
        Some(text) if reply.ok() => TotpSecret::from_base32(text)
            .ok_or_else(|| json!({ "step": "enroll", "employeeId": employee_id, "error": "secret is not base32" }))?,
        _ => return Err(with_step("mfa/totp/enroll", employee_id, &reply)),
    };
    let spent_step = current_step();
    let code = secret.code_at_step(spent_step).ok_or_else(
        || json!({ "step": "confirm", "employeeId": employee_id, "error": "no code" }),
    )?;
    let reply = api
        .post(
            "/api/v2/auth/mfa/totp/confirm",
            Some(bearer),
            &json!({ "code": code }),
        )
        .await;
    let recovery_codes: Vec<String> =
        match reply.body.get("recoveryCodes").and_then(Value::as_array) {
            Some(codes) if reply.ok() => codes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => return Err(with_step("mfa/totp/confirm", employee_id, &reply)),
        };
    Ok(Enrolled {
        secret,
        spent_step,
        recovery_codes,
    })
}

async fn enrol_admin(api: &Api) -> Result<ExitCode, BoxError> {
    let reply = api.admin_password_step().await?;
    let Some(token) = full_access_token(&reply) else {
        let why = if problem_code(&reply) == Some("mfa_required") {
            "the admin already has a second factor (its secret cannot be read back)".to_owned()
        } else {
            format!("admin sign-in failed: {}", reply.describe())
        };
        return Err(why.into());
    };
    let id = std::env::var("LOADGEN_ADMIN_ID").unwrap_or_default();
    let enrolled = enrol_totp(api, &token, &id)
        .await
        .map_err(|e| format!("admin enrolment failed: {e}"))?;
    eprintln!(
        "loadgen enrol-admin: {id} enrolled an authenticator app ({} recovery codes, not kept)",
        enrolled.recovery_codes.len()
    );
    println!("{}", enrolled.secret.base32());
    Ok(ExitCode::SUCCESS)
}

/// Signs employee `i` in with the password (it has no second factor yet) and enrols it.
async fn enrol_employee(api: &Api, i: usize) -> Result<Enrolled, Value> {
    let employee_id = api.employee_id(i);
    let reply = api
        .post(
            "/api/v2/auth/authenticate",
            None,
            &json!({ "employeeId": employee_id, "password": api.employee_password }),
        )
        .await;
    let token = full_access_token(&reply)
        .ok_or_else(|| with_step("authenticate (before enrolment)", &employee_id, &reply))?;
    enrol_totp(api, &token, &employee_id).await
}

/// One employee's second factor as the load generator holds it. `last_step` is the newest
/// step spent or about to be; while a TOTP sign-in is in flight the next one uses a recovery
/// code, so two sign-ins of one account never race for one step.
struct FactorState {
    secret: TotpSecret,
    last_step: i64,
    totp_in_flight: bool,
    recovery_codes: Vec<String>,
}

/// The proof one sign-in will send.
enum Proof {
    Totp { code: String },
    Recovery { code: String },
}

impl FactorState {
    /// Reserves a proof that the server will accept: the current step's code when that step
    /// is unused, else an unused recovery code; None when neither is left.
    fn reserve(&mut self, step: i64) -> Option<Proof> {
        if step > self.last_step && !self.totp_in_flight {
            let code = self.secret.code_at_step(step)?;
            self.last_step = step;
            self.totp_in_flight = true;
            return Some(Proof::Totp { code });
        }
        self.recovery_codes
            .pop()
            .map(|code| Proof::Recovery { code })
    }

    /// The sign-in is over; a recovery code the server never saw goes back.
    fn release(&mut self, proof: Proof, sent: bool) {
        match proof {
            Proof::Totp { .. } => self.totp_in_flight = false,
            Proof::Recovery { code } if !sent => self.recovery_codes.push(code),
            Proof::Recovery { .. } => {}
        }
    }
}

/// Every employee 0..N enrols an authenticator app; all must succeed.
async fn enrol_employees(
    api: &Api,
    employees: usize,
    concurrency: usize,
) -> Result<(Vec<std::sync::Mutex<FactorState>>, f64), BoxError> {
    let started = Instant::now();
    let results: Vec<(usize, Result<Enrolled, Value>)> = stream::iter(0..employees)
        .map(|i| async move { (i, enrol_employee(api, i).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut slots: Vec<Option<FactorState>> = (0..employees).map(|_| None).collect();
    let mut failures = Vec::new();
    for (i, r) in results {
        match r {
            Ok(e) => {
                slots[i] = Some(FactorState {
                    secret: e.secret,
                    last_step: e.spent_step,
                    totp_in_flight: false,
                    recovery_codes: e.recovery_codes,
                })
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        let n = failures.len();
        failures.truncate(3);
        return Err(format!(
            "{n} of {employees} employees could not enrol an authenticator app (a fresh database and `loadgen setup` are needed): {}",
            Value::Array(failures)
        )
        .into());
    }
    eprintln!("loadgen logins --mfa: {employees} employees enrolled in {elapsed:.1}s");
    Ok((
        slots
            .into_iter()
            .flatten()
            .map(std::sync::Mutex::new)
            .collect(),
        elapsed,
    ))
}

// ------------------------------------------------------------------------------------------
// logins + /healthz probe
// ------------------------------------------------------------------------------------------

fn health_phase(run: &str, name: &str) -> String {
    if run == "logins" {
        name.to_owned()
    } else {
        format!("{run}:{name}")
    }
}

struct LoginPlan {
    concurrency: usize,
    duration: Duration,
    employees: usize,
    warmup: Duration,
    idle_probe: Duration,
    probe_interval: Duration,
    phase: String,
    mfa: bool,
}

/// GETs /healthz every `interval` until `until`, each on the probe's own connection, counting
/// only the probes that start at or after `from`.
async fn probe_healthz(
    base: String,
    client: Client,
    interval: Duration,
    from: Instant,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let url = format!("{base}/healthz");
    loop {
        tick.tick().await;
        let now = Instant::now();
        if now >= until {
            break;
        }
        let res = client.get(&url).send().await;
        let (status, err) = match res {
            Ok(r) => {
                let s = r.status();
                match r.bytes().await {
                    Ok(_) => (Some(s), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
            Err(e) => (None, Some(e.to_string())),
        };
        if now >= from {
            let reply = Reply {
                status,
                body: Value::Null,
                latency: now.elapsed(),
                transport_error: err,
            };
            let success = reply.ok();
            tally.record(&reply, success);
        }
    }
    tally
}

/// What one sign-in worker saw within the measured window.
#[derive(Default)]
struct WorkerTally {
    /// Whole sign-ins: one request, or password + second step as one.
    signins: Tally,
    /// The second step (POST /auth/mfa) alone.
    second_step: Tally,
    setup_only: u64,
    sent: u64,
    by_totp: u64,
    by_recovery_code: u64,
    /// Times every employee's step was spent and no recovery code was left.
    waits_for_step: u64,
}

impl WorkerTally {
    fn merge(&mut self, other: WorkerTally) {
        self.signins.merge(other.signins);
        self.second_step.merge(other.second_step);
        self.setup_only += other.setup_only;
        self.sent += other.sent;
        self.by_totp += other.by_totp;
        self.by_recovery_code += other.by_recovery_code;
        self.waits_for_step += other.waits_for_step;
    }
}

/// What every sign-in worker shares.
#[derive(Clone)]
struct Workload {
    base: String,
    client: Client,
    password: String,
    prefix: String,
    employees: usize,
    next: Arc<AtomicUsize>,
    measure_from: Instant,
    end: Instant,
}

impl Workload {
    fn employee_id(&self, i: usize) -> String {
        format!("{}{i:06}", self.prefix)
    }

    fn in_window(&self, finished: Instant) -> bool {
        finished >= self.measure_from && finished <= self.end
    }
}

/// Password-only sign-ins, round robin over the employees.
async fn password_worker(w: Workload) -> WorkerTally {
    let url = format!("{}/api/v2/auth/authenticate", w.base);
    let mut t = WorkerTally::default();
    while Instant::now() < w.end {
        let i = w.next.fetch_add(1, Ordering::Relaxed) % w.employees;
        let body = json!({ "employeeId": w.employee_id(i), "password": w.password });
        t.sent += 1;
        let reply = request(&w.client, Method::POST, &url, None, Some(&body)).await;
        if !w.in_window(Instant::now()) {
            continue;
        }
        let full = full_access_token(&reply).is_some();
        if reply.ok() && !full {
            t.setup_only += 1;
        }
        t.signins.record(&reply, full);
    }
    t
}

/// Password + second step, round robin over the employees, each sign-in with a proof the
/// server will accept (see `FactorState::reserve`).
async fn second_factor_worker(
    w: Workload,
    factors: Arc<Vec<std::sync::Mutex<FactorState>>>,
) -> WorkerTally {
    let auth_url = format!("{}/api/v2/auth/authenticate", w.base);
    let mfa_url = format!("{}/api/v2/auth/mfa", w.base);
    let mut t = WorkerTally::default();
    while Instant::now() < w.end {
        let step = current_step();
        let mut picked = None;
        for _ in 0..w.employees {
            let i = w.next.fetch_add(1, Ordering::Relaxed) % w.employees;
            let proof = factors[i]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reserve(step);
            if let Some(proof) = proof {
                picked = Some((i, proof));
                break;
            }
        }
        let Some((i, proof)) = picked else {
            t.waits_for_step += 1;
            let left = w.end.saturating_duration_since(Instant::now());
            tokio::time::sleep(until_step(step + 1).min(left)).await;
            continue;
        };
        let (code, is_totp) = match &proof {
            Proof::Totp { code } => (code.clone(), true),
            Proof::Recovery { code } => (code.clone(), false),
        };
        t.sent += 1;
        let started = Instant::now();
        let body = json!({ "employeeId": w.employee_id(i), "password": w.password });
        let first = request(&w.client, Method::POST, &auth_url, None, Some(&body)).await;
        let mfa_token = match first.body.get("mfaToken").and_then(Value::as_str) {
            Some(token) if problem_code(&first) == Some("mfa_required") => Some(token.to_owned()),
            _ => None,
        };
        let second = match mfa_token {
            Some(token) => {
                let body = json!({ "mfaToken": token, "code": code });
                Some(request(&w.client, Method::POST, &mfa_url, None, Some(&body)).await)
            }
            None => None,
        };
        factors[i]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(proof, second.is_some());
        let finished = Instant::now();
        if !w.in_window(finished) {
            continue;
        }
        let Some(second) = second else {
            // The password step did not ask for the code: a failed sign-in.
            t.signins.record(&first, false);
            continue;
        };
        let full = full_access_token(&second).is_some();
        t.second_step.record(&second, full);
        let whole = Reply {
            status: second.status,
            body: second.body,
            latency: finished - started,
            transport_error: second.transport_error,
        };
        t.signins.record(&whole, full);
        if full && is_totp {
            t.by_totp += 1;
        } else if full {
            t.by_recovery_code += 1;
        }
    }
    t
}

async fn logins(api: &Api, plan: LoginPlan) -> Result<ExitCode, BoxError> {
    let probe_client = client(api.timeout)?;
    let enrolment = if plan.mfa {
        let (factors, secs) = enrol_employees(api, plan.employees, plan.concurrency).await?;
        // Enrolment spent each account's current step; start on a fresh one, so the sign-ins
        // are not mostly recovery codes for the rest of it.
        let wait = until_step(current_step() + 1);
        eprintln!(
            "loadgen logins --mfa: waiting {:.1}s for the next time step",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
        Some((Arc::new(factors), secs))
    } else {
        // One sign-in first, to fail fast with a clear message if setup did not happen.
        let first = api
            .post(
                "/api/v2/auth/authenticate",
                None,
                &json!({ "employeeId": api.employee_id(0), "password": api.employee_password }),
            )
            .await;
        if full_access_token(&first).is_none() {
            return Err(format!(
                "{} cannot sign in with full tokens (run `loadgen setup` first): {}",
                api.employee_id(0),
                first.describe()
            )
            .into());
        }
        None
    };

    // /healthz on the idle server, for reference.
    let now = Instant::now();
    let mut idle = probe_healthz(
        api.base.clone(),
        probe_client.clone(),
        plan.probe_interval,
        now,
        now + plan.idle_probe,
    )
    .await;

    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let probe = tokio::spawn(probe_healthz(
        api.base.clone(),
        probe_client,
        plan.probe_interval,
        measure_from,
        end,
    ));
    let workload = Workload {
        base: api.base.clone(),
        client: api.client.clone(),
        password: api.employee_password.clone(),
        prefix: api.prefix.clone(),
        employees: plan.employees,
        next: Arc::new(AtomicUsize::new(0)),
        measure_from,
        end,
    };
    let mut workers = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let w = workload.clone();
        workers.push(match &enrolment {
            Some((factors, _)) => tokio::spawn(second_factor_worker(w, factors.clone())),
            None => tokio::spawn(password_worker(w)),
        });
    }
    let mut t = WorkerTally::default();
    for w in workers {
        t.merge(w.await?);
    }
    let mut health = probe.await?;
    let secs = plan.duration.as_secs_f64();
    let completed = t.signins.total();
    let errors = completed - t.signins.ok;
    let mut result = merge_json(
        json!({
            "phase": plan.phase,
            "concurrency": plan.concurrency,
            "employees": plan.employees,
            "warmupS": plan.warmup.as_secs_f64(),
            "durationS": secs,
            "requestsSent": t.sent,
            "completedInWindow": completed,
            "ok": t.signins.ok,
            "errors": errors,
            "setupOnlyResponses": t.setup_only,
            "statuses": t.signins.statuses,
            "errorSamples": t.signins.samples,
            "loginsPerSec": round3(t.signins.ok as f64 / secs),
        }),
        t.signins.latency_json(),
    );
    if let Some((_, enrol_secs)) = &enrolment {
        result = merge_json(
            result,
            json!({
                "secondFactor": {
                    "enrolledEmployees": plan.employees,
                    "enrolmentS": round3(*enrol_secs),
                    "byTotp": t.by_totp,
                    "byRecoveryCode": t.by_recovery_code,
                    "waitsForStep": t.waits_for_step,
                    "mfaCalls": t.second_step.total(),
                    "mfaStatuses": t.second_step.statuses,
                    "mfaLatency": t.second_step.latency_json(),
                },
            }),
        );
    }
    emit(&result);
    emit(&merge_json(
        json!({
            "phase": health_phase(&plan.phase, "healthz_idle"),
            "intervalMs": plan.probe_interval.as_millis() as u64,
            "probes": idle.total(),
            "errors": idle.total() - idle.ok,
            "statuses": idle.statuses,
        }),
        idle.latency_json(),
    ));
    emit(&merge_json(
        json!({
            "phase": health_phase(&plan.phase, "healthz_under_login_load"),
            "intervalMs": plan.probe_interval.as_millis() as u64,
            "probes": health.total(),
            "errors": health.total() - health.ok,
            "statuses": health.statuses,
            "errorSamples": health.samples,
        }),
        health.latency_json(),
    ));
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------------------------------------
// verify
// ------------------------------------------------------------------------------------------

async fn verify(
    api: &Api,
    count: usize,
    concurrency: usize,
    offset: usize,
    issue_concurrency: usize,
) -> Result<ExitCode, BoxError> {
    api.admin_token().await?;
    // Issuing revokes the employee's other unused tokens, so one token per employee.
    let issue_started = Instant::now();
    let issued: Vec<Result<String, Value>> = stream::iter(offset..offset + count)
        .map(|i| async move { api.issue_token(&api.employee_id(i)).await })
        .buffer_unordered(issue_concurrency)
        .collect()
        .await;
    let issue_secs = issue_started.elapsed().as_secs_f64();
    let mut tokens = Vec::with_capacity(count);
    let mut issue_failures = Vec::new();
    for r in issued {
        match r {
            Ok(t) => tokens.push(t),
            Err(e) => issue_failures.push(e),
        }
    }
    eprintln!(
        "loadgen verify: issued {} tokens in {issue_secs:.1}s ({} failed)",
        tokens.len(),
        issue_failures.len()
    );

    let started = Instant::now();
    let replies: Vec<Reply> = stream::iter(tokens)
        .map(|token| async move {
            api.post(
                "/api/v2/auth/verify-onetime-token",
                None,
                &json!({ "token": token }),
            )
            .await
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let mut tally = Tally::default();
    for r in &replies {
        let ok = r.status == Some(StatusCode::OK) && r.body.get("setupToken").is_some();
        tally.record(r, ok);
    }
    let issue_failed = issue_failures.len();
    issue_failures.truncate(5);
    let non_200 = tally.total() - tally.ok;
    emit(&merge_json(
        json!({
            "phase": "verify",
            "count": count,
            "concurrency": concurrency,
            "issued": count - issue_failed,
            "issueFailed": issue_failed,
            "issueFailureSamples": issue_failures,
            "issueS": round3(issue_secs),
            "issuedPerSec": round3((count - issue_failed) as f64 / issue_secs.max(1e-9)),
            "redeemed": tally.ok,
            "non200": non_200,
            "statuses": tally.statuses,
            "errorSamples": tally.samples,
            "elapsedS": round3(secs),
            "redemptionsPerSec": round3(tally.ok as f64 / secs),
        }),
        tally.latency_json(),
    ));
    Ok(ExitCode::SUCCESS)
}
