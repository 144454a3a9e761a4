//! Proving batches: a batch is split into chunks of `C` slots, proven in parallel (rayon).

use crate::keys::{CircuitKeys, KeyStore, SetupMode};
use crate::ProverError;
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use zkpay_circuits::batch::BatchCircuit;
use zkpay_protocol::batch::{batch_public_input_count, BatchPublic, ChunkParams, ChunkWitness};
use zkpay_verifier::{KeyId, Proof};

/// Name of the batch circuit in key files.
pub const BATCH_CIRCUIT: &str = "batch";

/// Proves chunks of one shape.
#[derive(Clone)]
pub struct BatchProver {
    keys: CircuitKeys,
    params: ChunkParams,
}

impl BatchProver {
    /// Loads or creates the chunk keys for `params` in `store`.
    pub fn new(
        store: &KeyStore,
        params: ChunkParams,
        mode: SetupMode,
        pinned: Option<KeyId>,
    ) -> Result<Self, ProverError> {
        let keys = store.load_or_create(
            &format!("{BATCH_CIRCUIT}-d{}-c{}", params.depth, params.slots),
            BatchCircuit::blank(params),
            batch_public_input_count(params.slots),
            mode,
            pinned,
        )?;
        Ok(Self { keys, params })
    }

    /// A prover over keys loaded elsewhere (a ceremony's, see [`crate::params`]), which the
    /// caller has matched to the chunk circuit of `params`.
    pub fn from_keys(keys: CircuitKeys, params: ChunkParams) -> Self {
        Self { keys, params }
    }

    /// Loads the chunk keys for `params` from a ceremony's parameters directory, checked
    /// against its manifest.
    pub fn from_params(dir: &crate::Params, params: ChunkParams) -> Result<Self, ProverError> {
        let keys = dir.keys(
            &format!("{BATCH_CIRCUIT}-d{}-c{}", params.depth, params.slots),
            BatchCircuit::blank(params),
            batch_public_input_count(params.slots),
        )?;
        Ok(Self { keys, params })
    }

    /// Keys in use.
    pub fn keys(&self) -> &CircuitKeys {
        &self.keys
    }

    /// Shape.
    pub fn params(&self) -> ChunkParams {
        self.params
    }

    /// Checks the chunk natively, then proves it.
    pub fn prove_chunk<R: RngCore + CryptoRng>(
        &self,
        public: &BatchPublic,
        witness: &ChunkWitness,
        rng: &mut R,
    ) -> Result<Proof, ProverError> {
        if witness.params != self.params {
            return Err(ProverError::Circuit(zkpay_circuits::CircuitError::Shape(
                "chunk parameters differ from the prover's".into(),
            )));
        }
        let circuit = BatchCircuit::new(public, witness)?;
        self.keys.prove(circuit, rng)
    }

    /// Proves every chunk of a batch in parallel; proofs in chunk order.
    pub fn prove_batch(
        &self,
        chunks: &[(BatchPublic, ChunkWitness)],
    ) -> Result<Vec<Proof>, ProverError> {
        Ok(self
            .prove_batch_timed(chunks)?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }

    /// As [`BatchProver::prove_batch`], with the wall time each chunk's proof took.
    ///
    /// At most as many chunks are in flight as the pool has threads. A plain `par_iter` over
    /// the chunks would start them all at once (each MSM's join lets an idle thread steal the
    /// next chunk), multiplying the witness, FFT and matrix memory: 8.2 GiB peak for a
    /// 64-payment batch at depth 16. Keys from a loader come with their matrices; keys made
    /// without them (in tests) prove their first chunk alone, which builds the matrices that
    /// every later chunk reuses.
    pub fn prove_batch_timed(
        &self,
        chunks: &[(BatchPublic, ChunkWitness)],
    ) -> Result<Vec<(Proof, std::time::Duration)>, ProverError> {
        let one = |(p, w): &(BatchPublic, ChunkWitness)| {
            let started = std::time::Instant::now();
            let proof = self.prove_chunk(p, w, &mut rand::rngs::OsRng)?;
            Ok((proof, started.elapsed()))
        };
        let mut out = Vec::with_capacity(chunks.len());
        let mut rest = chunks;
        if !self.keys.matrices.is_cached() {
            if let Some((first, tail)) = rest.split_first() {
                out.push(one(first)?);
                rest = tail;
            }
        }
        let width = rayon::current_num_threads().max(1);
        for group in rest.chunks(width) {
            let proofs: Vec<_> = group
                .par_iter()
                .map(one)
                .collect::<Result<_, ProverError>>()?;
            out.extend(proofs);
        }
        Ok(out)
    }
}
