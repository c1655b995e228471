//! QR codes for onboarding links: the `qrcode` crate builds the matrix, PNG is written at one
//! bit per pixel (small and quick to encode).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on each side (the quiet zone the QR standard asks for).
pub const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("QR encoding failed: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// The module matrix, row by row, `true` = dark, without the quiet zone.
pub struct Matrix {
    pub size: usize,
    pub dark: Vec<bool>,
}

/// Error correction level M (15 %): survives a crease or a smudge on a printed sheet.
pub fn matrix(text: &str) -> Result<Matrix, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let size = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(Matrix { size, dark })
}

/// 1-bit grayscale PNG with the quiet zone, `module_px` pixels per module.
pub fn png(text: &str, module_px: usize) -> Result<Vec<u8>, QrError> {
    let m = matrix(text)?;
    let modules = m.size + 2 * QUIET_ZONE;
    let side = modules * module_px;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0xFFu8; row_bytes * side];
    for y in 0..m.size {
        for x in 0..m.size {
            if !m.dark[y * m.size + x] {
                continue;
            }
            for py in 0..module_px {
                let row = ((y + QUIET_ZONE) * module_px + py) * row_bytes;
                for px in 0..module_px {
                    let col = (x + QUIET_ZONE) * module_px + px;
                    pixels[row + col / 8] &= !(0x80 >> (col % 8));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(1024);
    let side32 = u32::try_from(side).unwrap_or(u32::MAX);
    let mut encoder = png::Encoder::new(&mut out, side32, side32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

/// `data:image/png;base64,...`, as `qrcode.toDataURL` produces in node.
pub fn png_data_url(text: &str) -> Result<String, QrError> {
    let bytes = png(text, 4)?;
    Ok(format!("data:image/png;base64,{}", STANDARD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://staffgate.example-hospital.jp/welcome#t=JeqZEOCHzruv_1yR8OmMSHizAGPpfGqPbemgOEQ1tFI";

    #[test]
    fn the_png_decodes_back_to_the_url() {
        let png_bytes = png(URL, 4).expect("encode");
        let img = image::load_from_memory(&png_bytes).expect("png").to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().expect("decode");
        assert_eq!(content, URL);
    }

    #[test]
    fn has_a_quiet_zone_and_is_a_data_url() {
        let m = matrix(URL).expect("matrix");
        let img = image::load_from_memory(&png(URL, 4).expect("png"))
            .expect("png")
            .to_luma8();
        assert_eq!(img.width() as usize, (m.size + 2 * QUIET_ZONE) * 4);
        assert!(
            (0..16).all(|i| img.get_pixel(i, i).0[0] == 255),
            "white border"
        );
        let url = png_data_url(URL).expect("data url");
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"));
    }
}
