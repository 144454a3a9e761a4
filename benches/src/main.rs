//! `zkpay-bench`: reproducible figures for researchers.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "zkpay-bench", version, about = "zkpay benchmark reporter")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Constraint and public-input counts of every circuit at production parameters.
    Constraints {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Groth16 setup and payment proving time (median of several) at production depth.
    Prove {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Proofs to time after one warm-up.
        #[arg(long, default_value_t = 7)]
        samples: usize,
        /// Tree depth (16 = 2^32 leaves).
        #[arg(long, default_value_t = zkpay_protocol::merkle::FULL_DEPTH)]
        depth: usize,
    },
    /// Single and batch verification cost per proof.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Repetitions per measurement.
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Tree depth (16 = 2^32 leaves).
        #[arg(long, default_value_t = zkpay_protocol::merkle::FULL_DEPTH)]
        depth: usize,
    },
    /// Batch proving: chunk constraints, setup, throughput by batch size and thread count.
    Batch {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Batch sizes (payments), comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![4, 16, 64])]
        size: Vec<usize>,
        /// Payment slots per chunk (2C must be a power of 4: 2, 8, 32).
        #[arg(long, default_value_t = 8)]
        chunk: usize,
        /// Thread counts to measure (0 = all cores), comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![0])]
        threads: Vec<usize>,
        /// Tree depth (16 = 2^32 leaves).
        #[arg(long, default_value_t = zkpay_protocol::merkle::FULL_DEPTH)]
        depth: usize,
        /// Where proving keys are cached.
        #[arg(long, default_value = ".zkpay-data")]
        data_dir: std::path::PathBuf,
    },
    /// Gas of verifying batches on an EVM chain (the pinned anvil): payment and chunk proofs in
    /// one pairing check, beside the plain single-proof verifier.
    Evm {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Batch sizes (payments), comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1, 8, 16, 64])]
        size: Vec<usize>,
        /// Payment slots per chunk.
        #[arg(long, default_value_t = 8)]
        chunk: usize,
        /// Tree depth (16 = 2^32 leaves).
        #[arg(long, default_value_t = zkpay_protocol::merkle::FULL_DEPTH)]
        depth: usize,
    },
    /// The payment circuit proven by snarkjs on this machine (same R1CS, exported).
    Snarkjs {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Tree depth (16 = 2^32 leaves).
        #[arg(long, default_value_t = zkpay_protocol::merkle::FULL_DEPTH)]
        depth: usize,
        /// Timed proofs after one warm-up.
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Work directory (powers of tau are cached there).
        #[arg(long, default_value = ".zkpay-data/snarkjs")]
        work: std::path::PathBuf,
    },
    /// The trusted-setup tools: .ptau import, and the payment and chunk keys' phase-2
    /// contribute and verify, next to snarkjs's on the same files.
    Setup {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Parameter profile: full or test.
        #[arg(long, default_value = "full")]
        profile: String,
        /// Leave snarkjs out.
        #[arg(long)]
        no_snarkjs: bool,
        /// Work directory (the powers of tau are kept there).
        #[arg(long, default_value = ".zkpay-data/setup-bench")]
        work: std::path::PathBuf,
    },
    /// Every figure in one run: `bench-report/report.md`, `report.json` and SVG plots.
    Report {
        /// Small sizes (a smoke test; figures not representative).
        #[arg(long)]
        quick: bool,
        /// Output directory.
        #[arg(long, default_value = "bench-report")]
        out: std::path::PathBuf,
        /// Where keys and pre-generated proofs are cached.
        #[arg(long, default_value = ".zkpay-data")]
        data_dir: std::path::PathBuf,
    },
    /// Node ingest: valid payments accepted per second (durable) and p50/p99 latency on
    /// loopback, with pre-generated proofs (cached in the data directory).
    Node {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Payments to measure.
        #[arg(long, default_value_t = 2000)]
        payments: usize,
        /// Warm-up payments before measuring.
        #[arg(long, default_value_t = 200)]
        warmup: usize,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Parameter profile of the node: full or test.
        #[arg(long, default_value = "full")]
        profile: String,
        /// Where keys and pre-generated proofs are cached.
        #[arg(long, default_value = ".zkpay-data")]
        data_dir: std::path::PathBuf,
    },
    /// Node start-up after a long history (synthetic batches written through the ledger
    /// interface, full profile): time and resident memory of a start from the index's
    /// checkpoint, of one that replays a batch after it, and of a replay from genesis.
    Startup {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// History lengths (committed payments), comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![100_000, 1_000_000])]
        payments: Vec<u64>,
        /// Payments per synthetic batch.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Also measure a start on an empty index (replays the whole history) when the node's
        /// index is already built.
        #[arg(long)]
        from_genesis: bool,
        /// Work directory (histories and keys are cached there).
        #[arg(long, default_value = ".zkpay-data/startup-bench")]
        work: std::path::PathBuf,
    },
    /// One node start for `startup` (its own process, so that its memory is its own).
    #[command(hide = true)]
    StartupOpen {
        /// The node's data directory.
        #[arg(long)]
        data: std::path::PathBuf,
        /// The synthetic ledger.
        #[arg(long)]
        ledger: std::path::PathBuf,
        /// Key cache.
        #[arg(long)]
        keys: std::path::PathBuf,
    },
    /// Fault and load: honest payments while a flood of invalid and replayed payments runs and
    /// the node is SIGKILLed and restarted; acknowledged vs committed, double spends accepted,
    /// honest latency, peak memory. Loopback, test profile. Exits 1 if anything acknowledged
    /// was lost or a double spend was accepted.
    Chaos {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Honest payments (1 to 100).
        #[arg(long, default_value_t = 40)]
        honest: usize,
        /// Distinct invalid payments in the flood.
        #[arg(long, default_value_t = 100)]
        flood: usize,
        /// SIGKILLs of the node (each followed by a restart).
        #[arg(long, default_value_t = 5)]
        kills: usize,
        /// Seed of the kill schedule.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        max_seconds: u64,
        /// The zkpay-node binary (default: beside zkpay-bench).
        #[arg(long)]
        node: Option<std::path::PathBuf>,
        /// Where keys and pre-generated proofs are cached.
        #[arg(long, default_value = ".zkpay-data")]
        data_dir: std::path::PathBuf,
    },
}

