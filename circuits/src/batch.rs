//! The batch (chunk) circuit. Twin of `zkpay_protocol::batch`.
//!
//! Enforces exactly `check_chunk`: over `C` payment slots (enabled slots first, then empty
//! ones), the `2C` nullifiers are inserted into the indexed nullifier tree — each one's low leaf
//! is either in the tree (membership under the current root, updated in place) or an earlier new
//! leaf of the chunk (*pending*, updated in-circuit) — then the `2C` new leaves are written as one
//! aligned subtree; the `2C` commitments are appended as one aligned subtree of the note tree.
//!
//! Public inputs (one encoder: `BatchPublic::public_inputs`): old note root, old nullifier root,
//! new note root, new nullifier root, note start, nullifier start, then each slot's two
//! nullifiers and two commitments. A disabled slot's four values must be 0; an enabled slot's
//! nullifiers are above the sentinel 0, so a slot that carries a payment is always inserted.

use crate::merkle::{subtree_root, PathVar};
use crate::nullifier_tree::{canonical_limbs, is_zero, leaf_hash, less_than_limbs};
use crate::{CircuitError, F};
use ark_ff::Field;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zkpay_protocol::batch::{
    batch_public_input_count, check_chunk, BatchPublic, ChunkParams, ChunkWitness,
    BATCH_FIXED_INPUTS,
};
use zkpay_protocol::merkle::{empty_roots, MerklePath};
use zkpay_protocol::nullifier_tree::limbs;
use zkpay_protocol::poseidon::Domain;

/// Low-leaf assignment of one nullifier slot.
#[derive(Clone, Debug)]
pub struct LowAssignment {
    /// Low leaf value.
    pub value: F,
    /// Low leaf next index.
    pub next_index: F,
    /// Low leaf next value.
    pub next_value: F,
    /// Index of the pending new leaf serving as low leaf, if any.
    pub pending: Option<usize>,
    /// Path of the low leaf in the tree (ignored when pending or disabled).
    pub path: MerklePath,
}

/// One payment slot.
#[derive(Clone, Debug)]
pub struct SlotAssignment {
    /// Whether the slot holds a payment.
    pub enabled: bool,
    /// Low leaves of its two nullifiers.
    pub lows: [LowAssignment; 2],
}

/// The chunk circuit with its assignment.
#[derive(Clone, Debug)]
pub struct BatchCircuit {
    /// Shape.
    pub params: ChunkParams,
    /// Public inputs in encoder order (`6 + 4C`).
    pub public: Vec<F>,
    /// The `C` slots.
    pub slots: Vec<SlotAssignment>,
    /// Path of the note subtree root.
    pub note_subtree: MerklePath,
    /// Path of the nullifier subtree root.
    pub nullifier_subtree: MerklePath,
}

fn zero_path(levels: usize) -> MerklePath {
    MerklePath {
        position: 0,
        siblings: vec![[F::from(0u64); 3]; levels],
    }
}

fn empty_low(depth: usize) -> LowAssignment {
    LowAssignment {
        value: F::from(0u64),
        next_index: F::from(0u64),
        next_value: F::from(0u64),
        pending: None,
        path: zero_path(depth),
    }
}

impl BatchCircuit {
    /// A circuit of the right shape with an all-zero assignment (for setup and counting).
    pub fn blank(params: ChunkParams) -> Self {
        let slot = SlotAssignment {
            enabled: false,
            lows: [empty_low(params.depth), empty_low(params.depth)],
        };
        Self {
            params,
            public: vec![F::from(0u64); batch_public_input_count(params.slots)],
            slots: vec![slot; params.slots],
            note_subtree: zero_path(params.depth - params.height()),
            nullifier_subtree: zero_path(params.depth - params.height()),
        }
    }

