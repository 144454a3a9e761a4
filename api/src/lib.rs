//! # zkpay-api
//!
//! The types that travel between the node, the wallet and a base ledger: payments, chunk proofs
//! and batches as submitted ([`ledger`]), and what the node's HTTP API answers about payments,
//! notes and invoices ([`node`]).
//!
//! A small crate of its own, so that a wallet speaks to a node and checks receipts against a
//! ledger's records without compiling the node or a ledger's storage (RocksDB).
#![deny(missing_docs)]

pub mod ledger;
pub mod node;

pub use ledger::{
    batch_hash_of, BatchSubmission, ChunkSubmission, CommittedBatch, CommittedNote, LedgerHead,
    PaymentSubmission,
};
pub use node::{InvoiceStatus, NoteEntry, PaymentStatus};

/// Why a record is not self-consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A committed batch's shape or cursors contradict each other.
    #[error("{0}")]
    Inconsistent(String),
}
