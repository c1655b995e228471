//! Outgoing mail seam. Messages are queued in `mail_outbox` in the same transaction as their
//! event and delivered by a worker through a `Mailer`.

/// A rendered message ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

pub trait Mailer: Send + Sync + 'static {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Used when no SMTP server is configured: nothing is delivered.
#[derive(Debug, Default)]
pub struct DisabledMailer;

impl Mailer for DisabledMailer {
    fn send(&self, _mail: &OutgoingMail) -> Result<(), MailError> {
        Err(MailError(
            "mail is not configured (STAFFGATE_SMTP_URL)".into(),
        ))
    }
}
