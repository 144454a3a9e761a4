//! The node's indexes on disk: RocksDB column families with a checkpoint.
//!
//! Everything the node knows about committed history lives here rather than in memory, so that
//! memory and start-up time do not grow with the history:
//!
//! | column family | key | value |
//! |---|---|---|
//! | `note_tree` | level (1 byte), index (8, BE) | node (32, canonical BE) |
//! | `nullifier_tree` | level, index | node |
//! | `nullifier_leaves` | index (8, BE) | value (32), next index (8, BE), next value (32) |
//! | `nullifier_values` | value (32, BE: byte order is numeric order) | leaf index (8, BE) |
//! | `payments` | payment id (32) | batch (8, BE) |
//! | `invoices` | invoice tag (32) | payment id (32) |
//! | `notes` | position (8, BE) | batch (8, BE), commitment (32), ciphertext |
//! | `batches` | batch (8, BE) | note cursor before it (8, BE) |
//! | `meta` | `checkpoint` | [`Checkpoint`] (JSON) |
//!
//! The node applies each committed batch to an in-memory overlay (the trees' unflushed nodes
//! and [`Overlay`]) and then writes the overlay and a new checkpoint in one synced write batch,
//! so the checkpoint always describes exactly what the column families hold. At start-up the
//! node reads the checkpoint, checks it against the ledger (the batch's hash and the state's
//! roots and cursors) and replays only the batches after it. The ledger stays the source of
//! truth: a checkpoint that does not match it (another ledger, a damaged file) makes the node
//! rebuild the index from genesis. Every record read back is decoded strictly.

use crate::NodeError;
use rocksdb::{Direction, IteratorMode, WriteBatch, DB};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use zkpay_api::node::NoteEntry;
use zkpay_ledger::store::Store;
use zkpay_ledger::CommittedBatch;
use zkpay_protocol::batch::ChunkParams;
use zkpay_protocol::field::{fe_from_bytes, fe_to_bytes, F};
use zkpay_protocol::note::Commitment;
use zkpay_protocol::nullifier_tree::IndexedLeaf;
use zkpay_protocol::tree_store::{TreeId, TreeStore, Unflushed};
use zkpay_protocol::ProtocolError;

const META: &str = "meta";
const NOTE_TREE: &str = "note_tree";
const NULLIFIER_TREE: &str = "nullifier_tree";
const NULLIFIER_LEAVES: &str = "nullifier_leaves";
const NULLIFIER_VALUES: &str = "nullifier_values";
const PAYMENTS: &str = "payments";
const INVOICES: &str = "invoices";
const NOTES: &str = "notes";
const BATCHES: &str = "batches";
const FAMILIES: [&str; 9] = [
    META,
    NOTE_TREE,
    NULLIFIER_TREE,
    NULLIFIER_LEAVES,
    NULLIFIER_VALUES,
    PAYMENTS,
    INVOICES,
    NOTES,
    BATCHES,
];
const CHECKPOINT: &[u8] = b"checkpoint";
const FORMAT: u32 = 1;

/// What the column families hold: the ledger batch they reflect and the trees' sizes then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Layout version.
    pub format: u32,
    /// Tree depth of the rollup's shape.
    pub depth: usize,
    /// Payments per chunk.
    pub slots: usize,
    /// Last batch applied.
    pub batch: u64,
    /// Its hash (hex), as the ledger records it.
    pub hash: String,
    /// Note-tree size after it.
    pub note_size: u64,
    /// Nullifier-tree cursor after it.
    pub nullifier_cursor: u64,
}

impl Checkpoint {
    /// Whether the checkpoint was written for the rollup shape `params`.
    pub fn fits(&self, params: ChunkParams) -> bool {
        self.format == FORMAT && self.depth == params.depth && self.slots == params.slots
    }

    /// A checkpoint after `batch` (with its `hash`) for shape `params`.
    pub fn new(
        params: ChunkParams,
        batch: u64,
        hash: &[u8; 32],
        note_size: u64,
        nullifier_cursor: u64,
    ) -> Self {
        Self {
            format: FORMAT,
            depth: params.depth,
            slots: params.slots,
            batch,
            hash: hex::encode(hash),
            note_size,
            nullifier_cursor,
        }
    }
}

/// Index entries of batches applied since the last flush.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// Committed payment id → batch.
    pub payments: HashMap<[u8; 32], u64>,
    /// Paid invoice tag → payment id.
    pub invoices: HashMap<[u8; 32], [u8; 32]>,
    /// Notes by position.
    pub notes: BTreeMap<u64, NoteEntry>,
    /// Batch → note cursor before it.
    pub batches: BTreeMap<u64, u64>,
    /// The last batch added: its number and hash (what a flush checkpoints).
    pub last: Option<(u64, [u8; 32])>,
}

