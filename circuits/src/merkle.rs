//! Arity-4 Merkle path gadget. Twin of `zkpay_protocol::merkle`.
//!
//! Each level has two position bits `(b0, b1)` (the base-4 digit `b0 + 2 b1`, booleanity
//! enforced) and three siblings. The node is placed among its siblings with the one-hot
//! selectors `e3 = b0 b1`, `e1 = b0 - e3`, `e2 = b1 - e3`, `e0 = 1 - b0 - b1 + e3`:
//!
//! ```text
//! c0 = s0 + e0 (x - s0)
//! c1 = s1 + e0 (s0 - s1) + e1 (x - s1)
//! c2 = s1 + e2 (x - s1) + e3 (s2 - s1)
//! c3 = x + s0 + s1 + s2 - c0 - c1 - c2
//! ```
//!
//! 2 (bits) + 1 (e3) + 5 (products) = 8 constraints per level, plus one Poseidon of width 5
//! (297): 305 per level, 4,880 for depth 16 (2^32 leaves).

use crate::field::bits_to_fp;
use crate::poseidon::hash;
use crate::{CircuitError, F};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use zkpay_protocol::merkle::{digit, MerklePath};
use zkpay_protocol::poseidon::Domain;

/// An allocated authentication path.
#[derive(Clone)]
pub struct PathVar {
    /// Per level: the two bits of the position's base-4 digit, low bit first.
    pub digits: Vec<[Boolean<F>; 2]>,
    /// Per level: the three siblings in child order.
    pub siblings: Vec<[FpVar<F>; 3]>,
}

impl PathVar {
    /// Allocates `path` as a witness; its depth must be `depth`.
    pub fn new_witness(
        cs: ConstraintSystemRef<F>,
        path: &MerklePath,
        depth: usize,
    ) -> Result<Self, CircuitError> {
        if path.depth() != depth {
            return Err(CircuitError::Shape(format!(
                "path depth {} but the circuit has depth {depth}",
                path.depth()
            )));
        }
        let mut digits = Vec::with_capacity(depth);
        let mut siblings = Vec::with_capacity(depth);
        for level in 0..depth {
            let d = digit(path.position, level);
            digits.push([
                Boolean::new_witness(cs.clone(), || Ok(d & 1 == 1))?,
                Boolean::new_witness(cs.clone(), || Ok(d & 2 == 2))?,
            ]);
            let s = &path.siblings[level];
            siblings.push([
                FpVar::new_witness(cs.clone(), || Ok(s[0]))?,
                FpVar::new_witness(cs.clone(), || Ok(s[1]))?,
                FpVar::new_witness(cs.clone(), || Ok(s[2]))?,
            ]);
        }
        Ok(Self { digits, siblings })
    }

    /// Selectors and placement of one level (shared by [`Self::root`] and [`Self::roots_pair`]).
    fn level_children(
        d: &[Boolean<F>; 2],
        s: &[FpVar<F>; 3],
        xs: &[&FpVar<F>],
    ) -> Result<Vec<[FpVar<F>; 4]>, SynthesisError> {
        let b0 = FpVar::from(d[0].clone());
        let b1 = FpVar::from(d[1].clone());
        let e3 = &b0 * &b1;
        let e1 = &b0 - &e3;
        let e2 = &b1 - &e3;
        let e0 = FpVar::one() - &b0 - &b1 + &e3;
        Ok(xs
            .iter()
            .map(|x| {
                let x = *x;
                let c0 = &s[0] + &e0 * (x - &s[0]);
                let c1 = &s[1] + &e0 * (&s[0] - &s[1]) + &e1 * (x - &s[1]);
                let c2 = &s[1] + &e2 * (x - &s[1]) + &e3 * (&s[2] - &s[1]);
                let c3 = x + &s[0] + &s[1] + &s[2] - &c0 - &c1 - &c2;
                [c0, c1, c2, c3]
            })
            .collect())
    }

    /// Roots reached from `old` and from `new` at the same position with the same siblings (an
    /// in-place update): 2 + 1 + 2·5 constraints and two hashes per level.
    pub fn roots_pair(
        &self,
        domain: Domain,
        old: &FpVar<F>,
        new: &FpVar<F>,
    ) -> Result<(FpVar<F>, FpVar<F>), SynthesisError> {
        let mut a = old.clone();
        let mut b = new.clone();
        for (d, s) in self.digits.iter().zip(&self.siblings) {
            let ch = Self::level_children(d, s, &[&a, &b])?;
            a = hash(domain, &ch[0])?;
            b = hash(domain, &ch[1])?;
        }
        Ok((a, b))
    }

