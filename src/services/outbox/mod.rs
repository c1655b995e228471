//! Notification mail through the outbox: what is queued (in the transaction of its event), the
//! scans that queue expiry warnings and the HR lock digest, and the worker that delivers with
//! retries. A request never waits for SMTP: it only writes a row.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::MysqlConnection;
use diesel::prelude::*;

mod notice;

pub use notice::{FactorChange, LockNotice, Notice};

use super::clock::{jst_date, jst_midnight, to_utc};
use super::mail::OutgoingMail;
use super::policy;
use super::principal::ClientInfo;
use crate::db::DbError;
use crate::db::models::Employee;
use crate::db::queries::{directory, employees, outbox};
use crate::state::AppState;

/// A failed message is retried after 1, 2, 4, ... minutes, at most an hour apart, and given up
/// after this many attempts (about six hours).
pub const MAX_ATTEMPTS: i32 = 10;
const BACKOFF_BASE_SECONDS: i64 = 60;
const BACKOFF_CAP_SECONDS: i64 = 3600;
/// How long a claimed message is held by the worker that claimed it.
const LEASE_SECONDS: i64 = 300;
const BATCH: i64 = 20;

/// The delay before the next attempt after `attempts` failed ones.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::seconds((BACKOFF_BASE_SECONDS << exp).min(BACKOFF_CAP_SECONDS))
}

fn enqueue(
    conn: &mut MysqlConnection,
    to: &str,
    notice: &Notice,
    dedupe_key: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let payload = serde_json::to_string(notice)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    outbox::enqueue(conn, to, notice.template(), dedupe_key, &payload, now)
}

/// Tells HR that `emp` was just locked, in the caller's transaction (unless mail is off, no HR
/// address is configured, or HR gets a daily digest instead).
pub fn queue_lock(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    queue_lock_notice(conn, state, emp, client, emp.locked_until, false, now)
}

/// Tells HR that wrong second-step codes locked `emp`'s second step until `until`.
pub fn queue_second_step_lock(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    client: &ClientInfo,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    queue_lock_notice(conn, state, emp, client, Some(until), true, now)
}

fn queue_lock_notice(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    client: &ClientInfo,
    until: Option<NaiveDateTime>,
    second_step: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let Some(hr) = state.settings.mail.hr_email.as_deref() else {
        return Ok(0);
    };
    if !state.mailer.enabled() || state.settings.mail.hr_lock_digest {
        return Ok(0);
    }
    let notice = Notice::AccountLocked(LockNotice {
        employee_id: emp.employee_id.clone(),
        name: emp.name.clone(),
        department: emp.department.clone(),
        locked_at: to_utc(now),
        locked_until: until.map(to_utc),
        client_ip: client.ip.clone(),
        second_step,
    });
    let kind = if second_step { "lock2" } else { "lock" };
    let key = format!("{kind}:{}:{}", emp.id, now.and_utc().timestamp_micros());
    enqueue(conn, hr, &notice, Some(&key), now)
}

/// Tells the employee (and HR, for an admin) that the account's second factors changed, in the
/// caller's transaction: a change they did not make means someone else holds their password.
pub fn queue_factor_change(
    conn: &mut MysqlConnection,
    state: &AppState,
    emp: &Employee,
    change: FactorChange,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    if !state.mailer.enabled() {
        return Ok(0);
    }
    let notice = Notice::SecondFactorChanged {
        employee_id: emp.employee_id.clone(),
        name: emp.name.clone(),
        change,
        at: to_utc(now),
        client_ip: client.ip.clone(),
    };
    // HR hears of every change to an admin's factors and of every reset and rollback.
    let by_admin = matches!(change, FactorChange::Reset | FactorChange::ResetRolledBack);
    let admin = crate::services::portal::is_admin(state, emp);
    let hr = state
        .settings
        .mail
        .hr_email
        .as_deref()
        .filter(|_| admin || by_admin);
    let mut queued = 0;
    for to in emp.email.as_deref().into_iter().chain(hr) {
        queued += enqueue(conn, to, &notice, None, now)?;
    }
    Ok(queued)
}

/// Queues one warning per password (the key names the password version) for every employee
/// with an address whose password is inside the warning period. Safe to run on every node.
pub fn queue_expiry_warnings(
    conn: &mut MysqlConnection,
    state: &AppState,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let policy = policy::current(conn, &state.settings)?;
    if !policy.enabled {
        return Ok(0);
    }
    let within = Duration::days(i64::from(policy.expire_days - policy.warn_days));
    let mut queued = 0;
    for emp in employees::expiring_with_email(conn, &policy, now, now + within)? {
        let Some(to) = emp.email.as_deref() else {
            continue;
        };
        let Some(expires) = policy.expires_at(
            emp.password_updated_at,
            emp.password_length_class,
            emp.password_expiry_offset_days,
        ) else {
            continue;
        };
        let notice = Notice::PasswordExpiring {
            employee_id: emp.employee_id.clone(),
            name: emp.name.clone(),
            expires_at: to_utc(expires),
        };
        let key = format!("expiry:{}:{}", emp.id, emp.password_version());
        queued += enqueue(conn, to, &notice, Some(&key), now)?;
    }
    Ok(queued)
}

