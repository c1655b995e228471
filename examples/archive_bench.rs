//! Sign-in latency with and without a login-history archive run (used by
//! `scripts/bench/archive.sh`).
//!
//! ```text
//! archive_bench [--base-url URL] [--rate R] [--employees N] baseline --seconds S
//! archive_bench [--base-url URL] [--rate R] [--employees N] during -- COMMAND [ARGS...]
//! ```
//!
//! Both phases send correct-password sign-ins (`POST /api/v2/auth/authenticate`) at a fixed
//! rate, spread over employees `<prefix>0001 ...`, whatever the server's speed (open loop: a
//! request's latency runs from the moment it was due, so a stalled server cannot hide its
//! queue). `baseline` runs for S seconds after a warm-up; `during` starts COMMAND and
//! measures the sign-ins that fell due while it ran. The password comes from
//! `ARCHIVE_BENCH_PASSWORD`. One JSON line on stdout; only the given base URL is contacted.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(name = "archive_bench")]
struct Cli {
    #[arg(long, default_value = "http://127.0.0.1:18091")]
    base_url: String,
    /// Sign-ins per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Sign-ins go to employees <prefix>0001 ..= <prefix>N.
    #[arg(long, default_value_t = 50)]
    employees: usize,
    #[arg(long, default_value = "B")]
    prefix: String,
    #[arg(long, env = "ARCHIVE_BENCH_PASSWORD", hide_env_values = true)]
    password: String,
    #[command(subcommand)]
    phase: Phase,
}

#[derive(Debug, Subcommand)]
enum Phase {
    /// Sign-ins for a fixed time, nothing else running.
    Baseline {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 3)]
        warmup: u64,
    },
    /// Sign-ins while COMMAND runs.
    During {
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("archive_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("archive_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What decides when the measured load stops.
enum Until {
    Elapsed(Duration),
    Exited(std::process::Child),
}

async fn run(cli: Cli) -> Result<ExitCode, BoxError> {
    if !(cli.rate > 0.0 && cli.rate <= 1000.0) || cli.employees == 0 {
        return Err("--rate must be in (0, 1000] and --employees at least 1".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()?;
    let url = format!(
        "{}/api/v2/auth/authenticate",
        cli.base_url.trim_end_matches('/')
    );
    let load = Load {
        client,
        url,
        cli: &cli,
    };
    let (phase, until) = match &cli.phase {
        Phase::Baseline { seconds, warmup } => {
            load.drive(Until::Elapsed(Duration::from_secs(*warmup)))
                .await?;
            ("baseline", Until::Elapsed(Duration::from_secs(*seconds)))
        }
        Phase::During { command } => {
            let child = Command::new(&command[0]).args(&command[1..]).spawn()?;
            ("during", Until::Exited(child))
        }
    };
    let started = Instant::now();
    let (mut latencies, errors, status) = load.drive(until).await?;
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        (latencies[rank.clamp(1, latencies.len()) - 1] * 1000.0).round() / 1000.0
    };
    println!(
        "{}",
        json!({
            "phase": phase,
            "rate": cli.rate,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "signIns": latencies.len(),
            "errors": errors,
            "p50Ms": pct(50.0),
            "p90Ms": pct(90.0),
            "p99Ms": pct(99.0),
            "maxMs": pct(100.0),
            "commandExit": status,
        })
    );
    Ok(if errors == 0 && status.unwrap_or(0) == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

struct Load<'a> {
    client: reqwest::Client,
    url: String,
    cli: &'a Cli,
}

impl Load<'_> {
    /// Fires sign-ins on schedule until `until`; returns the latencies (ms) of those that
    /// succeeded, the number that failed, and the command's exit code.
    async fn drive(&self, until: Until) -> Result<(Vec<f64>, usize, Option<i32>), BoxError> {
        let period = Duration::from_secs_f64(1.0 / self.cli.rate);
        let mut tick = tokio::time::interval(period);
        let started = Instant::now();
        let (limit, mut child) = match until {
            Until::Elapsed(d) => (d, None),
            Until::Exited(c) => (Duration::MAX, Some(c)),
        };
        let mut tasks = Vec::new();
        let mut n = 0usize;
        let mut status = None;
        loop {
            let due = tick.tick().await;
            if let Some(c) = child.as_mut()
                && let Some(s) = c.try_wait()?
            {
                status = s.code().or(Some(-1));
                break;
            }
            let client = self.client.clone();
            let url = self.url.clone();
            let body = json!({
                "employeeId": format!("{}{:04}", self.cli.prefix, 1 + n % self.cli.employees),
                "password": self.cli.password,
            });
            n += 1;
            tasks.push(tokio::spawn(async move {
                let res = client.post(&url).json(&body).send().await;
                let ok = match res {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (ok, due.elapsed().as_secs_f64() * 1000.0)
            }));
            if started.elapsed() >= limit {
                break;
            }
        }
        let mut latencies = Vec::with_capacity(tasks.len());
        let mut errors = 0;
        for t in tasks {
            match t.await {
                Ok((true, ms)) => latencies.push(ms),
                _ => errors += 1,
            }
        }
        Ok((latencies, errors, status))
    }
}
