//! Note commitment and nullifier gadgets. Twin of `zkpay_protocol::note`.

use crate::poseidon::hash;
use crate::F;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;
use zkpay_protocol::poseidon::Domain;

/// `cm = H_NoteCommitment(asset, value, pk, blinding)`. 297 constraints.
pub fn commitment(
    asset: &FpVar<F>,
    value: &FpVar<F>,
    owner: &FpVar<F>,
    blinding: &FpVar<F>,
) -> Result<FpVar<F>, SynthesisError> {
    hash(
        Domain::NoteCommitment,
        &[
            asset.clone(),
            value.clone(),
            owner.clone(),
            blinding.clone(),
        ],
    )
}

/// `nf = H_Nullifier(nk, cm, position)`. 261 constraints.
pub fn nullifier(
    nk: &FpVar<F>,
    cm: &FpVar<F>,
    position: &FpVar<F>,
) -> Result<FpVar<F>, SynthesisError> {
    hash(
        Domain::Nullifier,
        &[nk.clone(), cm.clone(), position.clone()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_ff::PrimeField;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use proptest::prelude::*;
    use zkpay_protocol::note::{self as native, Commitment};

    fn w(cs: &ark_relations::gr1cs::ConstraintSystemRef<F>, x: F) -> FpVar<F> {
        FpVar::new_witness(cs.clone(), || Ok(x)).unwrap()
    }

    fn check(asset: F, value: u64, owner: F, blinding: F, nk: F, pos: u64) {
        let cs = cs();
        let cm = commitment(
            &w(&cs, asset),
            &w(&cs, F::from(value)),
            &w(&cs, owner),
            &w(&cs, blinding),
        )
        .unwrap();
        let expect = native::commitment(&asset, value, &owner, &blinding);
        assert_eq!(cm.value().unwrap(), expect);
        let nf = nullifier(&w(&cs, nk), &cm, &w(&cs, F::from(pos))).unwrap();
        assert_eq!(
            nf.value().unwrap(),
            native::nullifier(&nk, &Commitment(expect), pos).0
        );
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn edges() {
        for e in edge_values() {
            for v in [0u64, 1, u64::MAX] {
                check(e, v, e, e, e, v);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn differential(a in any::<[u8; 32]>(), v in any::<u64>(), o in any::<[u8; 32]>(), r in any::<[u8; 32]>(), pos in any::<u32>()) {
            check(F::from_le_bytes_mod_order(&a), v, F::from_le_bytes_mod_order(&o), F::from_le_bytes_mod_order(&r), F::from_le_bytes_mod_order(&a), u64::from(pos));
        }
    }
}
