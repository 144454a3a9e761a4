//! Keys from a trusted-setup ceremony: a parameters directory with a manifest.
//!
//! `zkpay-setup export` writes, for each circuit, `<name>.pk` (the proving key, in the key
//! cache's format) and `<name>.vk` (the verifying key), and records them in `manifest.json`:
//! the circuit's shape id, the key id, the ceremony's transcript hash and contribution hashes,
//! and the SHA-256 of the proving-key file. Nodes (`--params DIR`) and wallets load keys only
//! through [`Params`], which refuses, naming the circuit and the reason: a missing manifest,
//! entry or file; a key for another circuit shape; a key whose id or file hash differs from the
//! manifest; points off the curve or outside the prime-order subgroup; and insecure keys (the
//! public development seed's, or a key without any phase-2 contribution, δ = 1).

use crate::keys::{is_development_key, shape_of, CircuitKeys};
use crate::qap::Reduction;
use crate::ProverError;
use ark_bn254::{Bn254, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::Zero;
use ark_groth16::ProvingKey;
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use zkpay_verifier::{decode_vk, encode_vk, KeyId, Verifier, VerifyingKeyInfo, F};

/// Magic of a proving-key file (shared with the key cache).
pub const PK_MAGIC: &[u8; 8] = b"ZKPAYPK1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// One circuit's keys in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Shape id of the circuit (hex).
    pub shape_id: String,
    /// Key id (hex SHA-256 of the verifying key).
    pub key_id: String,
    /// Number of public inputs.
    pub public_inputs: usize,
    /// The reduction the proving key is for.
    pub reduction: Reduction,
    /// BLAKE2b-512 over the ceremony's circuit hash and every contribution (hex).
    pub transcript_hash: String,
    /// Every contribution's hash, oldest first (hex), as their contributors published them.
    pub contributions: Vec<String>,
    /// SHA-256 of the powers-of-tau file the ceremony started from (hex), to compare with the
    /// hash its phase-1 ceremony published.
    pub ptau_sha256: String,
    /// Proving-key file, relative to the directory.
    pub proving_key: String,
    /// SHA-256 of the proving-key file (hex).
    pub proving_key_sha256: String,
    /// Verifying-key file, relative to the directory.
    pub verifying_key: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    /// Entries by circuit name (`payment-d16`, `batch-d16-c8`, ...).
    pub circuits: BTreeMap<String, Entry>,
}

