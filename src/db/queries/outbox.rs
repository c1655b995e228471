//! mail_outbox: messages written with their event, claimed and sent by the worker on any node.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::mail_outbox::dsl as m;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::mail_outbox, check_for_backend(diesel::mysql::Mysql))]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub template: String,
    pub dedupe_key: Option<String>,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Queues a message; with a `dedupe_key` already queued, nothing is written and 0 returned.
pub fn enqueue(
    conn: &mut MysqlConnection,
    recipient: &str,
    template: &str,
    dedupe_key: Option<&str>,
    payload: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_or_ignore_into(m::mail_outbox)
        .values((
            m::recipient.eq(recipient),
            m::template.eq(template),
            m::dedupe_key.eq(dedupe_key),
            m::payload.eq(payload),
            m::attempts.eq(0),
            m::next_attempt_at.eq(now),
            m::created_at.eq(now),
        ))
        .execute(conn)
}

/// Claims up to `limit` due messages: rows another node holds are skipped, and each claimed
/// row's next attempt moves to `lease_until`, so no other worker takes it while it is being
/// sent (and a worker that dies mid-send only delays it until the lease runs out). Run it in a
/// transaction: the row locks hold until the lease is written.
pub fn claim_due(
    conn: &mut MysqlConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    {
        let rows: Vec<OutboxRow> = m::mail_outbox
            .filter(m::sent_at.is_null())
            .filter(m::failed_at.is_null())
            .filter(m::next_attempt_at.le(now))
            .order(m::next_attempt_at.asc())
            .limit(limit)
            .select(OutboxRow::as_select())
            .for_update()
            .skip_locked()
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if !ids.is_empty() {
            diesel::update(m::mail_outbox.filter(m::id.eq_any(&ids)))
                .set(m::next_attempt_at.eq(lease_until))
                .execute(conn)?;
        }
        Ok(rows)
    }
}

pub fn mark_sent(conn: &mut MysqlConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(m::mail_outbox.find(id).filter(m::sent_at.is_null()))
        .set((m::sent_at.eq(Some(now)), m::last_error.eq(None::<String>)))
        .execute(conn)
}

/// Records a failed attempt: the next one at `retry_at`, or none (`failed_at`) when `give_up`.
pub fn mark_failed(
    conn: &mut MysqlConnection,
    id: i64,
    error: &str,
    retry_at: NaiveDateTime,
    give_up: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(m::mail_outbox.find(id).filter(m::sent_at.is_null()))
        .set((
            m::attempts.eq(m::attempts + 1),
            m::last_error.eq(Some(error)),
            m::next_attempt_at.eq(retry_at),
            m::failed_at.eq(give_up.then_some(now)),
        ))
        .execute(conn)
}

/// Messages neither sent nor given up. `sent_at IS NULL` is a range of ix_mail_outbox_pending,
/// so the count reads only unsent rows, however much mail has been sent.
pub fn pending_count(conn: &mut MysqlConnection) -> QueryResult<i64> {
    m::mail_outbox
        .filter(m::sent_at.is_null())
        .filter(m::failed_at.is_null())
        .count()
        .get_result(conn)
}

/// Newest first, for the portal's outbox page.
pub fn recent(conn: &mut MysqlConnection, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    m::mail_outbox
        .order(m::id.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)
}
