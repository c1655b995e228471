//! Password settings: bcrypt cost and hashing threads, the minimum length, and the expiry
//! policy that seeds the editable one.

use super::reader::{Reader, available_cores};
use crate::domain::ExpiryPolicy;
use crate::domain::expiry::RawPolicy;

pub const MIN_BCRYPT_COST: u32 = 10;
pub const MAX_BCRYPT_COST: u32 = 16;

#[derive(Debug, Clone)]
pub struct Passwords {
    pub bcrypt_cost: u32,
    /// Threads of the hashing pool: bcrypt runs there, never on a request worker.
    pub hashing_threads: usize,
    pub min_length: usize,
    /// The expiry policy until an admin edits it (seeds the `settings` rows that are missing).
    pub expiry_defaults: ExpiryPolicy,
    /// Window over which the first expiry of bulk-created accounts is spread.
    pub expiry_spread_days: i32,
}

impl Passwords {
    pub(super) fn read(r: &mut Reader) -> Self {
        let bcrypt_cost = r.parse("STAFFGATE_BCRYPT_COST", 10u32, "a whole number");
        if !(MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&bcrypt_cost) {
            r.problem(format!(
                "STAFFGATE_BCRYPT_COST={bcrypt_cost} must be between {MIN_BCRYPT_COST} and {MAX_BCRYPT_COST}"
            ));
        }
        let expiry_defaults = read_expiry(r);
        let expiry_spread_days = r.parse("STAFFGATE_EXPIRY_SPREAD_DAYS", 30i32, "a whole number");
        if !(0..=365).contains(&expiry_spread_days) {
            r.problem("STAFFGATE_EXPIRY_SPREAD_DAYS must be between 0 and 365");
        }
        let min_length = r.parse("STAFFGATE_PASSWORD_MIN_LENGTH", 8usize, "a whole number");
        if !(8..=64).contains(&min_length) {
            r.problem("STAFFGATE_PASSWORD_MIN_LENGTH must be between 8 and 64");
        }
        let hashing_threads = r.parse(
            "STAFFGATE_HASHING_THREADS",
            available_cores(),
            "a whole number",
        );
        if hashing_threads == 0 {
            r.problem("STAFFGATE_HASHING_THREADS must be at least 1");
        }
        Self {
            bcrypt_cost,
            hashing_threads,
            min_length,
            expiry_defaults,
            expiry_spread_days,
        }
    }
}

/// The expiry policy seed, checked by the same rules as an admin's edit.
fn read_expiry(r: &mut Reader) -> ExpiryPolicy {
    let defaults = ExpiryPolicy::default();
    let raw = RawPolicy {
        enabled: r.flag_on_by_default("STAFFGATE_PASSWORD_EXPIRY"),
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
    match ExpiryPolicy::parse(&raw) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                r.problem(format!("password expiry ({}): {}", e.field, e.message_en));
            }
            defaults
        }
    }
}
