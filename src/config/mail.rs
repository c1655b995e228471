//! Mail settings: the SMTP server (a secret URL), the sender, HR's address and the outbox
//! worker's pace. Mail is off while no SMTP URL is set.

use super::reader::Reader;
use super::redact::redact_url;

#[derive(Clone)]
pub struct Mail {
    pub smtp_url: Option<String>,
    pub from: Option<String>,
    pub hr_email: Option<String>,
    /// One HR mail a day listing the day's locks instead of one mail per lock.
    pub hr_lock_digest: bool,
    /// Seconds between outbox runs (0: no background worker).
    pub poll_seconds: u64,
}

impl Mail {
    pub(super) fn read(r: &mut Reader) -> Self {
        let smtp_url = r.secret("STAFFGATE_SMTP_URL");
        let from = r.get("STAFFGATE_MAIL_FROM");
        let hr_email = r.get("STAFFGATE_HR_EMAIL");
        if smtp_url.is_some() && from.is_none() {
            r.problem("STAFFGATE_MAIL_FROM is required when STAFFGATE_SMTP_URL is set");
        }
        let hr_lock_digest = r.flag("STAFFGATE_HR_LOCK_DIGEST");
        let poll_seconds = r.parse("STAFFGATE_MAIL_POLL_SECONDS", 15u64, "a whole number");
        Self {
            smtp_url,
            from,
            hr_email,
            hr_lock_digest,
            poll_seconds,
        }
    }
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("hr_email", &self.hr_email)
            .field("hr_lock_digest", &self.hr_lock_digest)
            .field("poll_seconds", &self.poll_seconds)
            .finish()
    }
}
