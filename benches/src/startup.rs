//! Node start-up after a long history: time and memory of opening a node over a ledger holding
//! `N` committed payments, from its index's checkpoint and (optionally) from an empty index.
//!
//! The history is synthetic: batches of random payments (random nullifiers, commitments and
//! invoice tags, full-length ciphertexts and proofs of random bytes) whose chain states are
//! computed by the protocol's own trees, written through the [`BaseLedger`] interface to
//! [`SyntheticLedger`], a RocksDB log that records batches without verifying their proofs (no
//! proof of a million payments can be made here). The node replays those batches exactly as it
//! replays a real ledger's: it applies them to its trees and checks every state.
//!
//! Each open runs in a child process (`zkpay-bench startup-open`), so that its peak resident
//! memory is its own.

use anyhow::{bail, Context, Result};
use rand::{Rng, RngCore, SeedableRng};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use zkpay_ledger::store::Store;
use zkpay_ledger::{
    BaseLedger, BatchSubmission, ChunkSubmission, CommittedBatch, LedgerError, LedgerHead,
    PaymentSubmission,
};
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::encryption::CIPHERTEXT_LEN;
use zkpay_protocol::field::F;
use zkpay_protocol::note::{AssetId, Commitment, Nullifier, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic, PublicAccount};
use zkpay_protocol::tree_store::StoreRef;
use zkpay_sequencer::index::{Checkpoint, IndexDb, Overlay};
use zkpay_sequencer::{Node, NodeConfig, Profile};
use zkpay_verifier::batch::ChainState;

/// Recent roots the synthetic ledger keeps.
const RECENT: usize = 32;

/// A ledger log in RocksDB that appends batches without verifying them: for building long
/// synthetic histories only. Its balances and pools are empty.
pub struct SyntheticLedger {
    db: Store,
    network: Network,
    params: ChunkParams,
}

fn ledger_err(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

fn batch_key(n: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..2].copy_from_slice(b"b/");
    k[2..].copy_from_slice(&n.to_be_bytes());
    k
}

impl SyntheticLedger {
    /// Opens (creating at genesis) the log in `dir`.
    pub fn open(dir: &Path, network: Network, params: ChunkParams) -> Result<Self> {
        let l = Self {
            db: Store::open(dir)?,
            network,
            params,
        };
        if l.db.db()?.get(b"head")?.is_none() {
            let head = zkpay_ledger::genesis_head(network, params)?;
            let mut wb = WriteBatch::default();
            wb.put(b"head", serde_json::to_vec(&head)?);
            wb.put(b"roots", serde_json::to_vec(&vec![head.state.note_root])?);
            l.db.write(wb)?;
        }
        Ok(l)
    }

    /// Appends `b` (its number, parent and hash are taken as given).
    pub fn append(&self, b: &CommittedBatch) -> Result<(), LedgerError> {
        let mut roots = self.recent_roots()?;
        roots.push(b.state.note_root);
        if roots.len() > RECENT {
            roots.remove(0);
        }
        let head = LedgerHead {
            number: b.number,
            hash: b.hash,
            state: b.state,
        };
        let mut wb = WriteBatch::default();
        wb.put(
            batch_key(b.number),
            serde_json::to_vec(b).map_err(ledger_err)?,
        );
        wb.put(b"head", serde_json::to_vec(&head).map_err(ledger_err)?);
        wb.put(b"roots", serde_json::to_vec(&roots).map_err(ledger_err)?);
        self.db.write(wb).map_err(ledger_err)
    }
}

impl BaseLedger for SyntheticLedger {
    fn head(&self) -> Result<LedgerHead, LedgerError> {
        let b = self
            .db
            .db()
            .map_err(ledger_err)?
            .get(b"head")
            .map_err(ledger_err)?
            .ok_or_else(|| ledger_err("no head"))?;
        serde_json::from_slice(&b).map_err(ledger_err)
    }

    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError> {
        let b = self
            .db
            .db()
            .map_err(ledger_err)?
            .get(b"roots")
            .map_err(ledger_err)?
            .ok_or_else(|| ledger_err("no roots"))?;
        serde_json::from_slice(&b).map_err(ledger_err)
    }

