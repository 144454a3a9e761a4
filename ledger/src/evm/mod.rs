//! The EVM base ledger's building blocks: the contracts compiled from `contracts/src` by the
//! pinned solc (`contracts/out`, checked against the sources by `make test`), the encodings the
//! contracts read, and a local `anvil` chain for tests and `make demo-evm`.
//!
//! `ZkPayRollup` is the base ledger on chain ([`rollup`] is its client);
//! `Groth16BatchVerifier` checks many proofs of one or two keys with one call to the pairing
//! precompile (random linear combination, coefficients by keccak over every proof and input).

pub mod chain;
pub mod encode;
pub mod ledger;
pub mod plain;
pub mod rollup;

use thiserror::Error;

/// Why an EVM operation failed.
#[derive(Debug, Error)]
pub enum EvmError {
    /// The `anvil` binary is missing or would not start.
    #[error("anvil: {0}")]
    Anvil(String),
    /// The RPC node refused or failed a call.
    #[error("chain: {0}")]
    Chain(String),
    /// A contract reverted or answered something unexpected.
    #[error("contract: {0}")]
    Contract(String),
}

/// Bindings of the contracts (ABI and bytecode from `contracts/out`).
pub mod contracts {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        Groth16BatchVerifier,
        "../contracts/out/Groth16BatchVerifier.json"
    );

    alloy::sol!(
        #[allow(missing_docs, clippy::too_many_arguments)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        ZkPayRollup,
        "../contracts/out/ZkPayRollup.json"
    );

    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        TestToken,
        "../contracts/out/TestToken.json"
    );

    alloy::sol! {
        /// The plain verifier of the payment key (10 public inputs), see [`super::plain`].
        #[allow(missing_docs)]
        #[sol(rpc)]
        interface PaymentPlainVerifier {
            function verifyProof(uint256[8] calldata proof, uint256[10] calldata input) external view;
        }
    }
}
