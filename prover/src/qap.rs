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

use ark_ff::PrimeField;
pub use ark_groth16::r1cs_to_qap::LibsnarkReduction;
use ark_groth16::r1cs_to_qap::{evaluate_constraint, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, Matrix, SynthesisError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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
