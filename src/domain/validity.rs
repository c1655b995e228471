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

    /// From a JSON number: whole numbers only (`24` and `24.0` alike, as JSON Schema's
    /// "integer" allows), then the range check.
    pub fn parse_number(raw: Option<&serde_json::Number>) -> Result<Self, ParseError> {
        let Some(n) = raw else {
            return Self::parse(None);
        };
        let whole = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= 1e9)
                .map(|f| f as i64)
        });
        Self::parse(Some(whole.unwrap_or(i64::MIN)))
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
    fn json_numbers_must_be_whole() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).ok();
        assert_eq!(
            ValidityHours::parse_number(n("63.0").as_ref()),
            Ok(ValidityHours(63))
        );
        assert!(ValidityHours::parse_number(n("2.5").as_ref()).is_err());
        assert!(ValidityHours::parse_number(n("1e300").as_ref()).is_err());
        assert_eq!(ValidityHours::parse_number(None), Ok(ValidityHours(24)));
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
