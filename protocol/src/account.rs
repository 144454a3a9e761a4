//! Public (transparent) accounts on the base ledger.
//!
//! An account is a secp256k1 key; its id is the key's Ethereum-style address (the last 20 bytes
//! of `keccak256(uncompressed public key without its 0x04 prefix)`), so that the same account
//! works on the embedded ledger and on an EVM ledger. A payment that debits an account (a
//! deposit) carries the account's signature over the payment: an EIP-712 typed-data signature
//!
//! ```text
//! domain   = EIP712Domain(string name = "zkpay", string version = "1", uint256 chainId,
//!                         address verifyingContract)
//!            chainId, verifyingContract = the EVM chain's id and the rollup contract on an EVM
//!            ledger; the zkpay network id and the zero address on the embedded ledger
//! message  = Debit(address account, bytes32 asset, uint256 amount, bytes32 paymentId)
//! digest   = keccak256(0x19 0x01 || hashStruct(domain) || hashStruct(message))
//! ```
//!
//! encoded as 65 bytes `r || s || v` with `v` in {27, 28} and `s` in the lower half of the group
//! order (the one canonical form; anything else is refused). A contract checks it with
//! `ecrecover`. The payment id binds the nullifiers, so a signature cannot be replayed for another
//! payment, and the domain binds the ledger, so it cannot be replayed on another deployment.

use crate::address::Network;
use crate::error::{ProtocolError, Result};
use crate::field::fe_to_bytes;
use crate::note::AssetId;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use zeroize::Zeroizing;

/// Length of an account id.
pub const ACCOUNT_ID_LEN: usize = 20;
/// Length of an encoded debit signature.
pub const SIGNATURE_LEN: usize = 65;

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// An account id: the 20-byte Ethereum-style address of the account's secp256k1 key.
///
/// Text form: `0x` and exactly 40 lower-case hex digits (the one spelling accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicAccount([u8; ACCOUNT_ID_LEN]);

impl PublicAccount {
    /// Parses the canonical text form.
    pub fn new(s: &str) -> Result<Self> {
        let bad = |why: &str| ProtocolError::Malformed {
            what: "public account",
            why: format!(
                "{:?}: {why} (expected 0x and 40 lower-case hex digits)",
                s.chars().take(50).collect::<String>()
            ),
        };
        let hex_part = s.strip_prefix("0x").ok_or_else(|| bad("no 0x prefix"))?;
        if hex_part.len() != 2 * ACCOUNT_ID_LEN {
            return Err(bad("wrong length"));
        }
        if !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("not lower-case hex"));
        }
        let mut out = [0u8; ACCOUNT_ID_LEN];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| bad("not hex"))?;
        Ok(Self(out))
    }

    /// The account id of a bare 20-byte address.
    pub fn from_bytes(b: [u8; ACCOUNT_ID_LEN]) -> Self {
        Self(b)
    }

    /// The 20 bytes.
    pub fn to_bytes(&self) -> [u8; ACCOUNT_ID_LEN] {
        self.0
    }

    /// Canonical text (`0x` + 40 lower-case hex digits).
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The account of a secp256k1 public key.
    pub fn of_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let h = keccak(&[&point.as_bytes()[1..]]);
        let mut out = [0u8; ACCOUNT_ID_LEN];
        out.copy_from_slice(&h[12..]);
        Self(out)
    }
}

impl std::fmt::Display for PublicAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicAccount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicAccount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PublicAccount::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The EIP-712 domain of debit signatures: the one ledger that may pull a debit. On an EVM
/// ledger, the chain's id and the rollup contract, so that a signature for one deployment (or
/// one chain of a fork) is worth nothing on another; on the embedded ledger, the zkpay network id
/// and the zero address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DebitDomain {
    /// EIP-712 `chainId`.
    pub chain_id: u64,
    /// EIP-712 `verifyingContract` (`0x` and 40 lower-case hex digits).
    pub verifying_contract: PublicAccount,
}

