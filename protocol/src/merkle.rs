//! Arity-4 Poseidon Merkle trees: the note commitment tree and the storage of the nullifier tree.
//!
//! A tree of depth `d` holds `4^d` leaves (depth 16 = 2^32 leaves in production). Empty leaves
//! are 0; an inner node is `H_domain(c0, c1, c2, c3)`. A position's base-4 digit at level `l`
//! (`(pos >> 2l) & 3`) says which child the path goes through; the path stores, per level, the
//! three siblings in child order with the path's own child left out.

use crate::error::{ProtocolError, Result};
use crate::field::F;
use crate::poseidon::{hash, Domain};
use crate::tree_store::{StoreRef, TreeId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Children per inner node.
pub const ARITY: usize = 4;
/// Production depth: 4^16 = 2^32 leaves.
pub const FULL_DEPTH: usize = 16;
/// Largest supported depth.
pub const MAX_DEPTH: usize = 16;

/// Validates a tree depth (1..=16).
pub fn check_depth(depth: usize) -> Result<()> {
    if (1..=MAX_DEPTH).contains(&depth) {
        Ok(())
    } else {
        Err(ProtocolError::BadDepth(depth))
    }
}

/// Capacity of a tree of `depth`.
pub fn capacity(depth: usize) -> u64 {
    1u64 << (2 * depth)
}

/// Hash of one inner node.
pub fn node_hash(domain: Domain, children: &[F; ARITY]) -> F {
    hash(domain, children)
}

/// Roots of empty subtrees: `empty[0] = 0` (an empty leaf), `empty[l+1] = H(empty[l] x 4)`.
pub fn empty_roots(domain: Domain, depth: usize) -> Vec<F> {
    let mut v = Vec::with_capacity(depth + 1);
    v.push(F::from(0u64));
    for l in 0..depth {
        let e = v[l];
        v.push(node_hash(domain, &[e, e, e, e]));
    }
    v
}

/// Base-4 digit of `position` at `level`.
pub fn digit(position: u64, level: usize) -> usize {
    ((position >> (2 * level)) & 3) as usize
}

/// Children of a node, given the path's own child at `index` and its three siblings.
pub fn place(node: F, index: usize, siblings: &[F; 3]) -> [F; ARITY] {
    let mut out = [F::from(0u64); ARITY];
    let mut s = siblings.iter();
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = if i == index {
            node
        } else {
            // three siblings fill the other three slots
            *s.next().unwrap_or(&node)
        };
    }
    out
}

/// An authentication path from a leaf to the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerklePath {
    /// Leaf position.
    pub position: u64,
    /// Per level, from the leaves up: the three siblings in child order.
    #[serde(with = "serde_siblings")]
    pub siblings: Vec<[F; 3]>,
}

mod serde_siblings {
    use super::*;
    use crate::field::{fe_from_hex, fe_to_hex};
    use serde::{de::Error as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[[F; 3]], s: S) -> std::result::Result<S::Ok, S::Error> {
        let text: Vec<[String; 3]> = v.iter().map(|l| l.map(|x| fe_to_hex(&x))).collect();
        text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<[F; 3]>, D::Error> {
        let text: Vec<[String; 3]> = Vec::deserialize(d)?;
        if text.len() > MAX_DEPTH {
            return Err(D::Error::custom("path longer than the maximum depth"));
        }
        text.iter()
            .map(|l| {
                Ok([
                    fe_from_hex(&l[0]).map_err(D::Error::custom)?,
                    fe_from_hex(&l[1]).map_err(D::Error::custom)?,
                    fe_from_hex(&l[2]).map_err(D::Error::custom)?,
                ])
            })
            .collect()
    }
}

impl MerklePath {
    /// Depth of the path.
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }

