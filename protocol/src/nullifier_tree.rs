//! The nullifier set as an indexed Merkle tree (Aztec-style).
//!
//! Leaves form a linked list sorted by value: leaf `i` is `(value, next_index, next_value)`,
//! hashed as `H_NullifierLeaf(hi(value), lo(value), next_index, hi(next_value), lo(next_value))`
//! where `hi(v) = v >> 128` and `lo(v) = v mod 2^128` are the canonical limbs (so circuits compare
//! values limb by limb without re-decomposing them); `next_value = 0` marks the end of the list.
//! Leaf 0 is the sentinel `(0, 0, 0)`, so 0 is never insertable. An empty slot is the leaf 0.
//!
//! * Non-membership of `v`: a *low leaf* in the tree with `low.value < v` and
//!   (`v < low.next_value` or `low.next_value = 0`).
//! * Single insertion of `v` at the cursor `n`: the low leaf becomes `(low.value, n, v)`, then
//!   the empty slot `n` receives `(v, low.next_index, low.next_value)`.
//! * Chunk insertion (what batches do): values `v_0..v_{L-1}` get the leaves `start..start+L`
//!   (`L` a power of 4, `start` a multiple of `L`; absent values leave their slot empty). Each
//!   value's low leaf is either in the tree (updated in place, with a path) or one of the chunk's
//!   earlier new leaves (*pending*, updated before the chunk is written); then the whole chunk is
//!   written as one aligned subtree.

use crate::error::{ProtocolError, Result};
use crate::field::{fe_cmp, fe_is_zero, fe_to_bytes, F};
use crate::merkle::{subtree_height, MerklePath, SparseTree, SubtreeWitness};
use crate::poseidon::{hash, Domain};
use crate::tree_store::{StoreRef, TreeId, Unflushed};
use ark_ff::{BigInteger, PrimeField};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Canonical limbs `(v >> 128, v mod 2^128)` of a field element.
pub fn limbs(v: &F) -> (F, F) {
    let b = v.into_bigint();
    let l = b.as_ref();
    let lo = F::from((u128::from(l[1]) << 64) | u128::from(l[0]));
    let hi = F::from((u128::from(l[3]) << 64) | u128::from(l[2]));
    debug_assert!(b.num_bits() <= 254);
    (hi, lo)
}

/// One leaf of the indexed tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedLeaf {
    /// The nullifier stored in this leaf.
    #[serde(with = "crate::field::serde_fe")]
    pub value: F,
    /// Index of the leaf holding the next larger value (0 at the end).
    pub next_index: u64,
    /// The next larger value (0 at the end).
    #[serde(with = "crate::field::serde_fe")]
    pub next_value: F,
}

impl IndexedLeaf {
    /// `H_NullifierLeaf(hi(value), lo(value), next_index, hi(next_value), lo(next_value))`.
    pub fn hash(&self) -> F {
        let (vh, vl) = limbs(&self.value);
        let (nh, nl) = limbs(&self.next_value);
        hash(
            Domain::NullifierLeaf,
            &[vh, vl, F::from(self.next_index), nh, nl],
        )
    }
}

/// `low.value < v` and (`v < low.next_value` or `low.next_value = 0`).
pub fn low_leaf_covers(low: &IndexedLeaf, v: &F) -> bool {
    fe_cmp(&low.value, v) == Ordering::Less
        && (fe_is_zero(&low.next_value) || fe_cmp(v, &low.next_value) == Ordering::Less)
}

/// Proof that a value is absent: its low leaf and the low leaf's path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonMembershipWitness {
    /// The low leaf.
    pub low_leaf: IndexedLeaf,
    /// Path of the low leaf.
    pub low_path: MerklePath,
}

impl NonMembershipWitness {
    /// Checks that `v` is absent from the tree with `root`.
    pub fn verify(&self, root: F, v: &F) -> Result<()> {
        self.low_path
            .verify(Domain::NullifierTreeNode, self.low_leaf.hash(), root)
            .map_err(|_| ProtocolError::BadNonMembership("low leaf is not in the tree"))?;
        if !low_leaf_covers(&self.low_leaf, v) {
            return Err(ProtocolError::BadNonMembership(
                "low leaf does not cover the value",
            ));
        }
        Ok(())
    }
}

