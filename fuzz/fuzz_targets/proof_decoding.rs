//! Proofs and verifying keys as the verifier decodes them: never a panic; only the canonical
//! encoding decodes (what decodes encodes back to the same bytes); a real proof round-trips and a
//! tampered copy never decodes to it.
#![no_main]

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::PrimeGroup;
use libfuzzer_sys::fuzz_target;
use zkpay_verifier::{decode_proof, decode_vk, encode_proof, encode_vk, Proof, PROOF_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = decode_proof(data) {
        assert_eq!(encode_proof(&p).as_slice(), data);
    }
    if let Ok(vk) = decode_vk(data) {
        assert_eq!(encode_vk(&vk), data);
    }
    if data.len() >= 10 {
        let mut s = [0u8; 8];
        s.copy_from_slice(&data[..8]);
        let s = Fr::from(u64::from_le_bytes(s) | 1);
        let p = Proof {
            a: (G1Projective::generator() * s).into(),
            b: (G2Projective::generator() * (s + Fr::from(1u64))).into(),
            c: (G1Projective::generator() * (s + Fr::from(2u64))).into(),
        };
        let enc = encode_proof(&p);
        assert_eq!(decode_proof(&enc).expect("a real proof decodes"), p);
        let mut t = enc;
        t[data[8] as usize % PROOF_BYTES] ^= data[9].max(1);
        if let Ok(q) = decode_proof(&t) {
            assert_ne!(q, p, "two encodings of one proof");
        }
    }
});
