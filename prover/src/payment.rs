//! Proving payments.

use crate::keys::{CircuitKeys, KeyStore, SetupMode};
use crate::ProverError;
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use zkpay_circuits::payment::PaymentCircuit;
use zkpay_protocol::payment::{PaymentPublic, PaymentWitness, PAYMENT_PUBLIC_INPUTS};
use zkpay_verifier::{KeyId, Proof};

/// Name of the payment circuit in key files.
pub const PAYMENT_CIRCUIT: &str = "payment";

/// Proves payments for one tree depth.
#[derive(Clone)]
pub struct PaymentProver {
    keys: CircuitKeys,
    depth: usize,
}

impl PaymentProver {
    /// Loads or creates the payment keys for `depth` in `store`.
    pub fn new(
        store: &KeyStore,
        depth: usize,
        mode: SetupMode,
        pinned: Option<KeyId>,
    ) -> Result<Self, ProverError> {
        let keys = store.load_or_create(
            &format!("{PAYMENT_CIRCUIT}-d{depth}"),
            PaymentCircuit::blank(depth),
            PAYMENT_PUBLIC_INPUTS,
            mode,
            pinned,
        )?;
        Ok(Self { keys, depth })
    }

    /// A prover over keys loaded elsewhere (a ceremony's, see [`crate::params`]), which the
    /// caller has matched to the payment circuit of `depth`.
    pub fn from_keys(keys: CircuitKeys, depth: usize) -> Self {
        Self { keys, depth }
    }

    /// Loads the payment keys for `depth` from a ceremony's parameters directory, checked
    /// against its manifest.
    pub fn from_params(params: &crate::Params, depth: usize) -> Result<Self, ProverError> {
        let keys = params.keys(
            &format!("{PAYMENT_CIRCUIT}-d{depth}"),
            PaymentCircuit::blank(depth),
            PAYMENT_PUBLIC_INPUTS,
        )?;
        Ok(Self { keys, depth })
    }

    /// Keys in use.
    pub fn keys(&self) -> &CircuitKeys {
        &self.keys
    }

    /// Tree depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Checks the statement natively (a clear error instead of a failing proof), then proves.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &PaymentWitness,
        rng: &mut R,
    ) -> Result<(Proof, PaymentPublic), ProverError> {
        let (circuit, public) = PaymentCircuit::new(witness, self.depth)?;
        let proof = self.keys.prove(circuit, rng)?;
        Ok((proof, public))
    }

    /// Proves independent payments in parallel (rayon), each with its own OS randomness.
    pub fn prove_many(
        &self,
        witnesses: &[PaymentWitness],
    ) -> Vec<Result<(Proof, PaymentPublic), ProverError>> {
        witnesses
            .par_iter()
            .map(|w| self.prove(w, &mut rand::rngs::OsRng))
            .collect()
    }
}
