//! The circuits a ceremony sets up keys for: zkpay's payment circuit and batch chunk circuit,
//! in the shape of a parameter profile.

use crate::{CeremonyError, Result};
use zkpay_circuits::batch::BatchCircuit;
use zkpay_circuits::payment::PaymentCircuit;
use zkpay_protocol::batch::{batch_public_input_count, Profile};
use zkpay_protocol::payment::PAYMENT_PUBLIC_INPUTS;
use zkpay_prover::keys::shape_id;
use zkpay_prover::r1cs::R1cs;
use zkpay_prover::{BATCH_CIRCUIT, PAYMENT_CIRCUIT};

/// Which circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The payment circuit (wallets prove it).
    Payment,
    /// The batch chunk circuit (the sequencer proves it).
    Batch,
}

/// A circuit of a profile, with what its keys are named and checked by.
pub struct Circuit {
    /// Key-file name (`payment-d16`, `batch-d16-c8`), the same as the node's key cache.
    pub name: String,
    /// Shape id (SHA-256 of the name and the R1CS matrices).
    pub shape: [u8; 32],
    /// Public inputs.
    pub inputs: usize,
    /// The constraint system.
    pub r1cs: R1cs,
}

fn prover(e: zkpay_prover::ProverError) -> CeremonyError {
    CeremonyError::Circuit(e.to_string())
}

/// The circuit `kind` of `profile`.
pub fn circuit(kind: Kind, profile: Profile) -> Result<Circuit> {
    let params = profile.params();
    Ok(match kind {
        Kind::Payment => {
            let name = format!("{PAYMENT_CIRCUIT}-d{}", params.depth);
            let blank = PaymentCircuit::blank(params.depth);
            Circuit {
                shape: shape_id(&name, blank.clone()).map_err(prover)?,
                r1cs: R1cs::of_circuit(blank).map_err(prover)?,
                inputs: PAYMENT_PUBLIC_INPUTS,
                name,
            }
        }
        Kind::Batch => {
            let name = format!("{BATCH_CIRCUIT}-d{}-c{}", params.depth, params.slots);
            let blank = BatchCircuit::blank(params);
            Circuit {
                shape: shape_id(&name, blank.clone()).map_err(prover)?,
                r1cs: R1cs::of_circuit(blank).map_err(prover)?,
                inputs: batch_public_input_count(params.slots),
                name,
            }
        }
    })
}
