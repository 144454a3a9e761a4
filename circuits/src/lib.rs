//! # zkpay-circuits
//!
//! R1CS gadgets and circuits over BN254 (arkworks 0.6, `ark_relations::gr1cs`). Each gadget sits
//! at the module path of its native twin in `zkpay-protocol` (`protocol::note` ↔
//! `circuits::note`) and is tested against it.
#![deny(missing_docs)]

pub mod batch;
pub mod field;
pub mod invoice;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod nullifier_tree;
pub mod payment;
pub mod poseidon;

#[cfg(test)]
pub(crate) mod test_util;

use thiserror::Error;

/// The circuit field (BN254 scalar field).
pub use zkpay_protocol::field::F;

/// Constraints and public inputs of `circuit`, synthesised in setup mode (no witness).
pub fn shape_of<C: ark_relations::gr1cs::ConstraintSynthesizer<F>>(
    circuit: C,
) -> Result<(usize, usize), ark_relations::gr1cs::SynthesisError> {
    let cs = ark_relations::gr1cs::ConstraintSystem::<F>::new_ref();
    cs.set_mode(ark_relations::gr1cs::SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok((cs.num_constraints(), cs.num_instance_variables() - 1))
}

/// Errors building circuits.
#[derive(Debug, Error)]
pub enum CircuitError {
    /// Constraint synthesis failed.
    #[error("synthesis: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    /// The native statement does not hold, so no proof can exist.
    #[error("statement does not hold: {0}")]
    Statement(#[from] zkpay_protocol::ProtocolError),
    /// A witness has the wrong shape for the circuit (e.g. path depth).
    #[error("witness shape: {0}")]
    Shape(String),
}
