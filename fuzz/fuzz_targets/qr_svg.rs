//! The wallet's SVG QR decoder (a saved request read back): any text never panics, and the
//! painted area stays within what a QR code can hold; a code rendered by the wallet from a
//! fuzzed payload decodes back to that payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_wallet::qr::{decode_svg, render_svg};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode_svg(&text);
    if let Some(payload) = zkpay_fuzz::qr_round_trip_payload(data) {
        if let Ok(svg) = render_svg(&payload) {
            assert_eq!(decode_svg(&svg).unwrap(), payload);
        }
    }
});