/// Everything needed to check one single insertion without the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertionWitness {
    /// Non-membership of the value before insertion.
    pub non_membership: NonMembershipWitness,
    /// Path of the (empty) slot receiving the new leaf, taken after the low leaf's update.
    pub new_path: MerklePath,
}

/// Applies one insertion of `v` to `root` using only the witness. Returns the new root.
pub fn apply_insertion(root: F, v: &F, w: &InsertionWitness) -> Result<F> {
    w.non_membership.verify(root, v)?;
    let low = w.non_membership.low_leaf;
    let new_index = w.new_path.position;
    let updated_low = IndexedLeaf {
        value: low.value,
        next_index: new_index,
        next_value: *v,
    };
    let root1 = w
        .non_membership
        .low_path
        .root(Domain::NullifierTreeNode, updated_low.hash());
    w.new_path
        .verify(Domain::NullifierTreeNode, F::from(0u64), root1)
        .map_err(|_| ProtocolError::BadNonMembership("new slot is not empty"))?;
    let new_leaf = IndexedLeaf {
        value: *v,
        next_index: low.next_index,
        next_value: low.next_value,
    };
    Ok(w.new_path.root(Domain::NullifierTreeNode, new_leaf.hash()))
}

/// Low-leaf witness of one value of a chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkLow {
    /// The low leaf as it is when the value is inserted.
    pub low_leaf: IndexedLeaf,
    /// `Some(i)`: the low leaf is the chunk's earlier new leaf `i`; `None`: it is in the tree.
    pub pending: Option<usize>,
    /// Path of the low leaf in the tree (when not pending).
    pub low_path: MerklePath,
}

/// Witness of a chunk insertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkInsertionWitness {
    /// Per slot of the chunk: the low-leaf witness, or `None` for an empty slot.
    pub lows: Vec<Option<ChunkLow>>,
    /// Where the chunk's leaves go.
    pub subtree: SubtreeWitness,
}

/// Applies a chunk insertion of `values` (`None` = empty slot) to `root` using only the
/// witness, exactly as the batch circuit does. Returns the new root.
pub fn apply_chunk(root: F, values: &[Option<F>], w: &ChunkInsertionWitness) -> Result<F> {
    let n = values.len();
    if w.lows.len() != n {
        return Err(ProtocolError::Batch("one low-leaf witness per slot".into()));
    }
    let start = w.subtree.start;
    let mut root = root;
    let mut new: Vec<Option<IndexedLeaf>> = vec![None; n];
    for (k, (v, low)) in values.iter().zip(&w.lows).enumerate() {
        let (v, low) = match (v, low) {
            (None, None) => continue,
            (Some(v), Some(low)) => (v, low),
            _ => {
                return Err(ProtocolError::Batch(format!(
                    "slot {k}: value and witness disagree"
                )))
            }
        };
        if !low_leaf_covers(&low.low_leaf, v) {
            return Err(ProtocolError::BadNonMembership(
                "low leaf does not cover the value (already spent?)",
            ));
        }
        let new_index = start + k as u64;
        let updated = IndexedLeaf {
            value: low.low_leaf.value,
            next_index: new_index,
            next_value: *v,
        };
        match low.pending {
            Some(i) => {
                let slot = new
                    .get_mut(i)
                    .filter(|_| i < k)
                    .and_then(|s| s.as_mut())
                    .ok_or(ProtocolError::BadNonMembership(
                        "pending low leaf is not an earlier new leaf",
                    ))?;
                if *slot != low.low_leaf {
                    return Err(ProtocolError::BadNonMembership("pending low leaf differs"));
                }
                *slot = updated;
            }
            None => {
                low.low_path
                    .verify(Domain::NullifierTreeNode, low.low_leaf.hash(), root)
                    .map_err(|_| ProtocolError::BadNonMembership("low leaf is not in the tree"))?;
                root = low.low_path.root(Domain::NullifierTreeNode, updated.hash());
            }
        }
        new[k] = Some(IndexedLeaf {
            value: *v,
            next_index: low.low_leaf.next_index,
            next_value: low.low_leaf.next_value,
        });
    }
    let leaves: Vec<F> = new
        .iter()
        .map(|l| l.map(|l| l.hash()).unwrap_or_default())
        .collect();
    w.subtree.apply(Domain::NullifierTreeNode, root, &leaves)
}

