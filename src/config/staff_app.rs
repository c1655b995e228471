//! The app staff sign in to every day (for example VoiceDrive): named on the account sheet, on
//! the page that ends a first sign-in and on the portal's sign-in page, so nobody has to ask
//! where to go next.

use super::reader::Reader;

/// The most characters of the app's name that fit on the sheet's line.
pub const MAX_APP_NAME_CHARS: usize = 40;

#[derive(Debug, Clone, Default)]
pub struct StaffApp {
    /// `STAFFGATE_APP_NAME`; the URL stands in when only that is set.
    pub name: Option<String>,
    /// `STAFFGATE_APP_URL`: where staff open the app.
    pub url: Option<String>,
}

impl StaffApp {
    pub(super) fn read(r: &mut Reader) -> Self {
        let name = r.get("STAFFGATE_APP_NAME").map(|n| n.trim().to_owned());
        let url = r
            .get("STAFFGATE_APP_URL")
            .map(|u| u.trim().trim_end_matches('/').to_owned());
        if let Some(n) = &name {
            let chars = n.chars().count();
            if chars == 0 || chars > MAX_APP_NAME_CHARS {
                r.problem(format!(
                    "STAFFGATE_APP_NAME must be 1 to {MAX_APP_NAME_CHARS} characters (it is printed on the account sheet)"
                ));
            }
        }
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            r.problem(format!(
                "STAFFGATE_APP_URL={u:?} must start with https:// (or http://)"
            ));
        }
        let name = name.filter(|n| !n.is_empty()).or_else(|| url.clone());
        Self { name, url }
    }

    /// What to call the app in a sentence, if it is configured at all.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
