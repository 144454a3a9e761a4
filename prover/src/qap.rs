//! The two R1CS-to-QAP reductions zkpay proves with.
//!
//! A Groth16 key fixes how the prover turns the R1CS into a quotient polynomial h, through its
//! H query:
//!
//! - **libsnark** (arkworks' default, [`LibsnarkReduction`]): H_i = τ^i·Z(τ)/δ, h evaluated
//!   on a coset of the domain by the generator `F::GENERATOR`. The development keys use it.
//! - **circom** ([`CircomReduction`]): H_i = L^{2n}_{2i+1}(τ)/δ, the Lagrange basis of the
//!   domain of size 2n at its odd points, and the prover hands over the evaluations of
//!   a·b − c (not of h) at those points, ζ·ω^i with ζ a primitive 2n-th root of unity. Because
//!   a·b − c has degree at most 2n − 2, its value at τ is exactly Σ_i (a·b − c)(ζω^i)·L^{2n}_{2i+1}(τ),
//!   and it equals h(τ)·Z(τ) when the constraints hold. This is the reduction of snarkjs's
//!   `.zkey` files, which a powers-of-tau ceremony produces: keys from zkpay's ceremony
//!   (`zkpay-setup`) use it.
//!
//! Both reductions append, as arkworks and snarkjs do, one constraint `x_s · 0 = 0` per public
//! input (and the constant 1) to the A matrix, so that the IC points are linearly independent.

use crate::fft::Domain;
use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, FftField, Field, PrimeField};
pub use ark_groth16::r1cs_to_qap::LibsnarkReduction;
use ark_groth16::r1cs_to_qap::{evaluate_constraint, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, Matrix, SynthesisError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Which reduction a proving key was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// arkworks' default (development keys).
    Libsnark,
    /// snarkjs's (keys from a ceremony in the `.zkey` format).
    Circom,
}

/// The R1CS-to-QAP reduction of circom and snarkjs (see the module documentation).
pub struct CircomReduction;

impl R1CSToQAP for CircomReduction {
    #[allow(clippy::type_complexity)]
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        // The A, B, C and IC queries are the same as libsnark's; only H differs.
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        if matrices.len() < 2 {
            return Err(SynthesisError::Unsatisfiable);
        }
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let mut a = vec![F::zero(); n];
        let mut b = vec![F::zero(); n];
        a[..num_constraints]
            .par_iter_mut()
            .zip(&mut b[..num_constraints])
            .zip(&matrices[0])
            .zip(&matrices[1])
            .for_each(|(((a, b), at), bt)| {
                *a = evaluate_constraint(at, full_assignment);
                *b = evaluate_constraint(bt, full_assignment);
            });
        a[num_constraints..num_constraints + num_inputs]
            .clone_from_slice(&full_assignment[..num_inputs]);
        // c = a·b on the domain: the public-input rows have b = 0, and the R1CS rows hold.
        let mut c: Vec<F> = a.par_iter().zip(&b).map(|(x, y)| *x * y).collect();
        let zeta = D::new(2 * n)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?
            .element(1);
        // evaluations on the domain -> evaluations at ζ·ω^i
        let to_odd = |v: &mut Vec<F>| {
            domain.ifft_in_place(v);
            D::distribute_powers_and_mul_by_const(v, zeta, F::one());
            domain.fft_in_place(v);
        };
        to_odd(&mut a);
        to_odd(&mut b);
        to_odd(&mut c);
        a.par_iter_mut()
            .zip(&b)
            .zip(&c)
            .for_each(|((a, b), c)| *a = *a * b - c);
        // B·z and C·z are functions of the witness
        b.zeroize();
        c.zeroize();
        Ok(a)
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _zt: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        // arkworks passes n − 1; the Lagrange basis of the domain of size 2n at τ is the
        // inverse FFT of τ^0 .. τ^(2n−1); keep the odd points.
        let size = 2 * (max_power + 1);
        let domain = D::new(size).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let mut powers = Vec::with_capacity(size);
        let mut p = delta_inverse;
        for _ in 0..size {
            powers.push(p);
            p *= t;
        }
        domain.ifft_in_place(&mut powers);
        Ok(powers.into_iter().skip(1).step_by(2).collect())
    }
}

