//! The node: ingest, indexes, batching and commits.

use crate::config::NodeConfig;
use crate::index::{Checkpoint, IndexDb, Overlay};
use crate::metrics::{BuildInfo, Metrics};
use crate::store::Mempool;
use crate::NodeError;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use zkpay_ledger::{
    BaseLedger, BatchSubmission, ChunkSubmission, CommittedBatch, EmbeddedLedger, LedgerConfig,
    LedgerHead, PaymentSubmission,
};
use zkpay_protocol::account::AccountKey;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::RollupState;
use zkpay_protocol::field::fe_to_bytes;
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::PublicAccount;
use zkpay_protocol::tree_store::StoreRef;
use zkpay_prover::{BatchProver, KeyStore, Params, PaymentProver, SetupMode};
use zkpay_verifier::batch::ChainState;
use zkpay_verifier::{decode_proof, encode_proof, Verifier};

pub use zkpay_api::node::{InvoiceStatus, NoteEntry, PaymentStatus};

/// Why a payment was refused; each maps to an HTTP status and a reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Well-formed but invalid (HTTP 422).
    Invalid(&'static str, String),
    /// Conflicts with the state (HTTP 409).
    Conflict(&'static str, String),
    /// Overloaded or unable to persist (HTTP 503).
    Unavailable(&'static str, String),
}

impl Rejection {
    /// Reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Invalid(c, _) | Rejection::Conflict(c, _) | Rejection::Unavailable(c, _) => {
                c
            }
        }
    }
}

struct Pending {
    seq: u64,
    sub: PaymentSubmission,
    received: Instant,
    batched: bool,
    /// Size as stored (JSON bytes).
    bytes: usize,
}

/// Batches applied at start-up between two flushes of the index.
const REPLAY_FLUSH_EVERY: u64 = 64;

#[derive(Default)]
struct Indexes {
    /// The trees, over the index database (only what is not yet flushed is in memory).
    state: Option<RollupState>,
    head: Option<LedgerHead>,
    recent_roots: Vec<Root>,
    /// Index entries of committed batches not yet flushed to the index database.
    overlay: Overlay,
    /// Invoice tags taken by pending payments.
    invoices: HashMap<[u8; 32], [u8; 32]>,
    pending: BTreeMap<u64, Pending>,
    /// Bytes of the pending payments, as stored.
    pending_bytes: usize,
    pending_ids: HashMap<[u8; 32], u64>,
    pending_nf: HashMap<[u8; 32], [u8; 32]>,
    /// Failures whose record could not be written (storage failing): payment id → sequence
    /// number and reason, written out by [`Node::probe_storage`] once storage works again.
    /// Every other failure is read from the mempool database.
    unwritten_failures: HashMap<[u8; 32], (u64, String)>,
    next_seq: u64,
    /// Public-account debits of pending payments (deposits), reserved against the committed
    /// balance.
    debits: HashMap<(PublicAccount, AssetId), u128>,
    /// Net outflows of pending payments from each asset's shielded pool (withdrawals and fees
    /// beyond what the payment deposits), reserved against the committed pool.
    outflows: HashMap<AssetId, u128>,
    /// The batch being committed to the ledger, while its payments still hold reservations.
    committing: Option<Committing>,
}

/// What the batch being committed debits: once the ledger's head shows it committed (before
/// the indexes do), these amounts are in the ledger's balances and in the reservations at once,
/// and must be counted once.
struct Committing {
    number: u64,
    debits: HashMap<(PublicAccount, AssetId), u128>,
    outflows: HashMap<AssetId, u128>,
}

impl Committing {
    fn of(number: u64, payments: &[(u64, PaymentSubmission)]) -> Self {
        let mut c = Self {
            number,
            debits: HashMap::new(),
            outflows: HashMap::new(),
        };
        for (_, sub) in payments {
            let (debit, outflow) = reservation(sub);
            if let Some((account, amount)) = debit {
                *c.debits.entry((account, sub.public.asset)).or_default() += amount;
            }
            if outflow > 0 {
                *c.outflows.entry(sub.public.asset).or_default() += outflow;
            }
        }
        c
    }
}

/// What a payment takes from a public account and from its asset's pool while it is pending.
fn reservation(sub: &PaymentSubmission) -> (Option<(PublicAccount, u128)>, u128) {
    let pv = sub.public.public_value;
    let debit = match (pv > 0, sub.ext.public_account) {
        (true, Some(a)) => Some((a, pv.unsigned_abs())),
        _ => None,
    };
    let outflow = i128::from(sub.public.fee) - pv;
    (debit, u128::try_from(outflow).unwrap_or(0))
}

/// A running node (HTTP-independent; the API and the batcher drive it).
pub struct Node {
    config: NodeConfig,
    ledger: Arc<dyn BaseLedger>,
    payment_verifier: Verifier,
    batch_prover: BatchProver,
    mempool: Mempool,
    /// The indexes on disk.
    index: Arc<IndexDb>,
    /// Ledger batches replayed at start-up (after the index's checkpoint).
    replayed_at_start: std::sync::atomic::AtomicU64,
    inner: Mutex<Indexes>,
    /// Public account credited with fees.
    operator: PublicAccount,
    /// Prometheus metrics (shared with the verification pool).
    pub metrics: Arc<Metrics>,
    /// Serialises batch production.
    batch_lock: Mutex<()>,
    /// Set when a durable write failed; cleared by [`Node::probe_storage`].
    storage_failing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({:?})", self.config.data_dir)
    }
}

impl Indexes {
    /// The payment that holds invoice tag `tag` in memory: pending, or committed and not yet
    /// flushed to the index database.
    fn held_invoice(&self, tag: &[u8; 32]) -> Option<[u8; 32]> {
        self.invoices
            .get(tag)
            .or_else(|| self.overlay.invoices.get(tag))
            .copied()
    }

    /// Marks a payment's id, nullifiers and invoice tag as taken by a pending payment.
    fn reserve(&mut self, seq: u64, id: [u8; 32], sub: &PaymentSubmission) {
        for nf in &sub.public.nullifiers {
            self.pending_nf.insert(nf.to_bytes(), id);
        }
        if let Some(tag) = sub.public.invoice() {
            self.invoices.entry(fe_to_bytes(&tag)).or_insert(id);
        }
        let (debit, outflow) = reservation(sub);
        if let Some((account, amount)) = debit {
            *self.debits.entry((account, sub.public.asset)).or_default() += amount;
        }
        if outflow > 0 {
            *self.outflows.entry(sub.public.asset).or_default() += outflow;
        }
        self.pending_ids.insert(id, seq);
    }

    /// Adds a durably stored payment to the waiting list.
    fn add_pending(&mut self, seq: u64, sub: PaymentSubmission) {
        let bytes = serde_json::to_vec(&sub).map(|v| v.len()).unwrap_or(0);
        self.pending_bytes += bytes;
        self.pending.insert(
            seq,
            Pending {
                seq,
                sub,
                received: Instant::now(),
                batched: false,
                bytes,
            },
        );
    }

