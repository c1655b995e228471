//! Account-sheet settings: the Japanese font and the organisation printed at the top.

use std::path::PathBuf;

use super::reader::Reader;

pub const DEFAULT_SHEET_FONT: &str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf";
/// The most characters of the organisation's name that fit on the sheet.
pub const MAX_ORGANISATION_CHARS: usize = 60;

#[derive(Debug, Clone)]
pub struct Sheets {
    pub font: PathBuf,
    /// Printed at the top of every account sheet.
    pub organisation: String,
}

impl Sheets {
    pub(super) fn read(r: &mut Reader) -> Self {
        let font = PathBuf::from(
            r.get("STAFFGATE_SHEET_FONT")
                .unwrap_or_else(|| DEFAULT_SHEET_FONT.into()),
        );
        let organisation = r
            .get("STAFFGATE_ORGANIZATION")
            .unwrap_or_else(|| "staffgate".into());
        let chars = organisation.chars().count();
        if chars > MAX_ORGANISATION_CHARS {
            r.problem(format!(
                "STAFFGATE_ORGANIZATION is {chars} characters long; at most {MAX_ORGANISATION_CHARS} fit on the account sheet"
            ));
        }
        Self { font, organisation }
    }
}
