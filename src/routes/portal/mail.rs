//! The outgoing-mail page: what the outbox holds, sent, waiting or failed.

use actix_web::HttpResponse;
use askama::Template;

use super::view::{Chrome, PortalError, page};
use super::{Admin, GET, Route, route};
use crate::db::queries::outbox::OutboxRow;
use crate::services::clock::jst;
use crate::services::directory;

pub fn routes() -> Vec<Route> {
    vec![route(GET, "/mail", mail)]
}

pub struct MailView {
    pub id: i64,
    pub recipient: String,
    pub template_ja: &'static str,
    pub template_en: &'static str,
    pub created: String,
    pub state_ja: &'static str,
    pub state_en: &'static str,
    pub state_class: &'static str,
    pub attempts: i32,
    pub when: String,
    pub error: String,
}

impl MailView {
    fn of(r: OutboxRow) -> Self {
        let (template_ja, template_en) = match r.template.as_str() {
            "account_locked" => ("アカウントロック（人事部宛）", "Account locked (to HR)"),
            "lock_digest" => ("ロックの日次報告（人事部宛）", "Daily lock digest (to HR)"),
            "password_expiring" => ("パスワード期限の予告", "Password expiry notice"),
            _ => ("その他", "Other"),
        };
        let (state_ja, state_en, state_class, when) = match (r.sent_at, r.failed_at) {
            (Some(at), _) => ("送信済み", "Sent", "ok", jst(&at)),
            (None, Some(at)) => (
                "送信失敗（再送なし）",
                "Failed (given up)",
                "alert",
                jst(&at),
            ),
            (None, None) if r.attempts > 0 => {
                ("再送待ち", "Retrying", "warn", jst(&r.next_attempt_at))
            }
            (None, None) => ("送信待ち", "Queued", "", jst(&r.next_attempt_at)),
        };
        Self {
            id: r.id,
            recipient: r.recipient,
            template_ja,
            template_en,
            created: jst(&r.created_at),
            state_ja,
            state_en,
            state_class,
            attempts: r.attempts,
            when,
            error: r.last_error.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/mail/index.html")]
struct MailPage {
    c: Chrome,
    rows: Vec<MailView>,
    mail_on: bool,
}

async fn mail(me: Admin) -> Result<HttpResponse, PortalError> {
    let rows = directory::recent_mail(&me.state, 100).await?;
    Ok(page(&MailPage {
        c: me.chrome("mail"),
        rows: rows.into_iter().map(MailView::of).collect(),
        mail_on: me.state.mailer.enabled(),
    }))
}