    /// Root reached from `leaf` along this path.
    pub fn root(&self, domain: Domain, leaf: F) -> F {
        let mut node = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            node = node_hash(domain, &place(node, digit(self.position, level), sib));
        }
        node
    }

    /// Checks that `leaf` sits at this path's position under `root`; the position must fit the
    /// path's depth.
    pub fn verify(&self, domain: Domain, leaf: F, root: F) -> Result<()> {
        check_depth(self.depth())?;
        if self.position >= capacity(self.depth()) {
            return Err(ProtocolError::PositionOutOfRange {
                position: self.position,
                size: capacity(self.depth()),
            });
        }
        if self.root(domain, leaf) == root {
            Ok(())
        } else {
            Err(ProtocolError::BadPath)
        }
    }
}

/// A sparse arity-4 tree storing only non-empty nodes. Supports appends and in-place updates.
/// Written nodes stay in memory; over a [`crate::tree_store::TreeStore`] only until they are
/// flushed (see [`crate::tree_store`]).
#[derive(Clone, Debug)]
pub struct SparseTree {
    domain: Domain,
    depth: usize,
    empty: Vec<F>,
    /// (level, index) -> node; level 0 = leaves. Over a store: the nodes not yet flushed.
    nodes: HashMap<(u8, u64), F>,
    size: u64,
    root: F,
    store: Option<(StoreRef, TreeId)>,
}

impl SparseTree {
    /// An empty tree.
    pub fn new(domain: Domain, depth: usize) -> Result<Self> {
        check_depth(depth)?;
        let empty = empty_roots(domain, depth);
        Ok(Self {
            domain,
            depth,
            root: empty[depth],
            empty,
            nodes: HashMap::new(),
            size: 0,
            store: None,
        })
    }

    /// The tree `id` as `store` holds it, with `size` leaves (one past the highest written
    /// position); an empty store gives an empty tree.
    pub fn on_store(
        domain: Domain,
        depth: usize,
        store: StoreRef,
        id: TreeId,
        size: u64,
    ) -> Result<Self> {
        let mut t = Self::new(domain, depth)?;
        if size > capacity(depth) {
            return Err(ProtocolError::TreeFull {
                capacity: capacity(depth),
            });
        }
        if let Some(root) = store.0.node(id, depth as u8, 0)? {
            t.root = root;
        }
        t.size = size;
        t.store = Some((store, id));
        Ok(t)
    }

