//! # zkpay-ledger
//!
//! The base ledger: the [`BaseLedger`] trait, and its embedded RocksDB implementation
//! ([`embedded::EmbeddedLedger`], the default).
//!
//! A ledger accepts batch `k` only if its parent is batch `k-1`, every payment's ext data hashes
//! to its `ext_data_hash` and names this network, every payment's note root is a recent committed
//! root, every debit of a public account carries its owner's signature and the account can pay
//! it, no asset's shielded pool goes below zero (turnstile), the chunks chain from the committed
//! state and commit to exactly the payments, and every chunk proof and payment proof verifies.
//! It keeps a hash-chained, append-only log of committed batches.
//!
//! The types a ledger takes and gives ([`PaymentSubmission`], [`CommittedBatch`], ...) live in
//! `zkpay-api`, so that wallets read them without compiling a ledger.
#![deny(missing_docs)]

pub mod embedded;
pub mod evm;
pub mod store;

pub use embedded::{EmbeddedLedger, LedgerLog};
pub use zkpay_api::ledger::{
    batch_hash_of, BatchSubmission, ChunkSubmission, CommittedBatch, CommittedNote, LedgerHead,
    PaymentSubmission,
};

use thiserror::Error;
use zkpay_protocol::account::DebitDomain;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::ChunkParams;
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::PublicAccount;
use zkpay_verifier::VerifierError;
/// Why the ledger refused something.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// The batch's number or parent does not extend the log.
    #[error(
        "batch {got} does not extend the log (expected number {expected} with parent {parent})"
    )]
    NotNext {
        /// Expected number.
        expected: u64,
        /// Number given.
        got: u64,
        /// Expected parent hash (hex).
        parent: String,
    },
    /// A payment is malformed or breaks a ledger rule.
    #[error("payment {index}: {why}")]
    Payment {
        /// Index in the batch.
        index: usize,
        /// Reason.
        why: String,
    },
    /// A public account cannot pay.
    #[error("payment {index}: insufficient public balance in {account} for asset {asset}")]
    InsufficientBalance {
        /// Index in the batch.
        index: usize,
        /// Account.
        account: String,
        /// Asset (hex).
        asset: String,
    },
    /// An asset's shielded pool would go below zero.
    #[error("payment {index}: turnstile: the pool of asset {asset} would go below zero")]
    Turnstile {
        /// Index in the batch.
        index: usize,
        /// Asset (hex).
        asset: String,
    },
    /// Proofs, chain or commitments are wrong.
    #[error(transparent)]
    Verify(#[from] VerifierError),
    /// Storage failure.
    #[error("storage: {0}")]
    Storage(String),
}

