//! Read-only queries behind the portal's lists and dashboard, each list served by an index
//! (see the EXPLAIN output in the benchmark report).

use chrono::NaiveDateTime;
use diesel::mysql::Mysql;
use diesel::prelude::*;

use crate::db::models::{Employee, OnetimeToken};
use crate::db::queries::employees::expires_between;
use crate::db::schema::{
    admin_audit, employees, login_history, login_history_archive, onetime_tokens,
};
use crate::domain::ExpiryPolicy;
use crate::domain::search_key::query_key;

/// Escapes LIKE wildcards so a search for `50%` means those characters.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Employees by where their password stands against the expiry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryFilter {
    /// Expires within `EXPIRING_SOON_DAYS`.
    Soon,
    Expired,
}

pub const EXPIRING_SOON_DAYS: i64 = 14;

#[derive(Debug, Clone, Default)]
pub struct EmployeeFilter {
    /// ID prefix, or part of the name, kana or department (folded: `domain::search_key`).
    pub q: Option<String>,
    pub locked: bool,
    pub must_change: bool,
    pub no_password: bool,
    pub never_signed_in: bool,
    pub status: Option<String>,
    pub expiry: Option<ExpiryFilter>,
    /// The policy the expiry filter applies (read with the query).
    pub policy: ExpiryPolicy,
}

type BoxedEmployees<'a> = employees::BoxedQuery<'a, Mysql>;

fn filtered<'a>(f: &'a EmployeeFilter, now: NaiveDateTime, ids_only: bool) -> BoxedEmployees<'a> {
    use employees::dsl as e;
    let mut q = e::employees.into_boxed();
    if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
        let esc = like_escape(text);
        let prefix = format!("{esc}%");
        let inside = format!("%{esc}%");
        let folded = format!("%{}%", like_escape(&query_key(text)));
        q = if ids_only {
            q.filter(e::employee_id.like(prefix))
        } else {
            // The folded key finds 髙橋 for 高橋 and サキ for さき; a row whose key is not
            // filled yet (written around staffgate) is still found by its columns as typed.
            q.filter(
                e::employee_id
                    .like(prefix)
                    .or(e::search_key.like(folded))
                    .or(e::search_key.is_null().and(
                        e::name
                            .like(inside.clone())
                            .or(e::name_kana.like(inside.clone()))
                            .or(e::department.like(inside)),
                    )),
            )
        };
    }
    if f.locked {
        q = q.filter(e::locked_until.gt(now));
    }
    if f.must_change {
        q = q
            .filter(e::password_must_change.eq(true))
            .filter(e::password_hash.is_not_null());
    }
    if f.no_password {
        q = q.filter(e::password_hash.is_null());
    }
    if f.never_signed_in {
        q = q.filter(e::last_login_at.is_null());
    }
    if let Some(s) = f.status.as_deref() {
        q = q.filter(e::status.eq(s));
    }
    match f.expiry {
        Some(ExpiryFilter::Expired) => q = q.filter(expires_between(&f.policy, None, now)),
        Some(ExpiryFilter::Soon) => {
            let until = now + chrono::Duration::days(EXPIRING_SOON_DAYS);
            q = q.filter(expires_between(&f.policy, Some(now), until));
        }
        None => {}
    }
    q
}

/// Active employees whose password expires within `EXPIRING_SOON_DAYS`, and whose password
/// has expired, under `policy`.
pub fn password_expiry_counts(
    conn: &mut MysqlConnection,
    policy: &ExpiryPolicy,
    now: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    use employees::dsl as e;
    let until = now + chrono::Duration::days(EXPIRING_SOON_DAYS);
    let soon = e::employees
        .filter(e::status.eq("active"))
        .filter(expires_between(policy, Some(now), until))
        .count()
        .get_result(conn)?;
    let expired = e::employees
        .filter(e::status.eq("active"))
        .filter(expires_between(policy, None, now))
        .count()
        .get_result(conn)?;
    Ok((soon, expired))
}

