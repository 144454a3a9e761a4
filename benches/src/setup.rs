//! `zkpay-bench setup`: the trusted-setup tools' speed, zkpay's next to snarkjs's on the same
//! files in the same run: the phase-1 import (`.ptau` checks), and for the payment key and the
//! batch chunk key the phase-2 `contribute` and `verify` (which recomputes the initial key from
//! the circuit and the powers of tau), by `zkpay-ceremony` and by `snarkjs zkey contribute` /
//! `zkey verify`.
//!
//! The powers of tau are computed from random secrets (`zkpay_ceremony::testing`): snarkjs's
//! `powersoftau prepare phase2` takes hours at the 2^19 the full chunk circuit needs, and the
//! phase-2 work is the same whatever made the phase-1 file.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use zkpay_ceremony::circuit::{circuit, Kind};
use zkpay_ceremony::phase2;
use zkpay_ceremony::ptau::Ptau;
use zkpay_ceremony::zkey::Zkey;
use zkpay_protocol::batch::Profile;

/// One circuit's figures (seconds).
#[derive(Debug, Serialize)]
pub struct KeyTimes {
    /// Key name.
    pub circuit: String,
    /// Constraints.
    pub constraints: usize,
    /// log2 of the domain.
    pub domain_log2: u32,
    /// zkpay: the initial key.
    pub new_s: f64,
    /// zkpay: one contribution (read, contribute, write).
    pub contribute_s: f64,
    /// zkpay: verify the key (phase-1 check of the .ptau, initial key, chain, L and H).
    pub verify_s: f64,
    /// snarkjs `zkey contribute` on the same key (`None` when snarkjs is missing or failed).
    pub snarkjs_contribute_s: Option<f64>,
    /// snarkjs `zkey verify` of the same key.
    pub snarkjs_verify_s: Option<f64>,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct SetupReport {
    /// Profile.
    pub profile: String,
    /// Power of the powers of tau.
    pub ptau_power: u32,
    /// zkpay: open and check the .ptau (phase-1 consistency).
    pub ptau_import_s: f64,
    /// The payment key.
    pub payment: KeyTimes,
    /// The batch chunk key.
    pub batch_chunk: KeyTimes,
    /// Why snarkjs figures are missing, if they are.
    pub snarkjs_skipped: Option<String>,
}

fn snarkjs_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/snarkjs/node_modules/snarkjs/build/cli.cjs")
}

fn snarkjs(dir: &Path, args: &[&str]) -> Result<f64> {
    let t = Instant::now();
    let out = Command::new("node")
        .arg("--max-old-space-size=16384")
        .arg(snarkjs_cli())
        .args(args)
        .current_dir(dir)
        .output()
        .context("running node")?;
    if !out.status.success() {
        bail!(
            "snarkjs {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(t.elapsed().as_secs_f64())
}

fn measure(
    work: &Path,
    kind: Kind,
    profile: Profile,
    ptau_path: &Path,
    with_snarkjs: bool,
) -> Result<KeyTimes> {
    let c = circuit(kind, profile)?;
    let name = c.name.clone();
    let r1cs_file = format!("{name}.r1cs");
    std::fs::write(work.join(&r1cs_file), c.r1cs.to_bytes())?;
    let ptau = Ptau::open(ptau_path)?;
    let t = Instant::now();
    let init = phase2::new_zkey(&c.r1cs, &ptau)?;
    let new_s = t.elapsed().as_secs_f64();
    let z0 = work.join(format!("{name}_0.zkey"));
    std::fs::write(&z0, init.to_bytes())?;
    // contribute: read the last key, contribute, write the next, as a contributor does
    let t = Instant::now();
    let z = Zkey::from_bytes_for_contribution(&std::fs::read(&z0)?)?;
    let (next, _) = phase2::contribute_owned(z, "bench", Some("bench".into()))?;
    let z1 = work.join(format!("{name}_1.zkey"));
    std::fs::write(&z1, next.to_bytes())?;
    let contribute_s = t.elapsed().as_secs_f64();
    drop(next);
    // verify: everything `zkpay-setup verify` does (the phase-1 check of the powers the key
    // is made from, the key read, the whole chain checked from the circuit)
    let t = Instant::now();
    let ptau = Ptau::open(ptau_path)?;
    ptau.verify_powers_for(c.r1cs.domain_power())?;
    // read as `zkpay-setup verify` reads it: `phase2::verify` subgroup-checks B2 itself
    let z = Zkey::from_bytes_for_contribution(&std::fs::read(&z1)?)?;
    phase2::verify(&c.r1cs, &ptau, &z)?;
    let verify_s = t.elapsed().as_secs_f64();
    drop(z);
    let (mut sc, mut sv) = (None, None);
    if with_snarkjs {
        let z1n = z1.to_string_lossy().to_string();
        let z2 = format!("{name}_2.zkey");
        sc = Some(snarkjs(
            work,
            &["zkey", "contribute", &z1n, &z2, "--name=bench", "-e=bench"],
        )?);
        let p = ptau_path.to_string_lossy().to_string();
        sv = Some(snarkjs(work, &["zkey", "verify", &r1cs_file, &p, &z1n])?);
    }
    Ok(KeyTimes {
        circuit: name,
        constraints: c.r1cs.constraints.len(),
        domain_log2: c.r1cs.domain_power(),
        new_s,
        contribute_s,
        verify_s,
        snarkjs_contribute_s: sc,
        snarkjs_verify_s: sv,
    })
}

/// Runs the setup benchmark in `work` (the powers of tau are kept there between runs).
pub fn setup_report(work: &Path, profile: Profile, snarkjs_too: bool) -> Result<SetupReport> {
    std::fs::create_dir_all(work)?;
    let payment = circuit(Kind::Payment, profile)?;
    let chunk = circuit(Kind::Batch, profile)?;
    // one more than the largest domain: snarkjs's circuit hash reads τ^i up to 2·2^power − 1
    let power = payment.r1cs.domain_power().max(chunk.r1cs.domain_power()) + 1;
    drop((payment, chunk));
    let ptau_path = work.join(format!("random-{power}.ptau"));
    if !ptau_path.exists() {
        zkpay_ceremony::testing::write_random_ptau(&ptau_path, power)?;
    }
    let t = Instant::now();
    let ptau = Ptau::open(&ptau_path)?;
    ptau.verify_powers()?;
    let ptau_import_s = t.elapsed().as_secs_f64();
    let skipped = (!snarkjs_too)
        .then(|| "not requested (--no-snarkjs)".to_string())
        .or_else(|| {
            (!snarkjs_cli().exists())
                .then(|| "snarkjs is not installed (run scripts/bootstrap.sh)".to_string())
        });
    let with = skipped.is_none();
    Ok(SetupReport {
        profile: profile.name().into(),
        ptau_power: power,
        ptau_import_s,
        payment: measure(work, Kind::Payment, profile, &ptau_path, with)?,
        batch_chunk: measure(work, Kind::Batch, profile, &ptau_path, with)?,
        snarkjs_skipped: skipped,
    })
}
