//! Payment proving and verification figures at production parameters (2^32 leaves).

use anyhow::{Context, Result};
use ark_bn254::Bn254;
use ark_groth16::Groth16;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::time::Instant;
use zkpay_protocol::address::Network;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::merkle::NoteTree;
use zkpay_protocol::note::{Asset, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentWitness, PublicAccount};
use zkpay_prover::{KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::{Proof, F};

/// Median of samples (seconds).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A transfer witness at `depth`: one real input (after `filler` other leaves), change, fee 1.
pub fn transfer_witness(depth: usize, seed: u64) -> Result<PaymentWitness> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng).full_viewing_key();
    let auth = alice.spend_authority();
    let asset = Asset::from_text("USD")?.id();
    let mut tree = NoteTree::new(depth)?;
    for i in 0..(seed % 7) {
        tree.append(F::from(i + 1))?;
    }
    let a = Note::new(asset, 70, auth.owner_key(), &mut rng);
    let pa = tree.append(a.commitment().0)?;
    let b = Note::new(asset, 30, auth.owner_key(), &mut rng);
    let pb = tree.append(b.commitment().0)?;
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
        public_account: None,
        ciphertexts: [vec![0; 635], vec![0; 635]],
    };
    Ok(PaymentWitness::build(
        &auth,
        asset,
        Root(tree.root()),
        depth,
        &[(a, tree.path(pa)?), (b, tree.path(pb)?)],
        &[
            Note::new(asset, 60, bob.pk, &mut rng),
            Note::new(asset, 39, auth.owner_key(), &mut rng),
        ],
        0,
        1,
        ext.hash(),
        &mut rng,
    )?)
}

/// A payment prover with fresh development keys in a temporary directory (kept alive by the
/// returned guard).
pub fn dev_prover(depth: usize) -> Result<(tempfile::TempDir, PaymentProver)> {
    let dir = tempfile::tempdir()?;
    let prover = PaymentProver::new(
        &KeyStore::new(dir.path()),
        depth,
        SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )?;
    Ok((dir, prover))
}

/// Figures of `zkpay-bench prove`.
#[derive(Debug, Serialize)]
pub struct ProveReport {
    /// Tree depth.
    pub tree_depth: usize,
    /// Constraints of the circuit.
    pub constraints: usize,
    /// Groth16 setup wall time (s), fresh.
    pub setup_seconds: f64,
    /// Median payment proof wall time (s), witness generation included.
    pub prove_median_seconds: f64,
    /// All samples (s).
    pub prove_samples_seconds: Vec<f64>,
    /// Median proof time on one thread (s).
    pub prove_median_seconds_1_thread: f64,
    /// Rayon threads.
    pub threads: usize,
    /// Peak resident memory while proving (keys loaded, 2 threads), bytes; `None` where the
    /// peak cannot be reset (not Linux).
    pub peak_rss_bytes: Option<u64>,
}

/// Measures setup and proving.
pub fn prove_report(depth: usize, samples: usize) -> Result<ProveReport> {
    let t = Instant::now();
    let (_dir, prover) = dev_prover(depth)?;
    let setup_seconds = t.elapsed().as_secs_f64();
    let witnesses: Vec<PaymentWitness> = (0..samples.max(1) + 1)
        .map(|i| transfer_witness(depth, i as u64))
        .collect::<Result<_>>()?;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    // the peak from here: the keys (resident already) plus proving, the first proof (which
    // builds the matrices) included
    let measured_rss = crate::memory::reset_peak();
    prover.prove(&witnesses[0], &mut rng)?; // warm-up
    let mut times = Vec::new();
    for w in &witnesses[1..] {
        let t = Instant::now();
        prover.prove(w, &mut rng)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let peak_rss_bytes = measured_rss.then(crate::memory::own_peak_rss);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut single: Vec<f64> = pool.install(|| -> Result<Vec<f64>> {
        let mut v = Vec::new();
        for w in witnesses.iter().skip(1).take(3) {
            let t = Instant::now();
            prover.prove(w, &mut ChaCha20Rng::seed_from_u64(1))?;
            v.push(t.elapsed().as_secs_f64());
        }
        Ok(v)
    })?;
    let samples_copy = times.clone();
    Ok(ProveReport {
        tree_depth: depth,
        constraints: zkpay_circuits::payment::shape(depth)?.0,
        setup_seconds,
        prove_median_seconds: median(&mut times),
        prove_samples_seconds: samples_copy,
        prove_median_seconds_1_thread: median(&mut single),
        threads: rayon::current_num_threads(),
        peak_rss_bytes,
    })
}

/// One batch-verification measurement.
#[derive(Debug, Serialize)]
pub struct BatchPoint {
    /// Proofs in the batch.
    pub batch_size: usize,
    /// Median wall time per proof, one thread (ms).
    pub ms_per_proof_1_thread: f64,
    /// Median wall time per proof, all threads (ms).
    pub ms_per_proof_all_threads: f64,
}

/// Figures of `zkpay-bench verify`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// Median single verification, prepared key, one thread (ms).
    pub single_verify_ms: f64,
    /// Batch verification per proof by batch size.
    pub batch: Vec<BatchPoint>,
    /// Rayon threads.
    pub threads: usize,
}

/// Measures verification at `depth` with proofs made by a development key.
pub fn verify_report(depth: usize, sizes: &[usize], reps: usize) -> Result<VerifyReport> {
    let (_dir, prover) = dev_prover(depth)?;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let base: Vec<(Proof, Vec<F>)> = (0..4u64)
        .map(|i| {
            let (p, public) = prover.prove(&transfer_witness(depth, i)?, &mut rng)?;
            Ok((p, public.public_inputs()))
        })
        .collect::<Result<_>>()?;
    let max = sizes.iter().copied().max().unwrap_or(1);
    let vk = &prover.keys().pk.vk;
    let items: Vec<(Proof, Vec<F>)> = (0..max)
        .map(|i| {
            let (p, x) = &base[i % base.len()];
            (
                Groth16::<Bn254>::rerandomize_proof(vk, p, &mut rng),
                x.clone(),
            )
        })
        .collect();
    let verifier = &prover.keys().verifier;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let single_verify_ms = one.install(|| -> Result<f64> {
        let mut v = Vec::new();
        for i in 0..reps.max(5) * 4 {
            let (p, x) = &items[i % items.len()];
            let t = Instant::now();
            verifier.verify(p, x).context("verify")?;
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&mut v))
    })?;
    let mut batch = Vec::new();
    for &n in sizes {
        let slice = &items[..n];
        let measure = || -> Result<f64> {
            let mut v = Vec::new();
            for _ in 0..reps.max(3) {
                let t = Instant::now();
                verifier
                    .verify_batch(slice, &mut rand::rngs::OsRng)
                    .context("batch verify")?;
                v.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
            }
            Ok(median(&mut v))
        };
        let all = measure()?;
        let single = one.install(measure)?;
        batch.push(BatchPoint {
            batch_size: n,
            ms_per_proof_1_thread: single,
            ms_per_proof_all_threads: all,
        });
    }
    Ok(VerifyReport {
        single_verify_ms,
        batch,
        threads: rayon::current_num_threads(),
    })
}
