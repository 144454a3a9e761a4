//! `zkpay-bench report`: every figure in one run, written as `report.md`, `report.json` and SVG
//! plots. Method: fixed seeds, one warm-up before each timed series, medians; the machine and
//! versions are recorded beside the figures.

use crate::batching::{batch_report, BatchReport};
use crate::constraints::{measure, Counts};
use crate::ingest::{ingest_report, IngestReport};
use crate::plot::{chart, Series};
use crate::proving::{prove_report, verify_report, VerifyReport};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use zkpay_sequencer::Profile;

/// Options of a report run.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Output directory (`bench-report`).
    pub out: PathBuf,
    /// Where keys and pre-generated proofs are cached.
    pub data_dir: PathBuf,
    /// Small sizes everywhere (a smoke test; figures are not representative).
    pub quick: bool,
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores available.
    pub cores: usize,
    /// Memory (GiB).
    pub memory_gib: f64,
    /// Kernel.
    pub os: String,
}

/// Versions and build.
#[derive(Debug, Serialize)]
pub struct Versions {
    /// zkpay.
    pub zkpay: String,
    /// Git commit, when known.
    pub commit: Option<String>,
    /// rustc.
    pub rustc: String,
    /// arkworks.
    pub arkworks: String,
    /// Build profile of this binary.
    pub profile: String,
}

/// One point of prove time against circuit size.
#[derive(Debug, Serialize)]
pub struct ProvePoint {
    /// Circuit.
    pub circuit: String,
    /// Constraints.
    pub constraints: usize,
    /// Median prove time (s), all cores.
    pub prove_seconds: f64,
}