/// In digest mode, queues one HR mail for the last finished day (JST) that had locks.
pub fn queue_lock_digest(
    conn: &mut MysqlConnection,
    state: &AppState,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let Some(hr) = state.settings.mail.hr_email.as_deref() else {
        return Ok(0);
    };
    if !state.settings.mail.hr_lock_digest {
        return Ok(0);
    }
    let today = jst_date(now);
    let Some(day) = today.pred_opt() else {
        return Ok(0);
    };
    let (Some(from), Some(until)) = (jst_midnight(day), jst_midnight(today)) else {
        return Ok(0);
    };
    // Password locks and second-step locks (the latter mean the password is known to someone).
    let mut rows = Vec::new();
    for event in ["locked", "second_factor_locked"] {
        rows.extend(directory::history_page(
            conn,
            &directory::HistoryFilter {
                event: Some(event.into()),
                from: Some(from),
                until: Some(until),
                ..Default::default()
            },
            None,
            1000,
        )?);
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    if rows.is_empty() {
        return Ok(0);
    }
    let people = employees::by_ids(conn, rows.iter().filter_map(|r| r.employee_ref))?;
    let mut locks: Vec<LockNotice> = rows
        .iter()
        .map(|r| {
            let emp = r.employee_ref.and_then(|id| people.get(&id));
            let detail: serde_json::Value = r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            LockNotice {
                employee_id: r.employee_code.clone().unwrap_or_default(),
                name: emp.map(|e| e.name.clone()).unwrap_or_default(),
                department: emp.map(|e| e.department.clone()).unwrap_or_default(),
                locked_at: to_utc(r.created_at),
                locked_until: detail["lockedUntil"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&Utc)),
                client_ip: r.client_ip.clone().unwrap_or_default(),
                second_step: r.event == "second_factor_locked",
            }
        })
        .collect();
    locks.reverse();
    let date = day.format("%Y-%m-%d").to_string();
    let key = format!("lock_digest:{date}");
    enqueue(
        conn,
        hr,
        &Notice::LockDigest { date, locks },
        Some(&key),
        now,
    )
}

/// Runs the scans that queue mail (expiry warnings, the HR digest).
pub async fn scan(state: &AppState) -> Result<usize, DbError> {
    if !state.mailer.enabled() {
        return Ok(0);
    }
    state
        .transaction(move |conn, st, now| {
            Ok(queue_expiry_warnings(conn, st, now)? + queue_lock_digest(conn, st, now)?)
        })
        .await
}

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retrying: usize,
    pub gave_up: usize,
}

/// Claims the due messages and sends them. Safe on any number of nodes at once: a claimed row
/// is invisible to other workers until its lease runs out.
pub async fn deliver_due(state: &AppState) -> Result<Delivery, DbError> {
    let mut done = Delivery::default();
    if !state.mailer.enabled() {
        return Ok(done);
    }
    let now = state.clock.now_naive();
    let lease = now + Duration::seconds(LEASE_SECONDS);
    let rows = state
        .transaction(move |conn, _, _| {
            outbox::claim_due(conn, now, lease, BATCH).map_err(DbError::from)
        })
        .await?;
    for row in rows {
        let outcome = match serde_json::from_str::<Notice>(&row.payload) {
            Ok(notice) => match notice.render(&state.settings.http.public_url, to_utc(now)) {
                Ok((subject, text, html)) => {
                    let mail = OutgoingMail {
                        to: row.recipient.clone(),
                        subject,
                        text,
                        html: Some(html),
                        date: to_utc(now).into(),
                    };
                    state.mailer.send(&mail).await.map_err(|e| (e.0, false))
                }
                Err(e) => Err((format!("template: {e}"), true)),
            },
            Err(e) => Err((format!("payload: {e}"), true)),
        };
        let at = state.clock.now_naive();
        let id = row.id;
        match outcome {
            Ok(()) => {
                state
                    .transaction(move |conn, _, _| {
                        outbox::mark_sent(conn, id, at).map_err(DbError::from)
                    })
                    .await?;
                done.sent += 1;
            }
            Err((error, permanent)) => {
                let attempts = row.attempts + 1;
                let give_up = permanent || attempts >= MAX_ATTEMPTS;
                let retry_at = at + backoff(attempts);
                tracing::warn!(outbox_id = id, attempts, give_up, error = %error, "mail not delivered");
                let error: String = error.chars().take(480).collect();
                state
                    .transaction(move |conn, _, _| {
                        outbox::mark_failed(conn, id, &error, retry_at, give_up, at)
                            .map_err(DbError::from)
                    })
                    .await?;
                if give_up {
                    done.gave_up += 1;
                } else {
                    done.retrying += 1;
                }
            }
        }
    }
    // For the backlog gauge; a failed count leaves the last one and fails no delivery.
    match state
        .read(|conn, _, _| outbox::pending_count(conn).map_err(DbError::from))
        .await
    {
        Ok(n) => state.metrics.set_outbox_pending(n),
        Err(e) => tracing::warn!(error = %e, "counting pending mail failed"),
    }
    Ok(done)
}

/// The background worker: delivers every `mail_poll_seconds`, scans about once an hour.
pub async fn worker(state: AppState) {
    let every = std::time::Duration::from_secs(state.settings.mail.poll_seconds.max(1));
    let mut tick = tokio::time::interval(every);
    let mut last_scan: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
        if last_scan.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
            last_scan = Some(tokio::time::Instant::now());
            if let Err(e) = scan(&state).await {
                tracing::warn!(error = %e, "mail scan failed");
            }
        }
        if let Err(e) = deliver_due(&state).await {
            tracing::warn!(error = %e, "mail delivery run failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let secs: Vec<i64> = (1..=8).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