    /// Undoes [`Self::reserve`] and drops the pending entry; the invoice tag is released only
    /// when `release_invoice` (a committed payment keeps it).
    fn release(&mut self, seq: u64, sub: &PaymentSubmission, release_invoice: bool) {
        let id = sub.id();
        if let Some(p) = self.pending.remove(&seq) {
            self.pending_bytes = self.pending_bytes.saturating_sub(p.bytes);
        }
        if self.pending_ids.remove(&id).is_none() {
            return; // never reserved (or released already)
        }
        for nf in &sub.public.nullifiers {
            self.pending_nf.remove(&nf.to_bytes());
        }
        let (debit, outflow) = reservation(sub);
        if let Some((account, amount)) = debit {
            let key = (account, sub.public.asset);
            if let Some(v) = self.debits.get_mut(&key) {
                *v = v.saturating_sub(amount);
                if *v == 0 {
                    self.debits.remove(&key);
                }
            }
        }
        if let Some(v) = self.outflows.get_mut(&sub.public.asset) {
            *v = v.saturating_sub(outflow);
            if *v == 0 {
                self.outflows.remove(&sub.public.asset);
            }
        }
        if release_invoice {
            if let Some(tag) = sub.public.invoice() {
                if self.invoices.get(&fe_to_bytes(&tag)) == Some(&id) {
                    self.invoices.remove(&fe_to_bytes(&tag));
                }
            }
        }
    }
}

