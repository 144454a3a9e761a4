//! Verifying-key ids and sanity checks.

use crate::encoding::encode_vk;
use crate::{VerifierError, VerifyingKey};
use ark_ec::AffineRepr;
use sha2::{Digest, Sha256};

/// Key id: SHA-256 of the canonical verifying-key bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// Id of `vk`.
    pub fn of(vk: &VerifyingKey) -> Self {
        Self(Sha256::digest(encode_vk(vk)).into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 lower-case hex digits.
    pub fn from_hex(s: &str) -> Result<Self, VerifierError> {
        let b = zkpay_protocol::field::hex_strict(s)
            .map_err(|e| VerifierError::Other(format!("key id: {e}")))?;
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| VerifierError::Other("key id must be 32 bytes".into()))?;
        Ok(Self(arr))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A verifying key that passed its sanity checks.
#[derive(Clone, Debug)]
pub struct VerifyingKeyInfo {
    /// The key.
    pub vk: VerifyingKey,
    /// Its id.
    pub id: KeyId,
    /// Number of public inputs it takes.
    pub inputs: usize,
}

impl VerifyingKeyInfo {
    /// Checks `vk`: `γ ≠ δ`, `δ ≠` the G2 generator (either means δ is known: a key without
    /// any phase-2 contribution, under which anyone forges), exactly `expected_inputs + 1` IC
    /// points, no identity points, and (if given) the pinned id. γ may be the generator: keys
    /// from snarkjs-format ceremonies (circom's, zkpay's) take γ = 1 and rely on δ alone.
    pub fn check(
        vk: VerifyingKey,
        expected_inputs: usize,
        pinned: Option<KeyId>,
    ) -> Result<Self, VerifierError> {
        let g2 = ark_bn254::G2Affine::generator();
        if vk.gamma_g2 == vk.delta_g2 {
            return Err(VerifierError::KeySanity(
                "gamma equals delta: the key had no real setup contribution".into(),
            ));
        }
        if vk.delta_g2 == g2 {
            return Err(VerifierError::KeySanity("delta is the G2 generator".into()));
        }
        if vk.gamma_abc_g1.len() != expected_inputs + 1 {
            return Err(VerifierError::KeySanity(format!(
                "key has {} IC points, the statement needs {}",
                vk.gamma_abc_g1.len(),
                expected_inputs + 1
            )));
        }
        let points_ok = !vk.alpha_g1.is_zero()
            && !vk.beta_g2.is_zero()
            && !vk.gamma_g2.is_zero()
            && !vk.delta_g2.is_zero()
            && vk.gamma_abc_g1.iter().all(|p| !p.is_zero());
        if !points_ok {
            return Err(VerifierError::KeySanity("identity point in the key".into()));
        }
        let id = KeyId::of(&vk);
        if let Some(p) = pinned {
            if p != id {
                return Err(VerifierError::KeyIdMismatch {
                    expected: p.to_hex(),
                    got: id.to_hex(),
                });
            }
        }
        Ok(Self {
            vk,
            id,
            inputs: expected_inputs,
        })
    }
}
