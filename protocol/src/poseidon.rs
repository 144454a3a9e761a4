//! Poseidon over BN254 with circomlib parameters (light-poseidon), output `state[0]`.
//!
//! Domain separation: every use of the hash has its own [`Domain`], whose tag is placed in the
//! capacity element `state[0]` (circomlib puts 0 there). With tag 0 the function is exactly
//! circomlib's `poseidon(inputs)`. The tag costs no constraints in circuits: it is a constant.

use crate::error::{ProtocolError, Result};
use crate::field::F;
use light_poseidon::{Poseidon, PoseidonHasher};
use std::cell::RefCell;
use std::collections::HashMap;

/// The uses of Poseidon in zkpay. Each has a fixed arity and a distinct tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Domain {
    /// Plain circomlib Poseidon (tag 0); used only in tests and vectors.
    Circom = 0,
    /// Spending key -> spend authorizing key `ask` (1 input).
    SpendAuth = 1,
    /// Spending key -> nullifier key `nk` (1 input).
    NullifierKey = 2,
    /// (ask, nk) -> owner public key `pk` (2 inputs).
    OwnerKey = 3,
    /// (asset, value, pk, blinding) -> note commitment (4 inputs).
    NoteCommitment = 4,
    /// (nk, cm, position) -> nullifier (3 inputs).
    Nullifier = 5,
    /// Note-tree inner node (4 children).
    NoteTreeNode = 6,
    /// Nullifier-tree inner node (4 children).
    NullifierTreeNode = 7,
    /// Nullifier-tree leaf (hi(value), lo(value), next_index, hi(next_value), lo(next_value)) (5 inputs).
    NullifierLeaf = 8,
    /// (invoice key, owner pk of output 0, value of output 0, asset) -> invoice tag (4 inputs).
    InvoiceTag = 9,
    /// Asset symbol -> asset id (2 inputs: packed symbol, decimals).
    AssetId = 10,
    // Tags 11 (payment digest) and 12 (batch hash chain) bound a chunk to its payments until
    // protocol v2 made the payments' nullifiers and commitments the chunk's public inputs (so
    // that an EVM ledger needs no Poseidon); they are retired and never reused.
    /// (packed invoice id, packed salt) -> invoice key (2 inputs).
    InvoiceKey = 13,
}

impl Domain {
    /// The tag placed in the capacity element.
    pub fn tag(self) -> F {
        F::from(self as u64)
    }

    /// Number of inputs this domain takes, or `None` for the untagged test domain.
    pub fn arity(self) -> Option<usize> {
        Some(match self {
            Domain::Circom => return None,
            Domain::SpendAuth | Domain::NullifierKey => 1,
            Domain::OwnerKey | Domain::InvoiceKey | Domain::AssetId => 2,
            Domain::Nullifier => 3,
            Domain::NullifierLeaf => 5,
            Domain::NoteCommitment
            | Domain::NoteTreeNode
            | Domain::NullifierTreeNode
            | Domain::InvoiceTag => 4,
        })
    }

    /// All domains, for the spec table and tests.
    pub const ALL: [Domain; 12] = [
        Domain::Circom,
        Domain::SpendAuth,
        Domain::NullifierKey,
        Domain::OwnerKey,
        Domain::NoteCommitment,
        Domain::Nullifier,
        Domain::NoteTreeNode,
        Domain::NullifierTreeNode,
        Domain::NullifierLeaf,
        Domain::InvoiceTag,
        Domain::AssetId,
        Domain::InvoiceKey,
    ];
}

thread_local! {
    static HASHERS: RefCell<HashMap<(usize, u64), Poseidon<F>>> = RefCell::new(HashMap::new());
}

/// Poseidon with the domain's tag in the capacity element.
///
/// Fails only when `inputs.len()` differs from the domain's arity (a programming error) or is
/// outside 1..=12.
pub fn try_hash(domain: Domain, inputs: &[F]) -> Result<F> {
    if let Some(a) = domain.arity() {
        if a != inputs.len() {
            return Err(ProtocolError::Poseidon(format!(
                "{domain:?} takes {a} inputs, got {}",
                inputs.len()
            )));
        }
    }
    let n = inputs.len();
    HASHERS.with(|cell| {
        let mut map = cell.borrow_mut();
        let key = (n, domain as u64);
        let h = match map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                Poseidon::<F>::with_domain_tag_circom(n, domain.tag())
                    .map_err(|e| ProtocolError::Poseidon(e.to_string()))?,
            ),
        };
        h.hash(inputs)
            .map_err(|e| ProtocolError::Poseidon(e.to_string()))
    })
}

