//! The policy for new passwords and the generator for initial ones.

use std::collections::HashSet;
use std::sync::LazyLock;

use rand::RngExt;

use crate::domain::{EmployeeId, Password};

static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
});

/// One reason a new password was refused; the API lists all of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    TooShort { min: usize },
    TooLongBytes,
    ControlCharacters,
    ContainsEmployeeId,
    CommonPassword,
    SameAsCurrent,
}

impl Violation {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLongBytes => "too_long_bytes",
            Self::ControlCharacters => "control_characters",
            Self::ContainsEmployeeId => "contains_employee_id",
            Self::CommonPassword => "common_password",
            Self::SameAsCurrent => "same_as_current",
        }
    }

    pub fn message_ja(self) -> String {
        match self {
            Self::TooShort { min } => format!("パスワードは{min}文字以上にしてください。"),
            Self::TooLongBytes => format!(
                "パスワードが長すぎます（{}バイトまで。全角文字は1文字3バイトとして数えます）。切り詰めずにお断りしています。",
                Password::MAX_BYTES
            ),
            Self::ControlCharacters => "パスワードに改行などの制御文字は使えません。".into(),
            Self::ContainsEmployeeId => "パスワードに職員番号を含めないでください。".into(),
            Self::CommonPassword => {
                "よく使われていて推測されやすいパスワードです。別のものにしてください。".into()
            }
            Self::SameAsCurrent => "現在のパスワードと同じものは使えません。".into(),
        }
    }

    pub fn message_en(self) -> String {
        match self {
            Self::TooShort { min } => format!("The password must be at least {min} characters."),
            Self::TooLongBytes => format!(
                "The password is longer than {} bytes in UTF-8; it is refused, never truncated.",
                Password::MAX_BYTES
            ),
            Self::ControlCharacters => "The password must not contain control characters.".into(),
            Self::ContainsEmployeeId => "The password must not contain your employee ID.".into(),
            Self::CommonPassword => "This password is too common and easy to guess.".into(),
            Self::SameAsCurrent => "The new password must differ from the current one.".into(),
        }
    }
}

/// Checks everything that does not need the current hash; `SameAsCurrent` is added by the
/// caller after a bcrypt comparison.
pub fn check_new_password(
    password: &Password,
    employee_id: &EmployeeId,
    min_chars: usize,
) -> Vec<Violation> {
    let p = password.expose();
    let mut v = Vec::new();
    if p.chars().count() < min_chars {
        v.push(Violation::TooShort { min: min_chars });
    }
    if p.len() > Password::MAX_BYTES {
        v.push(Violation::TooLongBytes);
    }
    if p.chars().any(char::is_control) {
        v.push(Violation::ControlCharacters);
    }
    if p.to_lowercase()
        .contains(&employee_id.as_str().to_lowercase())
    {
        v.push(Violation::ContainsEmployeeId);
    }
    let lowered = p.to_lowercase();
    // "password123!" is as guessable as "password": also test the word without a digit suffix.
    let base = lowered.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!');
    if COMMON.contains(&lowered) || (base.chars().count() >= 6 && COMMON.contains(base)) {
        v.push(Violation::CommonPassword);
    }
    v
}

/// 12 characters from an alphabet without look-alikes (no 0/O, 1/l/I), for printed sheets.
pub fn generate_initial_password() -> Password {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let out: String = (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    Password::parse(out, "password")
        .unwrap_or_else(|_| unreachable!("12 characters is never empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s.to_owned(), "newPassword").unwrap_or_else(|_| unreachable!())
    }

    fn id() -> EmployeeId {
        EmployeeId::parse("N12345").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn good_password_passes() {
        assert!(check_new_password(&pw("春の桜2026-kango"), &id(), 8).is_empty());
    }

    #[test]
    fn each_rule_is_reported() {
        assert_eq!(
            check_new_password(&pw("short"), &id(), 8),
            vec![Violation::TooShort { min: 8 }]
        );
        assert!(
            check_new_password(&pw(&"あ".repeat(25)), &id(), 8).contains(&Violation::TooLongBytes)
        );
        assert!(
            check_new_password(&pw("xx-n12345-yy"), &id(), 8)
                .contains(&Violation::ContainsEmployeeId)
        );
        assert!(
            check_new_password(&pw("Password123"), &id(), 8).contains(&Violation::CommonPassword)
        );
        assert!(
            check_new_password(&pw("abc\ndefghij"), &id(), 8)
                .contains(&Violation::ControlCharacters)
        );
    }

    #[test]
    fn seventy_two_bytes_is_the_edge() {
        assert!(
            !check_new_password(&pw(&"a1".repeat(36)), &id(), 8).contains(&Violation::TooLongBytes)
        );
        assert!(
            check_new_password(&pw(&"a1".repeat(36).replacen('a', "ab", 1)), &id(), 8)
                .contains(&Violation::TooLongBytes)
        );
    }

    #[test]
    fn initial_passwords_are_12_unambiguous_characters() {
        let p = generate_initial_password().expose().to_owned();
        assert_eq!(p.len(), 12);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
    }
}
