//! Validity of a one-time token, in hours.

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityHours(u32);

impl ValidityHours {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 168;
    pub const DEFAULT: ValidityHours = ValidityHours(24);

    pub fn parse(raw: Option<i64>) -> Result<Self, ParseError> {
        match raw {
            None => Ok(Self::DEFAULT),
            Some(h) if (Self::MIN..=Self::MAX).contains(&h) => Ok(Self(h as u32)),
            Some(_) => Err(ParseError::new(
                "validityHours",
                format!(
                    "有効期間は{}〜{}時間の範囲で指定してください。",
                    Self::MIN,
                    Self::MAX
                ),
                format!(
                    "validityHours must be between {} and {} hours.",
                    Self::MIN,
                    Self::MAX
                ),
            )),
        }
    }

    pub fn hours(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_default_is_24() {
        assert_eq!(ValidityHours::parse(None), Ok(ValidityHours(24)));
        assert_eq!(ValidityHours::parse(Some(1)), Ok(ValidityHours(1)));
        assert_eq!(ValidityHours::parse(Some(168)), Ok(ValidityHours(168)));
        assert!(ValidityHours::parse(Some(0)).is_err());
        assert!(ValidityHours::parse(Some(169)).is_err());
        assert!(ValidityHours::parse(Some(-5)).is_err());
    }

    #[test]
    fn error_names_the_allowed_range() {
        let e = ValidityHours::parse(Some(200)).err().map(|e| e.message_en);
        assert_eq!(
            e.as_deref(),
            Some("validityHours must be between 1 and 168 hours.")
        );
    }
}
