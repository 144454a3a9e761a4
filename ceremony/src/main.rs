//! `zkpay-setup`: zkpay's trusted-setup tool. Phase 1: checking a powers-of-tau file. Phase 2,
//! per circuit, in snarkjs's `.zkey` format: `r1cs`, `new`, `contribute`, `beacon`, `verify`,
//! `export`. See docs/ceremony.md.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkpay_ceremony::circuit::{circuit, Circuit, Kind};
use zkpay_ceremony::phase2;
use zkpay_ceremony::ptau::Ptau;
use zkpay_ceremony::zkey::{Source, Zkey};
use zkpay_protocol::batch::Profile;
use zkpay_prover::{Params, Reduction};

#[derive(Parser)]
#[command(name = "zkpay-setup", version, about = "zkpay trusted setup")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum CircuitArg {
    /// The payment circuit (wallets prove it).
    Payment,
    /// The batch chunk circuit (the sequencer proves it).
    Batch,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// Production sizes.
    Full,
    /// Small sizes for tests.
    Test,
}

#[derive(clap::Args)]
struct Which {
    /// Which circuit.
    #[arg(long)]
    circuit: CircuitArg,
    /// Parameter profile (the node's --profile).
    #[arg(long, default_value = "full")]
    profile: ProfileArg,
}

impl Which {
    fn build(&self) -> Result<Circuit> {
        let kind = match self.circuit {
            CircuitArg::Payment => Kind::Payment,
            CircuitArg::Batch => Kind::Batch,
        };
        Ok(circuit(kind, self.profile())?)
    }

