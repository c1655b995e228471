//! RFC 6238 authenticator codes: HMAC-SHA1, 6 digits, 30-second steps, one step of drift
//! either way. A code is matched to the step it belongs to, so the caller can refuse a step at
//! or before the last one accepted (replay).

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one (clock drift, a code typed at the boundary).
pub const DRIFT_STEPS: i64 = 1;
/// 160 bits, the HMAC-SHA1 block the RFC recommends.
pub const SECRET_BYTES: usize = 20;

/// An authenticator secret in memory. Debug is redacted; it leaves only sealed, or as the
/// base32 text and QR shown once at enrolment.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::fill(bytes.as_mut_slice());
        TotpSecret(bytes)
    }

    /// From its base32 text (the stored, sealed form is the same text).
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let bytes = Secret::Encoded(text.to_owned()).to_bytes().ok()?;
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    /// Base32 without padding, as authenticator apps take it typed in.
    pub fn base32(&self) -> String {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(s) => s.trim_end_matches('=').to_owned(),
            Secret::Raw(_) => String::new(),
        }
    }

    /// The same text in groups of four, easier to type from the screen.
    pub fn base32_grouped(&self) -> String {
        self.base32()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn totp(&self) -> Option<TOTP> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECONDS as u64,
            self.0.clone(),
        )
        .ok()
    }

    /// The code for time step `step`.
    pub fn code_at_step(&self, step: i64) -> Option<String> {
        let t = u64::try_from(step.checked_mul(STEP_SECONDS)?).ok()?;
        Some(self.totp()?.generate(t))
    }

    /// The step within the drift window whose code is `code`, compared in constant time.
    pub fn matching_step(&self, code: &str, unix_seconds: i64) -> Option<i64> {
        let now = step_of(unix_seconds);
        let mut found = None;
        for step in now - DRIFT_STEPS..=now + DRIFT_STEPS {
            if let Some(expected) = self.code_at_step(step)
                && bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
            {
                found = Some(step);
            }
        }
        found
    }

    /// `otpauth://totp/Issuer:ACCOUNT?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30`
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer),
        )
    }
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (the last 6 of its 8 digits).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let s = TotpSecret(b"12345678901234567890".to_vec());
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(s.code_at_step(step_of(t)).as_deref(), Some(code), "t={t}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_two_are_not() {
        let s = TotpSecret::generate();
        let now = 1_790_000_015;
        let step = step_of(now);
        for d in [-1, 0, 1] {
            let code = s.code_at_step(step + d).unwrap();
            assert_eq!(s.matching_step(&code, now), Some(step + d));
        }
        for d in [-2, 2] {
            let code = s.code_at_step(step + d).unwrap();
            // Another step's code may collide by chance (1 in 10^6); not with these.
            if (-1..=1).all(|x| s.code_at_step(step + x).unwrap() != code) {
                assert_eq!(s.matching_step(&code, now), None);
            }
        }
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_round_trips_the_secret() {
        let s = TotpSecret::generate();
        let uri = s.otpauth_uri("さくら病院", "HR0001");
        assert!(uri.starts_with("otpauth://totp/%E3%81%95"));
        assert!(uri.contains(":HR0001?secret="));
        assert!(uri.contains("&algorithm=SHA1&digits=6&period=30"));
        assert_eq!(s.base32().len(), 32);
        let back = TotpSecret::from_base32(&s.base32()).unwrap();
        assert_eq!(back.code_at_step(5), s.code_at_step(5));
        assert!(!format!("{s:?}").contains(&s.base32()));
    }
}