    /// The circuit for a chunk without checking it (tests build tampered circuits with this).
    pub fn new_unchecked(public: &BatchPublic, w: &ChunkWitness) -> Result<Self, CircuitError> {
        let params = w.params;
        if w.payments.len() > params.slots || w.nullifiers.lows.len() != params.leaves() {
            return Err(CircuitError::Shape(
                "chunk witness does not fit the parameters".into(),
            ));
        }
        let levels = params.depth - params.height();
        if w.notes.path.depth() != levels || w.nullifiers.subtree.path.depth() != levels {
            return Err(CircuitError::Shape("subtree path depth".into()));
        }
        let mut slots = Vec::with_capacity(params.slots);
        for s in 0..params.slots {
            let low = |j: usize| -> Result<LowAssignment, CircuitError> {
                Ok(match &w.nullifiers.lows[2 * s + j] {
                    Some(l) => {
                        if l.low_path.depth() != params.depth {
                            return Err(CircuitError::Shape("low-leaf path depth".into()));
                        }
                        LowAssignment {
                            value: l.low_leaf.value,
                            next_index: F::from(l.low_leaf.next_index),
                            next_value: l.low_leaf.next_value,
                            pending: l.pending,
                            path: l.low_path.clone(),
                        }
                    }
                    None => empty_low(params.depth),
                })
            };
            slots.push(SlotAssignment {
                enabled: s < w.payments.len(),
                lows: [low(0)?, low(1)?],
            });
        }
        Ok(Self {
            params,
            public: public
                .public_inputs(params.slots, &w.payments)
                .map_err(|e| CircuitError::Shape(e.to_string()))?,
            slots,
            note_subtree: w.notes.path.clone(),
            nullifier_subtree: w.nullifiers.subtree.path.clone(),
        })
    }

    /// Checks the chunk natively first, then builds the circuit.
    pub fn new(public: &BatchPublic, w: &ChunkWitness) -> Result<Self, CircuitError> {
        check_chunk(public, w)?;
        Self::new_unchecked(public, w)
    }
}

/// `cond ? a : b`.
fn select(cond: &Boolean<F>, a: &FpVar<F>, b: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
    FpVar::conditionally_select(cond, a, b)
}

