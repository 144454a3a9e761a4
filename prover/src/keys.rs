//! Groth16 setup and the on-disk key cache.
//!
//! Keys are cached under `<data dir>/keys/` by circuit *shape*: SHA-256 of the circuit's name
//! and its R1CS matrices, so any change to the circuit gets a new key. A proving-key file is
//! `"ZKPAYPK1" || SHA-256(payload) || payload` (uncompressed arkworks encoding, checksummed);
//! the verifying key sits beside it in its canonical encoding, and its id (SHA-256 of those
//! bytes) must match the proving key's embedded key on load. Files are written atomically.

use crate::groth16::{self, Images};
use crate::qap::{CircomReduction, LibsnarkReduction, Reduction};
use crate::ProverError;
use ark_bn254::Bn254;
use ark_ff::UniformRand;
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_relations::utils::matrix::Matrix;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use zeroize::{Zeroize, Zeroizing};
use zkpay_verifier::{decode_vk, encode_vk, KeyId, Verifier, VerifyingKeyInfo, F};

use crate::params::{pk_file, PK_MAGIC};

/// Where the toxic waste comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupMode {
    /// Deterministic from a seed: reproducible and **insecure** (anyone with the seed can forge
    /// proofs). For development, tests and benchmarks only.
    InsecureDevelopment {
        /// Seed of the ChaCha20 RNG.
        seed: u64,
    },
    /// From the operating system's RNG, discarded after setup.
    Production,
}

impl SetupMode {
    fn tag(&self) -> String {
        match self {
            SetupMode::InsecureDevelopment { seed } => format!("insecure-dev-{seed}"),
            SetupMode::Production => "prod".into(),
        }
    }
}

/// A proving key with its sanity-checked, prepared verifier.
#[derive(Clone)]
pub struct CircuitKeys {
    /// Proving key.
    pub pk: ProvingKey<Bn254>,
    /// Verifier of the same key.
    pub verifier: Verifier,
    /// Seconds the setup took (0 when loaded from the cache).
    pub setup_seconds: f64,
    /// Whether the keys came from the cache.
    pub from_cache: bool,
    /// The QAP reduction the proving key was made for.
    pub reduction: Reduction,
    /// The circuit's R1CS matrices: built when the keys load (or by the first proof) and used
    /// by every proof.
    pub matrices: MatrixCache,
}

/// The R1CS matrices of one circuit, shared by the clones of its [`CircuitKeys`]. The key
/// loaders fill it from the synthesis that computes the circuit's shape id (no witness), or the
/// first proof does from its own. Proofs then synthesise only the witness (no linear
/// combinations, no matrices), which removes a quarter to a third of a payment proof's time.
/// Every proof made on the cached matrices is verified before it is returned; should it fail
/// (matrices that do not fit the witness, or a witness that does not satisfy the circuit), the
/// proof is made again the full way, so the cache can never change what a caller gets.
///
/// It also keeps the images of the proving key's queries under the endomorphism
/// ([`crate::groth16::Images`]), made by the first proof.
#[derive(Clone, Default)]
pub struct MatrixCache(Arc<Cache>);

#[derive(Default)]
struct Cache {
    shape: OnceLock<Shape>,
    reused: AtomicU64,
    images: OnceLock<Images>,
}

impl std::fmt::Debug for MatrixCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.shape.get() {
            Some(s) => write!(f, "MatrixCache({} constraints)", s.num_constraints),
            None => write!(f, "MatrixCache(empty)"),
        }
    }
}

impl MatrixCache {
    /// Whether the matrices are cached.
    pub fn is_cached(&self) -> bool {
        self.0.shape.get().is_some()
    }

    /// How many proofs were made on the cached matrices by zkpay's prover and verified (the
    /// others, which did not verify or met an error there, were made by ark-groth16 from a
    /// full synthesis).
    pub fn reused(&self) -> u64 {
        self.0.reused.load(Ordering::Relaxed)
    }
}

