//! Why a sign-in service refuses: `AuthError` (mapped to HTTP only in `crate::error`) and
//! `TokenProblem`, shared by auth, sessions, signin, tokens, policy and the portal.

use chrono::{DateTime, Utc};

use super::hashing::HashingError;
use super::passwords::Violation;
use crate::db::DbError;

/// Why a one-time or refresh token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
    Used,
    Revoked,
}

impl TokenProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenProblem::Unknown => "unknown",
            TokenProblem::Expired => "expired",
            TokenProblem::Used => "used",
            TokenProblem::Revoked => "revoked",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: i64 },
    #[error("account is not active")]
    Disabled,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this session may only change the password")]
    PasswordChangeRequired,
    #[error("permission denied")]
    Forbidden,
    /// The account acted on has a higher permission level than the actor.
    #[error("the account is above the actor's permission level")]
    AboveOwnLevel,
    #[error("employee not found")]
    NotFound,
    #[error("one-time token not accepted: {0:?}")]
    Token(TokenProblem),
    #[error("refresh token not accepted: {0:?}")]
    RefreshInvalid(TokenProblem),
    #[error("password policy")]
    Policy(Vec<Violation>),
    #[error("invalid input: {0}")]
    Invalid(crate::domain::ParseError),
    #[error("hashing pool saturated")]
    Busy,
    /// The password was right; the second step follows with this token (API-3).
    #[error("second factor required")]
    MfaRequired(crate::domain::PlainToken),
    /// An admin act needs a session opened with a second factor.
    #[error("this act needs a session opened with a second factor")]
    SecondFactorRequired,
    /// A wrong, replayed or spent second-step code: one answer for all three.
    #[error("second-step code not accepted")]
    InvalidCode,
    #[error("second step locked until {until}")]
    MfaLocked { until: DateTime<Utc> },
    #[error("second-step token not accepted: {0:?}")]
    MfaToken(TokenProblem),
    #[error("an authenticator app is already set up")]
    AlreadyEnrolled,
    #[error("no authenticator app enrolment to confirm or remove")]
    NotEnrolled,
    /// Changing second factors over the API needs a session opened minutes ago.
    #[error("a recent sign-in is required")]
    RecentSignInRequired,
    /// An admin's last second factor cannot be removed while admin 2FA is required.
    #[error("the last second factor of an admin cannot be removed")]
    LastFactor,
    #[error("no such second-factor reset")]
    ResetNotFound,
    #[error("the rollback window of this reset has closed")]
    RollbackClosed,
    #[error("this reset was rolled back already")]
    AlreadyRolledBack,
    /// The account set up a factor after the reset: replacing it needs a confirmation.
    #[error("the account has enrolled a second factor since the reset")]
    EnrolledSince,
    #[error("the reset's sealed payload cannot be opened with the configured keys")]
    ResetLogUnreadable,
    /// Nobody resets or rolls back their own second factor.
    #[error("an admin cannot do this to their own account")]
    OwnAccount,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

impl crate::db::TxError for AuthError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            AuthError::Db(db) => db.query_error(),
            _ => None,
        }
    }
}

impl From<HashingError> for AuthError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy => AuthError::Busy,
            other => AuthError::Internal(other.to_string()),
        }
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        AuthError::Internal(format!("jwt: {e}"))
    }
}
