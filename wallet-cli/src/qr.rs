//! QR codes of payment requests.

use crate::WalletError;
use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

fn code(payload: &str) -> Result<QrCode, WalletError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| WalletError::QrCapacity(payload.len()))
}

/// Renders `payload` as a QR code for a terminal (Unicode half blocks, with a quiet zone).
pub fn render_terminal(payload: &str) -> Result<String, WalletError> {
    Ok(code(payload)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Renders `payload` as an SVG document.
pub fn render_svg(payload: &str) -> Result<String, WalletError> {
    Ok(code(payload)?
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_refuses_oversized() {
        let t = render_terminal("zkpay:test").unwrap();
        assert!(t.lines().count() > 10);
        assert!(render_svg("zkpay:test").unwrap().starts_with("<?xml"));
        assert!(matches!(
            render_terminal(&"x".repeat(5000)),
            Err(WalletError::QrCapacity(5000))
        ));
    }
}
