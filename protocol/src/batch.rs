//! The batch statement: a state transition of the rollup, proven in chunks.
//!
//! State = (note tree, nullifier tree). A batch is split into *chunks* of `C` payment slots
//! (`2C` a power of 4; a deployment fixes `C`). A chunk with payments `p_0..p_{n-1}` (`n <= C`,
//! the remaining slots empty):
//!
//! 1. inserts the `2C` nullifier slots `nf0(p_0), nf1(p_0), nf0(p_1), ...` (empty slots stay
//!    empty) into the nullifier tree as one aligned subtree at its cursor, each value absent
//!    before its insertion — so nothing is spent twice, inside the chunk, the batch or across
//!    batches;
//! 2. appends the `2C` commitment slots `cm0(p_0), cm1(p_0), ...` (0 for empty slots) to the
//!    note tree as one aligned subtree: payment `i`'s output `o` gets position
//!    `note_start + 2i + o`.
//!
//! Public inputs, in this order ([`BatchPublic::public_inputs`], the one encoder), `6 + 4C` in
//! all ([`batch_public_input_count`]):
//!
//! ```text
//! old_note_root, old_nullifier_root, new_note_root, new_nullifier_root,
//! note_start, nullifier_start,
//! then for each slot s < C:  nf0(p_s), nf1(p_s), cm0(p_s), cm1(p_s)   (0, 0, 0, 0 when empty)
//! ```
//!
//! The chunk is bound to its payments by the very values it changes the state with: the ledger
//! builds these inputs from its own cursors and from the payments it verifies (whose proofs bind
//! the same nullifiers and commitments to everything else they state), so no hash of the
//! payments is needed, and a ledger on an EVM chain checks the binding without Poseidon: each
//! public input costs it field multiplications, not a hash. An empty slot must carry zeros (the
//! circuit enforces it), and a slot carrying a nullifier is inserted (a nullifier is never 0: the
//! tree's sentinel leaf is 0 and every insertion needs a low leaf strictly below it).
//! Consecutive chunks chain: chunk `k+1`'s old roots are chunk `k`'s new roots.

use crate::error::{ProtocolError, Result};
use crate::field::F;
use crate::merkle::{subtree_height, NoteTree, SubtreeWitness};
use crate::note::Root;
use crate::nullifier_tree::{apply_chunk, ChunkInsertionWitness, NullifierTree};
use crate::payment::PaymentPublic;
use crate::poseidon::Domain;
use serde::{Deserialize, Serialize};

/// Public inputs of the batch (chunk) statement before the slots: four roots and two cursors.
pub const BATCH_FIXED_INPUTS: usize = 6;

/// Number of public inputs of the batch (chunk) statement with `slots` payment slots:
/// `6 + 4 * slots`.
pub fn batch_public_input_count(slots: usize) -> usize {
    BATCH_FIXED_INPUTS + 4 * slots
}

/// Parameter profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Production sizes: depth 16 (2^32 leaves), chunks of 8 payments.
    Full,
    /// Small sizes for tests and quick demos: depth 4, chunks of 2 payments.
    Test,
}

impl Profile {
    /// Rollup shape of the profile.
    pub fn params(self) -> ChunkParams {
        match self {
            // Both shapes are valid by construction (checked in tests).
            Profile::Full => ChunkParams {
                depth: crate::merkle::FULL_DEPTH,
                slots: 8,
            },
            Profile::Test => ChunkParams { depth: 4, slots: 2 },
        }
    }
}

impl Profile {
    /// The profile's name (`full`, `test`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Test => "test",
        }
    }
}

/// Shape of the rollup: tree depth and payment slots per chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkParams {
    /// Tree depth (16 in production).
    pub depth: usize,
    /// Payment slots per chunk `C`; `2C` must be a power of 4 (2, 8, 32, ...).
    pub slots: usize,
}

impl ChunkParams {
    /// Validates the shape.
    pub fn new(depth: usize, slots: usize) -> Result<Self> {
        crate::merkle::check_depth(depth)?;
        let h = subtree_height(2 * slots)?;
        if h >= depth {
            return Err(ProtocolError::Batch(format!(
                "chunk of {slots} slots does not fit a tree of depth {depth}"
            )));
        }
        Ok(Self { depth, slots })
    }

    /// Leaves each tree receives per chunk (`2C`).
    pub fn leaves(&self) -> usize {
        2 * self.slots
    }

    /// Height of a chunk's subtree.
    pub fn height(&self) -> usize {
        (2 * self.slots).trailing_zeros() as usize / 2
    }
}

