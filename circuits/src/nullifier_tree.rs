//! Indexed-tree gadgets: canonical limbs, limb comparison, leaf hash. Twin of
//! `zkpay_protocol::nullifier_tree`.
//!
//! Values are compared through their canonical limbs `(hi, lo) = (v >> 128, v mod 2^128)`:
//! `a < b` iff `a_hi < b_hi`, or `a_hi = b_hi` and `a_lo < b_lo`. A limb comparison `x < y` for
//! `x, y < 2^n` decomposes `y - x + 2^n - 1` into `n + 1` bits and reads the top bit: about 260
//! constraints for a full comparison (instead of ~1,900 for ark-r1cs-std's `enforce_cmp`).
//! Decomposing a fresh value into limbs costs 254 bits plus a comparison with `r` to make the
//! decomposition canonical (otherwise `v` and `v + r` would both be representable).

use crate::field::alloc_bits;
use crate::poseidon::hash;
use crate::F;
use ark_ff::{BigInteger, Field, One, PrimeField, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use zkpay_protocol::nullifier_tree::limbs;
use zkpay_protocol::poseidon::Domain;

/// `2^n` in the field.
fn pow2(n: u32) -> F {
    F::from(2u64).pow([u64::from(n)])
}

/// `x < y` as a 0/1 value, for `x, y ∈ [0, 2^n)`, `n <= 128`. `n + 2` constraints.
pub fn less_than(
    cs: ConstraintSystemRef<F>,
    x: &FpVar<F>,
    y: &FpVar<F>,
    n: u32,
) -> Result<FpVar<F>, SynthesisError> {
    let t = y - x + (pow2(n) - F::one());
    let (sum, bits) = alloc_bits(cs, || t.value(), n as usize + 1)?;
    sum.enforce_equal(&t)?;
    Ok(FpVar::from(bits[n as usize].clone()))
}

/// `x == 0` as a 0/1 value. 2 constraints.
pub fn is_zero(cs: ConstraintSystemRef<F>, x: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
    let z = FpVar::new_witness(cs.clone(), || {
        Ok(if x.value()?.is_zero() {
            F::one()
        } else {
            F::zero()
        })
    })?;
    let inv = FpVar::new_witness(cs, || Ok(x.value()?.inverse().unwrap_or_default()))?;
    x.mul_equals(&inv, &(FpVar::one() - &z))?;
    x.mul_equals(&z, &FpVar::zero())?;
    Ok(z)
}

/// `a < b` over canonical limbs `(hi < 2^126, lo < 2^128)`, as a 0/1 value. ~261 constraints.
pub fn less_than_limbs(
    cs: ConstraintSystemRef<F>,
    a: (&FpVar<F>, &FpVar<F>),
    b: (&FpVar<F>, &FpVar<F>),
) -> Result<FpVar<F>, SynthesisError> {
    let lt_hi = less_than(cs.clone(), a.0, b.0, 126)?;
    let eq_hi = is_zero(cs.clone(), &(b.0 - a.0))?;
    let lt_lo = less_than(cs, a.1, b.1, 128)?;
    Ok(lt_hi + eq_hi * lt_lo)
}

/// Allocates the canonical limbs of `v`: `hi < 2^126`, `lo < 2^128`, `hi·2^128 + lo = v`, and
/// `(hi, lo) < (r_hi, r_lo)`. ~517 constraints.
pub fn canonical_limbs(
    cs: ConstraintSystemRef<F>,
    v: &FpVar<F>,
) -> Result<(FpVar<F>, FpVar<F>), SynthesisError> {
    let (lo, _) = alloc_bits(cs.clone(), || Ok(limbs(&v.value()?).1), 128)?;
    let (hi, _) = alloc_bits(cs.clone(), || Ok(limbs(&v.value()?).0), 126)?;
    (&hi * pow2(128) + &lo).enforce_equal(v)?;
    // r as limbs (r itself is not a field element: build it from the modulus)
    let m = F::MODULUS;
    let limbs_u64 = m.as_ref();
    let r_lo = F::from((u128::from(limbs_u64[1]) << 64) | u128::from(limbs_u64[0]));
    let r_hi = F::from((u128::from(limbs_u64[3]) << 64) | u128::from(limbs_u64[2]));
    debug_assert!(m.num_bits() <= 254);
    let lt = less_than_limbs(
        cs,
        (&hi, &lo),
        (&FpVar::constant(r_hi), &FpVar::constant(r_lo)),
    )?;
    lt.enforce_equal(&FpVar::one())?;
    Ok((hi, lo))
}

/// `H_NullifierLeaf(value_hi, value_lo, next_index, next_hi, next_lo)`. 321 constraints.
pub fn leaf_hash(fields: &[FpVar<F>; 5]) -> Result<FpVar<F>, SynthesisError> {
    hash(Domain::NullifierLeaf, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use zkpay_protocol::field::fe_cmp;
    use zkpay_protocol::nullifier_tree::IndexedLeaf;

    fn limbs_var(cs: &ConstraintSystemRef<F>, v: F) -> (FpVar<F>, FpVar<F>, bool) {
        let x = FpVar::new_witness(cs.clone(), || Ok(v)).unwrap();
        let (h, l) = canonical_limbs(cs.clone(), &x).unwrap();
        (h, l, cs.is_satisfied().unwrap())
    }

    fn lt(a: F, b: F) -> (bool, usize) {
        let cs = cs();
        let (ah, al, _) = limbs_var(&cs, a);
        let (bh, bl, _) = limbs_var(&cs, b);
        let before = cs.num_constraints();
        let r = less_than_limbs(cs.clone(), (&ah, &al), (&bh, &bl)).unwrap();
        assert!(cs.is_satisfied().unwrap());
        (
            r.value().unwrap() == F::one(),
            cs.num_constraints() - before,
        )
    }

    #[test]
    fn comparison_edges_and_cost() {
        let vals = edge_values();
        for a in &vals {
            for b in &vals {
                assert_eq!(
                    lt(*a, *b).0,
                    fe_cmp(a, b) == std::cmp::Ordering::Less,
                    "{a} < {b}"
                );
            }
        }
        assert_eq!(lt(F::from(1u64), F::from(2u64)).1, 261);
        let cs = cs();
        let x = FpVar::new_witness(cs.clone(), || Ok(F::from(5u64))).unwrap();
        let _ = canonical_limbs(cs.clone(), &x).unwrap();
        assert_eq!(cs.num_constraints(), 517);
    }

    #[test]
    fn non_canonical_limbs_are_refused() {
        // v + r as limbs: hi·2^128 + lo = v (mod r) but (hi, lo) >= r
        let v = F::from(5u64);
        let cs = cs();
        let x = FpVar::new_witness(cs.clone(), || Ok(v)).unwrap();
        let m = F::MODULUS;
        let l = m.as_ref();
        // r + 5 in limbs
        let lo = (u128::from(l[1]) << 64 | u128::from(l[0])) + 5;
        let hi = u128::from(l[3]) << 64 | u128::from(l[2]);
        let (lo_v, _) = alloc_bits(cs.clone(), || Ok(F::from(lo)), 128).unwrap();
        let (hi_v, _) = alloc_bits(cs.clone(), || Ok(F::from(hi)), 126).unwrap();
        (&hi_v * pow2(128) + &lo_v).enforce_equal(&x).unwrap();
        assert!(
            cs.is_satisfied().unwrap(),
            "the non-canonical limbs do sum to v"
        );
        let lt = less_than_limbs(
            cs.clone(),
            (&hi_v, &lo_v),
            (
                &FpVar::constant(F::from(hi)),
                &FpVar::constant(F::from(lo - 5)),
            ),
        )
        .unwrap();
        lt.enforce_equal(&FpVar::one()).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn leaf_hash_matches_native() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let leaf = IndexedLeaf {
            value: F::rand(&mut rng),
            next_index: 77,
            next_value: -F::one(),
        };
        let cs = cs();
        let (vh, vl) = limbs(&leaf.value);
        let (nh, nl) = limbs(&leaf.next_value);
        let vars = [vh, vl, F::from(77u64), nh, nl]
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        assert_eq!(leaf_hash(&vars).unwrap().value().unwrap(), leaf.hash());
        assert_eq!(cs.num_constraints(), 321);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn differential(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let a = F::from_le_bytes_mod_order(&a);
            let b = F::from_le_bytes_mod_order(&b);
            prop_assert_eq!(lt(a, b).0, fe_cmp(&a, &b) == std::cmp::Ordering::Less);
            prop_assert_eq!(lt(b, a).0, fe_cmp(&b, &a) == std::cmp::Ordering::Less);
            prop_assert!(!lt(a, a).0);
        }
    }
}