fn bad(path: &Path, why: impl Into<String>) -> ProverError {
    ProverError::KeyFile {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// The proving-key file bytes: magic, SHA-256 of the payload, payload (uncompressed arkworks).
pub fn pk_file(pk: &ProvingKey<Bn254>) -> Result<Vec<u8>, ProverError> {
    let mut payload = Vec::new();
    pk.serialize_uncompressed(&mut payload)
        .map_err(|e| bad(Path::new("proving key"), e.to_string()))?;
    let mut file = Vec::with_capacity(payload.len() + 40);
    file.extend_from_slice(PK_MAGIC);
    file.extend_from_slice(&Sha256::digest(&payload));
    file.extend_from_slice(&payload);
    Ok(file)
}

/// Why a verifying key must not guard money, if it must not.
pub fn insecurity(vk: &ark_groth16::VerifyingKey<Bn254>) -> Option<&'static str> {
    if vk.delta_g2 == G2Affine::generator() || vk.delta_g2 == vk.gamma_g2 {
        return Some("δ = γ: a key without any phase-2 contribution, which anyone can forge under");
    }
    if is_development_key(vk, 0) {
        return Some("the development keys of the public seed 0, which anyone can forge under");
    }
    None
}

/// Checks the parts of a proving key its verifying key does not cover: every query as long as
/// the circuit needs (the prover would otherwise panic or truncate), δ·G1 and β·G1 the same δ
/// and β as the verifying key's (a wrong δ·G1 would leave proofs unblinded).
fn check_proving_key(pk: &ProvingKey<Bn254>, r1cs: &crate::r1cs::R1cs) -> Result<(), String> {
    use ark_ec::pairing::Pairing;
    use ark_ec::CurveGroup;
    let wires = r1cs.num_wires;
    let private = wires - r1cs.num_public - 1;
    let domain = 1usize << r1cs.domain_power();
    for (what, have, need) in [
        ("A query", pk.a_query.len(), wires),
        ("B query (G1)", pk.b_g1_query.len(), wires),
        ("B query (G2)", pk.b_g2_query.len(), wires),
        ("L query", pk.l_query.len(), private),
        ("H query", pk.h_query.len(), domain),
        ("IC", pk.vk.gamma_abc_g1.len(), r1cs.num_public + 1),
    ] {
        if have != need {
            return Err(format!(
                "the {what} has {have} points, the circuit needs {need}"
            ));
        }
    }
    let g1 = ark_bn254::G1Affine::generator();
    let g2 = G2Affine::generator();
    let same = |a1: ark_bn254::G1Affine, a2: G2Affine| {
        !a1.is_zero()
            && Bn254::multi_pairing([a1, (-g1.into_group()).into_affine()], [g2, a2]).is_zero()
    };
    if !same(pk.delta_g1, pk.vk.delta_g2) {
        return Err("δ·G1 of the proving key is not the verifying key's δ".into());
    }
    if !same(pk.beta_g1, pk.vk.beta_g2) {
        return Err("β·G1 of the proving key is not the verifying key's β".into());
    }
    Ok(())
}

/// A parameters directory.
#[derive(Clone, Debug)]
pub struct Params {
    dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Params {
    /// Reads `dir/manifest.json` (strictly: unknown fields refused).
    pub fn open(dir: &Path) -> Result<Self, ProverError> {
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(|e| {
            bad(
                &path,
                format!("{e}: no manifest (export one with `zkpay-setup export`)"),
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| bad(&path, format!("not a key manifest: {e}")))?;
        if manifest.version != 1 {
            return Err(bad(&path, format!("manifest version {}", manifest.version)));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// SHA-256 of the manifest file (hex): what a network publishes and nodes and wallets pin.
    pub fn manifest_hash(&self) -> Result<String, ProverError> {
        let bytes = fs::read(self.dir.join(MANIFEST))?;
        Ok(hex::encode(Sha256::digest(bytes)))
    }

    /// [`Params::open`], refusing a manifest whose SHA-256 is not `pin` (hex): the manifest
    /// vouches for the keys, the pin for the manifest, so nobody who can only write the
    /// directory can swap in keys they know the trapdoor of.
    pub fn open_pinned(dir: &Path, pin: &str) -> Result<Self, ProverError> {
        let p = Self::open(dir)?;
        let have = p.manifest_hash()?;
        if !have.eq_ignore_ascii_case(pin.trim()) {
            return Err(bad(
                &dir.join(MANIFEST),
                format!(
                    "its SHA-256 is {have}, the pinned manifest's is {}",
                    pin.trim()
                ),
            ));
        }
        Ok(p)
    }

    /// Loads and checks the keys of the circuit `name` (`circuit` is its blank instance, for
    /// the shape id; `inputs` its public-input count).
    pub fn keys<C: ConstraintSynthesizer<F> + Clone>(
        &self,
        name: &str,
        circuit: C,
        inputs: usize,
    ) -> Result<CircuitKeys, ProverError> {
        let manifest = self.dir.join(MANIFEST);
        let e = self.manifest.circuits.get(name).ok_or_else(|| {
            bad(
                &manifest,
                format!("no keys for the circuit {name} (this node's profile needs them)"),
            )
        })?;
        if e.reduction != Reduction::Circom {
            return Err(bad(
                &manifest,
                format!("{name}: ceremony keys are for the circom reduction (snarkjs's .zkey)"),
            ));
        }
        let sizes = crate::r1cs::R1cs::of_circuit(circuit.clone())?;
        let (shape, matrices) = shape_of(name, circuit)?;
        let shape = hex::encode(shape);
        if e.shape_id != shape {
            return Err(bad(
                &manifest,
                format!(
                    "the keys of {name} are for the circuit shape {}, this build's circuit is {shape}",
                    e.shape_id
                ),
            ));
        }
        if e.public_inputs != inputs {
            return Err(bad(
                &manifest,
                format!("{name} has {} public inputs, not {inputs}", e.public_inputs),
            ));
        }
        let pinned = KeyId::from_hex(&e.key_id)
            .map_err(|err| bad(&manifest, format!("key id of {name}: {err}")))?;
        for f in [&e.proving_key, &e.verifying_key] {
            let plain = Path::new(f).file_name().and_then(|n| n.to_str()) == Some(f.as_str());
            if !plain || f.starts_with('.') {
                return Err(bad(
                    &manifest,
                    format!("{name}: key file {f:?} is not a plain file name in the directory"),
                ));
            }
        }
        let pk_path = self.dir.join(&e.proving_key);
        let vk_path = self.dir.join(&e.verifying_key);
        let file = fs::read(&pk_path)?;
        if hex::encode(Sha256::digest(&file)) != e.proving_key_sha256 {
            return Err(bad(
                &pk_path,
                "its SHA-256 differs from the manifest's: the proving key was altered",
            ));
        }
        if file.len() < 40 || &file[..8] != PK_MAGIC {
            return Err(bad(&pk_path, "not a zkpay proving key"));
        }
        if Sha256::digest(&file[40..]).as_slice() != &file[8..40] {
            return Err(bad(&pk_path, "checksum mismatch (corrupt file)"));
        }
        // every point on the curve and in the prime-order subgroup
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed(&file[40..])
            .map_err(|err| bad(&pk_path, format!("invalid proving key: {err}")))?;
        let vk = decode_vk(&fs::read(&vk_path)?).map_err(|err| bad(&vk_path, err.to_string()))?;
        if encode_vk(&vk) != encode_vk(&pk.vk) {
            return Err(bad(
                &vk_path,
                "the verifying key is not the proving key's own",
            ));
        }
        if let Some(why) = insecurity(&vk) {
            return Err(bad(&pk_path, format!("insecure keys for {name}: {why}")));
        }
        check_proving_key(&pk, &sizes).map_err(|why| bad(&pk_path, format!("{name}: {why}")))?;
        let info = VerifyingKeyInfo::check(vk, inputs, Some(pinned)).map_err(|err| {
            bad(
                &vk_path,
                format!("{name}: {err} (the manifest pins {})", e.key_id),
            )
        })?;
        Ok(CircuitKeys {
            pk,
            verifier: Verifier::new(info),
            setup_seconds: 0.0,
            from_cache: true,
            reduction: e.reduction,
            matrices,
        })
    }

    /// Writes (or replaces) the keys of circuit `name` and its manifest entry. The manifest is
    /// rewritten atomically after the key files.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        dir: &Path,
        name: &str,
        shape: [u8; 32],
        pk: &ProvingKey<Bn254>,
        reduction: Reduction,
        transcript_hash: &[u8],
        contributions: &[String],
        ptau_sha256: &str,
        inputs: usize,
    ) -> Result<Entry, ProverError> {
        fs::create_dir_all(dir)?;
        let mut manifest = match Self::open(dir) {
            Ok(p) => p.manifest,
            Err(_) if !dir.join(MANIFEST).exists() => Manifest {
                version: 1,
                circuits: BTreeMap::new(),
            },
            Err(e) => return Err(e),
        };
        let file = pk_file(pk)?;
        let pk_name = format!("{name}.pk");
        let vk_name = format!("{name}.vk");
        crate::keys::write_atomic(&dir.join(&pk_name), &file)?;
        crate::keys::write_atomic(&dir.join(&vk_name), &encode_vk(&pk.vk))?;
        let entry = Entry {
            shape_id: hex::encode(shape),
            key_id: KeyId::of(&pk.vk).to_hex(),
            public_inputs: inputs,
            reduction,
            transcript_hash: hex::encode(transcript_hash),
            contributions: contributions.to_vec(),
            ptau_sha256: ptau_sha256.to_string(),
            proving_key: pk_name,
            proving_key_sha256: hex::encode(Sha256::digest(&file)),
            verifying_key: vk_name,
        };
        manifest.circuits.insert(name.to_string(), entry.clone());
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| bad(&dir.join(MANIFEST), e.to_string()))?;
        crate::keys::write_atomic(&dir.join(MANIFEST), &json)?;
        Ok(entry)
    }
}