/// Least-squares fit `t = intercept + slope · constraints`.
#[derive(Debug, Serialize)]
pub struct Fit {
    /// Cost per constraint (µs).
    pub us_per_constraint: f64,
    /// Fixed cost (ms).
    pub intercept_ms: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

/// A published figure of another Groth16 prover, with its source.
#[derive(Debug, Serialize)]
pub struct Published {
    /// System.
    pub system: String,
    /// What was measured.
    pub workload: String,
    /// The figure as published.
    pub figure: String,
    /// Hardware as published.
    pub hardware: String,
    /// Source.
    pub source: String,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// UTC seconds since the epoch when the run started.
    pub started_unix: u64,
    /// Quick mode.
    pub quick: bool,
    /// Machine.
    pub machine: Machine,
    /// Versions.
    pub versions: Versions,
    /// Seeds and sizes used.
    pub parameters: serde_json::Value,
    /// Constraint counts at production parameters.
    pub constraints: Counts,
    /// Prove time against constraints.
    pub prove_points: Vec<ProvePoint>,
    /// The fit over `prove_points`.
    pub prove_fit: Fit,
    /// Payment proving at the production depth.
    pub payment: crate::proving::ProveReport,
    /// Batch proving throughput by batch size and threads.
    pub batch: BatchReport,
    /// Verification cost per proof by batch size.
    pub verify: VerifyReport,
    /// Node ingest.
    pub ingest: IngestReport,
    /// The same payment circuit proven by snarkjs on this machine.
    pub snarkjs: crate::snarkjs_cmp::SnarkjsComparison,
    /// Gas on an EVM chain (the pinned anvil): verification and whole batches on the rollup
    /// contract.
    pub evm: crate::evm::EvmReport,
    /// Other Groth16 provers: where their own published figures are (different circuits and
    /// machines; not reproduced here).
    pub published: Vec<Published>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn machine() -> Machine {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        os: read("/proc/version")
            .split(" (")
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
    }
}

fn command(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn versions() -> Versions {
    Versions {
        zkpay: env!("CARGO_PKG_VERSION").into(),
        commit: command("git", &["rev-parse", "--short", "HEAD"]),
        rustc: command("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        arkworks: "0.6 (ark-groth16, ark-bn254, ark-relations gr1cs)".into(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    }
}

/// Least squares over (x, y).
pub fn fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    if points.len() < 2 {
        return (0.0, 0.0, 0.0);
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx == 0.0 {
        return (my, 0.0, 0.0);
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let r2 = if syy == 0.0 {
        1.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    (intercept, slope, r2)
}

fn published() -> Vec<Published> {
    vec![
        Published {
            system: "rapidsnark (C++ and assembly)".into(),
            workload: "Groth16 BN254 prover for circom/snarkjs circuits and keys".into(),
            figure: "not reproduced here (needs its git submodules); it proves snarkjs `.zkey` files, so `zkpay-bench snarkjs` leaves `circuit.zkey` and `witness.wtns` ready for it".into(),
            hardware: "-".into(),
            source: "https://github.com/iden3/rapidsnark".into(),
        },
        Published {
            system: "gnark (Go)".into(),
            workload: "Groth16 BN254; SHA-256 circuits of several sizes, beside circom/snarkjs, rapidsnark and arkworks".into(),
            figure: "see the source's tables (other circuits and machines)".into(),
            hardware: "as stated in the source".into(),
            source: "https://ethresear.ch/t/benchmarking-zkp-development-frameworks-the-pantheon-of-zkp/14943".into(),
        },
    ]
}

/// Runs every measurement and writes the report.
pub fn run(opts: &ReportOptions) -> Result<Report> {
    std::fs::create_dir_all(&opts.out).with_context(|| format!("{}", opts.out.display()))?;
    std::fs::create_dir_all(&opts.data_dir)?;
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let q = opts.quick;
    let full_depth = zkpay_protocol::merkle::FULL_DEPTH;
    let depths: Vec<usize> = if q { vec![2, 4] } else { vec![4, 8, 12, 16] };
    let samples = if q { 2 } else { 5 };
    let (b_depth, b_slots, b_sizes, b_threads) = if q {
        (4, 2, vec![2, 4], vec![1, 0])
    } else {
        (full_depth, 8, vec![8, 16, 32, 64], vec![1, 0])
    };
    let v_depth = if q { 4 } else { full_depth };
    let v_sizes: Vec<usize> = if q {
        vec![1, 4, 8]
    } else {
        vec![1, 2, 4, 8, 16, 32, 64]
    };
    let (i_profile, i_payments, i_warmup) = if q {
        (Profile::Test, 16, 4)
    } else {
        (Profile::Full, 1000, 100)
    };
    let parameters = serde_json::json!({
        "payment_depths": depths, "prove_samples_after_warmup": samples,
        "batch": {"depth": b_depth, "chunk_slots": b_slots, "sizes": b_sizes, "threads": "1 and all cores"},
        "verify": {"depth": v_depth, "sizes": v_sizes, "reps": 5},
        "ingest": {"profile": format!("{i_profile:?}").to_lowercase(), "payments": i_payments, "warmup": i_warmup, "connections": 64},
        "seeds": "witness i uses ChaCha20 seed i; proving rng seed 7; batch payments seed = batch size; setup: insecure development seed 0",
    });

    eprintln!("[1/8] constraint counts");
    let constraints = measure()?;
    eprintln!("[2/8] payment proving at depths {depths:?}");
    let mut prove_points = Vec::new();
    let mut payment = None;
    for &d in &depths {
        let r = prove_report(d, samples)?;
        prove_points.push(ProvePoint {
            circuit: format!("payment, depth {d}"),
            constraints: r.constraints,
            prove_seconds: r.prove_median_seconds,
        });
        payment = Some(r);
    }
    let payment = payment.context("no depth")?;
    eprintln!("[3/8] batch proving (depth {b_depth}, chunks of {b_slots})");
    let batch = batch_report(&opts.data_dir, b_depth, b_slots, &b_sizes, &b_threads)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if let Some(p) = batch
        .points
        .iter()
        .find(|p| p.chunks == 1 && p.threads == cores)
    {
        prove_points.push(ProvePoint {
            circuit: format!("batch chunk, {b_slots} slots, depth {b_depth}"),
            constraints: batch.constraints_per_chunk,
            prove_seconds: p.prove_wall_seconds,
        });
    }
    let (intercept, slope, r2) = fit(&prove_points
        .iter()
        .map(|p| (p.constraints as f64, p.prove_seconds))
        .collect::<Vec<_>>());
    let prove_fit = Fit {
        us_per_constraint: slope * 1e6,
        intercept_ms: intercept * 1e3,
        r2,
    };
    eprintln!("[4/8] verification by batch size");
    let verify = verify_report(v_depth, &v_sizes, 5)?;
    eprintln!("[5/8] node ingest ({i_payments} payments)");
    let ingest = ingest_report(&opts.data_dir, i_profile, i_payments, i_warmup, 64)?;
    eprintln!("[6/8] snarkjs on the same circuit");
    let snarkjs = if q {
        crate::snarkjs_cmp::compare(&opts.data_dir.join("snarkjs"), depths[0], 0)?
    } else {
        crate::snarkjs_cmp::compare(&opts.data_dir.join("snarkjs"), full_depth, 3)?
    };
    eprintln!("[7/8] gas on an EVM chain (anvil)");
    let evm = if q {
        crate::evm::evm_report(4, 2, &[1, 2, 4])?
    } else {
        crate::evm::evm_report(full_depth, 8, &[1, 8, 16, 64])?
    };
    eprintln!("[8/8] writing {}", opts.out.display());
    let report = Report {
        started_unix,
        quick: q,
        machine: machine(),
        versions: versions(),
        parameters,
        constraints,
        prove_points,
        prove_fit,
        payment,
        batch,
        verify,
        ingest,
        snarkjs,
        evm,
        published: published(),
    };
    write(&opts.out, &report)?;
    Ok(report)
}

fn write(out: &Path, r: &Report) -> Result<()> {
    std::fs::write(out.join("report.json"), serde_json::to_string_pretty(r)?)?;
    // plots
    let fit_series = |max: f64| Series {
        label: format!("fit {:.2} µs/constraint", r.prove_fit.us_per_constraint),
        points: [0.0, max]
            .iter()
            .map(|x| {
                (
                    *x,
                    r.prove_fit.intercept_ms / 1e3 + r.prove_fit.us_per_constraint * 1e-6 * x,
                )
            })
            .collect(),
        line: true,
        markers: false,
    };
    let measured = |filter: &dyn Fn(&ProvePoint) -> bool| Series {
        label: "measured (median)".into(),
        points: r
            .prove_points
            .iter()
            .filter(|p| filter(p))
            .map(|p| (p.constraints as f64, p.prove_seconds))
            .collect(),
        line: false,
        markers: true,
    };
    std::fs::write(
        out.join("prove_vs_constraints.svg"),
        chart(
            "Groth16 prove time against constraints (payment circuits and a batch chunk)",
            "constraints",
            "seconds",
            &[
                fit_series(
                    r.prove_points
                        .iter()
                        .map(|p| p.constraints)
                        .max()
                        .unwrap_or(1) as f64,
                ),
                measured(&|_| true),
            ],
        ),
    )?;
    let payment_max = r
        .prove_points
        .iter()
        .filter(|p| p.circuit.starts_with("payment"))
        .map(|p| p.constraints)
        .max()
        .unwrap_or(1) as f64;
    std::fs::write(
        out.join("prove_payment_depths.svg"),
        chart(
            "Payment circuit: prove time by tree depth",
            "constraints",
            "seconds",
            &[
                fit_series(payment_max),
                measured(&|p: &ProvePoint| p.circuit.starts_with("payment")),
            ],
        ),
    )?;
    let mut by_threads: std::collections::BTreeMap<usize, Vec<(f64, f64)>> = Default::default();
    for p in &r.batch.points {
        by_threads
            .entry(p.threads)
            .or_default()
            .push((p.size as f64, p.payments_per_second));
    }
    std::fs::write(
        out.join("batch_throughput.svg"),
        chart(
            &format!(
                "Batch proving throughput (chunks of {}, depth {})",
                r.batch.chunk_slots, r.batch.tree_depth
            ),
            "payments per batch",
            "payments per second",
            &by_threads
                .into_iter()
                .map(|(t, pts)| Series {
                    label: format!("{t} thread(s)"),
                    points: pts,
                    line: true,
                    markers: true,
                })
                .collect::<Vec<_>>(),
        ),
    )?;
    std::fs::write(
        out.join("verify_per_proof.svg"),
        chart(
            "Verification cost per proof",
            "proofs per batch",
            "ms per proof (median)",
            &[
                Series {
                    label: "1 thread".into(),
                    points: r
                        .verify
                        .batch
                        .iter()
                        .map(|p| (p.batch_size as f64, p.ms_per_proof_1_thread))
                        .collect(),
                    line: true,
                    markers: true,
                },
                Series {
                    label: "all threads".into(),
                    points: r
                        .verify
                        .batch
                        .iter()
                        .map(|p| (p.batch_size as f64, p.ms_per_proof_all_threads))
                        .collect(),
                    line: true,
                    markers: true,
                },
            ],
        ),
    )?;
    let per_payment = |label: &str, pts: Vec<(f64, f64)>| Series {
        label: label.into(),
        points: pts,
        line: true,
        markers: true,
    };
    std::fs::write(
        out.join("evm_gas_per_payment.svg"),
        chart(
            &format!(
                "Gas per payment on an EVM chain (chunks of {}, depth {})",
                r.evm.chunk_slots, r.evm.depth
            ),
            "payments per batch",
            "gas per payment",
            &[
                per_payment(
                    "verification only",
                    r.evm
                        .batches
                        .iter()
                        .map(|p| (p.payments as f64, p.gas_per_payment))
                        .collect(),
                ),
                per_payment(
                    "whole batch on the rollup contract",
                    r.evm
                        .settled
                        .iter()
                        .map(|p| (p.payments as f64, p.gas_per_payment))
                        .collect(),
                ),
            ],
        ),
    )?;
    std::fs::write(out.join("report.md"), markdown(r))?;
    Ok(())
}

/// The proving-speed milestone's figures: the baseline the milestone measured (release build,
/// arkworks' prover), this run, and the target.
fn speed_targets(r: &Report) -> String {
    let cores = r.machine.cores;
    let pay = r.payment.prove_median_seconds;
    let snarkjs_ratio = r
        .snarkjs
        .snarkjs
        .as_ref()
        .filter(|run| run.prove_median_ms > 0.0 && r.payment.tree_depth == r.snarkjs.tree_depth)
        .map(|run| run.prove_median_ms / 1e3 / pay);
    let batch64 = r
        .batch
        .points
        .iter()
        .find(|b| b.size == 64 && b.threads == cores)
        .map(|b| b.payments_per_second);
    let fmt =
        |v: Option<f64>, unit: &str| v.map_or("not measured".into(), |v| format!("{v:.3}{unit}"));
    let met = |v: Option<f64>, ok: &dyn Fn(f64) -> bool| match v {
        Some(v) if ok(v) => "met",
        Some(_) => "**not met**",
        None => "-",
    };
    let mut s = String::from(
        "## Proving speed against the milestone's targets\n\nBaseline: the milestone's own measurement on this machine class (arkworks' prover, before zkpay's MSM and cached matrices). The demo's latencies are printed by `make demo`.\n\n| figure | baseline | this run | target | |\n|---|---|---|---|---|\n",
    );
    s.push_str(&format!(
        "| payment proof, median wall, {cores} threads (depth {}) | 0.565 s | {} | ≤ 0.25 s | {} |\n",
        r.payment.tree_depth,
        fmt(Some(pay), " s"),
        met(Some(pay), &|v| v <= 0.25)
    ));
    s.push_str(&format!(
        "| snarkjs time ÷ zkpay time, same circuit and witness | 3.0× | {} | ≥ 7× | {} |\n",
        fmt(snarkjs_ratio, "×"),
        met(snarkjs_ratio, &|v| v >= 7.0)
    ));
    s.push_str(&format!(
        "| batch throughput, 64 payments, chunks of {}, {cores} threads | 1.5 payments/s | {} | ≥ 3 payments/s | {} |\n\n",
        r.batch.chunk_slots,
        fmt(batch64, " payments/s"),
        met(batch64, &|v| v >= 3.0)
    ));
    s
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let v = &r.versions;
    s.push_str("# zkpay benchmark report\n\n");
    if r.quick {
        s.push_str(
            "**Quick mode: small sizes, a smoke test. These figures are not representative.**\n\n",
        );
    }
    s.push_str(&format!(
        "Machine: {} ({} cores, {} GiB), {}. zkpay {} (commit {}), {}, arkworks {}, {} build.\n\n",
        m.cpu,
        m.cores,
        m.memory_gib,
        m.os,
        v.zkpay,
        v.commit.as_deref().unwrap_or("unknown"),
        v.rustc,
        v.arkworks,
        v.profile
    ));
    s.push_str("Method: each timed series runs one warm-up first and reports the median; seeds are fixed (see `report.json` → `parameters`); keys are insecure development keys (seed 0), which cost the same to use as production keys. Wall-clock times on a shared machine vary by a few percent between runs.\n\n");
    let c = &r.constraints;
    s.push_str("## Constraints (production parameters, 2^32 leaves)\n\n| circuit | constraints |\n|---|---|\n");
    s.push_str(&format!("| Poseidon, 2 inputs | {} |\n| arity-4 Merkle path, depth 16 | {} |\n| binary Merkle path, depth 32 (comparison) | {} |\n| payment (9 public inputs) | {} (domain 2^{}) |\n| batch chunk, {} slots, depth {} | {} ({} per payment) |\n\n",
        c.poseidon_2, c.merkle.arity4_depth16_path, c.merkle.binary_depth32_path, c.payment.constraints, c.payment.domain_log2,
        r.batch.chunk_slots, r.batch.tree_depth, r.batch.constraints_per_chunk, r.batch.constraints_per_payment));
    s.push_str("## Prove time against constraints\n\n![prove time](prove_vs_constraints.svg)\n\n![payment circuit by depth](prove_payment_depths.svg)\n\n| circuit | constraints | median prove (s) |\n|---|---|---|\n");
    for p in &r.prove_points {
        s.push_str(&format!(
            "| {} | {} | {:.3} |\n",
            p.circuit, p.constraints, p.prove_seconds
        ));
    }
    s.push_str(&format!(
        "\nFit: **{:.2} µs per constraint** {} {:.0} ms (R² = {:.3}), all {} cores.\n\n",
        r.prove_fit.us_per_constraint,
        if r.prove_fit.intercept_ms < 0.0 {
            "−"
        } else {
            "+"
        },
        r.prove_fit.intercept_ms.abs(),
        r.prove_fit.r2,
        m.cores
    ));
    let p = &r.payment;
    s.push_str(&format!(
        "Payment at depth {}: setup {:.2} s; proof median **{:.3} s** on {} threads, {:.3} s on 1 thread.\n\n",
        p.tree_depth, p.setup_seconds, p.prove_median_seconds, p.threads, p.prove_median_seconds_1_thread
    ));
    s.push_str(&speed_targets(r));
    s.push_str(&format!("## Batch proving throughput\n\n![batch throughput](batch_throughput.svg)\n\nChunks of {} payments, depth {}, chunks proven in parallel.\n\n| payments | chunks | threads | wall (s) | payments/s |\n|---|---|---|---|---|\n", r.batch.chunk_slots, r.batch.tree_depth));
    for b in &r.batch.points {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} |\n",
            b.size, b.chunks, b.threads, b.prove_wall_seconds, b.payments_per_second
        ));
    }
    s.push_str(&format!("\n## Verification\n\n![verification](verify_per_proof.svg)\n\nSingle verification (prepared key, 1 thread): **{:.3} ms**.\n\n| proofs | ms/proof, 1 thread | ms/proof, all threads |\n|---|---|---|\n", r.verify.single_verify_ms));
    for b in &r.verify.batch {
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} |\n",
            b.batch_size, b.ms_per_proof_1_thread, b.ms_per_proof_all_threads
        ));
    }
    let i = &r.ingest;
    s.push_str(&format!(
        "\n## Node ingest\n\n{} valid payments ({} profile) over {} keep-alive loopback connections, each acknowledged only after a synced RocksDB write: **{:.0} payments/s**, latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} accepted, {} refused). Proofs are verified in groups of up to {} on {} threads. Client and node share the machine's {} cores.\n\n",
        i.payments, i.profile, i.connections, i.accepted_per_second, i.latency.p50_ms, i.latency.p90_ms, i.latency.p99_ms, i.latency.max_ms, i.accepted, i.refused, i.verify_group, i.verify_workers, i.cores
    ));
    s.push_str("## Other Groth16 provers\n\n");
    let sj = &r.snarkjs;
    let ours = r
        .prove_points
        .iter()
        .find(|p| p.circuit == format!("payment, depth {}", sj.tree_depth))
        .map(|p| p.prove_seconds);
    match (&sj.snarkjs, &sj.skipped) {
        (Some(run), _) if run.prove_median_ms > 0.0 => {
            s.push_str(&format!(
                "**Same circuit, same machine.** zkpay exports the payment circuit (depth {}, {} constraints) as `.r1cs` with a witness as `.wtns`; snarkjs {} (Node.js {}) checks the witness against the constraints, runs its own setup and proves it. Median of {} proofs after a warm-up, each verified by snarkjs (verified: {}, same public inputs: {}):\n\n| prover | median proof (s) |\n|---|---|\n| zkpay (arkworks 0.6, Rust) | {} |\n| snarkjs {} (JavaScript/WASM) | {:.3} |\n\n",
                sj.tree_depth, sj.constraints, run.snarkjs, run.node, run.prove_samples_ms.len(), run.verified, run.public_inputs_match,
                ours.map(|t| format!("{t:.3}")).unwrap_or_else(|| "-".into()),
                run.snarkjs, run.prove_median_ms / 1e3
            ));
        }
        (Some(run), _) => s.push_str(&format!(
            "snarkjs {} checked the exported witness of the payment circuit (depth {}, {} constraints) against the exported constraints in {:.0} ms; proving is timed only in a full run (its powers of tau take minutes in JavaScript).\n\n",
            run.snarkjs, sj.tree_depth, sj.constraints, run.witness_check_ms
        )),
        (None, why) => s.push_str(&format!(
            "snarkjs comparison skipped: {}.\n\n",
            why.as_deref().unwrap_or("unknown reason")
        )),
    }
    s.push_str(&format!(
        "## Gas on an EVM chain\n\n![gas per payment](evm_gas_per_payment.svg)\n\nThe pinned anvil (Prague rules), chunks of {} at depth {}. Verification only: every payment and chunk proof of a batch in one pairing check (`Groth16BatchVerifier.verifyTwo`). Whole batch: `ZkPayRollup.commitBatch` ({}). One plain single-proof verification: {} gas.\n\n| payments | chunks | verification gas | / payment | whole batch gas | / payment | calldata bytes |\n|---|---|---|---|---|---|---|\n",
        r.evm.chunk_slots, r.evm.depth, r.evm.settled_scope, r.evm.plain_verify_gas
    ));
    for (v, w) in r.evm.batches.iter().zip(&r.evm.settled) {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {:.0} | {} |\n",
            v.payments,
            v.chunks,
            v.gas,
            v.gas_per_payment,
            w.gas,
            w.gas_per_payment,
            w.calldata_bytes
        ));
    }
    s.push('\n');
    s.push_str("Published figures of other provers are for orientation only: other circuits, other machines. Compare cost per constraint, not totals.\n\n| system | workload | figure | hardware | source |\n|---|---|---|---|---|\n");
    for p in &r.published {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            p.system, p.workload, p.figure, p.hardware, p.source
        ));
    }
    s.push_str("\nReproduce: `zkpay-bench report` (full sizes) or `zkpay-bench report --quick`.\n");
    s
}
