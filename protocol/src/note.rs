//! Assets, notes, note commitments and nullifiers.
//!
//! * `asset_id = H_AssetId(pack(symbol), decimals)`
//! * `cm = H_NoteCommitment(asset, value, pk, blinding)`
//! * `nf = H_Nullifier(nk, cm, position)`

use crate::error::{ProtocolError, Result};
use crate::fe_newtype;
use crate::field::{fe_from_bytes, fe_pack_bytes, fe_to_bytes, F};
use crate::poseidon::{hash, Domain};
use ark_ff::UniformRand;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

fe_newtype!(
    /// Asset identifier, a field element derived from the asset's symbol and decimals.
    AssetId
);
fe_newtype!(
    /// Note commitment: a leaf of the note tree.
    Commitment
);
fe_newtype!(
    /// Nullifier: published when a note is spent.
    Nullifier
);
fe_newtype!(
    /// Root of the note tree or of the nullifier tree.
    Root
);

/// An asset: an upper-case symbol and a number of decimals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Asset {
    /// 1..=16 characters of `A-Z`, `0-9` and `-`, starting with a letter.
    pub symbol: String,
    /// Decimal places of the smallest unit, 0..=18.
    pub decimals: u8,
}

/// Well-known assets, whose text form is their bare symbol.
pub const BUILTIN_ASSETS: [(&str, u8); 5] =
    [("ZKP", 8), ("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0)];

impl Asset {
    /// Validates symbol and decimals.
    pub fn new(symbol: &str, decimals: u8) -> Result<Self> {
        let ok_len = (1..=16).contains(&symbol.len());
        let ok_first = symbol
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase());
        let ok_chars = symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !(ok_len && ok_first && ok_chars) {
            return Err(ProtocolError::Malformed {
                what: "asset symbol",
                why: format!("{symbol:?}: 1-16 characters A-Z 0-9 '-', starting with a letter"),
            });
        }
        if decimals > 18 {
            return Err(ProtocolError::Malformed {
                what: "asset decimals",
                why: format!("{decimals} > 18"),
            });
        }
        Ok(Self {
            symbol: symbol.to_string(),
            decimals,
        })
    }

    /// The asset's id.
    pub fn id(&self) -> AssetId {
        // The symbol is validated to at most 16 bytes, so packing cannot fail.
        let packed = match fe_pack_bytes(self.symbol.as_bytes()) {
            Ok(p) => p,
            Err(e) => panic!("validated asset symbol failed to pack: {e}"),
        };
        AssetId(hash(Domain::AssetId, &[packed, F::from(self.decimals)]))
    }

    /// Canonical text: `SYMBOL` for built-in assets, `SYMBOL.DECIMALS` otherwise.
    pub fn to_text(&self) -> String {
        if BUILTIN_ASSETS.contains(&(self.symbol.as_str(), self.decimals)) {
            self.symbol.clone()
        } else {
            format!("{}.{}", self.symbol, self.decimals)
        }
    }

    /// Strict parsing of [`Self::to_text`]. A built-in symbol must be written bare; any other
    /// symbol must carry its decimals (`PTS-ACME.0`).
    pub fn from_text(s: &str) -> Result<Self> {
        let bad = |why: String| ProtocolError::Malformed { what: "asset", why };
        let (symbol, decimals) = match s.split_once('.') {
            None => {
                let d = BUILTIN_ASSETS
                    .iter()
                    .find(|(sym, _)| *sym == s)
                    .map(|(_, d)| *d)
                    .ok_or_else(|| {
                        bad(format!(
                            "{s:?} is not a built-in asset; write SYMBOL.DECIMALS"
                        ))
                    })?;
                (s, d)
            }
            Some((sym, d)) => {
                if BUILTIN_ASSETS.iter().any(|(b, _)| *b == sym) {
                    return Err(bad(format!(
                        "built-in asset {sym} is written without decimals"
                    )));
                }
                if d.is_empty() || d.len() > 2 || (d.len() > 1 && d.starts_with('0')) {
                    return Err(bad(format!("bad decimals {d:?}")));
                }
                let d: u8 = d.parse().map_err(|_| bad(format!("bad decimals {d:?}")))?;
                (sym, d)
            }
        };
        Self::new(symbol, decimals)
    }
}

/// A shielded note.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Asset of the note.
    pub asset: AssetId,
    /// Amount in the asset's smallest unit.
    pub value: u64,
    /// Owner key.
    #[serde(with = "crate::field::serde_fe")]
    pub owner: F,
    /// Random blinding factor.
    #[serde(with = "crate::field::serde_fe")]
    pub blinding: F,
}

/// Length of the byte encoding of a note.
pub const NOTE_BYTES: usize = 32 + 8 + 32 + 32;

impl Note {
    /// A note with a fresh random blinding.
    pub fn new<R: RngCore + CryptoRng>(asset: AssetId, value: u64, owner: F, rng: &mut R) -> Self {
        Self {
            asset,
            value,
            owner,
            blinding: F::rand(rng),
        }
    }

    /// A zero-value dummy note (used to fill unused join-split inputs or outputs).
    pub fn dummy<R: RngCore + CryptoRng>(asset: AssetId, owner: F, rng: &mut R) -> Self {
        Self::new(asset, 0, owner, rng)
    }

    /// `cm = H_NoteCommitment(asset, value, pk, blinding)`.
    pub fn commitment(&self) -> Commitment {
        Commitment(commitment(
            &self.asset.0,
            self.value,
            &self.owner,
            &self.blinding,
        ))
    }

