//! Closed sets stored as strings.

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmployeeStatus {
    Active,
    Suspended,
    Retired,
}

impl EmployeeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Retired => "retired",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            _ => Self::Retired,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Onboarding,
    PasswordReset,
}

impl TokenPurpose {
    pub fn parse(raw: Option<&str>) -> Result<Self, ParseError> {
        match raw.map(str::trim) {
            None | Some("") | Some("onboarding") => Ok(Self::Onboarding),
            Some("password_reset") => Ok(Self::PasswordReset),
            Some(_) => Err(ParseError::new(
                "purpose",
                "purposeは「onboarding」または「password_reset」を指定してください。",
                "purpose must be \"onboarding\" or \"password_reset\".",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Onboarding => "onboarding",
            Self::PasswordReset => "password_reset",
        }
    }
}
