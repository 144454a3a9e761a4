//! Range gadgets. Twin of `zkpay_protocol::field` (`fe_to_u64`, `fe_from_i128`).

use crate::F;
use ark_ff::{AdditiveGroup, BigInteger, One, PrimeField};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Allocates `n` witness bits of `value` (little-endian) and returns them with their weighted
/// sum `Σ b_i 2^i`. Costs `n` constraints (booleanity). If `value >= 2^n` the sum differs from
/// `value`, so any constraint tying the two is unsatisfied.
pub fn alloc_bits(
    cs: ConstraintSystemRef<F>,
    value: impl Fn() -> Result<F, SynthesisError>,
    n: usize,
) -> Result<(FpVar<F>, Vec<Boolean<F>>), SynthesisError> {
    let mut bits = Vec::with_capacity(n);
    for i in 0..n {
        bits.push(Boolean::new_witness(cs.clone(), || {
            Ok(value()?.into_bigint().get_bit(i))
        })?);
    }
    Ok((bits_to_fp(&bits), bits))
}

/// `Σ b_i 2^i` as a linear combination (no constraints).
pub fn bits_to_fp(bits: &[Boolean<F>]) -> FpVar<F> {
    let mut acc = FpVar::zero();
    let mut power = F::one();
    for b in bits {
        acc += FpVar::from(b.clone()) * power;
        power.double_in_place();
    }
    acc
}

/// A u64 witness as the sum of its 64 bits: in `[0, 2^64)` by construction. 64 constraints.
pub fn alloc_u64(
    cs: ConstraintSystemRef<F>,
    value: impl Fn() -> Result<F, SynthesisError>,
) -> Result<FpVar<F>, SynthesisError> {
    Ok(alloc_bits(cs, value, 64)?.0)
}

/// Enforces `x ∈ [0, 2^64)`. 65 constraints.
pub fn enforce_u64(cs: ConstraintSystemRef<F>, x: &FpVar<F>) -> Result<(), SynthesisError> {
    let sum = alloc_u64(cs, || x.value())?;
    sum.enforce_equal(x)
}

/// Enforces that `x` encodes a signed value with `|v| < 2^64` (`v` or `r - |v|`):
/// `x = (1 - 2s) · m` with `s` a bit and `m ∈ [0, 2^64)`. 66 constraints.
pub fn enforce_signed_u64(cs: ConstraintSystemRef<F>, x: &FpVar<F>) -> Result<(), SynthesisError> {
    let two64 = F::from(u64::MAX) + F::one();
    let is_small = |v: &F| v.into_bigint() < two64.into_bigint();
    let s = Boolean::new_witness(cs.clone(), || {
        let v = x.value()?;
        Ok(!is_small(&v) && is_small(&-v))
    })?;
    let m = alloc_u64(cs, || {
        let v = x.value()?;
        Ok(if !is_small(&v) && is_small(&-v) {
            -v
        } else {
            v
        })
    })?;
    let sign = FpVar::one() - FpVar::from(s).double()?;
    sign.mul_equals(&m, x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_relations::gr1cs::ConstraintSystemRef;
    use proptest::prelude::*;
    use zkpay_protocol::field::{fe_from_i128, fe_to_u64};

    fn u64_ok(x: F) -> (bool, usize) {
        let cs: ConstraintSystemRef<F> = cs();
        let v = FpVar::new_input(cs.clone(), || Ok(x)).unwrap();
        enforce_u64(cs.clone(), &v).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    fn signed_ok(x: F) -> (bool, usize) {
        let cs: ConstraintSystemRef<F> = cs();
        let v = FpVar::new_input(cs.clone(), || Ok(x)).unwrap();
        enforce_signed_u64(cs.clone(), &v).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn u64_edges_match_native() {
        for e in edge_values() {
            assert_eq!(u64_ok(e).0, fe_to_u64(&e).is_some(), "{e}");
        }
        assert_eq!(u64_ok(F::from(7u64)).1, 65);
    }

    #[test]
    fn signed_edges_match_native() {
        let max = u64::MAX as i128;
        for v in [0i128, 1, -1, max, -max] {
            assert!(signed_ok(fe_from_i128(v)).0, "{v}");
        }
        let two64 = F::from(u64::MAX) + F::one();
        for bad in [two64, -two64, ark_ff::Field::pow(&F::from(2u64), [200])] {
            assert!(!signed_ok(bad).0);
        }
        assert_eq!(signed_ok(F::from(1u64)).1, 66);
    }

    proptest! {
        #[test]
        fn u64_differential(v in any::<u64>(), hi in any::<u64>()) {
            prop_assert!(u64_ok(F::from(v)).0);
            let big = F::from(v) + F::from(hi.max(1)) * (F::from(u64::MAX) + F::one());
            prop_assert_eq!(u64_ok(big).0, fe_to_u64(&big).is_some());
        }

        #[test]
        fn signed_differential(v in -(u64::MAX as i128)..=(u64::MAX as i128)) {
            prop_assert!(signed_ok(fe_from_i128(v)).0);
        }
    }
}
