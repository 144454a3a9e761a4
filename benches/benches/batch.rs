//! Batch proving by batch size and chunk size. Criterion runs these at depth 8 (2^16 leaves) to
//! stay within minutes; `zkpay-bench batch` and `zkpay-bench report` measure production depth.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkpay_bench::batching::random_payments;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_prover::{BatchProver, KeyStore, SetupMode};

fn batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch-prove-depth8");
    g.sample_size(10);
    for slots in [2usize, 8] {
        let params = ChunkParams { depth: 8, slots };
        let dir = tempfile::tempdir().expect("dir");
        let prover = BatchProver::new(
            &KeyStore::new(dir.path()),
            params,
            SetupMode::InsecureDevelopment { seed: 0 },
            None,
        )
        .expect("keys");
        for n in [slots, 2 * slots, 4 * slots] {
            let mut state = RollupState::new(params).expect("state");
            let chunks = state
                .apply_batch(&random_payments(n, n as u64))
                .expect("apply");
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(
                BenchmarkId::new(format!("chunk{slots}"), n),
                &chunks,
                |b, chunks| b.iter(|| prover.prove_batch(chunks).expect("prove")),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