impl LedgerError {
    /// The index of the payment this refusal is about, when it is about one payment (the
    /// batcher fails that payment and proves the batch again without it).
    pub fn payment_index(&self) -> Option<usize> {
        match self {
            LedgerError::Payment { index, .. }
            | LedgerError::InsufficientBalance { index, .. }
            | LedgerError::Turnstile { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The refusal in words without the batch-relative payment index, for a payment's status.
    pub fn payment_reason(&self) -> String {
        match self {
            LedgerError::Payment { why, .. } => why.clone(),
            LedgerError::InsufficientBalance { account, asset, .. } => {
                format!("insufficient public balance in {account} for asset {asset}")
            }
            LedgerError::Turnstile { asset, .. } => {
                format!("turnstile: the pool of asset {asset} would go below zero")
            }
            other => other.to_string(),
        }
    }
}

impl From<rocksdb::Error> for LedgerError {
    fn from(e: rocksdb::Error) -> Self {
        LedgerError::Storage(e.to_string())
    }
}

impl From<store::StoreError> for LedgerError {
    fn from(e: store::StoreError) -> Self {
        LedgerError::Storage(e.to_string())
    }
}

/// What a base ledger offers the node and wallets.
pub trait BaseLedger: Send + Sync {
    /// The tip of the log.
    fn head(&self) -> Result<LedgerHead, LedgerError>;
    /// Note roots that payments may be proven against (newest last).
    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError>;
    /// Checks and commits the next batch.
    fn commit(&self, batch: &BatchSubmission) -> Result<CommittedBatch, LedgerError>;
    /// Applies the per-payment rules (authorisation, balances, turnstile, roots, encodings) to
    /// `payments` in order, as the next batch would, without proofs or chunks, and returns the
    /// refusal of each payment that would break one; the effects of refused payments are left
    /// out of the payments after them. The batcher drops these before proving.
    fn screen(
        &self,
        payments: &[PaymentSubmission],
    ) -> Result<Vec<(usize, LedgerError)>, LedgerError>;
    /// A committed batch.
    fn batch(&self, number: u64) -> Result<Option<CommittedBatch>, LedgerError>;
    /// Public balance of an account in an asset.
    fn balance(&self, account: &PublicAccount, asset: &AssetId) -> Result<u128, LedgerError>;
    /// Shielded pool balance of an asset.
    fn pool(&self, asset: &AssetId) -> Result<u128, LedgerError>;
    /// Payments queued on the ledger for forced inclusion that the next batch must lead with,
    /// in queue order (the escape hatch of a ledger that has one; none by default).
    fn forced(&self) -> Result<Vec<PaymentSubmission>, LedgerError> {
        Ok(Vec::new())
    }
    /// Before a batch is formed: makes sure no transaction of an earlier, uncommitted batch can
    /// still land (a ledger that sends transactions cancels it) and that [`Self::head`] is the
    /// ledger's. Nothing to do by default.
    fn settle(&self) -> Result<(), LedgerError> {
        Ok(())
    }
    /// How many queued payments wait for a batch (a cheap poll; none by default).
    fn forced_pending(&self) -> Result<u64, LedgerError> {
        Ok(0)
    }
    /// The EIP-712 domain of the debits this ledger pulls: a deposit's signature must be for
    /// it ([`zkpay_protocol::account::DebitDomain`]).
    fn debit_domain(&self) -> DebitDomain;
    /// Development faucet: credits a public account.
    fn faucet(
        &self,
        account: &PublicAccount,
        asset: &AssetId,
        amount: u64,
    ) -> Result<(), LedgerError>;
}

/// The rules of one payment that need no state but the recent roots, the same on every ledger:
/// its network, its ext data (hash, structure), ranges, the depositor's signature, a recent root.
pub fn check_payment_rules(
    index: usize,
    p: &PaymentSubmission,
    network: Network,
    domain: DebitDomain,
    roots: &[Root],
) -> Result<(), LedgerError> {
    let bad = |why: String| LedgerError::Payment { index, why };
    if p.ext.network != network {
        return Err(bad(format!(
            "for network {}, this ledger is {network}",
            p.ext.network
        )));
    }
    if p.ext.hash() != p.public.ext_data_hash {
        return Err(bad("ext data does not match ext_data_hash".into()));
    }
    p.ext
        .validate(p.public.public_value)
        .map_err(|e| bad(e.to_string()))?;
    p.public.check_ranges().map_err(|e| bad(e.to_string()))?;
    if p.ext.public_account == Some(PublicAccount::from_bytes([0; 20])) {
        // money paid to the zero address is burnt, and an EVM ledger reads it as "no account"
        return Err(bad("the public account is the zero address".into()));
    }
    p.check_authorization(domain)
        .map_err(|e| bad(e.to_string()))?;
    if !roots.contains(&p.public.note_root) {
        return Err(bad("note root is not a recent committed root".into()));
    }
    Ok(())
}

/// The head of a ledger before its first batch: number 0, hash
/// `SHA-256("zkpay/v1/genesis" || network id || depth || slots)`, the genesis state.
pub fn genesis_head(network: Network, params: ChunkParams) -> Result<LedgerHead, LedgerError> {
    use sha2::{Digest, Sha256};
    let state = zkpay_verifier::batch::ChainState::genesis(params)?;
    let mut h = Sha256::new();
    h.update(b"zkpay/v1/genesis");
    h.update(network.id().to_be_bytes());
    h.update((params.depth as u64).to_be_bytes());
    h.update((params.slots as u64).to_be_bytes());
    Ok(LedgerHead {
        number: 0,
        hash: h.finalize().into(),
        state,
    })
}

/// Configuration of a ledger.
#[derive(Clone, Debug)]
pub struct LedgerConfig {
    /// Network whose payments it accepts.
    pub network: Network,
    /// Rollup shape.
    pub params: ChunkParams,
    /// How many recent note roots payments may use.
    pub recent_roots: usize,
}

impl From<zkpay_api::ApiError> for LedgerError {
    fn from(e: zkpay_api::ApiError) -> Self {
        LedgerError::Storage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkpay_protocol::field::F;
    use zkpay_protocol::note::{Commitment, Nullifier};
    use zkpay_protocol::payment::{ExtData, PaymentPublic};

    fn submission(account: [u8; 20]) -> PaymentSubmission {
        let ext = ExtData {
            network: Network::Dev,
            fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
            public_account: Some(PublicAccount::from_bytes(account)),
            ciphertexts: [vec![], vec![]],
        };
        PaymentSubmission {
            public: PaymentPublic {
                note_root: Root::default(),
                nullifiers: [Nullifier(F::from(1u64)), Nullifier(F::from(2u64))],
                commitments: [Commitment(F::from(3u64)), Commitment(F::from(4u64))],
                asset: AssetId(F::from(5u64)),
                public_value: -7,
                fee: 0,
                ext_data_hash: ext.hash(),
                invoice_tag: F::from(0u64),
            },
            ext,
            proof: vec![],
            authorization: None,
        }
    }

    #[test]
    fn a_withdrawal_to_the_zero_address_is_refused() {
        let roots = [Root::default()];
        let domain = DebitDomain::embedded(Network::Dev);
        assert!(check_payment_rules(0, &submission([9; 20]), Network::Dev, domain, &roots).is_ok());
        let err =
            check_payment_rules(3, &submission([0; 20]), Network::Dev, domain, &roots).unwrap_err();
        assert_eq!(err.payment_index(), Some(3));
        assert!(err.to_string().contains("zero address"), "{err}");
    }
}
