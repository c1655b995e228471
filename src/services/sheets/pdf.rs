//! The account sheet (アカウント情報シート) as an A4 PDF page: the Japanese font is embedded as
//! a subset, the QR code is drawn as vector rectangles (sharp at any printer resolution).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use printpdf::{
    Color, CurTransMat, FontId, Greyscale, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
};

use crate::config::staff_app::StaffApp;
use crate::services::clock::format_jst;
use crate::services::qr::{self, QrError};

/// One PDF holds at most this many sheets (about 12 MB; larger runs are split by department).
pub const MAX_BATCH: usize = 2000;

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
/// Side of the QR symbol itself, without its quiet zone (the issue floor is 30 mm; a larger
/// module prints more reliably on office printers and scans with cheap phone cameras).
const QR_SYMBOL_MM: f32 = 42.0;

/// Text every sheet carries; a font without these glyphs cannot print a sheet.
const REQUIRED_GLYPHS: &str = "アカウント情報シート氏名職員番号取扱注意初期パスワード有効期限";

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error(
        "STAFFGATE_SHEET_FONT {path}: cannot read ({reason}); install fonts-ipaexfont-gothic or point to a TTF/OTF with Japanese glyphs"
    )]
    Read { path: PathBuf, reason: String },
    #[error("STAFFGATE_SHEET_FONT {path}: not a TrueType/OpenType font")]
    Parse { path: PathBuf },
    #[error("STAFFGATE_SHEET_FONT {path}: no Japanese glyphs (missing {missing})")]
    NoJapanese { path: PathBuf, missing: char },
}

impl FontError {
    pub fn message_ja(&self) -> String {
        match self {
            FontError::Read { path, .. } => format!(
                "アカウントシート用のフォント {} を読み込めません。fonts-ipaexfont-gothic をインストールするか、STAFFGATE_SHEET_FONT に日本語フォントを指定してください。",
                path.display()
            ),
            FontError::Parse { path } => format!(
                "アカウントシート用のフォント {} は TrueType/OpenType フォントではありません。",
                path.display()
            ),
            FontError::NoJapanese { path, missing } => format!(
                "アカウントシート用のフォント {} には日本語の文字（{missing}）がありません。",
                path.display()
            ),
        }
    }
}

/// The parsed sheet font and what layout needs to measure text.
pub struct SheetFont {
    parsed: ParsedFont,
    units_per_em: f32,
}

impl SheetFont {
    pub fn load(path: &Path) -> Result<Self, FontError> {
        let bytes = std::fs::read(path).map_err(|e| FontError::Read {
            path: path.to_owned(),
            reason: e.kind().to_string(),
        })?;
        Self::from_bytes(&bytes, path)
    }

    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FontError> {
        let mut warnings = Vec::new();
        let parsed =
            ParsedFont::from_bytes(bytes, 0, &mut warnings).ok_or_else(|| FontError::Parse {
                path: path.to_owned(),
            })?;
        if let Some(missing) = REQUIRED_GLYPHS
            .chars()
            .find(|c| parsed.lookup_glyph_index(u32::from(*c)).is_none())
        {
            return Err(FontError::NoJapanese {
                path: path.to_owned(),
                missing,
            });
        }
        let units_per_em = f32::from(parsed.font_metrics.units_per_em.max(1));
        Ok(Self {
            parsed,
            units_per_em,
        })
    }

    /// Width of `text` set at `size` points, in millimetres.
    fn width_mm(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| {
                self.parsed
                    .lookup_glyph_index(u32::from(c))
                    .map(|g| u32::from(self.parsed.get_horizontal_advance(g)))
                    .unwrap_or(0)
            })
            .sum();
        pt_to_mm(units as f32 / self.units_per_em * size)
    }

    /// The largest size up to `size` at which `text` fits in `max_mm`.
    fn fit(&self, text: &str, size: f32, max_mm: f32) -> f32 {
        let w = self.width_mm(text, size);
        if w <= max_mm {
            size
        } else {
            (size * max_mm / w).max(6.0)
        }
    }
}

/// Everything printed on one sheet.
pub struct Sheet {
    pub serial: String,
    pub employee_id: String,
    pub name: String,
    pub name_kana: String,
    pub department: String,
    pub login_url: String,
    pub expires_at: DateTime<Utc>,
    /// Only for employees who have never set a password of their own.
    pub initial_password: Option<String>,
    pub printed_at: DateTime<Utc>,
    /// 0 for the first sheet of this employee, then 1, 2, ...
    pub reprint: i32,
}

