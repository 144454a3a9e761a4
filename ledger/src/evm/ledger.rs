//! [`EvmLedger`]: the [`BaseLedger`] on a `ZkPayRollup` contract, for `zkpay-node --ledger evm`.
//!
//! The contract is the ledger: it checks every batch and holds the state. This client keeps a
//! copy of the confirmed log (rebuilt from the contract's events when it opens, so a node with a
//! fresh data directory starts from the chain alone), commits batches with a gas estimate,
//! waits for a confirmation depth, and sends again a batch that a reorganisation removed before
//! it was confirmed. A commit is idempotent: before sending, the contract's batch count and
//! roots decide whether the batch already landed (a crash after sending), and then it is read
//! back rather than sent twice.

use super::contracts::{TestToken, ZkPayRollup};
use super::rollup::{escrow_available, fe_u256, refusal, ForcedDrop, Rollup};
use super::EvmError;
use crate::{
    BaseLedger, BatchSubmission, CommittedBatch, LedgerError, LedgerHead, PaymentSubmission,
};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use zkpay_protocol::account::DebitDomain;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::ChunkParams;
use zkpay_protocol::field::F;
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::PublicAccount;
use zkpay_verifier::batch::{verify_batch, ChainState};
use zkpay_verifier::{decode_proof, Verifier, VerifierError};

/// How an [`EvmLedger`] reaches its contract.
#[derive(Clone, Debug)]
pub struct EvmLedgerConfig {
    /// JSON-RPC endpoint of the chain.
    pub rpc: String,
    /// The rollup contract.
    pub contract: Address,
    /// zkpay network (must be the contract's).
    pub network: Network,
    /// Tree depth and chunk size (must be the contract's).
    pub params: ChunkParams,
    /// Blocks a batch must be buried under (1: its own block) before it counts as committed.
    pub confirmations: u64,
    /// How long to wait for a sent batch to be mined before sending it again.
    pub inclusion_timeout: Duration,
}

/// The confirmed log, as the contract's events give it.
struct Log {
    genesis: LedgerHead,
    batches: Vec<CommittedBatch>,
    /// The block holding the last batch's event (0 without batches).
    last_block: u64,
    /// The batch that spent each nullifier of the log.
    spent: HashMap<F, u64>,
}

impl Log {
    fn head(&self) -> LedgerHead {
        match self.batches.last() {
            Some(b) => LedgerHead {
                number: b.number,
                hash: b.hash,
                state: b.state,
            },
            None => self.genesis,
        }
    }
}

/// The shortest escrow release delay (in blocks) a node accepts. A batch's deposits are checked
/// against the escrows less their pending releases right before every send, and a batch
/// transaction still pending after half the delay is checked again and replaced (same nonce):
/// a release asked for after a check needs the whole delay to leave. The floor leaves that
/// half-delay long enough for a transaction to be mined (32 blocks: over six minutes at 12
/// seconds a block).
pub const MIN_RELEASE_DELAY: u64 = 64;

/// What the deposits of a batch debit from each account's escrow, in order: a deposit is
/// covered when its account's escrow, less any release asked for (that part may leave before
/// the batch lands) and less the deposits before it, holds it.
#[derive(Default)]
struct EscrowTally(BTreeMap<(Address, [u8; 32]), U256>);

