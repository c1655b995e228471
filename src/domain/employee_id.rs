//! Employee ID: the login ID printed on the account sheet.

use super::ParseError;

/// 1 to 32 characters of ASCII letters, digits, `_` and `-`; surrounding spaces are trimmed.
/// Comparison in the database is case-insensitive (utf8mb4_unicode_ci), so the rate-limit key
/// is the upper-cased form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmployeeId(String);

impl EmployeeId {
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new(
                "employeeId",
                "職員番号を入力してください。",
                "Employee ID is required.",
            ));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ParseError::new(
                "employeeId",
                format!("職員番号は{}文字以内で入力してください。", Self::MAX_LEN),
                format!("Employee ID must be at most {} characters.", Self::MAX_LEN),
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ParseError::new(
                "employeeId",
                "職員番号に使えるのは半角英数字、「_」、「-」です。",
                "Employee ID may contain only ASCII letters, digits, '_' and '-'.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which failed attempts are counted.
    pub fn rate_limit_key(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl std::fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_typical_ids() {
        assert_eq!(
            EmployeeId::parse(" E0001 ").map(|e| e.0),
            Ok("E0001".into())
        );
        assert!(EmployeeId::parse("nurse_12-a").is_ok());
    }

    #[test]
    fn refuses_empty_long_and_odd_characters() {
        assert!(EmployeeId::parse("  ").is_err());
        assert!(EmployeeId::parse(&"A".repeat(33)).is_err());
        assert!(EmployeeId::parse("E 1").is_err());
        assert!(EmployeeId::parse("社員1").is_err());
        assert!(EmployeeId::parse("a'; drop").is_err());
    }
}
