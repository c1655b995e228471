//! A password as typed: never logged, never serialised.

use super::ParseError;

/// A submitted password. Debug is redacted; there is no Display or Serialize, so it cannot
/// reach a log line or a response body by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// bcrypt reads at most 72 bytes; longer input would be silently truncated, so it is refused.
    pub const MAX_BYTES: usize = 72;

    /// Accepts any non-empty input up to a sane size; the policy for *new* passwords lives in
    /// `services::passwords`. Sign-in must not reveal policy details, so this stays lenient.
    pub fn parse(raw: String, field: &'static str) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::new(
                field,
                "パスワードを入力してください。",
                "Password is required.",
            ));
        }
        if raw.len() > 1024 {
            return Err(ParseError::new(
                field,
                "パスワードが長すぎます。",
                "Password is too long.",
            ));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::parse("hunter2-secret".into(), "password").map(|p| format!("{p:?}"));
        assert_eq!(p.as_deref(), Ok("Password(<redacted>)"));
    }

    #[test]
    fn empty_is_refused() {
        assert!(Password::parse(String::new(), "password").is_err());
    }
}
