//! Helpers shared by the circuit tests.

use crate::F;
use ark_ff::{BigInteger, One, PrimeField};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};

/// A fresh constraint system in proving mode.
pub fn cs() -> ConstraintSystemRef<F> {
    ConstraintSystem::<F>::new_ref()
}

/// Edge values every differential test includes: 0, 1, r-1, 2^64-1, 2^64.
pub fn edge_values() -> Vec<F> {
    vec![
        F::from(0u64),
        F::one(),
        -F::one(),
        F::from(u64::MAX),
        F::from(u64::MAX) + F::one(),
    ]
}

/// r - 1 as a sanity check that edge values are what they claim.
#[test]
fn edges_are_right() {
    let r_minus_1 = edge_values()[2];
    let mut b = r_minus_1.into_bigint();
    b.add_with_carry(&F::one().into_bigint());
    assert_eq!(b, F::MODULUS);
}
