//! Node ingest in-process (no HTTP): checks, proof verification and the synced mempool write per
//! payment. `zkpay-bench node` measures the same over loopback HTTP with concurrency.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};
use zkpay_bench::ingest::fixtures;
use zkpay_ledger::PaymentSubmission;
use zkpay_sequencer::{Node, NodeConfig, Profile};

fn ingest(c: &mut Criterion) {
    let data = tempfile::tempdir().expect("dir");
    let (bodies, _) = fixtures(data.path(), Profile::Test, 200).expect("fixtures");
    let payments: Vec<PaymentSubmission> = bodies
        .iter()
        .map(|b| serde_json::from_slice(b).expect("fixture"))
        .collect();
    let mut g = c.benchmark_group("node-ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    g.bench_function("submit-durable", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                // a fresh node for every pool of distinct payments (not timed)
                let dir = tempfile::tempdir().expect("dir");
                std::os::unix::fs::symlink(data.path().join("keys"), dir.path().join("keys"))
                    .expect("link");
                let node = Node::open(NodeConfig::new(dir.path().to_path_buf(), Profile::Test))
                    .expect("node");
                let n = left.min(payments.len());
                let t = Instant::now();
                for p in &payments[..n] {
                    node.submit(p.clone()).expect("accepted");
                }
                total += t.elapsed();
                left -= n;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