impl Node {
    /// Opens the node: keys, ledger, mempool; rebuilds every index from the ledger and
    /// reconciles the mempool with it (payments committed before a crash are dropped from it).
    pub fn open(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let params = config.profile.params();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| NodeError::Storage(e.to_string()))?;
        let (payment, batch_prover) = load_provers(&config)?;
        let ledger: Arc<dyn BaseLedger> = match &config.ledger {
            crate::config::LedgerChoice::Embedded => Arc::new(EmbeddedLedger::open(
                &config.data_dir.join("ledger"),
                LedgerConfig {
                    network: config.network,
                    params,
                    recent_roots: config.recent_roots,
                },
                batch_prover.keys().verifier.clone(),
                payment.keys().verifier.clone(),
            )?),
            crate::config::LedgerChoice::Evm(evm) => Arc::new(open_evm_ledger(
                &config,
                evm,
                &payment.keys().verifier,
                &batch_prover.keys().verifier,
            )?),
        };
        Self::with_ledger(
            config,
            ledger,
            payment.keys().verifier.clone(),
            batch_prover,
        )
    }

    /// Opens the node over a given ledger.
    pub fn with_ledger(
        config: NodeConfig,
        ledger: Arc<dyn BaseLedger>,
        payment_verifier: Verifier,
        batch_prover: BatchProver,
    ) -> Result<Arc<Self>, NodeError> {
        let mempool = Mempool::open(&config.data_dir.join("mempool"))?;
        let index = IndexDb::open(&config.data_dir.join("index"))?;
        let operator = match config.operator {
            Some(a) => a,
            None => operator_key(&config.data_dir)?.account(),
        };
        let metrics =
            Metrics::new().map_err(|e| NodeError::Config(format!("metrics registry: {e}")))?;
        metrics.set_build_info(&BuildInfo {
            network: config.network.to_string(),
            profile: match config.profile {
                crate::Profile::Full => "full".into(),
                crate::Profile::Test => "test".into(),
            },
            keys: config.keys_origin().into(),
            payment_key_id: payment_verifier.key_id().to_hex(),
            chunk_key_id: batch_prover.keys().verifier.key_id().to_hex(),
        });
        metrics
            .batch_timeout_seconds
            .set(config.batch_timeout.as_secs_f64());
        metrics
            .mempool_max_payments
            .set(config.mempool_max_payments.min(i64::MAX as usize) as i64);
        metrics
            .mempool_max_bytes
            .set(config.mempool_max_bytes.min(i64::MAX as usize) as i64);
        let node = Arc::new(Self {
            operator,
            config,
            ledger,
            payment_verifier,
            batch_prover,
            mempool,
            index,
            replayed_at_start: std::sync::atomic::AtomicU64::new(0),
            inner: Mutex::new(Indexes::default()),
            metrics: Arc::new(metrics),
            batch_lock: Mutex::new(()),
            storage_failing: std::sync::atomic::AtomicBool::new(false),
        });
        node.rebuild()?;
        Ok(node)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Indexes>, NodeError> {
        self.inner
            .lock()
            .map_err(|_| NodeError::Storage("index lock poisoned".into()))
    }

    /// Configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn BaseLedger> {
        &self.ledger
    }

    /// The public account credited with fees.
    pub fn operator(&self) -> PublicAccount {
        self.operator
    }

    /// The index's state if its checkpoint is one of this ledger's batches (same hash, same
    /// roots and cursors), else `None` (the index must be rebuilt from genesis). A checkpoint
    /// or tree record that cannot be read counts as a mismatch.
    fn checkpointed_state(
        &self,
        head: &LedgerHead,
    ) -> Result<Option<(RollupState, u64)>, NodeError> {
        let params = self.config.profile.params();
        let cp = match self.index.checkpoint() {
            Ok(Some(cp)) => cp,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "the index's checkpoint is unreadable: rebuilding the index from genesis");
                return Ok(None);
            }
        };
        let mismatch = |why: String| {
            tracing::warn!(
                checkpoint = cp.batch,
                "{why}: rebuilding the index from genesis"
            );
            Ok(None)
        };
        if !cp.fits(params) {
            return mismatch("the index was built for another rollup shape".into());
        }
        if cp.batch > head.number {
            return mismatch(format!(
                "the index is at batch {} but the ledger at {}",
                cp.batch, head.number
            ));
        }
        let Some(b) = self.ledger.batch(cp.batch)? else {
            return mismatch(format!("the ledger lacks batch {}", cp.batch));
        };
        if hex::encode(b.hash) != cp.hash {
            return mismatch(format!("batch {} differs from the ledger's", cp.batch));
        }
        let state = match RollupState::on_store(
            params,
            StoreRef(self.index.clone()),
            Some((cp.note_size, cp.nullifier_cursor)),
        ) {
            Ok(s) => s,
            Err(e) => return mismatch(format!("the index's trees are unreadable ({e})")),
        };
        if ChainState::of(&state) != b.state {
            return mismatch(format!(
                "the index's trees are not the ledger's state after batch {}",
                cp.batch
            ));
        }
        Ok(Some((state, cp.batch)))
    }

    /// Writes what the indexes applied since the last flush, with a checkpoint at the last
    /// batch applied (nothing to do when none was).
    fn flush_index(&self, ix: &mut Indexes) -> Result<(), NodeError> {
        let Some((number, hash)) = ix.overlay.last else {
            return Ok(());
        };
        let params = self.config.profile.params();
        let state = ix
            .state
            .as_mut()
            .ok_or_else(|| NodeError::Storage("state".into()))?;
        let cp = Checkpoint::new(
            params,
            number,
            &hash,
            state.notes.size(),
            state.nullifiers.size(),
        );
        self.index.flush(&state.unflushed(), &ix.overlay, &cp)?;
        state.mark_flushed()?;
        ix.overlay = Overlay::default();
        Ok(())
    }

    /// The indexes brought from the checkpoint `from` (0: genesis) up to the ledger's `head`.
    fn replay(
        &self,
        state: RollupState,
        from: u64,
        head: &LedgerHead,
    ) -> Result<Indexes, NodeError> {
        let mut ix = Indexes {
            state: Some(state),
            ..Default::default()
        };
        for n in from + 1..=head.number {
            self.apply_ledger_batch(&mut ix, n)?;
            if n % REPLAY_FLUSH_EVERY == 0 || n == head.number {
                self.flush_index(&mut ix)?;
            }
        }
        Ok(ix)
    }

    /// Applies the ledger's batch `n` to the indexes' trees (checking that they reach the
    /// ledger's state after it) and to the overlay.
    fn apply_ledger_batch(&self, ix: &mut Indexes, n: u64) -> Result<(), NodeError> {
        let b = self
            .ledger
            .batch(n)?
            .ok_or_else(|| NodeError::Storage(format!("ledger lacks batch {n}")))?;
        let state = ix
            .state
            .as_mut()
            .ok_or_else(|| NodeError::Storage("state".into()))?;
        let start = state.notes.size();
        let publics: Vec<_> = b.payments.iter().map(|p| p.public.clone()).collect();
        state.apply_batch(&publics)?;
        if ChainState::of(state) != b.state {
            return Err(NodeError::Storage(format!(
                "applying batch {n} does not reproduce the ledger's state"
            )));
        }
        ix.overlay
            .add_batch(&b, self.config.profile.params().slots, start);
        Ok(())
    }

    /// Applies the ledger's batches after this node's head (batches it did not commit itself)
    /// as a replay does: trees, indexes, head and recent roots; pending payments they committed
    /// are released as committed and leave the mempool. If that fails half-way, or the ledger
    /// no longer holds this node's head (a reorganisation deeper than the confirmation depth),
    /// the indexes are rebuilt from the ledger as at start.
    fn catch_up(&self) -> Result<(), NodeError> {
        match self.try_catch_up() {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "following the ledger failed: rebuilding the indexes from it");
                self.rebuild()
            }
        }
    }

    fn try_catch_up(&self) -> Result<(), NodeError> {
        let head = self.ledger.head()?;
        let mut ix = self.lock()?;
        let mine = ix.head;
        let from = mine.as_ref().map(|h| h.number).unwrap_or(0);
        let held = match from {
            0 => true,
            n => self
                .ledger
                .batch(n)?
                .is_some_and(|b| mine.as_ref().is_some_and(|h| h.hash == b.hash)),
        };
        if !held || head.number < from {
            return Err(NodeError::Storage(format!(
                "the ledger's batch {from} is not this node's"
            )));
        }
        for n in from + 1..=head.number {
            self.apply_ledger_batch(&mut ix, n)?;
            self.metrics.batch_committed(n);
        }
        let mut done = Vec::new();
        for p in ix.pending.values() {
            if self.committed_in(&ix, &p.sub.id())?.is_some() {
                done.push((p.seq, p.sub.clone()));
            }
        }
        for (seq, sub) in &done {
            ix.release(*seq, sub, true);
        }
        ix.head = Some(head);
        ix.recent_roots = self.ledger.recent_roots()?;
        if let Err(e) = self.flush_index(&mut ix) {
            self.set_storage_failing();
            tracing::error!(error = %e, "index write failed: no longer acknowledging payments");
        }
        drop(ix);
        let seqs: Vec<u64> = done.iter().map(|(s, _)| *s).collect();
        self.remove_from_mempool(&seqs)?;
        Ok(())
    }

    fn rebuild(&self) -> Result<(), NodeError> {
        let params = self.config.profile.params();
        let head = self.ledger.head()?;
        let genesis = || -> Result<RollupState, NodeError> {
            self.index.wipe()?;
            Ok(RollupState::on_store(
                params,
                StoreRef(self.index.clone()),
                None,
            )?)
        };
        let started = Instant::now();
        let (mut ix, from) = match self.checkpointed_state(&head)? {
            Some((state, from)) => match self.replay(state, from, &head) {
                Ok(ix) => (ix, from),
                Err(e) => {
                    // the index's records beneath the checked roots are damaged
                    tracing::warn!(error = %e, checkpoint = from, "replaying from the index's checkpoint failed: rebuilding the index from genesis");
                    (self.replay(genesis()?, 0, &head)?, 0)
                }
            },
            None => (self.replay(genesis()?, 0, &head)?, 0),
        };
        let replayed = head.number - from;
        self.replayed_at_start.store(replayed, Ordering::Relaxed);
        tracing::info!(
            checkpoint = from,
            replayed,
            seconds = started.elapsed().as_secs_f64(),
            "indexes loaded"
        );
        ix.recent_roots = self.ledger.recent_roots()?;
        ix.head = Some(head);
        let mut stale = Vec::new();
        for (seq, sub) in self.mempool.load()? {
            let id = sub.id();
            ix.next_seq = ix.next_seq.max(seq + 1);
            if self.committed_in(&ix, &id)?.is_some() {
                stale.push(seq);
                continue;
            }
            ix.reserve(seq, id, &sub);
            ix.add_pending(seq, sub);
        }
        if !stale.is_empty() {
            tracing::info!(
                count = stale.len(),
                "dropping mempool entries already committed"
            );
            self.mempool.remove(&stale)?;
        }
        self.metrics
            .last_batch
            .set(head.number.min(i64::MAX as u64) as i64);
        *self.lock()? = ix;
        Ok(())
    }

    /// Ledger batches the last start replayed after the index's checkpoint (all of them when
    /// the index was built from genesis).
    pub fn replayed_at_start(&self) -> u64 {
        self.replayed_at_start.load(Ordering::Relaxed)
    }

    /// The batch that committed payment `id`, from the overlay or the index database.
    fn committed_in(&self, ix: &Indexes, id: &[u8; 32]) -> Result<Option<u64>, NodeError> {
        match ix.overlay.payments.get(id) {
            Some(b) => Ok(Some(*b)),
            None => self.index.payment_batch(id),
        }
    }

    /// The payment that paid invoice tag `tag`: pending, committed and unflushed, or committed.
    fn invoice_payment(&self, ix: &Indexes, tag: &[u8; 32]) -> Result<Option<[u8; 32]>, NodeError> {
        match ix.held_invoice(tag) {
            Some(id) => Ok(Some(id)),
            None => self.index.invoice(tag),
        }
    }

    /// Cheap, state-free checks (no cryptography beyond decoding).
    fn cheap_checks(&self, sub: &PaymentSubmission) -> Result<zkpay_verifier::Proof, Rejection> {
        let inv = |c, m: String| Rejection::Invalid(c, m);
        if sub.ext.network != self.config.network {
            return Err(inv(
                "wrong_network",
                format!("payment is for {}", sub.ext.network),
            ));
        }
        if sub.public.nullifiers[0] == sub.public.nullifiers[1] {
            return Err(inv(
                "duplicate_nullifier",
                "a payment cannot spend the same note twice".into(),
            ));
        }
        sub.public
            .check_ranges()
            .map_err(|e| inv("out_of_range", e.to_string()))?;
        let min_fee = self.config.min_fee(&sub.public.asset);
        if sub.public.fee < min_fee {
            return Err(inv(
                "fee_too_low",
                format!(
                    "the fee is {} base units; this node takes payments of this asset from {min_fee}",
                    sub.public.fee
                ),
            ));
        }
        sub.ext
            .validate(sub.public.public_value)
            .map_err(|e| inv("bad_ext_data", e.to_string()))?;
        if sub.ext.fee_recipient != self.operator {
            return Err(inv(
                "bad_fee_recipient",
                "fees must go to this node's operator".into(),
            ));
        }
        if sub.ext.hash() != sub.public.ext_data_hash {
            return Err(inv(
                "ext_data_hash_mismatch",
                "ext data does not match the proof".into(),
            ));
        }
        sub.check_authorization(self.ledger.debit_domain())
            .map_err(|e| inv("bad_authorization", e.to_string()))?;
        decode_proof(&sub.proof).map_err(|e| inv("bad_proof_encoding", e.to_string()))
    }

    /// Conflicts with the state: duplicates, spent or pending nullifiers, paid invoices, unknown
    /// roots, and debits the public account (or withdrawals the pool) cannot cover once the
    /// pending payments' reservations are taken out.
    fn conflicts(
        &self,
        ix: &Indexes,
        sub: &PaymentSubmission,
        id: &[u8; 32],
    ) -> Result<(), Rejection> {
        let conflict = |c, m: &str| Rejection::Conflict(c, m.to_string());
        let unavailable = |e: String| Rejection::Unavailable("storage", format!("node index: {e}"));
        if ix.pending_ids.contains_key(id)
            || self
                .committed_in(ix, id)
                .map_err(|e| unavailable(e.to_string()))?
                .is_some()
        {
            return Err(conflict("duplicate", "payment already accepted"));
        }
        if ix.pending.len() >= self.config.mempool_max_payments
            || ix.pending_bytes >= self.config.mempool_max_bytes
        {
            return Err(Rejection::Unavailable(
                "mempool_full",
                format!(
                    "{} payments ({} bytes) are waiting; try again after the next batch",
                    ix.pending.len(),
                    ix.pending_bytes
                ),
            ));
        }
        if !ix.recent_roots.contains(&sub.public.note_root) {
            return Err(Rejection::Invalid(
                "unknown_root",
                "note root is not a recent committed root".into(),
            ));
        }
        let state = ix.state.as_ref();
        for nf in &sub.public.nullifiers {
            let spent = match state {
                Some(s) => s
                    .nullifiers
                    .contains(&nf.0)
                    .map_err(|e| unavailable(e.to_string()))?,
                None => false,
            };
            if spent {
                return Err(conflict("nullifier_spent", "nullifier already spent"));
            }
            if ix.pending_nf.contains_key(&nf.to_bytes()) {
                return Err(conflict("nullifier_pending", "nullifier already pending"));
            }
        }
        if let Some(tag) = sub.public.invoice() {
            if self
                .invoice_payment(ix, &fe_to_bytes(&tag))
                .map_err(|e| unavailable(e.to_string()))?
                .is_some()
            {
                return Err(conflict("invoice_paid", "invoice already paid"));
            }
        }
        let storage = |e: zkpay_ledger::LedgerError| {
            Rejection::Unavailable("storage", format!("ledger: {e}"))
        };
        let asset = sub.public.asset;
        let (debit, outflow) = reservation(sub);
        if debit.is_none() && outflow == 0 {
            return Ok(());
        }
        // While a batch is being committed, the ledger may already hold its effects while its
        // payments still hold reservations here. Read the ledger's head before its balances: a
        // head showing the batch committed guarantees the balances read after it include it.
        let landed = match &ix.committing {
            Some(c) if self.ledger.head().map_err(storage)?.number >= c.number => Some(c),
            _ => None,
        };
        if let Some((account, amount)) = debit {
            let balance = self.ledger.balance(&account, &asset).map_err(storage)?;
            let in_flight = landed
                .and_then(|c| c.debits.get(&(account, asset)).copied())
                .unwrap_or(0);
            let reserved = ix
                .debits
                .get(&(account, asset))
                .copied()
                .unwrap_or(0)
                .saturating_sub(in_flight);
            if balance.saturating_sub(reserved) < amount {
                return Err(Rejection::Conflict(
                    "insufficient_public_balance",
                    format!(
                        "account {account} has {balance} base units, {reserved} reserved by \
                         pending payments; this deposit needs {amount}"
                    ),
                ));
            }
        }
        if outflow > 0 {
            let pool = self.ledger.pool(&asset).map_err(storage)?;
            let in_flight = landed
                .and_then(|c| c.outflows.get(&asset).copied())
                .unwrap_or(0);
            let reserved = ix
                .outflows
                .get(&asset)
                .copied()
                .unwrap_or(0)
                .saturating_sub(in_flight);
            if pool.saturating_sub(reserved) < outflow {
                return Err(Rejection::Conflict(
                    "insufficient_pool",
                    "the shielded pool of this asset cannot cover this withdrawal yet".into(),
                ));
            }
        }
        Ok(())
    }

    /// Ingests one payment: cheap checks, conflicts, proof verification on this thread, then a
    /// durable mempool write. Returns the payment id. (The HTTP API does the same in three steps,
    /// [`Self::check`], the verification pool and [`Self::accept`], so that proofs arriving
    /// together are verified together.)
    pub fn submit(&self, sub: PaymentSubmission) -> Result<[u8; 32], Rejection> {
        let (proof, id) = self.check(&sub)?;
        if self
            .payment_verifier
            .verify(&proof, &sub.public.public_inputs())
            .is_err()
        {
            return Err(self.proof_invalid());
        }
        self.accept(sub, id)
    }

    /// Counts and returns the rejection of a payment whose proof does not verify.
    pub fn proof_invalid(&self) -> Rejection {
        let r = Rejection::Invalid(
            "proof_invalid",
            "the proof does not verify for these public inputs".into(),
        );
        self.metrics.reject(r.code());
        r
    }

    /// The verifier of payment proofs.
    pub fn payment_verifier(&self) -> &Verifier {
        &self.payment_verifier
    }

    /// Everything before proof verification: structure, ext data, proof decoding, and conflicts
    /// with the state. Returns the decoded proof and the payment id. Rejections are counted.
    pub fn check(
        &self,
        sub: &PaymentSubmission,
    ) -> Result<(zkpay_verifier::Proof, [u8; 32]), Rejection> {
        let r = (|| -> Result<_, Rejection> {
            self.storage_available()?;
            let proof = self.cheap_checks(sub)?;
            let id = sub.id();
            let ix = self
                .lock()
                .map_err(|e| Rejection::Unavailable("storage", e.to_string()))?;
            self.conflicts(&ix, sub, &id)?;
            Ok((proof, id))
        })();
        if let Err(e) = &r {
            self.metrics.reject(e.code());
        }
        r
    }

    /// Takes a payment whose proof verified: reserves its nullifiers and invoice tag (exactly one
    /// of two concurrent double spends wins), writes it durably, and only then acknowledges it.
    /// Blocks on the disk sync; rejections are counted.
    pub fn accept(&self, sub: PaymentSubmission, id: [u8; 32]) -> Result<[u8; 32], Rejection> {
        let r = self.accept_inner(sub, id);
        if let Err(e) = &r {
            self.metrics.reject(e.code());
        }
        r
    }

    fn storage_available(&self) -> Result<(), Rejection> {
        if self.storage_failing.load(Ordering::Relaxed) {
            return Err(Rejection::Unavailable(
                "storage",
                "the node cannot persist payments; not accepting any".into(),
            ));
        }
        Ok(())
    }

    fn accept_inner(&self, sub: PaymentSubmission, id: [u8; 32]) -> Result<[u8; 32], Rejection> {
        let unavailable = |e: NodeError| Rejection::Unavailable("storage", e.to_string());
        let seq = {
            let mut ix = self.lock().map_err(unavailable)?;
            self.conflicts(&ix, &sub, &id)?;
            let seq = ix.next_seq;
            ix.next_seq += 1;
            ix.reserve(seq, id, &sub);
            seq
        };
        // durable write outside the lock: concurrent writers share WAL syncs
        if let Err(e) = self.mempool.put(seq, &sub) {
            self.set_storage_failing();
            tracing::error!(error = %e, "mempool write failed: no longer acknowledging payments");
            let mut ix = self.lock().map_err(unavailable)?;
            ix.release(seq, &sub, true);
            return Err(unavailable(e));
        }
        // accepted again after failing: the old reason's record stays, but the status reads
        // pending and committed first, and a new failure overwrites it
        let mut ix = self.lock().map_err(unavailable)?;
        ix.add_pending(seq, sub);
        drop(ix);
        tracing::debug!(payment = %hex::encode(id), "payment accepted");
        self.metrics.accepted.inc();
        Ok(id)
    }

    /// Marks storage failing: payments are refused until [`Node::probe_storage`] succeeds.
    fn set_storage_failing(&self) {
        self.storage_failing.store(true, Ordering::Relaxed);
        self.metrics.storage_failures.inc();
        self.metrics.storage_healthy.set(0);
    }

    /// Whether the node is refusing payments because a durable write failed.
    pub fn storage_failing(&self) -> bool {
        self.storage_failing.load(Ordering::Relaxed)
    }

    /// Probes the storage after a failure: a synced test write; on success the node accepts
    /// payments again. Returns whether storage works. The batcher calls this periodically.
    pub fn probe_storage(&self) -> bool {
        if !self.storage_failing() {
            return true;
        }
        let ok = self.mempool.probe().is_ok()
            && self.failures_written().is_ok()
            && self.index_caught_up();
        if ok {
            tracing::info!("storage works again: accepting payments");
            self.storage_failing.store(false, Ordering::Relaxed);
            self.metrics.storage_healthy.set(1);
        }
        ok
    }

    /// Writes the failures whose record an earlier write could not store.
    fn failures_written(&self) -> Result<(), NodeError> {
        let unwritten: Vec<([u8; 32], u64, String)> = self
            .lock()?
            .unwritten_failures
            .iter()
            .map(|(id, (seq, reason))| (*id, *seq, reason.clone()))
            .collect();
        if unwritten.is_empty() {
            return Ok(());
        }
        self.mempool.fail(
            unwritten
                .iter()
                .map(|(id, seq, reason)| (*seq, id, reason.as_str())),
        )?;
        let mut ix = self.lock()?;
        for (id, _, _) in &unwritten {
            ix.unwritten_failures.remove(id);
        }
        Ok(())
    }

    /// Flushes the indexes if an earlier flush failed; whether nothing is left unflushed.
    fn index_caught_up(&self) -> bool {
        match self.lock() {
            Ok(mut ix) => self.flush_index(&mut ix).is_ok(),
            Err(_) => false,
        }
    }

    /// Test hook: make every mempool write fail (as on a full disk) while `on`.
    #[doc(hidden)]
    pub fn inject_storage_fault(&self, on: bool) {
        self.mempool.inject_fault(on);
    }

    /// Status of a payment: committed, pending or batched, failed (with the reason), or `None`
    /// when unknown. The index is read outside the node's lock; an unreadable index is an
    /// error, never an answer.
    pub fn status(&self, id: &[u8; 32]) -> Result<Option<PaymentStatus>, NodeError> {
        let (unflushed, pending, unwritten) = {
            let ix = self.lock()?;
            let pending = ix.pending_ids.get(id).map(|seq| match ix.pending.get(seq) {
                Some(p) if p.batched => PaymentStatus::Batched,
                _ => PaymentStatus::Pending,
            });
            (
                ix.overlay.payments.get(id).copied(),
                pending,
                ix.unwritten_failures.get(id).map(|(_, r)| r.clone()),
            )
        };
        if let Some(batch) = unflushed {
            return Ok(Some(PaymentStatus::Committed { batch }));
        }
        if pending.is_some() {
            return Ok(pending);
        }
        if let Some(batch) = self.index.payment_batch(id)? {
            return Ok(Some(PaymentStatus::Committed { batch }));
        }
        if let Some(reason) = unwritten {
            return Ok(Some(PaymentStatus::Failed { reason }));
        }
        Ok(self
            .mempool
            .failure(id)?
            .map(|reason| PaymentStatus::Failed { reason }))
    }

    /// Status of an invoice tag (an unreadable index is an error).
    pub fn invoice(&self, tag: &[u8; 32]) -> Result<InvoiceStatus, NodeError> {
        let held = self.lock()?.held_invoice(tag);
        let id = match held {
            Some(id) => Some(id),
            None => self.index.invoice(tag)?,
        };
        Ok(match id {
            None => InvoiceStatus {
                paid: false,
                payment: None,
                status: None,
            },
            Some(id) => {
                let status = self.status(&id)?;
                InvoiceStatus {
                    paid: matches!(status, Some(PaymentStatus::Committed { .. })),
                    payment: Some(hex::encode(id)),
                    status,
                }
            }
        })
    }

    /// Notes from position `from`, at most `limit`, in position order. The unflushed ones are
    /// copied under the node's lock and the index is read after it (a note flushed in between
    /// is read twice and kept once, never missed).
    pub fn notes(&self, from: u64, limit: usize) -> Result<Vec<NoteEntry>, NodeError> {
        let unflushed: Vec<NoteEntry> = self
            .lock()?
            .overlay
            .notes
            .range(from..)
            .take(limit)
            .map(|(_, n)| n.clone())
            .collect();
        let mut all: BTreeMap<u64, NoteEntry> = self
            .index
            .notes_from(from, limit, |_| true)?
            .into_iter()
            .map(|n| (n.position, n))
            .collect();
        all.extend(unflushed.into_iter().map(|n| (n.position, n)));
        Ok(all.into_values().take(limit).collect())
    }

    /// The notes a committed batch created, in position order (read as [`Self::notes`]).
    pub fn batch_notes(&self, batch: u64) -> Result<Vec<NoteEntry>, NodeError> {
        let (start, unflushed) = {
            let ix = self.lock()?;
            let start = ix.overlay.batches.get(&batch).copied();
            let notes: Vec<NoteEntry> = ix
                .overlay
                .notes
                .values()
                .filter(|n| n.batch == batch)
                .cloned()
                .collect();
            (start, notes)
        };
        let start = match start {
            Some(s) => Some(s),
            None => self.index.batch_start(batch)?,
        };
        let Some(start) = start else {
            return Ok(Vec::new());
        };
        // the batch's notes are the run of notes from its start that carry its number
        let mut all: BTreeMap<u64, NoteEntry> = self
            .index
            .notes_from(start, usize::MAX, |n| n.batch == batch)?
            .into_iter()
            .map(|n| (n.position, n))
            .collect();
        all.extend(unflushed.into_iter().map(|n| (n.position, n)));
        Ok(all.into_values().collect())
    }

    /// The committed head and recent roots.
    pub fn head(&self) -> Option<(LedgerHead, Vec<Root>)> {
        self.lock()
            .ok()
            .and_then(|ix| ix.head.map(|h| (h, ix.recent_roots.clone())))
    }

    /// Debits of `account` in `asset` reserved by pending deposits.
    pub fn reserved_debits(&self, account: &PublicAccount, asset: &AssetId) -> u128 {
        self.lock()
            .ok()
            .and_then(|ix| ix.debits.get(&(*account, *asset)).copied())
            .unwrap_or(0)
    }

    /// The `/metrics` exposition, with the mempool gauges refreshed.
    pub fn render_metrics(&self) -> String {
        if let Ok(ix) = self.lock() {
            let m = &self.metrics;
            m.mempool_payments.set(ix.pending.len() as i64);
            m.mempool_bytes.set(ix.pending_bytes as i64);
            m.mempool_oldest_age_seconds.set(
                ix.pending
                    .values()
                    .next()
                    .map(|p| p.received.elapsed().as_secs_f64())
                    .unwrap_or(0.0),
            );
            // waiting: not yet taken into the batch being proven (O(1): a scrape must not walk
            // a mempool of 100,000 payments under the index lock)
            let taken = usize::try_from(m.proving_payments.get()).unwrap_or(0);
            let waiting = ix.pending.len().saturating_sub(taken);
            m.proving_backlog_batches
                .set(waiting.div_ceil(self.config.batch_size.max(1)) as i64);
        }
        self.metrics.render()
    }

    /// Payments waiting.
    pub fn mempool_len(&self) -> usize {
        self.lock().map(|ix| ix.pending.len()).unwrap_or(0)
    }

    /// Age of the oldest waiting payment.
    pub fn oldest_pending_age(&self) -> Option<std::time::Duration> {
        self.lock()
            .ok()
            .and_then(|ix| ix.pending.values().next().map(|p| p.received.elapsed()))
    }

    /// How many payments the ledger's forced-inclusion queue holds (0 when it cannot say).
    pub fn forced_pending(&self) -> u64 {
        self.ledger.forced_pending().unwrap_or(0)
    }

    /// Takes up to `batch_size` waiting payments, proves them in parallel chunks and commits
    /// them to the ledger. Payments the ledger's rules would refuse (found by
    /// [`BaseLedger::screen`] before proving, or named by a refusal of the batch) are failed
    /// with their reason and the batch is proven again without them, so one bad payment never
    /// fails the others. Returns the committed batch number, if any.
    pub fn run_batch_once(&self) -> Result<Option<u64>, NodeError> {
        let _b = self
            .batch_lock
            .lock()
            .map_err(|_| NodeError::Storage("batch lock poisoned".into()))?;
        // no transaction of an earlier, uncommitted batch may land once this one is formed, and
        // batches this node did not commit (another committer's, or such a transaction that
        // landed) are followed before anything is screened against the ledger
        if let Err(e) = self.ledger.settle() {
            self.metrics.ledger_errors.inc();
            return Err(NodeError::Storage(format!("ledger: {e}")));
        }
        let mine = self.lock()?.head.as_ref().map(|h| h.number).unwrap_or(0);
        if self.ledger.head()?.number > mine {
            self.catch_up()?;
        }
        let (base_state, head, mut taken, dropped) = {
            let mut ix = self.lock()?;
            let roots = ix.recent_roots.clone();
            let mut taken = Vec::new();
            let mut dropped = Vec::new();
            for p in ix.pending.values_mut() {
                if taken.len() >= self.config.batch_size {
                    break;
                }
                if roots.contains(&p.sub.public.note_root) {
                    p.batched = true;
                    taken.push((p.seq, p.sub.clone()));
                } else {
                    dropped.push((p.seq, p.sub.clone()));
                }
            }
            let state = ix
                .state
                .clone()
                .ok_or_else(|| NodeError::Storage("no state".into()))?;
            let head = ix
                .head
                .ok_or_else(|| NodeError::Storage("no head".into()))?;
            (state, head, taken, dropped)
        };
        if !dropped.is_empty() {
            self.fail(
                &dropped,
                "root_expired",
                "note root expired before batching",
            )?;
        }
        // Payments queued on the ledger for forced inclusion (its escape hatch) lead the batch,
        // in queue order; a waiting payment that spends one of their notes (other than the same
        // payment, sent here too) can never be committed.
        let mut lead = match self.ledger.forced() {
            Ok(f) => f,
            Err(e) => {
                self.metrics.ledger_errors.inc();
                self.unmark_batched(&taken);
                return Err(NodeError::Storage(format!("ledger: {e}")));
            }
        };
        if !lead.is_empty() {
            let ids: std::collections::HashSet<[u8; 32]> = lead.iter().map(|p| p.id()).collect();
            let spent: std::collections::HashSet<_> =
                lead.iter().flat_map(|p| p.public.nullifiers).collect();
            let paid: std::collections::HashSet<_> =
                lead.iter().filter_map(|p| p.public.invoice()).collect();
            let (conflicting, keep): (Vec<_>, Vec<_>) = taken.into_iter().partition(|(_, s)| {
                !ids.contains(&s.id())
                    && (s.public.nullifiers.iter().any(|n| spent.contains(n))
                        || s.public.invoice().is_some_and(|t| paid.contains(&t)))
            });
            taken = keep;
            let each: Vec<_> = conflicting
                .into_iter()
                .map(|c| {
                    let reason = if c.1.public.nullifiers.iter().any(|n| spent.contains(n)) {
                        "its note is spent by a payment queued on the ledger for forced inclusion"
                    } else {
                        "its invoice is paid by a payment queued on the ledger for forced inclusion"
                    };
                    (c, reason.to_string())
                })
                .collect();
            self.fail_each("ledger_rules", &each)?;
        }
        // Drop what the ledger's per-payment rules refuse before spending time on proofs.
        let subs: Vec<PaymentSubmission> = taken.iter().map(|(_, s)| s.clone()).collect();
        let refused = match self.ledger.screen(&subs) {
            Ok(r) => r,
            Err(e) => {
                self.metrics.ledger_errors.inc();
                self.unmark_batched(&taken);
                return Err(NodeError::Storage(format!("ledger: {e}")));
            }
        };
        if !refused.is_empty() {
            self.metrics.ledger_refusal("screen", refused.len() as u64);
            let mut failed = Vec::new();
            for (i, e) in refused.iter().rev() {
                failed.push((
                    taken.remove(*i),
                    format!("ledger rules: {}", e.payment_reason()),
                ));
            }
            self.fail_each("ledger_rules", &failed)?;
        }
        // the proving gauges fall back to 0 on every way out
        let _proving = ProvingGauges(&self.metrics);
        loop {
            let (payments, origin) = compose_batch(&lead, &taken);
            if payments.is_empty() {
                return Ok(None);
            }
            let mut state = base_state.clone();
            let start_cursor = state.notes.size();
            let publics: Vec<_> = payments.iter().map(|s| s.public.clone()).collect();
            let chunks = match state.apply_batch(&publics) {
                Ok(c) => c,
                Err(zkpay_protocol::ProtocolError::Storage(e)) => {
                    // the index could not be read: the payments stay pending
                    self.set_storage_failing();
                    self.unmark_batched(&taken);
                    return Err(NodeError::Storage(format!("index: {e}")));
                }
                Err(e) if !lead.is_empty() => {
                    // a queued payment the ledger still counts as live cannot be applied (the
                    // ledger drops the ones it can prove spent): the waiting payments must not
                    // fail for it, and go without the queue this time
                    self.metrics.ledger_errors.inc();
                    tracing::error!(error = %e, "payments queued on the ledger cannot be applied");
                    lead.clear();
                    continue;
                }
                Err(e) => {
                    self.metrics.batches_failed.inc();
                    tracing::error!(error = %e, "batch cannot be applied");
                    self.fail(
                        &taken,
                        "unapplicable",
                        &format!("batch cannot be applied: {e}"),
                    )?;
                    return Ok(None);
                }
            };
            self.metrics.proving_payments.set(taken.len() as i64);
            self.metrics.proving_chunks.set(chunks.len() as i64);
            let started = Instant::now();
            let proofs = match self.batch_prover.prove_batch_timed(&chunks) {
                Ok(p) => {
                    self.metrics
                        .batch_prove_seconds
                        .observe(started.elapsed().as_secs_f64());
                    p.into_iter()
                        .map(|(proof, took)| {
                            self.metrics.chunk_prove_seconds.observe(took.as_secs_f64());
                            proof
                        })
                        .collect::<Vec<_>>()
                }
                Err(e) => {
                    self.unmark_batched(&taken);
                    return Err(e.into());
                }
            };
            let submission = BatchSubmission {
                number: head.number + 1,
                parent: head.hash,
                payments: payments.clone(),
                chunks: chunks
                    .iter()
                    .zip(&proofs)
                    .map(|((p, _), pr)| ChunkSubmission {
                        public: *p,
                        proof: encode_proof(pr).to_vec(),
                    })
                    .collect(),
            };
            // Ingest keeps running during the commit; `committing` lets it count this batch's
            // debits once whether or not the ledger has applied them yet.
            self.lock()?.committing = Some(Committing::of(submission.number, &taken));
            self.metrics.proving_chunks.set(0);
            let started = Instant::now();
            let result = self.ledger.commit(&submission);
            self.metrics
                .ledger_commit_seconds
                .observe(started.elapsed().as_secs_f64());
            let mut ix = self.lock()?;
            let committed = match result {
                Ok(c) => c,
                Err(zkpay_ledger::LedgerError::NotNext { expected, got, .. }) => {
                    // the ledger moved on without this node: another committer's batch (anyone
                    // may commit once the sequencer has been silent for the contract's
                    // timeout), or an earlier version of this batch that landed late. Follow
                    // the ledger; what it did not commit stays pending for the next batch.
                    ix.committing = None;
                    drop(ix);
                    self.unmark_batched(&taken);
                    tracing::warn!(
                        expected,
                        got,
                        "the ledger has batches this node did not commit: following it"
                    );
                    self.catch_up()?;
                    return Ok(None);
                }
                Err(zkpay_ledger::LedgerError::Storage(e)) => {
                    // The ledger could not write: nothing was committed and the payments are
                    // still acknowledged and stored here, so they stay pending for the next
                    // attempt.
                    ix.committing = None;
                    drop(ix);
                    self.metrics.ledger_errors.inc();
                    self.unmark_batched(&taken);
                    return Err(NodeError::Storage(format!("ledger: {e}")));
                }
                Err(e) => {
                    ix.committing = None;
                    drop(ix);
                    self.metrics.batches_failed.inc();
                    self.metrics.ledger_refusal("commit", 1);
                    tracing::error!(error = %e, batch = submission.number, "ledger refused the batch");
                    match e.payment_index().map(|i| origin.get(i).copied()) {
                        Some(Some(BatchOrigin::Queued(j))) => {
                            // a queued payment the ledger refuses now: leave it to the queue's
                            // own rules (it is consumed as dead, or waits), prove the rest again
                            lead.remove(j);
                            continue;
                        }
                        Some(Some(BatchOrigin::Mempool(i))) => {
                            // Only that payment breaks a rule: fail it, prove the rest again.
                            let bad = taken.remove(i);
                            self.fail_each(
                                "ledger_refused",
                                &[(
                                    bad,
                                    format!("ledger refused the payment: {}", e.payment_reason()),
                                )],
                            )?;
                            continue;
                        }
                        _ => {
                            self.fail(
                                &taken,
                                "ledger_refused",
                                &format!("ledger refused the batch: {e}"),
                            )?;
                            return Ok(None);
                        }
                    }
                }
            };
            // counted as soon as the ledger has it, whatever happens to the local cleanup
            self.metrics.batches_committed.inc();
            self.metrics
                .payments_committed
                .inc_by(submission.payments.len() as u64);
            self.metrics.batch_committed(committed.number);
            crash_point("after_ledger_commit");
            ix.overlay
                .add_batch(&committed, self.config.profile.params().slots, start_cursor);
            // the committed invoice tags are in the index now
            for (seq, sub) in &taken {
                ix.release(*seq, sub, true);
            }
            ix.committing = None;
            ix.state = Some(state);
            if let Err(e) = self.flush_index(&mut ix) {
                // still applied in memory; the next flush writes it, or the next start replays it
                self.set_storage_failing();
                tracing::error!(error = %e, "index write failed: no longer acknowledging payments");
            }
            ix.head = Some(self.ledger.head()?);
            ix.recent_roots = self.ledger.recent_roots()?;
            drop(ix);
            let seqs: Vec<u64> = taken.iter().map(|(s, _)| *s).collect();
            self.remove_from_mempool(&seqs)?;
            for (_, sub) in &taken {
                tracing::debug!(
                    payment = %hex::encode(sub.id()),
                    batch = committed.number,
                    "payment committed"
                );
            }
            tracing::info!(
                batch = committed.number,
                payments = submission.payments.len(),
                queued = lead.len(),
                "batch committed"
            );
            return Ok(Some(committed.number));
        }
    }

    /// Fails payments for one reason; `cause` is its metric label.
    fn fail(
        &self,
        items: &[(u64, PaymentSubmission)],
        cause: &'static str,
        reason: &str,
    ) -> Result<(), NodeError> {
        let each: Vec<_> = items
            .iter()
            .map(|i| (i.clone(), reason.to_string()))
            .collect();
        self.fail_each(cause, &each)
    }

    /// Fails payments, each with its own reason: releases their reservations, and removes them
    /// from the durable mempool while recording the reasons in the same write, so that their
    /// status survives a restart.
    fn fail_each(
        &self,
        cause: &'static str,
        items: &[((u64, PaymentSubmission), String)],
    ) -> Result<(), NodeError> {
        if items.is_empty() {
            return Ok(());
        }
        // The reasons are on disk before the reservations go, so that a status asked in
        // between reads "pending", never "unknown".
        let ids: Vec<[u8; 32]> = items.iter().map(|((_, sub), _)| sub.id()).collect();
        let r = self.mempool.fail(
            items
                .iter()
                .zip(&ids)
                .map(|(((seq, _), reason), id)| (*seq, id, reason.as_str())),
        );
        if let Err(e) = &r {
            self.set_storage_failing();
            tracing::error!(error = %e, "mempool write failed: no longer acknowledging payments");
        }
        {
            let mut ix = self.lock()?;
            for (((seq, sub), reason), id) in items.iter().zip(&ids) {
                ix.release(*seq, sub, true);
                if r.is_err() {
                    // kept until storage works again, so that the status still names it
                    ix.unwritten_failures.insert(*id, (*seq, reason.clone()));
                }
            }
        }
        for ((_, reason), id) in items.iter().zip(&ids) {
            tracing::warn!(payment = %hex::encode(id), reason = %reason, "payment failed");
        }
        self.metrics.fail_payments(cause, items.len() as u64);
        r
    }

    /// Removes entries from the durable mempool. A failure leaves stale entries that the next
    /// start drops (they are committed or failed in the indexes rebuilt from the ledger), but the
    /// node stops acknowledging payments until storage works again.
    fn remove_from_mempool(&self, seqs: &[u64]) -> Result<(), NodeError> {
        let r = self.mempool.remove(seqs);
        if let Err(e) = &r {
            self.set_storage_failing();
            tracing::error!(error = %e, "mempool write failed: no longer acknowledging payments");
        }
        r
    }

    fn unmark_batched(&self, items: &[(u64, PaymentSubmission)]) {
        if let Ok(mut ix) = self.lock() {
            for (seq, _) in items {
                if let Some(p) = ix.pending.get_mut(seq) {
                    p.batched = false;
                }
            }
        }
    }

    /// A committed batch.
    pub fn batch(&self, n: u64) -> Result<Option<CommittedBatch>, NodeError> {
        Ok(self.ledger.batch(n)?)
    }
}

