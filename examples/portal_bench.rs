//! Latency benchmark of the HR portal's list pages (used by `scripts/bench/portal.sh`).
//!
//! ```text
//! cargo run --release --example portal_bench -- [--base-url URL] [--requests N] [--warmup W]
//!     [--employee ID] [--name-query TEXT] [--kana-query TEXT] [--id-prefix TEXT]
//!     [--miss-query TEXT] [--deep-page N] [--last-page N] [--event CODE]
//!     [--month-from YYYY-MM-DD] [--month-to YYYY-MM-DD] [--budget-ms MS] [--json PATH]
//!     [--plans PATH]
//! ```
//!
//! Signs in to the portal once (`BENCH_ADMIN_ID` / `BENCH_ADMIN_PASSWORD`) with a client that
//! keeps cookies and does not follow redirects, follows the history page's `rel="next"` link
//! twice to get a real keyset cursor, then measures every page with one client over one
//! keep-alive connection, one request at a time. The pages are visited round-robin (one
//! request to each page per round, `--requests` rounds after `--warmup` rounds), so slow
//! phases of the machine hit every page alike. `/readyz` (one database round trip) is the
//! baseline and is measured the same way, in the same rounds.
//!
//! A request's time runs from sending it to the last byte of its body, so it is the server's
//! time plus the loopback round trip and the client's own read; client and server share the
//! machine. The CSV export of one month is fetched once at the end (MB/s, rows/s).
//!
//! Results: a markdown table on stdout (p50 / p95 / p99, p95 as a ratio to the baseline's
//! p95, pass or fail against the budget), the raw figures as JSON with `--json`; progress goes
//! to stderr. Only the given base URL is contacted.
//!
//! With `--plans PATH` nothing is timed: the example starts the server in-process (settings
//! from the environment, as `staffgate serve` reads them, on a free local port), records every
//! statement its Diesel connections send (`diesel::connection::set_default_instrumentation`)
//! while it fetches the same pages one at a time, and writes them to PATH as
//! `page<TAB>what<TAB>SQL` lines with the bind values written in as literals, ready for
//! `EXPLAIN` and `ANALYZE`. The SQL is therefore the SQL the server runs for that page, not a
//! copy of it. Statements every portal page runs (the session and the signed-in admin) are
//! listed once, under "every portal page"; repeats of one statement shape on a page (the
//! export's chunks, say) are listed once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use reqwest::{Client, StatusCode, redirect};
use serde_json::json;
use staffgate::config::Settings;
use staffgate::services::clock::SystemClock;
use staffgate::startup::Application;
use staffgate::state::AppState;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(name = "portal_bench", about = "Latency of the HR portal's list pages")]
struct Cli {
    /// Base URL of the server under test.
    #[arg(long, env = "BENCH_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Admin who signs in to the portal (permission level 9.0 or more).
    #[arg(long, env = "BENCH_ADMIN_ID", default_value = "HR0001")]
    admin_id: String,
    #[arg(long, env = "BENCH_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: String,
    /// Measured requests per page.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Unmeasured requests per page before measuring.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Employee whose detail page and history are fetched.
    #[arg(long, default_value = "S004321")]
    employee: String,
    /// Search by part of the name (kanji).
    #[arg(long, default_value = "佐藤")]
    name_query: String,
    /// Search by part of the reading (katakana).
    #[arg(long, default_value = "ヤマ")]
    kana_query: String,
    /// Search by the start of the employee ID.
    #[arg(long, default_value = "S0042")]
    id_prefix: String,
    /// A search that matches nothing (a romaji name: looks like an ID, so it takes the
    /// ID-prefix probe and then the full search).
    #[arg(long, default_value = "tanaka")]
    miss_query: String,
    /// A page deep into the unfiltered employee list.
    #[arg(long, default_value_t = 150)]
    deep_page: u32,
    /// The last page of the unfiltered employee list (the deepest OFFSET).
    #[arg(long, default_value_t = 201)]
    last_page: u32,
    /// Event code for the history filters.
    #[arg(long, default_value = "password_login_failed")]
    event: String,
    /// First day (JST) of the one-month range used by the history filters and the export.
    #[arg(long, default_value = "2026-10-01")]
    month_from: String,
    /// Last day (JST, inclusive) of that range.
    #[arg(long, default_value = "2026-10-31")]
    month_to: String,
    /// The p95 each page must stay within, in milliseconds.
    #[arg(long, default_value_t = 20.0)]
    budget_ms: f64,
    /// Also write the raw figures here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Time nothing: write the SQL each page runs here (in-process server, see above).
    #[arg(long)]
    plans: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// What a measured URL is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The same-run baseline every p95 is divided by.
    Baseline,
    /// Shown for scale, not held to the budget.
    Reference,
    /// A portal page held to the budget.
    Page,
}