    fn commit(&self, batch: &BatchSubmission) -> Result<CommittedBatch, LedgerError> {
        let head = self.head()?;
        if batch.number != head.number + 1 || batch.parent != head.hash {
            return Err(ledger_err("not the next batch"));
        }
        if batch.payments.iter().any(|p| p.ext.network != self.network) {
            return Err(ledger_err("a payment of another network"));
        }
        let mut state = ChainState {
            note_root: head.state.note_root,
            nullifier_root: head.state.nullifier_root,
            note_cursor: head.state.note_cursor,
            nullifier_cursor: head.state.nullifier_cursor,
        };
        if let Some(last) = batch.chunks.last() {
            state.note_root = last.public.new_note_root;
            state.nullifier_root = last.public.new_nullifier_root;
            state.note_cursor = last.public.note_start + 2 * self.params.slots as u64;
            state.nullifier_cursor = last.public.nullifier_start + 2 * self.params.slots as u64;
        }
        let hash = zkpay_ledger::batch_hash_of(
            batch.number,
            &batch.parent,
            &batch.payments,
            &batch.chunks,
            &state,
        );
        let b = CommittedBatch {
            number: batch.number,
            parent: batch.parent,
            hash,
            payments: batch.payments.clone(),
            chunks: batch.chunks.clone(),
            state,
        };
        self.append(&b)?;
        Ok(b)
    }

    fn screen(
        &self,
        _payments: &[PaymentSubmission],
    ) -> Result<Vec<(usize, LedgerError)>, LedgerError> {
        Ok(Vec::new())
    }

    fn batch(&self, number: u64) -> Result<Option<CommittedBatch>, LedgerError> {
        self.db
            .db()
            .map_err(ledger_err)?
            .get(batch_key(number))
            .map_err(ledger_err)?
            .map(|b| serde_json::from_slice(&b).map_err(ledger_err))
            .transpose()
    }

    fn balance(&self, _: &PublicAccount, _: &AssetId) -> Result<u128, LedgerError> {
        Ok(0)
    }

    fn pool(&self, _: &AssetId) -> Result<u128, LedgerError> {
        Ok(0)
    }

    fn debit_domain(&self) -> zkpay_protocol::account::DebitDomain {
        zkpay_protocol::account::DebitDomain::embedded(self.network)
    }

    fn faucet(&self, _: &PublicAccount, _: &AssetId, _: u64) -> Result<(), LedgerError> {
        Err(ledger_err("the synthetic ledger has no faucet"))
    }
}

/// A synthetic payment spending two random nullifiers into two random notes.
fn payment(rng: &mut rand_chacha::ChaCha20Rng, root: Root, network: Network) -> PaymentSubmission {
    let mut ct = || {
        let mut v = vec![0u8; CIPHERTEXT_LEN];
        rng.fill_bytes(&mut v);
        v
    };
    let ciphertexts = [ct(), ct()];
    let ext = ExtData {
        network,
        fee_recipient: PublicAccount::from_bytes([1; 20]),
        public_account: None,
        ciphertexts,
    };
    let mut proof = vec![0u8; 256];
    rng.fill_bytes(&mut proof);
    let fe = |rng: &mut rand_chacha::ChaCha20Rng| {
        F::from(rng.gen::<u128>()) * F::from(rng.gen::<u128>())
    };
    let invoice_tag = if rng.gen_ratio(1, 4) {
        fe(rng)
    } else {
        F::from(0u64)
    };
    PaymentSubmission {
        public: PaymentPublic {
            note_root: root,
            nullifiers: [Nullifier(fe(rng)), Nullifier(fe(rng))],
            commitments: [Commitment(fe(rng)), Commitment(fe(rng))],
            asset: AssetId(F::from(1u64)),
            public_value: 0,
            fee: 0,
            ext_data_hash: ext.hash(),
            invoice_tag,
        },
        ext,
        proof,
        authorization: None,
    }
}

