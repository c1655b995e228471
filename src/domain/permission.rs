//! Permission level, DECIMAL(4,1) in the database: 1.0 staff ... 9.0 and above HR admin.

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct PermissionLevel(f64);

impl PermissionLevel {
    pub const ADMIN: PermissionLevel = PermissionLevel(9.0);
    pub const STAFF: PermissionLevel = PermissionLevel(1.0);

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = || {
            ParseError::new(
                "permission_level",
                "権限レベルは0.0〜99.9の数値（小数点以下1桁まで）で指定してください。",
                "Permission level must be a number from 0.0 to 99.9 with at most one decimal.",
            )
        };
        let s = raw.trim();
        if s.is_empty() {
            return Ok(Self::STAFF);
        }
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || int.len() > 2
            || frac.len() > 1
            || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        {
            return Err(err());
        }
        s.parse::<f64>().map(Self).map_err(|_| err())
    }

    pub fn from_db(value: f64) -> Self {
        Self(value)
    }

    pub fn value(self) -> f64 {
        self.0
    }

    pub fn is_at_least(self, other: PermissionLevel) -> bool {
        self.0 >= other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_decimal_and_defaults_to_staff() {
        assert_eq!(PermissionLevel::parse("9.0"), Ok(PermissionLevel(9.0)));
        assert_eq!(PermissionLevel::parse("10"), Ok(PermissionLevel(10.0)));
        assert_eq!(PermissionLevel::parse(""), Ok(PermissionLevel::STAFF));
        assert!(PermissionLevel::parse("9.05").is_err());
        assert!(PermissionLevel::parse("-1").is_err());
        assert!(PermissionLevel::parse("100").is_err());
        assert!(PermissionLevel::parse("abc").is_err());
    }

    #[test]
    fn admin_threshold_is_inclusive() {
        assert!(PermissionLevel(9.0).is_at_least(PermissionLevel::ADMIN));
        assert!(!PermissionLevel(8.9).is_at_least(PermissionLevel::ADMIN));
    }
}
