//! Poseidon gadget: circomlib parameters, capacity = domain tag, output `state[0]`.
//! Twin of `zkpay_protocol::poseidon`.
//!
//! S-boxes (`x^5`: 3 constraints) and the linear layers are written by hand; additions and the
//! MDS multiplication are linear combinations and cost nothing. The capacity element is the
//! constant domain tag, so the first round's S-box on it is free too. Costs: 1 input 213,
//! 2 inputs 240, 3 inputs 261, 4 inputs 297 constraints.

use crate::F;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::SynthesisError;
use light_poseidon::PoseidonParameters;
use std::sync::OnceLock;
use zkpay_protocol::poseidon::{parameters, Domain};

/// Highest number of inputs supported by the circomlib parameters used here.
pub const MAX_INPUTS: usize = 12;

fn params(n_inputs: usize) -> Result<&'static PoseidonParameters<F>, SynthesisError> {
    static CACHE: OnceLock<Vec<Option<PoseidonParameters<F>>>> = OnceLock::new();
    let all = CACHE.get_or_init(|| (0..=MAX_INPUTS).map(|n| parameters(n).ok()).collect());
    all.get(n_inputs)
        .and_then(|p| p.as_ref())
        .ok_or(SynthesisError::Unsatisfiable)
}

fn sbox(x: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// `H_domain(inputs)` in-circuit.
pub fn hash(domain: Domain, inputs: &[FpVar<F>]) -> Result<FpVar<F>, SynthesisError> {
    if let Some(a) = domain.arity() {
        if a != inputs.len() {
            return Err(SynthesisError::Unsatisfiable);
        }
    }
    let p = params(inputs.len())?;
    let width = p.width;
    let mut state: Vec<FpVar<F>> = Vec::with_capacity(width);
    state.push(FpVar::constant(domain.tag()));
    state.extend(inputs.iter().cloned());
    let half = p.full_rounds / 2;
    let rounds = p.full_rounds + p.partial_rounds;
    for round in 0..rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s = &*s + p.ark[round * width + i];
        }
        if round < half || round >= half + p.partial_rounds {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = (0..width)
            .map(|i| {
                state
                    .iter()
                    .zip(&p.mds[i])
                    .fold(FpVar::zero(), |acc, (s, m)| acc + s * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{cs, edge_values};
    use ark_ff::UniformRand;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use zkpay_protocol::poseidon as native;

    fn check(domain: Domain, xs: &[F]) -> usize {
        let cs = cs();
        let vars: Vec<FpVar<F>> = xs
            .iter()
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
            .collect();
        let before = cs.num_constraints();
        let h = hash(domain, &vars).unwrap();
        assert_eq!(h.value().unwrap(), native::try_hash(domain, xs).unwrap());
        assert!(cs.is_satisfied().unwrap());
        cs.num_constraints() - before
    }

    /// Pinned constraint counts: a change fails until the pin is updated on purpose.
    #[test]
    fn pinned_costs() {
        assert_eq!(check(Domain::SpendAuth, &[F::from(3u64)]), 213);
        assert_eq!(
            check(Domain::OwnerKey, &[F::from(1u64), F::from(2u64)]),
            240
        );
        assert_eq!(check(Domain::Nullifier, &[F::from(1u64); 3]), 261);
        assert_eq!(check(Domain::NoteCommitment, &[F::from(1u64); 4]), 297);
        assert_eq!(check(Domain::NullifierLeaf, &[F::from(1u64); 5]), 321);
        assert_eq!(check(Domain::InvoiceTag, &[F::from(1u64); 4]), 297);
        assert_eq!(check(Domain::InvoiceKey, &[F::from(1u64); 2]), 240);
    }

    #[test]
    fn circomlib_vector_in_circuit() {
        let cs = cs();
        let a = FpVar::new_witness(cs.clone(), || Ok(F::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(F::from(2u64))).unwrap();
        let h = hash(Domain::Circom, &[a, b]).unwrap();
        assert_eq!(
            h.value().unwrap(),
            zkpay_protocol::poseidon::circom(&[F::from(1u64), F::from(2u64)]).unwrap()
        );
    }

    #[test]
    fn edge_values_all_domains() {
        for d in Domain::ALL {
            let n = d.arity().unwrap_or(2);
            for e in edge_values() {
                check(d, &vec![e; n]);
            }
        }
    }

    #[test]
    fn wrong_output_is_unsatisfied() {
        let cs = cs();
        let a = FpVar::new_witness(cs.clone(), || Ok(F::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(F::from(2u64))).unwrap();
        let h = hash(Domain::OwnerKey, &[a, b]).unwrap();
        let claimed = FpVar::new_input(cs.clone(), || Ok(F::from(5u64))).unwrap();
        use ark_r1cs_std::eq::EqGadget;
        h.enforce_equal(&claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn differential(seed in any::<u64>(), d in 0usize..Domain::ALL.len()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let domain = Domain::ALL[d];
            let n = domain.arity().unwrap_or(1 + (seed % 12) as usize);
            let xs: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            check(domain, &xs);
        }
    }
}
