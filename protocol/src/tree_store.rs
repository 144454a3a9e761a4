//! Durable storage beneath the rollup's two trees.
//!
//! [`crate::merkle::SparseTree`] and [`crate::nullifier_tree::NullifierTree`] keep what they
//! write in an in-memory overlay. Alone (wallets, tests, provers) the overlay is the whole tree.
//! Over a [`TreeStore`] (the node's RocksDB index), the overlay holds only what was written
//! since the last flush: reads fall through to the store, and the owner writes the overlay out
//! ([`crate::batch::RollupState::unflushed`]) and then forgets it
//! ([`crate::batch::RollupState::mark_flushed`]), so memory does not grow with the history.
//! This crate does no I/O itself: the store is the caller's.

use crate::error::Result;
use crate::field::F;
use crate::nullifier_tree::IndexedLeaf;
use std::sync::Arc;

/// Which of the rollup's trees a stored node belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TreeId {
    /// The note commitment tree.
    Notes,
    /// The nullifier tree.
    Nullifiers,
}

/// What a store beneath the trees answers. Every value it returns is what an earlier flush
/// wrote; an error (I/O, a malformed record) is returned as
/// [`crate::ProtocolError::Storage`].
pub trait TreeStore: Send + Sync {
    /// The stored node of `tree` at `level` (0 = leaves) and `index`, if one was written.
    fn node(&self, tree: TreeId, level: u8, index: u64) -> Result<Option<F>>;
    /// The stored nullifier-tree leaf at `index`.
    fn nullifier_leaf(&self, index: u64) -> Result<Option<IndexedLeaf>>;
    /// The leaf index of a stored nullifier (`value` as big-endian bytes).
    fn nullifier_index(&self, value: &[u8; 32]) -> Result<Option<u64>>;
    /// The greatest stored nullifier below `value` (big-endian bytes) and its leaf index.
    fn nullifier_below(&self, value: &[u8; 32]) -> Result<Option<([u8; 32], u64)>>;
}

/// A shared handle on a [`TreeStore`].
#[derive(Clone)]
pub struct StoreRef(pub Arc<dyn TreeStore>);

impl std::fmt::Debug for StoreRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TreeStore")
    }
}