/// The secrets on a sheet never reach a log.
impl std::fmt::Debug for Sheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sheet")
            .field("serial", &self.serial)
            .field("employee_id", &self.employee_id)
            .finish_non_exhaustive()
    }
}

/// One PDF, one page per sheet.
pub fn render(
    font: &SheetFont,
    organisation: &str,
    app: &StaffApp,
    sheets: &[Sheet],
    created: DateTime<Utc>,
) -> Result<Vec<u8>, QrError> {
    let mut doc = PdfDocument::new("アカウント情報シート");
    let font_id = doc.add_font(&font.parsed);
    let info = &mut doc.metadata.info;
    info.creator = "staffgate".into();
    info.producer = format!("staffgate {}", env!("CARGO_PKG_VERSION"));
    info.author = organisation.to_owned();
    info.subject = "アカウント情報シート（取扱注意）".into();
    if let Ok(date) = printpdf::OffsetDateTime::from_unix_timestamp(created.timestamp()) {
        info.creation_date = date;
        info.modification_date = date;
        info.metadata_date = date;
    }
    let total = sheets.len();
    let mut pages = Vec::with_capacity(total);
    for (i, sheet) in sheets.iter().enumerate() {
        let mut page = Page::new(font, font_id.clone());
        page.sheet(organisation, app, sheet, i + 1, total)?;
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), page.ops));
    }
    doc.with_pages(pages);
    Ok(doc.save(&PdfSaveOptions::default(), &mut Vec::new()))
}

fn mm(v: f32) -> Pt {
    Pt(v * 72.0 / 25.4)
}

fn pt_to_mm(v: f32) -> f32 {
    v * 25.4 / 72.0
}

const BLACK: f32 = 0.0;
const GREY: f32 = 0.35;
const LIGHT: f32 = 0.75;

/// Drawing operations for one page, in millimetres from the top left corner.
struct Page<'a> {
    font: &'a SheetFont,
    font_id: FontId,
    ops: Vec<Op>,
}

impl<'a> Page<'a> {
    fn new(font: &'a SheetFont, font_id: FontId) -> Self {
        Self {
            font,
            font_id,
            ops: Vec::with_capacity(160),
        }
    }

    fn grey(&mut self, level: f32) {
        self.ops.push(Op::SetFillColor {
            col: Color::Greyscale(Greyscale::new(level, None)),
        });
    }

    fn red(&mut self) {
        self.ops.push(Op::SetFillColor {
            col: Color::Rgb(Rgb::new(0.75, 0.05, 0.1, None)),
        });
    }

    /// `text` with its baseline at `top` mm from the top edge.
    fn text(&mut self, x: f32, top: f32, size: f32, text: &str) {
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(self.font_id.clone()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point {
                    x: mm(x),
                    y: mm(PAGE_H - top),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    fn text_right(&mut self, right: f32, top: f32, size: f32, text: &str) {
        let w = self.font.width_mm(text, size);
        self.text(right - w, top, size, text);
    }

    /// `text` shrunk as needed to fit `max_mm`.
    fn text_fit(&mut self, x: f32, top: f32, size: f32, max_mm: f32, text: &str) {
        let size = self.font.fit(text, size, max_mm);
        self.text(x, top, size, text);
    }

    fn rect(&mut self, x: f32, top: f32, w: f32, h: f32, mode: PaintMode) {
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                mode: Some(mode),
                ..Rect::from_xywh(mm(x), mm(PAGE_H - top - h), mm(w), mm(h))
            },
        });
    }

    fn line(&mut self, top: f32) {
        self.grey(LIGHT);
        self.rect(MARGIN, top, PAGE_W - 2.0 * MARGIN, 0.3, PaintMode::Fill);
    }

    /// A label in small grey type above a value.
    fn field(&mut self, x: f32, top: f32, label: &str) {
        self.grey(GREY);
        self.text(x, top, 8.0, label);
    }

