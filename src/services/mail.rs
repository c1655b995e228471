//! The outgoing-mail seam: a `Mailer` sends what the outbox worker hands it (messages are
//! queued in `mail_outbox` in the same transaction as their event).

use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A rendered message ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub date: SystemTime,
}

#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

pub trait Mailer: Send + Sync + 'static {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), MailError>>;

    /// Whether anything can be delivered at all (messages are queued only then).
    fn enabled(&self) -> bool {
        true
    }
}

/// Used when no SMTP server is configured: nothing is queued or delivered.
#[derive(Debug, Default)]
pub struct DisabledMailer;

impl Mailer for DisabledMailer {
    fn send<'a>(&'a self, _mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async {
            Err(MailError(
                "mail is not configured (STAFFGATE_SMTP_URL)".into(),
            ))
        })
    }

    fn enabled(&self) -> bool {
        false
    }
}

/// Delivers through an SMTP server (`smtp://host:port`, `smtp://...?tls=required`,
/// `smtps://user:password@host`), reusing pooled connections.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Removed from any error text, so it never reaches a log line or the outbox.
    secret: Option<String>,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let secret = url_password(url);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError(scrub(&secret, format!("STAFFGATE_SMTP_URL: {e}"))))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError(format!("STAFFGATE_MAIL_FROM: {e}")))?;
        Ok(Self {
            transport,
            from,
            secret,
        })
    }

    /// Connects and greets the server as a delivery would, and sends nothing.
    pub async fn reachable(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError("the server did not accept the connection".into())),
            Err(e) => Err(MailError(scrub(&self.secret, e.to_string()))),
        }
    }

    fn build(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError(format!("recipient: {e}")))?;
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::Base64)
            .body(mail.text.clone());
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .date(mail.date);
        let built = match &mail.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .header(ContentTransferEncoding::Base64)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|e| MailError(format!("message: {e}")))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let message = self.build(mail)?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError(scrub(&self.secret, e.to_string())))
        })
    }
}

/// The password part of `scheme://user:password@host`, if any.
fn url_password(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let creds = &rest[..rest.rfind('@')?];
    creds.split_once(':').map(|(_, p)| p.to_owned())
}

fn scrub(secret: &Option<String>, text: String) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s.as_str(), "***"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smtp_password_never_reaches_an_error_text() {
        let secret = url_password("smtp://hr:pa55word@mail.example.jp:587");
        assert_eq!(secret.as_deref(), Some("pa55word"));
        assert_eq!(
            scrub(&secret, "auth failed for hr:pa55word".into()),
            "auth failed for hr:***"
        );
        assert_eq!(url_password("smtp://127.0.0.1:25"), None);
    }
}
