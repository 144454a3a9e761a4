//! The wallet's PNG QR decoder (`zkpay pay --qr FILE`): any bytes as an image never panic and
//! never allocate past the decoder's limits; a code rendered by the wallet from a fuzzed payload
//! decodes back to that payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_wallet::qr::{decode_image, render_png};

fuzz_target!(|data: &[u8]| {
    let _ = decode_image(data);
    if let Some(payload) = zkpay_fuzz::qr_round_trip_payload(data) {
        if let Ok(png) = render_png(&payload) {
            assert_eq!(decode_image(&png).unwrap(), payload);
        }
    }
});