/// Resets the proving gauges when a batch attempt ends, however it ends.
struct ProvingGauges<'a>(&'a Metrics);

impl Drop for ProvingGauges<'_> {
    fn drop(&mut self) {
        self.0.proving_payments.set(0);
        self.0.proving_chunks.set(0);
    }
}

/// Test hook: `ZKPAY_CRASH_AT=<point>` aborts the process there (simulates `kill -9`). Only in
/// builds with the `test-hooks` feature (the tests'); elsewhere it does nothing.
#[cfg(feature = "test-hooks")]
pub fn crash_point(name: &str) {
    if std::env::var("ZKPAY_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("ZKPAY_CRASH_AT={name}: aborting");
        std::process::abort();
    }
}

/// Without the `test-hooks` feature the crash points are compiled out.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn crash_point(_name: &str) {}

/// Re-encodes a proof (used by tests).
pub fn reencode(p: &zkpay_verifier::Proof) -> Vec<u8> {
    encode_proof(p).to_vec()
}

/// Loads the operator's fee account key from `<data dir>/operator-account.key` (32 bytes, hex),
/// creating it (mode 0600) on first start.
fn operator_key(dir: &std::path::Path) -> Result<AccountKey, NodeError> {
    let path = dir.join("operator-account.key");
    let storage = |e: std::io::Error| NodeError::Storage(format!("{}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = zeroize::Zeroizing::new(
                hex::decode(text.trim())
                    .map_err(|_| NodeError::Storage(format!("{}: not hex", path.display())))?,
            );
            let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                NodeError::Storage(format!("{}: expected 32 bytes", path.display()))
            })?;
            AccountKey::from_bytes(&arr)
                .map_err(|e| NodeError::Storage(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write as _;
            let key = AccountKey::random(&mut rand::rngs::OsRng);
            let tmp = dir.join("operator-account.key.tmp");
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(storage)?;
            let text = zeroize::Zeroizing::new(hex::encode(key.to_bytes().as_ref()));
            f.write_all(text.as_bytes()).map_err(storage)?;
            f.sync_all().map_err(storage)?;
            std::fs::rename(&tmp, &path).map_err(storage)?;
            tracing::info!(account = %key.account(), "created the operator's fee account key");
            Ok(key)
        }
        Err(e) => Err(storage(e)),
    }
}

