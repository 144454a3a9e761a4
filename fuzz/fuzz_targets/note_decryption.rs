//! Note decryption: random ciphertexts are "not mine", tampered real ones too, untouched ones
//! open to what was sealed; and the plaintext decoder on attacker-chosen plaintexts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;
use zkpay_protocol::encryption::{decode_plaintext, encrypt_note, try_decrypt_note};
use zkpay_protocol::keys::{FullViewingKey, SpendingKey};
use zkpay_protocol::note::{Asset, Note};
use zkpay_protocol::F;

/// The recipient's viewing key, made once.
fn fvk() -> &'static FullViewingKey {
    static FVK: OnceLock<FullViewingKey> = OnceLock::new();
    FVK.get_or_init(|| SpendingKey::random(&mut ChaCha20Rng::seed_from_u64(7)).full_viewing_key())
}

fuzz_target!(|data: &[u8]| {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let ivk = &fvk().ivk;
    // raw bytes as a ciphertext
    let _ = try_decrypt_note(ivk, data);
    // raw bytes as a decrypted plaintext
    let _ = decode_plaintext(data);
    // a real ciphertext, then flip the bytes the input names
    if data.len() < 10 {
        return;
    }
    let value = u64::from_le_bytes(data[..8].try_into().unwrap());
    let memo_len = (data[8] as usize) % 64;
    let memo = data.get(9..9 + memo_len).unwrap_or(&[]);
    let note = Note {
        asset: Asset::from_text("USD").unwrap().id(),
        value,
        owner: F::from(1u64),
        blinding: F::from(value),
    };
    let ct = encrypt_note(&note, memo, &ivk.transmission_key(), &mut rng).unwrap();
    let opened = try_decrypt_note(ivk, &ct).expect("a sealed note opens");
    assert_eq!((opened.value, opened.memo.as_slice()), (value, memo));
    let mut bad = ct.clone();
    let flips = &data[9 + memo_len.min(data.len() - 9)..];
    for pair in flips.chunks(2) {
        let i = pair[0] as usize % bad.len();
        bad[i] ^= pair.get(1).copied().unwrap_or(1) | 1;
    }
    if bad != ct {
        assert!(
            try_decrypt_note(ivk, &bad).is_none(),
            "a tampered note opened"
        );
    }
});
