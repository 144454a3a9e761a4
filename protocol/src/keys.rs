//! Key hierarchy.
//!
//! ```text
//! seed (32 random bytes, the spending key)
//!  ├─ sk   = F(SHA-512("zkpay/v1/sk" || seed))          wide reduction mod r
//!  │   ├─ ask = H_SpendAuth(sk)                         spend authorizing key (secret)
//!  │   └─ nk  = H_NullifierKey(sk)                      nullifier key (in the viewing key)
//!  │        pk = H_OwnerKey(ask, nk)                    owner key, in every note commitment
//!  └─ ivk = SHA-256("zkpay/v1/ivk" || seed)             x25519 secret for note discovery
//!       tk = X25519(ivk, basepoint)                     transmission key, in the address
//! ```
//!
//! A full viewing key `(pk, nk, ivk)` finds incoming notes (ivk), recognises their commitments
//! (pk) and sees when they are spent (nk computes nullifiers), but cannot spend: spending proves
//! knowledge of `ask` with `pk = H(ask, nk)`.

use crate::address::{Address, Network};
use crate::error::{ProtocolError, Result};
use crate::field::{fe_from_bytes, fe_to_bytes, F};
use crate::poseidon::{hash, Domain};
use ark_ff::PrimeField;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The root secret of a wallet. Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SpendingKey {
    seed: [u8; 32],
}

impl std::fmt::Debug for SpendingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpendingKey(<redacted>)")
    }
}

impl SpendingKey {
    /// A fresh key from a cryptographic RNG.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self { seed }
    }

    /// The key from its 32 seed bytes.
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        Self { seed }
    }

    /// The seed bytes (for the encrypted wallet file only).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.seed)
    }

    /// The spending scalar `sk`.
    fn sk(&self) -> Zeroizing<F> {
        let mut h = Sha512::new();
        h.update(b"zkpay/v1/sk");
        h.update(self.seed);
        let mut digest = Zeroizing::new([0u8; 64]);
        digest.copy_from_slice(&h.finalize());
        Zeroizing::new(F::from_le_bytes_mod_order(digest.as_ref()))
    }

    /// The spend authority: what a payment proof needs to spend this wallet's notes.
    pub fn spend_authority(&self) -> SpendAuthority {
        let sk = self.sk();
        SpendAuthority {
            ask: hash(Domain::SpendAuth, &[*sk]),
            nk: hash(Domain::NullifierKey, &[*sk]),
        }
    }

    /// The incoming viewing key.
    pub fn incoming_viewing_key(&self) -> IncomingViewingKey {
        let mut h = Sha256::new();
        h.update(b"zkpay/v1/ivk");
        h.update(self.seed);
        IncomingViewingKey(h.finalize().into())
    }

    /// The full viewing key.
    pub fn full_viewing_key(&self) -> FullViewingKey {
        let auth = self.spend_authority();
        FullViewingKey {
            pk: auth.owner_key(),
            nk: auth.nk,
            ivk: self.incoming_viewing_key(),
        }
    }

    /// The wallet's address on `network`.
    pub fn address(&self, network: Network) -> Address {
        self.full_viewing_key().address(network)
    }
}

/// `(ask, nk)`: the witness that proves ownership of notes. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SpendAuthority {
    /// Spend authorizing key.
    pub ask: F,
    /// Nullifier key.
    pub nk: F,
}

impl std::fmt::Debug for SpendAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpendAuthority(<redacted>)")
    }
}

impl SpendAuthority {
    /// `pk = H_OwnerKey(ask, nk)`.
    pub fn owner_key(&self) -> F {
        owner_key(&self.ask, &self.nk)
    }
}

/// `pk = H_OwnerKey(ask, nk)`.
pub fn owner_key(ask: &F, nk: &F) -> F {
    hash(Domain::OwnerKey, &[*ask, *nk])
}

/// x25519 secret used to decrypt incoming notes. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct IncomingViewingKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for IncomingViewingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncomingViewingKey(<redacted>)")
    }
}