/// One page of employees by employee ID, and how many match in all. A query that looks like
/// an employee ID searches ID prefixes first (one index range); only when no ID matches does it
/// look inside names, kana and departments too.
pub fn search_employees(
    conn: &mut MysqlConnection,
    f: &EmployeeFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Employee>, i64)> {
    let id_like = f.q.as_deref().is_some_and(|q| {
        q.len() >= 2
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if id_like {
        let page = search_page(conn, f, true, now, offset, limit)?;
        if page.1 > 0 {
            return Ok(page);
        }
    }
    search_page(conn, f, false, now, offset, limit)
}

fn search_page(
    conn: &mut MysqlConnection,
    f: &EmployeeFilter,
    ids_only: bool,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Employee>, i64)> {
    use employees::dsl as e;
    let query = || filtered(f, now, ids_only);
    if !ids_only && f.q.is_some() {
        // A text search cannot use an index: one scan that returns the matching ids in order
        // beats a count scan plus an index walk that must visit every row to find few matches.
        let all: Vec<i64> = query()
            .order(e::employee_id.asc())
            .select(e::id)
            .load(conn)?;
        let total = all.len() as i64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        let end = start
            .saturating_add(usize::try_from(limit).unwrap_or(0))
            .min(all.len());
        return Ok((rows_by_id(conn, &all[start..end])?, total));
    }
    let total: i64 = query().count().get_result(conn)?;
    if offset >= total {
        // Nothing to show: do not scan a second time for it.
        return Ok((Vec::new(), total));
    }
    // Deferred join: walk the (employee_id, id) index for the page's ids, then read only
    // those rows, so a deep page does not read every row before it.
    let ids: Vec<i64> = query()
        .order(e::employee_id.asc())
        .offset(offset)
        .limit(limit)
        .select(e::id)
        .load(conn)?;
    Ok((rows_by_id(conn, &ids)?, total))
}

fn rows_by_id(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<Vec<Employee>> {
    use employees::dsl as e;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    e::employees
        .filter(e::id.eq_any(ids))
        .order(e::employee_id.asc())
        .select(Employee::as_select())
        .load(conn)
}

pub fn locked_employees(
    conn: &mut MysqlConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Employee>> {
    use employees::dsl as e;
    e::employees
        .filter(e::locked_until.gt(now))
        .order(e::locked_until.desc())
        .limit(limit)
        .select(Employee::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub locked_now: i64,
    pub tokens_outstanding: i64,
    pub tokens_expiring_24h: i64,
    pub signins_today: i64,
    pub failures_24h: i64,
    pub never_signed_in: i64,
    pub employees_active: i64,
    pub passwords_expiring: i64,
    pub passwords_expired: i64,
}

pub fn dashboard(
    conn: &mut MysqlConnection,
    now: NaiveDateTime,
    today_start: NaiveDateTime,
    policy: &ExpiryPolicy,
) -> QueryResult<Dashboard> {
    let (passwords_expiring, passwords_expired) = password_expiry_counts(conn, policy, now)?;
    use employees::dsl as e;
    use login_history::dsl as h;
    use onetime_tokens::dsl as t;
    let open_tokens = || {
        t::onetime_tokens
            .filter(t::expires_at.gt(now))
            .filter(t::used_at.is_null())
            .filter(t::revoked_at.is_null())
    };
    Ok(Dashboard {
        locked_now: e::employees
            .filter(e::locked_until.gt(now))
            .count()
            .get_result(conn)?,
        tokens_outstanding: open_tokens().count().get_result(conn)?,
        tokens_expiring_24h: open_tokens()
            .filter(t::expires_at.le(now + chrono::Duration::hours(24)))
            .count()
            .get_result(conn)?,
        signins_today: h::login_history
            .filter(h::event.eq_any(["password_login_ok", "qr_login"]))
            .filter(h::created_at.ge(today_start))
            .count()
            .get_result(conn)?,
        failures_24h: h::login_history
            .filter(h::event.eq("password_login_failed"))
            .filter(h::created_at.ge(now - chrono::Duration::hours(24)))
            .count()
            .get_result(conn)?,
        never_signed_in: e::employees
            .filter(e::last_login_at.is_null())
            .filter(e::status.eq("active"))
            .count()
            .get_result(conn)?,
        employees_active: e::employees
            .filter(e::status.eq("active"))
            .count()
            .get_result(conn)?,
        passwords_expiring,
        passwords_expired,
    })
}

/// Open tokens that run out within `within`, soonest first, with whose they are.
pub fn tokens_expiring(
    conn: &mut MysqlConnection,
    now: NaiveDateTime,
    within: chrono::Duration,
    limit: i64,
) -> QueryResult<Vec<(OnetimeToken, String, String)>> {
    use onetime_tokens::dsl as t;
    let rows: Vec<OnetimeToken> = t::onetime_tokens
        .filter(t::expires_at.gt(now))
        .filter(t::expires_at.le(now + within))
        .filter(t::used_at.is_null())
        .filter(t::revoked_at.is_null())
        .order(t::expires_at.asc())
        .limit(limit)
        .select(OnetimeToken::as_select())
        .load(conn)?;
    let names = names_of(conn, rows.iter().map(|r| r.employee_ref))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (code, name) = names.get(&r.employee_ref).cloned().unwrap_or_default();
            (r, code, name)
        })
        .collect())
}

/// Employee ID and name for a set of row ids.
pub fn names_of(
    conn: &mut MysqlConnection,
    ids: impl Iterator<Item = i64>,
) -> QueryResult<std::collections::HashMap<i64, (String, String)>> {
    use employees::dsl as e;
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, String, String)> = e::employees
        .filter(e::id.eq_any(ids))
        .select((e::id, e::employee_id, e::name))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, c, n)| (id, (c, n))).collect())
}

