//! # zkpay-verifier
//!
//! Strict decoding of proofs and verifying keys, verifying-key sanity checks and key ids,
//! single and random-linear-combination batch verification, and snarkjs export. No storage: the
//! base ledger that keeps committed batches is `zkpay-ledger`.
//!
//! Nothing here trusts its input: proofs are exactly 128 canonical bytes of points on the curve,
//! in the subgroup and not the identity; the number of public inputs is checked against the key
//! before any pairing (ark-groth16 0.6 silently ignores extra inputs).
#![deny(missing_docs)]

pub mod batch;
pub mod encoding;
pub mod keys;
pub mod snarkjs;
pub mod verify;

pub use encoding::{decode_proof, decode_vk, encode_proof, encode_vk, PROOF_BYTES};
pub use keys::{KeyId, VerifyingKeyInfo};
pub use verify::Verifier;

use thiserror::Error;

/// Pairing engine.
pub type Curve = ark_bn254::Bn254;
/// A Groth16 proof over BN254.
pub type Proof = ark_groth16::Proof<Curve>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Curve>;
/// Scalar field.
pub use zkpay_protocol::field::F;

/// Why a proof, key or batch was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifierError {
    /// Wrong number of bytes.
    #[error("wrong length for {what}: expected {expected}, got {got}")]
    WrongLength {
        /// What was decoded.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A point is not on the curve, not in the subgroup, or badly encoded.
    #[error("invalid point in {0}")]
    InvalidPoint(&'static str),
    /// A point is the identity (including payloads that carry the infinity flag).
    #[error("identity point in {0}")]
    IdentityPoint(&'static str),
    /// The bytes decode but are not the canonical encoding of what they decode to.
    #[error("non-canonical encoding of {0}")]
    NonCanonical(&'static str),
    /// The number of public inputs differs from the key's.
    #[error("expected {expected} public inputs, got {got}")]
    InputCount {
        /// Inputs the key takes.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// The proof does not verify.
    #[error("proof does not verify")]
    InvalidProof,
    /// Some proofs of a batch do not verify (their indices).
    #[error("proofs of the batch that do not verify: {0:?}")]
    BadProofs(Vec<usize>),
    /// A verifying key fails its sanity checks.
    #[error("verifying key refused: {0}")]
    KeySanity(String),
    /// The verifying key's id differs from the pinned one.
    #[error("verifying key id {got} differs from the pinned {expected}")]
    KeyIdMismatch {
        /// Pinned id.
        expected: String,
        /// Id of the key given.
        got: String,
    },
    /// A batch does not match the chain or its payments.
    #[error("batch refused: {0}")]
    BatchMismatch(String),
    /// Other I/O or encoding failure.
    #[error("{0}")]
    Other(String),
}
