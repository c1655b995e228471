//! Backups: the age public key every backup is encrypted to. The private key that opens them
//! is not a setting of the server: it is kept offline and named only to `staffgate restore`.

use super::reader::Reader;

#[derive(Debug, Clone, Default)]
pub struct Backup {
    /// `STAFFGATE_BACKUP_RECIPIENT`, an age X25519 public key (`age1...`).
    pub recipient: Option<age::x25519::Recipient>,
}

impl Backup {
    pub(super) fn read(r: &mut Reader) -> Self {
        let recipient = r.get("STAFFGATE_BACKUP_RECIPIENT").and_then(|v| {
            match v.trim().parse::<age::x25519::Recipient>() {
                Ok(recipient) => Some(recipient),
                Err(_) => {
                    r.problem(
                        "STAFFGATE_BACKUP_RECIPIENT is not an age public key (age1..., from \
                         `staffgate backup --keygen FILE` or `age-keygen`)",
                    );
                    None
                }
            }
        });
        Self { recipient }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: &str) -> (Backup, Vec<String>) {
        let lookup = |name: &str| (name == "STAFFGATE_BACKUP_RECIPIENT").then(|| value.to_owned());
        let mut r = Reader::new(&lookup);
        let b = Backup::read(&mut r);
        (b, r.into_problems())
    }

    #[test]
    fn a_recipient_must_be_an_age_public_key() {
        let public = age::x25519::Identity::generate().to_public().to_string();
        let (b, problems) = read(&public);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(b.recipient.map(|r| r.to_string()), Some(public));

        let (b, problems) = read("AGE-SECRET-KEY-1QQQQ");
        assert!(b.recipient.is_none());
        assert_eq!(problems.len(), 1);
        assert!(
            !problems[0].contains("QQQQ"),
            "a value that may be secret is not echoed"
        );
    }
}
