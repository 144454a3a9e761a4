//! # zkpay-wallet
//!
//! The wallet library behind the `zkpay` command: payment-request QR codes today; keys, sync,
//! paying and receipts as the node and prover land.
#![deny(missing_docs)]

pub mod qr;

use thiserror::Error;

/// Errors of the wallet library.
#[derive(Debug, Error)]
pub enum WalletError {
    /// A protocol-level error (bad URI, bad address, ...).
    #[error(transparent)]
    Protocol(#[from] zkpay_protocol::ProtocolError),
    /// The payload does not fit in a QR code.
    #[error("payload of {0} bytes does not fit in a QR code")]
    QrCapacity(usize),
}
