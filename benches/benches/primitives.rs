//! Poseidon and Merkle paths, native and in-circuit (constraint generation).

use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use zkpay_circuits::merkle::PathVar;
use zkpay_protocol::merkle::{verify_note_path, NoteTree, FULL_DEPTH};
use zkpay_protocol::poseidon::{hash, Domain};
use zkpay_protocol::F;

fn poseidon(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    for n in [1usize, 2, 4] {
        let xs: Vec<F> = (0..n as u64).map(F::from).collect();
        g.bench_function(format!("native/{n}-inputs"), |b| {
            b.iter(|| hash(Domain::Circom, black_box(&xs)))
        });
        g.bench_function(format!("circuit-synthesis/{n}-inputs"), |b| {
            b.iter(|| {
                let cs = ConstraintSystem::<F>::new_ref();
                let vars: Vec<FpVar<F>> = xs
                    .iter()
                    .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)))
                    .collect::<Result<_, _>>()
                    .expect("witness");
                zkpay_circuits::poseidon::hash(Domain::Circom, &vars).expect("hash")
            })
        });
    }
    g.finish();
}

fn merkle(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle-path-depth16");
    let mut tree = NoteTree::new(FULL_DEPTH).expect("tree");
    for i in 0..100u64 {
        tree.append(F::from(i + 1)).expect("append");
    }
    let path = tree.path(42).expect("path");
    let root = tree.root();
    g.bench_function("native-verify", |b| {
        b.iter(|| verify_note_path(black_box(&path), F::from(43u64), root))
    });
    g.bench_function("native-append", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| t.append(F::from(7u64)),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("circuit-synthesis", |b| {
        b.iter(|| {
            let cs = ConstraintSystem::<F>::new_ref();
            cs.set_mode(SynthesisMode::Prove {
                construct_matrices: false,
                generate_lc_assignments: false,
            });
            let p = PathVar::new_witness(cs.clone(), &path, FULL_DEPTH).expect("path");
            let leaf = FpVar::new_witness(cs.clone(), || Ok(F::from(43u64))).expect("leaf");
            p.root(Domain::NoteTreeNode, &leaf).expect("root")
        })
    });
    g.finish();
}

criterion_group!(benches, poseidon, merkle);
criterion_main!(benches);
