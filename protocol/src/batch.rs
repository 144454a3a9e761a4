//! The batch statement: a state transition of the rollup.
//!
//! State = (note tree, nullifier tree). Applying payments p_1..p_n in order, for each payment:
//! insert `nf0` then `nf1` into the nullifier tree (each absent before its insertion, so nothing
//! is spent twice, inside the batch or across batches), then append `cm0`, `cm1` to the note tree.
//! New leaves go to the next free positions of each tree.
//!
//! Public inputs, in this order ([`BatchPublic::public_inputs`], the one encoder):
//! `old_note_root, old_nullifier_root, new_note_root, new_nullifier_root, batch_hash`, with
//!
//! ```text
//! acc_0      = H_BatchChain(note_start, nullifier_start)
//! acc_{i+1}  = H_BatchChain(acc_i, H_PaymentDigest(public_inputs(p_i)))
//! batch_hash = acc_n
//! ```
//!
//! `note_start` and `nullifier_start` (the sizes of the trees before the batch) are known to
//! the ledger, which recomputes `batch_hash` itself: that binds the positions without extra
//! public inputs. A batch proven in chunks has one such statement per chunk; consecutive chunks
//! chain through their roots.

use crate::error::{ProtocolError, Result};
use crate::field::F;
use crate::merkle::{MerklePath, NoteTree};
use crate::note::Root;
use crate::nullifier_tree::{apply_insertion, InsertionWitness, NullifierTree};
use crate::payment::PaymentPublic;
use crate::poseidon::{hash, Domain};
use serde::{Deserialize, Serialize};

/// Number of public inputs of the batch statement.
pub const BATCH_PUBLIC_INPUTS: usize = 5;

/// Public side of a batch (or of one chunk of a batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Hash binding start positions and every payment's public inputs, in order.
    #[serde(with = "crate::field::serde_fe")]
    pub batch_hash: F,
}

impl BatchPublic {
    /// The one public-input encoder of the batch statement.
    pub fn public_inputs(&self) -> Vec<F> {
        vec![
            self.old_note_root.0,
            self.old_nullifier_root.0,
            self.new_note_root.0,
            self.new_nullifier_root.0,
            self.batch_hash,
        ]
    }
}

/// `H_PaymentDigest(public_inputs(p))`.
pub fn payment_digest(p: &PaymentPublic) -> F {
    hash(Domain::PaymentDigest, &p.public_inputs())
}

/// Initial accumulator `H_BatchChain(note_start, nullifier_start)`.
pub fn batch_hash_init(note_start: u64, nullifier_start: u64) -> F {
    hash(
        Domain::BatchChain,
        &[F::from(note_start), F::from(nullifier_start)],
    )
}

/// One step of the chain.
pub fn batch_hash_step(acc: F, digest: F) -> F {
    hash(Domain::BatchChain, &[acc, digest])
}

/// The batch hash of `payments` applied at the given start positions.
pub fn batch_hash(note_start: u64, nullifier_start: u64, payments: &[PaymentPublic]) -> F {
    payments
        .iter()
        .fold(batch_hash_init(note_start, nullifier_start), |acc, p| {
            batch_hash_step(acc, payment_digest(p))
        })
}

/// How one payment moves the state: two insertions and two appends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentTransition {
    /// Insertion witnesses of nf0 and nf1.
    pub insertions: [InsertionWitness; 2],
    /// Paths of the (empty) slots receiving cm0 and cm1, each taken just before its append.
    pub appends: [MerklePath; 2],
}

/// Everything the batch proof needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchWitness {
    /// Note-tree size before the batch.
    pub note_start: u64,
    /// Nullifier-tree size before the batch.
    pub nullifier_start: u64,
    /// Payments, in order.
    pub payments: Vec<PaymentPublic>,
    /// One transition per payment.
    pub transitions: Vec<PaymentTransition>,
}

/// The native check of the batch statement: exactly what the batch circuit enforces.
pub fn check_batch(public: &BatchPublic, w: &BatchWitness) -> Result<()> {
    if w.payments.len() != w.transitions.len() {
        return Err(ProtocolError::Batch("one transition per payment".into()));
    }
    let mut note_root = public.old_note_root.0;
    let mut nf_root = public.old_nullifier_root.0;
    let mut note_pos = w.note_start;
    let mut nf_pos = w.nullifier_start;
    for (i, (p, t)) in w.payments.iter().zip(&w.transitions).enumerate() {
        for k in 0..2 {
            let ins = &t.insertions[k];
            if ins.new_path.position != nf_pos {
                return Err(ProtocolError::Batch(format!(
                    "payment {i}: nullifier {k} inserted at {} instead of {nf_pos}",
                    ins.new_path.position
                )));
            }
            nf_root = apply_insertion(nf_root, &p.nullifiers[k].0, ins)
                .map_err(|e| ProtocolError::Batch(format!("payment {i}: nullifier {k}: {e}")))?;
            nf_pos += 1;
        }
        for k in 0..2 {
            let path = &t.appends[k];
            if path.position != note_pos {
                return Err(ProtocolError::Batch(format!(
                    "payment {i}: output {k} appended at {} instead of {note_pos}",
                    path.position
                )));
            }
            path.verify(Domain::NoteTreeNode, F::from(0u64), note_root)
                .map_err(|_| {
                    ProtocolError::Batch(format!("payment {i}: slot {note_pos} not empty"))
                })?;
            note_root = path.root(Domain::NoteTreeNode, p.commitments[k].0);
            note_pos += 1;
        }
    }
    if note_root != public.new_note_root.0 || nf_root != public.new_nullifier_root.0 {
        return Err(ProtocolError::Batch("new roots differ".into()));
    }
    if batch_hash(w.note_start, w.nullifier_start, &w.payments) != public.batch_hash {
        return Err(ProtocolError::Batch("batch hash differs".into()));
    }
    Ok(())
}

