//! The payment statement at production depth (2^32 leaves): synthesis, proving, verification,
//! and batch verification by batch size.

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkpay_bench::proving::{dev_prover, transfer_witness};
use zkpay_circuits::payment::PaymentCircuit;
use zkpay_protocol::merkle::FULL_DEPTH;
use zkpay_verifier::{Proof, F};

fn payment(c: &mut Criterion) {
    let (_dir, prover) = dev_prover(FULL_DEPTH).expect("keys");
    let w = transfer_witness(FULL_DEPTH, 1).expect("witness");
    let mut g = c.benchmark_group("payment-depth16");
    g.sample_size(10);
    g.bench_function("synthesis", |b| {
        b.iter(|| {
            let (circuit, _) = PaymentCircuit::new(&w, FULL_DEPTH).expect("circuit");
            let cs = ConstraintSystem::<F>::new_ref();
            circuit.generate_constraints(cs.clone()).expect("synthesis");
            cs.num_constraints()
        })
    });
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    g.bench_function("prove", |b| {
        b.iter(|| prover.prove(&w, &mut rng).expect("prove"))
    });
    let (proof, public) = prover.prove(&w, &mut rng).expect("prove");
    let inputs = public.public_inputs();
    let verifier = &prover.keys().verifier;
    g.sample_size(50);
    g.bench_function("verify", |b| {
        b.iter(|| verifier.verify(&proof, &inputs).expect("verify"))
    });
    g.finish();

    let mut g = c.benchmark_group("batch-verify");
    g.sample_size(10);
    let vk = &prover.keys().pk.vk;
    for n in [1usize, 8, 32, 64] {
        let items: Vec<(Proof, Vec<F>)> = (0..n)
            .map(|_| {
                (
                    Groth16::<Bn254>::rerandomize_proof(vk, &proof, &mut rng),
                    inputs.clone(),
                )
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &items, |b, items| {
            b.iter(|| {
                verifier
                    .verify_batch(items, &mut rand::rngs::OsRng)
                    .expect("batch")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, payment);
criterion_main!(benches);