/// Poseidon for the fixed-arity domains of the protocol.
///
/// # Panics
/// Panics if `inputs.len()` differs from the domain's arity: every call site in zkpay passes a
/// fixed-size array, so this is a programming error, never an input error.
pub fn hash(domain: Domain, inputs: &[F]) -> F {
    match try_hash(domain, inputs) {
        Ok(h) => h,
        Err(e) => panic!("poseidon arity bug: {e}"),
    }
}

/// circomlib `poseidon(inputs)` (tag 0), for 1..=12 inputs.
pub fn circom(inputs: &[F]) -> Result<F> {
    try_hash(Domain::Circom, inputs)
}

/// Round constants and MDS matrix of the circomlib parameters for `n` inputs (width n+1),
/// shared with the in-circuit gadget.
pub fn parameters(n_inputs: usize) -> Result<light_poseidon::PoseidonParameters<F>> {
    let width = u8::try_from(n_inputs + 1).map_err(|_| ProtocolError::Poseidon("width".into()))?;
    light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<F>(width)
        .map_err(|e| ProtocolError::Poseidon(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField};
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> F {
        F::from_str(s).unwrap_or_else(|_| panic!("bad decimal"))
    }

    #[test]
    fn circomlib_vectors() {
        assert_eq!(
            circom(&[F::from(1u64), F::from(2u64)]).unwrap(),
            dec("7853200120776062878684798364095072458815029376092732009249414926327459813530")
        );
        assert_eq!(
            circom(&[F::from(1u64)]).unwrap(),
            dec("18586133768512220936620570745912940619677854269274689475585506675881198879027")
        );
        // circomlib poseidon([1,2,3,4]) test vector.
        assert_eq!(
            circom(&[1u64, 2, 3, 4].map(F::from)).unwrap(),
            dec("18821383157269793795438455681495246036402687001665670618754263018637548127333")
        );
    }

    #[test]
    fn domains_are_distinct() {
        let x = [F::from(1u64), F::from(2u64)];
        let a = hash(Domain::OwnerKey, &x);
        let b = hash(Domain::InvoiceKey, &x);
        let c = circom(&x).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        let mut tags: Vec<u64> = Domain::ALL.iter().map(|d| *d as u64).collect();
        tags.dedup();
        assert_eq!(tags.len(), Domain::ALL.len());
    }

    #[test]
    fn wrong_arity_is_an_error() {
        assert!(try_hash(Domain::OwnerKey, &[F::from(1u64)]).is_err());
        assert!(circom(&[F::from(0u64); 13]).is_err());
    }

    fn to_oracle(x: &F) -> poseidon_rs::Fr {
        let s = x.into_bigint().to_string();
        <poseidon_rs::Fr as ff_ce::PrimeField>::from_str(&s)
            .unwrap_or_else(|| panic!("oracle from_str"))
    }

    fn from_oracle(x: &poseidon_rs::Fr) -> F {
        let bytes = hex::decode(ff_ce::to_hex(x)).unwrap_or_else(|_| panic!("oracle hex"));
        F::from_be_bytes_mod_order(&bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// poseidon-rs (an independent implementation of circomlib's Poseidon) agrees.
        #[test]
        fn agrees_with_poseidon_rs(seed in proptest::collection::vec(any::<[u8; 32]>(), 1..=5)) {
            let inputs: Vec<F> = seed.iter().map(|b| F::from_le_bytes_mod_order(b)).collect();
            let oracle = poseidon_rs::Poseidon::new();
            let o = oracle
                .hash(inputs.iter().map(to_oracle).collect())
                .unwrap_or_else(|e| panic!("oracle: {e}"));
            prop_assert_eq!(from_oracle(&o), circom(&inputs).unwrap());
        }
    }

    #[test]
    fn oracle_conversion_roundtrip() {
        let x = -F::from(7u64);
        assert_eq!(from_oracle(&to_oracle(&x)), x);
        let _ = x.into_bigint().to_bytes_be();
    }
}