/// The nullifier set. Over a [`crate::tree_store::TreeStore`], only what was written since the
/// last flush is held in memory.
#[derive(Clone, Debug)]
pub struct NullifierTree {
    tree: SparseTree,
    /// Leaves by index (over a store: the unflushed ones).
    leaves: HashMap<u64, IndexedLeaf>,
    /// value (big-endian bytes, so byte order = numeric order) -> leaf index (over a store: the
    /// unflushed ones)
    sorted: BTreeMap<[u8; 32], u64>,
    cursor: u64,
    store: Option<StoreRef>,
}

impl NullifierTree {
    /// A tree holding only the sentinel leaf, inserting from index 1.
    pub fn new(depth: usize) -> Result<Self> {
        Self::with_cursor(depth, 1)
    }

    /// A tree holding only the sentinel leaf at 0, inserting from `cursor` (slots `1..cursor`
    /// stay empty; chunked trees start at the first chunk boundary).
    pub fn with_cursor(depth: usize, cursor: u64) -> Result<Self> {
        let mut t = Self {
            tree: SparseTree::new(Domain::NullifierTreeNode, depth)?,
            leaves: HashMap::new(),
            sorted: BTreeMap::new(),
            cursor: cursor.max(1),
            store: None,
        };
        t.plant_sentinel()?;
        Ok(t)
    }

    fn plant_sentinel(&mut self) -> Result<()> {
        let sentinel = IndexedLeaf::default();
        self.write(0, sentinel)?;
        self.sorted.insert(fe_to_bytes(&sentinel.value), 0);
        Ok(())
    }

    /// The tree as `store` holds it, inserting from `cursor`; an empty store (`genesis`) gets
    /// the sentinel leaf, unflushed.
    pub fn on_store(depth: usize, store: StoreRef, cursor: u64, genesis: bool) -> Result<Self> {
        let mut t = Self {
            tree: SparseTree::on_store(
                Domain::NullifierTreeNode,
                depth,
                store.clone(),
                TreeId::Nullifiers,
                cursor,
            )?,
            leaves: HashMap::new(),
            sorted: BTreeMap::new(),
            cursor: cursor.max(1),
            store: Some(store),
        };
        if genesis {
            t.plant_sentinel()?;
        } else if !t.leaf(0)?.is_some_and(|l| fe_is_zero(&l.value)) {
            return Err(ProtocolError::Storage(
                "the stored nullifier tree has no sentinel leaf".into(),
            ));
        }
        Ok(t)
    }

    /// Current root.
    pub fn root(&self) -> F {
        self.tree.root()
    }

    /// Next free index (where the next insertion or chunk goes).
    pub fn size(&self) -> u64 {
        self.cursor
    }

    /// Depth.
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// True when `v` is in the set.
    pub fn contains(&self, v: &F) -> Result<bool> {
        if fe_is_zero(v) {
            return Ok(false);
        }
        let b = fe_to_bytes(v);
        if self.sorted.contains_key(&b) {
            return Ok(true);
        }
        match &self.store {
            Some(s) => Ok(s.0.nullifier_index(&b)?.is_some()),
            None => Ok(false),
        }
    }

    /// Leaf at `index` (`None` for an empty slot).
    pub fn leaf(&self, index: u64) -> Result<Option<IndexedLeaf>> {
        if let Some(l) = self.leaves.get(&index) {
            return Ok(Some(*l));
        }
        match &self.store {
            Some(s) => s.0.nullifier_leaf(index),
            None => Ok(None),
        }
    }

    fn stored_leaf(&self, index: u64) -> Result<IndexedLeaf> {
        self.leaf(index)?
            .ok_or(ProtocolError::BadNonMembership("the low leaf is missing"))
    }

