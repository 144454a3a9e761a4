//! The wallet's SVG QR decoder (a saved request read back): any text never panics, and the
//! painted area stays within what a QR code can hold; a code rendered by the wallet from a
//! fuzzed payload decodes back to that payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_wallet::qr::{decode_svg, render_svg};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode_svg(&text);
    // the round trip is slow: one input in 64
    // (chosen by a hash of the whole input, which every mutation changes)
    let h = data
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
    // payloads up to 512 bytes (the wallet's requests are shorter): a code for a kilobyte
    // takes most of a second to render and decode, which a loaded machine turns into timeouts
    if h % 64 == 0 && (2..=513).contains(&data.len()) {
        let payload = String::from_utf8_lossy(&data[1..]);
        if let Ok(svg) = render_svg(&payload) {
            assert_eq!(decode_svg(&svg).unwrap(), payload);
        }
    }
});