impl Overlay {
    /// Records committed batch `b`'s payments, invoice tags and notes; its notes start at note
    /// cursor `start` and fill chunks of `slots` payments (two notes each).
    pub fn add_batch(&mut self, b: &CommittedBatch, slots: usize, start: u64) {
        self.last = Some((b.number, b.hash));
        self.batches.insert(b.number, start);
        for (i, p) in b.payments.iter().enumerate() {
            let id = p.id();
            self.payments.insert(id, b.number);
            if let Some(tag) = p.public.invoice() {
                self.invoices.insert(fe_to_bytes(&tag), id);
            }
            let chunk = (i / slots) as u64;
            let slot = (i % slots) as u64;
            for (o, (commitment, ciphertext)) in p
                .public
                .commitments
                .iter()
                .zip(&p.ext.ciphertexts)
                .enumerate()
            {
                let position = start + chunk * 2 * slots as u64 + 2 * slot + o as u64;
                self.notes.insert(
                    position,
                    NoteEntry {
                        position,
                        commitment: *commitment,
                        ciphertext: ciphertext.clone(),
                        batch: b.number,
                    },
                );
            }
        }
    }

    /// Whether nothing is waiting to be flushed.
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
    }
}

/// The index database.
pub struct IndexDb {
    store: Store,
}

impl std::fmt::Debug for IndexDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexDb")
    }
}

fn storage(e: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(format!("index: {e}"))
}

fn corrupt(what: &str) -> NodeError {
    NodeError::Storage(format!("index: malformed {what} record"))
}

fn u64_of(b: &[u8], what: &str) -> Result<u64, NodeError> {
    Ok(u64::from_be_bytes(b.try_into().map_err(|_| corrupt(what))?))
}

fn id_of(b: &[u8], what: &str) -> Result<[u8; 32], NodeError> {
    b.try_into().map_err(|_| corrupt(what))
}

fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn leaf_bytes(l: &IndexedLeaf) -> [u8; 72] {
    let mut v = [0u8; 72];
    v[..32].copy_from_slice(&fe_to_bytes(&l.value));
    v[32..40].copy_from_slice(&l.next_index.to_be_bytes());
    v[40..].copy_from_slice(&fe_to_bytes(&l.next_value));
    v
}

fn leaf_of(b: &[u8]) -> Result<IndexedLeaf, NodeError> {
    if b.len() != 72 {
        return Err(corrupt("nullifier leaf"));
    }
    Ok(IndexedLeaf {
        value: fe_from_bytes(&b[..32]).map_err(|_| corrupt("nullifier leaf"))?,
        next_index: u64_of(&b[32..40], "nullifier leaf")?,
        next_value: fe_from_bytes(&b[40..]).map_err(|_| corrupt("nullifier leaf"))?,
    })
}

fn note_bytes(n: &NoteEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(40 + n.ciphertext.len());
    v.extend_from_slice(&n.batch.to_be_bytes());
    v.extend_from_slice(&fe_to_bytes(&n.commitment.0));
    v.extend_from_slice(&n.ciphertext);
    v
}

fn note_of(key: &[u8], b: &[u8]) -> Result<NoteEntry, NodeError> {
    if b.len() < 40 {
        return Err(corrupt("note"));
    }
    Ok(NoteEntry {
        position: u64_of(key, "note")?,
        batch: u64_of(&b[..8], "note")?,
        commitment: Commitment(fe_from_bytes(&b[8..40]).map_err(|_| corrupt("note"))?),
        ciphertext: b[40..].to_vec(),
    })
}

fn protocol(e: NodeError) -> ProtocolError {
    ProtocolError::Storage(e.to_string())
}

