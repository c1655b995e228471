//! Benchmark of account-sheet printing (used by `scripts/bench/sheets.sh`).
//!
//! ```text
//! cargo run --release --example sheets_bench -- [--db-url-base URL] [--database NAME]
//!     [--sheets N] [--bcrypt-cost C] [--json PATH]
//! ```
//!
//! Creates a fresh database (dropped first, dropped again at the end), migrates it and seeds
//! `--sheets` active employees of one department who have no password yet, then measures in
//! one run:
//!
//! 1. **bcrypt floor**: one bcrypt hash at the production cost, timed alone (median of 9),
//!    times the number of sheets, divided by the hashing threads (the cores). No batch that
//!    sets an initial password per sheet can be faster.
//! 2. **layout**: the same number of sheets rendered to one PDF without the database or
//!    bcrypt (QR matrix, vector QR, text, font subsetting, compression), per sheet; and QR
//!    encoding alone, per sheet.
//! 3. **batch**: `services::sheets::print` for the whole department, as the portal and the CLI
//!    call it (plan, bcrypt on every core, one transaction with tokens, passwords, print
//!    records, history and audit, PDF), total time as a ratio to the floor, and the PDF size.
//!
//! Results: a markdown table on stdout, raw figures as JSON with `--json`; progress on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::{Connection, MysqlConnection, RunQueryDsl};
use serde_json::json;
use staffgate::config::Settings;
use staffgate::db;
use staffgate::domain::ValidityHours;
use staffgate::services::clock::{Clock, SystemClock};
use staffgate::services::principal::{Actor, ClientInfo};
use staffgate::services::qr;
use staffgate::services::sheets::{self, Selection, Sheet, SheetFont, pdf};
use staffgate::state::AppState;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(
    name = "sheets_bench",
    about = "Time and size of printing account sheets"
)]
struct Cli {
    /// MySQL URL without a database; the user must be allowed to create one.
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    db_url_base: String,
    /// Database to create (dropped first and at the end).
    #[arg(long, default_value = "staffgate_bench_sheets")]
    database: String,
    #[arg(long, default_value_t = 500)]
    sheets: usize,
    /// The production cost (configuration refuses less than 10).
    #[arg(long, default_value_t = 10)]
    bcrypt_cost: u32,
    #[arg(long)]
    json: Option<PathBuf>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn seed(url: &str, n: usize) -> Result<(), BoxError> {
    let mut conn = MysqlConnection::establish(url)?;
    db::run_migrations(&mut conn)?;
    let now = SystemClock.now_naive().format("%Y-%m-%d %H:%M:%S");
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "('B{i:06}', '検証 職員{i}', 'ケンショウ ショクイン', '病棟ベンチ', 'active', TRUE, '{now}', '{now}')"
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO employees (employee_id, name, name_kana, department, status, \
             password_must_change, created_at, updated_at) VALUES {}",
            rows.join(",")
        ))
        .execute(&mut conn)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sheets_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    if !cli
        .database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err("--database: letters, digits and _ only".into());
    }
    let base = cli.db_url_base.trim_end_matches('/').to_owned();
    let url = format!("{base}/{}", cli.database);
    {
        let mut admin = MysqlConnection::establish(&base)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {}", cli.database))
            .execute(&mut admin)?;
        diesel::sql_query(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            cli.database
        ))
        .execute(&mut admin)?;
    }
    let result = measure(&cli, &url).await;
    let mut admin = MysqlConnection::establish(&base)?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {}", cli.database)).execute(&mut admin)?;
    result
}