struct Target {
    name: String,
    path: String,
    role: Role,
    samples: Vec<Duration>,
    bytes: usize,
}

impl Target {
    fn new(name: impl Into<String>, path: impl Into<String>, role: Role) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            role,
            samples: Vec::new(),
            bytes: 0,
        }
    }
}

struct Summary {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portal_bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.plans.clone() {
        Some(path) => runtime.block_on(plans(&cli, &path)),
        None => runtime.block_on(run(cli)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portal_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A client signed in to the portal at `base`, and the URL of history page 3 (a real cursor).
async fn signed_in(cli: &Cli, base: &str) -> Result<(Client, String), BoxError> {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(cli.timeout.max(1)))
        .build()?;
    sign_in(&client, base, &cli.admin_id, &cli.admin_password).await?;
    eprintln!("portal_bench: signed in as {}", cli.admin_id);
    let page2 = next_link(&client, base, "/admin/history").await?;
    let page3 = next_link(&client, base, &page2).await?;
    eprintln!("portal_bench: history page 3 is {page3}");
    Ok((client, page3))
}

async fn run(cli: Cli) -> Result<ExitCode, BoxError> {
    let base = cli.base_url.trim_end_matches('/').to_owned();
    let (client, page3) = signed_in(&cli, &base).await?;
    let mut targets = targets(&cli, page3);

    // Every URL must answer 200 before anything is timed.
    for t in &mut targets {
        let (status, body) = fetch(&client, &base, &t.path).await?;
        if status != StatusCode::OK {
            return Err(format!("{} answered {status}", t.path).into());
        }
        t.bytes = body.len();
    }

    let rounds = cli.warmup + cli.requests;
    eprintln!(
        "portal_bench: {} URLs, {} warm-up + {} measured rounds",
        targets.len(),
        cli.warmup,
        cli.requests
    );
    let started = Instant::now();
    for round in 0..rounds {
        for t in &mut targets {
            let t0 = Instant::now();
            let (status, _) = fetch(&client, &base, &t.path).await?;
            let took = t0.elapsed();
            if status != StatusCode::OK {
                return Err(format!("{} answered {status} in round {round}", t.path).into());
            }
            if round >= cli.warmup {
                t.samples.push(took);
            }
        }
    }
    eprintln!(
        "portal_bench: measured in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let export_path = export_path(&cli);
    let export = measure_export(&client, &base, &export_path).await?;

    let baseline_p95 = targets
        .iter()
        .find(|t| t.role == Role::Baseline)
        .map(|t| summarize(&t.samples).p95)
        .unwrap_or(f64::NAN);

    let mut out = String::new();
    out.push_str(&format!(
        "| page | URL | p50 ms | p95 ms | p99 ms | max ms | p95 / baseline p95 | p95 <= {} ms |\n",
        fmt_num(cli.budget_ms)
    ));
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
    let mut failures = 0;
    let mut rows = Vec::new();
    for t in &targets {
        let s = summarize(&t.samples);
        let ratio = s.p95 / baseline_p95;
        let verdict = match t.role {
            Role::Baseline => "baseline".to_owned(),
            Role::Reference => "reference".to_owned(),
            Role::Page if s.p95 <= cli.budget_ms => "**pass**".to_owned(),
            Role::Page => {
                failures += 1;
                "**FAIL**".to_owned()
            }
        };
        out.push_str(&format!(
            "| {} | `{}` | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}x | {} |\n",
            t.name,
            t.path.replace('|', "%7C"),
            s.p50,
            s.p95,
            s.p99,
            s.max,
            ratio,
            verdict
        ));
        rows.push(json!({
            "name": t.name,
            "path": t.path,
            "role": format!("{:?}", t.role).to_lowercase(),
            "requests": t.samples.len(),
            "bodyBytes": t.bytes,
            "p50Ms": s.p50,
            "p95Ms": s.p95,
            "p99Ms": s.p99,
            "maxMs": s.max,
            "meanMs": s.mean,
            "p95OverBaseline": ratio,
            "withinBudget": t.role != Role::Page || s.p95 <= cli.budget_ms,
        }));
    }
    out.push_str(&format!(
        "\nBaseline `/readyz` p95: {baseline_p95:.2} ms. {} measured requests per URL after {} \
         warm-up rounds, one client, one keep-alive connection, pages interleaved round-robin.\n",
        cli.requests, cli.warmup
    ));
    out.push_str(&format!(
        "\nCSV export `{}`: {} rows, {:.1} MB in {:.0} ms (first byte after {:.1} ms) = \
         {:.1} MB/s, {:.0} rows/s.\n",
        export_path,
        export.rows,
        export.bytes as f64 / 1e6,
        export.total_ms,
        export.first_byte_ms,
        export.bytes as f64 / 1e6 / (export.total_ms / 1e3),
        export.rows as f64 / (export.total_ms / 1e3),
    ));
    print!("{out}");

    if let Some(path) = &cli.json {
        let doc = json!({
            "budgetMs": cli.budget_ms,
            "requests": cli.requests,
            "warmup": cli.warmup,
            "baselineP95Ms": baseline_p95,
            "targets": rows,
            "export": {
                "path": export_path,
                "rows": export.rows,
                "bytes": export.bytes,
                "totalMs": export.total_ms,
                "firstByteMs": export.first_byte_ms,
            },
        });
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)?;
    }
    if failures > 0 {
        eprintln!(
            "portal_bench: {failures} page(s) over the {} ms budget",
            cli.budget_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The URLs measured (and explained), in the order of the report.
fn targets(cli: &Cli, page3: String) -> Vec<Target> {
    let month = format!("from={}&to={}", cli.month_from, cli.month_to);
    vec![
        Target::new(
            "`/readyz` (baseline: one DB round trip)",
            "/readyz",
            Role::Baseline,
        ),
        Target::new("`/healthz` (no DB)", "/healthz", Role::Reference),
        Target::new(
            "`/admin/password` (portal floor: session + admin lookup, no list)",
            "/admin/password",
            Role::Reference,
        ),
        Target::new("dashboard", "/admin", Role::Page),
        Target::new("employees, page 1", "/admin/employees", Role::Page),
        Target::new(
            format!("employees, page {}", cli.deep_page),
            format!("/admin/employees?page={}", cli.deep_page),
            Role::Page,
        ),
        Target::new(
            format!("employees, last page ({})", cli.last_page),
            format!("/admin/employees?page={}", cli.last_page),
            Role::Page,
        ),
        Target::new(
            format!("employees, name contains {}", cli.name_query),
            format!("/admin/employees?q={}", cli.name_query),
            Role::Page,
        ),
        Target::new(
            format!("employees, kana contains {}", cli.kana_query),
            format!("/admin/employees?q={}", cli.kana_query),
            Role::Page,
        ),
        Target::new(
            format!("employees, ID starts {}", cli.id_prefix),
            format!("/admin/employees?q={}", cli.id_prefix),
            Role::Page,
        ),
        Target::new(
            format!("employees, search {} (no match)", cli.miss_query),
            format!("/admin/employees?q={}", cli.miss_query),
            Role::Page,
        ),
        Target::new("employees, locked", "/admin/employees?locked=1", Role::Page),
        Target::new(
            "employees, must change password",
            "/admin/employees?must_change=1",
            Role::Page,
        ),
        Target::new(
            "employees, no password",
            "/admin/employees?no_password=1",
            Role::Page,
        ),
        Target::new(
            "employees, never signed in",
            "/admin/employees?never=1",
            Role::Page,
        ),
        Target::new(
            "employees, retired",
            "/admin/employees?status=retired",
            Role::Page,
        ),
        Target::new(
            format!("employee detail {}", cli.employee),
            format!("/admin/employees/{}", cli.employee),
            Role::Page,
        ),
        Target::new("locked accounts", "/admin/locked", Role::Page),
        Target::new("history, newest", "/admin/history", Role::Page),
        Target::new("history, page 3 (cursor)", page3, Role::Page),
        Target::new(
            format!("history, employee {}", cli.employee),
            format!("/admin/history?employee={}", cli.employee),
            Role::Page,
        ),
        Target::new(
            format!("history, event {}", cli.event),
            format!("/admin/history?event={}", cli.event),
            Role::Page,
        ),
        Target::new(
            format!("history, event {} + one month", cli.event),
            format!("/admin/history?event={}&{month}", cli.event),
            Role::Page,
        ),
        Target::new(
            "history, one month",
            format!("/admin/history?{month}"),
            Role::Page,
        ),
        Target::new(
            format!("history, employee {} + event {}", cli.employee, cli.event),
            format!(
                "/admin/history?employee={}&event={}",
                cli.employee, cli.event
            ),
            Role::Page,
        ),
        Target::new("audit", "/admin/audit", Role::Page),
    ]
}

/// The CSV export of the one-month range.
fn export_path(cli: &Cli) -> String {
    format!(
        "/admin/history/export.csv?from={}&to={}",
        cli.month_from, cli.month_to
    )
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// GET a path; the whole body is read before returning.
async fn fetch(client: &Client, base: &str, path: &str) -> Result<(StatusCode, Vec<u8>), BoxError> {
    let res = client.get(format!("{base}{path}")).send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    Ok((status, body.to_vec()))
}

/// The value of the first `name="csrf"` hidden input.
fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\"")?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + "value=\"".len();
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_owned())
}

/// Undoes the HTML escaping of an attribute value (the portal writes & as &#38;).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#61;", "=")
        .replace("&#x3D;", "=")
}

/// The href of the page's `rel="next"` link.
async fn next_link(client: &Client, base: &str, path: &str) -> Result<String, BoxError> {
    let (status, body) = fetch(client, base, path).await?;
    if status != StatusCode::OK {
        return Err(format!("{path} answered {status}").into());
    }
    let html = String::from_utf8_lossy(&body);
    let marker = html
        .find("rel=\"next\"")
        .ok_or_else(|| format!("{path} has no rel=\"next\" link"))?;
    let before = &html[..marker];
    let start = before
        .rfind("href=\"")
        .ok_or_else(|| format!("{path}: rel=\"next\" link without href"))?
        + "href=\"".len();
    let end = before[start..]
        .find('"')
        .ok_or_else(|| format!("{path}: unterminated href"))?;
    Ok(unescape(&before[start..start + end]))
}

async fn sign_in(client: &Client, base: &str, id: &str, password: &str) -> Result<(), BoxError> {
    let (status, body) = fetch(client, base, "/admin/login").await?;
    if status != StatusCode::OK {
        return Err(format!("GET /admin/login answered {status}").into());
    }
    let csrf =
        csrf_of(&String::from_utf8_lossy(&body)).ok_or("the sign-in form has no csrf field")?;
    let res = client
        .post(format!("{base}/admin/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("employee_id", id),
            ("password", password),
            ("next", "/admin"),
        ])
        .send()
        .await?;
    let status = res.status();
    let location = res
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if status != StatusCode::SEE_OTHER {
        return Err(format!("sign-in answered {status}, not 303").into());
    }
    if location != "/admin" {
        return Err(
            format!("sign-in went to {location:?}, not /admin (password change due?)").into(),
        );
    }
    let (status, _) = fetch(client, base, "/admin").await?;
    if status != StatusCode::OK {
        return Err(format!("after sign-in, /admin answered {status}").into());
    }
    Ok(())
}

struct Export {
    rows: usize,
    bytes: usize,
    total_ms: f64,
    first_byte_ms: f64,
}

/// Streams the export once, counting bytes and CSV records (the header line excluded).
async fn measure_export(client: &Client, base: &str, path: &str) -> Result<Export, BoxError> {
    let t0 = Instant::now();
    let mut res = client.get(format!("{base}{path}")).send().await?;
    if res.status() != StatusCode::OK {
        return Err(format!("{path} answered {}", res.status()).into());
    }
    let mut bytes = 0;
    let mut lines = 0;
    let mut first_byte = None;
    while let Some(chunk) = res.chunk().await? {
        first_byte.get_or_insert_with(|| t0.elapsed());
        bytes += chunk.len();
        // Every record ends with \r\n; no exported field holds a line break of its own.
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
    }
    let total = t0.elapsed();
    Ok(Export {
        rows: lines.saturating_sub(1),
        bytes,
        total_ms: total.as_secs_f64() * 1e3,
        first_byte_ms: first_byte.unwrap_or(total).as_secs_f64() * 1e3,
    })
}

/// Nearest-rank percentiles, in milliseconds.
fn summarize(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let pick = |p: f64| -> f64 {
        if ms.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[rank.clamp(1, ms.len()) - 1]
    };
    Summary {
        p50: pick(50.0),
        p95: pick(95.0),
        p99: pick(99.0),
        max: ms.last().copied().unwrap_or(f64::NAN),
        mean: if ms.is_empty() {
            f64::NAN
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        },
    }
}

/// Whether the recorder keeps what the connections send (only while one page is fetched).
static RECORDING: AtomicBool = AtomicBool::new(false);
/// Each statement as Diesel shows it: `SQL -- binds: [..]`.
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event
            && RECORDING.load(Ordering::SeqCst)
        {
            STATEMENTS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(query.to_string());
        }
    }))
}