/// The quotient step of a reduction on zkpay's FFTs ([`crate::fft`]): the same vector as the
/// reduction's `witness_map_from_matrices` (ark-poly's FFTs), at about half the FFT cost.
pub trait Quotient: R1CSToQAP {
    /// The scalars of the H query for the assignment `full` (`[1, public inputs...,
    /// witnesses...]`); the caller wipes them (the working vectors are wiped here).
    fn quotient(
        matrices: &[Matrix<Fr>],
        num_inputs: usize,
        num_constraints: usize,
        full: &[Fr],
    ) -> Result<Vec<Fr>, SynthesisError>;
}

/// A circuit's domain, and A·z and B·z on it.
type DomainAndAb = (std::sync::Arc<Domain>, Vec<Fr>, Vec<Fr>);

/// The domain of a circuit and its A·z and B·z on it (the public-input rows of A hold the
/// inputs, as both reductions append them).
fn domain_and_ab(
    matrices: &[Matrix<Fr>],
    num_inputs: usize,
    num_constraints: usize,
    full: &[Fr],
) -> Result<DomainAndAb, SynthesisError> {
    if matrices.len() < 3
        || matrices.iter().any(|m| m.len() < num_constraints)
        || full.len() < num_inputs
    {
        return Err(SynthesisError::Unsatisfiable);
    }
    let domain = Domain::new(num_constraints + num_inputs)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    let n = domain.size();
    let mut a = vec![Fr::ZERO; n];
    let mut b = vec![Fr::ZERO; n];
    a[..num_constraints]
        .par_iter_mut()
        .zip(&mut b[..num_constraints])
        .zip(&matrices[0])
        .zip(&matrices[1])
        .for_each(|(((a, b), at), bt)| {
            *a = evaluate_constraint(at, full);
            *b = evaluate_constraint(bt, full);
        });
    a[num_constraints..num_constraints + num_inputs].clone_from_slice(&full[..num_inputs]);
    Ok((domain, a, b))
}

impl Quotient for LibsnarkReduction {
    fn quotient(
        matrices: &[Matrix<Fr>],
        num_inputs: usize,
        num_constraints: usize,
        full: &[Fr],
    ) -> Result<Vec<Fr>, SynthesisError> {
        let (d, a, b) = domain_and_ab(matrices, num_inputs, num_constraints, full)?;
        // A·z, B·z and C·z are functions of the witness: wiped on every way out
        let (mut a, mut b) = (Zeroizing::new(a), Zeroizing::new(b));
        let n = d.size();
        let g = Fr::GENERATOR;
        // evaluations on the domain -> on the coset g·ω^i, the three at once
        let to_coset = |v: &mut Vec<Fr>| d.to_coset(v, g);
        let mut c = Zeroizing::new(vec![Fr::ZERO; n]);
        rayon::join(
            || rayon::join(|| to_coset(&mut a), || to_coset(&mut b)),
            || {
                c[..num_constraints]
                    .par_iter_mut()
                    .zip(&matrices[2])
                    .for_each(|(c, ct)| *c = evaluate_constraint(ct, full));
                to_coset(&mut c);
            },
        );
        // (a·b − c)/Z on the coset, Z(g·ω^i) = g^n − 1
        let z_inv = (g.pow([n as u64]) - Fr::ONE)
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        a.par_iter_mut()
            .zip(&b[..])
            .zip(&c[..])
            .for_each(|((a, b), c)| *a = (*a * b - c) * z_inv);
        d.coset_ifft(&mut a, g);
        Ok(std::mem::take(&mut *a))
    }
}