    /// `nf = H_Nullifier(nk, cm, position)`.
    pub fn nullifier(&self, nk: &F, position: u64) -> Nullifier {
        nullifier(nk, &self.commitment(), position)
    }

    /// `asset || value (u64 big-endian) || owner || blinding`.
    pub fn to_bytes(&self) -> [u8; NOTE_BYTES] {
        let mut out = [0u8; NOTE_BYTES];
        out[0..32].copy_from_slice(&self.asset.to_bytes());
        out[32..40].copy_from_slice(&self.value.to_be_bytes());
        out[40..72].copy_from_slice(&fe_to_bytes(&self.owner));
        out[72..104].copy_from_slice(&fe_to_bytes(&self.blinding));
        out
    }

    /// Strict decoding of [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != NOTE_BYTES {
            return Err(ProtocolError::WrongLength {
                what: "note",
                expected: NOTE_BYTES,
                got: b.len(),
            });
        }
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[32..40]);
        Ok(Self {
            asset: AssetId::from_bytes(&b[0..32])?,
            value: u64::from_be_bytes(v),
            owner: fe_from_bytes(&b[40..72])?,
            blinding: fe_from_bytes(&b[72..104])?,
        })
    }
}

/// `H_NoteCommitment(asset, value, pk, blinding)`.
pub fn commitment(asset: &F, value: u64, owner: &F, blinding: &F) -> F {
    hash(
        Domain::NoteCommitment,
        &[*asset, F::from(value), *owner, *blinding],
    )
}

/// `H_Nullifier(nk, cm, position)`.
pub fn nullifier(nk: &F, cm: &Commitment, position: u64) -> Nullifier {
    Nullifier(hash(Domain::Nullifier, &[*nk, cm.0, F::from(position)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn asset_text() {
        let usd = Asset::from_text("USD").unwrap();
        assert_eq!(usd.decimals, 2);
        assert_eq!(usd.to_text(), "USD");
        let pts = Asset::from_text("PTS-ACME.0").unwrap();
        assert_eq!(pts.to_text(), "PTS-ACME.0");
        assert_ne!(usd.id(), pts.id());
        assert_ne!(
            Asset::new("X", 0).unwrap().id(),
            Asset::new("X", 1).unwrap().id()
        );
        for bad in [
            "",
            "usd",
            "USD.2",
            "FOO",
            "FOO.",
            "FOO.01",
            "FOO.19",
            "1AB.0",
            "A_B.0",
            "ABCDEFGHIJKLMNOPQ.0",
            "FOO.-1",
            "FOO.1.2",
        ] {
            assert!(Asset::from_text(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn nullifier_binds_position_and_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let n = Note::new(
            Asset::from_text("USD").unwrap().id(),
            5,
            F::from(3u64),
            &mut rng,
        );
        let nk = F::from(11u64);
        assert_ne!(n.nullifier(&nk, 0), n.nullifier(&nk, 1));
        assert_ne!(n.nullifier(&nk, 0), n.nullifier(&F::from(12u64), 0));
        let d1 = Note::dummy(n.asset, n.owner, &mut rng);
        let d2 = Note::dummy(n.asset, n.owner, &mut rng);
        assert_ne!(d1.commitment(), d2.commitment());
    }

    proptest! {
        #[test]
        fn note_bytes_roundtrip(v in any::<u64>(), seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let n = Note::new(AssetId(F::rand(&mut rng)), v, F::rand(&mut rng), &mut rng);
            prop_assert_eq!(Note::from_bytes(&n.to_bytes()).unwrap(), n);
            let json = serde_json::to_string(&n).unwrap();
            prop_assert_eq!(serde_json::from_str::<Note>(&json).unwrap(), n);
        }
    }

    /// Row 7 of bad-inputs: a nullifier n and n + r are never two spellings of one value.
    #[test]
    fn nullifier_plus_r_does_not_decode() {
        use ark_ff::{BigInteger, PrimeField};
        let n = Nullifier(F::from(12345u64));
        let mut big = F::MODULUS;
        big.add_with_carry(&n.0.into_bigint());
        let bytes = big.to_bytes_be();
        assert!(Nullifier::from_bytes(&bytes).is_err());
        assert!(Nullifier::from_hex(&format!("0x{}", hex::encode(&bytes))).is_err());
        assert_eq!(Nullifier::from_hex(&n.to_hex()).unwrap(), n);
        let json = format!("\"0x{}\"", hex::encode(&bytes));
        assert!(serde_json::from_str::<Nullifier>(&json).is_err());
    }

    #[test]
    fn note_decoding_is_strict() {
        let n = Note {
            asset: AssetId(F::from(1u64)),
            value: 1,
            owner: F::from(2u64),
            blinding: F::from(3u64),
        };
        let b = n.to_bytes();
        assert!(Note::from_bytes(&b[..103]).is_err());
        let mut long = b.to_vec();
        long.push(0);
        assert!(Note::from_bytes(&long).is_err());
        let mut bad = b;
        bad[72..104].copy_from_slice(&[0xff; 32]);
        assert!(Note::from_bytes(&bad).is_err());
        let json = serde_json::to_string(&n).unwrap();
        let extra = json.replace('}', ",\"x\":1}");
        assert!(serde_json::from_str::<Note>(&extra).is_err());
    }
}