/// The statements the server sent while `path` was fetched, as (shape, SQL with literals), the
/// first of each shape.
async fn recorded(
    client: &Client,
    base: &str,
    path: &str,
) -> Result<Vec<(String, String)>, BoxError> {
    STATEMENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    RECORDING.store(true, Ordering::SeqCst);
    let fetched = fetch(client, base, path).await;
    RECORDING.store(false, Ordering::SeqCst);
    let (status, _) = fetched?;
    if status != StatusCode::OK {
        return Err(format!("{path} answered {status}").into());
    }
    let raw = std::mem::take(&mut *STATEMENTS.lock().unwrap_or_else(PoisonError::into_inner));
    let mut out: Vec<(String, String)> = Vec::new();
    for statement in raw {
        let (sql, binds) = statement
            .rsplit_once(" -- binds: ")
            .ok_or_else(|| format!("unexpected statement format: {statement}"))?;
        let verb = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        let reads_a_table = sql.contains(" FROM ") || verb != "SELECT";
        if !matches!(verb.as_str(), "SELECT" | "UPDATE" | "INSERT" | "DELETE") || !reads_a_table {
            continue;
        }
        // One shape however many ids an `IN (?, ?, ...)` list holds.
        let shape = sql.replace(", ?", "");
        if out.iter().any(|(s, _)| *s == shape) {
            continue;
        }
        let literal = inline_binds(sql, binds)?;
        if literal.contains(['\t', '\n']) {
            return Err(format!("a statement of {path} spans lines: {literal}").into());
        }
        out.push((shape, literal));
    }
    Ok(out)
}

