//! The client of `ZkPayRollup` (`contracts/src/ZkPayRollup.sol`): deployment, the calldata of a
//! batch, committing with a gas estimate and a confirmation depth, reading the state, and
//! rebuilding the committed batches from the contract's events.
//!
//! The contract builds every public input itself; what the node sends is the payments (public
//! values, ext data, signature, proof) and, per chunk, the new roots and the proof. Events carry
//! the same, so a node or wallet rebuilds the log from the chain alone.

use super::contracts::ZkPayRollup::{self, ZkPayRollupInstance};
use super::encode::{proof_of_words, proof_words, scalar_word, vk_bytes, Word};
use super::EvmError;
use crate::{batch_hash_of, BatchSubmission, ChunkSubmission, CommittedBatch, PaymentSubmission};
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use zkpay_protocol::account::DebitSignature;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::{BatchPublic, ChunkParams};
use zkpay_protocol::field::{fe_from_bytes, F};
use zkpay_protocol::note::{AssetId, Commitment, Nullifier, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic, PublicAccount};
use zkpay_verifier::batch::ChainState;
use zkpay_verifier::{decode_proof, encode_proof, VerifyingKey};

/// The parameters a rollup contract is deployed with.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// zkpay network (in every ext data).
    pub network: Network,
    /// Tree depth and chunk size (the chunk key must be of this shape).
    pub params: ChunkParams,
    /// How many recent note roots payments may be proven against.
    pub root_window: u64,
    /// Blocks within which a queued (forced) payment must be included.
    pub force_delay: u64,
    /// Blocks without a batch after which anyone may commit.
    pub sequencer_timeout: u64,
    /// Blocks between an account asking for its escrow back and receiving it. A batch must land
    /// within this many blocks of the sequencer screening its deposits (a release asked for
    /// after the screening could otherwise empty the escrow first).
    pub release_delay: u64,
    /// The account that commits batches.
    pub sequencer: Address,
}

/// A field element as a word of the contract.
pub fn fe_u256(x: &F) -> U256 {
    U256::from_be_bytes(scalar_word(x))
}

/// A word of the contract as a field element: only below `r`.
pub fn u256_fe(x: U256) -> Result<F, EvmError> {
    fe_from_bytes(&x.to_be_bytes::<32>())
        .map_err(|e| EvmError::Contract(format!("not a field element: {e}")))
}

fn words(w: [Word; 8]) -> [U256; 8] {
    w.map(U256::from_be_bytes)
}

fn proof_bytes(w: &[U256; 8]) -> Result<Vec<u8>, EvmError> {
    let w: [Word; 8] = w.map(|x| x.to_be_bytes::<32>());
    proof_of_words(&w)
        .map(|p| encode_proof(&p).to_vec())
        .ok_or_else(|| EvmError::Contract("a proof that is not a proof".into()))
}

/// The calldata of one payment.
pub fn payment_arg(p: &PaymentSubmission) -> Result<ZkPayRollup::Payment, EvmError> {
    let proof = decode_proof(&p.proof).map_err(|e| EvmError::Contract(e.to_string()))?;
    let q = &p.public;
    let public_value = I256::try_from(q.public_value)
        .map_err(|_| EvmError::Contract("public value out of range".into()))?;
    Ok(ZkPayRollup::Payment {
        root: fe_u256(&q.note_root.0),
        nullifiers: [fe_u256(&q.nullifiers[0].0), fe_u256(&q.nullifiers[1].0)],
        commitments: [fe_u256(&q.commitments[0].0), fe_u256(&q.commitments[1].0)],
        asset: fe_u256(&q.asset.0),
        publicValue: public_value,
        fee: q.fee,
        invoiceTag: fe_u256(&q.invoice_tag),
        feeRecipient: Address::from(p.ext.fee_recipient.to_bytes()),
        publicAccount: p
            .ext
            .public_account
            .map(|a| Address::from(a.to_bytes()))
            .unwrap_or(Address::ZERO),
        ciphertext0: Bytes::from(p.ext.ciphertexts[0].clone()),
        ciphertext1: Bytes::from(p.ext.ciphertexts[1].clone()),
        authorization: p
            .authorization
            .map(|s| Bytes::from(s.0.to_vec()))
            .unwrap_or_default(),
        proof: words(proof_words(&proof)),
    })
}