impl IncomingViewingKey {
    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// Raw bytes (secret).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    pub(crate) fn secret(&self) -> x25519_dalek::StaticSecret {
        x25519_dalek::StaticSecret::from(self.0)
    }

    /// The transmission key (x25519 public key) published in addresses.
    pub fn transmission_key(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.secret()).to_bytes()
    }
}

/// Watch-only key: `(pk, nk, ivk)`. Sees incoming notes and their spends; cannot spend.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct FullViewingKey {
    /// Owner key.
    pub pk: F,
    /// Nullifier key.
    pub nk: F,
    /// Incoming viewing key.
    pub ivk: IncomingViewingKey,
}

impl std::fmt::Debug for FullViewingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FullViewingKey(pk={}, <redacted>)",
            crate::field::fe_to_hex(&self.pk)
        )
    }
}

/// Length of the byte encoding of a full viewing key.
pub const FVK_BYTES: usize = 96;

impl FullViewingKey {
    /// The address of this key on `network`.
    pub fn address(&self, network: Network) -> Address {
        Address {
            network,
            pk: self.pk,
            tk: self.ivk.transmission_key(),
        }
    }

    /// `pk || nk || ivk`, 96 bytes.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Vec::with_capacity(FVK_BYTES);
        v.extend_from_slice(&fe_to_bytes(&self.pk));
        v.extend_from_slice(&fe_to_bytes(&self.nk));
        v.extend_from_slice(&self.ivk.0);
        Zeroizing::new(v)
    }

    /// Strict decoding of [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != FVK_BYTES {
            return Err(ProtocolError::WrongLength {
                what: "full viewing key",
                expected: FVK_BYTES,
                got: b.len(),
            });
        }
        let mut ivk = [0u8; 32];
        ivk.copy_from_slice(&b[64..96]);
        Ok(Self {
            pk: fe_from_bytes(&b[0..32])?,
            nk: fe_from_bytes(&b[32..64])?,
            ivk: IncomingViewingKey(ivk),
        })
    }

    /// Text form: bech32m with the network's viewing-key prefix.
    pub fn encode(&self, network: Network) -> String {
        crate::address::bech32m_encode(network.fvk_hrp(), &self.to_bytes())
    }

    /// Strict parsing of [`Self::encode`]; the key must belong to `network`.
    pub fn decode(s: &str, network: Network) -> Result<Self> {
        let (hrp, data) = crate::address::bech32m_decode(s)?;
        if hrp != network.fvk_hrp() {
            return Err(ProtocolError::Address(format!(
                "expected a {} viewing key (prefix {}), got prefix {hrp}",
                network.name(),
                network.fvk_hrp()
            )));
        }
        let data = Zeroizing::new(data);
        Self::from_bytes(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn derivations_are_deterministic_and_distinct() {
        let sk = SpendingKey::from_bytes([7u8; 32]);
        let a = sk.spend_authority();
        let b = SpendingKey::from_bytes([7u8; 32]).spend_authority();
        assert_eq!(a.ask, b.ask);
        assert_eq!(a.nk, b.nk);
        assert_ne!(a.ask, a.nk);
        let fvk = sk.full_viewing_key();
        assert_eq!(fvk.pk, owner_key(&a.ask, &a.nk));
        let other = SpendingKey::from_bytes([8u8; 32]).full_viewing_key();
        assert_ne!(fvk.pk, other.pk);
        assert!(!format!("{sk:?}{a:?}{fvk:?}").contains(&format!("{:?}", a.ask)));
    }

    #[test]
    fn fvk_roundtrip_and_network() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let fvk = SpendingKey::random(&mut rng).full_viewing_key();
        let s = fvk.encode(Network::Test);
        assert_eq!(FullViewingKey::decode(&s, Network::Test).unwrap(), fvk);
        assert!(FullViewingKey::decode(&s, Network::Main).is_err());
        assert!(FullViewingKey::from_bytes(&fvk.to_bytes()[..95]).is_err());
        let mut bad = fvk.to_bytes().to_vec();
        bad[0..32].copy_from_slice(&[0xff; 32]);
        assert!(FullViewingKey::from_bytes(&bad).is_err());
    }
}
