//! `zkpay-setup`: zkpay's trusted-setup tool. Today: checking a phase-1 file (powers of tau).

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use zkpay_ceremony::ptau::Ptau;

#[derive(Parser)]
#[command(name = "zkpay-setup", version, about = "zkpay trusted setup")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a powers-of-tau file (snarkjs .ptau, BN254): structure, curve, contributions, and
    /// that every point is a power of one τ with one α and one β (random linear combinations).
    Ptau {
        /// The .ptau file.
        file: PathBuf,
        /// Refuse a file smaller than 2^POWER (the circuit's domain).
        #[arg(long)]
        power: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Ptau { file, power, json } => {
            let started = Instant::now();
            let p = Ptau::open(&file)?;
            if let Some(need) = power {
                p.check_power(need)?;
            }
            p.verify_powers()?;
            let seconds = started.elapsed().as_secs_f64();
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": file,
                        "power": p.power,
                        "ceremony_power": p.ceremony_power,
                        "contributions": p.contributions,
                        "prepared": p.prepared,
                        "verified": true,
                        "seconds": seconds,
                    })
                );
            } else {
                println!(
                    "{}: powers of tau 2^{} (ceremony 2^{}), {} contribution(s), {}prepared for phase 2; consistent ({seconds:.1} s)",
                    file.display(),
                    p.power,
                    p.ceremony_power,
                    p.contributions,
                    if p.prepared { "" } else { "not " },
                );
            }
        }
    }
    Ok(())
}
