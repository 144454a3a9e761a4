//! Errors of the native protocol.

use thiserror::Error;

/// Every way a native protocol operation or a strict decoder can fail.
///
/// Each variant is specific so that the node can map it to a reason code and
/// the wallet to a clear message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A field element was not exactly one canonical spelling of a value < r.
    #[error("non-canonical field element: {0}")]
    NonCanonicalField(&'static str),
    /// A byte encoding had the wrong length.
    #[error("wrong length for {what}: expected {expected}, got {got}")]
    WrongLength {
        /// What was being decoded.
        what: &'static str,
        /// Expected number of bytes.
        expected: usize,
        /// Bytes actually given.
        got: usize,
    },
    /// Malformed encoding (not hex, bad tag, bad version byte, ...).
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        why: String,
    },
    /// Address problems (checksum, prefix, payload).
    #[error("invalid address: {0}")]
    Address(String),
    /// An address or request belongs to another network.
    #[error("network mismatch: expected {expected}, got {got}")]
    NetworkMismatch {
        /// The network in use.
        expected: String,
        /// The network found in the input.
        got: String,
    },
    /// Payment-request URI errors.
    #[error("invalid payment request: {0}")]
    Uri(#[from] crate::uri::UriError),
    /// The store beneath a tree failed or returned a malformed record.
    #[error("tree storage: {0}")]
    Storage(String),
    /// A tree is full.
    #[error("tree is full (capacity {capacity})")]
    TreeFull {
        /// Capacity of the tree.
        capacity: u64,
    },
    /// Position outside the tree or not yet filled.
    #[error("position {position} out of range (tree has {size} leaves)")]
    PositionOutOfRange {
        /// Requested position.
        position: u64,
        /// Current number of leaves.
        size: u64,
    },
    /// Tree depth outside the supported range.
    #[error("unsupported tree depth {0}")]
    BadDepth(usize),
    /// A Merkle path does not lead to the expected root.
    #[error("Merkle path does not verify")]
    BadPath,
    /// The nullifier is already present in the nullifier set.
    #[error("nullifier already spent")]
    NullifierSpent,
    /// A non-membership witness does not prove absence.
    #[error("bad non-membership witness: {0}")]
    BadNonMembership(&'static str),
    /// A public account's authorisation (debit signature) is missing or invalid.
    #[error("account authorisation: {0}")]
    Authorization(&'static str),
    /// The native payment statement does not hold.
    #[error("payment statement violated: {0}")]
    Payment(&'static str),
    /// The native batch statement does not hold.
    #[error("batch statement violated: {0}")]
    Batch(String),
    /// Note encryption failed (plaintext too long and similar).
    #[error("note encryption: {0}")]
    Encryption(&'static str),
    /// Value arithmetic out of range.
    #[error("value out of range: {0}")]
    ValueRange(&'static str),
    /// Poseidon parameter error (never expected with fixed arities).
    #[error("poseidon: {0}")]
    Poseidon(String),
}

/// Result alias of the protocol crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
