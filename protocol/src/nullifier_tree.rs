//! The nullifier set as an indexed Merkle tree (Aztec-style).
//!
//! Leaves form a linked list sorted by value: leaf `i` is `(value, next_index, next_value)`,
//! hashed as `H_NullifierLeaf(value, next_index, next_value)`; `next_value = 0` marks the end of
//! the list (the largest value). Leaf 0 is the sentinel `(0, 0, 0)`, so 0 is never insertable.
//!
//! * Non-membership of `v`: a *low leaf* in the tree with `low.value < v` and
//!   (`v < low.next_value` or `low.next_value = 0`).
//! * Insertion of `v` at the next free index `n`: the low leaf becomes `(low.value, n, v)`, then
//!   the empty slot `n` receives `(v, low.next_index, low.next_value)`.
//!
//! Both cost O(depth) hashes. Inner nodes use `H_NullifierTreeNode`.

use crate::error::{ProtocolError, Result};
use crate::field::{fe_cmp, fe_is_zero, fe_to_bytes, F};
use crate::merkle::{MerklePath, SparseTree};
use crate::poseidon::{hash, Domain};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

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
    /// `H_NullifierLeaf(value, next_index, next_value)`.
    pub fn hash(&self) -> F {
        hash(
            Domain::NullifierLeaf,
            &[self.value, F::from(self.next_index), self.next_value],
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

/// Everything needed to check one insertion without the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertionWitness {
    /// Non-membership of the value before insertion.
    pub non_membership: NonMembershipWitness,
    /// Path of the (empty) slot receiving the new leaf, taken after the low leaf's update.
    pub new_path: MerklePath,
}

/// Applies one insertion of `v` to `root` using only the witness: checks non-membership, updates
/// the low leaf, checks the new slot is empty, writes the new leaf. Returns the new root.
/// This is exactly what the batch circuit enforces.
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

/// The nullifier set.
#[derive(Clone, Debug)]
pub struct NullifierTree {
    tree: SparseTree,
    leaves: Vec<IndexedLeaf>,
    /// value (big-endian bytes, so byte order = numeric order) -> leaf index
    sorted: BTreeMap<[u8; 32], u64>,
}

impl NullifierTree {
    /// A tree holding only the sentinel leaf.
    pub fn new(depth: usize) -> Result<Self> {
        let mut tree = SparseTree::new(Domain::NullifierTreeNode, depth)?;
        let sentinel = IndexedLeaf::default();
        tree.append(sentinel.hash())?;
        let mut sorted = BTreeMap::new();
        sorted.insert(fe_to_bytes(&sentinel.value), 0);
        Ok(Self {
            tree,
            leaves: vec![sentinel],
            sorted,
        })
    }

    /// Current root.
    pub fn root(&self) -> F {
        self.tree.root()
    }

    /// Number of leaves (the sentinel included).
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Depth.
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// True when `v` is in the set.
    pub fn contains(&self, v: &F) -> bool {
        !fe_is_zero(v) && self.sorted.contains_key(&fe_to_bytes(v))
    }

    /// Leaf at `index`.
    pub fn leaf(&self, index: u64) -> Option<IndexedLeaf> {
        self.leaves.get(index as usize).copied()
    }

    fn low_index(&self, v: &F) -> Result<u64> {
        if fe_is_zero(v) || self.contains(v) {
            return Err(ProtocolError::NullifierSpent);
        }
        self.sorted
            .range(..fe_to_bytes(v))
            .next_back()
            .map(|(_, i)| *i)
            .ok_or(ProtocolError::BadNonMembership("no low leaf"))
    }

    /// Non-membership witness for an absent value.
    pub fn non_membership(&self, v: &F) -> Result<NonMembershipWitness> {
        let i = self.low_index(v)?;
        Ok(NonMembershipWitness {
            low_leaf: self.leaves[i as usize],
            low_path: self.tree.path(i)?,
        })
    }

    /// Inserts `v`; returns the witness that proves the insertion from the previous root.
    pub fn insert(&mut self, v: &F) -> Result<InsertionWitness> {
        let non_membership = self.non_membership(v)?;
        let new_index = self.tree.size();
        if new_index >= crate::merkle::capacity(self.tree.depth()) {
            return Err(ProtocolError::TreeFull {
                capacity: crate::merkle::capacity(self.tree.depth()),
            });
        }
        let low_index = non_membership.low_path.position;
        let low = non_membership.low_leaf;
        let updated = IndexedLeaf {
            value: low.value,
            next_index: new_index,
            next_value: *v,
        };
        self.tree.set(low_index, updated.hash())?;
        self.leaves[low_index as usize] = updated;
        let new_path = self.tree.path(new_index)?;
        let new_leaf = IndexedLeaf {
            value: *v,
            next_index: low.next_index,
            next_value: low.next_value,
        };
        self.tree.set(new_index, new_leaf.hash())?;
        self.leaves.push(new_leaf);
        self.sorted.insert(fe_to_bytes(v), new_index);
        Ok(InsertionWitness {
            non_membership,
            new_path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::SeedableRng;

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
                // the witness alone reproduces the new root
                prop_assert_eq!(apply_insertion(before, &v, &w).unwrap(), t.root());
                present.push(v);
            }
            for v in &present {
                prop_assert!(t.contains(v));
                // no non-membership witness for a present value
                prop_assert!(t.non_membership(v).is_err());
                // and no leaf of the tree can serve as one
                for i in 0..t.size() {
                    let leaf = t.leaf(i).unwrap();
                    prop_assert!(!low_leaf_covers(&leaf, v));
                }
            }
            for _ in 0..8 {
                let v = F::rand(&mut rng);
                let w = t.non_membership(&v).unwrap();
                prop_assert!(w.verify(t.root(), &v).is_ok());
            }
            // the linked list is sorted and complete
            let mut idx = 0u64;
            let mut count = 1;
            loop {
                let leaf = t.leaf(idx).unwrap();
                if leaf.next_value == F::from(0u64) { break; }
                prop_assert_eq!(fe_cmp(&leaf.value, &leaf.next_value), Ordering::Less);
                idx = leaf.next_index;
                count += 1;
            }
            prop_assert_eq!(count as u64, t.size());
        }
    }

    #[test]
    fn double_insert_and_zero_are_refused() {
        let mut t = NullifierTree::new(2).unwrap();
        let v = F::from(42u64);
        let before = t.root();
        let w = t.insert(&v).unwrap();
        assert!(matches!(t.insert(&v), Err(ProtocolError::NullifierSpent)));
        assert!(matches!(
            t.insert(&F::from(0u64)),
            Err(ProtocolError::NullifierSpent)
        ));
        // replaying the old witness against the new root fails
        assert!(apply_insertion(t.root(), &v, &w).is_err());
        // a witness for v cannot insert another value outside the low leaf's range
        let mut t2 = NullifierTree::new(2).unwrap();
        t2.insert(&F::from(100u64)).unwrap();
        let w2 = t2.non_membership(&F::from(50u64)).unwrap();
        assert!(w2.verify(t2.root(), &F::from(150u64)).is_err());
        assert!(w2.verify(t2.root(), &F::from(50u64)).is_ok());
        let _ = before;
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
