//! Latency benchmark of the HR portal's list pages (used by `scripts/bench/portal.sh`).
//!
//! ```text
//! cargo run --release --example portal_bench -- [--base-url URL] [--requests N] [--warmup W]
//!     [--employee ID] [--name-query TEXT] [--kana-query TEXT] [--id-prefix TEXT]
//!     [--miss-query TEXT] [--deep-page N] [--last-page N] [--event CODE]
//!     [--month-from YYYY-MM-DD] [--month-to YYYY-MM-DD] [--budget-ms MS] [--json PATH]
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

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::{Client, StatusCode, redirect};
use serde_json::json;

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
    json: Option<std::path::PathBuf>,
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
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portal_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, BoxError> {
    let base = cli.base_url.trim_end_matches('/').to_owned();
    let client = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(cli.timeout.max(1)))
        .build()?;

    sign_in(&client, &base, &cli.admin_id, &cli.admin_password).await?;
    eprintln!("portal_bench: signed in as {}", cli.admin_id);

    let page2 = next_link(&client, &base, "/admin/history").await?;
    let page3 = next_link(&client, &base, &page2).await?;
    eprintln!("portal_bench: history page 3 is {page3}");

    let month = format!("from={}&to={}", cli.month_from, cli.month_to);
    let mut targets = vec![
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
    ];

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

    let export_path = format!("/admin/history/export.csv?{month}");
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