impl DebitDomain {
    /// The embedded ledger's domain on `network`.
    pub fn embedded(network: Network) -> Self {
        Self {
            chain_id: u64::from(network.id()),
            verifying_contract: PublicAccount::from_bytes([0; ACCOUNT_ID_LEN]),
        }
    }

    /// `hashStruct` of the domain (the EIP-712 domain separator).
    pub fn separator(&self) -> [u8; 32] {
        let domain_type = keccak(&[
            b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        ]);
        let mut chain_id = [0u8; 32];
        chain_id[24..].copy_from_slice(&self.chain_id.to_be_bytes());
        let mut contract = [0u8; 32];
        contract[12..].copy_from_slice(&self.verifying_contract.0);
        keccak(&[
            &domain_type,
            &keccak(&[b"zkpay"]),
            &keccak(&[b"1"]),
            &chain_id,
            &contract,
        ])
    }
}

/// What the owner of an account authorises: a debit of `amount` of `asset` for one payment, by
/// one ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debit {
    /// The ledger that may pull it (the EIP-712 domain).
    pub domain: DebitDomain,
    /// Account debited.
    pub account: PublicAccount,
    /// Asset.
    pub asset: AssetId,
    /// Amount in base units.
    pub amount: u64,
    /// The payment id (binds the nullifiers, outputs and ext data).
    pub payment_id: [u8; 32],
}

impl Debit {
    /// The EIP-712 digest that is signed.
    pub fn digest(&self) -> [u8; 32] {
        let debit_type =
            keccak(&[b"Debit(address account,bytes32 asset,uint256 amount,bytes32 paymentId)"]);
        let mut account = [0u8; 32];
        account[12..].copy_from_slice(&self.account.0);
        let mut amount = [0u8; 32];
        amount[24..].copy_from_slice(&self.amount.to_be_bytes());
        let message = keccak(&[
            &debit_type,
            &account,
            &fe_to_bytes(&self.asset.0),
            &amount,
            &self.payment_id,
        ]);
        keccak(&[&[0x19, 0x01], &self.domain.separator(), &message])
    }

    /// Checks `sig` (canonical form only) against the debited account.
    pub fn verify(&self, sig: &DebitSignature) -> Result<()> {
        let bad = |why: &'static str| ProtocolError::Authorization(why);
        let signature = Signature::from_slice(&sig.0[..64]).map_err(|_| bad("malformed"))?;
        if signature.normalize_s().is_some() {
            return Err(bad("s is not in the lower half of the group order"));
        }
        let recid = match sig.0[64] {
            27 => RecoveryId::new(false, false),
            28 => RecoveryId::new(true, false),
            _ => return Err(bad("v must be 27 or 28")),
        };
        let key = VerifyingKey::recover_from_prehash(&self.digest(), &signature, recid)
            .map_err(|_| bad("no key recovers from this signature"))?;
        if PublicAccount::of_key(&key) != self.account {
            return Err(bad("signed by another account"));
        }
        Ok(())
    }
}

/// A debit signature: 65 bytes `r || s || v`; in JSON, 130 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DebitSignature(pub [u8; SIGNATURE_LEN]);

impl std::fmt::Debug for DebitSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DebitSignature({})", hex::encode(self.0))
    }
}

impl Serialize for DebitSignature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for DebitSignature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.len() != 2 * SIGNATURE_LEN {
            return Err(D::Error::custom("signature must be 65 bytes"));
        }
        let v = crate::field::hex_strict(&s).map_err(D::Error::custom)?;
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&v);
        Ok(Self(out))
    }
}

/// The secret key of a public account (zeroized on drop; never printed).
#[derive(Clone)]
pub struct AccountKey(SigningKey);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountKey({})", self.account())
    }
}