    /// Depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of appended leaves (one past the highest written position).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Hash domain of inner nodes.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    fn node(&self, level: usize, index: u64) -> Result<F> {
        if let Some(v) = self.nodes.get(&(level as u8, index)) {
            return Ok(*v);
        }
        if let Some((store, id)) = &self.store {
            if let Some(v) = store.0.node(*id, level as u8, index)? {
                return Ok(v);
            }
        }
        Ok(self.empty[level])
    }

    /// Current root.
    pub fn root(&self) -> F {
        self.root
    }

    /// The leaf at `position` (0 when empty).
    pub fn leaf(&self, position: u64) -> Result<F> {
        self.node(0, position)
    }

    /// Writes `leaf` at `position` and rehashes its path.
    pub fn set(&mut self, position: u64, leaf: F) -> Result<()> {
        if position >= capacity(self.depth) {
            return Err(ProtocolError::TreeFull {
                capacity: capacity(self.depth),
            });
        }
        // read every sibling first, so a failing store leaves the tree unchanged
        let mut hashes = Vec::with_capacity(self.depth);
        let mut node = leaf;
        let mut idx = position;
        for level in 0..self.depth {
            let base = (idx >> 2) << 2;
            let mut children = [F::from(0u64); ARITY];
            for (j, c) in children.iter_mut().enumerate() {
                let i = base + j as u64;
                *c = if i == idx { node } else { self.node(level, i)? };
            }
            node = node_hash(self.domain, &children);
            idx >>= 2;
            hashes.push(node);
        }
        self.nodes.insert((0, position), leaf);
        let mut idx = position;
        for (level, h) in hashes.into_iter().enumerate() {
            idx >>= 2;
            self.nodes.insert(((level + 1) as u8, idx), h);
        }
        self.root = node;
        self.size = self.size.max(position + 1);
        Ok(())
    }

    /// Writes several leaves and rehashes each affected inner node once (a chunk's aligned
    /// subtree costs one hash per inner node rather than a full path per leaf). All or nothing:
    /// every node is read before anything changes.
    pub fn set_many(&mut self, leaves: &[(u64, F)]) -> Result<()> {
        let cap = capacity(self.depth);
        if leaves.iter().any(|(p, _)| *p >= cap) {
            return Err(ProtocolError::TreeFull { capacity: cap });
        }
        let mut level_nodes: std::collections::BTreeMap<u64, F> = leaves.iter().copied().collect();
        let mut written: Vec<((u8, u64), F)> =
            level_nodes.iter().map(|(i, v)| ((0, *i), *v)).collect();
        for level in 0..self.depth {
            let mut parents = std::collections::BTreeMap::new();
            let bases: std::collections::BTreeSet<u64> =
                level_nodes.keys().map(|i| (i >> 2) << 2).collect();
            for base in bases {
                let mut children = [F::from(0u64); ARITY];
                for (j, c) in children.iter_mut().enumerate() {
                    let i = base + j as u64;
                    *c = match level_nodes.get(&i) {
                        Some(v) => *v,
                        None => self.node(level, i)?,
                    };
                }
                parents.insert(base >> 2, node_hash(self.domain, &children));
            }
            written.extend(parents.iter().map(|(i, v)| (((level + 1) as u8, *i), *v)));
            level_nodes = parents;
        }
        if let Some(root) = level_nodes.get(&0) {
            self.root = *root;
        }
        if let Some(top) = leaves.iter().map(|(p, _)| *p).max() {
            self.size = self.size.max(top + 1);
        }
        self.nodes.extend(written);
        Ok(())
    }

    /// The nodes written since the last flush (every node, without a store).
    pub fn unflushed(&self) -> Vec<(u8, u64, F)> {
        self.nodes.iter().map(|((l, i), v)| (*l, *i, *v)).collect()
    }

    /// Forgets the unflushed nodes, which the caller has written to the store. Refused for a
    /// tree without a store (it would lose the tree).
    pub fn mark_flushed(&mut self) -> Result<()> {
        if self.store.is_none() {
            return Err(ProtocolError::Storage(
                "a tree without a store cannot be flushed".into(),
            ));
        }
        self.nodes = HashMap::new();
        Ok(())
    }

    /// Appends a leaf; returns its position.
    pub fn append(&mut self, leaf: F) -> Result<u64> {
        let pos = self.size;
        self.set(pos, leaf)?;
        Ok(pos)
    }

    /// Authentication path of `position` (which may be empty).
    pub fn path(&self, position: u64) -> Result<MerklePath> {
        self.path_at(0, position)
    }

    /// Path of the node `index` at `level` up to the root (`depth - level` levels).
    pub fn path_at(&self, from_level: usize, position: u64) -> Result<MerklePath> {
        if from_level > self.depth || position >= capacity(self.depth - from_level) {
            return Err(ProtocolError::PositionOutOfRange {
                position,
                size: capacity(self.depth.saturating_sub(from_level)),
            });
        }
        let mut siblings = Vec::with_capacity(self.depth - from_level);
        let mut idx = position;
        for level in from_level..self.depth {
            let base = (idx >> 2) << 2;
            let mut sib = [F::from(0u64); 3];
            let mut k = 0;
            for j in 0..4u64 {
                if base + j != idx {
                    sib[k] = self.node(level, base + j)?;
                    k += 1;
                }
            }
            siblings.push(sib);
            idx >>= 2;
        }
        Ok(MerklePath { position, siblings })
    }
}

/// Root of a full subtree over `leaves` (their count a power of 4).
pub fn subtree_root(domain: Domain, leaves: &[F]) -> Result<F> {
    let mut level: Vec<F> = leaves.to_vec();
    if level.is_empty()
        || !level.len().is_power_of_two()
        || !level.len().trailing_zeros().is_multiple_of(2)
    {
        return Err(ProtocolError::Batch(format!(
            "a subtree needs a power of 4 leaves, got {}",
            level.len()
        )));
    }
    while level.len() > 1 {
        level = level
            .chunks(ARITY)
            .map(|c| node_hash(domain, &[c[0], c[1], c[2], c[3]]))
            .collect();
    }
    Ok(level[0])
}

