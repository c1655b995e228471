//! Settings from the environment (and `.env`), with `*_FILE` variants for secrets.
//! `Settings::from_env` and `Settings::problems` report every problem, not only the first.

use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Lockout and rate-limit numbers; the defaults are the documented policy.
#[derive(Debug, Clone)]
pub struct Limits {
    pub lockout_threshold: i32,
    pub lockout_minutes: i64,
    pub key_ip_failures: i64,
    pub ip_failures: i64,
    pub window_minutes: i64,
    /// How long an attempt waits server-side for a free check slot of its account or address
    /// before it is answered 503 (a slot frees when another attempt's check settles).
    pub admission_wait_ms: u64,
    /// A check pending longer than this (its node died) counts as a failure and frees its slot.
    pub pending_stale_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 30,
            key_ip_failures: 5,
            ip_failures: 100,
            window_minutes: 15,
            admission_wait_ms: 5_000,
            pending_stale_seconds: 60,
        }
    }
}

#[derive(Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: String,
    pub bind: String,
    pub public_url: String,
    pub jwt_key_pem: Option<String>,
    pub session_key: Option<Vec<u8>>,
    pub trust_proxy_headers: bool,
    pub cors_origins: Vec<String>,
    pub bcrypt_cost: u32,
    pub sheet_font: PathBuf,
    /// Printed at the top of every account sheet.
    pub organisation: String,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub hr_email: Option<String>,
    /// One HR mail a day listing the day's locks instead of one mail per lock.
    pub hr_lock_digest: bool,
    /// Seconds between outbox runs (0: no background worker).
    pub mail_poll_seconds: u64,
    /// The expiry policy until an admin edits it (seeds the `settings` rows that are missing).
    pub expiry_defaults: crate::domain::ExpiryPolicy,
    /// Window over which the first expiry of bulk-created accounts is spread.
    pub expiry_spread_days: i32,
    pub password_min_length: usize,
    pub admin_permission: f64,
    pub db_pool_size: u32,
    pub hashing_threads: usize,
    pub workers: Option<usize>,
    pub max_body_bytes: usize,
    pub limits: Limits,
    /// login_history rows older than this many days move to login_history_archive.
    pub history_retention_days: i64,
    /// Whether this node takes part in the monthly archive run (one node runs it).
    pub archive_schedule: bool,
    /// After each archive batch, pause this many times as long as the batch took.
    pub archive_pause_ratio: f64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("jwt_key_pem", &self.jwt_key_pem.as_ref().map(|_| "<set>"))
            .field("session_key", &self.session_key.as_ref().map(|_| "<set>"))
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("cors_origins", &self.cors_origins)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("sheet_font", &self.sheet_font)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("hashing_threads", &self.hashing_threads)
            .finish_non_exhaustive()
    }
}

