//! The same payment circuit proven by snarkjs on the same machine: zkpay exports its R1CS and a
//! witness in the iden3 binary formats (`.r1cs`, `.wtns`), snarkjs checks the witness against
//! the constraints, runs its own setup, and proves (`tools/snarkjs/bench.js`). The circuit is
//! identical constraint for constraint, so the two times compare the provers alone.

use anyhow::{bail, Context, Result};
use ark_ff::PrimeField;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zkpay_circuits::payment::PaymentCircuit;
use zkpay_verifier::F;

/// What snarkjs measured.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnarkjsRun {
    /// snarkjs version.
    pub snarkjs: String,
    /// Node.js version.
    pub node: String,
    /// `snarkjs wtns check` (ms).
    pub witness_check_ms: f64,
    /// Powers of tau (ms; 0 when cached).
    pub ptau_ms: f64,
    /// `groth16 setup` and key export (ms).
    pub setup_ms: f64,
    /// Median proof (ms).
    pub prove_median_ms: f64,
    /// Every timed proof (ms).
    pub prove_samples_ms: Vec<f64>,
    /// Every proof verified.
    pub verified: bool,
    /// snarkjs computed the same public inputs as zkpay.
    pub public_inputs_match: bool,
}

/// The comparison.
#[derive(Debug, Serialize)]
pub struct SnarkjsComparison {
    /// Tree depth of the payment circuit.
    pub tree_depth: usize,
    /// Constraints.
    pub constraints: usize,
    /// snarkjs figures, or why they are missing.
    pub snarkjs: Option<SnarkjsRun>,
    /// Why snarkjs did not run.
    pub skipped: Option<String>,
}

/// Writes `circuit.r1cs`, `witness.wtns` and `public.json` for a payment at `depth`. Wire 0 is
/// the constant one, wires 1..=9 the public inputs, then the witness, in arkworks' order after
/// the same synthesis Groth16 performs. Returns the constraint count.
pub fn export_payment(dir: &Path, depth: usize, seed: u64) -> Result<usize> {
    let w = crate::proving::transfer_witness(depth, seed)?;
    let (circuit, public) = PaymentCircuit::new(&w, depth)?;
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: true,
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    if !cs.is_satisfied()? {
        bail!("witness does not satisfy the circuit");
    }
    let r1cs = zkpay_prover::r1cs::R1cs::of_cs(&cs)?;
    std::fs::write(dir.join("circuit.r1cs"), r1cs.to_bytes())?;
    let assignment = [cs.instance_assignment()?, cs.witness_assignment()?].concat();
    std::fs::write(
        dir.join("witness.wtns"),
        zkpay_prover::r1cs::wtns_bytes(&assignment),
    )?;
    let m = r1cs.constraints.len();
    let publics: Vec<String> = public
        .public_inputs()
        .iter()
        .map(|x| x.into_bigint().to_string())
        .collect();
    std::fs::write(dir.join("public.json"), serde_json::to_vec(&publics)?)?;
    Ok(m)
}

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/snarkjs")
}

/// Exports the payment circuit at `depth` and proves it with snarkjs (`samples` timed proofs
/// after a warm-up; `samples == 0` only has snarkjs check the exported witness against the
/// exported constraints). Powers of tau are cached in `work`. Without Node.js or the pinned
/// snarkjs (`scripts/bootstrap.sh` installs both) the comparison says why it was skipped.
pub fn compare(work: &Path, depth: usize, samples: usize) -> Result<SnarkjsComparison> {
    std::fs::create_dir_all(work)?;
    let constraints = export_payment(work, depth, 1)?;
    let tools = tools_dir();
    let skipped = |why: String| {
        Ok(SnarkjsComparison {
            tree_depth: depth,
            constraints,
            snarkjs: None,
            skipped: Some(why),
        })
    };
    if !tools.join("node_modules/snarkjs/package.json").exists() {
        return skipped("snarkjs is not installed (run scripts/bootstrap.sh)".into());
    }
    // domain: constraints + public inputs + 1, rounded up to a power of two
    let power = (constraints + 10)
        .next_power_of_two()
        .trailing_zeros()
        .max(8);
    let out = match std::process::Command::new("node")
        .arg(tools.join("bench.js"))
        .arg(work)
        .arg(power.to_string())
        .arg(samples.to_string())
        .args((samples == 0).then_some("check-only"))
        .output()
    {
        Ok(o) => o,
        Err(e) => return skipped(format!("node is not available: {e}")),
    };
    if !out.status.success() {
        bail!(
            "snarkjs failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    let run: SnarkjsRun = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("snarkjs said {}", String::from_utf8_lossy(&out.stdout)))?;
    Ok(SnarkjsComparison {
        tree_depth: depth,
        constraints,
        snarkjs: Some(run),
        skipped: None,
    })
}