/// Height (in arity-4 levels) of a subtree of `leaves` leaves: `leaves = 4^height`.
pub fn subtree_height(leaves: usize) -> Result<usize> {
    if leaves == 0 || !leaves.is_power_of_two() || !leaves.trailing_zeros().is_multiple_of(2) {
        return Err(ProtocolError::Batch(format!(
            "chunk leaves must be a power of 4, got {leaves}"
        )));
    }
    Ok(leaves.trailing_zeros() as usize / 2)
}

/// Witness of appending a full, aligned subtree: the path of the subtree's root (levels
/// `height..depth`), whose position is `start / 4^height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtreeWitness {
    /// First leaf position of the subtree.
    pub start: u64,
    /// Subtree height.
    pub height: usize,
    /// Path of the subtree root.
    pub path: MerklePath,
}

impl SubtreeWitness {
    /// Checks the subtree slot is empty under `old_root` and returns the root with `leaves` in it.
    pub fn apply(&self, domain: Domain, old_root: F, leaves: &[F]) -> Result<F> {
        if subtree_height(leaves.len())? != self.height
            || self.path.position << (2 * self.height) != self.start
        {
            return Err(ProtocolError::Batch(
                "subtree position or height mismatch".into(),
            ));
        }
        let empty = empty_roots(domain, self.height)[self.height];
        if self.path.root(domain, empty) != old_root {
            return Err(ProtocolError::Batch("subtree slot is not empty".into()));
        }
        Ok(self.path.root(domain, subtree_root(domain, leaves)?))
    }
}

/// The note commitment tree: append-only, leaves are note commitments.
#[derive(Clone, Debug)]
pub struct NoteTree {
    tree: SparseTree,
}

impl NoteTree {
    /// An empty note tree of `depth`.
    pub fn new(depth: usize) -> Result<Self> {
        Ok(Self {
            tree: SparseTree::new(Domain::NoteTreeNode, depth)?,
        })
    }

    /// The note tree as `store` holds it, with `size` leaves.
    pub fn on_store(depth: usize, store: StoreRef, size: u64) -> Result<Self> {
        Ok(Self {
            tree: SparseTree::on_store(Domain::NoteTreeNode, depth, store, TreeId::Notes, size)?,
        })
    }

    /// The nodes written since the last flush.
    pub fn unflushed(&self) -> Vec<(u8, u64, F)> {
        self.tree.unflushed()
    }

    /// Forgets the unflushed nodes once written to the store.
    pub fn mark_flushed(&mut self) -> Result<()> {
        self.tree.mark_flushed()
    }

    /// Appends a commitment, returns its position.
    pub fn append(&mut self, cm: F) -> Result<u64> {
        self.tree.append(cm)
    }

    /// Current root.
    pub fn root(&self) -> F {
        self.tree.root()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Depth.
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// Leaf at `position`.
    pub fn leaf(&self, position: u64) -> Result<F> {
        if position >= self.size() {
            return Err(ProtocolError::PositionOutOfRange {
                position,
                size: self.size(),
            });
        }
        self.tree.leaf(position)
    }

    /// Appends a full aligned subtree of `leaves` (a power of 4, zeros for empty slots) at the
    /// current size, which must be a multiple of `leaves.len()`. Returns the witness.
    pub fn append_chunk(&mut self, leaves: &[F]) -> Result<SubtreeWitness> {
        let height = subtree_height(leaves.len())?;
        let start = self.size();
        if !start.is_multiple_of(leaves.len() as u64) {
            return Err(ProtocolError::Batch(format!(
                "note tree size {start} is not aligned to {} leaves",
                leaves.len()
            )));
        }
        if start + leaves.len() as u64 > capacity(self.depth()) {
            return Err(ProtocolError::TreeFull {
                capacity: capacity(self.depth()),
            });
        }
        let path = self.tree.path_at(height, start >> (2 * height))?;
        let writes: Vec<(u64, F)> = leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (start + i as u64, *l))
            .collect();
        self.tree.set_many(&writes)?;
        Ok(SubtreeWitness {
            start,
            height,
            path,
        })
    }

