//! Invoice tag gadget. Twin of `zkpay_protocol::invoice`.

use crate::poseidon::hash;
use crate::F;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar as _;
use ark_relations::gr1cs::SynthesisError;
use zkpay_protocol::poseidon::Domain;

/// `H_InvoiceTag(invoice_key, owner, value, asset)`. 297 constraints.
pub fn invoice_tag(
    invoice_key: &FpVar<F>,
    owner: &FpVar<F>,
    value: &FpVar<F>,
    asset: &FpVar<F>,
) -> Result<FpVar<F>, SynthesisError> {
    hash(
        Domain::InvoiceTag,
        &[
            invoice_key.clone(),
            owner.clone(),
            value.clone(),
            asset.clone(),
        ],
    )
}

/// Enforces `tag = has_invoice ? H_InvoiceTag(invoice_key, owner, value, asset) : 0`, so that a
/// public tag is either 0 (no invoice) or bound to output 0's owner, value and asset.
/// 297 + 2 constraints (the hash, booleanity of the flag, one product).
pub fn enforce_invoice_tag(
    tag: &FpVar<F>,
    has_invoice: &Boolean<F>,
    invoice_key: &FpVar<F>,
    owner: &FpVar<F>,
    value: &FpVar<F>,
    asset: &FpVar<F>,
) -> Result<(), SynthesisError> {
    let computed = invoice_tag(invoice_key, owner, value, asset)?;
    let flag: FpVar<F> = has_invoice.clone().into();
    computed.mul_equals(&flag, tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_ff::PrimeField;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use proptest::prelude::*;
    use zkpay_protocol::invoice as native;
    use zkpay_protocol::note::AssetId;

    fn w(cs: &ark_relations::gr1cs::ConstraintSystemRef<F>, x: F) -> FpVar<F> {
        FpVar::new_witness(cs.clone(), || Ok(x)).unwrap()
    }

    fn check(key: F, owner: F, value: u64, asset: F) {
        let cs = cs();
        let t = invoice_tag(
            &w(&cs, key),
            &w(&cs, owner),
            &w(&cs, F::from(value)),
            &w(&cs, asset),
        )
        .unwrap();
        assert_eq!(
            t.value().unwrap(),
            native::invoice_tag(&key, &owner, value, &AssetId(asset))
        );
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn edges() {
        for e in edge_values() {
            for v in [0u64, 1, u64::MAX] {
                check(e, e, v, e);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn differential(k in any::<[u8; 32]>(), o in any::<[u8; 32]>(), v in any::<u64>(), a in any::<[u8; 32]>()) {
            check(F::from_le_bytes_mod_order(&k), F::from_le_bytes_mod_order(&o), v, F::from_le_bytes_mod_order(&a));
        }
    }

    /// The flag selects between the bound tag and 0; nothing else satisfies.
    #[test]
    fn flag_and_tag() {
        let key = F::from(11u64);
        let owner = F::from(12u64);
        let asset = F::from(13u64);
        let good = native::invoice_tag(&key, &owner, 500, &AssetId(asset));
        let run = |flag: bool, tag: F, value: u64| {
            let cs = cs();
            let b = Boolean::new_witness(cs.clone(), || Ok(flag)).unwrap();
            let t = FpVar::new_input(cs.clone(), || Ok(tag)).unwrap();
            enforce_invoice_tag(
                &t,
                &b,
                &w(&cs, key),
                &w(&cs, owner),
                &w(&cs, F::from(value)),
                &w(&cs, asset),
            )
            .unwrap();
            cs.is_satisfied().unwrap()
        };
        assert!(run(true, good, 500));
        assert!(run(false, F::from(0u64), 500));
        assert!(!run(false, good, 500), "a tag without the flag");
        assert!(!run(true, F::from(0u64), 500), "the flag with tag 0");
        assert!(!run(true, good, 499), "another value");
    }
}
