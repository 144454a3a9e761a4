//! Strict, canonical encodings of proofs and verifying keys.
//!
//! * Proof: arkworks compressed `A (32) || B (64) || C (32)` = 128 bytes.
//! * Verifying key: arkworks compressed `α (32) || β (64) || γ (64) || δ (64) || n (u64 LE) ||
//!   IC_0..IC_{n-1} (32 each)`.
//!
//! Decoding validates points (on curve, in the subgroup), refuses the identity anywhere (the
//! infinity flag is otherwise accepted with any payload), requires the whole buffer, and requires
//! re-encoding to give the same bytes.

use crate::{Proof, VerifierError, VerifyingKey};
use ark_bn254::{G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

/// Length of an encoded proof.
pub const PROOF_BYTES: usize = 128;
/// Most public inputs a verifying key may declare.
pub const MAX_VK_INPUTS: usize = 64;
const VK_FIXED: usize = 32 + 64 * 3 + 8;

fn g1(bytes: &[u8], what: &'static str) -> Result<G1Affine, VerifierError> {
    let p = G1Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|_| VerifierError::InvalidPoint(what))?;
    if p.is_zero() {
        return Err(VerifierError::IdentityPoint(what));
    }
    Ok(p)
}

fn g2(bytes: &[u8], what: &'static str) -> Result<G2Affine, VerifierError> {
    let p = G2Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|_| VerifierError::InvalidPoint(what))?;
    if p.is_zero() {
        return Err(VerifierError::IdentityPoint(what));
    }
    Ok(p)
}

/// Canonical proof bytes.
pub fn encode_proof(p: &Proof) -> [u8; PROOF_BYTES] {
    let mut out = [0u8; PROOF_BYTES];
    let mut v = Vec::with_capacity(PROOF_BYTES);
    // Serializing valid affine points into a Vec cannot fail.
    if p.serialize_compressed(&mut v).is_ok() && v.len() == PROOF_BYTES {
        out.copy_from_slice(&v);
    }
    out
}

/// Strict proof decoding.
pub fn decode_proof(bytes: &[u8]) -> Result<Proof, VerifierError> {
    if bytes.len() != PROOF_BYTES {
        return Err(VerifierError::WrongLength {
            what: "proof",
            expected: PROOF_BYTES,
            got: bytes.len(),
        });
    }
    let proof = Proof {
        a: g1(&bytes[0..32], "proof.a")?,
        b: g2(&bytes[32..96], "proof.b")?,
        c: g1(&bytes[96..128], "proof.c")?,
    };
    if encode_proof(&proof).as_slice() != bytes {
        return Err(VerifierError::NonCanonical("proof"));
    }
    Ok(proof)
}

/// Canonical verifying-key bytes.
pub fn encode_vk(vk: &VerifyingKey) -> Vec<u8> {
    let mut v = Vec::with_capacity(VK_FIXED + 32 * vk.gamma_abc_g1.len());
    // Serializing into a Vec cannot fail.
    let _ = vk.serialize_compressed(&mut v);
    v
}

/// Strict verifying-key decoding (the count of IC points is bounded before anything is read).
pub fn decode_vk(bytes: &[u8]) -> Result<VerifyingKey, VerifierError> {
    if bytes.len() < VK_FIXED {
        return Err(VerifierError::WrongLength {
            what: "verifying key",
            expected: VK_FIXED,
            got: bytes.len(),
        });
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[VK_FIXED - 8..VK_FIXED]);
    let n = u64::from_le_bytes(n);
    if n == 0 || n > MAX_VK_INPUTS as u64 + 1 {
        return Err(VerifierError::KeySanity(format!("{n} IC points")));
    }
    let expected = VK_FIXED + 32 * n as usize;
    if bytes.len() != expected {
        return Err(VerifierError::WrongLength {
            what: "verifying key",
            expected,
            got: bytes.len(),
        });
    }
    let mut ic = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let off = VK_FIXED + 32 * i;
        ic.push(g1(&bytes[off..off + 32], "vk.ic")?);
    }
    let vk = VerifyingKey {
        alpha_g1: g1(&bytes[0..32], "vk.alpha")?,
        beta_g2: g2(&bytes[32..96], "vk.beta")?,
        gamma_g2: g2(&bytes[96..160], "vk.gamma")?,
        delta_g2: g2(&bytes[160..224], "vk.delta")?,
        gamma_abc_g1: ic,
    };
    if encode_vk(&vk) != bytes {
        return Err(VerifierError::NonCanonical("verifying key"));
    }
    Ok(vk)
}
