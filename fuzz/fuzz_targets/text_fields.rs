//! Short text forms: addresses, public accounts, assets, amounts, display text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_protocol::address::Address;
use zkpay_protocol::note::Asset;
use zkpay_protocol::payment::PublicAccount;
use zkpay_protocol::uri::{check_display_text, parse_amount};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = Address::decode_any(s) {
        assert_eq!(
            Address::decode_any(&a.encode()).unwrap().encode(),
            a.encode()
        );
    }
    if let Ok(a) = PublicAccount::new(s) {
        assert_eq!(a.to_hex(), s);
    }
    if let Ok(a) = Asset::from_text(s) {
        assert_eq!(
            Asset::from_text(&a.to_text()).unwrap().to_text(),
            a.to_text()
        );
    }
    for d in [0u8, 2, 8, 18] {
        let _ = parse_amount(s, d);
    }
    if check_display_text(s).is_ok() {
        assert!(!s.chars().any(char::is_control));
    }
});