async fn measure(cli: &Cli, url: &str) -> Result<(), BoxError> {
    let n = cli.sheets;
    eprintln!("sheets_bench: seeding {n} employees without a password");
    seed(url, n)?;

    let mut settings = Settings::from_lookup(&|k| match k {
        "DATABASE_URL" => Some(url.to_owned()),
        "STAFFGATE_PUBLIC_URL" => Some("https://staffgate.example.jp".into()),
        "STAFFGATE_ORGANIZATION" => Some("医療法人 さくら会 さくら総合病院".into()),
        _ => std::env::var(k).ok(),
    })
    .map_err(|p| p.join("; "))?;
    settings.passwords.bcrypt_cost = cli.bcrypt_cost;
    let threads = settings.passwords.hashing_threads;
    let font_path = settings.sheets.font.clone();
    let state = AppState::build(settings, Arc::new(SystemClock))?;

    eprintln!("sheets_bench: bcrypt cost {} alone", cli.bcrypt_cost);
    let mut hashes = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        bcrypt::hash("Kx7mPq2Rs9Tv", cli.bcrypt_cost)?;
        hashes.push(t.elapsed());
    }
    let one_hash = median(hashes);
    let floor = one_hash * n as u32 / threads as u32;

    eprintln!("sheets_bench: layout of {n} sheets without bcrypt or the database");
    let font = SheetFont::load(&font_path)?;
    let now = state.clock.now();
    let synthetic: Vec<Sheet> = (0..n)
        .map(|i| Sheet {
            serial: format!("7KQ2-{i:04}"),
            employee_id: format!("B{i:06}"),
            name: format!("検証 職員{i}"),
            name_kana: "ケンショウ ショクイン".into(),
            department: "病棟ベンチ".into(),
            login_url: format!(
                "https://staffgate.example.jp/welcome#t={}",
                "x".repeat(42) + &(i % 10).to_string()
            ),
            expires_at: now,
            initial_password: Some("Kx7mPq2Rs9Tv".into()),
            printed_at: now,
            reprint: 0,
        })
        .collect();
    let t = Instant::now();
    let layout_pdf = pdf::render(
        &font,
        "医療法人 さくら会 さくら総合病院",
        &Default::default(),
        &synthetic,
        now,
    )?;
    let layout = t.elapsed();
    let t = Instant::now();
    for s in &synthetic {
        qr::matrix(&s.login_url)?;
    }
    let qr_only = t.elapsed();

    eprintln!("sheets_bench: printing the department batch through the service");
    let t = Instant::now();
    let printed = sheets::print(
        &state,
        Actor::Cli,
        Selection::Department("病棟ベンチ".into()),
        ValidityHours::parse(Some(168)).map_err(|e| e.message_en)?,
        Some(n),
        ClientInfo::cli(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let batch = t.elapsed();
    if printed.count != n {
        return Err(format!("printed {} sheets, expected {n}", printed.count).into());
    }

    let per_sheet_layout = ms(layout) / n as f64;
    let ratio = batch.as_secs_f64() / floor.as_secs_f64();
    let mb = printed.pdf.len() as f64 / 1_000_000.0;
    println!(
        "| measure ({n} sheets, bcrypt cost {}, {threads} hashing threads) | value | target |",
        cli.bcrypt_cost
    );
    println!("|---|---|---|");
    println!("| one bcrypt hash, alone | {:.1} ms | |", ms(one_hash));
    println!(
        "| bcrypt floor = {n} × hash / {threads} | {:.2} s | |",
        floor.as_secs_f64()
    );
    println!(
        "| batch print, total | {:.2} s = **{ratio:.2}x** the floor | ≤ 1.3x |",
        batch.as_secs_f64()
    );
    println!(
        "| batch PDF size | {mb:.2} MB ({:.1} KB per sheet) | ≤ 3 MB |",
        printed.pdf.len() as f64 / 1000.0 / n as f64
    );
    println!(
        "| QR + layout + PDF per sheet (no bcrypt, no database) | {per_sheet_layout:.2} ms = {:.3}x one hash | ≤ 5 ms |",
        per_sheet_layout / ms(one_hash)
    );
    println!(
        "| of which QR encoding | {:.3} ms | |",
        ms(qr_only) / n as f64
    );
    println!(
        "| layout-only PDF size | {:.2} MB | |",
        layout_pdf.len() as f64 / 1_000_000.0
    );
    if let Some(path) = &cli.json {
        let out = json!({
            "sheets": n,
            "bcryptCost": cli.bcrypt_cost,
            "hashingThreads": threads,
            "oneHashMs": ms(one_hash),
            "floorMs": ms(floor),
            "batchMs": ms(batch),
            "ratioToFloor": ratio,
            "pdfBytes": printed.pdf.len(),
            "layoutPerSheetMs": per_sheet_layout,
            "qrPerSheetMs": ms(qr_only) / n as f64,
        });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}
