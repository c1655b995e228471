//! The employee CSV as rows: decoding (UTF-8 with or without BOM, or Shift_JIS as saved by
//! Excel in Japan), the header, and every row validated with its line number. No database.

use std::collections::HashMap;

use crate::domain::{EmployeeId, EmployeeStatus, ParseError, PermissionLevel, kana};
use crate::services::lifecycle;

/// An optional column: `active|suspended|retired`, or 在職 / 休職・停止中 / 退職.
pub const STATUS_COLUMN: &str = "status";

pub const COLUMNS: [&str; 6] = [
    "employee_id",
    "name",
    "name_kana",
    "department",
    "email",
    "permission_level",
];
const MAX_ROWS: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    ShiftJis,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::ShiftJis => "Shift_JIS",
        }
    }
}

/// One refused row (line 0 = the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmployeeRow {
    pub line: u64,
    pub employee_id: String,
    pub name: String,
    pub name_kana: String,
    pub department: String,
    pub email: Option<String>,
    pub permission_level: f64,
    /// From the optional `status` column; None keeps an existing employee's status (a new one
    /// is active).
    pub status: Option<EmployeeStatus>,
}

#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub encoding: Encoding,
    pub rows: Vec<EmployeeRow>,
    pub errors: Vec<RowError>,
}

/// A problem with a whole line (0: with the whole file) rather than one of its cells.
fn line_error(line: u64, ja: impl Into<String>, en: impl Into<String>) -> RowError {
    RowError {
        line,
        column: "",
        message_ja: ja.into(),
        message_en: en.into(),
    }
}

fn file_error(ja: &str, en: &str) -> RowError {
    line_error(0, ja, en)
}

/// A workbook saved as-is instead of as CSV: `.xlsx` is a ZIP archive, `.xls` an OLE
/// compound file. Said plainly, since their bytes would otherwise read as a wrong encoding.
fn is_excel(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0")
}

pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), RowError> {
    if is_excel(bytes) {
        return Err(file_error(
            "Excel ファイルです。CSV（UTF-8 または Shift_JIS）で保存してください。",
            "This is an Excel file. Save it as CSV (UTF-8 or Shift_JIS).",
        ));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_owned(), Encoding::Utf8Bom))
            .map_err(|_| {
                file_error(
                    "UTF-8として読めない文字が含まれています。",
                    "The file has a UTF-8 BOM but is not valid UTF-8.",
                )
            });
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_owned(), Encoding::Utf8));
    }
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors {
        return Err(file_error(
            "文字コードを判別できません。UTF-8またはShift_JISで保存してください。",
            "Unknown text encoding: save the file as UTF-8 or Shift_JIS.",
        ));
    }
    Ok((text.into_owned(), Encoding::ShiftJis))
}