impl ConstraintSynthesizer<F> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
        let params = self.params;
        if self.public.len() != batch_public_input_count(params.slots)
            || self.slots.len() != params.slots
        {
            return Err(SynthesisError::Unsatisfiable);
        }
        let pubs: Vec<FpVar<F>> = self
            .public
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<_, _>>()?;
        let (old_note_root, old_nf_root, new_note_root, new_nf_root, note_start, nf_start) =
            (&pubs[0], &pubs[1], &pubs[2], &pubs[3], &pubs[4], &pubs[5]);
        let two128 = F::from(2u64).pow([128]);

        let leaves = params.leaves();
        // New nullifier leaves (hi, lo, next_index, next_hi, next_lo) and their slot flags.
        let mut new_leaves: Vec<[FpVar<F>; 5]> = Vec::with_capacity(leaves);
        let mut leaf_enabled: Vec<FpVar<F>> = Vec::with_capacity(leaves);
        let mut cm_leaves: Vec<FpVar<F>> = Vec::with_capacity(leaves);
        let mut cur_nf_root = old_nf_root.clone();
        let mut prev_enabled = Boolean::TRUE;

        for (s, slot) in self.slots.iter().enumerate() {
            let e = Boolean::new_witness(cs.clone(), || Ok(slot.enabled))?;
            // enabled slots come first: e_s <= e_{s-1}
            FpVar::from(e.clone()).mul_equals(
                &(FpVar::one() - FpVar::from(prev_enabled.clone())),
                &FpVar::zero(),
            )?;
            prev_enabled = e.clone();
            let ef = FpVar::from(e.clone());
            // this slot's nf0, nf1, cm0, cm1: all 0 when the slot is disabled
            let p = &pubs[BATCH_FIXED_INPUTS + 4 * s..BATCH_FIXED_INPUTS + 4 * s + 4];
            let off = FpVar::one() - &ef;
            for x in p {
                x.mul_equals(&off, &FpVar::zero())?;
            }

            for (j, low) in slot.lows.iter().enumerate() {
                let k = 2 * s + j;
                let nf = &p[j];
                let new_index = nf_start + F::from(k as u64);
                let (nh, nl) = canonical_limbs(cs.clone(), nf)?;
                let (lvh_v, lvl_v) = limbs(&low.value);
                let (lnh_v, lnl_v) = limbs(&low.next_value);
                let lvh = FpVar::new_witness(cs.clone(), || Ok(lvh_v))?;
                let lvl = FpVar::new_witness(cs.clone(), || Ok(lvl_v))?;
                let lni = FpVar::new_witness(cs.clone(), || Ok(low.next_index))?;
                let lnh = FpVar::new_witness(cs.clone(), || Ok(lnh_v))?;
                let lnl = FpVar::new_witness(cs.clone(), || Ok(lnl_v))?;

                // low.value < nf, and (nf < low.next_value or low.next_value = 0), when enabled
                let c1 = less_than_limbs(cs.clone(), (&lvh, &lvl), (&nh, &nl))?;
                (c1 - FpVar::one()).mul_equals(&ef, &FpVar::zero())?;
                let c2 = less_than_limbs(cs.clone(), (&nh, &nl), (&lnh, &lnl))?;
                let z = is_zero(cs.clone(), &(&lnh * two128 + &lnl))?;
                (c2 + z - FpVar::one()).mul_equals(&ef, &FpVar::zero())?;

                // pending low leaf: one-hot over the earlier new leaves of this chunk
                let mut pend = FpVar::zero();
                for (i, leaf) in new_leaves.iter_mut().enumerate() {
                    let si = Boolean::new_witness(cs.clone(), || Ok(low.pending == Some(i)))?;
                    let sf = FpVar::from(si.clone());
                    for (have, want) in leaf.iter().zip([&lvh, &lvl, &lni, &lnh, &lnl]) {
                        (have - want).mul_equals(&sf, &FpVar::zero())?;
                    }
                    leaf[2] = select(&si, &new_index, &leaf[2])?;
                    leaf[3] = select(&si, &nh, &leaf[3])?;
                    leaf[4] = select(&si, &nl, &leaf[4])?;
                    pend += sf;
                }
                // at most one, and only for an enabled slot
                pend.mul_equals(&(FpVar::one() - &pend), &FpVar::zero())?;
                pend.mul_equals(&(FpVar::one() - &ef), &FpVar::zero())?;

                // low leaf in the tree: membership under the current root, updated in place
                let active = &ef * (FpVar::one() - &pend);
                let path = PathVar::new_witness(cs.clone(), &low.path, params.depth)
                    .map_err(|_| SynthesisError::Unsatisfiable)?;
                let old_leaf = leaf_hash(&[
                    lvh.clone(),
                    lvl.clone(),
                    lni.clone(),
                    lnh.clone(),
                    lnl.clone(),
                ])?;
                let upd_leaf = leaf_hash(&[lvh, lvl, new_index.clone(), nh.clone(), nl.clone()])?;
                let (r_old, r_new) =
                    path.roots_pair(Domain::NullifierTreeNode, &old_leaf, &upd_leaf)?;
                (&r_old - &cur_nf_root).mul_equals(&active, &FpVar::zero())?;
                cur_nf_root = &cur_nf_root + &active * (r_new - &cur_nf_root);

                new_leaves.push([nh, nl, lni, lnh, lnl]);
                leaf_enabled.push(ef.clone());
                // 0 in a disabled slot (enforced above)
                cm_leaves.push(p[2 + j].clone());
            }
        }

        let h = params.height();
        let levels = params.depth - h;
        let empty = FpVar::constant(empty_roots(Domain::NoteTreeNode, h)[h]);
        let empty_nf = FpVar::constant(empty_roots(Domain::NullifierTreeNode, h)[h]);
        let block = F::from(leaves as u64);

        // nullifier subtree
        let nf_hashes: Vec<FpVar<F>> = new_leaves
            .iter()
            .zip(&leaf_enabled)
            .map(|(l, e)| Ok(e * leaf_hash(l)?))
            .collect::<Result<_, SynthesisError>>()?;
        let nf_sub = subtree_root(Domain::NullifierTreeNode, &nf_hashes)?;
        let nf_path = PathVar::new_witness(cs.clone(), &self.nullifier_subtree, levels)
            .map_err(|_| SynthesisError::Unsatisfiable)?;
        (nf_path.position() * block).enforce_equal(nf_start)?;
        let (r_old, r_new) = nf_path.roots_pair(Domain::NullifierTreeNode, &empty_nf, &nf_sub)?;
        r_old.enforce_equal(&cur_nf_root)?;
        r_new.enforce_equal(new_nf_root)?;

        // note subtree
        let note_sub = subtree_root(Domain::NoteTreeNode, &cm_leaves)?;
        let note_path = PathVar::new_witness(cs.clone(), &self.note_subtree, levels)
            .map_err(|_| SynthesisError::Unsatisfiable)?;
        (note_path.position() * block).enforce_equal(note_start)?;
        let (r_old, r_new) = note_path.roots_pair(Domain::NoteTreeNode, &empty, &note_sub)?;
        r_old.enforce_equal(old_note_root)?;
        r_new.enforce_equal(new_note_root)?;
        Ok(())
    }
}