struct Shape {
    matrices: Vec<Matrix<F>>,
    num_inputs: usize,
    num_witnesses: usize,
    num_constraints: usize,
}

impl CircuitKeys {
    /// Key id.
    pub fn id(&self) -> KeyId {
        self.verifier.key_id()
    }

    /// Proves `circuit` with these keys, under their reduction.
    ///
    /// The proof is made on the cached matrices (built now if the cache is empty) by zkpay's
    /// prover ([`crate::groth16`]) and verified before it is returned. Should it not verify
    /// (matrices that do not fit the witness, or a witness that does not satisfy the circuit),
    /// or should zkpay's prover refuse the key (queries that do not fit the circuit), it is
    /// made again by ark-groth16 from a full synthesis, so neither the cache nor zkpay's prover
    /// can change what a caller gets.
    pub fn prove<C: ConstraintSynthesizer<F> + Clone, R: RngCore + CryptoRng>(
        &self,
        circuit: C,
        rng: &mut R,
    ) -> Result<Proof<Bn254>, ProverError> {
        // the proof's randomness: whoever learns it and the proof learns Σ zᵢ·Aᵢ
        let r = Zeroizing::new(F::rand(rng));
        let s = Zeroizing::new(F::rand(rng));
        if let Some(proof) = self.prove_fast(circuit.clone(), *r, *s)? {
            return Ok(proof);
        }
        self.prove_reference(circuit, *r, *s)
    }

    /// Witness-only synthesis on the cached matrices (a full one that fills the cache when it
    /// is empty), zkpay's prover; `None` when the result does not verify.
    fn prove_fast<C: ConstraintSynthesizer<F>>(
        &self,
        circuit: C,
        r: F,
        s: F,
    ) -> Result<Option<Proof<Bn254>>, ProverError> {
        let (shape, cs) = match self.matrices.0.shape.get() {
            Some(shape) => (shape, synthesize(circuit, false)?),
            None => {
                let cs = synthesize(circuit, true)?;
                let shape = Shape::of(&cs)?;
                let shape = self.matrices.0.shape.get_or_init(|| shape);
                (shape, cs)
            }
        };
        if cs.num_instance_variables() != shape.num_inputs
            || cs.num_witness_variables() != shape.num_witnesses
        {
            return Ok(None);
        }
        let full = take_assignment(&cs)?;
        drop(cs);
        let (m, n, c) = (&shape.matrices, shape.num_inputs, shape.num_constraints);
        // Made outside the cell: `Images::new` runs rayon loops, which may run another proof
        // on this thread, and that proof must not wait on the cell this one is filling.
        if self.matrices.0.images.get().is_none() {
            let _ = self.matrices.0.images.set(Images::new(&self.pk));
        }
        let images = self.matrices.0.images.get();
        let made = match self.reduction {
            Reduction::Libsnark => {
                groth16::create_proof::<LibsnarkReduction>(&self.pk, images, r, s, m, n, c, &full)
            }
            Reduction::Circom => {
                groth16::create_proof::<CircomReduction>(&self.pk, images, r, s, m, n, c, &full)
            }
        };
        // an error (a key whose queries do not fit the circuit) also goes to the reference
        let Ok(proof) = made else {
            return Ok(None);
        };
        let ok = self.verifier.verify(&proof, &full[1..n]).is_ok();
        if ok {
            self.matrices.0.reused.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ok.then_some(proof))
    }

    /// ark-groth16's prover, from a full synthesis with this proof's own matrices: the
    /// reference that [`Self::prove`] falls back to.
    fn prove_reference<C: ConstraintSynthesizer<F>>(
        &self,
        circuit: C,
        r: F,
        s: F,
    ) -> Result<Proof<Bn254>, ProverError> {
        let cs = synthesize(circuit, true)?;
        let shape = Shape::of(&cs)?;
        let full = take_assignment(&cs)?;
        drop(cs);
        let (m, n, c) = (&shape.matrices, shape.num_inputs, shape.num_constraints);
        Ok(match self.reduction {
            Reduction::Libsnark => {
                Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
                    &self.pk, r, s, m, n, c, &full,
                )?
            }
            Reduction::Circom => {
                Groth16::<Bn254, CircomReduction>::create_proof_with_reduction_and_matrices(
                    &self.pk, r, s, m, n, c, &full,
                )?
            }
        })
    }
}