    fn sheet(
        &mut self,
        organisation: &str,
        app: &StaffApp,
        s: &Sheet,
        page: usize,
        total: usize,
    ) -> Result<(), QrError> {
        let right = PAGE_W - MARGIN;
        let width = PAGE_W - 2.0 * MARGIN;

        // Header: organisation, confidential mark, title.
        self.grey(BLACK);
        self.text_fit(MARGIN, 17.0, 11.0, 110.0, organisation);
        self.red();
        self.rect(right - 48.0, 9.0, 48.0, 11.0, PaintMode::Stroke);
        self.text_right(right - 4.0, 16.5, 12.0, "取扱注意 Confidential");
        self.grey(BLACK);
        self.text(MARGIN, 33.0, 22.0, "アカウント情報シート");
        self.grey(GREY);
        self.text(MARGIN, 39.5, 9.0, "Account information sheet");
        self.line(44.0);

        // Who this sheet belongs to.
        let value_x = MARGIN + 34.0;
        let value_w = right - value_x;
        self.field(MARGIN, 56.0, "氏名 Name");
        self.grey(BLACK);
        self.text_fit(value_x, 56.0, 18.0, value_w, &s.name);
        if !s.name_kana.is_empty() {
            self.field(MARGIN, 63.0, "フリガナ");
            self.grey(BLACK);
            self.text_fit(value_x, 63.0, 10.0, value_w, &s.name_kana);
        }
        self.field(MARGIN, 73.0, "職員番号 Employee ID");
        self.grey(BLACK);
        self.text_fit(value_x, 73.5, 16.0, value_w, &s.employee_id);
        self.field(MARGIN, 82.0, "所属 Department");
        self.grey(BLACK);
        let dept = if s.department.is_empty() {
            "—"
        } else {
            &s.department
        };
        self.text_fit(value_x, 82.0, 11.0, value_w, dept);
        self.line(88.0);

        // The QR code and how to use it.
        let qr_top = 96.0;
        let qr_side = self.qr(MARGIN, qr_top, &s.login_url)?;
        let steps_x = MARGIN + qr_side + 6.0;
        let steps_w = right - steps_x;
        self.grey(BLACK);
        self.text(steps_x, qr_top + 7.0, 13.0, "はじめてのサインイン");
        self.grey(GREY);
        self.text(steps_x, qr_top + 12.0, 8.0, "First sign-in");
        self.grey(BLACK);
        let every_day = match app.name() {
            Some(name) => {
                format!("3. 以後は {name} に、職員番号と新しいパスワードでサインインします。")
            }
            None => "3. 以後は職員番号と新しいパスワードでサインインします。".to_owned(),
        };
        let steps = [
            "1. スマートフォンのカメラで左のQRコードを読み取ります。",
            "2. 開いた画面で、新しいパスワードを設定します。",
            every_day.as_str(),
        ];
        for (i, step) in steps.iter().enumerate() {
            self.text_fit(steps_x, qr_top + 20.0 + 7.0 * i as f32, 10.0, steps_w, step);
        }
        self.grey(GREY);
        self.text_fit(
            steps_x,
            qr_top + 40.0,
            7.5,
            steps_w,
            "Scan the code with your phone, then set your own password.",
        );
        self.red();
        let expiry = format!("QRコードの有効期限: {} (JST)", format_jst(s.expires_at));
        self.text_fit(steps_x, qr_top + 48.0, 11.0, steps_w, &expiry);
        let url_top = qr_top + qr_side + 6.0;
        self.grey(GREY);
        self.text(
            MARGIN,
            url_top,
            8.0,
            "QRコードが読み取れない場合は、次のアドレスを入力してください。",
        );
        self.grey(BLACK);
        self.text_fit(MARGIN, url_top + 5.0, 8.5, width, &s.login_url);

        // The initial password, or why there is none.
        let box_top = url_top + 11.0;
        let box_h = 34.0;
        self.grey(LIGHT);
        self.rect(MARGIN, box_top, width, box_h, PaintMode::Stroke);
        match &s.initial_password {
            Some(password) => {
                self.field(
                    MARGIN + 5.0,
                    box_top + 7.0,
                    "初期パスワード Initial password",
                );
                self.grey(BLACK);
                self.ops.push(Op::SetCharacterSpacing { multiplier: 1.5 });
                self.text(MARGIN + 5.0, box_top + 17.0, 18.0, password);
                self.ops.push(Op::SetCharacterSpacing { multiplier: 0.0 });
                self.text_fit(
                    MARGIN + 5.0,
                    box_top + 25.0,
                    9.0,
                    width - 10.0,
                    "QRコードが使えない場合は、サインイン画面で職員番号と初期パスワードを入力してください。",
                );
                self.text_fit(
                    MARGIN + 5.0,
                    box_top + 30.0,
                    9.0,
                    width - 10.0,
                    "最初のサインインの後、すぐにご自身のパスワードへの変更を求められます。",
                );
            }
            None => {
                self.field(MARGIN + 5.0, box_top + 7.0, "パスワード Password");
                self.grey(BLACK);
                self.text_fit(
                    MARGIN + 5.0,
                    box_top + 16.0,
                    10.0,
                    width - 10.0,
                    "パスワードはご本人が設定済みです。このシートに初期パスワードはありません。",
                );
                self.text_fit(
                    MARGIN + 5.0,
                    box_top + 23.0,
                    10.0,
                    width - 10.0,
                    "パスワードを忘れた場合は、上のQRコードから新しいパスワードを設定できます。",
                );
            }
        }

        // Handling.
        let notes_top = box_top + box_h + 10.0;
        self.grey(BLACK);
        self.text(MARGIN, notes_top, 11.0, "取扱いについて");
        let notes = [
            "・このシートは本人だけが使うものです。他の人に見せたり、撮影して共有したりしないでください。",
            "・パスワードを設定したら、このシートはシュレッダーにかけるなどして確実に処分してください。",
            "・紛失したとき、心当たりのないサインインの通知が届いたときは、すぐに人事担当へ連絡してください。",
        ];
        for (i, note) in notes.iter().enumerate() {
            self.text_fit(MARGIN, notes_top + 7.0 + 6.0 * i as f32, 9.0, width, note);
        }

        // Where to sign in every day, when the hospital has said.
        if let Some(name) = app.name() {
            let app_top = notes_top + 34.0;
            self.grey(BLACK);
            self.text(MARGIN, app_top, 11.0, "ふだんのサインイン先");
            self.grey(GREY);
            self.text(MARGIN + 42.0, app_top, 8.0, "Where to sign in");
            self.grey(BLACK);
            self.text_fit(MARGIN, app_top + 8.0, 14.0, width, name);
            if let Some(url) = app.url.as_deref().filter(|u| *u != name) {
                self.text_fit(MARGIN, app_top + 14.0, 10.0, width, url);
            }
        }

        // Footer: serial, issue date, reprint count, page.
        self.line(PAGE_H - 17.0);
        self.grey(GREY);
        let mut footer = format!(
            "シート番号 {}　発行 {} (JST)",
            s.serial,
            format_jst(s.printed_at)
        );
        if s.reprint > 0 {
            footer.push_str(&format!("　再発行 {}回目", s.reprint));
        }
        self.text(MARGIN, PAGE_H - 11.0, 8.0, &footer);
        self.red();
        self.text_right(right, PAGE_H - 11.0, 8.0, "取扱注意");
        self.grey(GREY);
        self.text_right(
            right - 16.0,
            PAGE_H - 11.0,
            8.0,
            &format!("{page} / {total}"),
        );
        Ok(())
    }

