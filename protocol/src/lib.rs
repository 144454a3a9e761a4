//! # zkpay-protocol
//!
//! The native definition of the zkpay protocol: field and encodings, Poseidon with domain
//! separation, keys, addresses, notes, the note tree, the nullifier tree, note encryption,
//! payment-request URIs, and the native checks and public-input encoders of the payment and
//! batch statements. No R1CS and no I/O live here; `docs/protocol.md` is the specification.
#![deny(missing_docs)]

pub mod account;
pub mod address;
pub mod batch;
pub mod encryption;
pub mod error;
pub mod field;
pub mod invoice;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod nullifier_tree;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod payment;
pub mod poseidon;
pub mod tree_store;
pub mod uri;

pub use error::{ProtocolError, Result};
pub use field::F;