/// The node's proving keys: a verified ceremony's (`config.params`), or on dev only the
/// INSECURE development keys.
pub fn load_provers(config: &NodeConfig) -> Result<(PaymentProver, BatchProver), NodeError> {
    let params = config.profile.params();
    let (payment, batch_prover) = match &config.params {
        Some(dir) => {
            // keys from a ceremony, checked against the directory's manifest (shape ids,
            // key ids, file hashes, points, and never the development seed's), the
            // manifest against the hash the network publishes
            let p = match (&config.params_sha256, config.network) {
                (Some(pin), _) => Params::open_pinned(dir, pin)?,
                (None, Network::Dev) => Params::open(dir)?,
                (None, network) => {
                    return Err(NodeError::Config(format!(
                        "the {network} network needs the SHA-256 of its parameters \
                             manifest (--params-sha256, as the network publishes it) beside \
                             --params, so that keys someone swapped into {} are refused",
                        dir.display()
                    )))
                }
            };
            tracing::info!(
                "proving keys from the ceremony in {} (manifest sha256 {})",
                dir.display(),
                p.manifest_hash()?
            );
            (
                PaymentProver::from_params(&p, params.depth)?,
                BatchProver::from_params(&p, params)?,
            )
        }
        None if config.network != Network::Dev => {
            // Row 40 of shared/bad-inputs.md: anyone can recompute the development setup's
            // toxic waste and forge any proof, so only dev may run on it.
            return Err(NodeError::Config(format!(
                "the {} network runs only proving keys from a verified trusted-setup \
                     ceremony (--params DIR, exported by `zkpay-setup export`), and none is \
                     configured; the development keys come from a public seed (anyone can \
                     forge proofs with them), so this node refuses to start. Use --network dev \
                     for development.",
                config.network
            )));
        }
        None => {
            tracing::warn!(
                "dev network: proving keys from the public development seed; anyone can \
                     forge proofs under them, never hold real money on this node"
            );
            let store = KeyStore::new(&config.data_dir);
            let mode = SetupMode::InsecureDevelopment { seed: 0 };
            (
                PaymentProver::new(&store, params.depth, mode, None)?,
                BatchProver::new(&store, params, mode, None)?,
            )
        }
    };
    Ok((payment, batch_prover))
}

