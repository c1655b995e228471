//! Secrets handed to a user (one-time and refresh tokens) and the hashes we store instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::ParseError;

/// A 256-bit secret from an OS-seeded CSPRNG, base64url without padding (43 characters).
/// Debug is redacted; the only way out is `expose`, used where it is handed to the user.
#[derive(Clone)]
pub struct PlainToken(String);

/// SHA-256 of a token; this is all the database ever sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl PlainToken {
    pub const LEN: usize = 43;

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(raw: &str, field: &'static str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let ok = s.len() == Self::LEN
            && URL_SAFE_NO_PAD
                .decode(s)
                .map(|b| b.len() == 32)
                .unwrap_or(false);
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(
                field,
                "トークンの形式が正しくありません。",
                "The token is malformed.",
            ))
        }
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// Random identifier for non-secret things (refresh families, request ids).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_43_chars_and_parse_back() {
        let t = PlainToken::generate();
        assert_eq!(t.expose().len(), 43);
        assert!(PlainToken::parse(t.expose(), "token").is_ok());
        assert_ne!(t.expose(), PlainToken::generate().expose());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert!(PlainToken::parse("short", "token").is_err());
        assert!(PlainToken::parse(&"*".repeat(43), "token").is_err());
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        let t = PlainToken("A".repeat(43));
        assert_eq!(
            t.hash(),
            TokenHash(Sha256::digest("A".repeat(43).as_bytes()).into())
        );
    }
}