/// Constraints and public inputs of the chunk circuit for `params`.
pub fn shape(params: ChunkParams) -> Result<(usize, usize), SynthesisError> {
    crate::shape_of(BatchCircuit::blank(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::cs;
    use ark_ff::{One, UniformRand};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkpay_protocol::batch::RollupState;
    use zkpay_protocol::field::fe_cmp;
    use zkpay_protocol::note::{AssetId, Commitment, Nullifier, Root};
    use zkpay_protocol::payment::PaymentPublic;

    fn payment(rng: &mut ChaCha20Rng) -> PaymentPublic {
        PaymentPublic {
            note_root: Root(F::rand(rng)),
            nullifiers: [Nullifier(F::rand(rng)), Nullifier(F::rand(rng))],
            commitments: [Commitment(F::rand(rng)), Commitment(F::rand(rng))],
            asset: AssetId(F::from(3u64)),
            public_value: -5,
            fee: 1,
            ext_data_hash: F::rand(rng),
            invoice_tag: F::rand(rng),
        }
    }

    fn satisfied(c: BatchCircuit) -> bool {
        let cs = cs();
        c.generate_constraints(cs.clone()).unwrap();
        cs.is_satisfied().unwrap()
    }

    fn state(depth: usize, slots: usize) -> RollupState {
        RollupState::new(ChunkParams::new(depth, slots).unwrap()).unwrap()
    }

    #[test]
    fn honest_chunks_satisfy_in_sequence() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut s = state(4, 2);
        for n in [2usize, 1, 0, 2] {
            let ps: Vec<_> = (0..n).map(|_| payment(&mut rng)).collect();
            let (public, w) = s.apply_chunk(&ps).unwrap();
            assert!(
                satisfied(BatchCircuit::new(&public, &w).unwrap()),
                "{n} payments"
            );
        }
    }

    #[test]
    fn pending_low_leaves_satisfy() {
        // sorted nullifiers inside one chunk: each one's low leaf is the previous new leaf
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut s = state(4, 8);
        let mut ps: Vec<_> = (0..8).map(|_| payment(&mut rng)).collect();
        let mut nfs: Vec<F> = ps
            .iter()
            .flat_map(|p| [p.nullifiers[0].0, p.nullifiers[1].0])
            .collect();
        nfs.sort_by(fe_cmp);
        for (i, p) in ps.iter_mut().enumerate() {
            p.nullifiers = [Nullifier(nfs[2 * i]), Nullifier(nfs[2 * i + 1])];
        }
        let (public, w) = s.apply_chunk(&ps).unwrap();
        assert!(
            w.nullifiers
                .lows
                .iter()
                .flatten()
                .filter(|l| l.pending.is_some())
                .count()
                >= 10
        );
        assert!(satisfied(BatchCircuit::new(&public, &w).unwrap()));
        // and a second chunk whose low leaves are the first chunk's leaves
        let ps2: Vec<_> = (0..5).map(|_| payment(&mut rng)).collect();
        let (public, w) = s.apply_chunk(&ps2).unwrap();
        assert!(satisfied(BatchCircuit::new(&public, &w).unwrap()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]
        /// The circuit accepts exactly what the native application produces.
        #[test]
        fn agrees_with_native(seed in any::<u64>(), n in 0usize..=2, m in 0usize..=2) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let mut s = state(3, 2);
            for count in [n, m] {
                let ps: Vec<_> = (0..count).map(|_| payment(&mut rng)).collect();
                let (public, w) = s.apply_chunk(&ps).unwrap();
                prop_assert!(satisfied(BatchCircuit::new(&public, &w).unwrap()));
                // any other claimed new root is refused
                let mut p2 = public;
                p2.new_note_root = Root(p2.new_note_root.0 + F::one());
                prop_assert!(!satisfied(BatchCircuit::new_unchecked(&p2, &w).unwrap()));
                let mut p3 = public;
                p3.new_nullifier_root = Root(p3.new_nullifier_root.0 + F::one());
                prop_assert!(!satisfied(BatchCircuit::new_unchecked(&p3, &w).unwrap()));
            }
        }
    }

    #[test]
    fn same_nullifier_twice_in_one_chunk() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let s = state(4, 2);
        let p = payment(&mut rng);
        let q = payment(&mut rng);
        // native refuses it
        let mut dup = q.clone();
        dup.nullifiers[1] = p.nullifiers[0];
        assert!(s.clone().apply_chunk(&[p.clone(), dup.clone()]).is_err());
        // honest witness for (p, q), then q's nullifier replaced by p's: no assignment fits
        let (public, w) = s.clone().apply_chunk(&[p.clone(), q]).unwrap();
        let mut c = BatchCircuit::new_unchecked(&public, &w).unwrap();
        c.public = public.public_inputs(2, &[p.clone(), dup.clone()]).unwrap();
        assert!(!satisfied(c.clone()));
        // even claiming the earlier new leaf as pending low leaf does not help
        let mut c2 = c;
        c2.slots[1].lows[1].pending = Some(0);
        c2.slots[1].lows[1].value = p.nullifiers[0].0;
        assert!(!satisfied(c2));
    }

    #[test]
    fn nullifier_already_in_the_tree() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut s = state(4, 2);
        let p = payment(&mut rng);
        s.apply_chunk(std::slice::from_ref(&p)).unwrap();
        let r = payment(&mut rng);
        let (public, w) = s.clone().apply_chunk(std::slice::from_ref(&r)).unwrap();
        let mut spent = r.clone();
        spent.nullifiers[0] = p.nullifiers[1];
        assert!(s.clone().apply_chunk(std::slice::from_ref(&spent)).is_err());
        let mut c = BatchCircuit::new_unchecked(&public, &w).unwrap();
        c.public = public
            .public_inputs(2, std::slice::from_ref(&spent))
            .unwrap();
        assert!(!satisfied(c.clone()));
        // using the spent value's own leaf as low leaf fails too
        let leaf = s.nullifiers.leaf(s.nullifiers.size() - 3).unwrap().unwrap();
        assert_eq!(leaf.value, p.nullifiers[1].0);
        c.slots[0].lows[0].value = leaf.value;
        c.slots[0].lows[0].next_index = F::from(leaf.next_index);
        c.slots[0].lows[0].next_value = leaf.next_value;
        assert!(!satisfied(c));
    }

    #[test]
    fn wrong_low_leaf_or_path() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let mut s = state(4, 2);
        s.apply_chunk(&[payment(&mut rng)]).unwrap();
        let (public, w) = s
            .apply_chunk(&[payment(&mut rng), payment(&mut rng)])
            .unwrap();
        let honest = BatchCircuit::new(&public, &w).unwrap();
        assert!(satisfied(honest.clone()));
        let mut c = honest.clone();
        c.slots[0].lows[0].next_index += F::one();
        assert!(!satisfied(c));
        let mut c = honest.clone();
        c.slots[1].lows[0].path.siblings[0].swap(0, 1);
        if c.slots[1].lows[0].path.siblings[0][0] != c.slots[1].lows[0].path.siblings[0][1] {
            assert!(!satisfied(c));
        }
        let mut c = honest.clone();
        c.slots[0].lows[1].path.position ^= 1;
        assert!(!satisfied(c));
        // claiming a pending low leaf that is not the right one
        let mut c = honest;
        c.slots[1].lows[1].pending = Some(0);
        assert!(!satisfied(c));
    }

    #[test]
    fn wrong_append_position() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let mut s = state(4, 2);
        s.apply_chunk(&[payment(&mut rng)]).unwrap();
        let ps = [payment(&mut rng)];
        let (mut public, w) = s.apply_chunk(&ps).unwrap();
        // claim the note subtree goes to the next block: the public start moves, the slot does not
        public.note_start += 4;
        let mut c = BatchCircuit::new_unchecked(&public, &w).unwrap();
        assert!(!satisfied(c.clone()));
        // also moving the path there: the slot is not where the old root says
        c.note_subtree.position += 1;
        assert!(!satisfied(c));
    }

    #[test]
    fn public_slots_must_be_exactly_the_payments_in_order() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let s = state(4, 2);
        let ps = [payment(&mut rng), payment(&mut rng)];
        let (public, w) = s.clone().apply_chunk(&ps).unwrap();
        let honest = BatchCircuit::new_unchecked(&public, &w).unwrap();
        assert!(satisfied(honest.clone()));
        // omitting a payment from the public slots (its nullifiers would not be spent)
        let mut c = honest.clone();
        c.public = public.public_inputs(2, &ps[..1]).unwrap();
        assert!(!satisfied(c));
        // reordering
        let mut c = honest.clone();
        c.public = public
            .public_inputs(2, &[ps[1].clone(), ps[0].clone()])
            .unwrap();
        assert!(!satisfied(c));
        // any one public slot value changed
        for k in BATCH_FIXED_INPUTS..batch_public_input_count(2) {
            let mut c = honest.clone();
            c.public[k] += F::one();
            assert!(!satisfied(c), "slot input {k}");
        }
        // another nullifier start
        let mut c = honest.clone();
        c.public[5] += F::from(4u64);
        assert!(!satisfied(c));
        // disabling a slot that holds a payment (its nullifiers would stay unspent)
        let mut c = honest.clone();
        c.slots[1].enabled = false;
        assert!(!satisfied(c));
        // a payment in a slot the witness marks empty, all of the witness's own making
        let (public1, w1) = s.clone().apply_chunk(&ps[..1]).unwrap();
        let mut c = BatchCircuit::new_unchecked(&public1, &w1).unwrap();
        assert!(satisfied(c.clone()));
        c.public = public1.public_inputs(2, &ps).unwrap();
        assert!(!satisfied(c));
        // an empty slot before a full one
        let (public1, w1) = s.clone().apply_chunk(&ps[..1]).unwrap();
        let mut c = BatchCircuit::new_unchecked(&public1, &w1).unwrap();
        c.slots.swap(0, 1);
        assert!(!satisfied(c));
    }

    /// Pinned constraint counts.
    #[test]
    fn pinned_counts() {
        assert_eq!(
            shape(ChunkParams::new(4, 2).unwrap()).unwrap(),
            (22_066, batch_public_input_count(2))
        );
        assert_eq!(
            shape(ChunkParams::new(16, 8).unwrap()).unwrap(),
            (208_682, batch_public_input_count(8))
        );
    }
}
