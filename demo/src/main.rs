//! `zkpay-demo`: a QR payment end to end on the embedded default (in-process node, RocksDB,
//! embedded ledger), what `make demo` runs. Exit code 0 when every check passed, 1 otherwise.

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use zkpay_demo::{run, DemoOptions};
use zkpay_sequencer::Profile;

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Full,
    Test,
}

#[derive(Clone, Copy, ValueEnum)]
enum LedgerArg {
    /// The embedded RocksDB ledger (the default).
    Embedded,
    /// A local anvil and the ZkPayRollup contract (`make demo-evm`).
    Evm,
}

#[derive(Parser)]
#[command(
    name = "zkpay-demo",
    version,
    about = "zkpay: a QR payment end to end (in-process node, RocksDB, embedded ledger)"
)]
struct Cli {
    /// Parameter profile: full (2^32 leaves, chunks of 8) or test (small).
    #[arg(long, value_enum, default_value = "full")]
    profile: ProfileArg,
    /// Where proving keys are cached between runs.
    #[arg(long, default_value = ".zkpay-data")]
    keys_dir: PathBuf,
    /// Base ledger: embedded (RocksDB) or evm (a local anvil and the rollup contract).
    #[arg(long, value_enum, default_value = "embedded")]
    ledger: LedgerArg,
    /// Print one JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let profile = match cli.profile {
        ProfileArg::Full => Profile::Full,
        ProfileArg::Test => Profile::Test,
    };
    let evm = matches!(cli.ledger, LedgerArg::Evm);
    if !cli.json {
        if evm {
            println!(
                "zkpay demo: a QR payment end to end (in-process node, EVM base ledger: the \
                 rollup contract on a local anvil)\n"
            );
        } else {
            println!(
                "zkpay demo: a QR payment end to end (in-process node, RocksDB, embedded ledger)\n"
            );
        }
    }
    let s = run(&DemoOptions {
        profile,
        key_dir: cli.keys_dir,
        verbose: !cli.json,
        evm,
    })
    .context("the demo stopped")?;
    if cli.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "\n{}: payment proof {:.0} ms, QR decoded to accepted {:.0} ms, batch proved and committed {:.0} ms",
            if s.ok { "ok" } else { "FAILED" },
            s.payment_proof_ms,
            s.qr_to_accept_ms,
            s.batch_proof_ms
        );
        if let Some(c) = &s.contract {
            println!(
                "rollup contract {c}; gas used per batch: {}",
                s.batch_gas
                    .iter()
                    .map(|g| g.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(if s.ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("zkpay-demo: demo checks failed");
        ExitCode::FAILURE
    })
}
