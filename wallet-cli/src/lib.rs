//! # zkpay-wallet
//!
//! The wallet library behind the `zkpay` command: an encrypted wallet file, sync by trial
//! decryption, balances, payment requests with QR codes, paying (proving locally), receipts and
//! the shop-counter till. It speaks to a node over HTTP with the types of `zkpay-api` and does not
//! depend on the node's crate; the end-to-end demo is `zkpay-demo`.
#![deny(missing_docs)]

pub mod client;
pub mod qr;
pub mod receipt;
pub mod store;
pub mod till;
pub mod tx;
pub mod wallet;

use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use zkpay_protocol::address::Network;

/// Test hook: `ZKPAY_WALLET_CRASH_AT=<point>` aborts the process there (simulates `kill -9`).
/// Points: `after_submit` (the node accepted a payment, the wallet has not saved it),
/// `sync_batch:<n>` (batch n processed, not necessarily saved). Only in builds with the
/// `test-hooks` feature (the tests'); elsewhere it does nothing.
#[cfg(feature = "test-hooks")]
pub fn crash_point(name: &str) {
    if std::env::var("ZKPAY_WALLET_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("ZKPAY_WALLET_CRASH_AT={name}: aborting");
        std::process::abort();
    }
}

/// Without the `test-hooks` feature the crash points are compiled out.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn crash_point(_name: &str) {}

/// How long `--wait` waits for a payment to be committed.
pub fn default_wait() -> Duration {
    Duration::from_secs(600)
}

/// Exit codes of the `zkpay` command.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any other failure.
    pub const FAILURE: i32 = 1;
    /// Bad command line, or a question that needs a terminal.
    pub const USAGE: i32 = 2;
    /// The node refused the payment.
    pub const REJECTED: i32 = 3;
    /// Not enough funds.
    pub const INSUFFICIENT_FUNDS: i32 = 4;
    /// The node cannot be reached.
    pub const UNREACHABLE: i32 = 5;
    /// Wallet file: missing, wrong passphrase, corrupt, other network, watch-only.
    pub const WALLET: i32 = 6;
    /// The payment request (URI, QR image, amount, expiry, invoice) is not acceptable.
    pub const BAD_REQUEST: i32 = 7;
}

/// Errors of the wallet library.
#[derive(Debug, Error)]
pub enum WalletError {
    /// A protocol-level error (bad URI, bad address, ...).
    #[error(transparent)]
    Protocol(#[from] zkpay_protocol::ProtocolError),
    /// A payment request that does not parse.
    #[error("payment request: {0}")]
    Uri(#[from] zkpay_protocol::uri::UriError),
    /// The payload does not fit in a QR code.
    #[error("payload of {0} bytes does not fit in a QR code")]
    QrCapacity(usize),
    /// A QR image that cannot be read.
    #[error("QR image: {0}")]
    Qr(String),
    /// A payment that cannot be built.
    #[error("payment: {0}")]
    Plan(&'static str),
    /// A request the wallet refuses (amount 0, expired, already paid, ...).
    #[error("{0}")]
    Refused(String),
    /// Proving failed.
    #[error(transparent)]
    Prover(#[from] zkpay_prover::ProverError),
    /// The node answered something unexpected.
    #[error("node: {0}")]
    Node(String),
    /// The node refused a request.
    #[error("node refused ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Reason code.
        code: String,
        /// Message.
        message: String,
    },
    /// The node cannot be reached.
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// Not enough funds.
    #[error("insufficient funds: need {need} {asset}, have {have}")]
    InsufficientFunds {
        /// Asset.
        asset: String,
        /// Needed (formatted).
        need: String,
        /// Available (formatted).
        have: String,
    },
    /// Wrong passphrase (or a tampered file).
    #[error("wrong passphrase, or the wallet file was modified")]
    WrongPassphrase,
    /// No wallet in the data directory.
    #[error("no wallet in {0} (run `zkpay init` first, or pass --data-dir)")]
    NoWallet(PathBuf),
    /// Another process has the wallet open.
    #[error("the wallet in {0} is in use by another zkpay process")]
    Busy(PathBuf),
    /// A wallet already exists.
    #[error("a wallet already exists at {0}")]
    Exists(PathBuf),
    /// The wallet file cannot be read.
    #[error("wallet file: {0}")]
    Corrupt(String),
    /// File I/O.
    #[error("{0}: {1}")]
    Io(PathBuf, String),
    /// Networks disagree.
    #[error("network mismatch: the wallet is on {wallet}, {what} is on {other}")]
    NetworkMismatch {
        /// Wallet's network.
        wallet: Network,
        /// The other side's.
        other: Network,
        /// What the other side is.
        what: &'static str,
    },
    /// A spending operation on a watch-only wallet.
    #[error("this is a watch-only wallet: it cannot spend")]
    WatchOnly,
    /// The node proves with another key than the wallet.
    #[error("the node's payment key {node} differs from this wallet's {wallet}")]
    KeyMismatch {
        /// Node's key id.
        node: String,
        /// Wallet's key id.
        wallet: String,
    },
}

impl WalletError {
    /// The exit code of the `zkpay` command for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            WalletError::Rejected { .. } => exit::REJECTED,
            WalletError::InsufficientFunds { .. } => exit::INSUFFICIENT_FUNDS,
            WalletError::Unreachable(_) => exit::UNREACHABLE,
            WalletError::WrongPassphrase
            | WalletError::NoWallet(_)
            | WalletError::Exists(_)
            | WalletError::Busy(_)
            | WalletError::Corrupt(_)
            | WalletError::NetworkMismatch { .. }
            | WalletError::WatchOnly => exit::WALLET,
            WalletError::Uri(_)
            | WalletError::QrCapacity(_)
            | WalletError::Qr(_)
            | WalletError::Refused(_) => exit::BAD_REQUEST,
            _ => exit::FAILURE,
        }
    }
}
