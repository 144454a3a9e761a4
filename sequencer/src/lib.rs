//! # zkpay-sequencer
//!
//! The node a payment service runs: it takes shielded payments over HTTP, keeps them durably in
//! a RocksDB mempool, batches and proves them in parallel chunks, and commits each batch to the
//! base ledger. The ledger's log is the source of truth. Besides the mempool, the node keeps its
//! indexes (the trees, spent nullifiers, invoice tags, notes, payment status) on disk with a
//! checkpoint of the ledger batch they reflect ([`index`]); at start it replays only the
//! batches after the checkpoint, and rebuilds from genesis when the checkpoint does not match
//! the ledger.
#![deny(missing_docs)]

pub mod api;
pub mod batcher;
pub mod config;
pub mod index;
pub mod ingest;
pub mod metrics;
pub mod node;
pub mod openapi;
pub mod serve;
pub mod store;

pub use config::{NodeConfig, Profile};
pub use node::Node;

use thiserror::Error;

/// Errors of the node.
#[derive(Debug, Error)]
pub enum NodeError {
    /// Storage failure.
    #[error("storage: {0}")]
    Storage(String),
    /// Key loading or proving failure.
    #[error(transparent)]
    Prover(#[from] zkpay_prover::ProverError),
    /// Ledger failure.
    #[error(transparent)]
    Ledger(#[from] zkpay_ledger::LedgerError),
    /// Protocol failure.
    #[error(transparent)]
    Protocol(#[from] zkpay_protocol::ProtocolError),
    /// Configuration problem.
    #[error("configuration: {0}")]
    Config(String),
}

impl From<rocksdb::Error> for NodeError {
    fn from(e: rocksdb::Error) -> Self {
        NodeError::Storage(e.to_string())
    }
}

impl From<zkpay_ledger::store::StoreError> for NodeError {
    fn from(e: zkpay_ledger::store::StoreError) -> Self {
        NodeError::Storage(e.to_string())
    }
}
