//! Load generator for staffgate's JSON API (used by `scripts/bench.sh`).
//!
//! ```text
//! cargo run --release --example loadgen -- [--base-url URL] <COMMAND>
//!
//!   setup  --employees N [--offset K] [--concurrency C]
//!       Makes employees <prefix>{K..K+N} (imported beforehand, no password yet) able to sign
//!       in: as admin, issue a one-time token; redeem it; set the password with the setup
//!       token. Re-running it is harmless (an unchanged password counts as done).
//!   logins --concurrency C --duration S [--employees N] [--warmup S]
//!       Correct-password sign-ins spread over the first N employees for S seconds, while
//!       GET /healthz is probed every 10 ms on its own connection.
//!   verify --count N [--concurrency C] [--offset K]
//!       As admin, issues one token to each of N employees, then redeems them all concurrently.
//! ```
//!
//! The admin's credentials come from `LOADGEN_ADMIN_ID` and `LOADGEN_ADMIN_PASSWORD`; the
//! employees' password from `LOADGEN_EMPLOYEE_PASSWORD` (a default that meets the policy is
//! built in). Employee IDs are `<prefix><index, 6 digits>` (`E000000`, `E000001`, ...), as
//! written by `scripts/bench.sh`. Results are JSON lines on stdout; progress goes to stderr.
//! Only the given base URL is contacted (meant for a server on this machine), and every loop
//! is bounded in count or time.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures::stream::{self, StreamExt};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
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
        /// is the default).
        #[arg(long, default_value = "logins")]
        phase: String,
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
        Command::Logins {
            concurrency,
            duration,
            employees,
            warmup,
            idle_probe,
            probe_interval_ms,
            phase,
        } => {
            logins(
                &api,
                LoginPlan {
                    concurrency: concurrency.max(1),
                    duration: Duration::from_secs(duration.max(1)),
                    employees: employees.max(1),
                    warmup: Duration::from_secs(warmup),
                    idle_probe: Duration::from_secs(idle_probe),
                    probe_interval: Duration::from_millis(probe_interval_ms.max(1)),
                    phase,
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
        let mut req = client
            .request(method, format!("{}{path}", self.base))
            .header("Accept-Language", "en");
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

    async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.call(&self.client, Method::POST, path, bearer, Some(body))
            .await
    }

    /// The admin's access token; signs in again when the cached one is 10 minutes old
    /// (access tokens live 15 minutes).
    async fn admin_token(&self) -> Result<String, BoxError> {
        let mut cached = self.admin.lock().await;
        if let Some((token, at)) = cached.as_ref()
            && at.elapsed() < Duration::from_secs(600)
        {
            return Ok(token.clone());
        }
        let id = std::env::var("LOADGEN_ADMIN_ID")
            .map_err(|_| "LOADGEN_ADMIN_ID is not set (the admin's employee ID)")?;
        let password = std::env::var("LOADGEN_ADMIN_PASSWORD")
            .map_err(|_| "LOADGEN_ADMIN_PASSWORD is not set")?;
        let reply = self
            .post(
                "/api/v2/auth/authenticate",
                None,
                &json!({ "employeeId": id, "password": password }),
            )
            .await;
        let token = match (reply.ok(), reply.body.get("scope").and_then(Value::as_str)) {
            (true, Some("full")) => reply
                .body
                .get("accessToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
        .ok_or_else(|| format!("admin sign-in failed: {}", reply.describe()))?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
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

async fn logins(api: &Api, plan: LoginPlan) -> Result<ExitCode, BoxError> {
    let probe_client = client(api.timeout)?;
    // One sign-in first, to fail fast with a clear message if setup did not happen.
    let first = api
        .post(
            "/api/v2/auth/authenticate",
            None,
            &json!({ "employeeId": api.employee_id(0), "password": api.employee_password }),
        )
        .await;
    if !first.ok() || first.body.get("scope").and_then(Value::as_str) != Some("full") {
        return Err(format!(
            "{} cannot sign in with full tokens (run `loadgen setup` first): {}",
            api.employee_id(0),
            first.describe()
        )
        .into());
    }

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
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let next = next.clone();
        let base = api.base.clone();
        let client = api.client.clone();
        let password = api.employee_password.clone();
        let prefix = api.prefix.clone();
        let employees = plan.employees;
        workers.push(tokio::spawn(async move {
            let url = format!("{base}/api/v2/auth/authenticate");
            let mut tally = Tally::default();
            let mut setup_only = 0u64;
            let mut sent = 0u64;
            while Instant::now() < end {
                let i = next.fetch_add(1, Ordering::Relaxed) % employees;
                let body = json!({ "employeeId": format!("{prefix}{i:06}"), "password": password });
                let started = Instant::now();
                sent += 1;
                let res = client.post(&url).json(&body).send().await;
                let (status, body, err) = match res {
                    Ok(r) => {
                        let s = r.status();
                        match r.bytes().await {
                            Ok(b) => (
                                Some(s),
                                serde_json::from_slice(&b).unwrap_or(Value::Null),
                                None,
                            ),
                            Err(e) => (None, Value::Null, Some(e.to_string())),
                        }
                    }
                    Err(e) => (None, Value::Null, Some(e.to_string())),
                };
                let finished = Instant::now();
                if finished < measure_from || finished > end {
                    continue;
                }
                let reply = Reply {
                    status,
                    latency: finished - started,
                    transport_error: err,
                    body,
                };
                let full = reply.ok()
                    && reply.body.get("scope").and_then(Value::as_str) == Some("full")
                    && reply.body.get("accessToken").is_some();
                if reply.ok() && !full {
                    setup_only += 1;
                }
                tally.record(&reply, full);
            }
            (tally, setup_only, sent)
        }));
    }
    let mut tally = Tally::default();
    let mut setup_only = 0;
    let mut sent = 0;
    for w in workers {
        let (t, s, n) = w.await?;
        tally.merge(t);
        setup_only += s;
        sent += n;
    }
    let mut health = probe.await?;
    let secs = plan.duration.as_secs_f64();
    let completed = tally.total();
    let errors = completed - tally.ok;
    emit(&merge_json(
        json!({
            "phase": plan.phase,
            "concurrency": plan.concurrency,
            "employees": plan.employees,
            "warmupS": plan.warmup.as_secs_f64(),
            "durationS": secs,
            "requestsSent": sent,
            "completedInWindow": completed,
            "ok": tally.ok,
            "errors": errors,
            "setupOnlyResponses": setup_only,
            "statuses": tally.statuses,
            "errorSamples": tally.samples,
            "loginsPerSec": round3(tally.ok as f64 / secs),
        }),
        tally.latency_json(),
    ));
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