impl EscrowTally {
    /// Debits deposit `p` when its escrow covers it; `false`, debiting nothing, otherwise.
    async fn debit(
        &mut self,
        c: &super::contracts::ZkPayRollup::ZkPayRollupInstance<DynProvider>,
        p: &PaymentSubmission,
    ) -> Result<bool, EvmError> {
        let account = depositor(p);
        let key = (account, p.public.asset.to_bytes());
        let have = match self.0.get(&key) {
            Some(x) => *x,
            None => escrow_available(c, account, &p.public.asset).await?,
        };
        let need = U256::from(p.public.public_value.unsigned_abs());
        match have.checked_sub(need) {
            Some(left) => {
                self.0.insert(key, left);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The account a payment moves public value to or from (the zero address without one).
fn depositor(p: &PaymentSubmission) -> Address {
    Address::from(
        p.ext
            .public_account
            .map(|a| a.to_bytes())
            .unwrap_or_default(),
    )
}

/// A batch transaction sent and not yet seen confirmed: its nonce and fees.
#[derive(Clone, Copy, Debug)]
struct Outstanding {
    nonce: u64,
    max_fee: u128,
    priority_fee: u128,
}

impl Outstanding {
    /// A replacement: the same nonce, each fee a quarter (and 1 wei) above the larger of its
    /// own and the current estimate, but at most ten times the estimate (so that a long stall
    /// cannot compound the fees without bound) unless that is less than the 10 % more that
    /// nodes want to replace a transaction.
    fn replaced(&self, fees: &alloy::eips::eip1559::Eip1559Estimation) -> Self {
        let bump = |old: u128, now: u128| {
            let x = old.max(now);
            (x + x / 4 + 1).min(now.saturating_mul(10).max(old + old / 10 + 1))
        };
        let max_fee = bump(self.max_fee, fees.max_fee_per_gas);
        Self {
            nonce: self.nonce,
            max_fee,
            priority_fee: bump(self.priority_fee, fees.max_priority_fee_per_gas).min(max_fee),
        }
    }
}

/// The base ledger on an EVM chain.
pub struct EvmLedger {
    /// Its own runtime (`Option` only so that dropping can shut it down from any context).
    rt: Option<tokio::runtime::Runtime>,
    rollup: Rollup,
    provider: DynProvider,
    sender: Address,
    config: EvmLedgerConfig,
    window: usize,
    /// The debits the contract pulls: this chain's id and the contract.
    domain: DebitDomain,
    log: Mutex<Log>,
    write_lock: Mutex<()>,
    /// The last batch transaction sent and not seen confirmed: the next send replaces it (same
    /// nonce, higher fees), so that a stale batch, screened against an older state, cannot land
    /// behind the node's back.
    outstanding: Mutex<Option<Outstanding>>,
    /// Blocks a batch transaction may stay pending before it is screened again and replaced:
    /// half the contract's escrow release delay (a release asked for after the screening needs
    /// the whole delay to leave).
    max_pending_blocks: u64,
    payment_verifier: Verifier,
    chunk_verifier: Verifier,
}

impl std::fmt::Debug for EvmLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EvmLedger({} at {})",
            self.config.contract, self.config.rpc
        )
    }
}

fn storage(e: EvmError) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, LedgerError> {
    m.lock()
        .map_err(|_| LedgerError::Storage("lock poisoned".into()))
}

/// A contract refusal as the ledger's refusal: payment rules name their payment (the batcher
/// fails it and proves the rest again); everything else refuses the batch.
fn refused(e: ZkPayRollup::ZkPayRollupErrors) -> LedgerError {
    use ZkPayRollup::ZkPayRollupErrors as E;
    let payment = |index: U256, why: String| LedgerError::Payment {
        index: usize::try_from(index).unwrap_or(usize::MAX),
        why,
    };
    match e {
        E::BadPayment(x) => payment(x.index, x.why),
        E::RootNotRecent(x) => payment(x.index, "note root is not a recent committed root".into()),
        E::InvoiceAlreadyPaid(x) => payment(x.index, "the invoice was paid before".into()),
        E::BadAuthorization(x) => payment(
            x.index,
            "the debited account's signature is missing or wrong".into(),
        ),
        E::Turnstile(x) => payment(
            x.index,
            "turnstile: the pool of the asset would go below zero".into(),
        ),
        E::EscrowShort(x) => payment(
            x.index,
            "the depositor's escrow does not cover the deposit".into(),
        ),
        // not this batch's fault: the queue or the sender; the batch is tried again later
        e @ (E::ForcedOverdue(_) | E::NotSequencer(_) | E::Reentered(_)) => LedgerError::Storage(
            format!("the rollup contract refused the batch for now: {e:?}"),
        ),
        other => LedgerError::Verify(VerifierError::BatchMismatch(format!(
            "the rollup contract refused the batch: {other:?}"
        ))),
    }
}

impl EvmLedger {
    /// Connects to the contract, checks that it is a rollup of this network and shape whose keys
    /// are the verifiers' and whose genesis is this network's, and reads its confirmed log from
    /// its events, verifying every batch with the verifiers (an RPC node can withhold batches,
    /// never make this ledger accept a false one). `signer` pays for and sends the commits (the
    /// contract's sequencer).
    pub fn open(
        config: EvmLedgerConfig,
        signer: PrivateKeySigner,
        payment_verifier: &Verifier,
        chunk_verifier: &Verifier,
    ) -> Result<Self, LedgerError> {
        let payment_vk = &payment_verifier.info().vk;
        let chunk_vk = &chunk_verifier.info().vk;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("zkpay-evm")
            .enable_all()
            .build()
            .map_err(|e| LedgerError::Storage(format!("runtime: {e}")))?;
        let url = config
            .rpc
            .parse()
            .map_err(|e| LedgerError::Storage(format!("--rpc {}: {e}", config.rpc)))?;
        let sender = signer.address();
        // the nonce read from the chain for every transaction: another process sending from
        // the same account (a deployment, an operator's transfer) must not stall the commits
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer)
            .connect_http(url)
            .erased();
        let rollup = Rollup::at(
            config.contract,
            provider.clone(),
            config.network,
            config.params,
        );
        let mut ledger = Self {
            rt: Some(rt),
            rollup,
            provider,
            sender,
            window: 1,
            domain: DebitDomain::embedded(config.network),
            log: Mutex::new(Log {
                genesis: crate::genesis_head(config.network, config.params)?,
                batches: vec![],
                last_block: 0,
                spent: HashMap::new(),
            }),
            config,
            write_lock: Mutex::new(()),
            outstanding: Mutex::new(None),
            max_pending_blocks: MIN_RELEASE_DELAY / 2,
            payment_verifier: payment_verifier.clone(),
            chunk_verifier: chunk_verifier.clone(),
        };
        let genesis_root = fe_u256(&lock(&ledger.log)?.genesis.state.note_root.0);
        let (r, pv, cv) = (ledger.rollup.clone(), payment_vk.clone(), chunk_vk.clone());
        let p = ledger.provider.clone();
        let (window, domain, delay) = ledger.run(async move {
            r.check(&pv, &cv).await?;
            // the debits it pulls are signed for this chain and this contract
            let domain = DebitDomain {
                chain_id: p
                    .get_chain_id()
                    .await
                    .map_err(|e| EvmError::Chain(e.to_string()))?,
                verifying_contract: PublicAccount::from_bytes(r.address().into_array()),
            };
            let separator = r
                .contract()
                .domainSeparator()
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            if separator.0 != domain.separator() {
                return Err(EvmError::Contract(
                    "the contract's EIP-712 domain is not this chain's and this contract's".into(),
                ));
            }
            // its genesis is this network's: the empty trees' roots
            let seq = r
                .contract()
                .rootSeq(genesis_root)
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            if seq != U256::from(1) {
                return Err(EvmError::Contract(
                    "the contract's genesis note root is not this network's".into(),
                ));
            }
            let w = r
                .contract()
                .rootWindow()
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            // a deposit's escrow stays debitable for the release delay after the screening:
            // the batch must land within it
            let delay = r
                .contract()
                .releaseDelay()
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            if delay < U256::from(MIN_RELEASE_DELAY) {
                return Err(EvmError::Contract(format!(
                    "the contract's release delay ({delay} blocks) is shorter than the \
                     {MIN_RELEASE_DELAY} blocks a batch may take from screening to inclusion: \
                     a depositor could take its escrow back before the batch lands"
                )));
            }
            Ok((
                usize::try_from(w).unwrap_or(usize::MAX),
                domain,
                u64::try_from(delay).unwrap_or(u64::MAX),
            ))
        })?;
        ledger.window = window;
        ledger.domain = domain;
        ledger.max_pending_blocks = delay / 2;
        ledger.sync()?;
        Ok(ledger)
    }