impl Quotient for CircomReduction {
    fn quotient(
        matrices: &[Matrix<Fr>],
        num_inputs: usize,
        num_constraints: usize,
        full: &[Fr],
    ) -> Result<Vec<Fr>, SynthesisError> {
        let (d, a, b) = domain_and_ab(matrices, num_inputs, num_constraints, full)?;
        // A·z, B·z and C·z are functions of the witness: wiped on every way out
        let (mut a, mut b) = (Zeroizing::new(a), Zeroizing::new(b));
        // c = a·b on the domain: the public-input rows have b = 0, and the R1CS rows hold
        let mut c: Zeroizing<Vec<Fr>> =
            Zeroizing::new(a.par_iter().zip(&b[..]).map(|(x, y)| *x * y).collect());
        // the generator of the domain of size 2n, as ark-poly's (its tables are not needed)
        let zeta = Fr::get_root_of_unity(2 * d.size() as u64)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        // evaluations on the domain -> evaluations at ζ·ω^i, the three at once
        let to_odd = |v: &mut Vec<Fr>| d.to_coset(v, zeta);
        rayon::join(
            || rayon::join(|| to_odd(&mut a), || to_odd(&mut b)),
            || to_odd(&mut c),
        );
        a.par_iter_mut()
            .zip(&b[..])
            .zip(&c[..])
            .for_each(|((a, b), c)| *a = *a * b - c);
        Ok(std::mem::take(&mut *a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_poly::GeneralEvaluationDomain;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// Random sparse rows over `vars` variables, with the edge coefficients 0, 1, r − 1 and
    /// 2^64 − 1 among them.
    fn matrix(rng: &mut ChaCha20Rng, rows: usize, vars: usize) -> Matrix<Fr> {
        let edges = [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::from(u64::MAX)];
        (0..rows)
            .map(|_| {
                (0..rng.gen_range(0..4))
                    .map(|_| {
                        let c = if rng.gen_bool(0.3) {
                            edges[rng.gen_range(0..4)]
                        } else {
                            Fr::rand(rng)
                        };
                        (c, rng.gen_range(0..vars))
                    })
                    .collect()
            })
            .collect()
    }

    fn same<Q: Quotient>(rng: &mut ChaCha20Rng, constraints: usize, inputs: usize, vars: usize) {
        let m: Vec<Matrix<Fr>> = (0..3).map(|_| matrix(rng, constraints, vars)).collect();
        let full: Vec<Fr> = std::iter::once(Fr::ONE)
            .chain((1..vars).map(|_| Fr::rand(rng)))
            .collect();
        let ours = Q::quotient(&m, inputs, constraints, &full).unwrap();
        let theirs = Q::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            &m,
            inputs,
            constraints,
            &full,
        )
        .unwrap();
        assert_eq!(ours, theirs, "{constraints} constraints, {inputs} inputs");
    }

    /// The same quotient as arkworks' `witness_map_from_matrices` under both reductions, for
    /// assignments that do not satisfy the rows (the general case) at sizes from one
    /// constraint to a domain with streaming FFT stages.
    #[test]
    fn the_same_quotient_as_arkworks() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for (constraints, inputs, vars) in [(1, 1, 2), (5, 2, 9), (300, 3, 400), (5000, 7, 6000)] {
            same::<LibsnarkReduction>(&mut rng, constraints, inputs, vars);
            same::<CircomReduction>(&mut rng, constraints, inputs, vars);
        }
    }

    /// Matrices missing, rows missing, or fewer values than inputs: an error, not a panic.
    #[test]
    fn a_shape_that_does_not_fit_is_an_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let m: Vec<Matrix<Fr>> = (0..3).map(|_| matrix(&mut rng, 10, 5)).collect();
        let full = vec![Fr::ONE; 5];
        assert!(LibsnarkReduction::quotient(&m, 2, 10, &full).is_ok());
        assert!(LibsnarkReduction::quotient(&m[..2], 2, 10, &full).is_err());
        assert!(CircomReduction::quotient(&m, 2, 11, &full).is_err());
        assert!(CircomReduction::quotient(&m, 6, 10, &full).is_err());
    }
}