fn text_field(
    value: &str,
    column: &'static str,
    required: bool,
    max: usize,
    label_ja: &str,
) -> Result<String, (&'static str, String, String)> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err((
            column,
            format!("{label_ja}が空です。"),
            format!("{column} is empty."),
        ));
    }
    if v.chars().count() > max {
        return Err((
            column,
            format!("{label_ja}は{max}文字以内にしてください。"),
            format!("{column} must be at most {max} characters."),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err((
            column,
            format!("{label_ja}に制御文字が含まれています。"),
            format!("{column} contains control characters."),
        ));
    }
    Ok(v.to_owned())
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

/// Decodes and validates the whole file, collecting every problem with its line number.
pub fn parse(bytes: &[u8]) -> ParsedFile {
    let (text, encoding) = match decode(bytes) {
        Ok(x) => x,
        Err(err) => {
            return ParsedFile {
                encoding: Encoding::Utf8,
                rows: vec![],
                errors: vec![err],
            };
        }
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes());

    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(_) => vec![],
    };
    let mut index = HashMap::new();
    for col in COLUMNS {
        match headers.iter().position(|h| h == col) {
            Some(i) => {
                index.insert(col, i);
            }
            None => errors.push(RowError {
                line: 1,
                column: col,
                message_ja: format!(
                    "見出し行に列「{col}」がありません（必要な列: {}）。",
                    COLUMNS.join(",")
                ),
                message_en: format!(
                    "The header row lacks the column {col:?} (expected: {}).",
                    COLUMNS.join(",")
                ),
            }),
        }
    }
    if !errors.is_empty() {
        return ParsedFile {
            encoding,
            rows,
            errors,
        };
    }

    let status_at = headers.iter().position(|h| h == STATUS_COLUMN);
    // Every column the import reads must be present in a row; extra columns may be missing.
    let needed = index.values().max().map_or(0, |i| i + 1);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = LineCounter::new(&text);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                let line = err.position().map(|p| p.line()).unwrap_or(0);
                errors.push(line_error(
                    line,
                    "CSVとして読めない行です（引用符の閉じ忘れなど）。",
                    format!("Unreadable CSV: {err}"),
                ));
                break;
            }
        };
        let line = record
            .position()
            .map(|p| lines.line_at(p.byte()))
            .unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(line_error(
                line,
                format!("一度に取り込めるのは{MAX_ROWS}行までです。"),
                format!("At most {MAX_ROWS} rows per import."),
            ));
            break;
        }
        if record.len() < needed {
            // The reader is flexible so that every short row is listed, not only the first;
            // a missing cell must not become an empty value.
            let (want, got) = (needed, record.len());
            errors.push(line_error(
                line,
                format!("列が足りません（{want}列のところ{got}列です）。"),
                format!("Too few columns ({got} of {want})."),
            ));
            continue;
        }
        let get = |col: &str| index.get(col).and_then(|&i| record.get(i)).unwrap_or("");
        // Optional: a file without the column, or a row with it empty, changes no status.
        let status_raw = status_at.and_then(|i| record.get(i)).unwrap_or("").trim();
        let mut row_errors: Vec<(&'static str, String, String)> = Vec::new();

        let employee_id = match EmployeeId::parse(get("employee_id")) {
            Ok(id) => Some(id.as_str().to_owned()),
            Err(ParseError {
                message_ja,
                message_en,
                ..
            }) => {
                row_errors.push(("employee_id", message_ja, message_en));
                None
            }
        };
        if let Some(id) = &employee_id {
            let key = id.to_ascii_uppercase();
            if let Some(first) = seen.get(&key) {
                row_errors.push((
                    "employee_id",
                    format!("職員番号「{id}」は{first}行目と重複しています。"),
                    format!("Employee ID {id:?} duplicates line {first}."),
                ));
            } else {
                seen.insert(key, line);
            }
        }
        let mut field = |r: Result<String, (&'static str, String, String)>| match r {
            Ok(v) => v,
            Err(e) => {
                row_errors.push(e);
                String::new()
            }
        };
        let name = field(text_field(get("name"), "name", true, 100, "氏名"));
        let name_kana = kana::to_full_width_katakana(&field(text_field(
            get("name_kana"),
            "name_kana",
            false,
            100,
            "氏名（カナ）",
        )));
        let department = field(text_field(
            get("department"),
            "department",
            false,
            100,
            "部署",
        ));
        let email_raw = get("email").trim();
        let email = if email_raw.is_empty() {
            None
        } else if valid_email(email_raw) {
            Some(email_raw.to_owned())
        } else {
            row_errors.push((
                "email",
                format!("メールアドレス「{email_raw}」の形式が正しくありません。"),
                format!("{email_raw:?} is not an e-mail address."),
            ));
            None
        };
        let permission_level = match PermissionLevel::parse(get("permission_level")) {
            Ok(p) => p.value(),
            Err(ParseError {
                message_ja,
                message_en,
                ..
            }) => {
                row_errors.push(("permission_level", message_ja, message_en));
                0.0
            }
        };
        let status = if status_raw.is_empty() {
            None
        } else {
            match lifecycle::parse_status(status_raw) {
                Ok(s) => Some(s),
                Err(ParseError {
                    message_ja,
                    message_en,
                    ..
                }) => {
                    row_errors.push(("status", message_ja, message_en));
                    None
                }
            }
        };
        if row_errors.is_empty() {
            if let Some(employee_id) = employee_id {
                rows.push(EmployeeRow {
                    line,
                    employee_id,
                    name,
                    name_kana,
                    department,
                    email,
                    permission_level,
                    status,
                });
            }
        } else {
            errors.extend(
                row_errors
                    .into_iter()
                    .map(|(column, message_ja, message_en)| RowError {
                        line,
                        column,
                        message_ja,
                        message_en,
                    }),
            );
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(file_error(
            "取り込むデータ行がありません。",
            "The file has no data rows.",
        ));
    }
    ParsedFile {
        encoding,
        rows,
        errors,
    }
}

