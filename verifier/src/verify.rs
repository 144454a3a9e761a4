//! Single and batch Groth16 verification with a prepared key.
//!
//! Batch verification of n proofs under one key checks, for random 128-bit `ρ_i`,
//!
//! ```text
//! Π e(ρ_i A_i, B_i) · e(−Σρ_i IC_i, γ) · e(−Σρ_i C_i, δ) · e(−(Σρ_i) α, β) = 1
//! ```
//!
//! with one multi-Miller loop of n + 3 pairs and one final exponentiation. `Σρ_i IC_i` is one MSM
//! of size k + 1 over combined scalars. If the batch fails, each proof is verified on its own (in
//! parallel) and the failing indices are reported.

use crate::keys::{KeyId, VerifyingKeyInfo};
use crate::{Curve, Proof, VerifierError, F};
use ark_bn254::{G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;

/// A verifier for one statement: a sanity-checked, prepared verifying key.
#[derive(Clone)]
pub struct Verifier {
    info: VerifyingKeyInfo,
    pvk: PreparedVerifyingKey<Curve>,
    beta_prepared: <Curve as Pairing>::G2Prepared,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Verifier(id={}, inputs={})",
            self.info.id, self.info.inputs
        )
    }
}

impl Verifier {
    /// Prepares a key that passed [`VerifyingKeyInfo::check`].
    pub fn new(info: VerifyingKeyInfo) -> Self {
        let pvk = ark_groth16::prepare_verifying_key(&info.vk);
        let beta_prepared = info.vk.beta_g2.into();
        Self {
            info,
            pvk,
            beta_prepared,
        }
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.info.id
    }

    /// The key and its metadata.
    pub fn info(&self) -> &VerifyingKeyInfo {
        &self.info
    }

    /// Number of public inputs.
    pub fn inputs(&self) -> usize {
        self.info.inputs
    }

    fn check_count(&self, inputs: &[F]) -> Result<(), VerifierError> {
        if inputs.len() != self.info.inputs || inputs.len() + 1 != self.pvk.vk.gamma_abc_g1.len() {
            return Err(VerifierError::InputCount {
                expected: self.info.inputs,
                got: inputs.len(),
            });
        }
        Ok(())
    }

    /// Verifies one proof. The input count is checked before any pairing.
    pub fn verify(&self, proof: &Proof, inputs: &[F]) -> Result<(), VerifierError> {
        self.check_count(inputs)?;
        // Σ x_j IC_{j+1} as one MSM (ark-groth16 does k separate scalar multiplications).
        let ic = &self.pvk.vk.gamma_abc_g1;
        let prepared =
            G1Projective::msm(&ic[1..], inputs).map_err(|_| VerifierError::InvalidProof)? + ic[0];
        match Groth16::<Curve>::verify_proof_with_prepared_inputs(&self.pvk, proof, &prepared) {
            Ok(true) => Ok(()),
            _ => Err(VerifierError::InvalidProof),
        }
    }

    /// Batch verification by random linear combination; on failure names the bad proofs.
    pub fn verify_batch<R: RngCore + CryptoRng>(
        &self,
        items: &[(Proof, Vec<F>)],
        rng: &mut R,
    ) -> Result<(), VerifierError> {
        for (_, inputs) in items {
            self.check_count(inputs)?;
        }
        match items.len() {
            0 => return Ok(()),
            1 => {
                return self
                    .verify(&items[0].0, &items[0].1)
                    .map_err(|_| VerifierError::BadProofs(vec![0]))
            }
            _ => {}
        }
        if self.batch_equation_holds(items, rng) {
            return Ok(());
        }
        let bad: Vec<usize> = items
            .par_iter()
            .enumerate()
            .filter(|(_, (p, x))| self.verify(p, x).is_err())
            .map(|(i, _)| i)
            .collect();
        // If every proof verifies alone the combination failed by chance (probability 2^-128);
        // report the whole batch rather than accept it unchecked.
        if bad.is_empty() {
            return Err(VerifierError::BadProofs((0..items.len()).collect()));
        }
        Err(VerifierError::BadProofs(bad))
    }

    fn batch_equation_holds<R: RngCore + CryptoRng>(
        &self,
        items: &[(Proof, Vec<F>)],
        rng: &mut R,
    ) -> bool {
        let n = items.len();
        let k = self.info.inputs;
        let rhos: Vec<F> = (0..n)
            .map(|_| {
                let mut b = [0u8; 16];
                rng.fill_bytes(&mut b);
                F::from(u128::from_le_bytes(b) | 1)
            })
            .collect();
        // Σρ_i, and the combined input scalars Σ_i ρ_i x_ij
        let rho_sum: F = rhos.iter().sum();
        let mut ic_scalars = vec![F::zero(); k + 1];
        ic_scalars[0] = rho_sum;
        for (rho, (_, x)) in rhos.iter().zip(items) {
            for (j, xj) in x.iter().enumerate() {
                ic_scalars[j + 1] += *rho * xj;
            }
        }
        let ic = G1Projective::msm(&self.pvk.vk.gamma_abc_g1, &ic_scalars);
        let cs: Vec<G1Affine> = items.iter().map(|(p, _)| p.c).collect();
        let c = G1Projective::msm(&cs, &rhos);
        let (ic, c) = match (ic, c) {
            (Ok(ic), Ok(c)) => (ic, c),
            _ => return false,
        };
        let scaled_a: Vec<G1Affine> = {
            let proj: Vec<G1Projective> = items
                .par_iter()
                .zip(&rhos)
                .map(|((p, _), rho)| p.a.mul_bigint(rho.into_bigint()))
                .collect();
            G1Projective::normalize_batch(&proj)
        };
        let alpha = (self.pvk.vk.alpha_g1 * rho_sum).into_affine();
        let mut g1: Vec<<Curve as Pairing>::G1Prepared> =
            scaled_a.into_iter().map(Into::into).collect();
        let mut g2: Vec<<Curve as Pairing>::G2Prepared> = items
            .par_iter()
            .map(|(p, _)| <G2Affine as Into<<Curve as Pairing>::G2Prepared>>::into(p.b))
            .collect();
        g1.push(ic.into_affine().into());
        g2.push(self.pvk.gamma_g2_neg_pc.clone());
        g1.push(c.into_affine().into());
        g2.push(self.pvk.delta_g2_neg_pc.clone());
        g1.push((-alpha).into());
        g2.push(self.beta_prepared.clone());
        let ml = Curve::multi_miller_loop(g1, g2);
        Curve::final_exponentiation(ml).is_some_and(|o: PairingOutput<Curve>| o.is_zero())
    }
}
