//! Second-factor settings: whether admins must use one, the key that seals authenticator
//! secrets at rest, the reset-log key (current and retired) and the rollback window.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::reader::Reader;

/// Whether an admin must have a second factor (`STAFFGATE_ADMIN_2FA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTwoFactor {
    Required,
    Optional,
}

/// A symmetric key read from configuration: at least 32 random bytes. Its id (a hash of the
/// key, never the key) is stored beside what it sealed, so a row names the key that opens it.
#[derive(Clone)]
pub struct SealKey {
    pub id: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", self.id)
    }
}

pub const MIN_KEY_BYTES: usize = 32;

impl SealKey {
    /// Hex or base64 (standard or URL-safe) text of at least 32 bytes that look random.
    pub fn parse(text: &str) -> Result<SealKey, String> {
        let t = text.trim();
        let bytes = if t.len().is_multiple_of(2) && t.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|_| "is not valid hex".to_owned())?
        } else {
            STANDARD
                .decode(t)
                .or_else(|_| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
                .map_err(|_| "is neither hex nor base64".to_owned())?
        };
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "is {} bytes long; at least {MIN_KEY_BYTES} random bytes are needed (openssl rand -hex 32)",
                bytes.len()
            ));
        }
        if looks_weak(&bytes) {
            return Err(
                "does not look random (too few distinct bytes, or a repeated pattern); generate one with openssl rand -hex 32"
                    .into(),
            );
        }
        Ok(SealKey::from_bytes(bytes))
    }

    fn from_bytes(bytes: Vec<u8>) -> SealKey {
        let mut h = Sha256::new();
        h.update(b"staffgate key id v1\0");
        h.update(&bytes);
        let id = hex::encode(&h.finalize()[..8]);
        SealKey { id, bytes }
    }

    /// The fixed key of a development setup (never accepted in production).
    fn development(purpose: &str) -> SealKey {
        let bytes = Sha256::digest(format!("staffgate development key: {purpose}")).to_vec();
        SealKey::from_bytes(bytes)
    }
}

/// 32 random bytes have about 30 distinct values and no short period; a typed pattern or a
/// counter does not.
fn looks_weak(bytes: &[u8]) -> bool {
    let mut seen = [false; 256];
    for b in bytes {
        seen[usize::from(*b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    let periodic = (1..=8).any(|p| bytes.iter().skip(p).zip(bytes).all(|(a, b)| a == b));
    distinct < bytes.len().min(64) / 2 || periodic
}

#[derive(Debug, Clone)]
pub struct Mfa {
    pub admin: AdminTwoFactor,
    /// Seals authenticator secrets at rest (`STAFFGATE_MFA_KEY`).
    pub secret_key: SealKey,
    /// The key was not configured: a development key is in use.
    pub secret_key_is_development: bool,
    /// Seals the previous credentials in each reset-log row (`STAFFGATE_MFA_RESET_LOG_KEY`).
    pub reset_log_key: SealKey,
    pub reset_log_key_is_development: bool,
    /// Retired reset-log keys that still open older rows until they are re-sealed.
    pub reset_log_old_keys: Vec<SealKey>,
    /// How long a reset can be rolled back; the sealed payload is erased after.
    pub rollback_days: i64,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
}

impl Mfa {
    pub(super) fn read(r: &mut Reader, issuer: &str) -> Self {
        let admin = match r.get("STAFFGATE_ADMIN_2FA").as_deref().map(str::trim) {
            None | Some("required") => AdminTwoFactor::Required,
            Some("optional") => AdminTwoFactor::Optional,
            Some(other) => {
                r.problem(format!(
                    "STAFFGATE_ADMIN_2FA={other:?} must be \"required\" or \"optional\""
                ));
                AdminTwoFactor::Required
            }
        };
        let (secret_key, secret_dev) = read_key(r, "STAFFGATE_MFA_KEY", "authenticator secrets");
        let (reset_log_key, reset_dev) =
            read_key(r, "STAFFGATE_MFA_RESET_LOG_KEY", "second-factor reset log");
        let mut reset_log_old_keys = Vec::new();
        if let Some(list) = r.secret("STAFFGATE_MFA_RESET_LOG_OLD_KEYS") {
            for (i, item) in list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                match SealKey::parse(item) {
                    Ok(k) => reset_log_old_keys.push(k),
                    Err(e) => r.problem(format!(
                        "STAFFGATE_MFA_RESET_LOG_OLD_KEYS: key {} {e}",
                        i + 1
                    )),
                }
            }
        }
        let rollback_days = r.parse("STAFFGATE_MFA_ROLLBACK_DAYS", 14i64, "a number of days");
        if !(1..=365).contains(&rollback_days) {
            r.problem(format!(
                "STAFFGATE_MFA_ROLLBACK_DAYS={rollback_days} must be between 1 and 365"
            ));
        }
        Self {
            admin,
            secret_key,
            secret_key_is_development: secret_dev,
            reset_log_key,
            reset_log_key_is_development: reset_dev,
            reset_log_old_keys,
            rollback_days,
            issuer: issuer.to_owned(),
        }
    }

    pub fn admin_required(&self) -> bool {
        self.admin == AdminTwoFactor::Required
    }

    /// Every reset-log key that may open a row: the current one first.
    pub fn reset_log_keys(&self) -> impl Iterator<Item = &SealKey> {
        std::iter::once(&self.reset_log_key).chain(&self.reset_log_old_keys)
    }

    pub(super) fn production_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.secret_key_is_development {
            p.push("STAFFGATE_MFA_KEY (or _FILE) is required in production: at least 32 random bytes, hex or base64 (openssl rand -hex 32)".into());
        }
        if self.reset_log_key_is_development {
            p.push("STAFFGATE_MFA_RESET_LOG_KEY (or _FILE) is required in production: at least 32 random bytes, hex or base64, kept outside the repository".into());
        }
        p
    }
}

fn read_key(r: &mut Reader, name: &str, purpose: &str) -> (SealKey, bool) {
    match r.secret(name) {
        None => (SealKey::development(purpose), true),
        Some(text) => match SealKey::parse(&text) {
            Ok(k) => (k, false),
            Err(e) => {
                r.problem(format!("{name} {e}"));
                (SealKey::development(purpose), true)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_long_and_random_and_are_named_by_a_hash() {
        let good = "3f9a1c7e5b2d4f60a8e1c3b5d7f90213e4a6c8b0d2f4a6c8e0b2d4f6a8c0e2b4";
        let k = SealKey::parse(good).expect("hex key");
        assert_eq!(k.bytes.len(), 32);
        assert_eq!(k.id.len(), 16);
        assert!(!good.contains(&k.id));
        let b64 = STANDARD.encode(&k.bytes);
        assert_eq!(SealKey::parse(&b64).expect("base64 key").id, k.id);
        assert!(SealKey::parse("00".repeat(32).as_str()).is_err());
        assert!(
            SealKey::parse(&"0123456789abcdef".repeat(4)).is_err(),
            "periodic"
        );
        assert!(SealKey::parse(&good[..48]).is_err(), "24 bytes");
        assert!(SealKey::parse("correct horse battery staple").is_err());
        assert!(!format!("{k:?}").contains(&good[..8]));
    }
}
