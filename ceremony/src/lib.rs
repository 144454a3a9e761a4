//! # zkpay-ceremony
//!
//! The trusted setup of zkpay's Groth16 keys. Phase 1 is a universal powers-of-tau ceremony
//! (the Perpetual Powers of Tau, Hermez, or one run with snarkjs); [`ptau`] reads its files in
//! the `.ptau` format snarkjs writes and checks them as a verifier of phase 1 does. Phase 2
//! ([`phase2`]) is per circuit ([`circuit`]), in snarkjs's `.zkey` format ([`zkey`]), with
//! snarkjs's randomness reproduced bit for bit ([`snarkrng`]) so that both tools check each
//! other's contributions; its keys are exported to a parameters directory
//! (`zkpay_prover::params`) that nodes and wallets load.
#![deny(missing_docs)]

pub mod circuit;
pub mod phase2;
pub mod ptau;
pub mod scalar_mul;
pub mod snarkrng;
pub mod testing;
pub mod zkey;

use thiserror::Error;

/// Errors of the ceremony tools.
#[derive(Debug, Error)]
pub enum CeremonyError {
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not what its format says (magic, sections, sizes, encodings).
    #[error("malformed {what}: {why}")]
    Malformed {
        /// Which file or part.
        what: &'static str,
        /// Why.
        why: String,
    },
    /// The file is for another curve than BN254.
    #[error("not a BN254 file: its base field modulus is {0}")]
    WrongCurve(String),
    /// The file holds fewer powers than needed.
    #[error("powers of tau of 2^{have} are too small: the circuit needs 2^{need}")]
    TooSmall {
        /// Power in the file.
        have: u32,
        /// Power needed.
        need: u32,
    },
    /// The circuit could not be built.
    #[error("circuit: {0}")]
    Circuit(String),
    /// A consistency check of the powers failed.
    #[error("inconsistent powers of tau: {0}")]
    Inconsistent(String),
}

/// Result with [`CeremonyError`].
pub type Result<T> = std::result::Result<T, CeremonyError>;
