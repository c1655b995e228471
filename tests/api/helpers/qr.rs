//! Reading QR codes back the way a phone camera would: from a PNG data URL or a scanned page.

use base64::Engine;

/// The PNG bytes of a `data:image/png;base64,...` URL (as the API and the portal show them).
pub fn png_in_data_url(data_url: &str) -> Vec<u8> {
    let b64 = data_url
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// Decodes the one QR code in an image; `what` names the image in a failure.
pub fn decode_qr(img: image::GrayImage, what: &str) -> String {
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on {what}");
    grids[0].decode().unwrap().1
}

/// Decodes the QR code in a `data:image/png;base64,...` URL.
pub fn decode_qr_data_url(data_url: &str) -> String {
    let png = png_in_data_url(data_url);
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    decode_qr(img, "the page")
}
