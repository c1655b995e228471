//! How a session was authenticated, as RFC 8176 `amr` values: `pwd` (password), `otp` (an
//! authenticator code or a recovery code), `hwk` (a passkey, proof of a hardware-bound key).

/// The set of methods a session was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amr {
    pwd: bool,
    otp: bool,
    hwk: bool,
}

impl Amr {
    pub const PASSWORD: Amr = Amr {
        pwd: true,
        otp: false,
        hwk: false,
    };

    pub fn with_otp(self) -> Amr {
        Amr { otp: true, ..self }
    }

    pub fn with_hwk(self) -> Amr {
        Amr { hwk: true, ..self }
    }

    /// A second factor was proven (an authenticator code, a recovery code or a passkey).
    pub fn has_second_factor(self) -> bool {
        self.otp || self.hwk
    }

    pub fn names(self) -> Vec<&'static str> {
        [(self.pwd, "pwd"), (self.otp, "otp"), (self.hwk, "hwk")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }

    /// The stored form: names joined by commas.
    pub fn as_stored(self) -> String {
        self.names().join(",")
    }

    /// Reads the stored form or a token's list; unknown names are ignored.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Amr {
        let mut amr = Amr::default();
        for n in names {
            match n.trim() {
                "pwd" => amr.pwd = true,
                "otp" => amr.otp = true,
                "hwk" => amr.hwk = true,
                _ => {}
            }
        }
        amr
    }

    pub fn parse_stored(stored: &str) -> Amr {
        Amr::from_names(stored.split(','))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_round_trip_through_their_stored_form() {
        let amr = Amr::PASSWORD.with_otp();
        assert_eq!(amr.as_stored(), "pwd,otp");
        assert_eq!(Amr::parse_stored("pwd,otp"), amr);
        assert!(amr.has_second_factor());
        assert!(!Amr::PASSWORD.has_second_factor());
        assert_eq!(Amr::parse_stored("pwd,xyz").names(), vec!["pwd"]);
        assert_eq!(Amr::PASSWORD.with_hwk().names(), vec!["pwd", "hwk"]);
    }
}