    /// The leaf position `Σ (b0 + 2 b1) 4^l` as a linear combination (no constraints).
    pub fn position(&self) -> FpVar<F> {
        let bits: Vec<Boolean<F>> = self.digits.iter().flat_map(|d| d.iter().cloned()).collect();
        bits_to_fp(&bits)
    }

    /// Root reached from `leaf`, hashing inner nodes with `domain`.
    pub fn root(&self, domain: Domain, leaf: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
        let mut x = leaf.clone();
        for (d, s) in self.digits.iter().zip(&self.siblings) {
            let ch = Self::level_children(d, s, &[&x])?;
            x = hash(domain, &ch[0])?;
        }
        Ok(x)
    }
}

/// Root of a full subtree over `leaves` (a power of 4 of them).
pub fn subtree_root(domain: Domain, leaves: &[FpVar<F>]) -> Result<FpVar<F>, SynthesisError> {
    let mut level: Vec<FpVar<F>> = leaves.to_vec();
    if level.is_empty()
        || !level.len().is_power_of_two()
        || !level.len().trailing_zeros().is_multiple_of(2)
    {
        return Err(SynthesisError::Unsatisfiable);
    }
    while level.len() > 1 {
        level = level
            .chunks(4)
            .map(|c| hash(domain, c))
            .collect::<Result<_, _>>()?;
    }
    Ok(level.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_ff::UniformRand;
    use ark_r1cs_std::eq::EqGadget;
    use ark_r1cs_std::GR1CSVar;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use zkpay_protocol::merkle::NoteTree;

    fn satisfied(path: &MerklePath, leaf: F, root: F) -> (bool, usize) {
        let cs = cs();
        let p = PathVar::new_witness(cs.clone(), path, path.depth()).unwrap();
        let l = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let r = FpVar::new_input(cs.clone(), || Ok(root)).unwrap();
        let computed = p.root(Domain::NoteTreeNode, &l).unwrap();
        computed.enforce_equal(&r).unwrap();
        let pos = p.position().value().unwrap();
        assert_eq!(pos, F::from(path.position));
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn pinned_cost_and_tampering() {
        let mut t = NoteTree::new(3).unwrap();
        for i in 0..50u64 {
            t.append(F::from(i + 7)).unwrap();
        }
        let root = t.root();
        for pos in [0u64, 1, 2, 3, 13, 42, 49] {
            let p = t.path(pos).unwrap();
            let leaf = F::from(pos + 7);
            let (ok, n) = satisfied(&p, leaf, root);
            assert!(ok);
            assert_eq!(n, 3 * 305 + 1);
            // flipped position bit
            let mut q = p.clone();
            q.position ^= 1;
            assert!(!satisfied(&q, leaf, root).0);
            let mut q = p.clone();
            q.position ^= 1 << 3;
            assert!(!satisfied(&q, leaf, root).0);
            // swapped siblings
            let mut q = p.clone();
            q.siblings[0].swap(0, 2);
            if q.siblings[0][0] != q.siblings[0][2] {
                assert!(!satisfied(&q, leaf, root).0);
            }
            // another leaf
            assert!(!satisfied(&p, leaf + F::from(1u64), root).0);
        }
    }

    #[test]
    fn full_depth_cost() {
        let t = NoteTree::new(16).unwrap();
        let p = t.path(0).unwrap();
        let (ok, n) = satisfied(&p, F::from(0u64), t.root());
        assert!(ok);
        assert_eq!(n, 16 * 305 + 1);
    }

    #[test]
    fn edge_leaf_values() {
        for e in edge_values() {
            let mut t = NoteTree::new(2).unwrap();
            t.append(F::from(1u64)).unwrap();
            t.append(e).unwrap();
            t.append(e).unwrap();
            let p = t.path(1).unwrap();
            assert!(satisfied(&p, e, t.root()).0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn differential(seed in any::<u64>(), n in 1u64..64) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let mut t = NoteTree::new(3).unwrap();
            let leaves: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            for l in &leaves { t.append(*l).unwrap(); }
            let pos = seed % n;
            let p = t.path(pos).unwrap();
            let cs = cs();
            let pv = PathVar::new_witness(cs.clone(), &p, 3).unwrap();
            let l = FpVar::new_witness(cs.clone(), || Ok(leaves[pos as usize])).unwrap();
            prop_assert_eq!(pv.root(Domain::NoteTreeNode, &l).unwrap().value().unwrap(), p.root(Domain::NoteTreeNode, leaves[pos as usize]));
            prop_assert_eq!(p.root(Domain::NoteTreeNode, leaves[pos as usize]), t.root());
        }
    }
}