    fn profile(&self) -> Profile {
        match self.profile {
            ProfileArg::Full => Profile::Full,
            ProfileArg::Test => Profile::Test,
        }
    }
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
    /// Write a circuit's constraint system as a circom `.r1cs` file (for snarkjs).
    R1cs {
        #[command(flatten)]
        which: Which,
        /// Output file.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Start a ceremony: the initial `.zkey` of a circuit from a verified, prepared .ptau.
    New {
        #[command(flatten)]
        which: Which,
        /// Powers of tau (prepared for phase 2).
        #[arg(long)]
        ptau: PathBuf,
        /// Output `.zkey`.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Add a contribution with secret randomness (the OS's, mixed with typed text).
    Contribute {
        /// The last `.zkey` of the ceremony.
        input: PathBuf,
        /// The new `.zkey`.
        output: PathBuf,
        /// Your name, recorded in the key (up to 64 characters).
        #[arg(long)]
        name: Option<String>,
        /// Extra entropy text; asked for on a terminal when not given (prefer the prompt or the
        /// environment: a command line is visible to other users of the machine).
        #[arg(long, env = "ZKPAY_SETUP_ENTROPY", hide_env_values = true)]
        entropy: Option<String>,
    },
    /// Add the final contribution from a public random beacon.
    Beacon {
        /// The last `.zkey` of the ceremony.
        input: PathBuf,
        /// The new `.zkey`.
        output: PathBuf,
        /// The beacon value, hex (for example a block hash announced in advance).
        #[arg(long)]
        value: String,
        /// 2^EXP SHA-256 iterations over the value (10 to 63).
        #[arg(long)]
        exp: u32,
        /// A name recorded in the key.
        #[arg(long)]
        name: Option<String>,
    },
    /// Verify a `.zkey` against the circuit and the powers of tau, and list its contributions.
    Verify {
        #[command(flatten)]
        which: Which,
        /// Powers of tau the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// The `.zkey`.
        zkey: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a final `.zkey` and export the keys nodes and wallets load (`--params DIR`).
    Export {
        #[command(flatten)]
        which: Which,
        /// Powers of tau the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// The final `.zkey`.
        zkey: PathBuf,
        /// Parameters directory (created; its manifest.json gains the circuit's entry).
        #[arg(long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Reads a key with every check but the subgroup check of its B2 section: a contribution
/// copies B2 unchanged, and `verify` (which `export` runs too) checks every B2 point itself
/// before comparing B2 with the circuit's. That check is a scalar multiplication per point and
/// would otherwise be most of a contribution's time.
fn read_zkey(path: &Path) -> Result<Zkey> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Zkey::from_bytes_for_contribution(&bytes).with_context(|| path.display().to_string())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Opens the powers of tau for a circuit of domain 2^`power` and checks the powers its key is
/// made from (`Ptau::verify_powers_for`; `zkpay-setup ptau` checks the whole file).
fn open_ptau(path: &Path, power: u32) -> Result<Ptau> {
    let p = Ptau::open(path).with_context(|| path.display().to_string())?;
    p.verify_powers_for(power)
        .with_context(|| format!("{}: phase-1 check", path.display()))?;
    Ok(p)
}

fn verify(which: &Which, ptau: &Path, zkey: &Path) -> Result<(Circuit, Zkey, phase2::Report)> {
    let c = which.build()?;
    let p = open_ptau(ptau, c.r1cs.domain_power())?;
    let z = read_zkey(zkey)?;
    let report = phase2::verify(&c.r1cs, &p, &z)
        .with_context(|| format!("{} does not verify", zkey.display()))?;
    Ok((c, z, report))
}

fn describe(source: &Source) -> String {
    match source {
        Source::Secret => "contribution".into(),
        Source::Beacon { value, exp } => {
            format!("beacon {} iterated 2^{exp}", hex::encode(value))
        }
    }
}

fn report_json(r: &phase2::Report) -> serde_json::Value {
    serde_json::json!({
        "circuit_hash": hex::encode(r.cs_hash),
        "transcript_hash": hex::encode(r.transcript_hash),
        "contributions": r.contributions.iter().map(|c| serde_json::json!({
            "hash": hex::encode(c.hash),
            "name": c.name,
            "kind": match c.source { Source::Secret => "contribution", Source::Beacon { .. } => "beacon" },
        })).collect::<Vec<_>>(),
    })
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
        Cmd::R1cs { which, out } => {
            let c = which.build()?;
            write_file(&out, &c.r1cs.to_bytes())?;
            println!(
                "{}: {} constraints, {} wires, {} public inputs, domain 2^{} (shape {})",
                c.name,
                c.r1cs.constraints.len(),
                c.r1cs.num_wires,
                c.r1cs.num_public,
                c.r1cs.domain_power(),
                hex::encode(c.shape)
            );
        }
        Cmd::New { which, ptau, out } => {
            let c = which.build()?;
            let p = open_ptau(&ptau, c.r1cs.domain_power())?;
            let z = phase2::new_zkey(&c.r1cs, &p)?;
            write_file(&out, &z.to_bytes())?;
            println!(
                "{}: initial key (no contribution yet: insecure until at least one)\ncircuit hash {}",
                out.display(),
                hex::encode(z.cs_hash)
            );
        }
        Cmd::Contribute {
            input,
            output,
            name,
            entropy,
        } => {
            let z = read_zkey(&input)?;
            let entropy = zeroize::Zeroizing::new(match entropy {
                Some(e) => e,
                None if std::io::stdin().is_terminal() => {
                    eprint!("Type some random text (extra entropy, not stored): ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line
                }
                None => String::new(),
            });
            let (next, hash) = phase2::contribute_owned(z, &entropy, name)?;
            drop(entropy);
            write_file(&output, &next.to_bytes())?;
            println!(
                "contribution #{} written to {}\ncontribution hash (publish it):\n{}",
                next.contributions.len(),
                output.display(),
                hex::encode(hash)
            );
        }
        Cmd::Beacon {
            input,
            output,
            value,
            exp,
            name,
        } => {
            let z = read_zkey(&input)?;
            let v = hex::decode(value.trim()).context("the beacon value must be hex")?;
            let (next, hash) = phase2::beacon(&z, &v, exp, name)?;
            write_file(&output, &next.to_bytes())?;
            println!(
                "beacon contribution #{} written to {}\ncontribution hash:\n{}",
                next.contributions.len(),
                output.display(),
                hex::encode(hash)
            );
        }
        Cmd::Verify {
            which,
            ptau,
            zkey,
            json,
        } => {
            let started = Instant::now();
            let (c, _z, r) = verify(&which, &ptau, &zkey)?;
            if json {
                let mut v = report_json(&r);
                v["circuit"] = c.name.into();
                v["verified"] = true.into();
                v["seconds"] = started.elapsed().as_secs_f64().into();
                println!("{v}");
            } else {
                println!("{}: valid for {}", zkey.display(), c.name);
                println!("circuit hash {}", hex::encode(r.cs_hash));
                for (i, k) in r.contributions.iter().enumerate() {
                    println!(
                        "#{} {} {}\n   {}",
                        i + 1,
                        describe(&k.source),
                        k.name.as_deref().unwrap_or(""),
                        hex::encode(k.hash)
                    );
                }
                if r.contributions.is_empty() {
                    println!("no contribution: this key is insecure (anyone can forge proofs)");
                }
                println!("transcript hash {}", hex::encode(r.transcript_hash));
            }
        }
        Cmd::Export {
            which,
            ptau,
            zkey,
            out,
            json,
        } => {
            let (c, z, r) = verify(&which, &ptau, &zkey)?;
            if r.contributions.is_empty() {
                bail!(
                    "{} has no contribution: its δ is 1 and anyone can forge proofs; refusing to export",
                    zkey.display()
                );
            }
            let pk = phase2::proving_key(&z);
            let hashes: Vec<String> = r
                .contributions
                .iter()
                .map(|k| hex::encode(k.hash))
                .collect();
            let ptau_sha256 = sha256_file(&ptau)?;
            let entry = Params::write(
                &out,
                &c.name,
                c.shape,
                &pk,
                Reduction::Circom,
                &r.transcript_hash,
                &hashes,
                &ptau_sha256,
                c.inputs,
            )?;
            // load back through the node's own checks
            let params = Params::open(&out)?;
            let profile = which.profile();
            let keys = match which.circuit {
                CircuitArg::Payment => params.keys(
                    &c.name,
                    zkpay_circuits::payment::PaymentCircuit::blank(profile.params().depth),
                    c.inputs,
                )?,
                CircuitArg::Batch => params.keys(
                    &c.name,
                    zkpay_circuits::batch::BatchCircuit::blank(profile.params()),
                    c.inputs,
                )?,
            };
            let manifest_sha256 = params.manifest_hash()?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "circuit": c.name,
                        "dir": out,
                        "key_id": keys.id().to_hex(),
                        "entry": entry,
                        "manifest_sha256": manifest_sha256,
                    })
                );
            } else {
                println!(
                    "{}: keys of {} exported (key id {}, transcript hash {}, {} contribution(s))\n\
                     manifest SHA-256 (publish it; nodes and wallets pin it with \
                     --params-sha256):\n{manifest_sha256}",
                    out.display(),
                    c.name,
                    keys.id().to_hex(),
                    entry.transcript_hash,
                    entry.contributions.len(),
                );
            }
        }
    }
    Ok(())
}