impl Shape {
    /// The R1CS matrices and sizes of a synthesised (and finalised) circuit.
    fn of(cs: &ConstraintSystemRef<F>) -> Result<Self, ProverError> {
        let mut all = cs.to_matrices()?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?;
        Ok(Shape {
            matrices,
            num_inputs: cs.num_instance_variables(),
            num_witnesses: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        })
    }
}

/// Synthesises `circuit` for proving, with or without its matrices.
fn synthesize<C: ConstraintSynthesizer<F>>(
    circuit: C,
    construct_matrices: bool,
) -> Result<ConstraintSystemRef<F>, ProverError> {
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs)
}

/// `[1, public inputs..., witnesses...]` of a synthesised circuit, wiped when dropped; the
/// circuit's own copies (its witness, public input and linear-combination assignments) are
/// wiped here. The witness holds the payer's secrets (spending key, notes, blindings).
fn take_assignment(cs: &ConstraintSystemRef<F>) -> Result<Zeroizing<Vec<F>>, ProverError> {
    let mut b = cs.borrow_mut().ok_or(SynthesisError::MissingCS)?;
    let a = &mut b.assignments;
    let mut full = Zeroizing::new(Vec::with_capacity(
        a.instance_assignment.len() + a.witness_assignment.len(),
    ));
    full.extend_from_slice(&a.instance_assignment);
    full.extend_from_slice(&a.witness_assignment);
    a.instance_assignment.zeroize();
    a.witness_assignment.zeroize();
    a.lc_assignment.zeroize();
    Ok(full)
}

/// Shape id of a circuit: SHA-256 of its name and R1CS matrices.
pub fn shape_id<C: ConstraintSynthesizer<F>>(
    name: &str,
    circuit: C,
) -> Result<[u8; 32], ProverError> {
    Ok(shape_of(name, circuit)?.0)
}

/// The shape id of a circuit and a matrix cache filled with its matrices, from one synthesis
/// without a witness: the keys' loaders use it, so the first proof needs no full synthesis.
pub(crate) fn shape_of<C: ConstraintSynthesizer<F>>(
    name: &str,
    circuit: C,
) -> Result<([u8; 32], MatrixCache), ProverError> {
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    let mut h = Sha256::new();
    h.update(b"zkpay/v1/circuit-shape");
    h.update((name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    h.update((cs.num_instance_variables() as u64).to_le_bytes());
    h.update((cs.num_witness_variables() as u64).to_le_bytes());
    h.update((cs.num_constraints() as u64).to_le_bytes());
    let mut matrices = cs.to_matrices()?;
    let mut buf = Vec::new();
    for (label, ms) in matrices.iter_mut() {
        h.update(label.as_bytes());
        for m in ms {
            h.update((m.len() as u64).to_le_bytes());
            for row in m {
                // Term order inside a row depends on hash-map iteration during inlining; the
                // shape must not, so hash every row in variable order (the order of a row's
                // terms does not matter to the prover).
                row.sort_by_key(|(_, var)| *var);
                h.update((row.len() as u64).to_le_bytes());
                for (coeff, var) in row.iter() {
                    buf.clear();
                    let _ = coeff.serialize_compressed(&mut buf);
                    h.update(&buf);
                    h.update((*var as u64).to_le_bytes());
                }
            }
        }
    }
    let shape = Shape {
        matrices: matrices
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?,
        num_inputs: cs.num_instance_variables(),
        num_witnesses: cs.num_witness_variables(),
        num_constraints: cs.num_constraints(),
    };
    let cache = MatrixCache::default();
    let _ = cache.0.shape.set(shape);
    Ok((h.finalize().into(), cache))
}

/// Runs a Groth16 setup, with a spinner on a terminal.
pub fn setup<C: ConstraintSynthesizer<F>>(
    name: &str,
    circuit: C,
    mode: SetupMode,
) -> Result<ProvingKey<Bn254>, ProverError> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("Groth16 setup for {name} ({})", mode.tag()));
    bar.enable_steady_tick(Duration::from_millis(120));
    let pk = match mode {
        SetupMode::InsecureDevelopment { seed } => {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            Groth16::<Bn254>::circuit_specific_setup(circuit, &mut rng)?.0
        }
        SetupMode::Production => {
            let mut rng = rand::rngs::OsRng;
            Groth16::<Bn254>::circuit_specific_setup(circuit, &mut rng)?.0
        }
    };
    bar.finish_and_clear();
    Ok(pk)
}

