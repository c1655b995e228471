//! Hot paths, measured in isolation (criterion; `cargo bench --bench hot_paths`).
//!
//! - `qr/png_data_url`: the QR data URL returned by API-1, for a 107-character onboarding URL
//!   (QR version 7, level M). `scripts/bench/qr-node.js` times node's `qrcode.toDataURL` on
//!   the same URL, so the two can be compared as a ratio.
//! - `bcrypt/verify_cost10`: one bcrypt verify at cost 10, the production floor. One core can
//!   do at most 1 / this many password logins per second, so `cores / this` is the ceiling
//!   that API-3 throughput is measured against.
//! - `import/parse_10000_rows`: decode + validate a 10,000-row employee CSV (no database).
//! - `totp/check`: the CPU part of one authenticator code check at the second step, as
//!   `mfa::check_code` does it: open the account's sealed secret (AES-256-GCM under
//!   `STAFFGATE_MFA_KEY`) and match the code within the +-1 step window (three HMAC-SHA1 codes,
//!   compared in constant time). The database round trips around it are in the sign-in phases.
//!
//! Sample sizes are small so the whole run takes about a minute on 2 cores. `scripts/bench.sh`
//! reads the means from `$CRITERION_HOME/<group>/<name>/new/estimates.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// 107 characters: `<public base>/staff/welcome#t=<43-char base64url token>`; the same string
/// is the default of `scripts/bench/qr-node.js`.
pub const QR_URL: &str = "https://staffgate.kichijoji.example-hospital.jp/staff/welcome#t=OpPh3-1BbF3NQrkZuJ_Ecb1EGjS9b2ScwlUy5CLmYWw";

const IMPORT_ROWS: usize = 10_000;

fn qr(c: &mut Criterion) {
    assert_eq!(QR_URL.len(), 107);
    let sample = staffgate::services::qr::png_data_url(QR_URL).expect("QR encodes");
    assert!(sample.starts_with("data:image/png;base64,"));
    let mut g = c.benchmark_group("qr");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    g.bench_function("png_data_url", |b| {
        b.iter(|| staffgate::services::qr::png_data_url(black_box(QR_URL)).expect("QR encodes"))
    });
    g.finish();
}

fn bcrypt_verify(c: &mut Criterion) {
    let password = "Kichijoji-Ward3-2025";
    let hash = bcrypt::hash(password, 10).expect("bcrypt hashes");
    assert!(hash.starts_with("$2b$10$"));
    let mut g = c.benchmark_group("bcrypt");
    // ~60 ms per iteration: 10 samples x a few iterations stays within ~5 s.
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    g.bench_function("verify_cost10", |b| {
        b.iter(|| {
            let ok = bcrypt::verify(black_box(password), black_box(&hash)).expect("verifies");
            assert!(ok);
        })
    });
    g.finish();
}

/// A realistic HR export: kanji and kana names, departments, some without e-mail.
pub fn employee_csv(rows: usize) -> Vec<u8> {
    const FAMILY: [(&str, &str); 8] = [
        ("佐藤", "サトウ"),
        ("鈴木", "スズキ"),
        ("髙橋", "タカハシ"),
        ("田中", "タナカ"),
        ("伊藤", "イトウ"),
        ("渡辺", "ワタナベ"),
        ("山本", "ヤマモト"),
        ("中村", "ナカムラ"),
    ];
    const GIVEN: [(&str, &str); 6] = [
        ("花子", "ハナコ"),
        ("太郎", "タロウ"),
        ("美咲", "ミサキ"),
        ("健太", "ケンタ"),
        ("陽菜", "ヒナ"),
        ("大翔", "ヒロト"),
    ];
    const DEPTS: [&str; 6] = ["看護部", "外科", "内科", "薬剤部", "放射線科", "事務部"];
    let mut out = String::with_capacity(rows * 80);
    out.push_str("employee_id,name,name_kana,department,email,permission_level\n");
    for i in 0..rows {
        let (f, fk) = FAMILY[i % FAMILY.len()];
        let (g, gk) = GIVEN[(i / FAMILY.len()) % GIVEN.len()];
        let dept = DEPTS[i % DEPTS.len()];
        let email = if i % 5 == 0 {
            String::new()
        } else {
            format!("e{i:06}@example-hospital.jp")
        };
        let level = if i % 50 == 0 { "3.5" } else { "1.0" };
        out.push_str(&format!(
            "E{i:06},{f} {g},{fk} {gk},{dept},{email},{level}\n"
        ));
    }
    out.into_bytes()
}

fn import_parse(c: &mut Criterion) {
    let csv = employee_csv(IMPORT_ROWS);
    let parsed = staffgate::services::import::file::parse(&csv);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
    assert_eq!(parsed.rows.len(), IMPORT_ROWS);
    let mut g = c.benchmark_group("import");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(IMPORT_ROWS as u64));
    g.bench_function("parse_10000_rows", |b| {
        b.iter(|| staffgate::services::import::file::parse(black_box(&csv)))
    });
    g.finish();
}

/// Settings as the server reads them, with a fixed authenticator-secret key.
fn mfa_settings() -> staffgate::config::Settings {
    let vars = [
        ("DATABASE_URL", "mysql://bench@127.0.0.1:3306/unused"),
        (
            "STAFFGATE_MFA_KEY",
            "3f9a1c7e5b2d4f60a8e1c3b5d7f90213e4a6c8b0d2f4a6c8e0b2d4f6a8c0e2b4",
        ),
    ];
    staffgate::config::Settings::from_lookup(&|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("bench settings load")
}

fn totp_check(c: &mut Criterion) {
    use staffgate::services::mfa::{self, totp};
    let settings = mfa_settings();
    let employee = 4_242;
    let secret = totp::TotpSecret::generate();
    let sealed = mfa::seal_secret(&settings, employee, &secret);
    // Mid-step, so the window is steps now-1..=now+1; the code sent is the current step's.
    let now = 1_790_000_015;
    let step = totp::step_of(now);
    let code = secret.code_at_step(step).expect("code");
    let check = |code: &str| {
        let opened = mfa::open_secret(&settings, employee, &sealed).expect("opens");
        opened.matching_step(code, now)
    };
    assert_eq!(check(&code), Some(step));
    let mut g = c.benchmark_group("totp");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    g.bench_function("check", |b| {
        b.iter(|| {
            let matched = check(black_box(&code));
            assert_eq!(matched, Some(step));
        })
    });
    g.finish();
}

criterion_group!(benches, qr, bcrypt_verify, import_parse, totp_check);
criterion_main!(benches);