    /// Authentication path of a filled or the next empty position.
    pub fn path(&self, position: u64) -> Result<MerklePath> {
        if position > self.size() {
            return Err(ProtocolError::PositionOutOfRange {
                position,
                size: self.size(),
            });
        }
        self.tree.path(position)
    }
}

/// Verifies a note-tree authentication path.
pub fn verify_note_path(path: &MerklePath, cm: F, root: F) -> Result<()> {
    path.verify(Domain::NoteTreeNode, cm, root)
}

/// The right edge of an append-only tree: enough to append and compute the root without the
/// leaves (what a light wallet or the batcher keeps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    domain: Domain,
    depth: usize,
    size: u64,
    /// Per level, the filled children of the rightmost incomplete node.
    levels: Vec<Vec<F>>,
    empty: Vec<F>,
    /// Root once the tree is full.
    full_root: Option<F>,
}

impl Frontier {
    /// Frontier of an empty tree.
    pub fn new(domain: Domain, depth: usize) -> Result<Self> {
        check_depth(depth)?;
        Ok(Self {
            domain,
            depth,
            size: 0,
            levels: vec![Vec::with_capacity(3); depth],
            empty: empty_roots(domain, depth),
            full_root: None,
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns its position.
    pub fn append(&mut self, leaf: F) -> Result<u64> {
        if self.size >= capacity(self.depth) {
            return Err(ProtocolError::TreeFull {
                capacity: capacity(self.depth),
            });
        }
        let pos = self.size;
        let mut carry = leaf;
        for level in 0..self.depth {
            self.levels[level].push(carry);
            if self.levels[level].len() < ARITY {
                self.size += 1;
                return Ok(pos);
            }
            let c = &self.levels[level];
            carry = node_hash(self.domain, &[c[0], c[1], c[2], c[3]]);
            self.levels[level].clear();
        }
        self.full_root = Some(carry);
        self.size += 1;
        Ok(pos)
    }

    /// Current root.
    pub fn root(&self) -> F {
        if let Some(r) = self.full_root {
            return r;
        }
        let mut node: Option<F> = None;
        for level in 0..self.depth {
            let mut children = self.levels[level].clone();
            if let Some(n) = node {
                children.push(n);
            }
            if children.is_empty() {
                node = None;
                continue;
            }
            while children.len() < ARITY {
                children.push(self.empty[level]);
            }
            node = Some(node_hash(
                self.domain,
                &[children[0], children[1], children[2], children[3]],
            ));
        }
        node.unwrap_or(self.empty[self.depth])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::SeedableRng;

    /// Root of a dense tree computed level by level from all leaves.
    fn naive_root(domain: Domain, depth: usize, leaves: &[F]) -> F {
        let mut level: Vec<F> = leaves.to_vec();
        level.resize(capacity(depth) as usize, F::from(0u64));
        for _ in 0..depth {
            level = level
                .chunks(4)
                .map(|c| node_hash(domain, &[c[0], c[1], c[2], c[3]]))
                .collect();
        }
        level[0]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Writing leaves together equals writing them one by one: same root, size and paths.
        #[test]
        fn set_many_equals_one_by_one(
            prior in prop::collection::vec((0u64..256, any::<u64>()), 0..12),
            writes in prop::collection::vec((0u64..256, any::<u64>()), 0..24),
        ) {
            let mut a = SparseTree::new(Domain::NoteTreeNode, 4).unwrap();
            for (p, v) in &prior {
                a.set(*p, F::from(*v)).unwrap();
            }
            let mut b = a.clone();
            // later writes of one position win, as with one-by-one writes
            let mut last = std::collections::BTreeMap::new();
            for (p, v) in &writes {
                a.set(*p, F::from(*v)).unwrap();
                last.insert(*p, F::from(*v));
            }
            let batch: Vec<(u64, F)> = last.into_iter().collect();
            b.set_many(&batch).unwrap();
            prop_assert_eq!(a.root(), b.root());
            prop_assert_eq!(a.size(), b.size());
            for p in [0u64, 1, 17, 128, 255] {
                prop_assert_eq!(a.path(p).unwrap(), b.path(p).unwrap());
            }
        }
    }

    #[test]
    fn set_many_refuses_a_position_past_the_capacity_and_changes_nothing() {
        let mut t = SparseTree::new(Domain::NoteTreeNode, 2).unwrap();
        t.set(3, F::from(5u64)).unwrap();
        let before = (t.root(), t.size(), t.unflushed().len());
        assert!(t
            .set_many(&[(1, F::from(1u64)), (16, F::from(2u64))])
            .is_err());
        assert_eq!(before, (t.root(), t.size(), t.unflushed().len()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn appends_match_scratch_and_paths_verify(n in 0usize..=64, seed in any::<u64>()) {
            let depth = 3;
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let leaves: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let mut tree = NoteTree::new(depth).unwrap();
            let mut frontier = Frontier::new(Domain::NoteTreeNode, depth).unwrap();
            for (i, l) in leaves.iter().enumerate() {
                prop_assert_eq!(tree.append(*l).unwrap(), i as u64);
                prop_assert_eq!(frontier.append(*l).unwrap(), i as u64);
                prop_assert_eq!(frontier.root(), tree.root());
            }
            prop_assert_eq!(tree.root(), naive_root(Domain::NoteTreeNode, depth, &leaves));
            for (i, l) in leaves.iter().enumerate() {
                let p = tree.path(i as u64).unwrap();
                prop_assert!(verify_note_path(&p, *l, tree.root()).is_ok());
                // a different leaf does not verify
                prop_assert!(verify_note_path(&p, *l + F::from(1u64), tree.root()).is_err());
            }
        }
    }

    #[test]
    fn full_tree_and_bounds() {
        let depth = 1;
        let mut tree = NoteTree::new(depth).unwrap();
        let mut f = Frontier::new(Domain::NoteTreeNode, depth).unwrap();
        for i in 0..4u64 {
            tree.append(F::from(i + 1)).unwrap();
            f.append(F::from(i + 1)).unwrap();
        }
        assert_eq!(f.root(), tree.root());
        assert!(matches!(
            tree.append(F::from(9u64)),
            Err(ProtocolError::TreeFull { .. })
        ));
        assert!(f.append(F::from(9u64)).is_err());
        assert!(NoteTree::new(0).is_err());
        assert!(NoteTree::new(17).is_err());
        assert!(tree.leaf(4).is_err());
    }

    #[test]
    fn path_tampering_fails() {
        let mut tree = NoteTree::new(4).unwrap();
        for i in 0..37u64 {
            tree.append(F::from(100 + i)).unwrap();
        }
        let p = tree.path(22).unwrap();
        let leaf = F::from(122u64);
        assert!(verify_note_path(&p, leaf, tree.root()).is_ok());
        let mut moved = p.clone();
        moved.position = 23;
        assert!(verify_note_path(&moved, leaf, tree.root()).is_err());
        let mut swapped = p.clone();
        swapped.siblings[1].swap(0, 1);
        assert!(verify_note_path(&swapped, leaf, tree.root()).is_err());
        let mut out_of_range = p;
        out_of_range.position += capacity(4);
        assert!(verify_note_path(&out_of_range, leaf, tree.root()).is_err());
        let json = serde_json::to_string(&tree.path(5).unwrap()).unwrap();
        let back: MerklePath = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tree.path(5).unwrap());
    }

    #[test]
    fn full_depth_empty_root_is_stable() {
        let e = empty_roots(Domain::NoteTreeNode, FULL_DEPTH);
        assert_eq!(e.len(), FULL_DEPTH + 1);
        let t = NoteTree::new(FULL_DEPTH).unwrap();
        assert_eq!(t.root(), e[FULL_DEPTH]);
        assert_eq!(capacity(FULL_DEPTH), 1u64 << 32);
    }
}
