//! Signing keys: the Ed25519 key for access tokens and the portal's cookie key (secrets).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::reader::Reader;
use crate::services::jwt::SigningKey;

#[derive(Clone)]
pub struct Keys {
    /// Ed25519 private key, PKCS#8 PEM; None: a key generated per start (development only).
    pub jwt_key_pem: Option<String>,
    /// At least 64 random bytes for the portal's cookies; None: generated per start.
    pub session_key: Option<Vec<u8>>,
}

impl Keys {
    pub(super) fn read(r: &mut Reader) -> Self {
        let jwt_key_pem = r.secret("STAFFGATE_JWT_KEY");
        if let Some(pem) = &jwt_key_pem
            && let Err(e) = SigningKey::from_pkcs8_pem(pem)
        {
            r.problem(format!("STAFFGATE_JWT_KEY: {e}"));
        }
        let session_key = match r.secret("STAFFGATE_SESSION_KEY") {
            None => None,
            Some(v) => match STANDARD.decode(v.trim()) {
                Ok(bytes) if bytes.len() >= 64 => Some(bytes),
                Ok(_) => {
                    r.problem("STAFFGATE_SESSION_KEY must be at least 64 random bytes (base64)");
                    None
                }
                Err(_) => {
                    r.problem("STAFFGATE_SESSION_KEY is not valid base64");
                    None
                }
            },
        };
        Self {
            jwt_key_pem,
            session_key,
        }
    }

    /// Production refuses keys that die with the process.
    pub(super) fn production_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.jwt_key_pem.is_none() {
            p.push("STAFFGATE_JWT_KEY (or _FILE) is required in production: an Ed25519 private key, PKCS#8 PEM".into());
        }
        if self.session_key.is_none() {
            p.push("STAFFGATE_SESSION_KEY (or _FILE) is required in production: at least 64 random bytes, base64".into());
        }
        p
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("jwt_key_pem", &self.jwt_key_pem.as_ref().map(|_| "<set>"))
            .field("session_key", &self.session_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}