impl IndexDb {
    /// Opens (creating if missing) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Self>, NodeError> {
        Ok(Arc::new(Self {
            store: Store::open_cf(dir, &FAMILIES).map_err(storage)?,
        }))
    }

    fn db(&self) -> Result<Arc<DB>, NodeError> {
        self.store.db().map_err(storage)
    }

    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        let db = self.db()?;
        let h = Store::cf(&db, cf).map_err(storage)?;
        db.get_cf(h, key).map_err(storage)
    }

    /// The checkpoint, if the index holds one.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, NodeError> {
        self.get(META, CHECKPOINT)?
            .map(|b| serde_json::from_slice(&b).map_err(|_| corrupt("checkpoint")))
            .transpose()
    }

    /// The batch that committed payment `id`.
    pub fn payment_batch(&self, id: &[u8; 32]) -> Result<Option<u64>, NodeError> {
        self.get(PAYMENTS, id)?
            .map(|b| u64_of(&b, "payment"))
            .transpose()
    }

    /// The committed payment that paid invoice tag `tag`.
    pub fn invoice(&self, tag: &[u8; 32]) -> Result<Option<[u8; 32]>, NodeError> {
        self.get(INVOICES, tag)?
            .map(|b| id_of(&b, "invoice"))
            .transpose()
    }

    /// The note cursor before batch `n`.
    pub fn batch_start(&self, n: u64) -> Result<Option<u64>, NodeError> {
        self.get(BATCHES, &n.to_be_bytes())?
            .map(|b| u64_of(&b, "batch"))
            .transpose()
    }

    /// Up to `limit` notes from position `from`, in position order, while `keep` holds.
    pub fn notes_from(
        &self,
        from: u64,
        limit: usize,
        keep: impl Fn(&NoteEntry) -> bool,
    ) -> Result<Vec<NoteEntry>, NodeError> {
        let db = self.db()?;
        let h = Store::cf(&db, NOTES).map_err(storage)?;
        let start = from.to_be_bytes();
        let mut out = Vec::new();
        for item in db.iterator_cf(h, IteratorMode::From(&start, Direction::Forward)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(storage)?;
            let n = note_of(&k, &v)?;
            if !keep(&n) {
                break;
            }
            out.push(n);
        }
        Ok(out)
    }

    /// Writes the trees' unflushed nodes, the overlay and `checkpoint` in one synced write.
    pub fn flush(
        &self,
        tree: &Unflushed,
        overlay: &Overlay,
        checkpoint: &Checkpoint,
    ) -> Result<(), NodeError> {
        let db = self.db()?;
        let cf = |name| Store::cf(&db, name).map_err(storage);
        let mut wb = WriteBatch::default();
        let h = cf(NOTE_TREE)?;
        for (l, i, v) in &tree.note_nodes {
            wb.put_cf(h, node_key(*l, *i), fe_to_bytes(v));
        }
        let h = cf(NULLIFIER_TREE)?;
        for (l, i, v) in &tree.nullifier_nodes {
            wb.put_cf(h, node_key(*l, *i), fe_to_bytes(v));
        }
        let h = cf(NULLIFIER_LEAVES)?;
        for (i, leaf) in &tree.nullifier_leaves {
            wb.put_cf(h, i.to_be_bytes(), leaf_bytes(leaf));
        }
        let h = cf(NULLIFIER_VALUES)?;
        for (v, i) in &tree.nullifier_values {
            wb.put_cf(h, v, i.to_be_bytes());
        }
        let h = cf(PAYMENTS)?;
        for (id, b) in &overlay.payments {
            wb.put_cf(h, id, b.to_be_bytes());
        }
        let h = cf(INVOICES)?;
        for (tag, id) in &overlay.invoices {
            wb.put_cf(h, tag, id);
        }
        let h = cf(NOTES)?;
        for (pos, n) in &overlay.notes {
            wb.put_cf(h, pos.to_be_bytes(), note_bytes(n));
        }
        let h = cf(BATCHES)?;
        for (n, start) in &overlay.batches {
            wb.put_cf(h, n.to_be_bytes(), start.to_be_bytes());
        }
        wb.put_cf(
            cf(META)?,
            CHECKPOINT,
            serde_json::to_vec(checkpoint).map_err(storage)?,
        );
        drop(db);
        self.store.write(wb).map_err(storage)
    }

    /// Empties every column family (before a rebuild from genesis), in one synced write.
    pub fn wipe(&self) -> Result<(), NodeError> {
        let db = self.db()?;
        let mut wb = WriteBatch::default();
        for name in FAMILIES {
            // every key here is at most 33 bytes long
            wb.delete_range_cf(
                Store::cf(&db, name).map_err(storage)?,
                &[][..],
                &[0xffu8; 34][..],
            );
        }
        drop(db);
        self.store.write(wb).map_err(storage)?;
        if self.checkpoint()?.is_some() {
            return Err(NodeError::Storage("index: could not be emptied".into()));
        }
        Ok(())
    }

    /// Whether a write failed and the database waits to be reopened.
    pub fn failed(&self) -> bool {
        self.store.failed()
    }

    /// Bytes of the database's files (for reports).
    pub fn disk_bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl TreeStore for IndexDb {
    fn node(&self, tree: TreeId, level: u8, index: u64) -> zkpay_protocol::Result<Option<F>> {
        let cf = match tree {
            TreeId::Notes => NOTE_TREE,
            TreeId::Nullifiers => NULLIFIER_TREE,
        };
        self.get(cf, &node_key(level, index))
            .map_err(protocol)?
            .map(|b| fe_from_bytes(&b).map_err(|_| protocol(corrupt("tree node"))))
            .transpose()
    }

    fn nullifier_leaf(&self, index: u64) -> zkpay_protocol::Result<Option<IndexedLeaf>> {
        self.get(NULLIFIER_LEAVES, &index.to_be_bytes())
            .map_err(protocol)?
            .map(|b| leaf_of(&b).map_err(protocol))
            .transpose()
    }

    fn nullifier_index(&self, value: &[u8; 32]) -> zkpay_protocol::Result<Option<u64>> {
        self.get(NULLIFIER_VALUES, value)
            .map_err(protocol)?
            .map(|b| u64_of(&b, "nullifier value").map_err(protocol))
            .transpose()
    }

    fn nullifier_below(&self, value: &[u8; 32]) -> zkpay_protocol::Result<Option<([u8; 32], u64)>> {
        let db = self.db().map_err(protocol)?;
        let h = Store::cf(&db, NULLIFIER_VALUES)
            .map_err(storage)
            .map_err(protocol)?;
        let mut it = db.raw_iterator_cf(h);
        it.seek_for_prev(value);
        // seek_for_prev lands on the greatest key <= value; the value itself is not stored when
        // its low leaf is asked for, but step back if it is
        if it.valid() && it.key() == Some(&value[..]) {
            it.prev();
        }
        if !it.valid() {
            it.status().map_err(storage).map_err(protocol)?;
            return Ok(None);
        }
        let (Some(k), Some(v)) = (it.key(), it.value()) else {
            return Ok(None);
        };
        let k = id_of(k, "nullifier value").map_err(protocol)?;
        Ok(Some((k, u64_of(v, "nullifier value").map_err(protocol)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkpay_protocol::batch::RollupState;
    use zkpay_protocol::tree_store::StoreRef;

    #[test]
    fn records_round_trip_and_malformed_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = IndexDb::open(dir.path()).unwrap();
        let params = ChunkParams::new(4, 2).unwrap();
        let mut s = RollupState::on_store(params, StoreRef(db.clone()), None).unwrap();
        let leaf = s.nullifiers.leaf(0).unwrap().unwrap();
        let mut o = Overlay::default();
        o.payments.insert([1; 32], 1);
        o.invoices.insert([2; 32], [1; 32]);
        o.batches.insert(1, 0);
        for p in 0..3u64 {
            o.notes.insert(
                p,
                NoteEntry {
                    position: p,
                    commitment: Commitment(F::from(p + 5)),
                    ciphertext: vec![p as u8; 3],
                    batch: 1,
                },
            );
        }
        let cp = Checkpoint::new(params, 1, &[3; 32], 4, 8);
        db.flush(&s.unflushed(), &o, &cp).unwrap();
        s.mark_flushed().unwrap();
        assert_eq!(db.checkpoint().unwrap(), Some(cp.clone()));
        assert!(cp.fits(params));
        assert!(!cp.fits(ChunkParams::new(4, 8).unwrap()));
        assert_eq!(db.payment_batch(&[1; 32]).unwrap(), Some(1));
        assert_eq!(db.payment_batch(&[9; 32]).unwrap(), None);
        assert_eq!(db.invoice(&[2; 32]).unwrap(), Some([1; 32]));
        assert_eq!(db.batch_start(1).unwrap(), Some(0));
        let notes = db.notes_from(1, 10, |_| true).unwrap();
        assert_eq!(notes, o.notes.values().skip(1).cloned().collect::<Vec<_>>());
        assert_eq!(db.notes_from(0, 2, |_| true).unwrap().len(), 2);
        assert_eq!(db.nullifier_leaf(0).unwrap(), Some(leaf));
        assert_eq!(db.nullifier_index(&[0; 32]).unwrap(), Some(0));
        assert_eq!(db.nullifier_below(&[5; 32]).unwrap(), Some(([0; 32], 0)));
        assert_eq!(db.nullifier_below(&[0; 32]).unwrap(), None);
        // a damaged record is an error, never a wrong value
        let raw = db.db().unwrap();
        raw.put_cf(Store::cf(&raw, PAYMENTS).unwrap(), [1; 32], [1, 2, 3])
            .unwrap();
        raw.put_cf(
            Store::cf(&raw, NULLIFIER_LEAVES).unwrap(),
            0u64.to_be_bytes(),
            [0xff; 72],
        )
        .unwrap();
        raw.put_cf(Store::cf(&raw, NOTES).unwrap(), 0u64.to_be_bytes(), [0; 10])
            .unwrap();
        raw.put_cf(Store::cf(&raw, META).unwrap(), CHECKPOINT, b"{}")
            .unwrap();
        drop(raw);
        assert!(db.payment_batch(&[1; 32]).is_err());
        assert!(db.nullifier_leaf(0).is_err());
        assert!(db.notes_from(0, 10, |_| true).is_err());
        assert!(db.checkpoint().is_err());
        db.wipe().unwrap();
        assert_eq!(db.checkpoint().unwrap(), None);
        assert_eq!(db.payment_batch(&[1; 32]).unwrap(), None);
        assert!(db.notes_from(0, 10, |_| true).unwrap().is_empty());
    }
}
