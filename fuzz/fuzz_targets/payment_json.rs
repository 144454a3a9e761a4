//! The JSON of a payment's public side and ext data, as the node's body decoder reads them:
//! never a panic, and what decodes encodes back to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_protocol::payment::{ExtData, PaymentPublic};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = serde_json::from_slice::<PaymentPublic>(data) {
        let back: PaymentPublic = serde_json::from_slice(&serde_json::to_vec(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let _ = p.public_inputs();
    }
    if let Ok(e) = serde_json::from_slice::<ExtData>(data) {
        let back: ExtData = serde_json::from_slice(&serde_json::to_vec(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let _ = e.hash();
    }
});