/// The payment a contract's event or queue entry carries, as the node submitted it. The ext
/// data hash is recomputed (the contract computed it the same way).
pub fn payment_of(
    network: Network,
    p: &ZkPayRollup::Payment,
) -> Result<PaymentSubmission, EvmError> {
    let fe = |x: U256| u256_fe(x);
    let public_value = i128::try_from(p.publicValue)
        .map_err(|_| EvmError::Contract("public value out of range".into()))?;
    let ext = ExtData {
        network,
        fee_recipient: PublicAccount::from_bytes(p.feeRecipient.into_array()),
        public_account: (public_value != 0)
            .then(|| PublicAccount::from_bytes(p.publicAccount.into_array())),
        ciphertexts: [p.ciphertext0.to_vec(), p.ciphertext1.to_vec()],
    };
    let authorization = match p.authorization.len() {
        0 => None,
        65 => {
            let mut s = [0u8; 65];
            s.copy_from_slice(&p.authorization);
            Some(DebitSignature(s))
        }
        n => return Err(EvmError::Contract(format!("a {n}-byte signature"))),
    };
    Ok(PaymentSubmission {
        public: PaymentPublic {
            note_root: Root(fe(p.root)?),
            nullifiers: [
                Nullifier(fe(p.nullifiers[0])?),
                Nullifier(fe(p.nullifiers[1])?),
            ],
            commitments: [
                Commitment(fe(p.commitments[0])?),
                Commitment(fe(p.commitments[1])?),
            ],
            asset: AssetId(fe(p.asset)?),
            public_value,
            fee: p.fee,
            ext_data_hash: ext.hash(),
            invoice_tag: fe(p.invoiceTag)?,
        },
        ext,
        proof: proof_bytes(&p.proof)?,
        authorization,
    })
}

/// The calldata of one chunk: its new roots and its proof (the contract knows the rest).
pub fn chunk_arg(c: &ChunkSubmission) -> Result<ZkPayRollup::Chunk, EvmError> {
    let proof = decode_proof(&c.proof).map_err(|e| EvmError::Contract(e.to_string()))?;
    Ok(ZkPayRollup::Chunk {
        newNoteRoot: fe_u256(&c.public.new_note_root.0),
        newNullifierRoot: fe_u256(&c.public.new_nullifier_root.0),
        proof: words(proof_words(&proof)),
    })
}

/// The contract's custom error behind a failed call, when it is one.
pub fn refusal(e: &alloy::contract::Error) -> Option<ZkPayRollup::ZkPayRollupErrors> {
    e.as_decoded_interface_error::<ZkPayRollup::ZkPayRollupErrors>()
}

/// The readable reason of a failed contract call (the contract's custom error when there is
/// one).
pub fn reason(e: &alloy::contract::Error) -> String {
    match e.as_decoded_interface_error::<ZkPayRollup::ZkPayRollupErrors>() {
        Some(err) => format!("{err:?}"),
        None => e.to_string(),
    }
}

fn chain<E: std::fmt::Display>(e: E) -> EvmError {
    EvmError::Chain(e.to_string())
}

/// Sends a contract call with its gas estimate (a call the contract would refuse fails there,
/// with the contract's reason, and costs nothing) plus a fifth (anvil's estimate can fall short
/// of what the pairing precompile needs under the 63/64 rule).
async fn send_estimated<P: Provider, D: alloy::contract::CallDecoder>(
    builder: alloy::contract::CallBuilder<P, D>,
) -> Result<
    alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    alloy::contract::Error,
> {
    let gas = builder.estimate_gas().await?;
    builder.gas(gas + gas / 5).send().await
}

