//! Constraint and public-input counts of every circuit at production parameters.

use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode};
use serde::Serialize;
use zkpay_circuits::merkle::PathVar;
use zkpay_circuits::{poseidon, F};
use zkpay_protocol::merkle::{MerklePath, FULL_DEPTH};
use zkpay_protocol::poseidon::Domain;

/// Counts of the payment circuit.
#[derive(Debug, Serialize)]
pub struct PaymentCounts {
    /// Constraints.
    pub constraints: usize,
    /// Public inputs.
    pub public_inputs: usize,
    /// Tree arity.
    pub tree_arity: usize,
    /// Tree depth.
    pub tree_depth: usize,
    /// Smallest power-of-two domain that fits constraints + inputs + 1.
    pub domain_log2: u32,
}

/// Merkle path costs, arity 4 against binary at the same capacity.
#[derive(Debug, Serialize)]
pub struct TreeCounts {
    /// Arity-4 path, depth 16 (2^32 leaves).
    pub arity4_depth16_path: usize,
    /// Binary path, depth 32 (2^32 leaves).
    pub binary_depth32_path: usize,
}

/// Everything `zkpay-bench constraints` prints.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Poseidon, 1 input.
    pub poseidon_1: usize,
    /// Poseidon, 2 inputs.
    pub poseidon_2: usize,
    /// Poseidon, 3 inputs.
    pub poseidon_3: usize,
    /// Poseidon, 4 inputs.
    pub poseidon_4: usize,
    /// Merkle paths.
    pub merkle: TreeCounts,
    /// The payment circuit.
    pub payment: PaymentCounts,
}

fn setup_cs() -> ConstraintSystemRef<F> {
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    cs
}

fn poseidon_cost(n: usize) -> Result<usize, SynthesisError> {
    let cs = setup_cs();
    let xs: Vec<FpVar<F>> = (0..n)
        .map(|_| FpVar::new_witness(cs.clone(), || Ok(F::from(0u64))))
        .collect::<Result<_, _>>()?;
    let _ = poseidon::hash(Domain::Circom, &xs)?;
    Ok(cs.num_constraints())
}

fn arity4_path_cost(depth: usize) -> Result<usize, SynthesisError> {
    let cs = setup_cs();
    let path = MerklePath {
        position: 0,
        siblings: vec![[F::from(0u64); 3]; depth],
    };
    let p = PathVar::new_witness(cs.clone(), &path, depth)
        .map_err(|_| SynthesisError::Unsatisfiable)?;
    let leaf = FpVar::new_witness(cs.clone(), || Ok(F::from(0u64)))?;
    let _ = p.root(Domain::NoteTreeNode, &leaf)?;
    Ok(cs.num_constraints())
}

/// A binary Poseidon path (for comparison only): per level one bit, one selection product and
/// a width-3 Poseidon.
fn binary_path_cost(depth: usize) -> Result<usize, SynthesisError> {
    let cs = setup_cs();
    let mut x = FpVar::new_witness(cs.clone(), || Ok(F::from(0u64)))?;
    for _ in 0..depth {
        let b = FpVar::from(Boolean::new_witness(cs.clone(), || Ok(false))?);
        let s = FpVar::new_witness(cs.clone(), || Ok(F::from(0u64)))?;
        let left = &x + &b * (&s - &x);
        let right = &x + &s - &left;
        x = poseidon::hash(Domain::Circom, &[left, right])?;
    }
    Ok(cs.num_constraints())
}

/// Measures every count at production parameters.
pub fn measure() -> Result<Counts, SynthesisError> {
    let (constraints, public_inputs) = zkpay_circuits::payment::shape(FULL_DEPTH)?;
    let total = constraints + public_inputs + 1;
    Ok(Counts {
        poseidon_1: poseidon_cost(1)?,
        poseidon_2: poseidon_cost(2)?,
        poseidon_3: poseidon_cost(3)?,
        poseidon_4: poseidon_cost(4)?,
        merkle: TreeCounts {
            arity4_depth16_path: arity4_path_cost(FULL_DEPTH)?,
            binary_depth32_path: binary_path_cost(2 * FULL_DEPTH)?,
        },
        payment: PaymentCounts {
            constraints,
            public_inputs,
            tree_arity: zkpay_protocol::merkle::ARITY,
            tree_depth: FULL_DEPTH,
            domain_log2: total.next_power_of_two().trailing_zeros(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_targets() {
        let c = measure().unwrap();
        assert_eq!(c.poseidon_2, 240);
        assert_eq!(c.merkle.arity4_depth16_path, 16 * 305);
        assert!(c.merkle.binary_depth32_path > c.merkle.arity4_depth16_path);
        assert!(c.payment.constraints <= 14_000);
        assert_eq!(c.payment.domain_log2, 14);
        assert_eq!(c.payment.public_inputs, 10);
    }
}
