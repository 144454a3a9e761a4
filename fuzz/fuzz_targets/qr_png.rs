//! The wallet's PNG QR decoder (`zkpay pay --qr FILE`): any bytes as an image never panic and
//! never allocate past the decoder's limits; a code rendered by the wallet from a fuzzed payload
//! decodes back to that payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_wallet::qr::{decode_image, render_png};

fuzz_target!(|data: &[u8]| {
    let _ = decode_image(data);
    // the round trip is slow (a rendered code is a few hundred pixels a side): one input in 64
    // (chosen by a hash of the whole input, which every mutation changes)
    let h = data
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
    // payloads up to 512 bytes (the wallet's requests are shorter): a code for a kilobyte
    // takes most of a second to render and decode, which a loaded machine turns into timeouts
    if h % 64 == 0 && (2..=513).contains(&data.len()) {
        let payload = String::from_utf8_lossy(&data[1..]);
        if let Ok(png) = render_png(&payload) {
            assert_eq!(decode_image(&png).unwrap(), payload);
        }
    }
});
