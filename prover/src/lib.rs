//! # zkpay-prover
//!
//! Groth16 keys (deterministic development setup or OS-random production setup, cached on disk
//! by circuit shape, ids and sanity checks) and proving of payments, one at a time or many in
//! parallel.
#![deny(missing_docs)]

pub mod batch;
pub mod fft;
pub mod groth16;
pub mod keys;
pub mod msm;
pub mod params;
pub mod payment;
pub mod qap;
pub mod r1cs;

pub use batch::{BatchProver, BATCH_CIRCUIT};
pub use keys::{CircuitKeys, KeyStore, SetupMode};
pub use params::Params;
pub use payment::{PaymentProver, PAYMENT_CIRCUIT};
pub use qap::Reduction;

use thiserror::Error;

/// Errors of key management and proving.
#[derive(Debug, Error)]
pub enum ProverError {
    /// The statement does not hold (caught natively before proving).
    #[error("payment is invalid: {0}")]
    Statement(#[from] zkpay_protocol::ProtocolError),
    /// Circuit construction failed.
    #[error(transparent)]
    Circuit(#[from] zkpay_circuits::CircuitError),
    /// Synthesis or proving failed.
    #[error("proving: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    /// The resulting key or proof was refused.
    #[error(transparent)]
    Verifier(#[from] zkpay_verifier::VerifierError),
    /// A key file is missing, corrupt or does not match.
    #[error("key file {path}: {why}")]
    KeyFile {
        /// File.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// I/O error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
