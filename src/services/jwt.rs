//! EdDSA (Ed25519) access tokens and the JWKS that lets partners verify them offline.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "staffgate";
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM document: {0}")]
    Pem(String),
    #[error("not an Ed25519 private key in PKCS#8 form")]
    NotEd25519,
    #[error("could not generate a key")]
    Generate,
}

/// What a bearer token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Normal session.
    Full,
    /// Setup session: may only change the password (after a QR sign-in, or when the password
    /// must be changed before anything else).
    PasswordChange,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::PasswordChange => "password_change",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub employee_id: String,
    pub name: String,
    pub permission_level: f64,
    pub scope: Scope,
    /// Refresh family of a full session; empty for a setup session.
    pub sid: String,
    /// Password version (microseconds of password_updated_at, 0 if never set). A setup token is
    /// only honoured while this still matches, which makes it single use for changing the password.
    pub pwv: i64,
    /// How the session was authenticated (RFC 8176): `pwd`, and `otp` or `hwk` after a second
    /// factor. Tokens signed before second factors existed carry none and count as `pwd`.
    #[serde(default)]
    pub amr: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_x: String,
}

impl AccessClaims {
    pub fn amr(&self) -> crate::domain::Amr {
        crate::domain::Amr::from_names(self.amr.iter().map(String::as_str))
    }
}

impl SigningKey {
    pub fn from_pkcs8_pem(pem_text: &str) -> Result<Self, KeyError> {
        let doc = pem::parse(pem_text.trim()).map_err(|e| KeyError::Pem(e.to_string()))?;
        if doc.tag() != "PRIVATE KEY" {
            return Err(KeyError::NotEd25519);
        }
        Self::from_pkcs8_der(doc.contents())
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| KeyError::NotEd25519)?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let thumb_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumb_input.as_bytes()));
        let decoding = DecodingKey::from_ed_components(&x).map_err(|_| KeyError::NotEd25519)?;
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(der),
            decoding,
            public_x: x,
        })
    }

    /// A fresh key for development; tokens die with the process.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": self.public_x,
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Checks signature, issuer and expiry against `now` (our Clock, not the system time).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation).ok()?;
        (data.claims.exp > now.timestamp()).then_some(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::clock::{Clock, SystemClock};

    fn claims(now: DateTime<Utc>) -> AccessClaims {
        AccessClaims {
            iss: ISSUER.into(),
            sub: "1".into(),
            employee_id: "E1".into(),
            name: "看護 花子".into(),
            permission_level: 1.0,
            scope: Scope::Full,
            sid: "f".into(),
            pwv: 0,
            amr: vec!["pwd".into()],
            iat: now.timestamp(),
            exp: now.timestamp() + ACCESS_TTL_SECONDS,
            jti: "j".into(),
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() -> Result<(), Box<dyn std::error::Error>> {
        let key = SigningKey::generate()?;
        let now = SystemClock.now();
        let token = key.sign(&claims(now))?;
        assert!(key.verify(&token, now).is_some());
        assert!(
            key.verify(&token, now + chrono::Duration::seconds(ACCESS_TTL_SECONDS))
                .is_none()
        );
        Ok(())
    }

    #[test]
    fn tokens_of_another_key_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let (a, b) = (SigningKey::generate()?, SigningKey::generate()?);
        let now = SystemClock.now();
        let token = a.sign(&claims(now))?;
        assert!(b.verify(&token, now).is_none());
        Ok(())
    }

    #[test]
    fn openssl_style_pem_is_accepted() -> Result<(), Box<dyn std::error::Error>> {
        // `openssl genpkey -algorithm ed25519` output (PKCS#8 v1).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pkcs8_pem(pem)?;
        assert_eq!(key.kid().len(), 43);
        Ok(())
    }
}