/// Public side of one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchPublic {
    /// Note root before.
    pub old_note_root: Root,
    /// Nullifier root before.
    pub old_nullifier_root: Root,
    /// Note root after.
    pub new_note_root: Root,
    /// Nullifier root after.
    pub new_nullifier_root: Root,
    /// Note-tree cursor before the chunk (its commitments go to `note_start..note_start+2C`).
    pub note_start: u64,
    /// Nullifier-tree cursor before the chunk.
    pub nullifier_start: u64,
}

impl BatchPublic {
    /// The one public-input encoder of the batch statement: the roots, the cursors, then each of
    /// the `slots` slots' two nullifiers and two commitments (zeros for slots past
    /// `payments`). Fails when there are more payments than slots.
    pub fn public_inputs(&self, slots: usize, payments: &[PaymentPublic]) -> Result<Vec<F>> {
        if payments.len() > slots {
            return Err(ProtocolError::Batch(format!(
                "{} payments do not fit a chunk of {slots} slots",
                payments.len()
            )));
        }
        let mut v = Vec::with_capacity(batch_public_input_count(slots));
        v.extend([
            self.old_note_root.0,
            self.old_nullifier_root.0,
            self.new_note_root.0,
            self.new_nullifier_root.0,
            F::from(self.note_start),
            F::from(self.nullifier_start),
        ]);
        for p in payments {
            v.extend([
                p.nullifiers[0].0,
                p.nullifiers[1].0,
                p.commitments[0].0,
                p.commitments[1].0,
            ]);
        }
        v.resize(batch_public_input_count(slots), F::from(0u64));
        Ok(v)
    }
}

/// Everything a chunk proof needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkWitness {
    /// Shape.
    pub params: ChunkParams,
    /// Payments in the chunk (at most `params.slots`), in order.
    pub payments: Vec<PaymentPublic>,
    /// Nullifier insertion witness.
    pub nullifiers: ChunkInsertionWitness,
    /// Note subtree append witness.
    pub notes: SubtreeWitness,
}

impl ChunkWitness {
    /// Note cursor before the chunk.
    pub fn note_start(&self) -> u64 {
        self.notes.start
    }

    /// Nullifier cursor before the chunk.
    pub fn nullifier_start(&self) -> u64 {
        self.nullifiers.subtree.start
    }

    /// The `2C` nullifier slots.
    pub fn nullifier_slots(&self) -> Vec<Option<F>> {
        let mut v: Vec<Option<F>> = self
            .payments
            .iter()
            .flat_map(|p| [Some(p.nullifiers[0].0), Some(p.nullifiers[1].0)])
            .collect();
        v.resize(self.params.leaves(), None);
        v
    }

    /// The `2C` commitment slots (0 for empty slots).
    pub fn commitment_slots(&self) -> Vec<F> {
        let mut v: Vec<F> = self
            .payments
            .iter()
            .flat_map(|p| [p.commitments[0].0, p.commitments[1].0])
            .collect();
        v.resize(self.params.leaves(), F::from(0u64));
        v
    }
}

/// The native check of the chunk statement: exactly what the batch circuit enforces.
pub fn check_chunk(public: &BatchPublic, w: &ChunkWitness) -> Result<()> {
    if w.payments.len() > w.params.slots {
        return Err(ProtocolError::Batch("more payments than slots".into()));
    }
    let nf_root = apply_chunk(
        public.old_nullifier_root.0,
        &w.nullifier_slots(),
        &w.nullifiers,
    )?;
    let note_root = w.notes.apply(
        Domain::NoteTreeNode,
        public.old_note_root.0,
        &w.commitment_slots(),
    )?;
    if note_root != public.new_note_root.0 || nf_root != public.new_nullifier_root.0 {
        return Err(ProtocolError::Batch("new roots differ".into()));
    }
    if public.note_start != w.note_start() || public.nullifier_start != w.nullifier_start() {
        return Err(ProtocolError::Batch("start cursors differ".into()));
    }
    Ok(())
}

/// Checks a whole batch: consecutive chunks chain through their roots.
pub fn check_chain(chunks: &[(BatchPublic, ChunkWitness)]) -> Result<()> {
    for (i, pair) in chunks.windows(2).enumerate() {
        let (a, b) = (&pair[0].0, &pair[1].0);
        if a.new_note_root != b.old_note_root || a.new_nullifier_root != b.old_nullifier_root {
            return Err(ProtocolError::Batch(format!(
                "chunk {} does not follow chunk {i}",
                i + 1
            )));
        }
    }
    for (public, w) in chunks {
        check_chunk(public, w)?;
    }
    Ok(())
}