/// What building a synthetic history took.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct History {
    /// Committed payments.
    pub payments: u64,
    /// Committed batches.
    pub batches: u64,
    /// Seconds to build it (now, or when it was first built and cached; for a build that was
    /// interrupted and resumed, the last part only).
    pub build_s: f64,
    /// Bytes of the ledger's files.
    pub ledger_bytes: u64,
}

/// Writes batch `b` (applied to `state`, its notes from `start`) to the node's index as the
/// node does: its entries, the trees' unflushed writes and a checkpoint at `b`.
fn index_batch(
    index: &IndexDb,
    state: &mut RollupState,
    b: &CommittedBatch,
    start: u64,
    params: ChunkParams,
) -> Result<()> {
    let mut overlay = Overlay::default();
    overlay.add_batch(b, params.slots, start);
    let cp = Checkpoint::new(
        params,
        b.number,
        &b.hash,
        state.notes.size(),
        state.nullifiers.size(),
    );
    index.flush(&state.unflushed(), &overlay, &cp)?;
    state.mark_flushed()?;
    Ok(())
}

/// Builds (or reuses, when `dir` already holds it) a ledger of `payments` synthetic payments
/// in batches of `batch` for `profile` (`dir/ledger`), and the node's index of every batch but
/// the last (`dir/node/index`, written with the node's own [`Overlay::add_batch`] and
/// [`IndexDb::flush`] and checkpointed after every batch), so that the node's first start
/// replays exactly one batch.
pub fn history(dir: &Path, payments: u64, batch: usize, profile: Profile) -> Result<History> {
    let marker = dir.join("history.json");
    if let Ok(b) = std::fs::read(&marker) {
        if let Ok(h) = serde_json::from_slice::<History>(&b) {
            if h.payments == payments {
                return Ok(h);
            }
        }
        // a finished history of another length: start again
        std::fs::remove_dir_all(dir)?;
    }
    // without the marker, a directory holding a ledger is an interrupted build of this
    // history (batch `n` is the same whoever builds it): it is resumed
    std::fs::create_dir_all(dir)?;
    let params = profile.params();
    let network = Network::Dev;
    let ledger = SyntheticLedger::open(&dir.join("ledger"), network, params)?;
    let index = IndexDb::open(&dir.join("node").join("index"))?;
    let checkpoint = index.checkpoint()?;
    let mut state = RollupState::on_store(
        params,
        StoreRef(index.clone()),
        checkpoint
            .as_ref()
            .map(|cp| (cp.note_size, cp.nullifier_cursor)),
    )?;
    let started = Instant::now();
    let batches = payments.div_ceil(batch as u64);
    let mut head = ledger.head()?;
    if head.number > batches {
        bail!(
            "{} holds {} batches, more than this history's {batches}",
            dir.display(),
            head.number
        );
    }
    // the index may be a batch or more behind the ledger (interrupted between the two writes)
    let indexed = checkpoint.map(|cp| cp.batch).unwrap_or(0);
    for n in indexed + 1..=head.number {
        let b = ledger
            .batch(n)?
            .with_context(|| format!("the ledger lacks batch {n}"))?;
        let publics: Vec<_> = b.payments.iter().map(|p| p.public.clone()).collect();
        let start = state.notes.size();
        state.apply_batch(&publics)?;
        if b.state != ChainState::of(&state) {
            bail!("resuming at batch {n}: the index's trees are not the ledger's");
        }
        if n < batches {
            index_batch(&index, &mut state, &b, start, params)?;
        }
    }
    for n in head.number + 1..=batches {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(n);
        let count = (payments - (n - 1) * batch as u64).min(batch as u64) as usize;
        let root = Root(state.notes.root());
        let subs: Vec<_> = (0..count)
            .map(|_| payment(&mut rng, root, network))
            .collect();
        let publics: Vec<_> = subs.iter().map(|s| s.public.clone()).collect();
        let start = state.notes.size();
        let chunks = state.apply_batch(&publics)?;
        let submission = BatchSubmission {
            number: n,
            parent: head.hash,
            payments: subs,
            chunks: chunks
                .into_iter()
                .map(|(public, _)| {
                    let mut proof = vec![0u8; 256];
                    rng.fill_bytes(&mut proof);
                    ChunkSubmission { public, proof }
                })
                .collect(),
        };
        let committed = ledger.commit(&submission)?;
        if committed.state != ChainState::of(&state) {
            bail!("synthetic batch {n}: the ledger's state is not the trees'");
        }
        head = ledger.head()?;
        if n < batches {
            index_batch(&index, &mut state, &committed, start, params)?;
        }
        if n % 256 == 0 {
            eprintln!(
                "startup: built {n}/{batches} batches in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let h = History {
        payments,
        batches,
        build_s: started.elapsed().as_secs_f64(),
        ledger_bytes: IndexDb::disk_bytes(&dir.join("ledger")),
    };
    std::fs::write(&marker, serde_json::to_vec_pretty(&h)?)?;
    Ok(h)
}

/// One node start, as measured inside its own process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Open {
    /// Seconds to load the proving keys.
    pub keys_s: f64,
    /// Seconds for the node to open: index, checkpoint check, replay, mempool.
    pub open_s: f64,
    /// Ledger batches replayed after the checkpoint.
    pub replayed_batches: u64,
    /// Resident memory once the keys are loaded, in bytes.
    pub rss_keys_bytes: u64,
    /// Resident memory once the node is open.
    pub rss_open_bytes: u64,
    /// Peak resident memory of the process.
    pub peak_rss_bytes: u64,
    /// Bytes of the index's files after the open.
    pub index_bytes: u64,
}

fn rss(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Opens a dev node of `profile` with data in `data` over the synthetic ledger in `ledger`,
/// keys cached in `keys` (the child process's work).
pub fn open_node(data: &Path, ledger: &Path, keys: &Path, profile: Profile) -> Result<Open> {
    let params = profile.params();
    let started = Instant::now();
    let store = zkpay_prover::KeyStore::new(keys);
    let mode = zkpay_prover::SetupMode::InsecureDevelopment { seed: 0 };
    let payment = zkpay_prover::PaymentProver::new(&store, params.depth, mode, None)?;
    let batcher = zkpay_prover::BatchProver::new(&store, params, mode, None)?;
    let keys_s = started.elapsed().as_secs_f64();
    let rss_keys_bytes = rss("VmRSS:");
    let l = Arc::new(SyntheticLedger::open(ledger, Network::Dev, params)?);
    let mut config = NodeConfig::new(data.to_path_buf(), profile);
    config.operator = Some(PublicAccount::from_bytes([1; 20]));
    config.recent_roots = RECENT;
    let started = Instant::now();
    let node = Node::with_ledger(config, l, payment.keys().verifier.clone(), batcher)?;
    let open_s = started.elapsed().as_secs_f64();
    let out = Open {
        keys_s,
        open_s,
        replayed_batches: node.replayed_at_start(),
        rss_keys_bytes,
        rss_open_bytes: rss("VmRSS:"),
        peak_rss_bytes: rss("VmHWM:"),
        index_bytes: IndexDb::disk_bytes(&data.join("index")),
    };
    drop(node);
    Ok(out)
}

/// The figures at one history length.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Startup {
    /// The history.
    pub history: History,
    /// First start: the checkpoint one batch behind the ledger, so one batch replayed (on a
    /// history reused from an earlier run, the checkpoint is at the head already).
    pub checkpoint_plus_one: Open,
    /// Start from the checkpoint at the head.
    pub from_checkpoint: Open,
    /// Start on an empty index: the node replays the whole history and builds its index
    /// (when asked for).
    pub from_genesis: Option<Open>,
}

fn child(exe: &Path, data: &Path, ledger: &Path, keys: &Path) -> Result<Open> {
    // the child opens a full-profile node
    let out = std::process::Command::new(exe)
        .arg("startup-open")
        .arg("--data")
        .arg(data)
        .arg("--ledger")
        .arg(ledger)
        .arg("--keys")
        .arg(keys)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running startup-open")?;
    if !out.status.success() {
        bail!("startup-open failed: {}", out.status);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Builds (or reuses) each history under `work` and measures the node's starts over it;
/// `from_genesis` adds a start on an empty index (a replay of the whole history), whose
/// checkpoint must equal the one the history's index reached.
pub fn startup_report(
    exe: &Path,
    work: &Path,
    payments: &[u64],
    batch: usize,
    from_genesis: bool,
) -> Result<Vec<Startup>> {
    let keys = work.join("keys-cache");
    let mut out = Vec::new();
    for &n in payments {
        let dir = work.join(format!("history-{n}"));
        let history = history(&dir, n, batch, Profile::Full)?;
        let ledger = dir.join("ledger");
        let data = dir.join("node");
        let checkpoint_plus_one = child(exe, &data, &ledger, &keys)?;
        let from_checkpoint = child(exe, &data, &ledger, &keys)?;
        let from_genesis = if from_genesis {
            let fresh = dir.join("node-from-genesis");
            let _ = std::fs::remove_dir_all(&fresh);
            let r = child(exe, &fresh, &ledger, &keys)?;
            let a = IndexDb::open(&data.join("index"))?.checkpoint()?;
            let b = IndexDb::open(&fresh.join("index"))?.checkpoint()?;
            if a != b || a.is_none() {
                bail!("the replayed index's checkpoint {b:?} is not the history's {a:?}");
            }
            std::fs::remove_dir_all(&fresh)?;
            Some(r)
        } else {
            None
        };
        out.push(Startup {
            history,
            checkpoint_plus_one,
            from_checkpoint,
            from_genesis,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small synthetic history: the node replays the batch after the history's checkpoint,
    /// then starts from its own; a node on an empty index rebuilds the same checkpoint; the
    /// ledger refuses a batch out of order.
    #[test]
    fn a_small_history_starts_from_its_checkpoint() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("h");
        let test = Profile::Test;
        let h = history(&dir, 20, 8, test).unwrap();
        assert_eq!((h.payments, h.batches), (20, 3));
        // cached
        assert_eq!(history(&dir, 20, 8, test).unwrap().build_s, h.build_s);
        let keys = work.path().join("keys");
        let (data, ledger) = (dir.join("node"), dir.join("ledger"));
        assert_eq!(
            open_node(&data, &ledger, &keys, test)
                .unwrap()
                .replayed_batches,
            1
        );
        assert_eq!(
            open_node(&data, &ledger, &keys, test)
                .unwrap()
                .replayed_batches,
            0
        );
        let fresh = dir.join("fresh");
        assert_eq!(
            open_node(&fresh, &ledger, &keys, test)
                .unwrap()
                .replayed_batches,
            3
        );
        let a = IndexDb::open(&data.join("index"))
            .unwrap()
            .checkpoint()
            .unwrap();
        let b = IndexDb::open(&fresh.join("index"))
            .unwrap()
            .checkpoint()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.unwrap().batch, 3);
        // an interrupted build (no marker, the index a batch behind) is resumed, and gives the
        // same history as one built at once
        let part = work.path().join("part");
        history(&part, 16, 8, test).unwrap();
        std::fs::remove_file(part.join("history.json")).unwrap();
        let resumed = history(&part, 20, 8, test).unwrap();
        assert_eq!((resumed.payments, resumed.batches), (20, 3));
        let hash = |d: &Path| {
            SyntheticLedger::open(&d.join("ledger"), Network::Dev, test.params())
                .unwrap()
                .head()
                .unwrap()
        };
        let whole = work.path().join("whole");
        history(&whole, 20, 8, test).unwrap();
        assert_eq!(hash(&part), hash(&whole));
        let ip = IndexDb::open(&part.join("node").join("index"))
            .unwrap()
            .checkpoint();
        let iw = IndexDb::open(&whole.join("node").join("index"))
            .unwrap()
            .checkpoint();
        assert_eq!(ip.unwrap(), iw.unwrap());
        let l = SyntheticLedger::open(&ledger, Network::Dev, test.params()).unwrap();
        let head = l.head().unwrap();
        let refused = l.commit(&BatchSubmission {
            number: head.number + 2,
            parent: head.hash,
            payments: vec![],
            chunks: vec![],
        });
        assert!(refused.is_err());
    }
}