pub fn tokens_of(
    conn: &mut MysqlConnection,
    employee: i64,
    limit: i64,
) -> QueryResult<Vec<OnetimeToken>> {
    use onetime_tokens::dsl as t;
    t::onetime_tokens
        .filter(t::employee_ref.eq(employee))
        .order(t::id.desc())
        .limit(limit)
        .select(OnetimeToken::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct HistoryRow {
    pub id: i64,
    pub event: String,
    pub employee_ref: Option<i64>,
    pub employee_code: Option<String>,
    pub actor_ref: Option<i64>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Which table a history list reads: the live login_history or its archive (same columns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HistorySource {
    #[default]
    Live,
    Archive,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub source: HistorySource,
    pub employee: Option<i64>,
    pub event: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Position in a newest-first list: rows strictly older than (created_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: NaiveDateTime,
    pub id: i64,
}

/// The one history query, written once for both tables (they share their columns and their
/// created_at, (employee_ref, created_at) and (event, created_at) indexes).
macro_rules! history_query {
    ($table:ident, $conn:expr, $f:expr, $before:expr, $limit:expr) => {{
        use $table::dsl as h;
        let mut q = h::$table.into_boxed::<Mysql>();
        if let Some(emp) = $f.employee {
            q = q.filter(h::employee_ref.eq(emp));
        }
        if let Some(ev) = $f.event.as_deref() {
            q = q.filter(h::event.eq(ev.to_owned()));
        }
        if let Some(from) = $f.from {
            q = q.filter(h::created_at.ge(from));
        }
        if let Some(until) = $f.until {
            q = q.filter(h::created_at.lt(until));
        }
        if let Some(c) = $before {
            q = q
                .filter(h::created_at.le(c.created_at))
                .filter(h::created_at.lt(c.created_at).or(h::id.lt(c.id)));
        }
        q.order((h::created_at.desc(), h::id.desc()))
            .limit($limit)
            .select((
                h::id,
                h::event,
                h::employee_ref,
                h::employee_code,
                h::actor_ref,
                h::client_ip,
                h::user_agent,
                h::detail,
                h::created_at,
            ))
            .load($conn)
    }};
}

/// Newest first, keyset-paginated: the cost of a page does not grow with how far back it is,
/// and no COUNT over a million rows is needed.
pub fn history_page(
    conn: &mut MysqlConnection,
    f: &HistoryFilter,
    before: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    match f.source {
        HistorySource::Live => history_query!(login_history, conn, f, before, limit),
        HistorySource::Archive => history_query!(login_history_archive, conn, f, before, limit),
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub action: String,
    pub actor_ref: Option<i64>,
    pub actor_label: Option<String>,
    pub client_ip: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Which audit entries a page or an export shows: one action, and a time range `[from, until)`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

pub fn audit_page(
    conn: &mut MysqlConnection,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    use admin_audit::dsl as a;
    let mut q = a::admin_audit.into_boxed::<Mysql>();
    if let Some(action) = &filter.action {
        q = q.filter(a::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(a::created_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(a::created_at.lt(until));
    }
    if let Some(id) = before {
        q = q.filter(a::id.lt(id));
    }
    q.order(a::id.desc())
        .limit(limit)
        .select((
            a::id,
            a::action,
            a::actor_ref,
            a::actor_label,
            a::client_ip,
            a::detail,
            a::created_at,
        ))
        .load(conn)
}

pub fn audit_actions(conn: &mut MysqlConnection) -> QueryResult<Vec<String>> {
    use admin_audit::dsl as a;
    a::admin_audit
        .select(a::action)
        .distinct()
        .order(a::action.asc())
        .load(conn)
}