/// Everything the trees wrote since their last flush, to be written to the store in one atomic
/// write. Later entries of the same key never occur: each key appears once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unflushed {
    /// Note-tree nodes: (level, index, value).
    pub note_nodes: Vec<(u8, u64, F)>,
    /// Nullifier-tree nodes: (level, index, value).
    pub nullifier_nodes: Vec<(u8, u64, F)>,
    /// Nullifier-tree leaves by index.
    pub nullifier_leaves: Vec<(u64, IndexedLeaf)>,
    /// Nullifier values (big-endian bytes) and their leaf index.
    pub nullifier_values: Vec<([u8; 32], u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{ChunkParams, RollupState};
    use crate::note::Nullifier;
    use crate::ProtocolError;
    use ark_ff::UniformRand;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// A store in memory, like the node's: written only by flushes; can be made to fail.
    #[derive(Default)]
    struct MemStore {
        nodes: Mutex<HashMap<(TreeId, u8, u64), F>>,
        leaves: Mutex<HashMap<u64, IndexedLeaf>>,
        values: Mutex<BTreeMap<[u8; 32], u64>>,
        fail: AtomicBool,
    }

    impl MemStore {
        fn write(&self, u: &Unflushed) {
            let mut n = self.nodes.lock().unwrap();
            for (l, i, v) in &u.note_nodes {
                n.insert((TreeId::Notes, *l, *i), *v);
            }
            for (l, i, v) in &u.nullifier_nodes {
                n.insert((TreeId::Nullifiers, *l, *i), *v);
            }
            self.leaves
                .lock()
                .unwrap()
                .extend(u.nullifier_leaves.iter().copied());
            self.values
                .lock()
                .unwrap()
                .extend(u.nullifier_values.iter().copied());
        }

        fn check(&self) -> Result<()> {
            if self.fail.load(Ordering::Relaxed) {
                return Err(ProtocolError::Storage("injected".into()));
            }
            Ok(())
        }
    }

    impl TreeStore for MemStore {
        fn node(&self, tree: TreeId, level: u8, index: u64) -> Result<Option<F>> {
            self.check()?;
            Ok(self
                .nodes
                .lock()
                .unwrap()
                .get(&(tree, level, index))
                .copied())
        }
        fn nullifier_leaf(&self, index: u64) -> Result<Option<IndexedLeaf>> {
            self.check()?;
            Ok(self.leaves.lock().unwrap().get(&index).copied())
        }
        fn nullifier_index(&self, value: &[u8; 32]) -> Result<Option<u64>> {
            self.check()?;
            Ok(self.values.lock().unwrap().get(value).copied())
        }
        fn nullifier_below(&self, value: &[u8; 32]) -> Result<Option<([u8; 32], u64)>> {
            self.check()?;
            Ok(self
                .values
                .lock()
                .unwrap()
                .range(..*value)
                .next_back()
                .map(|(k, v)| (*k, *v)))
        }
    }

    use crate::batch::tests::random_payment as payment;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// A state over a store, flushed after every batch (and reopened from the store at
        /// times), gives the same chunk statements and witnesses as the state in memory.
        #[test]
        fn a_state_over_a_store_equals_the_state_in_memory(
            batches in prop::collection::vec(1usize..6, 1..5),
            seed in any::<u64>(),
            reopen in any::<u8>(),
        ) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let params = ChunkParams::new(4, 2).unwrap();
            let store = Arc::new(MemStore::default());
            let r = StoreRef(store.clone());
            let mut mem = RollupState::new(params).unwrap();
            let mut on = RollupState::on_store(params, r.clone(), None).unwrap();
            prop_assert_eq!(on.notes.root(), mem.notes.root());
            prop_assert_eq!(on.nullifiers.root(), mem.nullifiers.root());
            for (k, n) in batches.iter().enumerate() {
                let mut payments: Vec<_> =
                    (0..*n).map(|_| payment(&mut rng, mem.notes.root())).collect();
                // a nullifier spent in an earlier batch is refused by both, unchanged
                if k > 0 && seed % 3 == 0 {
                    let spent = mem.nullifiers.leaf(params.leaves() as u64).unwrap().unwrap();
                    let mut bad = payments.clone();
                    bad[0].nullifiers[1] = Nullifier(spent.value);
                    prop_assert!(mem.clone().apply_batch(&bad).is_err());
                    let before = (on.notes.root(), on.nullifiers.root());
                    prop_assert!(on.apply_batch(&bad).is_err());
                    prop_assert_eq!(before, (on.notes.root(), on.nullifiers.root()));
                    prop_assert!(on.nullifiers.contains(&spent.value).unwrap());
                }
                // a value adjacent to a stored one: its low leaf comes from the store
                payments[0].nullifiers[0] = Nullifier(
                    mem.nullifiers.leaf(0).unwrap().unwrap().next_value + F::from(k as u64 + 1),
                );
                let a = mem.apply_batch(&payments).unwrap();
                let b = on.apply_batch(&payments).unwrap();
                prop_assert_eq!(a, b);
                store.write(&on.unflushed());
                on.mark_flushed().unwrap();
                prop_assert!(on.unflushed().note_nodes.is_empty());
                if reopen >> (k % 8) & 1 == 1 {
                    let sizes = (on.notes.size(), on.nullifiers.size());
                    on = RollupState::on_store(params, r.clone(), Some(sizes)).unwrap();
                }
                prop_assert_eq!(on.notes.root(), mem.notes.root());
                prop_assert_eq!(on.nullifiers.root(), mem.nullifiers.root());
                for p in &payments {
                    prop_assert!(on.nullifiers.contains(&p.nullifiers[0].0).unwrap());
                }
                let probe = F::rand(&mut rng);
                prop_assert_eq!(
                    on.nullifiers.non_membership(&probe).unwrap(),
                    mem.nullifiers.non_membership(&probe).unwrap()
                );
                prop_assert_eq!(
                    on.notes.path(on.notes.size()).unwrap(),
                    mem.notes.path(mem.notes.size()).unwrap()
                );
            }
            prop_assert_eq!(
                store.values.lock().unwrap().len(),
                1 + 2 * batches.iter().sum::<usize>()
            );
        }
    }

    #[test]
    fn a_failing_store_fails_the_operation_and_changes_nothing() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let params = ChunkParams::new(4, 2).unwrap();
        let store = Arc::new(MemStore::default());
        let mut on = RollupState::on_store(params, StoreRef(store.clone()), None).unwrap();
        let first: Vec<_> = (0..3).map(|_| payment(&mut rng, F::from(0u64))).collect();
        on.apply_batch(&first).unwrap();
        store.write(&on.unflushed());
        on.mark_flushed().unwrap();
        let before = (on.notes.root(), on.nullifiers.root(), on.notes.size());
        store.fail.store(true, Ordering::Relaxed);
        let next: Vec<_> = (0..2).map(|_| payment(&mut rng, before.0)).collect();
        // a storage error, not the payments' fault
        assert!(matches!(
            on.apply_batch(&next),
            Err(ProtocolError::Storage(_))
        ));
        assert!(on.nullifiers.contains(&first[0].nullifiers[0].0).is_err());
        assert_eq!(
            before,
            (on.notes.root(), on.nullifiers.root(), on.notes.size())
        );
        store.fail.store(false, Ordering::Relaxed);
        on.apply_batch(&next).unwrap();
        // a state in memory alone cannot be flushed (that would drop the tree)
        assert!(RollupState::new(params).unwrap().mark_flushed().is_err());
        // a store without the sentinel is refused
        let empty = StoreRef(Arc::new(MemStore::default()));
        assert!(RollupState::on_store(params, empty, Some((0, 8))).is_err());
    }
}