/// Fetches every page from an in-process server and writes the SQL each one ran to `out`.
async fn plans(cli: &Cli, out: &Path) -> Result<ExitCode, BoxError> {
    diesel::connection::set_default_instrumentation(recorder)?;
    let mut settings = Settings::from_env().map_err(|problems| problems.join("; "))?;
    settings.http.bind = "127.0.0.1:0".to_owned();
    settings.archive.schedule = false;
    settings.http.workers = Some(1);
    let state = AppState::build(settings, Arc::new(SystemClock))?;
    let app = Application::build(state)?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    // The start-up housekeeping (pruning) runs once now; let it finish before recording.
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!("portal_bench: in-process server on {base}, recording its SQL");

    let (client, page3) = signed_in(cli, &base).await?;
    let mut pages: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for t in targets(cli, page3) {
        if t.role == Role::Page {
            pages.push((t.name.clone(), recorded(&client, &base, &t.path).await?));
        }
    }
    // Shapes every HTML page runs are the portal's own per-request work.
    let common: Vec<(String, String)> = match pages.first() {
        Some((_, first)) => first
            .iter()
            .filter(|(shape, _)| {
                pages
                    .iter()
                    .all(|(_, st)| st.iter().any(|(s, _)| s == shape))
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let export = export_path(cli);
    pages.push((
        "CSV export, one month".to_owned(),
        recorded(&client, &base, &export).await?,
    ));
    server.abort();

    let mut lines = String::new();
    let mut line = |page: &str, sql: &str| {
        lines.push_str(&format!("{page}\t{}\t{sql}\n", what(sql)));
    };
    for (_, sql) in &common {
        line("every portal page", sql);
    }
    let mut statements = common.len();
    for (page, st) in &pages {
        for (shape, sql) in st {
            if !common.iter().any(|(s, _)| s == shape) {
                line(page, sql);
                statements += 1;
            }
        }
    }
    std::fs::write(out, lines)?;
    eprintln!(
        "portal_bench: {statements} statements of {} pages written to {}",
        pages.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A short name for a statement: its verb and table, the select list left out.
fn what(sql: &str) -> String {
    let plain = sql.replace('`', "");
    let short = match (plain.find("SELECT "), plain.find(" FROM ")) {
        (Some(0), Some(from)) => {
            let list = &plain["SELECT ".len()..from];
            let list = if list.len() > 40 { "…" } else { list };
            format!("SELECT {list}{}", &plain[from..])
        }
        _ => plain,
    };
    match short.char_indices().nth(110) {
        Some((cut, _)) => format!("{}…", &short[..cut]),
        None => short,
    }
}

/// Writes the bind values (as Diesel's debug output shows them) into the `?` placeholders of
/// `sql` as SQL literals.
fn inline_binds(sql: &str, binds: &str) -> Result<String, BoxError> {
    let mut parser = BindParser {
        rest: binds.trim().chars().collect(),
        at: 0,
    };
    let values = parser.list()?;
    let mut values = values.into_iter();
    let mut out = String::with_capacity(sql.len() + 64);
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '`' || c == '"' => quote = Some(c),
            None if c == '?' => {
                let v = values
                    .next()
                    .ok_or_else(|| format!("fewer binds than placeholders in {sql}"))?;
                out.push_str(&v);
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    if values.next().is_some() {
        return Err(format!("more binds than placeholders in {sql}").into());
    }
    Ok(out)
}

/// Reads a `Debug`-formatted list of bind values: strings, numbers, booleans, dates and
/// times, byte arrays, `Some(..)` and `None`.
struct BindParser {
    rest: Vec<char>,
    at: usize,
}

impl BindParser {
    fn peek(&self) -> Option<char> {
        self.rest.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), BoxError> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {c:?} at {} in the binds", self.at).into())
        }
    }

    /// `[v, v, ...]` as SQL literals.
    fn list(&mut self) -> Result<Vec<String>, BoxError> {
        self.expect('[')?;
        let mut out = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(']') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(',') => self.at += 1,
                Some(_) => out.push(self.value()?),
                None => return Err("unterminated bind list".into()),
            }
        }
    }

    fn value(&mut self) -> Result<String, BoxError> {
        self.skip_space();
        match self.peek() {
            Some('"') => self.string(),
            Some('[') => {
                let bytes = self
                    .list()?
                    .iter()
                    .map(|b| b.parse::<u8>())
                    .collect::<Result<Vec<u8>, _>>()?;
                Ok(format!("X'{}'", hex::encode_upper(bytes)))
            }
            _ => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | ']' | '(' | ')'))
                {
                    self.at += 1;
                }
                let word: String = self.rest[start..self.at].iter().collect();
                let word = word.trim();
                if word == "Some" {
                    self.expect('(')?;
                    let inner = self.value()?;
                    self.expect(')')?;
                    return Ok(inner);
                }
                Ok(scalar(word))
            }
        }
    }

    /// A Rust-escaped string as a MySQL string literal.
    fn string(&mut self) -> Result<String, BoxError> {
        self.expect('"')?;
        let mut text = String::new();
        loop {
            let c = self.peek().ok_or("unterminated string in the binds")?;
            self.at += 1;
            match c {
                '"' => break,
                '\\' => {
                    let e = self.peek().ok_or("unterminated escape in the binds")?;
                    self.at += 1;
                    text.push(match e {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        '0' => '\0',
                        'u' => {
                            self.expect('{')?;
                            let start = self.at;
                            while self.peek().is_some_and(|c| c != '}') {
                                self.at += 1;
                            }
                            let code: String = self.rest[start..self.at].iter().collect();
                            self.expect('}')?;
                            char::from_u32(u32::from_str_radix(&code, 16)?)
                                .ok_or("bad \\u escape in the binds")?
                        }
                        other => other,
                    });
                }
                other => text.push(other),
            }
        }
        Ok(format!(
            "'{}'",
            text.replace('\\', "\\\\").replace('\'', "''")
        ))
    }
}