    fn low_index(&self, v: &F) -> Result<u64> {
        if fe_is_zero(v) || self.contains(v)? {
            return Err(ProtocolError::NullifierSpent);
        }
        let b = fe_to_bytes(v);
        let here = self.sorted.range(..b).next_back().map(|(k, i)| (*k, *i));
        let stored = match &self.store {
            Some(s) => s.0.nullifier_below(&b)?,
            None => None,
        };
        match (here, stored) {
            (Some(a), Some(c)) => Ok(if a.0 > c.0 { a.1 } else { c.1 }),
            (Some((_, i)), None) | (None, Some((_, i))) => Ok(i),
            (None, None) => Err(ProtocolError::BadNonMembership("no low leaf")),
        }
    }

    fn write(&mut self, index: u64, leaf: IndexedLeaf) -> Result<()> {
        self.tree.set(index, leaf.hash())?;
        self.leaves.insert(index, leaf);
        Ok(())
    }

    /// What was written since the last flush (nodes, leaves and values; everything, without a
    /// store), with no note-tree nodes.
    pub fn unflushed(&self) -> Unflushed {
        Unflushed {
            note_nodes: Vec::new(),
            nullifier_nodes: self.tree.unflushed(),
            nullifier_leaves: self.leaves.iter().map(|(i, l)| (*i, *l)).collect(),
            nullifier_values: self.sorted.iter().map(|(v, i)| (*v, *i)).collect(),
        }
    }

    /// Forgets what was written since the last flush, which the caller has written to the
    /// store. Refused without a store.
    pub fn mark_flushed(&mut self) -> Result<()> {
        self.tree.mark_flushed()?;
        self.leaves = HashMap::new();
        self.sorted = BTreeMap::new();
        Ok(())
    }

    /// Non-membership witness for an absent value.
    pub fn non_membership(&self, v: &F) -> Result<NonMembershipWitness> {
        let i = self.low_index(v)?;
        Ok(NonMembershipWitness {
            low_leaf: self.stored_leaf(i)?,
            low_path: self.tree.path(i)?,
        })
    }

    /// Inserts one value at the cursor; returns the witness that proves it from the old root.
    pub fn insert(&mut self, v: &F) -> Result<InsertionWitness> {
        let non_membership = self.non_membership(v)?;
        let new_index = self.cursor;
        if new_index >= crate::merkle::capacity(self.tree.depth()) {
            return Err(ProtocolError::TreeFull {
                capacity: crate::merkle::capacity(self.tree.depth()),
            });
        }
        let low_index = non_membership.low_path.position;
        let low = non_membership.low_leaf;
        self.write(
            low_index,
            IndexedLeaf {
                value: low.value,
                next_index: new_index,
                next_value: *v,
            },
        )?;
        let new_path = self.tree.path(new_index)?;
        self.write(
            new_index,
            IndexedLeaf {
                value: *v,
                next_index: low.next_index,
                next_value: low.next_value,
            },
        )?;
        self.sorted.insert(fe_to_bytes(v), new_index);
        self.cursor = new_index + 1;
        Ok(InsertionWitness {
            non_membership,
            new_path,
        })
    }

    /// Inserts a chunk of values (`None` = empty slot) as one aligned subtree at the cursor;
    /// all or nothing. Fails if a value is zero, already present or repeated in the chunk.
    pub fn insert_chunk(&mut self, values: &[Option<F>]) -> Result<ChunkInsertionWitness> {
        let mut next = self.clone();
        let w = next.insert_chunk_in_place(values)?;
        *self = next;
        Ok(w)
    }