fn print<T: serde::Serialize + std::fmt::Debug>(json: bool, v: &T) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
    } else {
        println!("{v:#?}");
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Constraints { json } => {
            let c = zkpay_bench::constraints::measure()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!(
                    "Poseidon (1/2/3/4 inputs): {} / {} / {} / {}",
                    c.poseidon_1, c.poseidon_2, c.poseidon_3, c.poseidon_4
                );
                println!(
                    "Merkle path, 2^32 leaves: arity 4 depth 16 = {}, binary depth 32 = {}",
                    c.merkle.arity4_depth16_path, c.merkle.binary_depth32_path
                );
                println!(
                    "payment: {} constraints, {} public inputs, arity {} depth {} (domain 2^{})",
                    c.payment.constraints,
                    c.payment.public_inputs,
                    c.payment.tree_arity,
                    c.payment.tree_depth,
                    c.payment.domain_log2
                );
            }
        }
        Command::Setup {
            json,
            profile,
            no_snarkjs,
            work,
        } => {
            let profile = match profile.as_str() {
                "full" => zkpay_protocol::batch::Profile::Full,
                "test" => zkpay_protocol::batch::Profile::Test,
                p => anyhow::bail!("unknown profile {p} (full or test)"),
            };
            print(
                json,
                &zkpay_bench::setup::setup_report(&work, profile, !no_snarkjs)?,
            )?
        }
        Command::Prove {
            json,
            samples,
            depth,
        } => print(json, &zkpay_bench::proving::prove_report(depth, samples)?)?,
        Command::Batch {
            json,
            size,
            chunk,
            threads,
            depth,
            data_dir,
        } => print(
            json,
            &zkpay_bench::batching::batch_report(&data_dir, depth, chunk, &size, &threads)?,
        )?,
        Command::Snarkjs {
            json,
            depth,
            samples,
            work,
        } => print(
            json,
            &zkpay_bench::snarkjs_cmp::compare(&work, depth, samples)?,
        )?,
        Command::Report {
            quick,
            out,
            data_dir,
        } => {
            let r = zkpay_bench::report::run(&zkpay_bench::report::ReportOptions {
                out: out.clone(),
                data_dir,
                quick,
            })?;
            println!(
                "wrote {}/report.md: payment proof {:.3} s, {:.2} µs/constraint, verify {:.2} ms, batch verify {:.2} ms/proof at {}, ingest {:.0} payments/s",
                out.display(),
                r.payment.prove_median_seconds,
                r.prove_fit.us_per_constraint,
                r.verify.single_verify_ms,
                r.verify.batch.last().map(|b| b.ms_per_proof_1_thread).unwrap_or(f64::NAN),
                r.verify.batch.last().map(|b| b.batch_size).unwrap_or(0),
                r.ingest.accepted_per_second
            );
        }
        Command::Node {
            json,
            payments,
            warmup,
            connections,
            profile,
            data_dir,
        } => {
            let profile = match profile.as_str() {
                "full" => zkpay_sequencer::Profile::Full,
                "test" => zkpay_sequencer::Profile::Test,
                p => anyhow::bail!("unknown profile {p:?} (full or test)"),
            };
            let r = zkpay_bench::ingest::ingest_report(
                &data_dir,
                profile,
                payments,
                warmup,
                connections,
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "ingest ({} profile, {} connections): {:.0} payments/s accepted durably; latency p50 {:.1} ms, p99 {:.1} ms ({} accepted, {} refused)",
                    r.profile, r.connections, r.accepted_per_second, r.latency.p50_ms, r.latency.p99_ms, r.accepted, r.refused
                );
            }
        }
        Command::Chaos {
            json,
            honest,
            flood,
            kills,
            seed,
            max_seconds,
            node,
            data_dir,
        } => {
            let node = match node {
                Some(n) => n,
                None => std::env::current_exe()?
                    .parent()
                    .context("no directory")?
                    .join("zkpay-node"),
            };
            let r = zkpay_bench::chaos::run(&zkpay_bench::chaos::ChaosOptions {
                node,
                data_dir,
                honest,
                flood,
                kills,
                seed,
                max_seconds,
            })?;
            print(json, &r)?;
            if r.lost > 0 || r.double_spends_accepted > 0 || r.flood_accepted > 0 {
                anyhow::bail!(
                    "lost {} acknowledged payments, accepted {} double spends and {} invalid payments",
                    r.lost,
                    r.double_spends_accepted,
                    r.flood_accepted
                );
            }
        }
        Command::Startup {
            json,
            payments,
            batch,
            from_genesis,
            work,
        } => {
            let exe = std::env::current_exe()?;
            let r =
                zkpay_bench::startup::startup_report(&exe, &work, &payments, batch, from_genesis)?;
            print(json, &r)?;
        }
        Command::StartupOpen { data, ledger, keys } => {
            let r = zkpay_bench::startup::open_node(
                &data,
                &ledger,
                &keys,
                zkpay_sequencer::Profile::Full,
            )?;
            println!("{}", serde_json::to_string(&r)?);
        }
        Command::Evm {
            json,
            size,
            chunk,
            depth,
        } => print(json, &zkpay_bench::evm::evm_report(depth, chunk, &size)?)?,
        Command::Verify { json, reps, depth } => print(
            json,
            &zkpay_bench::proving::verify_report(depth, &[1, 8, 32, 64], reps)?,
        )?,
    }
    Ok(())
}
