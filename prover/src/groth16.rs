//! The Groth16 prover on cached matrices: the same proof as ark-groth16's
//! `create_proof_with_reduction_and_matrices`, with zkpay's MSM ([`crate::msm`]) and the work
//! arranged for two or more cores.
//!
//! With z the assignment after the leading 1, h the reduction's quotient evaluations and r, s
//! the prover's randomness:
//!
//! - A = α + A₀ + Σ zᵢ·Aᵢ + r·δ (G1)
//! - B = β + B₀ + Σ zᵢ·Bᵢ + s·δ (G2), and the same in G1 for C
//! - C = s·A + r·B_G1 − r·s·δ + Σ wᵢ·Lᵢ + Σ hᵢ·Hᵢ (w: the witness part of z)
//!
//! z is cut into digits once and shared by A, B (both groups) and L; L and H are one MSM with
//! one set of buckets. The G2 MSM of B, the largest, starts first (started last, it left the
//! other thread idle at the end: a payment proof took 3 % longer); the quotient's FFTs run
//! while the MSMs do, and rayon spreads the MSMs' windows over the threads.

use crate::msm::{images, msm, Digits, Part};
use crate::qap::Quotient;
use ark_bn254::{Bn254, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_groth16::{Proof, ProvingKey};
use ark_relations::gr1cs::{Matrix, SynthesisError};
use zeroize::{Zeroize, Zeroizing};
use zkpay_verifier::F;

/// A query without its first point (the constant's, added apart).
fn tail<T>(q: &[T]) -> &[T] {
    q.get(1..).unwrap_or(&[])
}

/// The images under the endomorphism ([`images`]) of a proving key's queries, as the MSMs
/// read them (A and B without their first point): made once per key, they save one field
/// multiplication per point and window of every GLV MSM, for as much memory again as the
/// queries.
pub struct Images {
    a: Vec<ark_bn254::G1Affine>,
    b1: Vec<ark_bn254::G1Affine>,
    b2: Vec<ark_bn254::G2Affine>,
    l: Vec<ark_bn254::G1Affine>,
    h: Vec<ark_bn254::G1Affine>,
}

impl Images {
    /// The images of `pk`'s queries.
    pub fn new(pk: &ProvingKey<Bn254>) -> Self {
        Images {
            a: images(tail(&pk.a_query)),
            b1: images(tail(&pk.b_g1_query)),
            b2: images(tail(&pk.b_g2_query)),
            l: images(&pk.l_query),
            h: images(&pk.h_query),
        }
    }
}

/// A Groth16 proof of the assignment `full` (`[1, public inputs..., witnesses...]`) with
/// randomness `r`, `s`, under the reduction `Q` and the circuit's `matrices`; with the
/// `images` of `pk`'s queries when given (images of another key give a proof that does not
/// verify; images of the wrong length are not used).
#[allow(clippy::too_many_arguments)]
pub fn create_proof<Q: Quotient>(
    pk: &ProvingKey<Bn254>,
    images: Option<&Images>,
    mut r: F,
    mut s: F,
    matrices: &[Matrix<F>],
    num_inputs: usize,
    num_constraints: usize,
    full: &[F],
) -> Result<Proof<Bn254>, SynthesisError> {
    // One scalar per variable of the key (the A query has one point per variable).
    if num_inputs == 0 || full.len() < num_inputs || full.len() != pk.a_query.len() {
        return Err(SynthesisError::AssignmentMissing);
    }
    let z = &full[1..];
    let c = Digits::window_for(z.len().max(num_constraints + num_inputs));
    let zd = Digits::glv(z, c);
    let zd = &zd;
    let query = |q, image: fn(&Images) -> &[ark_bn254::G1Affine]| Part {
        bases: tail(q),
        images: images.map(image),
        digits: zd,
        start: 0,
    };
    let lh_branch = || -> Result<G1Projective, SynthesisError> {
        let h = Zeroizing::new(Q::quotient(matrices, num_inputs, num_constraints, full)?);
        let hd = Digits::glv(&h, c);
        drop(h);
        Ok(msm(&[
            Part {
                bases: &pk.l_query,
                images: images.map(|i| &i.l[..]),
                digits: zd,
                start: num_inputs - 1,
            },
            Part {
                bases: &pk.h_query,
                images: images.map(|i| &i.h[..]),
                digits: &hd,
                start: 0,
            },
        ]))
    };
    let b2_msm = || {
        msm::<ark_bn254::g2::Config>(&[Part {
            bases: tail(&pk.b_g2_query),
            images: images.map(|i| &i.b2[..]),
            digits: zd,
            start: 0,
        }])
    };
    // The G2 MSM, the largest, starts first; the quotient's FFTs and then L and H, A and B in
    // G1 are left for the other threads to take.
    let (b2, (lh, (a, b1))) = rayon::join(b2_msm, || {
        rayon::join(lh_branch, || {
            rayon::join(
                || msm(&[query(&pk.a_query, |i| &i.a)]),
                || msm(&[query(&pk.b_g1_query, |i| &i.b1)]),
            )
        })
    });
    let lh = lh?;
    let first = |q: &[ark_bn254::G1Affine]| q.first().copied().unwrap_or_default();
    let delta = pk.delta_g1;
    let g_a: G1Projective = a + first(&pk.a_query) + pk.vk.alpha_g1 + delta * r;
    let g1_b: G1Projective = b1 + first(&pk.b_g1_query) + pk.beta_g1 + delta * s;
    let g2_b: G2Projective = b2
        + pk.b_g2_query.first().copied().unwrap_or_default()
        + pk.vk.beta_g2
        + pk.vk.delta_g2 * s;
    let mut rs = r * s;
    let g_c = g_a * s + g1_b * r - delta * rs + lh;
    // this frame's copies of the randomness (the caller wipes its own)
    rs.zeroize();
    r.zeroize();
    s.zeroize();
    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qap::{CircomReduction, LibsnarkReduction};
    use ark_ff::UniformRand;
    use ark_groth16::Groth16;
    use ark_relations::gr1cs::{
        ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisMode, Variable,
        R1CS_PREDICATE_LABEL,
    };
    use ark_relations::lc;
    use ark_snark::SNARK;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// x³ + x + 5 = y, with y public, plus `extra` squarings of x to give the MSMs some size.
    #[derive(Clone)]
    struct Cubic {
        x: F,
        extra: usize,
    }

    impl ConstraintSynthesizer<F> for Cubic {
        fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
            let x = self.x;
            let y_val = x * x * x + x + F::from(5u64);
            let y = cs.new_input_variable(|| Ok(y_val))?;
            let xv = cs.new_witness_variable(|| Ok(x))?;
            let x2 = cs.new_witness_variable(|| Ok(x * x))?;
            let x3 = cs.new_witness_variable(|| Ok(x * x * x))?;
            cs.enforce_r1cs_constraint(|| lc!() + xv, || lc!() + xv, || lc!() + x2)?;
            cs.enforce_r1cs_constraint(|| lc!() + x2, || lc!() + xv, || lc!() + x3)?;
            cs.enforce_r1cs_constraint(
                || lc!() + x3 + xv + (F::from(5u64), Variable::One),
                || lc!() + Variable::One,
                || lc!() + y,
            )?;
            let mut prev = (xv, x);
            for _ in 0..self.extra {
                let v = prev.1 * prev.1;
                let next = cs.new_witness_variable(|| Ok(v))?;
                cs.enforce_r1cs_constraint(|| lc!() + prev.0, || lc!() + prev.0, || lc!() + next)?;
                prev = (next, v);
            }
            Ok(())
        }
    }

    fn shape(c: Cubic) -> (Vec<Matrix<F>>, usize, usize, Vec<F>) {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        });
        c.generate_constraints(cs.clone()).unwrap();
        cs.finalize();
        let m = cs
            .to_matrices()
            .unwrap()
            .remove(R1CS_PREDICATE_LABEL)
            .unwrap();
        let b = cs.borrow().unwrap();
        let full = [
            b.instance_assignment().unwrap(),
            b.witness_assignment().unwrap(),
        ]
        .concat();
        (m, cs.num_instance_variables(), cs.num_constraints(), full)
    }

    fn same_as_arkworks<Q: Quotient>(extra: usize) {
        let mut rng = ChaCha20Rng::seed_from_u64(extra as u64);
        let circuit = Cubic {
            x: F::rand(&mut rng),
            extra,
        };
        let (pk, vk) =
            Groth16::<Bn254, Q>::circuit_specific_setup(circuit.clone(), &mut rng).unwrap();
        let (m, n, c, full) = shape(circuit);
        let (r, s) = (F::rand(&mut rng), F::rand(&mut rng));
        let want = Groth16::<Bn254, Q>::create_proof_with_reduction_and_matrices(
            &pk, r, s, &m, n, c, &full,
        )
        .unwrap();
        let got = create_proof::<Q>(&pk, None, r, s, &m, n, c, &full).unwrap();
        assert_eq!(got, want, "extra = {extra}");
        // with the key's images: the same proof
        let images = Images::new(&pk);
        let with = create_proof::<Q>(&pk, Some(&images), r, s, &m, n, c, &full).unwrap();
        assert_eq!(with, want, "images, extra = {extra}");
        assert!(Groth16::<Bn254, Q>::verify(&vk, &full[1..n], &got).unwrap());
        // A witness that does not satisfy the circuit gives a proof that does not verify.
        let mut bad = full.clone();
        bad[n] += F::from(1u64);
        let forged = create_proof::<Q>(&pk, None, r, s, &m, n, c, &bad).unwrap();
        assert!(!Groth16::<Bn254, Q>::verify(&vk, &full[1..n], &forged).unwrap());
        let forged = create_proof::<Q>(&pk, Some(&images), r, s, &m, n, c, &bad).unwrap();
        assert!(!Groth16::<Bn254, Q>::verify(&vk, &full[1..n], &forged).unwrap());
        // another key's images: a proof that does not verify
        let other = Groth16::<Bn254, Q>::circuit_specific_setup(
            Cubic {
                x: F::from(2u64),
                extra,
            },
            &mut rng,
        )
        .unwrap()
        .0;
        let wrong =
            create_proof::<Q>(&pk, Some(&Images::new(&other)), r, s, &m, n, c, &full).unwrap();
        assert!(!Groth16::<Bn254, Q>::verify(&vk, &full[1..n], &wrong).unwrap());
    }

    #[test]
    fn the_same_proof_as_arkworks_under_both_reductions() {
        for extra in [0, 100, 3000] {
            same_as_arkworks::<LibsnarkReduction>(extra);
            same_as_arkworks::<CircomReduction>(extra);
        }
    }

    #[test]
    fn an_assignment_that_does_not_fit_the_key_is_an_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let circuit = Cubic {
            x: F::from(3u64),
            extra: 0,
        };
        let (pk, _) =
            Groth16::<Bn254, LibsnarkReduction>::circuit_specific_setup(circuit.clone(), &mut rng)
                .unwrap();
        let (m, n, c, full) = shape(circuit);
        let one = F::from(1u64);
        let prove = |pk: &ProvingKey<Bn254>, n, full: &[F]| {
            create_proof::<LibsnarkReduction>(pk, None, one, one, &m, n, c, full)
        };
        assert!(prove(&pk, n, &full).is_ok());
        assert!(prove(&pk, n, &[]).is_err());
        assert!(prove(&pk, 0, &full).is_err());
        assert!(prove(&pk, full.len() + 1, &full).is_err());
        // a key whose A query does not have one point per variable
        let mut short = pk.clone();
        short.a_query.pop();
        assert!(prove(&short, n, &full).is_err());
    }
}
