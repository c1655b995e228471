//! The password-expiry policy in `settings`: read on every use (one primary-key range read, so
//! every node sees an admin's change at once), seeded from configuration, edited in the portal
//! with every change audited.

use chrono::NaiveDateTime;
use diesel::{MysqlConnection, QueryResult};
use serde_json::json;

use super::auth_error::AuthError;
use super::principal::{Actor, ClientInfo};
use crate::config::Settings;
use crate::db::queries::{audit, settings as rows};
use crate::domain::ExpiryPolicy;
use crate::state::AppState;

const ENABLED: &str = "password_expiry_enabled";
const WARN_DAYS: &str = "password_warn_days";
const EXPIRE_DAYS: &str = "password_expire_days";
const LONG_EXEMPT: &str = "password_long_exempt";
const LONG_LENGTH: &str = "password_long_length";
const NAMES: [&str; 5] = [ENABLED, WARN_DAYS, EXPIRE_DAYS, LONG_EXEMPT, LONG_LENGTH];

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn values(p: &ExpiryPolicy) -> [(&'static str, String); 5] {
    [
        (ENABLED, flag(p.enabled)),
        (WARN_DAYS, p.warn_days.to_string()),
        (EXPIRE_DAYS, p.expire_days.to_string()),
        (LONG_EXEMPT, flag(p.long_exempt)),
        (LONG_LENGTH, p.long_length.to_string()),
    ]
}

/// The policy in force and who last changed it.
#[derive(Debug, Clone)]
pub struct StoredPolicy {
    pub policy: ExpiryPolicy,
    pub updated_by: Option<i64>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Builds the policy from stored rows; a missing or unreadable row keeps the configured value.
fn from_rows(defaults: &ExpiryPolicy, found: &[rows::SettingRow]) -> StoredPolicy {
    let mut p = *defaults;
    for row in found {
        let v = row.value.trim();
        let int = v.parse::<i32>().ok();
        match row.name.as_str() {
            ENABLED => p.enabled = v == "1",
            LONG_EXEMPT => p.long_exempt = v == "1",
            WARN_DAYS => p.warn_days = int.unwrap_or(p.warn_days),
            EXPIRE_DAYS => p.expire_days = int.unwrap_or(p.expire_days),
            LONG_LENGTH => p.long_length = int.unwrap_or(p.long_length),
            _ => {}
        }
    }
    let p = if p.warn_days >= 1 && p.warn_days < p.expire_days {
        p
    } else {
        *defaults
    };
    let latest = found
        .iter()
        .filter(|r| r.updated_by.is_some())
        .max_by_key(|r| r.updated_at);
    StoredPolicy {
        policy: p,
        updated_by: latest.and_then(|r| r.updated_by),
        updated_at: latest.map(|r| r.updated_at),
    }
}

pub fn load(conn: &mut MysqlConnection, settings: &Settings) -> QueryResult<StoredPolicy> {
    let found = rows::load(conn, &NAMES, false)?;
    Ok(from_rows(&settings.passwords.expiry_defaults, &found))
}

pub fn current(conn: &mut MysqlConnection, settings: &Settings) -> QueryResult<ExpiryPolicy> {
    Ok(load(conn, settings)?.policy)
}

/// Writes the configured values for rows that do not exist yet (at start; every node may).
pub fn seed(
    conn: &mut MysqlConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> QueryResult<()> {
    for (name, value) in values(&settings.passwords.expiry_defaults) {
        rows::insert_missing(conn, name, &value, now)?;
    }
    Ok(())
}

/// Applies an admin's edit. Only changed values are written; the audit row lists each one as
/// old -> new. Returns how many values changed.
pub async fn update(
    state: &AppState,
    actor: Actor,
    client: ClientInfo,
    new: ExpiryPolicy,
) -> Result<usize, AuthError> {
    state
        .transaction(move |conn, st, now| {
            let found = rows::load(conn, &NAMES, true)?;
            let old = from_rows(&st.settings.passwords.expiry_defaults, &found).policy;
            let mut changes = serde_json::Map::new();
            for ((name, before), (_, after)) in values(&old).into_iter().zip(values(&new)) {
                if before != after {
                    rows::set(conn, name, &after, actor.id(), now)?;
                    changes.insert(name.into(), json!({ "old": before, "new": after }));
                }
            }
            let n = changes.len();
            if n > 0 {
                audit::insert(
                    conn,
                    "policy_changed",
                    actor.id(),
                    &actor.label(),
                    &json!({ "changes": changes, "ip": client.ip }),
                    now,
                )?;
            }
            Ok(n)
        })
        .await
}