/// A number, boolean or NULL as it is; a date or time as a quoted MySQL literal (microseconds
/// at most, without the `T` and any `Z`).
fn scalar(word: &str) -> String {
    match word {
        "None" => "NULL".to_owned(),
        "true" | "false" => word.to_uppercase(),
        _ if word.parse::<f64>().is_ok() => word.to_owned(),
        _ => {
            let t = word.trim_end_matches('Z').replacen('T', " ", 1);
            let t = match t.split_once('.') {
                Some((whole, frac)) if frac.len() > 6 => format!("{whole}.{}", &frac[..6]),
                _ => t,
            };
            format!("'{}'", t.replace('\'', "''"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_become_literals_in_placeholder_order() {
        let sql = "SELECT `e`.`id` FROM `e` WHERE ((`e`.`name` LIKE ?) AND (`e`.`at` > ?) \
                   AND (`e`.`ok` = ?) AND (`e`.`n` = ?) AND (`e`.`h` = ?)) AND '?' = '?'";
        let binds =
            r#"["50\\% \"佐藤\"'", 2026-11-23T16:13:45.123456789, true, Some(42), [1, 171]]"#;
        let out = inline_binds(sql, binds).map_err(|e| e.to_string());
        assert_eq!(
            out.as_deref(),
            Ok(
                "SELECT `e`.`id` FROM `e` WHERE ((`e`.`name` LIKE '50\\\\% \"佐藤\"''') \
                AND (`e`.`at` > '2026-11-23 16:13:45.123456') AND (`e`.`ok` = TRUE) \
                AND (`e`.`n` = 42) AND (`e`.`h` = X'01AB')) AND '?' = '?'"
            )
        );
    }

    #[test]
    fn a_count_mismatch_is_an_error() {
        assert!(inline_binds("SELECT 1 FROM t WHERE a = ?", "[]").is_err());
        assert!(inline_binds("SELECT 1 FROM t", "[1]").is_err());
    }

    #[test]
    fn what_leaves_out_long_select_lists() {
        let long = format!(
            "SELECT {} FROM `employees` WHERE (`id` = ?)",
            "`a`, ".repeat(20)
        );
        assert_eq!(what(&long), "SELECT … FROM employees WHERE (id = ?)");
        assert_eq!(
            what("SELECT COUNT(*) FROM `employees`"),
            "SELECT COUNT(*) FROM employees"
        );
    }
}