    fn insert_chunk_in_place(&mut self, values: &[Option<F>]) -> Result<ChunkInsertionWitness> {
        let n = values.len();
        let height = subtree_height(n)?;
        let start = self.cursor;
        if !start.is_multiple_of(n as u64) {
            return Err(ProtocolError::Batch(format!(
                "nullifier cursor {start} is not aligned to {n} leaves"
            )));
        }
        if start + n as u64 > crate::merkle::capacity(self.tree.depth()) {
            return Err(ProtocolError::TreeFull {
                capacity: crate::merkle::capacity(self.tree.depth()),
            });
        }
        let mut lows = Vec::with_capacity(n);
        let mut new: Vec<Option<IndexedLeaf>> = vec![None; n];
        let dummy_path = self.tree.path(0)?;
        for (k, v) in values.iter().enumerate() {
            let Some(v) = v else {
                lows.push(None);
                continue;
            };
            let low_index = self.low_index(v)?;
            let new_index = start + k as u64;
            let updated_next = (new_index, *v);
            let chunk_pos = low_index
                .checked_sub(start)
                .map(|p| p as usize)
                .filter(|p| *p < n);
            let low = match chunk_pos {
                Some(i) => {
                    let leaf = new[i].ok_or(ProtocolError::BadNonMembership("pending leaf"))?;
                    new[i] = Some(IndexedLeaf {
                        value: leaf.value,
                        next_index: updated_next.0,
                        next_value: updated_next.1,
                    });
                    ChunkLow {
                        low_leaf: leaf,
                        pending: Some(i),
                        low_path: dummy_path.clone(),
                    }
                }
                None => {
                    let leaf = self.stored_leaf(low_index)?;
                    let path = self.tree.path(low_index)?;
                    self.write(
                        low_index,
                        IndexedLeaf {
                            value: leaf.value,
                            next_index: updated_next.0,
                            next_value: updated_next.1,
                        },
                    )?;
                    ChunkLow {
                        low_leaf: leaf,
                        pending: None,
                        low_path: path,
                    }
                }
            };
            new[k] = Some(IndexedLeaf {
                value: *v,
                next_index: low.low_leaf.next_index,
                next_value: low.low_leaf.next_value,
            });
            // visible to later lookups of this chunk (as a pending leaf)
            self.sorted.insert(fe_to_bytes(v), new_index);
            lows.push(Some(low));
        }
        let path = self.tree.path_at(height, start >> (2 * height))?;
        let written: Vec<(u64, IndexedLeaf)> = new
            .iter()
            .enumerate()
            .filter_map(|(k, leaf)| leaf.map(|l| (start + k as u64, l)))
            .collect();
        let hashes: Vec<(u64, F)> = written.iter().map(|(i, l)| (*i, l.hash())).collect();
        self.tree.set_many(&hashes)?;
        self.leaves.extend(written);
        self.cursor = start + n as u64;
        Ok(ChunkInsertionWitness {
            lows,
            subtree: SubtreeWitness {
                start,
                height,
                path,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn check_list(t: &NullifierTree, expected: usize) {
        let mut idx = 0u64;
        let mut count = 1;
        loop {
            let leaf = t.leaf(idx).unwrap().unwrap();
            if leaf.next_value == F::from(0u64) {
                break;
            }
            assert_eq!(fe_cmp(&leaf.value, &leaf.next_value), Ordering::Less);
            assert_eq!(
                t.leaf(leaf.next_index).unwrap().unwrap().value,
                leaf.next_value
            );
            idx = leaf.next_index;
            count += 1;
        }
        assert_eq!(count, expected);
    }

    #[test]
    fn limbs_are_canonical() {
        for v in [
            F::from(0u64),
            F::from(1u64),
            -F::from(1u64),
            F::from(u64::MAX),
        ] {
            let (hi, lo) = limbs(&v);
            let two128 = F::from(u128::MAX) + F::from(1u64);
            assert_eq!(hi * two128 + lo, v);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn insertions_and_non_membership(n in 1usize..40, seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let mut t = NullifierTree::new(3).unwrap();
            let mut present = vec![];
            for _ in 0..n {
                let v = F::rand(&mut rng);
                let before = t.root();
                let w = t.insert(&v).unwrap();
                prop_assert_eq!(apply_insertion(before, &v, &w).unwrap(), t.root());
                present.push(v);
            }
            for v in &present {
                prop_assert!(t.contains(v).unwrap());
                prop_assert!(t.non_membership(v).is_err());
                for i in 0..t.size() {
                    if let Some(leaf) = t.leaf(i).unwrap() {
                        prop_assert!(!low_leaf_covers(&leaf, v));
                    }
                }
            }
            for _ in 0..8 {
                let v = F::rand(&mut rng);
                let w = t.non_membership(&v).unwrap();
                prop_assert!(w.verify(t.root(), &v).is_ok());
            }
            check_list(&t, n + 1);
        }

        #[test]
        fn chunks_match_witness_replay(chunks in 1usize..5, seed in any::<u64>(), sorted in any::<bool>()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let mut t = NullifierTree::with_cursor(4, 16).unwrap();
            let mut total = 1;
            for c in 0..chunks {
                let mut vals: Vec<Option<F>> = (0..16)
                    .map(|i| (i < 13 || seed % 2 == 0).then(|| F::rand(&mut rng)))
                    .collect();
                if sorted {
                    // adjacent values inside one chunk: many pending low leaves
                    vals.sort_by(|a, b| match (a, b) {
                        (Some(a), Some(b)) => fe_cmp(a, b),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        _ => Ordering::Equal,
                    });
                }
                let before = t.root();
                let w = t.insert_chunk(&vals).unwrap();
                prop_assert_eq!(apply_chunk(before, &vals, &w).unwrap(), t.root());
                let present = vals.iter().flatten().count();
                total += present;
                if sorted && c == 0 {
                    // into a tree holding only the sentinel, every sorted value after the first
                    // has the previous new leaf as its low leaf
                    let pending = w.lows.iter().flatten().filter(|l| l.pending.is_some()).count();
                    prop_assert_eq!(pending, present - 1);
                }
            }
            check_list(&t, total);
        }
    }

    #[test]
    fn chunk_refuses_double_spends_and_tampering() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut t = NullifierTree::with_cursor(3, 4).unwrap();
        let a = F::rand(&mut rng);
        let b = F::rand(&mut rng);
        t.insert_chunk(&[Some(a), Some(b), None, None]).unwrap();
        let root = t.root();
        // already present
        assert!(matches!(
            t.insert_chunk(&[Some(a), None, None, None]),
            Err(ProtocolError::NullifierSpent)
        ));
        // twice in one chunk
        let c = F::rand(&mut rng);
        assert!(t.insert_chunk(&[Some(c), Some(c), None, None]).is_err());
        assert_eq!(t.root(), root, "failed chunks change nothing");
        assert_eq!(t.size(), 8);
        // a witness replayed with a wrong low leaf fails
        let vals = [Some(c), Some(c + F::from(1u64)), None, None];
        let mut w = t.clone().insert_chunk(&vals).unwrap();
        assert!(apply_chunk(root, &vals, &w).is_ok());
        w.lows[0].as_mut().unwrap().low_leaf.next_index += 1;
        assert!(apply_chunk(root, &vals, &w).is_err());
        // misaligned chunk
        let mut u = NullifierTree::with_cursor(3, 1).unwrap();
        assert!(u.insert_chunk(&[Some(c), None, None, None]).is_err());
    }

    #[test]
    fn double_insert_and_zero_are_refused() {
        let mut t = NullifierTree::new(2).unwrap();
        let v = F::from(42u64);
        let w = t.insert(&v).unwrap();
        assert!(matches!(t.insert(&v), Err(ProtocolError::NullifierSpent)));
        assert!(matches!(
            t.insert(&F::from(0u64)),
            Err(ProtocolError::NullifierSpent)
        ));
        assert!(apply_insertion(t.root(), &v, &w).is_err());
        let mut t2 = NullifierTree::new(2).unwrap();
        t2.insert(&F::from(100u64)).unwrap();
        let w2 = t2.non_membership(&F::from(50u64)).unwrap();
        assert!(w2.verify(t2.root(), &F::from(150u64)).is_err());
        assert!(w2.verify(t2.root(), &F::from(50u64)).is_ok());
    }

    #[test]
    fn fills_up() {
        let mut t = NullifierTree::new(1).unwrap();
        for i in 1..4u64 {
            t.insert(&F::from(i)).unwrap();
        }
        assert!(matches!(
            t.insert(&F::from(9u64)),
            Err(ProtocolError::TreeFull { .. })
        ));
    }
}