/// The toxic waste of the development setup of `seed`: arkworks draws α, β, γ, δ and the two
/// generators from the seeded ChaCha20 stream before it looks at the circuit, so they are the
/// same for every circuit. Anyone can compute them, which is why development keys let anyone
/// forge proofs (see the forging test) and only the dev network runs on them.
#[derive(Clone, Debug)]
pub struct DevelopmentTrapdoor {
    /// α.
    pub alpha: F,
    /// β.
    pub beta: F,
    /// γ.
    pub gamma: F,
    /// δ.
    pub delta: F,
    /// The G1 generator the setup used.
    pub g1: ark_bn254::G1Projective,
    /// The G2 generator the setup used.
    pub g2: ark_bn254::G2Projective,
}

/// The toxic waste of [`SetupMode::InsecureDevelopment`] with `seed`.
pub fn development_trapdoor(seed: u64) -> DevelopmentTrapdoor {
    use ark_std::UniformRand;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    DevelopmentTrapdoor {
        alpha: F::rand(&mut rng),
        beta: F::rand(&mut rng),
        gamma: F::rand(&mut rng),
        delta: F::rand(&mut rng),
        g1: ark_bn254::G1Projective::rand(&mut rng),
        g2: ark_bn254::G2Projective::rand(&mut rng),
    }
}

/// Whether `vk` came from the development setup of `seed` (its α·G1 is the seed's).
pub fn is_development_key(vk: &ark_groth16::VerifyingKey<Bn254>, seed: u64) -> bool {
    use ark_ec::CurveGroup;
    let t = development_trapdoor(seed);
    (t.g1 * t.alpha).into_affine() == vk.alpha_g1
}