/// The rollup's state: both trees.
#[derive(Clone, Debug)]
pub struct RollupState {
    /// Note commitment tree.
    pub notes: NoteTree,
    /// Nullifier tree.
    pub nullifiers: NullifierTree,
}

impl RollupState {
    /// Empty state with trees of `depth`.
    pub fn new(depth: usize) -> Result<Self> {
        Ok(Self {
            notes: NoteTree::new(depth)?,
            nullifiers: NullifierTree::new(depth)?,
        })
    }

    /// Applies payments in order; all or nothing. Returns the statement and its witness.
    pub fn apply_batch(
        &mut self,
        payments: &[PaymentPublic],
    ) -> Result<(BatchPublic, BatchWitness)> {
        let mut next = self.clone();
        let old_note_root = Root(next.notes.root());
        let old_nullifier_root = Root(next.nullifiers.root());
        let note_start = next.notes.size();
        let nullifier_start = next.nullifiers.size();
        let mut transitions = Vec::with_capacity(payments.len());
        for (i, p) in payments.iter().enumerate() {
            p.check_ranges()?;
            let ins0 = next
                .nullifiers
                .insert(&p.nullifiers[0].0)
                .map_err(|e| ProtocolError::Batch(format!("payment {i}: nullifier 0: {e}")))?;
            let ins1 = next
                .nullifiers
                .insert(&p.nullifiers[1].0)
                .map_err(|e| ProtocolError::Batch(format!("payment {i}: nullifier 1: {e}")))?;
            let path0 = next.notes.path(next.notes.size())?;
            next.notes.append(p.commitments[0].0)?;
            let path1 = next.notes.path(next.notes.size())?;
            next.notes.append(p.commitments[1].0)?;
            transitions.push(PaymentTransition {
                insertions: [ins0, ins1],
                appends: [path0, path1],
            });
        }
        let public = BatchPublic {
            old_note_root,
            old_nullifier_root,
            new_note_root: Root(next.notes.root()),
            new_nullifier_root: Root(next.nullifiers.root()),
            batch_hash: batch_hash(note_start, nullifier_start, payments),
        };
        *self = next;
        Ok((
            public,
            BatchWitness {
                note_start,
                nullifier_start,
                payments: payments.to_vec(),
                transitions,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{AssetId, Commitment, Nullifier};
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    fn random_payment(rng: &mut rand_chacha::ChaCha20Rng, root: F) -> PaymentPublic {
        PaymentPublic {
            note_root: Root(root),
            nullifiers: [Nullifier(F::rand(rng)), Nullifier(F::rand(rng))],
            commitments: [Commitment(F::rand(rng)), Commitment(F::rand(rng))],
            asset: AssetId(F::from(1u64)),
            public_value: 0,
            fee: 1,
            ext_data_hash: F::rand(rng),
        }
    }

    #[test]
    fn batches_apply_and_check() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut s = RollupState::new(3).unwrap();
        for round in 0..3 {
            let ps: Vec<_> = (0..3)
                .map(|_| random_payment(&mut rng, s.notes.root()))
                .collect();
            let (public, w) = s.apply_batch(&ps).unwrap();
            check_batch(&public, &w).unwrap();
            assert_eq!(public.public_inputs().len(), BATCH_PUBLIC_INPUTS);
            assert_eq!(s.notes.size(), 6 * (round + 1));

            // reordering or omitting a payment changes the hash
            let mut w2 = w.clone();
            w2.payments.swap(0, 1);
            assert!(check_batch(&public, &w2).is_err());
            let mut p2 = public;
            p2.batch_hash = batch_hash(w.note_start, w.nullifier_start, &ps[..2]);
            assert!(check_batch(&p2, &w).is_err());
            // wrong append position
            let mut w3 = w.clone();
            w3.transitions[0].appends[0].position += 1;
            assert!(check_batch(&public, &w3).is_err());
            // wrong low leaf
            let mut w4 = w.clone();
            w4.transitions[1].insertions[0]
                .non_membership
                .low_leaf
                .next_index += 1;
            assert!(check_batch(&public, &w4).is_err());
        }
    }

    #[test]
    fn double_spends_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let mut s = RollupState::new(3).unwrap();
        let p = random_payment(&mut rng, s.notes.root());
        // same nullifier twice inside one payment
        let mut same = p.clone();
        same.nullifiers[1] = same.nullifiers[0];
        assert!(s.apply_batch(&[same]).is_err());
        // same nullifier in two payments of one batch
        let mut q = random_payment(&mut rng, s.notes.root());
        q.nullifiers[1] = p.nullifiers[0];
        let root_before = s.notes.root();
        assert!(s.apply_batch(&[p.clone(), q]).is_err());
        assert_eq!(s.notes.root(), root_before, "failed batch changed nothing");
        // across batches
        s.apply_batch(std::slice::from_ref(&p)).unwrap();
        let mut r = random_payment(&mut rng, s.notes.root());
        r.nullifiers[0] = p.nullifiers[1];
        assert!(s.apply_batch(&[r]).is_err());
    }
}