/// Line numbers for records, counted incrementally: the reader may report a record's start
/// just before the line ending of the previous one (CRLF files), so line endings at the
/// start position are skipped.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// 1-based line of the record starting at `byte`; positions only move forward.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut target = usize::try_from(byte)
            .unwrap_or(self.bytes.len())
            .min(self.bytes.len());
        while target < self.bytes.len()
            && (self.bytes[target] == b'\r' || self.bytes[target] == b'\n')
        {
            target += 1;
        }
        if target > self.at {
            self.line += self.bytes[self.at..target]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.at = target;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "employee_id,name,name_kana,department,email,permission_level\n";

    #[test]
    fn utf8_with_and_without_bom_and_shift_jis_read_the_same() {
        let body = format!("{HEADER}N001,髙橋 花子,タカハシ ハナコ,看護部,hanako@example.jp,1.0\n");
        let plain = parse(body.as_bytes());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(body.as_bytes());
        let bom = parse(&bom);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&body);
        let sjis = parse(&sjis);
        assert_eq!(plain.encoding, Encoding::Utf8);
        assert_eq!(bom.encoding, Encoding::Utf8Bom);
        assert_eq!(sjis.encoding, Encoding::ShiftJis);
        for p in [&plain, &bom, &sjis] {
            assert!(p.errors.is_empty(), "{:?}", p.errors);
            assert_eq!(p.rows[0].name, "髙橋 花子");
            assert_eq!(p.rows[0].department, "看護部");
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let body = format!(
            "{HEADER}N001,山田 太郎,ヤマダ タロウ,外科,,1.0\n\
             ,名無し,,,,1.0\n\
             N003,,,,,1.0\n\
             N004,佐藤,,,not-an-email,1.0\n\
             N005,鈴木,,,,9.99\n\
             n001,重複,,,,1.0\n"
        );
        let p = parse(body.as_bytes());
        let lines: Vec<(u64, &str)> = p.errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(
            lines,
            vec![
                (3, "employee_id"),
                (4, "name"),
                (5, "email"),
                (6, "permission_level"),
                (7, "employee_id")
            ]
        );
        assert_eq!(p.rows.len(), 1);
    }

    #[test]
    fn line_numbers_hold_for_crlf_and_quoted_newlines_in_large_files() {
        let mut body = HEADER.replace('\n', "\r\n");
        for i in 0..10_000 {
            body.push_str(&format!("N{i:05},職員 {i},,,,1.0\r\n"));
        }
        body.push_str("X1,\"氏名\r\n二行目\",,,,1.0\r\n");
        body.push_str("BAD ID,x,,,,1.0\r\n");
        let p = parse(body.as_bytes());
        assert_eq!(p.rows.len(), 10_000);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![10_002, 10_004]);
    }

    #[test]
    fn a_short_row_is_an_error_with_its_line_not_empty_values() {
        let body = format!(
            "{HEADER}N001,山田 太郎,ヤマダ タロウ,外科,,1.0\n\
             N002,佐藤 花子,サトウ ハナコ\n\
             N003,鈴木 一郎,スズキ イチロウ,内科,,1.0\n\
             N004\n"
        );
        let p = parse(body.as_bytes());
        let lines: Vec<(u64, &str)> = p
            .errors
            .iter()
            .map(|e| (e.line, e.message_ja.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (3, "列が足りません（6列のところ3列です）。"),
                (5, "列が足りません（6列のところ1列です）。")
            ]
        );
        assert_eq!(p.rows.len(), 2);
    }

    #[test]
    fn columns_the_import_does_not_read_may_be_missing() {
        let body = "employee_id,name,name_kana,department,email,permission_level,memo\n\
                    N001,山田 太郎,,外科,,1.0\n";
        let p = parse(body.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    #[test]
    fn excel_workbooks_are_named_as_such() {
        for bytes in [
            b"PK\x03\x04\x14\x00\x06\x00".as_slice(),
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".as_slice(),
        ] {
            let p = parse(bytes);
            assert_eq!(p.errors.len(), 1);
            assert_eq!(
                p.errors[0].message_ja,
                "Excel ファイルです。CSV（UTF-8 または Shift_JIS）で保存してください。"
            );
        }
    }

    #[test]
    fn kana_is_kept_as_full_width_katakana() {
        let body =
            format!("{HEADER}N001,看護 花子,かんご はなこ,,,1.0\nN002,看護 一郎,ｶﾝｺﾞ ｲﾁﾛｳ,,,1.0\n");
        let p = parse(body.as_bytes());
        let kana: Vec<&str> = p.rows.iter().map(|r| r.name_kana.as_str()).collect();
        assert_eq!(kana, ["カンゴ ハナコ", "カンゴ イチロウ"]);
    }

    #[test]
    fn missing_columns_are_named() {
        let p = parse("employee_id,name\nN1,a\n".as_bytes());
        assert!(
            p.errors
                .iter()
                .any(|e| e.column == "department" && e.line == 1)
        );
    }

    #[test]
    fn undecodable_bytes_are_refused() {
        let p = parse(&[0x82, 0xFF, 0xFE, 0x00]);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].line, 0);
    }
}
