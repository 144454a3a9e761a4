//! Batch proving figures: chunk constraints, setup, parallel proving throughput.

use anyhow::Result;
use ark_ff::UniformRand;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::note::{AssetId, Commitment, Nullifier, Root};
use zkpay_protocol::payment::PaymentPublic;
use zkpay_prover::{BatchProver, KeyStore, SetupMode};
use zkpay_verifier::F;

/// Random payment public data (the batch circuit does not look inside payment proofs).
pub fn random_payments(n: usize, seed: u64) -> Vec<PaymentPublic> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| PaymentPublic {
            note_root: Root(F::rand(&mut rng)),
            nullifiers: [Nullifier(F::rand(&mut rng)), Nullifier(F::rand(&mut rng))],
            commitments: [Commitment(F::rand(&mut rng)), Commitment(F::rand(&mut rng))],
            asset: AssetId(F::from(1u64)),
            public_value: 0,
            fee: 1,
            ext_data_hash: F::rand(&mut rng),
            invoice_tag: F::from(0u64),
        })
        .collect()
}

/// One batch measurement.
#[derive(Debug, Serialize)]
pub struct BatchPoint {
    /// Payments in the batch.
    pub size: usize,
    /// Chunks proven (in parallel).
    pub chunks: usize,
    /// Wall time to prove all chunks (s).
    pub prove_wall_seconds: f64,
    /// Payments per second.
    pub payments_per_second: f64,
    /// Rayon threads.
    pub threads: usize,
    /// Peak resident memory while proving the batch (keys loaded), bytes; `None` where the
    /// peak cannot be reset (not Linux).
    pub peak_rss_bytes: Option<u64>,
}

/// Figures of `zkpay-bench batch`.
#[derive(Debug, Serialize)]
pub struct BatchReport {
    /// Tree depth.
    pub tree_depth: usize,
    /// Slots per chunk.
    pub chunk_slots: usize,
    /// Constraints of one chunk.
    pub constraints_per_chunk: usize,
    /// Constraints per payment slot.
    pub constraints_per_payment: usize,
    /// Setup wall time (s); `None` when the key came from the cache.
    pub setup_seconds: Option<f64>,
    /// Measurements.
    pub points: Vec<BatchPoint>,
}

/// Proves batches of each size in `sizes` with chunks of `slots`, with `threads` rayon threads
/// (0 = all cores).
pub fn batch_report(
    data_dir: &Path,
    depth: usize,
    slots: usize,
    sizes: &[usize],
    threads: &[usize],
) -> Result<BatchReport> {
    let params = ChunkParams::new(depth, slots)?;
    let (constraints, _) = zkpay_circuits::batch::shape(params)?;
    let t = Instant::now();
    let prover = BatchProver::new(
        &KeyStore::new(data_dir),
        params,
        SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )?;
    let setup = t.elapsed().as_secs_f64();
    let mut points = Vec::new();
    for &n in sizes {
        let mut state = RollupState::new(params)?;
        let chunks = state.apply_batch(&random_payments(n, n as u64))?;
        for &th in threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(th).build()?;
            let measured_rss = crate::memory::reset_peak();
            let (wall, used) = pool.install(|| -> Result<(f64, usize)> {
                let t = Instant::now();
                prover.prove_batch(&chunks)?;
                Ok((t.elapsed().as_secs_f64(), rayon::current_num_threads()))
            })?;
            points.push(BatchPoint {
                size: n,
                chunks: chunks.len(),
                prove_wall_seconds: wall,
                payments_per_second: n as f64 / wall,
                threads: used,
                peak_rss_bytes: measured_rss.then(crate::memory::own_peak_rss),
            });
        }
    }
    Ok(BatchReport {
        tree_depth: depth,
        chunk_slots: slots,
        constraints_per_chunk: constraints,
        constraints_per_payment: constraints / slots,
        setup_seconds: (!prover.keys().from_cache).then_some(setup),
        points,
    })
}
