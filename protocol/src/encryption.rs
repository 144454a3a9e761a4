//! Note encryption: ECIES over x25519 with HKDF-SHA256 and ChaCha20-Poly1305.
//!
//! ```text
//! esk  <- random; epk = X25519(esk, G)
//! ss   = X25519(esk, tk)                         (must be contributory)
//! key  = HKDF-SHA256(salt = "zkpay/v1/note-enc", ikm = ss, info = epk || tk), 32 bytes
//! pt   = 0x01 || asset (32) || value (8, BE) || blinding (32) || memo_len (2, BE) || memo
//!        padded with zeros to 512 bytes                          (587 bytes, fixed)
//! ct   = epk (32) || ChaCha20-Poly1305(key, nonce = 0^12, pt)     (32 + 587 + 16 = 635 bytes)
//! ```
//!
//! The key is used once, so a zero nonce is safe. Ciphertexts have one fixed length, so the memo
//! length is hidden. The recipient recomputes the commitment from the plaintext and its own
//! owner key; a note is "mine" only when it matches the commitment in the tree.

use crate::error::{ProtocolError, Result};
use crate::field::{fe_from_bytes, fe_to_bytes, F};
use crate::keys::IncomingViewingKey;
use crate::note::{AssetId, Commitment, Note};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Largest memo in bytes.
pub const MAX_MEMO: usize = 512;
/// Plaintext length.
pub const PLAINTEXT_LEN: usize = 1 + 32 + 8 + 32 + 2 + MAX_MEMO;
/// Ciphertext length.
pub const CIPHERTEXT_LEN: usize = 32 + PLAINTEXT_LEN + 16;
const VERSION: u8 = 1;

/// What the recipient learns from a ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotePlaintext {
    /// Asset.
    pub asset: AssetId,
    /// Value.
    pub value: u64,
    /// Blinding.
    pub blinding: F,
    /// Memo (at most 512 bytes).
    pub memo: Vec<u8>,
}

impl NotePlaintext {
    /// The note this plaintext opens, for owner `pk`.
    pub fn note(&self, owner: F) -> Note {
        Note {
            asset: self.asset,
            value: self.value,
            owner,
            blinding: self.blinding,
        }
    }
}

fn derive_key(ss: &[u8; 32], epk: &[u8; 32], tk: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(b"zkpay/v1/note-enc"), ss);
    let mut info = [0u8; 64];
    info[..32].copy_from_slice(epk);
    info[32..].copy_from_slice(tk);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
    if hk.expand(&info, okm.as_mut()).is_err() {
        unreachable!("HKDF output length is fixed and valid");
    }
    okm
}

/// Encrypts `note` with `memo` to the transmission key `tk`.
pub fn encrypt_note<R: RngCore + CryptoRng>(
    note: &Note,
    memo: &[u8],
    tk: &[u8; 32],
    rng: &mut R,
) -> Result<Vec<u8>> {
    if memo.len() > MAX_MEMO {
        return Err(ProtocolError::Encryption("memo longer than 512 bytes"));
    }
    let mut esk_bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(esk_bytes.as_mut());
    let esk = x25519_dalek::StaticSecret::from(*esk_bytes);
    let epk = x25519_dalek::PublicKey::from(&esk).to_bytes();
    let ss = esk.diffie_hellman(&x25519_dalek::PublicKey::from(*tk));
    if !ss.was_contributory() {
        return Err(ProtocolError::Encryption(
            "transmission key is a low-order point",
        ));
    }
    let key = derive_key(ss.as_bytes(), &epk, tk);
    let mut pt = Zeroizing::new(vec![0u8; PLAINTEXT_LEN]);
    pt[0] = VERSION;
    pt[1..33].copy_from_slice(&note.asset.to_bytes());
    pt[33..41].copy_from_slice(&note.value.to_be_bytes());
    pt[41..73].copy_from_slice(&fe_to_bytes(&note.blinding));
    pt[73..75].copy_from_slice(&(memo.len() as u16).to_be_bytes());
    pt[75..75 + memo.len()].copy_from_slice(memo);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let ct = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), pt.as_slice())
        .map_err(|_| ProtocolError::Encryption("AEAD failure"))?;
    let mut out = Vec::with_capacity(CIPHERTEXT_LEN);
    out.extend_from_slice(&epk);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Trial decryption. Returns `None` ("not mine") for any ciphertext that is not a well-formed
