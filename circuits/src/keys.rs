//! Owner-key derivation gadget. Twin of `zkpay_protocol::keys`.

use crate::poseidon::hash;
use crate::F;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;
use zkpay_protocol::poseidon::Domain;

/// `pk = H_OwnerKey(ask, nk)`. 240 constraints.
pub fn owner_key(ask: &FpVar<F>, nk: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
    hash(Domain::OwnerKey, &[ask.clone(), nk.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use proptest::prelude::*;

    fn check(ask: F, nk: F) {
        let cs = cs();
        let a = FpVar::new_witness(cs.clone(), || Ok(ask)).unwrap();
        let n = FpVar::new_witness(cs.clone(), || Ok(nk)).unwrap();
        let pk = owner_key(&a, &n).unwrap();
        assert_eq!(
            pk.value().unwrap(),
            zkpay_protocol::keys::owner_key(&ask, &nk)
        );
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn edges() {
        for a in edge_values() {
            for b in edge_values() {
                check(a, b);
            }
        }
    }

    #[test]
    fn matches_spending_key_derivation() {
        let sk = zkpay_protocol::keys::SpendingKey::from_bytes([9; 32]);
        let auth = sk.spend_authority();
        check(auth.ask, auth.nk);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn differential(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            use ark_ff::PrimeField;
            check(F::from_le_bytes_mod_order(&a), F::from_le_bytes_mod_order(&b));
        }
    }
}