/// The rollup's state: both trees.
#[derive(Clone, Debug)]
pub struct RollupState {
    /// Shape.
    pub params: ChunkParams,
    /// Note commitment tree.
    pub notes: NoteTree,
    /// Nullifier tree.
    pub nullifiers: NullifierTree,
}

impl RollupState {
    /// Genesis: an empty note tree and a nullifier tree holding the sentinel, whose first chunk
    /// starts at index `2C` (slots `1..2C` stay empty, keeping chunks aligned).
    pub fn new(params: ChunkParams) -> Result<Self> {
        Ok(Self {
            params,
            notes: NoteTree::new(params.depth)?,
            nullifiers: NullifierTree::with_cursor(params.depth, params.leaves() as u64)?,
        })
    }

    /// The state as `store` holds it. `sizes` are the note tree's size and the nullifier
    /// cursor recorded with the last flush; `None` for an empty store, which gives genesis (its
    /// sentinel leaf unflushed).
    pub fn on_store(
        params: ChunkParams,
        store: crate::tree_store::StoreRef,
        sizes: Option<(u64, u64)>,
    ) -> Result<Self> {
        let (notes, cursor) = sizes.unwrap_or((0, params.leaves() as u64));
        Ok(Self {
            params,
            notes: NoteTree::on_store(params.depth, store.clone(), notes)?,
            nullifiers: NullifierTree::on_store(params.depth, store, cursor, sizes.is_none())?,
        })
    }

    /// Everything both trees wrote since the last flush.
    pub fn unflushed(&self) -> crate::tree_store::Unflushed {
        let mut u = self.nullifiers.unflushed();
        u.note_nodes = self.notes.unflushed();
        u
    }

    /// Forgets what [`Self::unflushed`] returned, once the caller has written it to the store.
    /// Refused for a state without a store.
    pub fn mark_flushed(&mut self) -> Result<()> {
        self.notes.mark_flushed()?;
        self.nullifiers.mark_flushed()
    }

    /// Applies one chunk of at most `C` payments; all or nothing.
    pub fn apply_chunk(
        &mut self,
        payments: &[PaymentPublic],
    ) -> Result<(BatchPublic, ChunkWitness)> {
        if payments.len() > self.params.slots {
            return Err(ProtocolError::Batch("more payments than slots".into()));
        }
        for p in payments {
            p.check_ranges()?;
        }
        let mut next = self.clone();
        let old_note_root = Root(next.notes.root());
        let old_nullifier_root = Root(next.nullifiers.root());
        let note_start = next.notes.size();
        let nullifier_start = next.nullifiers.size();
        let mut w = ChunkWitness {
            params: self.params,
            payments: payments.to_vec(),
            nullifiers: ChunkInsertionWitness {
                lows: vec![],
                subtree: SubtreeWitness {
                    start: 0,
                    height: 0,
                    path: crate::merkle::MerklePath {
                        position: 0,
                        siblings: vec![],
                    },
                },
            },
            notes: SubtreeWitness {
                start: 0,
                height: 0,
                path: crate::merkle::MerklePath {
                    position: 0,
                    siblings: vec![],
                },
            },
        };
        w.nullifiers = next.nullifiers.insert_chunk(&w.nullifier_slots())?;
        w.notes = next.notes.append_chunk(&w.commitment_slots())?;
        let public = BatchPublic {
            old_note_root,
            old_nullifier_root,
            new_note_root: Root(next.notes.root()),
            new_nullifier_root: Root(next.nullifiers.root()),
            note_start,
            nullifier_start,
        };
        *self = next;
        Ok((public, w))
    }

