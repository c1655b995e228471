//! A date range typed into a list page's filter (`from`, `to`, YYYY-MM-DD, JST days, both
//! inclusive) as UTC bounds, and CSV lines for the exports that share it.

use chrono::{NaiveDate, NaiveDateTime};

use crate::i18n::Lang;
use crate::services::clock::jst_midnight;

/// `[from, until)` in UTC; what was wrong with the dates, worded for the page.
#[derive(Debug, Default)]
pub struct Period {
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub problems: Vec<String>,
}

fn parse_date(raw: Option<&str>) -> Result<Option<NaiveDate>, ()> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>, lang: Lang) -> Period {
        let mut p = Period::default();
        let bad_date = lang
            .pick(
                "日付は YYYY-MM-DD の形で指定してください。",
                "Dates must be given as YYYY-MM-DD.",
            )
            .to_owned();
        match parse_date(from) {
            Ok(d) => p.from = d.and_then(jst_midnight),
            Err(()) => p.problems.push(bad_date.clone()),
        }
        match parse_date(to) {
            // The end date is inclusive: up to the next JST midnight.
            Ok(d) => p.until = d.and_then(|d| d.succ_opt()).and_then(jst_midnight),
            Err(()) => p.problems.push(bad_date),
        }
        if let (Some(f), Some(u)) = (p.from, p.until)
            && f >= u
        {
            p.problems.push(
                lang.pick(
                    "開始日が終了日より後になっています。",
                    "The start date is after the end date.",
                )
                .to_owned(),
            );
        }
        p
    }
}

fn csv_field(out: &mut String, value: &str) {
    // A leading = + - @ would make Excel evaluate the cell as a formula.
    let guarded = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    out.push('"');
    if guarded {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

/// One CSV line (CRLF, every field quoted, formulas defused).
pub fn csv_line(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut s = String::new();
        csv_line(&mut s, &["a\"b", "=SUM(A1)", "山田"]);
        assert_eq!(s, "\"a\"\"b\",\"'=SUM(A1)\",\"山田\"\r\n");
    }

    #[test]
    fn days_are_jst_and_the_end_is_inclusive() {
        let p = Period::parse(Some("2026-04-01"), Some("2026-04-01"), Lang::Ja);
        assert!(p.problems.is_empty());
        assert_eq!(
            p.from.map(|t| t.to_string()),
            Some("2026-03-31 15:00:00".into())
        );
        assert_eq!(
            p.until.map(|t| t.to_string()),
            Some("2026-04-01 15:00:00".into())
        );
        assert_eq!(Period::parse(Some("4/1"), None, Lang::Ja).problems.len(), 1);
        assert_eq!(
            Period::parse(Some("2026-04-02"), Some("2026-04-01"), Lang::Ja)
                .problems
                .len(),
            1
        );
    }
}