/// Sends a contract call ([`send_estimated`]), waits for `confirmations` blocks and requires
/// that it succeeded.
async fn send_confirmed<P: Provider, D: alloy::contract::CallDecoder>(
    builder: alloy::contract::CallBuilder<P, D>,
    confirmations: u64,
    what: &str,
) -> Result<TransactionReceipt, EvmError> {
    let receipt = send_estimated(builder)
        .await
        .map_err(|e| EvmError::Contract(reason(&e)))?
        .with_required_confirmations(confirmations.max(1))
        .get_receipt()
        .await
        .map_err(chain)?;
    if !receipt.status() {
        return Err(EvmError::Contract(format!(
            "{what} {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}

/// Deploys a rollup contract with the payment and chunk verifying keys; returns its address.
/// The genesis roots and cursors are those of [`ChainState::genesis`] for `d.params`.
pub async fn deploy(
    provider: &DynProvider,
    d: &Deployment,
    payment_vk: &VerifyingKey,
    chunk_vk: &VerifyingKey,
) -> Result<Address, EvmError> {
    let genesis = ChainState::genesis(d.params).map_err(|e| EvmError::Contract(e.to_string()))?;
    let c = ZkPayRollup::deploy(
        provider,
        d.network.id(),
        U256::from(d.params.slots),
        Bytes::from(vk_bytes(payment_vk)),
        Bytes::from(vk_bytes(chunk_vk)),
        fe_u256(&genesis.note_root.0),
        fe_u256(&genesis.nullifier_root.0),
        U256::from(d.root_window),
        U256::from(d.force_delay),
        U256::from(d.sequencer_timeout),
        U256::from(d.release_delay),
        d.sequencer,
    )
    .await
    .map_err(|e| EvmError::Contract(reason(&e)))?;
    Ok(*c.address())
}

/// What an account's signed deposits of `asset` can draw on now: its escrow, less any release
/// it has asked for (that part may leave before a batch lands), in asset units.
pub async fn escrow_available(
    contract: &ZkPayRollupInstance<DynProvider>,
    account: Address,
    asset: &AssetId,
) -> Result<U256, EvmError> {
    let a = fe_u256(&asset.0);
    let held = contract.escrow(account, a).call().await.map_err(chain)?;
    let release = contract.releases(account, a).call().await.map_err(chain)?;
    Ok(held.saturating_sub(release.amount))
}

/// Moves `amount` asset units of `asset`'s token from `owner` (`account` is a provider that
/// signs for it) into its escrow on `rollup`: an allowance of exactly that much, then `fund`.
/// What a wallet's account does before its deposits.
pub async fn fund_escrow(
    account: &DynProvider,
    owner: Address,
    rollup: Address,
    asset: &AssetId,
    amount: u64,
) -> Result<(), EvmError> {
    let c = ZkPayRollup::new(rollup, account.clone());
    let a = fe_u256(&asset.0);
    let info = c.assets(a).call().await.map_err(chain)?;
    if info.token == Address::ZERO {
        return Err(EvmError::Contract(
            "the asset has no token on this contract".into(),
        ));
    }
    let units = U256::from(amount)
        .checked_mul(info.scale)
        .ok_or_else(|| EvmError::Contract("amount out of range".into()))?;
    let token = super::contracts::TestToken::new(info.token, account.clone());
    // a token in the manner of USDT refuses to change a non-zero allowance to another non-zero
    // one: a leftover allowance is cleared first
    let left = token.allowance(owner, rollup).call().await.map_err(chain)?;
    if !left.is_zero() && left != units {
        send_confirmed(
            token.approve(rollup, U256::ZERO),
            1,
            "clearing the allowance",
        )
        .await?;
    }
    send_confirmed(token.approve(rollup, units), 1, "the allowance").await?;
    send_confirmed(c.fund(a, U256::from(amount)), 1, "the escrow funding").await?;
    Ok(())
}

/// Most queue entries a batch must consume (`MAX_FORCED_PER_BATCH` of the contract).
pub const MAX_FORCED_PER_BATCH: u64 = 16;

/// One pending entry of the contract's forced-inclusion queue.
#[derive(Clone, Debug)]
pub struct ForcedEntry {
    /// Its index in the queue.
    pub index: u64,
    /// The queued payment's id.
    pub payment_id: [u8; 32],
    /// It can still be included (not marked dead, its invoice unpaid).
    pub live: bool,
    /// The queued payment, from its `PaymentForced` event (live entries only).
    pub payment: Option<PaymentSubmission>,
}

/// A queue entry to mark dead: its index, and the committed batch that spent one of its
/// nullifiers (its number, its nullifiers two per payment in order, and the position `k` of the
/// entry's among them), as `dropForced` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForcedDrop {
    /// The entry's index in the queue.
    pub index: u64,
    /// The spending batch's number.
    pub batch: u64,
    /// The spending batch's nullifiers.
    pub nullifiers: Vec<F>,
    /// Where the entry's nullifier is among them.
    pub k: usize,
}

/// A deployed rollup contract.
#[derive(Clone, Debug)]
pub struct Rollup {
    contract: ZkPayRollupInstance<DynProvider>,
    network: Network,
    params: ChunkParams,
}

/// The contract's state: the batch count and the rollup state after the last batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnChainState {
    /// Batches committed.
    pub batches: u64,
    /// Roots and cursors.
    pub state: ChainState,
}

impl Rollup {
    /// The contract at `address`, for `network` and `params` (checked by [`Self::check`]).
    pub fn at(
        address: Address,
        provider: DynProvider,
        network: Network,
        params: ChunkParams,
    ) -> Self {
        Self {
            contract: ZkPayRollup::new(address, provider),
            network,
            params,
        }
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        *self.contract.address()
    }

    /// The bound contract, for calls this client does not wrap.
    pub fn contract(&self) -> &ZkPayRollupInstance<DynProvider> {
        &self.contract
    }

    /// Checks that the contract is a rollup of this network and chunk size whose keys are
    /// `payment_vk` and `chunk_vk`, byte for byte: a node never follows a contract whose keys it
    /// has not pinned.
    pub async fn check(
        &self,
        payment_vk: &VerifyingKey,
        chunk_vk: &VerifyingKey,
    ) -> Result<(), EvmError> {
        let c = &self.contract;
        let bad =
            |what: &str| EvmError::Contract(format!("the contract's {what} is not this node's"));
        if c.networkId().call().await.map_err(chain)? != self.network.id() {
            return Err(bad("network"));
        }
        if c.slots().call().await.map_err(chain)? != U256::from(self.params.slots) {
            return Err(bad("chunk size"));
        }
        let provider = c.provider();
        for (key, vk, what) in [
            (
                c.paymentKey().call().await.map_err(chain)?,
                payment_vk,
                "payment key",
            ),
            (
                c.chunkKey().call().await.map_err(chain)?,
                chunk_vk,
                "chunk key",
            ),
        ] {
            let code = provider.get_code_at(key).await.map_err(chain)?;
            let want = vk_bytes(vk);
            if code.first() != Some(&0) || code[1..] != want[..] {
                return Err(bad(what));
            }
        }
        Ok(())
    }

    /// The batch count, roots and cursors stored in the contract.
    pub async fn state(&self) -> Result<OnChainState, EvmError> {
        let c = &self.contract;
        let to_u64 = |x: U256| {
            u64::try_from(x).map_err(|_| EvmError::Contract("a cursor beyond 2^64".into()))
        };
        Ok(OnChainState {
            batches: to_u64(c.batchCount().call().await.map_err(chain)?)?,
            state: ChainState {
                note_root: Root(u256_fe(c.noteRoot().call().await.map_err(chain)?)?),
                nullifier_root: Root(u256_fe(c.nullifierRoot().call().await.map_err(chain)?)?),
                note_cursor: to_u64(c.noteCursor().call().await.map_err(chain)?)?,
                nullifier_cursor: to_u64(c.nullifierCursor().call().await.map_err(chain)?)?,
            },
        })
    }

    /// The pending queue entries, at most `max` from the head, with the live ones' payments.
    pub async fn forced_entries(&self, max: u64) -> Result<Vec<ForcedEntry>, EvmError> {
        let mut out = self.forced_entries_ids(max).await?;
        for e in out.iter_mut().filter(|e| e.live) {
            let k = e.index;
            let events = self
                .contract
                .PaymentForced_filter()
                .topic1(alloy::primitives::B256::from(U256::from(k)))
                .from_block(0)
                .query()
                .await
                .map_err(chain)?;
            let (ev, _) = events.into_iter().next().ok_or_else(|| {
                EvmError::Chain(format!("queue entry {k} has no PaymentForced event"))
            })?;
            let p = payment_of(self.network, &ev.payment)?;
            if p.id() != e.payment_id {
                return Err(EvmError::Contract(format!(
                    "queue entry {k}'s event is not its payment"
                )));
            }
            e.payment = Some(p);
        }
        Ok(out)
    }

    /// Marks queue entries dead (`dropForced`), each with the committed batch that spent one of
    /// its nullifiers as evidence: sends them all, then waits for each to be mined, at most
    /// `timeout` in all. Returns the drops that did not land (refused, not mined in time), with
    /// why; the caller may try them again later.
    pub async fn drop_forced(
        &self,
        drops: &[ForcedDrop],
        timeout: std::time::Duration,
    ) -> Vec<(u64, EvmError)> {
        let mut failed = Vec::new();
        let mut sent = Vec::new();
        for d in drops {
            let nfs = d.nullifiers.iter().map(fe_u256).collect();
            let builder = self.contract.dropForced(
                U256::from(d.index),
                U256::from(d.batch),
                nfs,
                U256::from(d.k),
            );
            match send_estimated(builder).await {
                Ok(p) => sent.push((d.index, p)),
                Err(e) => failed.push((d.index, EvmError::Contract(reason(&e)))),
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for (index, p) in sent {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match p.with_timeout(Some(left)).get_receipt().await {
                Ok(r) if r.status() => {}
                Ok(r) => failed.push((
                    index,
                    EvmError::Contract(format!("dropForced {} reverted", r.transaction_hash)),
                )),
                Err(e) => failed.push((index, chain(e))),
            }
        }
        failed
    }

    /// How many of the oldest queue entries a batch whose payments have ids `ids` consumes: the
    /// dead ones, and the live ones it leads with, in order; it stops at the first live entry
    /// the batch does not lead with.
    pub async fn forced_count(&self, ids: &[[u8; 32]]) -> Result<u64, EvmError> {
        let entries = self.forced_entries_ids(MAX_FORCED_PER_BATCH).await?;
        let mut count = 0;
        let mut next = 0;
        for e in entries {
            if e.live {
                if ids.get(next) != Some(&e.payment_id) {
                    break;
                }
                next += 1;
            }
            count += 1;
        }
        Ok(count)
    }

    /// The pending queue entries without their payments (no events read).
    async fn forced_entries_ids(&self, max: u64) -> Result<Vec<ForcedEntry>, EvmError> {
        let c = &self.contract;
        let to_u64 = |x: U256| u64::try_from(x).unwrap_or(u64::MAX);
        let head = to_u64(c.forcedHead().call().await.map_err(chain)?);
        let pending = to_u64(c.forcedPending().call().await.map_err(chain)?);
        let mut out = Vec::new();
        for k in head..head.saturating_add(pending.min(max)) {
            let f = c.forcedQueue(U256::from(k)).call().await.map_err(chain)?;
            let paid = !f.invoiceTag.is_zero()
                && c.invoicePaid(f.invoiceTag).call().await.map_err(chain)?;
            out.push(ForcedEntry {
                index: k,
                payment_id: f.paymentId.0,
                live: !f.dead && !paid,
                payment: None,
            });
        }
        Ok(out)
    }

    /// The calldata of a batch whose first `forced` payments are the oldest queued ones.
    pub fn batch_call(
        &self,
        batch: &BatchSubmission,
        forced: usize,
    ) -> Result<ZkPayRollup::commitBatchCall, EvmError> {
        Ok(ZkPayRollup::commitBatchCall {
            payments: batch
                .payments
                .iter()
                .map(payment_arg)
                .collect::<Result<_, _>>()?,
            chunks: batch
                .chunks
                .iter()
                .map(chunk_arg)
                .collect::<Result<_, _>>()?,
            forcedCount: U256::from(forced),
        })
    }

    /// Commits a batch: estimates its gas (a batch the contract would refuse fails here, with
    /// the contract's reason, and costs nothing), sends it and waits for `confirmations` blocks.
    pub async fn commit(
        &self,
        batch: &BatchSubmission,
        forced: usize,
        confirmations: u64,
    ) -> Result<TransactionReceipt, EvmError> {
        let call = self.batch_call(batch, forced)?;
        let builder = self
            .contract
            .commitBatch(call.payments, call.chunks, call.forcedCount);
        send_confirmed(builder, confirmations, "batch transaction").await
    }

    /// Every committed batch, rebuilt from the contract's events up to block `to` (the latest
    /// when `None`) and chained from the genesis head: numbers consecutive from 1, each chunk's
    /// old roots the previous new roots, cursors as the contract recorded them. What a node
    /// with a fresh data directory starts from.
    pub async fn committed_batches(
        &self,
        to: Option<u64>,
    ) -> Result<Vec<CommittedBatch>, EvmError> {
        Ok(self
            .committed_batches_after(None, to)
            .await?
            .into_iter()
            .map(|(b, _)| b)
            .collect())
    }

    /// The batches committed after `after` (a batch already held and the block its event is
    /// in; genesis when `None`), up to block `to`, each with its event's block: events are read
    /// from that block on only, and chained from `after` as [`Self::committed_batches`] chains
    /// them from genesis.
    pub async fn committed_batches_after(
        &self,
        after: Option<(&CommittedBatch, u64)>,
        to: Option<u64>,
    ) -> Result<Vec<(CommittedBatch, u64)>, EvmError> {
        let from_block = after.map(|(_, block)| block).unwrap_or(0);
        let mut filter = self.contract.BatchCommitted_filter().from_block(from_block);
        if let Some(to) = to {
            filter = filter.to_block(to);
        }
        let events = filter.query().await.map_err(chain)?;
        let (mut parent, mut state, done) = match after {
            Some((b, _)) => (b.hash, b.state, b.number),
            None => {
                let head = crate::genesis_head(self.network, self.params)
                    .map_err(|e| EvmError::Contract(e.to_string()))?;
                (head.hash, head.state, 0)
            }
        };
        let mut out = Vec::with_capacity(events.len());
        for (ev, log) in events {
            let number = u64::try_from(ev.number).unwrap_or(u64::MAX);
            if number <= done {
                continue; // in the first block read, at or before `after`
            }
            let expected = done + out.len() as u64 + 1;
            if number != expected
                || ev.noteStart != U256::from(state.note_cursor)
                || ev.nullifierStart != U256::from(state.nullifier_cursor)
            {
                return Err(EvmError::Contract(format!(
                    "event of batch {number} does not follow batch {}",
                    expected - 1
                )));
            }
            let block = log
                .block_number
                .ok_or_else(|| EvmError::Chain("an event without a block number".into()))?;
            let payments = ev
                .payments
                .iter()
                .map(|p| payment_of(self.network, p))
                .collect::<Result<Vec<_>, _>>()?;
            let grow = 2 * self.params.slots as u64;
            let mut chunks = Vec::with_capacity(ev.chunks.len());
            for (k, c) in ev.chunks.iter().enumerate() {
                let public = BatchPublic {
                    old_note_root: state.note_root,
                    old_nullifier_root: state.nullifier_root,
                    new_note_root: Root(u256_fe(c.newNoteRoot)?),
                    new_nullifier_root: Root(u256_fe(c.newNullifierRoot)?),
                    note_start: state.note_cursor + grow * k as u64,
                    nullifier_start: state.nullifier_cursor + grow * k as u64,
                };
                state.note_root = public.new_note_root;
                state.nullifier_root = public.new_nullifier_root;
                chunks.push(ChunkSubmission {
                    public,
                    proof: proof_bytes(&c.proof)?,
                });
            }
            state.note_cursor += grow * chunks.len() as u64;
            state.nullifier_cursor += grow * chunks.len() as u64;
            let hash = batch_hash_of(number, &parent, &payments, &chunks, &state);
            out.push((
                CommittedBatch {
                    number,
                    parent,
                    hash,
                    payments,
                    chunks,
                    state,
                },
                block,
            ));
            parent = hash;
        }
        Ok(out)
    }
}
