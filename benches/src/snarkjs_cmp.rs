//! The same payment circuit proven by snarkjs on the same machine: zkpay exports its R1CS and a
//! witness in the iden3 binary formats (`.r1cs`, `.wtns`), snarkjs checks the witness against
//! the constraints, runs its own setup, and proves (`tools/snarkjs/bench.js`). The circuit is
//! identical constraint for constraint, so the two times compare the provers alone.

use anyhow::{bail, Context, Result};
use ark_ff::{BigInteger, PrimeField};
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

fn section(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
}

fn fe_le(x: &F) -> Vec<u8> {
    let mut b = x.into_bigint().to_bytes_le();
    b.resize(32, 0);
    b
}

fn prime_le() -> Vec<u8> {
    let mut b = F::MODULUS.to_bytes_le();
    b.resize(32, 0);
    b
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
    let matrices = cs.to_matrices()?;
    let abc = matrices
        .get(ark_relations::gr1cs::R1CS_PREDICATE_LABEL)
        .context("no R1CS matrices")?;
    let (a, b, c) = (&abc[0], &abc[1], &abc[2]);
    let instance = cs.instance_assignment()?;
    let witness = cs.witness_assignment()?;
    let n_pub = instance.len() - 1;
    let n_wires = instance.len() + witness.len();
    let m = a.len();

    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&prime_le());
    header.extend_from_slice(&(n_wires as u32).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // public outputs
    header.extend_from_slice(&(n_pub as u32).to_le_bytes()); // public inputs
    header.extend_from_slice(&0u32.to_le_bytes()); // private inputs
    header.extend_from_slice(&(n_wires as u64).to_le_bytes()); // labels
    header.extend_from_slice(&(m as u32).to_le_bytes());
    let mut cons = Vec::new();
    for i in 0..m {
        for mat in [a, b, c] {
            let mut row = mat[i].clone();
            row.sort_by_key(|(_, v)| *v);
            cons.extend_from_slice(&(row.len() as u32).to_le_bytes());
            for (coeff, var) in row {
                cons.extend_from_slice(&(var as u32).to_le_bytes());
                cons.extend_from_slice(&fe_le(&coeff));
            }
        }
    }
    let mut map = Vec::new();
    for i in 0..n_wires as u64 {
        map.extend_from_slice(&i.to_le_bytes());
    }
    let mut r1cs = b"r1cs".to_vec();
    r1cs.extend_from_slice(&1u32.to_le_bytes());
    r1cs.extend_from_slice(&3u32.to_le_bytes());
    section(&mut r1cs, 1, &header);
    section(&mut r1cs, 2, &cons);
    section(&mut r1cs, 3, &map);
    std::fs::write(dir.join("circuit.r1cs"), r1cs)?;

    let mut wh = Vec::new();
    wh.extend_from_slice(&32u32.to_le_bytes());
    wh.extend_from_slice(&prime_le());
    wh.extend_from_slice(&(n_wires as u32).to_le_bytes());
    let mut values = Vec::new();
    for x in instance.iter().chain(witness.iter()) {
        values.extend_from_slice(&fe_le(x));
    }
    let mut wtns = b"wtns".to_vec();
    wtns.extend_from_slice(&2u32.to_le_bytes());
    wtns.extend_from_slice(&2u32.to_le_bytes());
    section(&mut wtns, 1, &wh);
    section(&mut wtns, 2, &values);
    std::fs::write(dir.join("witness.wtns"), wtns)?;
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
