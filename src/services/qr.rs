//! QR codes for onboarding links.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::{ImageEncoder, Luma};
use qrcode::{EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("QR encoding failed: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("PNG encoding failed: {0}")]
    Png(#[from] image::ImageError),
}

/// PNG bytes, level M, 4-module quiet zone, `module_px` pixels per module.
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let img = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .build();
    let mut out = Vec::with_capacity(4096);
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )?;
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

    #[test]
    fn data_url_is_a_png() {
        let url = png_data_url("https://id.example.jp/welcome#t=abc").unwrap_or_default();
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"));
    }
}
