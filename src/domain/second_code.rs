//! What a person types at the second step: a 6-digit authenticator code or a recovery code
//! (16 characters of Crockford base32, 80 bits, shown as `7KQ2-9XMD-4HRT-B5CW`).

use rand::RngExt;
use sha2::{Digest, Sha256};

use super::ParseError;

/// Crockford's base32 alphabet: no I, L, O or U, so nothing reads as another character.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const RECOVERY_CHARS: usize = 16;
pub const RECOVERY_CODES_PER_SET: usize = 10;

#[derive(Clone, PartialEq, Eq)]
pub enum SecondCode {
    Totp(String),
    Recovery(RecoveryCode),
}

impl std::fmt::Debug for SecondCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecondCode::Totp(_) => f.write_str("Totp(<redacted>)"),
            SecondCode::Recovery(_) => f.write_str("Recovery(<redacted>)"),
        }
    }
}

impl SecondCode {
    /// Spaces, hyphens and case do not matter; an `O` typed for `0` or an `I`/`L` for `1` in a
    /// recovery code is read as Crockford intends.
    pub fn parse(raw: &str, field: &'static str) -> Result<SecondCode, ParseError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.len() == 6 && compact.chars().all(|c| c.is_ascii_digit()) {
            return Ok(SecondCode::Totp(compact));
        }
        if let Some(code) = RecoveryCode::parse(&compact) {
            return Ok(SecondCode::Recovery(code));
        }
        Err(ParseError::new(
            field,
            "認証アプリの6桁のコード、またはリカバリーコード（16文字）を入力してください。",
            "Enter the 6-digit code from the authenticator app, or a 16-character recovery code.",
        ))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SecondCode::Totp(_) => "totp",
            SecondCode::Recovery(_) => "recovery_code",
        }
    }
}

/// A recovery code in its canonical form (16 characters, no separators). Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    pub fn generate() -> RecoveryCode {
        let mut rng = rand::rng();
        RecoveryCode(
            (0..RECOVERY_CHARS)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect(),
        )
    }

    fn parse(compact: &str) -> Option<RecoveryCode> {
        if compact.chars().count() != RECOVERY_CHARS {
            return None;
        }
        let canonical: String = compact
            .chars()
            .map(|c| match c {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            })
            .collect();
        canonical
            .bytes()
            .all(|b| ALPHABET.contains(&b))
            .then_some(RecoveryCode(canonical))
    }

    /// Grouped by four for reading aloud and typing: `7KQ2-9XMD-4HRT-B5CW`.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// SHA-256 of the canonical form; 80 random bits make a dictionary useless.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_80_bits_and_read_back_however_they_are_typed() {
        let code = RecoveryCode::generate();
        assert_eq!(code.0.len(), RECOVERY_CHARS);
        // 16 characters of a 32-letter alphabet: 16 * 5 = 80 bits.
        assert_eq!(RECOVERY_CHARS * 5, 80);
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 19);
        let typed = format!(" {} ", grouped.to_lowercase());
        assert_eq!(
            SecondCode::parse(&typed, "code").unwrap(),
            SecondCode::Recovery(code.clone())
        );
        assert_ne!(RecoveryCode::generate(), code);
        assert_eq!(
            SecondCode::parse("7KQ2-9XMD-4HRT-B5CO", "code").unwrap(),
            SecondCode::parse("7kq29xmd4hrtb5c0", "code").unwrap()
        );
        assert!(!format!("{code:?}").contains(&code.0));
    }

    #[test]
    fn six_digits_are_an_authenticator_code_and_anything_else_is_refused() {
        assert_eq!(
            SecondCode::parse("123 456", "code").unwrap(),
            SecondCode::Totp("123456".into())
        );
        for bad in ["", "12345", "1234567", "abcdef", "7KQ2-9XMD-4HRT-B5CU"] {
            assert!(SecondCode::parse(bad, "code").is_err(), "{bad}");
        }
    }
}
