//! Settings from the environment (and `.env`), one group per concern, each read by its own
//! module; `Settings::from_env` and `staffgate check` report every problem, not only the first.

pub mod archive;
pub mod backup;
pub mod database;
pub mod http;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod mfa;
pub mod passwords;
mod reader;
pub mod redact;
pub mod secret_file;
pub mod sheets;
pub mod staff_app;

use archive::Archive;
use backup::Backup;
use database::Database;
use http::Http;
use keys::Keys;
use limits::Limits;
use mail::Mail;
use mfa::Mfa;
use passwords::Passwords;
use reader::Reader;
use sheets::Sheets;
use staff_app::StaffApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database: Database,
    pub http: Http,
    pub keys: Keys,
    pub passwords: Passwords,
    pub sheets: Sheets,
    pub mail: Mail,
    /// The permission level from which an employee may administer accounts (API and portal).
    pub admin_permission: f64,
    pub limits: Limits,
    pub archive: Archive,
    /// The app staff sign in to (STAFFGATE_APP_NAME, STAFFGATE_APP_URL).
    pub staff_app: StaffApp,
    pub backup: Backup,
    /// Second factors: who must use one, the keys that seal them, the reset log.
    pub mfa: Mfa,
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
        let mut r = Reader::new(lookup);
        let environment = read_environment(&mut r);
        let production = environment == Environment::Production;
        let sheets = Sheets::read(&mut r);
        let mfa = Mfa::read(&mut r, &sheets.organisation);
        let settings = Settings {
            environment,
            database: Database::read(&mut r),
            http: Http::read(&mut r, production),
            keys: Keys::read(&mut r),
            passwords: Passwords::read(&mut r),
            sheets,
            mail: Mail::read(&mut r),
            admin_permission: read_admin_permission(&mut r),
            limits: Limits::read(&mut r),
            archive: Archive::read(&mut r),
            staff_app: StaffApp::read(&mut r),
            backup: Backup::read(&mut r),
            mfa,
        };
        let mut problems = r.into_problems();
        problems.extend(settings.production_problems());
        (settings, problems)
    }

    /// What production refuses to run without.
    pub fn production_problems(&self) -> Vec<String> {
        if !self.is_production() {
            return Vec::new();
        }
        let mut p = self.keys.production_problems();
        p.extend(self.http.production_problems());
        p.extend(self.mfa.production_problems());
        p
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

fn read_environment(r: &mut Reader) -> Environment {
    match r.get("STAFFGATE_ENV").as_deref().map(str::trim) {
        None | Some("development") => Environment::Development,
        Some("production") => Environment::Production,
        Some(other) => {
            r.problem(format!(
                "STAFFGATE_ENV={other:?} must be \"development\" or \"production\""
            ));
            Environment::Development
        }
    }
}

fn read_admin_permission(r: &mut Reader) -> f64 {
    let level = r.parse("STAFFGATE_ADMIN_PERMISSION", 9.0f64, "a number");
    if !(1.0..=99.9).contains(&level) {
        r.problem(format!(
            "STAFFGATE_ADMIN_PERMISSION={level} must be between 1.0 and 99.9"
        ));
    }
    level
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
    fn the_staff_app_is_named_by_its_url_when_it_has_no_name() {
        let s = load(&[
            ("DATABASE_URL", "mysql://u:p@h/db"),
            ("STAFFGATE_APP_URL", "https://voicedrive.example.jp/"),
        ])
        .unwrap();
        assert_eq!(s.staff_app.name(), Some("https://voicedrive.example.jp"));
        let problems = load(&[
            ("DATABASE_URL", "mysql://u:p@h/db"),
            ("STAFFGATE_APP_URL", "voicedrive.example.jp"),
            ("STAFFGATE_APP_NAME", &"長".repeat(41)),
        ])
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            load(&[("DATABASE_URL", "mysql://u:p@h/db")])
                .unwrap()
                .staff_app
                .name()
                .is_none()
        );
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
        assert_eq!(s.database.url, "mysql://app:s3cret@db:3306/sg");
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
            (
                s.passwords.expiry_defaults.warn_days,
                s.passwords.expiry_defaults.expire_days
            ),
            (30, 60)
        );
        assert!(s.passwords.expiry_defaults.enabled && s.passwords.expiry_defaults.long_exempt);
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
        assert_eq!(s.archive.retention_days, 1095);
        assert!(s.archive.schedule);
        let s = load(&[
            url,
            ("STAFFGATE_HISTORY_RETENTION_DAYS", "400"),
            ("STAFFGATE_ARCHIVE_SCHEDULE", "off"),
        ])
        .expect("loads");
        assert_eq!(s.archive.retention_days, 400);
        assert!(!s.archive.schedule);
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
}