    /// The rollup contract's client.
    pub fn rollup(&self) -> &Rollup {
        &self.rollup
    }

    /// Runs a chain call on this ledger's own runtime and waits for it (callable from any
    /// thread, a runtime's included).
    fn run<T, Fut>(&self, fut: Fut) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, EvmError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| LedgerError::Storage("the chain client stopped".into()))?;
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| LedgerError::Storage("the chain client stopped".into()))?
            .map_err(storage)
    }

    /// Brings the confirmed log up to the chain (batches buried under `confirmations - 1`
    /// blocks): reads the events after the last batch held, from its block on, and verifies
    /// each new batch (its chunks chain from the state before it and every payment and chunk
    /// proof verifies under the pinned keys). If the new events do not chain onto the log (a
    /// reorganisation deeper than the confirmation depth), the whole log is read again from
    /// genesis and verified where it differs.
    pub fn sync(&self) -> Result<(), LedgerError> {
        let (after, last_block) = {
            let log = lock(&self.log)?;
            (log.batches.last().cloned(), log.last_block)
        };
        match self.read_after(after.map(|b| (b, last_block))) {
            Ok(new) => {
                let mut log = lock(&self.log)?;
                self.append_verified(&mut log, new, true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the chain's new batches do not follow the log: reading it again from genesis");
                let all = self.read_after(None)?;
                let mut log = lock(&self.log)?;
                self.append_verified(&mut log, all, false)
            }
        }
    }

    /// The confirmed batches after `after` (with its event's block), each with its block.
    fn read_after(
        &self,
        after: Option<(CommittedBatch, u64)>,
    ) -> Result<Vec<(CommittedBatch, u64)>, LedgerError> {
        let (r, p, depth) = (
            self.rollup.clone(),
            self.provider.clone(),
            self.config.confirmations.max(1) - 1,
        );
        let state = match &after {
            Some((b, _)) => b.state,
            None => lock(&self.log)?.genesis.state,
        };
        let batches = self.run(async move {
            let latest = p
                .get_block_number()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            r.committed_batches_after(
                after.as_ref().map(|(b, block)| (b, *block)),
                Some(latest.saturating_sub(depth)),
            )
            .await
        })?;
        let mut state = state;
        for (b, _) in &batches {
            state = self.verified(state, b)?;
        }
        Ok(batches)
    }

    /// The state after `b`, which must verify from `state`.
    fn verified(&self, state: ChainState, b: &CommittedBatch) -> Result<ChainState, LedgerError> {
        let bad = |why: String| {
            LedgerError::Storage(format!(
                "batch {} from the chain does not verify: {why}",
                b.number
            ))
        };
        let decode = |proof: &[u8]| decode_proof(proof).map_err(|e| bad(e.to_string()));
        let payments = b
            .payments
            .iter()
            .map(|p| Ok((p.public.clone(), decode(&p.proof)?)))
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let chunks = b
            .chunks
            .iter()
            .map(|c| Ok((c.public, decode(&c.proof)?)))
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let after = verify_batch(
            &self.chunk_verifier,
            &self.payment_verifier,
            self.config.params.slots,
            state,
            &payments,
            &chunks,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| bad(e.to_string()))?;
        if after != b.state {
            return Err(bad("its state is not what its chunks give".into()));
        }
        Ok(after)
    }

    /// Puts verified batches in the log: after its last batch (`extend`), or in place of the
    /// whole log.
    fn append_verified(
        &self,
        log: &mut Log,
        batches: Vec<(CommittedBatch, u64)>,
        extend: bool,
    ) -> Result<(), LedgerError> {
        if !extend {
            log.batches.clear();
            log.last_block = 0;
            log.spent.clear();
        }
        // a concurrent sync may have appended some of these already
        for (b, block) in batches {
            if b.number == log.batches.len() as u64 + 1 {
                log.last_block = block;
                for p in &b.payments {
                    for n in p.public.nullifiers {
                        log.spent.insert(n.0, b.number);
                    }
                }
                log.batches.push(b);
            }
        }
        Ok(())
    }

    /// Waits until the confirmed log holds batch `number` (it is on chain, not yet buried).
    fn wait_confirmed(&self, number: u64) -> Result<(), LedgerError> {
        let deadline = std::time::Instant::now()
            + self.config.inclusion_timeout * (self.config.confirmations.max(1) as u32 + 1);
        loop {
            self.sync()?;
            if lock(&self.log)?.batches.len() as u64 >= number {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(LedgerError::Storage(format!(
                    "batch {number} is on chain but not confirmed in time"
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The drop of queue entry `index`, whose payment is `p`, if a batch of the confirmed log
    /// spent one of its nullifiers.
    fn spent_by(
        &self,
        index: u64,
        p: &PaymentSubmission,
    ) -> Result<Option<ForcedDrop>, LedgerError> {
        let log = lock(&self.log)?;
        let mine = p.public.nullifiers.map(|n| n.0);
        let Some(batch) = mine.iter().find_map(|n| log.spent.get(n).copied()) else {
            return Ok(None);
        };
        let Some(b) = log.batches.get(batch.saturating_sub(1) as usize) else {
            return Ok(None);
        };
        let nullifiers: Vec<F> = b
            .payments
            .iter()
            .flat_map(|q| q.public.nullifiers.map(|n| n.0))
            .collect();
        Ok(nullifiers
            .iter()
            .position(|n| mine.contains(n))
            .map(|k| ForcedDrop {
                index,
                batch,
                nullifiers,
                k,
            }))
    }

    /// The first deposit of `payments` whose account's escrow, less any release it has asked
    /// for, no longer covers it (with the deposits before it of the same account and asset):
    /// checked right before every send, since the screening may be a proving time old.
    pub fn unbacked_deposit(
        &self,
        payments: &[PaymentSubmission],
    ) -> Result<Option<(usize, LedgerError)>, LedgerError> {
        let deposits: Vec<(usize, PaymentSubmission)> = payments
            .iter()
            .enumerate()
            .filter(|(_, p)| p.public.public_value > 0)
            .map(|(i, p)| (i, p.clone()))
            .collect();
        if deposits.is_empty() {
            return Ok(None);
        }
        let r = self.rollup.clone();
        self.run(async move {
            let mut tally = EscrowTally::default();
            for (index, p) in deposits {
                if !tally.debit(r.contract(), &p).await? {
                    return Ok(Some((
                        index,
                        LedgerError::Payment {
                            index,
                            why: "the depositor's escrow, less the release it asked for, no \
                                  longer covers the deposit"
                                .into(),
                        },
                    )));
                }
            }
            Ok(None)
        })
    }

    /// Sends a batch and waits until it is buried under the confirmation depth: `Some` with the
    /// block it landed in, `None` when it was not mined in time (the inclusion timeout, or
    /// `max_pending_blocks` blocks), a reorganisation removed it, or another transaction took
    /// its nonce (the caller reads the chain again). Every send first checks the deposits'
    /// escrows again ([`Self::unbacked_deposit`]) and replaces the outstanding batch
    /// transaction, if any (same nonce, fees a quarter above both its fees and the estimate,
    /// at most ten times the estimate). Before a refusal makes the node change the batch, the
    /// outstanding transaction is cancelled ([`Self::cancel_outstanding`]).
    fn send_and_confirm(&self, batch: &BatchSubmission) -> Result<Option<u64>, LedgerError> {
        if let Some((_, e)) = self.unbacked_deposit(&batch.payments)? {
            return self.refuse(batch.number, e);
        }
        // the queue entries this batch consumes: the dead ones and those it leads with
        let (r, ids) = (
            self.rollup.clone(),
            batch.payments.iter().map(|p| p.id()).collect::<Vec<_>>(),
        );
        let forced = self.run(async move { r.forced_count(&ids).await })?;
        let call = self
            .rollup
            .batch_call(batch, forced as usize)
            .map_err(storage)?;
        let (r, p, from) = (self.rollup.clone(), self.provider.clone(), self.sender);
        let (confirmations, timeout, max_pending) = (
            self.config.confirmations.max(1),
            self.config.inclusion_timeout,
            self.max_pending_blocks.max(1),
        );
        let chain = |e: alloy::transports::TransportError| EvmError::Chain(e.to_string());
        let reuse = *lock(&self.outstanding)?;
        let (attempted, outcome) = self.run(async move {
            let builder = r
                .contract()
                .commitBatch(call.payments, call.chunks, call.forcedCount);
            let gas = match builder.estimate_gas().await {
                Ok(g) => g,
                Err(e) => return Ok((None, Err(e))),
            };
            let mined = p
                .get_transaction_count(from)
                .latest()
                .await
                .map_err(chain)?;
            let fees = p.estimate_eip1559_fees().await.map_err(chain)?;
            let tx = match reuse {
                // replace the outstanding transaction while its nonce is not used yet
                Some(o) if o.nonce >= mined => o.replaced(&fees),
                _ => Outstanding {
                    nonce: p
                        .get_transaction_count(from)
                        .pending()
                        .await
                        .map_err(chain)?,
                    max_fee: fees.max_fee_per_gas,
                    priority_fee: fees.max_priority_fee_per_gas,
                },
            };
            // a margin over the estimate: anvil's can be short of what the pairing precompile
            // needs under the 63/64 rule
            let pending = match builder
                .gas(gas + gas / 5)
                .nonce(tx.nonce)
                .max_fee_per_gas(tx.max_fee)
                .max_priority_fee_per_gas(tx.priority_fee)
                .send()
                .await
            {
                Ok(p) => p,
                // kept as tried: a send refused as underpriced is bumped again next time
                Err(e) => return Ok((Some(tx), Err(e))),
            };
            let hash = *pending.tx_hash();
            let deadline = tokio::time::Instant::now() + timeout;
            let sent_at = p.get_block_number().await.map_err(chain)?;
            let mut nonce_used = 0u32;
            let receipt = loop {
                if let Some(r) = p.get_transaction_receipt(hash).await.map_err(chain)? {
                    break r;
                }
                // not mined in time: checked again, and replaced if its nonce is still unused
                if tokio::time::Instant::now() > deadline
                    || p.get_block_number().await.map_err(chain)? >= sent_at + max_pending
                {
                    return Ok((Some(tx), Ok(None)));
                }
                // its nonce used, by it (its receipt comes) or by another transaction (an
                // earlier version of this batch): after a grace for the receipt, the caller
                // reads the chain
                if p.get_transaction_count(from)
                    .latest()
                    .await
                    .map_err(chain)?
                    > tx.nonce
                {
                    nonce_used += 1;
                    if nonce_used > 25 {
                        return Ok((Some(tx), Ok(None)));
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            if !receipt.status() {
                return Err(EvmError::Contract(format!(
                    "batch transaction {hash} reverted"
                )));
            }
            let block = receipt.block_number.unwrap_or_default();
            loop {
                let latest = p.get_block_number().await.map_err(chain)?;
                if latest + 1 >= block + confirmations {
                    break;
                }
                if tokio::time::Instant::now() > deadline + timeout * (confirmations as u32) {
                    return Ok((Some(tx), Ok(None)));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // still in the chain, in the same block?
            match p.get_transaction_receipt(hash).await.map_err(chain)? {
                Some(again) if again.block_hash == receipt.block_hash => {
                    Ok((None, Ok(Some(block))))
                }
                _ => Ok((Some(tx), Ok(None))),
            }
        })?;
        match outcome {
            Ok(landed) => {
                // not confirmed: the next send replaces this transaction
                *lock(&self.outstanding)? = attempted;
                Ok(landed)
            }
            Err(e) => {
                if attempted.is_some() {
                    *lock(&self.outstanding)? = attempted;
                }
                match refusal(&e) {
                    Some(err) => self.refuse(batch.number, refused(err)),
                    None => Err(LedgerError::Storage(format!("chain: {e}"))),
                }
            }
        }
    }

    /// Batch `number` is refused (`e`): before the node changes it, the outstanding
    /// transaction is cancelled. If the chain has a batch `number` by then (this one or an
    /// earlier version of it landed, and the refusal only saw its effects), `None` makes the
    /// caller read the chain again instead of refusing.
    fn refuse(&self, number: u64, e: LedgerError) -> Result<Option<u64>, LedgerError> {
        self.cancel_outstanding()?;
        let r = self.rollup.clone();
        if self.run(async move { r.state().await })?.batches >= number {
            return Ok(None);
        }
        Err(e)
    }

    /// Replaces the outstanding batch transaction, while its nonce is unused, by a transfer of
    /// nothing to the sender, and waits until that nonce is mined (at most twice the inclusion
    /// timeout): an earlier version of a batch, screened against an older state, must not land
    /// after the node has changed the batch.
    fn cancel_outstanding(&self) -> Result<(), LedgerError> {
        let Some(o) = *lock(&self.outstanding)? else {
            return Ok(());
        };
        let (p, from) = (self.provider.clone(), self.sender);
        let timeout = self.config.inclusion_timeout * 2;
        let chain = |e: alloy::transports::TransportError| EvmError::Chain(e.to_string());
        let pending = self.run(async move {
            if p.get_transaction_count(from)
                .latest()
                .await
                .map_err(chain)?
                > o.nonce
            {
                return Ok(None);
            }
            let fees = p.estimate_eip1559_fees().await.map_err(chain)?;
            let c = o.replaced(&fees);
            let cancel = alloy::rpc::types::TransactionRequest::default()
                .from(from)
                .to(from)
                .value(U256::ZERO)
                .nonce(c.nonce)
                .gas_limit(21_000)
                .max_fee_per_gas(c.max_fee)
                .max_priority_fee_per_gas(c.priority_fee);
            if let Err(e) = p.send_transaction(cancel).await {
                // the outstanding one may have been mined meanwhile: the nonce decides
                tracing::warn!(error = %e, nonce = c.nonce, "cancelling a batch transaction");
            }
            let deadline = tokio::time::Instant::now() + timeout;
            while p
                .get_transaction_count(from)
                .latest()
                .await
                .map_err(chain)?
                <= o.nonce
            {
                if tokio::time::Instant::now() > deadline {
                    return Ok(Some(c));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(None)
        })?;
        // still pending: the cancellation is what the next send or cancellation replaces
        *lock(&self.outstanding)? = pending;
        match pending {
            None => Ok(()),
            Some(c) => Err(LedgerError::Storage(format!(
                "an earlier batch transaction (nonce {}) is still pending",
                c.nonce
            ))),
        }
    }

    /// The committed batch `number` if the confirmed log has it and it is `batch`.
    fn landed(&self, batch: &BatchSubmission) -> Result<Option<CommittedBatch>, LedgerError> {
        let log = lock(&self.log)?;
        let Some(b) = log.batches.get(batch.number.saturating_sub(1) as usize) else {
            return Ok(None);
        };
        let same = b
            .payments
            .iter()
            .map(|p| p.id())
            .eq(batch.payments.iter().map(|p| p.id()))
            && b.chunks
                .iter()
                .map(|c| c.public)
                .eq(batch.chunks.iter().map(|c| c.public));
        if same {
            Ok(Some(b.clone()))
        } else {
            let head = log.head();
            Err(LedgerError::NotNext {
                expected: head.number + 1,
                got: batch.number,
                parent: hex::encode(head.hash),
            })
        }
    }
}

impl Drop for EvmLedger {
    fn drop(&mut self) {
        // a runtime dropped inside another runtime's task would panic; this never blocks
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl BaseLedger for EvmLedger {
    fn head(&self) -> Result<LedgerHead, LedgerError> {
        Ok(lock(&self.log)?.head())
    }

    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError> {
        let log = lock(&self.log)?;
        let mut roots: Vec<Root> = std::iter::once(log.genesis.state.note_root)
            .chain(log.batches.iter().map(|b| b.state.note_root))
            .collect();
        let keep = roots.len().saturating_sub(self.window);
        roots.drain(..keep);
        Ok(roots)
    }

    fn commit(&self, batch: &BatchSubmission) -> Result<CommittedBatch, LedgerError> {
        let _guard = lock(&self.write_lock)?;
        for _ in 0..4u32 {
            // did it land already (a retry after a crash, a send whose answer was lost, a
            // transaction mined after its timeout or put back by a reorganisation)? The
            // contract's batch count decides; the confirmed log then says whether it is this one
            let r = self.rollup.clone();
            let on_chain = self.run(async move { r.state().await })?;
            if on_chain.batches >= batch.number {
                self.wait_confirmed(batch.number)?;
            } else if on_chain.batches as usize != lock(&self.log)?.batches.len() {
                self.sync()?;
            }
            if let Some(b) = self.landed(batch)? {
                return Ok(b);
            }
            let head = lock(&self.log)?.head();
            if batch.number != head.number + 1 || batch.parent != head.hash {
                return Err(LedgerError::NotNext {
                    expected: head.number + 1,
                    got: batch.number,
                    parent: hex::encode(head.hash),
                });
            }
            match self.send_and_confirm(batch)? {
                Some(block) => {
                    tracing::info!(
                        "batch {} committed to {} in block {block}",
                        batch.number,
                        self.config.contract
                    );
                    self.sync()?;
                    if let Some(b) = self.landed(batch)? {
                        return Ok(b);
                    }
                }
                None => tracing::warn!(
                    "batch {} was not confirmed (not mined in time, or removed by a \
                     reorganisation); checking the chain and sending it again",
                    batch.number
                ),
            }
        }
        Err(LedgerError::Storage(format!(
            "batch {} could not be confirmed on the chain",
            batch.number
        )))
    }

    fn screen(
        &self,
        payments: &[PaymentSubmission],
    ) -> Result<Vec<(usize, LedgerError)>, LedgerError> {
        let roots = self.recent_roots()?;
        let mut refused_list = Vec::new();
        let mut checked = Vec::new();
        for (index, p) in payments.iter().enumerate() {
            match crate::check_payment_rules(index, p, self.config.network, self.domain, &roots) {
                Ok(()) => checked.push((index, p.clone())),
                Err(e) => refused_list.push((index, e)),
            }
        }
        let r = self.rollup.clone();
        let chain = |e: alloy::contract::Error| EvmError::Chain(e.to_string());
        let more = self.run(async move {
            let c = r.contract();
            let mut out = Vec::new();
            let mut invoices = std::collections::HashSet::new();
            // what earlier deposits of the list debit from each escrow; per asset: the pool
            let mut escrows = EscrowTally::default();
            let mut pools: BTreeMap<U256, i128> = BTreeMap::new();
            for (index, p) in checked {
                let bad = |why: &str| LedgerError::Payment {
                    index,
                    why: why.into(),
                };
                let q = &p.public;
                if let Some(tag) = q.invoice() {
                    let t = fe_u256(&tag);
                    if invoices.contains(&t) || c.invoicePaid(t).call().await.map_err(chain)? {
                        out.push((index, bad("the invoice was paid before")));
                        continue;
                    }
                    invoices.insert(t);
                }
                let asset = fe_u256(&q.asset.0);
                if q.public_value == 0 && q.fee == 0 {
                    continue;
                }
                let info = c.assets(asset).call().await.map_err(chain)?;
                if info.token == Address::ZERO {
                    out.push((index, bad("the asset has no token on this chain")));
                    continue;
                }
                let pool = match pools.get(&asset) {
                    Some(v) => *v,
                    None => i128::try_from(c.pool(asset).call().await.map_err(chain)?)
                        .unwrap_or(i128::MAX),
                };
                let after = pool + q.public_value - i128::from(q.fee);
                if after < 0 {
                    out.push((
                        index,
                        bad("turnstile: the pool of the asset would go below zero"),
                    ));
                    continue;
                }
                if q.public_value > 0 && !escrows.debit(c, &p).await? {
                    out.push((
                        index,
                        LedgerError::InsufficientBalance {
                            index,
                            account: PublicAccount::from_bytes(depositor(&p).into_array()).to_hex(),
                            asset: q.asset.to_hex(),
                        },
                    ));
                    continue;
                }
                pools.insert(asset, after);
            }
            Ok(out)
        })?;
        refused_list.extend(more);
        refused_list.sort_by_key(|(i, _)| *i);
        Ok(refused_list)
    }

    /// The live queue entries. An entry whose nullifier a committed batch has already spent can
    /// never be included (anyone may queue a copy of a committed payment, or a second spend of
    /// a spent note, while its root is recent), yet a batch must consume it once it is overdue:
    /// it is marked dead on the contract here (`dropForced`, with that batch as evidence) and
    /// left out.
    fn forced(&self) -> Result<Vec<PaymentSubmission>, LedgerError> {
        // the spending batch may be one this ledger has not read yet
        self.sync()?;
        let r = self.rollup.clone();
        let entries =
            self.run(async move { r.forced_entries(super::rollup::MAX_FORCED_PER_BATCH).await })?;
        let mut live = Vec::new();
        let mut drops = Vec::new();
        for e in entries {
            let Some(p) = e.payment else { continue };
            match self.spent_by(e.index, &p)? {
                Some(d) => drops.push(d),
                None => live.push(p),
            }
        }
        if !drops.is_empty() {
            tracing::warn!(
                entries = ?drops.iter().map(|d| d.index).collect::<Vec<_>>(),
                "queued payments spend nullifiers of committed batches: dropping them"
            );
            // sent together and waited for once, for inclusion only: a drop a reorganisation
            // undoes is found and sent again; one that does not land is tried again next time
            let (r, timeout) = (self.rollup.clone(), self.config.inclusion_timeout);
            let failed = self.run(async move { Ok(r.drop_forced(&drops, timeout).await) })?;
            for (index, e) in failed {
                tracing::warn!(entry = index, error = %e, "dropping a spent queue entry failed");
            }
        }
        Ok(live)
    }

    /// Cancels the outstanding batch transaction, if any (a commit that gave up leaves it in the
    /// pool, where it could land after the node changed the batch), and reads the chain.
    fn settle(&self) -> Result<(), LedgerError> {
        self.cancel_outstanding()?;
        self.sync()
    }

    fn forced_pending(&self) -> Result<u64, LedgerError> {
        let r = self.rollup.clone();
        self.run(async move {
            let n = r
                .contract()
                .forcedPending()
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
    }

    fn batch(&self, number: u64) -> Result<Option<CommittedBatch>, LedgerError> {
        let log = lock(&self.log)?;
        Ok(number
            .checked_sub(1)
            .and_then(|i| log.batches.get(i as usize))
            .cloned())
    }

    /// What the account's deposits can draw on: its escrow in the contract, less any release
    /// it has asked for, in asset units (tokens it holds outside the escrow do not count).
    fn balance(&self, account: &PublicAccount, asset: &AssetId) -> Result<u128, LedgerError> {
        let r = self.rollup.clone();
        let (who, asset) = (Address::from(account.to_bytes()), *asset);
        self.run(async move {
            let have = escrow_available(r.contract(), who, &asset).await?;
            Ok(u128::try_from(have).unwrap_or(u128::MAX))
        })
    }

    fn pool(&self, asset: &AssetId) -> Result<u128, LedgerError> {
        let r = self.rollup.clone();
        let a = fe_u256(&asset.0);
        self.run(async move {
            let v = r
                .contract()
                .pool(a)
                .call()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            Ok(u128::try_from(v).unwrap_or(u128::MAX))
        })
    }

    fn debit_domain(&self) -> DebitDomain {
        self.domain
    }

    /// Development faucet: mints the asset's test token to the account (only a `TestToken`
    /// mints for anyone; a real token refuses, and so does this faucet).
    fn faucet(
        &self,
        account: &PublicAccount,
        asset: &AssetId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        let (r, p) = (self.rollup.clone(), self.provider.clone());
        let (who, a) = (Address::from(account.to_bytes()), fe_u256(&asset.0));
        self.run(async move {
            let chain = |e: alloy::contract::Error| EvmError::Chain(e.to_string());
            let info = r.contract().assets(a).call().await.map_err(chain)?;
            if info.token == Address::ZERO {
                return Err(EvmError::Contract(
                    "the asset has no token on this chain".into(),
                ));
            }
            TestToken::new(info.token, &p)
                .mint(who, U256::from(amount) * info.scale)
                .send()
                .await
                .map_err(chain)?
                .get_receipt()
                .await
                .map_err(|e| EvmError::Chain(e.to_string()))?;
            Ok(())
        })
    }
}