/// Connects to the rollup contract of `evm` and checks that its keys are the node's.
pub fn open_evm_ledger(
    config: &NodeConfig,
    evm: &crate::config::EvmSettings,
    payment_verifier: &Verifier,
    chunk_verifier: &Verifier,
) -> Result<zkpay_ledger::evm::ledger::EvmLedger, NodeError> {
    use zkpay_ledger::evm::ledger::{EvmLedger, EvmLedgerConfig};
    let contract = evm
        .contract
        .parse()
        .map_err(|e| NodeError::Config(format!("--contract {}: {e}", evm.contract)))?;
    let signer = read_signer(&evm.signer_key_file)?;
    Ok(EvmLedger::open(
        EvmLedgerConfig {
            rpc: evm.rpc.clone(),
            contract,
            network: config.network,
            params: config.profile.params(),
            confirmations: evm.confirmations,
            inclusion_timeout: std::time::Duration::from_secs(120),
        },
        signer,
        payment_verifier,
        chunk_verifier,
    )?)
}

/// A secp256k1 secret key from a file: `0x` and 64 hex digits, surrounding whitespace allowed.
pub fn read_signer(
    path: &std::path::Path,
) -> Result<alloy::signers::local::PrivateKeySigner, NodeError> {
    let bad = |why: String| NodeError::Config(format!("signer key file {}: {why}", path.display()));
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?);
    let hex = text.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("expected 0x and 64 hex digits".into()));
    }
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex, bytes.as_mut()).map_err(|e| bad(e.to_string()))?;
    alloy::signers::local::PrivateKeySigner::from_bytes(&(*bytes).into())
        .map_err(|e| bad(e.to_string()))
}

/// Where a payment of a batch comes from.
#[derive(Clone, Copy, Debug)]
enum BatchOrigin {
    /// The ledger's forced-inclusion queue (index in the lead).
    Queued(usize),
    /// This node's mempool (index in the taken payments).
    Mempool(usize),
}

/// A batch's payments: the queued ones first, in queue order, then the mempool's (leaving out
/// those that are queued too: they lead as the queued ones).
fn compose_batch(
    lead: &[PaymentSubmission],
    taken: &[(u64, PaymentSubmission)],
) -> (Vec<PaymentSubmission>, Vec<BatchOrigin>) {
    let ids: std::collections::HashSet<[u8; 32]> = lead.iter().map(|p| p.id()).collect();
    let mut payments = lead.to_vec();
    let mut origin: Vec<BatchOrigin> = (0..lead.len()).map(BatchOrigin::Queued).collect();
    for (i, (_, s)) in taken.iter().enumerate() {
        if !ids.contains(&s.id()) {
            payments.push(s.clone());
            origin.push(BatchOrigin::Mempool(i));
        }
    }
    (payments, origin)
}