    /// Draws the QR code for `text` with its quiet zone at (`x`, `top`); returns the side of
    /// the whole square (symbol + quiet zone) in mm. Each run of dark modules in a row is one
    /// rectangle, in module units under a scaling matrix, which keeps the page stream small.
    fn qr(&mut self, x: f32, top: f32, text: &str) -> Result<f32, QrError> {
        let m = qr::matrix(text)?;
        let module = QR_SYMBOL_MM / m.size as f32;
        let side = module * (m.size + 2 * qr::QUIET_ZONE) as f32;
        // White quiet zone, so nothing printed later can intrude on it.
        self.grey(1.0);
        self.rect(x, top, side, side, PaintMode::Fill);
        self.grey(BLACK);
        self.ops.push(Op::SaveGraphicsState);
        let origin_x = mm(x + module * qr::QUIET_ZONE as f32).0;
        let origin_y = mm(PAGE_H - top - module * qr::QUIET_ZONE as f32).0;
        let scale = mm(module).0;
        // Module (col, row) maps to (origin_x + col * scale, origin_y - (row + 1) * scale).
        self.ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw([scale, 0.0, 0.0, scale, origin_x, origin_y]),
        });
        for row in 0..m.size {
            let mut col = 0;
            while col < m.size {
                if !m.dark[row * m.size + col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < m.size && m.dark[row * m.size + col] {
                    col += 1;
                }
                self.ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        mode: Some(PaintMode::Fill),
                        ..Rect::from_xywh(
                            Pt(start as f32),
                            Pt(-((row + 1) as f32)),
                            Pt((col - start) as f32),
                            Pt(1.0),
                        )
                    },
                });
            }
        }
        self.ops.push(Op::RestoreGraphicsState);
        Ok(side)
    }
}
