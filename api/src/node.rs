//! What the node's HTTP API answers about payments, notes and invoices.

use serde::{Deserialize, Serialize};
use zkpay_protocol::note::Commitment;

/// Status of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum PaymentStatus {
    /// In the mempool.
    Pending,
    /// In a batch being proven.
    Batched,
    /// Committed in batch `batch`.
    Committed {
        /// Batch number.
        batch: u64,
    },
    /// Dropped (reason given); never silently.
    Failed {
        /// Reason.
        reason: String,
    },
}

/// A note in the tree, for wallet sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteEntry {
    /// Leaf position.
    pub position: u64,
    /// Commitment.
    pub commitment: Commitment,
    /// Encrypted note (hex).
    #[serde(with = "zkpay_protocol::field::serde_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^([0-9a-f]{2})*$"))]
    pub ciphertext: Vec<u8>,
    /// Batch that committed it.
    pub batch: u64,
}

/// Invoice status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceStatus {
    /// Whether a payment with this tag is known.
    pub paid: bool,
    /// The payment id (hex).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub payment: Option<String>,
    /// Its status.
    pub status: Option<PaymentStatus>,
}
