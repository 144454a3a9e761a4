//! The JSON bodies of the ledger and the node's API (`zkpay-api`): a payment submission, a batch
//! submission and a committed batch: never a panic; what decodes re-encodes to an equal value; the
//! payment id, the authorisation check, proof decoding, note positions and the batch hash run on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_api::{batch_hash_of, BatchSubmission, CommittedBatch, PaymentSubmission};

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &T,
) {
    let back: T = serde_json::from_slice(&serde_json::to_vec(v).unwrap()).unwrap();
    assert_eq!(&back, v);
}

fn payment(p: &PaymentSubmission) {
    let _ = p.id();
    let _ = p.check_authorization(zkpay_protocol::account::DebitDomain::embedded(
        p.ext.network,
    ));
    let _ = zkpay_verifier::decode_proof(&p.proof);
    let _ = p.public.public_inputs();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = serde_json::from_slice::<PaymentSubmission>(data) {
        round_trip(&p);
        payment(&p);
    }
    if let Ok(b) = serde_json::from_slice::<BatchSubmission>(data) {
        round_trip(&b);
        b.payments.iter().for_each(payment);
        for c in &b.chunks {
            let _ = c.public.public_inputs(2, &[]);
            let _ = zkpay_verifier::decode_proof(&c.proof);
        }
    }
    if let Ok(c) = serde_json::from_slice::<CommittedBatch>(data) {
        round_trip(&c);
        let _ = c.note_positions(c.state.note_cursor.saturating_sub(16));
        let _ = batch_hash_of(c.number, &c.parent, &c.payments, &c.chunks, &c.state);
    }
});