/// note for this key, including wrong lengths and random bytes. Never panics.
pub fn try_decrypt_note(ivk: &IncomingViewingKey, ciphertext: &[u8]) -> Option<NotePlaintext> {
    if ciphertext.len() != CIPHERTEXT_LEN {
        return None;
    }
    let mut epk = [0u8; 32];
    epk.copy_from_slice(&ciphertext[..32]);
    let secret = ivk.secret();
    let ss = secret.diffie_hellman(&x25519_dalek::PublicKey::from(epk));
    if !ss.was_contributory() {
        return None;
    }
    let tk = ivk.transmission_key();
    let key = derive_key(ss.as_bytes(), &epk, &tk);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let pt = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&[0u8; 12]), &ciphertext[32..])
            .ok()?,
    );
    decode_plaintext(&pt)
}

/// Strict decoding of a decrypted note plaintext: its length, version, canonical asset and
/// blinding, a memo length within bounds and zero padding after the memo. `None` for anything
/// else. (Public so that it can be fuzzed on its own: an attacker who knows a recipient's
/// transmission key controls every plaintext byte.)
pub fn decode_plaintext(pt: &[u8]) -> Option<NotePlaintext> {
    if pt.len() != PLAINTEXT_LEN || pt[0] != VERSION {
        return None;
    }
    let asset = AssetId::from_bytes(&pt[1..33]).ok()?;
    let mut v = [0u8; 8];
    v.copy_from_slice(&pt[33..41]);
    let blinding = fe_from_bytes(&pt[41..73]).ok()?;
    let memo_len = u16::from_be_bytes([pt[73], pt[74]]) as usize;
    if memo_len > MAX_MEMO || pt[75 + memo_len..].iter().any(|b| *b != 0) {
        return None;
    }
    Some(NotePlaintext {
        asset,
        value: u64::from_be_bytes(v),
        blinding,
        memo: pt[75..75 + memo_len].to_vec(),
    })
}

/// Trial decryption that also checks the opening against the commitment `cm` for owner `pk`.
pub fn try_open_note(
    ivk: &IncomingViewingKey,
    pk: &F,
    cm: &Commitment,
    ciphertext: &[u8],
) -> Option<(Note, Vec<u8>)> {
    let pt = try_decrypt_note(ivk, ciphertext)?;
    let note = pt.note(*pk);
    (note.commitment() == *cm).then_some((note, pt.memo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn roundtrip_and_not_mine() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let alice = SpendingKey::random(&mut rng).full_viewing_key();
        let bob = SpendingKey::random(&mut rng).full_viewing_key();
        let note = Note::new(AssetId(F::from(7u64)), 1234, alice.pk, &mut rng);
        let memo = "order #17 ☕".as_bytes();
        let ct = encrypt_note(&note, memo, &alice.ivk.transmission_key(), &mut rng).unwrap();
        assert_eq!(ct.len(), CIPHERTEXT_LEN);
        let (opened, m) = try_open_note(&alice.ivk, &alice.pk, &note.commitment(), &ct).unwrap();
        assert_eq!(opened, note);
        assert_eq!(m, memo);
        // wrong key: not mine
        assert!(try_decrypt_note(&bob.ivk, &ct).is_none());
        // right key, wrong commitment: not mine
        assert!(try_open_note(&alice.ivk, &alice.pk, &Commitment(F::from(1u64)), &ct).is_none());
        // tampered
        let mut t = ct.clone();
        t[100] ^= 1;
        assert!(try_decrypt_note(&alice.ivk, &t).is_none());
        // wrong lengths
        assert!(try_decrypt_note(&alice.ivk, &ct[..ct.len() - 1]).is_none());
        assert!(try_decrypt_note(&alice.ivk, &[]).is_none());
        // memo too long
        assert!(encrypt_note(&note, &[0u8; 513], &alice.ivk.transmission_key(), &mut rng).is_err());
        assert!(encrypt_note(&note, &[1u8; 512], &alice.ivk.transmission_key(), &mut rng).is_ok());
        // low-order transmission key
        assert!(encrypt_note(&note, b"", &[0u8; 32], &mut rng).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_are_not_mine(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let ivk = SpendingKey::from_bytes([1; 32]).incoming_viewing_key();
            prop_assert!(try_decrypt_note(&ivk, &bytes).is_none());
        }

        #[test]
        fn random_full_length_bytes_are_not_mine(bytes in proptest::collection::vec(any::<u8>(), CIPHERTEXT_LEN)) {
            let ivk = SpendingKey::from_bytes([1; 32]).incoming_viewing_key();
            prop_assert!(try_decrypt_note(&ivk, &bytes).is_none());
        }
    }
}
