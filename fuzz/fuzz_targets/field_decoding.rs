//! Field elements from bytes and hex: strict, canonical, and round-tripping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_protocol::field::{fe_from_bytes, fe_from_hex, fe_to_bytes, fe_to_hex, hex_strict};

fuzz_target!(|data: &[u8]| {
    if let Ok(x) = fe_from_bytes(data) {
        // only the canonical 32-byte encoding decodes, and it is the one we write
        assert_eq!(fe_to_bytes(&x).as_slice(), data);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(x) = fe_from_hex(s) {
            assert_eq!(fe_to_hex(&x), s);
        }
        if let Ok(b) = hex_strict(s) {
            assert_eq!(hex::encode(&b), s);
        }
    }
});