impl AccountKey {
    /// The account key of a wallet seed: the first
    /// `SHA-256("zkpay/v1/account-key" || seed || counter)` (counter a byte from 0) that is a
    /// valid secp256k1 secret.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        for counter in 0u8..=255 {
            let d = Zeroizing::new(<[u8; 32]>::from(
                Sha256::new()
                    .chain_update(b"zkpay/v1/account-key")
                    .chain_update(seed)
                    .chain_update([counter])
                    .finalize(),
            ));
            if let Ok(k) = SigningKey::from_slice(d.as_ref()) {
                return Self(k);
            }
        }
        // 256 consecutive hashes outside [1, n) has probability below 2^-32000.
        unreachable!("no valid secp256k1 secret among 256 hashes")
    }

    /// A key from its 32 secret bytes (refused when not in `[1, n)`).
    pub fn from_bytes(b: &[u8; 32]) -> Result<Self> {
        SigningKey::from_slice(b)
            .map(Self)
            .map_err(|_| ProtocolError::Authorization("not a valid secp256k1 secret"))
    }

    /// A fresh random key.
    pub fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        loop {
            let mut b = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(b.as_mut());
            if let Ok(k) = Self::from_bytes(&b) {
                return k;
            }
        }
    }

    /// The secret bytes (for storing inside an encrypted file).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    /// The account id.
    pub fn account(&self) -> PublicAccount {
        PublicAccount::of_key(self.0.verifying_key())
    }

    /// Signs a debit of this account (canonical low-s form).
    pub fn sign(&self, debit: &Debit) -> Result<DebitSignature> {
        if debit.account != self.account() {
            return Err(ProtocolError::Authorization(
                "the debit names another account",
            ));
        }
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(&debit.digest())
            .map_err(|_| ProtocolError::Authorization("signing failed"))?;
        // k256 signs with low s already; normalise defensively and flip the parity with it.
        let (sig, recid) = match sig.normalize_s() {
            Some(n) => (n, RecoveryId::new(!recid.is_y_odd(), false)),
            None => (sig, recid),
        };
        let mut out = [0u8; SIGNATURE_LEN];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + u8::from(recid.is_y_odd());
        Ok(DebitSignature(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::F;

    #[test]
    fn ethereum_address_vector() {
        // The private key / address pair of the web3.js `privateKeyToAccount` documentation.
        let sk = hex::decode("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
            .unwrap();
        let k = AccountKey::from_bytes(&sk.try_into().unwrap()).unwrap();
        assert_eq!(
            k.account().to_hex(),
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
        );
    }

    #[test]
    fn eip712_digest_vector() {
        // Debit(0x1111…11, asset 7, 1234, paymentId 0x2222…22) for the rollup contract at
        // 0x5fbd…0aa3 on chain 31337 (anvil's first deployment)
        let evm = DebitDomain {
            chain_id: 31337,
            verifying_contract: PublicAccount::new("0x5fbdb2315678afecb367f032d93f642f64180aa3")
                .unwrap(),
        };
        let d = Debit {
            domain: evm,
            account: PublicAccount::from_bytes([0x11; 20]),
            asset: AssetId(F::from(7u64)),
            amount: 1234,
            payment_id: [0x22; 32],
        };
        // EIP-712's domain type hash with verifyingContract
        let domain_type = keccak(&[
            b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        ]);
        assert_eq!(
            hex::encode(domain_type),
            "8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f"
        );
        // the separators and digests, computed independently (node, js-sha3's keccak-256, the
        // EIP-712 encoding written out by hand); the contract's own is checked on anvil
        assert_eq!(
            hex::encode(evm.separator()),
            "a16c9534b1a45f025e18120fd749c9c4cad6366be1e4e0bae535efaeee4c568a"
        );
        let base = d.digest();
        assert_eq!(
            hex::encode(base),
            "c96482080541a9ec21e470174221225f275bd17d79712efe2098eefcf047c162"
        );
        let embedded = Debit {
            domain: DebitDomain::embedded(Network::Dev),
            ..d
        };
        assert_eq!(
            hex::encode(embedded.digest()),
            "29f4b32fd87ddb4a0c17a2b1a839427f9da4739cb40ac49c1c713049deeb7286"
        );
        // the digest changes with every field, the domain's included
        for alt in [
            Debit {
                domain: DebitDomain { chain_id: 1, ..evm },
                ..d
            },
            Debit {
                domain: DebitDomain {
                    verifying_contract: PublicAccount::from_bytes([0x5f; 20]),
                    ..evm
                },
                ..d
            },
            Debit {
                account: PublicAccount::from_bytes([0x12; 20]),
                ..d
            },
            Debit {
                asset: AssetId(F::from(8u64)),
                ..d
            },
            Debit { amount: 1235, ..d },
            Debit {
                payment_id: [0x23; 32],
                ..d
            },
        ] {
            assert_ne!(alt.digest(), base);
        }
    }

    #[test]
    fn sign_and_verify() {
        let mut rng = rand::rngs::OsRng;
        let k = AccountKey::random(&mut rng);
        let other = AccountKey::random(&mut rng);
        let d = Debit {
            domain: DebitDomain::embedded(Network::Dev),
            account: k.account(),
            asset: AssetId(F::from(7u64)),
            amount: 50,
            payment_id: [9; 32],
        };
        let sig = k.sign(&d).unwrap();
        d.verify(&sig).unwrap();
        // another payment, amount, network or deployment: refused
        assert!(Debit {
            payment_id: [8; 32],
            ..d
        }
        .verify(&sig)
        .is_err());
        assert!(Debit { amount: 51, ..d }.verify(&sig).is_err());
        assert!(Debit {
            domain: DebitDomain::embedded(Network::Main),
            ..d
        }
        .verify(&sig)
        .is_err());
        assert!(Debit {
            domain: DebitDomain {
                chain_id: 31337,
                verifying_contract: PublicAccount::from_bytes([0x5f; 20]),
            },
            ..d
        }
        .verify(&sig)
        .is_err());
        // someone else's signature over the victim's debit
        assert!(other.sign(&d).is_err());
        let forged = other
            .sign(&Debit {
                account: other.account(),
                ..d
            })
            .unwrap();
        assert!(matches!(
            d.verify(&forged),
            Err(ProtocolError::Authorization("signed by another account"))
        ));
        // the high-s twin of a valid signature is refused (one canonical form)
        let sig_k = Signature::from_slice(&sig.0[..64]).unwrap();
        let (r, s) = sig_k.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        let mut twin = sig;
        twin.0[..64].copy_from_slice(&high.to_bytes());
        twin.0[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert!(d.verify(&twin).is_err());
        // bad v, zero signature
        let mut bad_v = sig;
        bad_v.0[64] = 0;
        assert!(d.verify(&bad_v).is_err());
        assert!(d.verify(&DebitSignature([0; 65])).is_err());
    }

    #[test]
    fn account_text_is_strict() {
        let a = PublicAccount::new("0x2c7536e3605d9c16a7a3d7b1898e529396a65c23").unwrap();
        assert_eq!(PublicAccount::new(&a.to_hex()).unwrap(), a);
        for bad in [
            "",
            "operator",
            "2c7536e3605d9c16a7a3d7b1898e529396a65c23",
            "0x2C7536E3605D9C16A7A3D7B1898E529396A65C23",
            "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23",
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65c2",
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65c233",
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65cgg",
        ] {
            assert!(PublicAccount::new(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<PublicAccount>(&json).unwrap(), a);
        assert!(serde_json::from_str::<PublicAccount>("\"w1234\"").is_err());
    }

    #[test]
    fn seed_derivation_is_stable() {
        let a = AccountKey::from_seed(&[1; 32]);
        let b = AccountKey::from_seed(&[1; 32]);
        let c = AccountKey::from_seed(&[2; 32]);
        assert_eq!(a.account(), b.account());
        assert_ne!(a.account(), c.account());
    }
}
