//! Payment-request URIs: strict parsing never panics, and what parses writes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_protocol::uri::PaymentRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = PaymentRequest::parse(s) {
        let again = PaymentRequest::parse(&r.to_uri()).expect("a written request parses");
        assert_eq!(again.to_uri(), r.to_uri());
    }
});