    /// Applies a batch as consecutive chunks; all or nothing.
    pub fn apply_batch(
        &mut self,
        payments: &[PaymentPublic],
    ) -> Result<Vec<(BatchPublic, ChunkWitness)>> {
        let mut next = self.clone();
        let mut out = Vec::new();
        for (i, chunk) in payments.chunks(self.params.slots).enumerate() {
            out.push(next.apply_chunk(chunk).map_err(|e| match e {
                // the store beneath the trees failed: not the payments' fault
                ProtocolError::Storage(_) => e,
                e => ProtocolError::Batch(format!("chunk {i}: {e}")),
            })?);
        }
        *self = next;
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::note::{AssetId, Commitment, Nullifier};
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    /// A payment of random nullifiers and commitments against `root` (also for the store tests).
    pub(crate) fn random_payment(rng: &mut rand_chacha::ChaCha20Rng, root: F) -> PaymentPublic {
        PaymentPublic {
            note_root: Root(root),
            nullifiers: [Nullifier(F::rand(rng)), Nullifier(F::rand(rng))],
            commitments: [Commitment(F::rand(rng)), Commitment(F::rand(rng))],
            asset: AssetId(F::from(1u64)),
            public_value: 0,
            fee: 1,
            ext_data_hash: F::rand(rng),
            invoice_tag: F::from(0u64),
        }
    }

    #[test]
    fn params() {
        assert!(ChunkParams::new(4, 2).is_ok());
        assert!(ChunkParams::new(4, 8).is_ok());
        assert!(ChunkParams::new(4, 4).is_err());
        assert!(ChunkParams::new(2, 8).is_err());
        assert_eq!(ChunkParams::new(16, 8).unwrap().height(), 2);
    }

    #[test]
    fn batches_apply_and_check() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let params = ChunkParams::new(4, 2).unwrap();
        let mut s = RollupState::new(params).unwrap();
        for round in 0..3 {
            let ps: Vec<_> = (0..3)
                .map(|_| random_payment(&mut rng, s.notes.root()))
                .collect();
            let chunks = s.apply_batch(&ps).unwrap();
            assert_eq!(chunks.len(), 2);
            check_chain(&chunks).unwrap();
            assert_eq!(s.notes.size(), 8 * (round + 1));
            let (public, w) = &chunks[0];
            let inputs = public.public_inputs(params.slots, &ps[..2]).unwrap();
            assert_eq!(inputs.len(), batch_public_input_count(2));
            assert_eq!(inputs[4], F::from(w.note_start()));
            assert_eq!(inputs[6 + 4 + 3], ps[1].commitments[1].0);
            let last = chunks[1].0.public_inputs(params.slots, &ps[2..]).unwrap();
            assert_eq!(&last[10..], &[F::from(0u64); 4], "an empty slot is zeros");
            assert!(public.public_inputs(params.slots, &ps).is_err());
            // positions: payment i's output o at note_start + 2i + o
            assert_eq!(
                s.notes.leaf(w.note_start() + 3).unwrap(),
                ps[1].commitments[1].0
            );

            // reordering the payments breaks the roots
            let mut w2 = w.clone();
            w2.payments.swap(0, 1);
            assert!(check_chunk(public, &w2).is_err());
            // a public start cursor other than the witness's
            let mut p2 = *public;
            p2.note_start += 4;
            assert!(check_chunk(&p2, w).is_err());
            let mut p2 = *public;
            p2.nullifier_start += 4;
            assert!(check_chunk(&p2, w).is_err());
            // wrong append position
            let mut w3 = w.clone();
            w3.notes.start += 4;
            assert!(check_chunk(public, &w3).is_err());
            // wrong low leaf
            let mut w4 = w.clone();
            w4.nullifiers.lows[1].as_mut().unwrap().low_leaf.next_index += 1;
            assert!(check_chunk(public, &w4).is_err());
            // broken chain
            let mut broken = chunks.clone();
            broken[1].0.old_note_root = Root(F::from(1u64));
            assert!(check_chain(&broken).is_err());
        }
    }

    #[test]
    fn double_spends_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let mut s = RollupState::new(ChunkParams::new(4, 2).unwrap()).unwrap();
        let p = random_payment(&mut rng, s.notes.root());
        let mut same = p.clone();
        same.nullifiers[1] = same.nullifiers[0];
        assert!(s.apply_batch(&[same]).is_err());
        let mut q = random_payment(&mut rng, s.notes.root());
        q.nullifiers[1] = p.nullifiers[0];
        let root_before = s.notes.root();
        assert!(s.apply_batch(&[p.clone(), q]).is_err());
        assert_eq!(s.notes.root(), root_before, "failed batch changed nothing");
        // in another chunk of the same batch
        let mut r = random_payment(&mut rng, s.notes.root());
        r.nullifiers[0] = p.nullifiers[1];
        let filler = random_payment(&mut rng, s.notes.root());
        assert!(s.apply_batch(&[p.clone(), filler, r.clone()]).is_err());
        // across batches
        s.apply_batch(std::slice::from_ref(&p)).unwrap();
        assert!(s.apply_batch(&[r]).is_err());
    }
}