/// `mysql://user:secret@host/db` -> `mysql://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub const DEFAULT_SHEET_FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";
pub const MIN_BCRYPT_COST: u32 = 10;
/// Retention of the live login history: three years by default; never less than 30 days, so
/// a typo cannot empty the history HR looks at every day.
pub const DEFAULT_HISTORY_RETENTION_DAYS: i64 = 1095;
pub const MIN_HISTORY_RETENTION_DAYS: i64 = 30;
pub const MAX_HISTORY_RETENTION_DAYS: i64 = 36_500;
/// An archive run pauses after each batch at most this many times as long as the batch took.
pub const MAX_PAUSE_RATIO: f64 = 20.0;

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Reads variables through a lookup function so tests can feed a map instead of the process
/// environment; collects problems instead of stopping at the first.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// `NAME` or the contents of the file named by `NAME_FILE` (not both).
    fn secret(&mut self, name: &str) -> Option<String> {
        let file_var = format!("{name}_FILE");
        match (self.get(name), self.get(&file_var)) {
            (Some(_), Some(_)) => {
                self.problems
                    .push(format!("{name} and {file_var} are both set; set only one"));
                None
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(v) => Some(v.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => {
                    self.problems
                        .push(format!("{file_var}: cannot read {path}: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn parse<T: std::str::FromStr>(&mut self, name: &str, default: T, what: &str) -> T {
        match self.get(name) {
            None => default,
            Some(v) => match v.trim().parse() {
                Ok(x) => x,
                Err(_) => {
                    self.problems.push(format!("{name}={v:?} is not {what}"));
                    default
                }
            },
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
            Some(v) => {
                self.problems
                    .push(format!("{name}={v:?} is not a boolean (true/false)"));
                false
            }
        }
    }
}

impl Settings {
    /// Loads `.env` (if present) and reads the process environment.
    pub fn from_env() -> Result<Settings, Vec<String>> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, Vec<String>> {
        let (settings, problems) = Self::from_lookup_all(lookup);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// Reads everything it can and returns the settings together with every problem found
    /// (for `staffgate check`, which goes on to test the database and the font).
    pub fn from_env_all() -> (Settings, Vec<String>) {
        let _ = dotenvy::dotenv();
        Self::from_lookup_all(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup_all(lookup: &dyn Fn(&str) -> Option<String>) -> (Settings, Vec<String>) {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };

        let environment = match r.get("STAFFGATE_ENV").as_deref().map(str::trim) {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                r.problems.push(format!(
                    "STAFFGATE_ENV={other:?} must be \"development\" or \"production\""
                ));
                Environment::Development
            }
        };
        let database_url = r.secret("DATABASE_URL").unwrap_or_default();
        if database_url.is_empty() {
            r.problems
                .push("DATABASE_URL is required (mysql://user:pass@host:3306/db)".into());
        } else if !database_url.starts_with("mysql://") {
            r.problems
                .push("DATABASE_URL must start with mysql://".into());
        }
        let bind = r
            .get("STAFFGATE_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<SocketAddr>().is_err() {
            r.problems.push(format!(
                "STAFFGATE_BIND={bind:?} is not an address like 0.0.0.0:8080"
            ));
        }
        let public_url_set = r.get("STAFFGATE_PUBLIC_URL");
        let public_url = public_url_set
            .clone()
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            r.problems.push(format!(
                "STAFFGATE_PUBLIC_URL={public_url:?} must start with http:// or https://"
            ));
        }
        let jwt_key_pem = r.secret("STAFFGATE_JWT_KEY");
        if let Some(pem) = &jwt_key_pem
            && let Err(e) = crate::services::jwt::SigningKey::from_pkcs8_pem(pem)
        {
            r.problems.push(format!("STAFFGATE_JWT_KEY: {e}"));
        }
        let session_key = match r.secret("STAFFGATE_SESSION_KEY") {
            None => None,
            Some(v) => match STANDARD.decode(v.trim()) {
                Ok(bytes) if bytes.len() >= 64 => Some(bytes),
                Ok(_) => {
                    r.problems.push(
                        "STAFFGATE_SESSION_KEY must be at least 64 random bytes (base64)".into(),
                    );
                    None
                }
                Err(_) => {
                    r.problems
                        .push("STAFFGATE_SESSION_KEY is not valid base64".into());
                    None
                }
            },
        };
        let trust_proxy_headers = r.flag("STAFFGATE_TRUST_PROXY_HEADERS");
        let cors_origins: Vec<String> = r
            .get("STAFFGATE_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().trim_end_matches('/').to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                r.problems.push(format!(
                    "STAFFGATE_CORS_ORIGINS: {origin:?} is not an origin like https://voicedrive.example.jp"
                ));
            }
        }
        let bcrypt_cost = r.parse("STAFFGATE_BCRYPT_COST", 10u32, "a whole number");
        if !(MIN_BCRYPT_COST..=16).contains(&bcrypt_cost) {
            r.problems.push(format!(
                "STAFFGATE_BCRYPT_COST={bcrypt_cost} must be between {MIN_BCRYPT_COST} and 16"
            ));
        }
        let sheet_font = PathBuf::from(
            r.get("STAFFGATE_SHEET_FONT")
                .unwrap_or_else(|| DEFAULT_SHEET_FONT.into()),
        );
        let organisation = r
            .get("STAFFGATE_ORGANIZATION")
            .unwrap_or_else(|| "staffgate".into());
        if organisation.chars().count() > 60 {
            r.problems.push(format!(
                "STAFFGATE_ORGANIZATION is {} characters long; at most 60 fit on the account sheet",
                organisation.chars().count()
            ));
        }
        let smtp_url = r.secret("STAFFGATE_SMTP_URL");
        let mail_from = r.get("STAFFGATE_MAIL_FROM");
        let hr_email = r.get("STAFFGATE_HR_EMAIL");
        if smtp_url.is_some() && mail_from.is_none() {
            r.problems
                .push("STAFFGATE_MAIL_FROM is required when STAFFGATE_SMTP_URL is set".into());
        }
        let hr_lock_digest = r.flag("STAFFGATE_HR_LOCK_DIGEST");
        let mail_poll_seconds = r.parse("STAFFGATE_MAIL_POLL_SECONDS", 15u64, "a whole number");
        let defaults = crate::domain::ExpiryPolicy::default();
        let expiry_raw = crate::domain::expiry::RawPolicy {
            enabled: r
                .get("STAFFGATE_PASSWORD_EXPIRY")
                .is_none_or(|_| r.flag("STAFFGATE_PASSWORD_EXPIRY")),
            warn_days: r
                .get("STAFFGATE_PASSWORD_WARN_DAYS")
                .unwrap_or_else(|| defaults.warn_days.to_string()),
            expire_days: r
                .get("STAFFGATE_PASSWORD_EXPIRE_DAYS")
                .unwrap_or_else(|| defaults.expire_days.to_string()),
            long_exempt: r.flag("STAFFGATE_PASSWORD_LONG_EXEMPT"),
            long_length: r
                .get("STAFFGATE_PASSWORD_LONG_LENGTH")
                .unwrap_or_else(|| defaults.long_length.to_string()),
        };
        let expiry_defaults = match crate::domain::ExpiryPolicy::parse(&expiry_raw) {
            Ok(p) => p,
            Err(errors) => {
                for e in errors {
                    r.problems
                        .push(format!("password expiry ({}): {}", e.field, e.message_en));
                }
                defaults
            }
        };
        let expiry_spread_days = r.parse("STAFFGATE_EXPIRY_SPREAD_DAYS", 30i32, "a whole number");
        if !(0..=365).contains(&expiry_spread_days) {
            r.problems
                .push("STAFFGATE_EXPIRY_SPREAD_DAYS must be between 0 and 365".into());
        }
        let password_min_length =
            r.parse("STAFFGATE_PASSWORD_MIN_LENGTH", 8usize, "a whole number");
        if !(8..=64).contains(&password_min_length) {
            r.problems
                .push("STAFFGATE_PASSWORD_MIN_LENGTH must be between 8 and 64".into());
        }
        let admin_permission = r.parse("STAFFGATE_ADMIN_PERMISSION", 9.0f64, "a number");
        if !(1.0..=99.9).contains(&admin_permission) {
            r.problems.push(format!(
                "STAFFGATE_ADMIN_PERMISSION={admin_permission} must be between 1.0 and 99.9"
            ));
        }
        let db_pool_size = r.parse("STAFFGATE_DB_POOL_SIZE", 16u32, "a whole number");
        if db_pool_size == 0 {
            r.problems
                .push("STAFFGATE_DB_POOL_SIZE must be at least 1".into());
        }
        let hashing_threads = r.parse(
            "STAFFGATE_HASHING_THREADS",
            default_threads(),
            "a whole number",
        );
        if hashing_threads == 0 {
            r.problems
                .push("STAFFGATE_HASHING_THREADS must be at least 1".into());
        }
        let workers = r.get("STAFFGATE_WORKERS").and(Some(r.parse(
            "STAFFGATE_WORKERS",
            default_threads(),
            "a whole number",
        )));
        let limits = Limits {
            ip_failures: r.parse("STAFFGATE_IP_FAILURE_LIMIT", 100i64, "a whole number"),
            admission_wait_ms: r.parse("STAFFGATE_SIGNIN_WAIT_MS", 5_000u64, "a whole number"),
            ..Limits::default()
        };
        if !(100..=30_000).contains(&limits.admission_wait_ms) {
            r.problems.push(format!(
                "STAFFGATE_SIGNIN_WAIT_MS={} must be between 100 and 30000",
                limits.admission_wait_ms
            ));
        }
        if limits.ip_failures < limits.key_ip_failures {
            r.problems.push(format!(
                "STAFFGATE_IP_FAILURE_LIMIT={} must be at least {}",
                limits.ip_failures, limits.key_ip_failures
            ));
        }

        let history_retention_days = r.parse(
            "STAFFGATE_HISTORY_RETENTION_DAYS",
            DEFAULT_HISTORY_RETENTION_DAYS,
            "a whole number of days",
        );
        if !(MIN_HISTORY_RETENTION_DAYS..=MAX_HISTORY_RETENTION_DAYS)
            .contains(&history_retention_days)
        {
            r.problems.push(format!(
                "STAFFGATE_HISTORY_RETENTION_DAYS={history_retention_days} must be between {MIN_HISTORY_RETENTION_DAYS} and {MAX_HISTORY_RETENTION_DAYS} days (default {DEFAULT_HISTORY_RETENTION_DAYS}, three years)"
            ));
        }
        let archive_schedule =
            r.get("STAFFGATE_ARCHIVE_SCHEDULE").is_none() || r.flag("STAFFGATE_ARCHIVE_SCHEDULE");

        let archive_pause_ratio = r.parse("STAFFGATE_ARCHIVE_PAUSE_RATIO", 1.0f64, "a number");
        if !(0.0..=MAX_PAUSE_RATIO).contains(&archive_pause_ratio) {
            r.problems.push(format!(
                "STAFFGATE_ARCHIVE_PAUSE_RATIO={archive_pause_ratio} must be between 0 and {}",
                MAX_PAUSE_RATIO
            ));
        }

        let settings = Settings {
            environment,
            database_url,
            bind,
            public_url,
            jwt_key_pem,
            session_key,
            trust_proxy_headers,
            cors_origins,
            bcrypt_cost,
            sheet_font,
            organisation,
            smtp_url,
            mail_from,
            hr_email,
            hr_lock_digest,
            mail_poll_seconds,
            expiry_defaults,
            expiry_spread_days,
            password_min_length,
            admin_permission,
            db_pool_size,
            hashing_threads,
            workers,
            max_body_bytes: 64 * 1024,
            limits,
            history_retention_days,
            archive_schedule,
            archive_pause_ratio,
        };
        let mut problems = r.problems;
        if environment == Environment::Production && public_url_set.is_none() {
            problems.push("STAFFGATE_PUBLIC_URL is required in production".into());
        }
        problems.extend(settings.production_problems());
        (settings, problems)
    }

    /// What production refuses to run without.
    pub fn production_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.environment != Environment::Production {
            return p;
        }
        if self.jwt_key_pem.is_none() {
            p.push("STAFFGATE_JWT_KEY (or _FILE) is required in production: an Ed25519 private key, PKCS#8 PEM".into());
        }
        if self.session_key.is_none() {
            p.push("STAFFGATE_SESSION_KEY (or _FILE) is required in production: at least 64 random bytes, base64".into());
        }
        if self.cors_origins.is_empty() {
            p.push(
                "STAFFGATE_CORS_ORIGINS is required in production: the allowed API origins".into(),
            );
        }
        if !self.public_url.starts_with("https://") {
            p.push("STAFFGATE_PUBLIC_URL must be https:// in production".into());
        }
        p
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, Vec<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn development_needs_only_a_database_url() {
        let s = load(&[("DATABASE_URL", "mysql://root@127.0.0.1:3306/x")]);
        assert!(s.is_ok(), "{:?}", s.err());
    }

    #[test]
    fn production_lists_every_missing_secret_at_once() {
        let problems = load(&[
            ("DATABASE_URL", "mysql://root@127.0.0.1:3306/x"),
            ("STAFFGATE_ENV", "production"),
            ("STAFFGATE_BCRYPT_COST", "4"),
        ])
        .err()
        .unwrap_or_default();
        let all = problems.join("\n");
        for needle in [
            "STAFFGATE_JWT_KEY",
            "STAFFGATE_SESSION_KEY",
            "STAFFGATE_CORS_ORIGINS",
            "STAFFGATE_PUBLIC_URL",
            "STAFFGATE_BCRYPT_COST",
        ] {
            assert!(all.contains(needle), "missing {needle} in {all}");
        }
    }

    #[test]
    fn secrets_can_come_from_files_but_not_from_both_places() {
        let dir = std::env::temp_dir().join(format!("sg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url_file = dir.join("db-url");
        std::fs::write(&url_file, "mysql://app:s3cret@db:3306/sg\n").expect("write");
        let path = url_file.to_string_lossy().to_string();
        let s = load(&[("DATABASE_URL_FILE", &path)]).expect("loads");
        assert_eq!(s.database_url, "mysql://app:s3cret@db:3306/sg");
        let both = load(&[
            ("DATABASE_URL_FILE", &path),
            ("DATABASE_URL", "mysql://x@y/z"),
        ]);
        assert!(
            both.err()
                .unwrap_or_default()
                .iter()
                .any(|p| p.contains("both set"))
        );
        let missing = load(&[("DATABASE_URL_FILE", "/nonexistent/secret")]);
        assert!(
            missing
                .err()
                .unwrap_or_default()
                .iter()
                .any(|p| p.contains("cannot read"))
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_expiry_policy_seed_is_read_and_checked() {
        let s = load(&[
            ("DATABASE_URL", "mysql://root@127.0.0.1:3306/x"),
            ("STAFFGATE_PASSWORD_WARN_DAYS", "30"),
            ("STAFFGATE_PASSWORD_EXPIRE_DAYS", "60"),
            ("STAFFGATE_PASSWORD_LONG_EXEMPT", "true"),
        ])
        .expect("loads");
        assert_eq!(
            (s.expiry_defaults.warn_days, s.expiry_defaults.expire_days),
            (30, 60)
        );
        assert!(s.expiry_defaults.enabled && s.expiry_defaults.long_exempt);
        let all = load(&[
            ("DATABASE_URL", "mysql://root@127.0.0.1:3306/x"),
            ("STAFFGATE_PASSWORD_WARN_DAYS", "200"),
            ("STAFFGATE_PASSWORD_EXPIRY", "maybe"),
            ("STAFFGATE_EXPIRY_SPREAD_DAYS", "400"),
        ])
        .err()
        .unwrap_or_default()
        .join("\n");
        for needle in [
            "warn_days",
            "STAFFGATE_PASSWORD_EXPIRY",
            "STAFFGATE_EXPIRY_SPREAD_DAYS",
        ] {
            assert!(all.contains(needle), "missing {needle} in {all}");
        }
    }

    #[test]
    fn history_retention_is_checked() {
        let url = ("DATABASE_URL", "mysql://root@127.0.0.1:3306/x");
        let s = load(&[url]).expect("loads");
        assert_eq!(s.history_retention_days, 1095);
        assert!(s.archive_schedule);
        let s = load(&[
            url,
            ("STAFFGATE_HISTORY_RETENTION_DAYS", "400"),
            ("STAFFGATE_ARCHIVE_SCHEDULE", "off"),
        ])
        .expect("loads");
        assert_eq!(s.history_retention_days, 400);
        assert!(!s.archive_schedule);
        let problems = load(&[url, ("STAFFGATE_ARCHIVE_PAUSE_RATIO", "-1")])
            .err()
            .unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("STAFFGATE_ARCHIVE_PAUSE_RATIO")),
            "{problems:?}"
        );
        for bad in ["7", "0", "-5", "three years", "99999"] {
            let problems = load(&[url, ("STAFFGATE_HISTORY_RETENTION_DAYS", bad)])
                .err()
                .unwrap_or_default();
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains("STAFFGATE_HISTORY_RETENTION_DAYS")),
                "{bad}: {problems:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = load(&[("DATABASE_URL", "mysql://app:s3cret@db:3306/sg")]).expect("loads");
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("mysql://app:s3cret@db:3306/sg"),
            "mysql://app:***@db:3306/sg"
        );
        assert_eq!(redact_url("mysql://root@db/sg"), "mysql://root@db/sg");
    }
}