/// The on-disk key cache.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), ProverError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        std::process::id()
    ));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl KeyStore {
    /// A cache in `<data_dir>/keys`.
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        Self {
            dir: data_dir.as_ref().join("keys"),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, name: &str, shape: &[u8; 32], mode: SetupMode) -> (PathBuf, PathBuf) {
        let stem = format!("{name}-{}-{}", &hex::encode(shape)[..16], mode.tag());
        (
            self.dir.join(format!("{stem}.pk")),
            self.dir.join(format!("{stem}.vk")),
        )
    }

    /// Loads the keys of `circuit`'s shape, or runs the setup and caches them. `inputs` is the
    /// statement's number of public inputs; `pinned` an expected key id.
    pub fn load_or_create<C: ConstraintSynthesizer<F> + Clone>(
        &self,
        name: &str,
        circuit: C,
        inputs: usize,
        mode: SetupMode,
        pinned: Option<KeyId>,
    ) -> Result<CircuitKeys, ProverError> {
        let (shape, matrices) = shape_of(name, circuit.clone())?;
        let (pk_path, vk_path) = self.paths(name, &shape, mode);
        if pk_path.exists() && vk_path.exists() {
            let mut keys = Self::load(&pk_path, &vk_path, inputs, pinned)?;
            keys.matrices = matrices;
            return Ok(keys);
        }
        let t = Instant::now();
        let pk = setup(name, circuit, mode)?;
        let setup_seconds = t.elapsed().as_secs_f64();
        let info = VerifyingKeyInfo::check(pk.vk.clone(), inputs, pinned)?;
        let file = pk_file(&pk)?;
        write_atomic(&pk_path, &file)?;
        write_atomic(&vk_path, &encode_vk(&pk.vk))?;
        Ok(CircuitKeys {
            pk,
            verifier: Verifier::new(info),
            setup_seconds,
            from_cache: false,
            reduction: Reduction::Libsnark,
            matrices,
        })
    }

    /// Loads and checks a cached key pair.
    pub fn load(
        pk_path: &Path,
        vk_path: &Path,
        inputs: usize,
        pinned: Option<KeyId>,
    ) -> Result<CircuitKeys, ProverError> {
        let bad = |p: &Path, why: String| ProverError::KeyFile {
            path: p.display().to_string(),
            why,
        };
        let vk_bytes = fs::read(vk_path)?;
        let vk = decode_vk(&vk_bytes).map_err(|e| bad(vk_path, e.to_string()))?;
        let info = VerifyingKeyInfo::check(vk, inputs, pinned)?;
        let file = fs::read(pk_path)?;
        if file.len() < 40 || &file[..8] != PK_MAGIC {
            return Err(bad(pk_path, "not a zkpay proving key".into()));
        }
        let payload = &file[40..];
        if Sha256::digest(payload).as_slice() != &file[8..40] {
            return Err(bad(pk_path, "checksum mismatch (corrupt file)".into()));
        }
        // The checksum guards against corruption; the points were validated when generated.
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(payload)
            .map_err(|e| bad(pk_path, e.to_string()))?;
        if KeyId::of(&pk.vk) != info.id {
            return Err(bad(
                pk_path,
                "proving key does not belong to the verifying key beside it".into(),
            ));
        }
        Ok(CircuitKeys {
            pk,
            verifier: Verifier::new(info),
            setup_seconds: 0.0,
            from_cache: true,
            reduction: Reduction::Libsnark,
            matrices: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::{ConstraintSynthesizer, LinearCombination, Variable};

    /// x public, y = x² and w = y·x witnesses.
    #[derive(Clone)]
    struct Cube(F);

    impl ConstraintSynthesizer<F> for Cube {
        fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
            let x = cs.new_input_variable(|| Ok(self.0))?;
            let y = cs.new_witness_variable(|| Ok(self.0 * self.0))?;
            let w = cs.new_witness_variable(|| Ok(self.0 * self.0 * self.0))?;
            let lc = |v: Variable| LinearCombination::from(v);
            cs.enforce_r1cs_constraint(|| lc(x), || lc(x), || lc(y))?;
            cs.enforce_r1cs_constraint(|| lc(y), || lc(x), || lc(w))?;
            Ok(())
        }
    }

    #[test]
    fn the_assignment_is_taken_and_the_circuit_s_copies_are_wiped() {
        let x = F::from(3u64);
        for matrices in [false, true] {
            let cs = synthesize(Cube(x), matrices).expect("synthesis");
            assert!(cs.is_satisfied().expect("prove mode"));
            let full = take_assignment(&cs).expect("assignment");
            assert_eq!(
                full.as_slice(),
                &[F::from(1u64), x, F::from(9u64), F::from(27u64)]
            );
            // zeroize writes zeros over a vector's memory, then empties it
            let b = cs.borrow().expect("cs");
            let a = &b.assignments;
            for v in [
                &a.instance_assignment,
                &a.witness_assignment,
                &a.lc_assignment,
            ] {
                assert!(v.is_empty(), "{v:?}");
            }
            assert_eq!(b.num_witness_variables, 2);
        }
    }
}
