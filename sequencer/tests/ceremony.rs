//! Keys from a trusted-setup ceremony on a test-network node, and why the development keys
//! can hold no money: with the public seed's toxic waste anyone forges payment and chunk proofs
//! that verify under the dev keys; a node on ceremony keys rejects them.
//!
//! The ceremony: powers of tau of 2^16 from random secrets (`zkpay_ceremony::testing`), then for
//! each circuit of the test profile (the payment circuit and the batch chunk circuit) the
//! initial key and two contributions by zkpay's ceremony library, a third by the pinned snarkjs
//! (`zkey contribute`), and a beacon by zkpay; the whole chain verified from the circuit and the
//! powers of tau by both tools (`phase2::verify`, `snarkjs zkey verify`), which list the same
//! contribution hashes; the keys exported to the parameters directory the node runs on.

mod common;

use ark_bn254::{Bn254, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::{Field, UniformRand};
use ark_groth16::{Proof, VerifyingKey};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use zkpay_ceremony::circuit::{circuit, Kind};
use zkpay_ceremony::phase2;
use zkpay_ceremony::ptau::Ptau;
use zkpay_ceremony::zkey::Zkey;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::note::{Commitment, Nullifier, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic};
use zkpay_protocol::F;
use zkpay_prover::keys::{development_trapdoor, DevelopmentTrapdoor};
use zkpay_prover::{BatchProver, Params, PaymentProver, Reduction};
use zkpay_sequencer::{Node, NodeConfig, Profile};
use zkpay_verifier::{encode_proof, Verifier};

fn snarkjs(dir: &Path, args: &[&str]) -> String {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/snarkjs/node_modules/snarkjs/build/cli.cjs");
    assert!(
        cli.exists(),
        "snarkjs is not installed: run scripts/bootstrap.sh"
    );
    let out = Command::new("node")
        .arg("--max-old-space-size=8192")
        .arg(cli)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "snarkjs {args:?}: {text}");
    text
}

/// A parameters directory with ceremony keys for both circuits of the test profile, each from a
/// ceremony mixing zkpay and snarkjs, verified by both.
fn params() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        // the test chunk circuit's domain is 2^15; snarkjs's circuit hash reads powers up to
        // 2^16. Phase 1 from random secrets (snarkjs's `prepare phase2` would take an hour at
        // this size); ceremony/tests/phase2.rs runs phase 2 on a snarkjs phase 1.
        zkpay_ceremony::testing::write_random_ptau(&dir.join("pot.ptau"), 16).unwrap();
        let ptau = Ptau::open(&dir.join("pot.ptau")).unwrap();
        ptau.verify_powers().unwrap();
        let out = dir.join("params");
        for kind in [Kind::Payment, Kind::Batch] {
            let c = circuit(kind, Profile::Test).unwrap();
            let name = c.name.clone();
            let r1cs = format!("{name}.r1cs");
            std::fs::write(dir.join(&r1cs), c.r1cs.to_bytes()).unwrap();
            let init = phase2::new_zkey(&c.r1cs, &ptau).unwrap();
            let (k1, alice) =
                phase2::contribute(&init, "alice's typing", Some("alice".into())).unwrap();
            let (k2, bob) = phase2::contribute(&k1, "", Some("bob".into())).unwrap();
            let (z2, z3) = (format!("{name}_2.zkey"), format!("{name}_3.zkey"));
            std::fs::write(dir.join(&z2), k2.to_bytes()).unwrap();
            drop((init, k1, k2));
            // the third contribution by snarkjs, on the key zkpay wrote
            let said = snarkjs(
                &dir,
                &[
                    "zkey",
                    "contribute",
                    &z2,
                    &z3,
                    "--name=carol",
                    "-e=carol's entropy",
                ],
            );
            assert!(said.contains("Contribution Hash"), "{said}");
            let k3 = Zkey::from_bytes(&std::fs::read(dir.join(&z3)).unwrap()).unwrap();
            let (k4, beacon) = phase2::beacon(&k3, b"beacon", 10, Some("beacon".into())).unwrap();
            let last = format!("{name}_final.zkey");
            std::fs::write(dir.join(&last), k4.to_bytes()).unwrap();
            // both tools check the whole chain from the circuit and the powers of tau
            let theirs = snarkjs(&dir, &["zkey", "verify", &r1cs, "pot.ptau", &last]);
            assert!(theirs.contains("ZKey Ok!"), "{name}: {theirs}");
            let report = phase2::verify(&c.r1cs, &ptau, &k4).unwrap();
            let hashes: Vec<String> = report
                .contributions
                .iter()
                .map(|k| hex::encode(k.hash))
                .collect();
            let names: Vec<_> = report
                .contributions
                .iter()
                .map(|k| k.name.clone().unwrap_or_default())
                .collect();
            assert_eq!(names, ["alice", "bob", "carol", "beacon"], "{name}");
            assert_eq!(hashes[0], hex::encode(alice));
            assert_eq!(hashes[1], hex::encode(bob));
            assert_eq!(hashes[3], hex::encode(beacon));
            // snarkjs lists the same four hashes (in groups of 8 hex digits)
            let listed = zkpay_ceremony::testing::snarkjs_hex(&theirs);
            for h in &hashes {
                assert!(listed.contains(h.as_str()), "snarkjs does not list {h}");
            }
            Params::write(
                &out,
                &c.name,
                c.shape,
                &phase2::proving_key(&k4),
                Reduction::Circom,
                &report.transcript_hash,
                &hashes,
                "random phase 1 (tests)",
                c.inputs,
            )
            .unwrap();
        }
        out
    })
}

fn test_config(dir: &Path) -> NodeConfig {
    let mut c = config(dir);
    c.network = Network::Test;
    c.params = Some(params().clone());
    c.params_sha256 = Some(Params::open(params()).unwrap().manifest_hash().unwrap());
    c
}

/// `test_config` on a copy of the parameters, pinned to the copy's own manifest (an attacker
/// who can also publish the pin), so that the checks behind the pin are what is tested.
fn config_on(dir: &Path, params_dir: &Path) -> NodeConfig {
    let mut c = test_config(dir);
    c.params = Some(params_dir.to_path_buf());
    c.params_sha256 = Some(Params::open(params_dir).unwrap().manifest_hash().unwrap());
    c
}

#[test]
fn a_test_network_node_runs_on_ceremony_keys_and_pays() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(test_config(dir.path())).unwrap();
    let p = Params::open(params()).unwrap();
    let prover = PaymentProver::from_params(&p, Profile::Test.params().depth).unwrap();
    assert_eq!(prover.keys().reduction, Reduction::Circom);
    assert_eq!(prover.keys().id(), node.payment_verifier().key_id());
    assert_eq!(node.config().keys_origin(), "ceremony");

    let mut alice = Wallet::new(1, "alice");
    alice.network = Network::Test;
    let bob = Wallet::new(2, "bob");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
    let (dep, note) = deposit(&node, &prover, &mut alice, 500);
    // the proof also verifies under snarkjs, with the key as snarkjs reads it
    let work = tempfile::tempdir().unwrap();
    let proof = zkpay_verifier::decode_proof(&dep.proof).unwrap();
    for (file, v) in [
        (
            "vk.json",
            zkpay_verifier::snarkjs::verification_key(&prover.keys().pk.vk),
        ),
        ("proof.json", zkpay_verifier::snarkjs::proof(&proof)),
        (
            "public.json",
            zkpay_verifier::snarkjs::public(&dep.public.public_inputs()),
        ),
    ] {
        std::fs::write(work.path().join(file), serde_json::to_vec(&v).unwrap()).unwrap();
    }
    let out = snarkjs(
        work.path(),
        &["groth16", "verify", "vk.json", "public.json", "proof.json"],
    );
    assert!(out.contains("OK!"), "{out}");
    node.submit(dep).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    let transfer = pay(&node, &prover, &mut alice, &note, &bob.key, 120, 1, None);
    node.submit(transfer).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(node.head().unwrap().0.number, 2);
    // a dev-keys proof is refused by the ceremony node
    let dev = prover_dev(dir.path());
    let (dev_dep, _) = deposit(&node, &dev, &mut alice, 10);
    assert_eq!(node.submit(dev_dep).unwrap_err().code(), "proof_invalid");
}

fn prover_dev(dir: &Path) -> PaymentProver {
    prover(&dir.join("dev-keys"))
}

#[test]
fn test_and_main_refuse_to_start_without_or_with_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let msg = |c: NodeConfig| {
        Node::open(c)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    // no --params
    for network in [Network::Test, Network::Main] {
        let mut c = config(dir.path());
        c.network = network;
        let m = msg(c);
        assert!(
            m.contains("refuses to start") && m.contains("--params"),
            "{m}"
        );
    }
    // --params without the manifest's hash on test, or a manifest other than the pinned one
    let mut c = test_config(dir.path());
    c.params_sha256 = None;
    let m = msg(c);
    assert!(m.contains("--params-sha256"), "{m}");
    let mut c = test_config(dir.path());
    c.params_sha256 = Some("ab".repeat(32));
    let m = msg(c);
    assert!(m.contains("pinned manifest"), "{m}");
    // a manifest that pins another key id
    let bad = tempfile::tempdir().unwrap();
    copy_dir(params(), bad.path());
    edit_manifest(bad.path(), |m| {
        let e = m.circuits.get_mut("payment-d4").unwrap();
        e.key_id = "00".repeat(32);
    });
    let c = config_on(dir.path(), bad.path());
    let m = msg(c);
    assert!(m.contains("payment-d4") && m.contains("pins"), "{m}");
    // a manifest naming a file outside its directory
    let bad = tempfile::tempdir().unwrap();
    copy_dir(params(), bad.path());
    edit_manifest(bad.path(), |m| {
        m.circuits.get_mut("payment-d4").unwrap().proving_key = "../payment-d4.pk".into();
    });
    let c = config_on(dir.path(), bad.path());
    let m = msg(c);
    assert!(m.contains("not a plain file name"), "{m}");
    // a proving key altered (not only its verifying key): the file hash differs
    let bad = tempfile::tempdir().unwrap();
    copy_dir(params(), bad.path());
    let pk = bad.path().join("batch-d4-c2.pk");
    let mut bytes = std::fs::read(&pk).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 1;
    std::fs::write(&pk, bytes).unwrap();
    let c = config_on(dir.path(), bad.path());
    let m = msg(c);
    assert!(m.contains("batch-d4-c2.pk") && m.contains("altered"), "{m}");
    // ... even with the manifest's hash and the file's checksum updated: the point is then
    // off the curve or outside the subgroup
    let bad = tempfile::tempdir().unwrap();
    copy_dir(params(), bad.path());
    let pk = bad.path().join("payment-d4.pk");
    let mut bytes = std::fs::read(&pk).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 1;
    let sum = sha256(&bytes[40..]);
    bytes[8..40].copy_from_slice(&sum);
    std::fs::write(&pk, &bytes).unwrap();
    edit_manifest(bad.path(), |m| {
        m.circuits.get_mut("payment-d4").unwrap().proving_key_sha256 = hex::encode(sha256(&bytes));
    });
    let c = config_on(dir.path(), bad.path());
    let m = msg(c);
    assert!(m.contains("invalid proving key"), "{m}");
    // the development keys exported as if from a ceremony: insecure
    let bad = tempfile::tempdir().unwrap();
    copy_dir(params(), bad.path());
    let dev = prover_dev(dir.path());
    let p = Params::open(params()).unwrap();
    let e = p.manifest.circuits["payment-d4"].clone();
    Params::write(
        bad.path(),
        "payment-d4",
        hex::decode(&e.shape_id).unwrap().try_into().unwrap(),
        &dev.keys().pk,
        Reduction::Circom,
        &[0; 64],
        &[],
        "",
        e.public_inputs,
    )
    .unwrap();
    let mut c = config_on(dir.path(), bad.path());
    c.network = Network::Main;
    let m = msg(c);
    assert!(m.contains("insecure") && m.contains("seed 0"), "{m}");
    // a proving key whose δ·G1 is not its verifying key's δ, or whose H query is short
    // (both re-exported with a consistent manifest and file hash)
    let forged_pk = Params::open(params())
        .unwrap()
        .keys(
            "payment-d4",
            zkpay_circuits::payment::PaymentCircuit::blank(4),
            10,
        )
        .unwrap()
        .pk;
    for (edit, why) in [
        (
            Box::new(|pk: &mut ark_groth16::ProvingKey<Bn254>| pk.delta_g1 = pk.beta_g1)
                as Box<dyn Fn(&mut ark_groth16::ProvingKey<Bn254>)>,
            "δ·G1",
        ),
        (
            Box::new(|pk: &mut ark_groth16::ProvingKey<Bn254>| {
                pk.h_query.pop();
            }),
            "H query",
        ),
    ] {
        let bad = tempfile::tempdir().unwrap();
        copy_dir(params(), bad.path());
        let mut pk = forged_pk.clone();
        edit(&mut pk);
        let e = Params::open(params()).unwrap().manifest.circuits["payment-d4"].clone();
        Params::write(
            bad.path(),
            "payment-d4",
            hex::decode(&e.shape_id).unwrap().try_into().unwrap(),
            &pk,
            Reduction::Circom,
            &[0; 64],
            &[],
            "",
            e.public_inputs,
        )
        .unwrap();
        let m = msg(config_on(dir.path(), bad.path()));
        assert!(m.contains(why), "{m}");
    }
    // keys for another profile's circuit
    let mut c = test_config(dir.path());
    c.profile = Profile::Full;
    let m = msg(c);
    assert!(m.contains("no keys for the circuit payment-d16"), "{m}");
}

fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b).into()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut zkpay_prover::params::Manifest)) {
    let path = dir.join("manifest.json");
    let mut m: zkpay_prover::params::Manifest =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
}

/// A Groth16 proof of any statement, made with the toxic waste of the development setup:
/// A = a·G1, B = b·G2, C = (a·b·G1 − α·β·G1 − γ·Σ xᵢ·ICᵢ)/δ satisfies e(A, B) = e(α, β)·
/// e(Σ xᵢ·ICᵢ, γ)·e(C, δ) for every a, b.
fn forge(vk: &VerifyingKey<Bn254>, t: &DevelopmentTrapdoor, inputs: &[F]) -> Proof<Bn254> {
    let mut rng = rand::rngs::OsRng;
    let (a, b) = (F::rand(&mut rng), F::rand(&mut rng));
    let mut acc = G1Projective::from(vk.gamma_abc_g1[0]);
    for (x, ic) in inputs.iter().zip(&vk.gamma_abc_g1[1..]) {
        acc += *ic * x;
    }
    let delta_inv = t.delta.inverse().unwrap();
    let c = (t.g1 * (a * b - t.alpha * t.beta) - acc * t.gamma) * delta_inv;
    Proof {
        a: (t.g1 * a).into_affine(),
        b: (t.g2 * b).into_affine(),
        c: c.into_affine(),
    }
}

#[test]
fn anyone_forges_proofs_under_the_dev_keys_and_a_ceremony_node_rejects_them() {
    let dir = tempfile::tempdir().unwrap();
    let trapdoor = development_trapdoor(0);
    let shape = Profile::Test.params();
    let dev_payment = prover_dev(dir.path());
    let dev_chunk = BatchProver::new(
        &zkpay_prover::KeyStore::new(dir.path().join("dev-keys")),
        shape,
        zkpay_prover::SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )
    .unwrap();
    let p = Params::open(params()).unwrap();
    let ceremony_payment = PaymentProver::from_params(&p, shape.depth).unwrap();
    let ceremony_chunk = BatchProver::from_params(&p, shape).unwrap();

    // a transfer spending notes that do not exist into two new notes of any value: money
    // created from nothing (a withdrawal would need the pool to hold funds first, and the
    // notes then withdraw it)
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: operator_account(),
        public_account: None,
        ciphertexts: [
            vec![1; zkpay_protocol::encryption::CIPHERTEXT_LEN],
            vec![2; zkpay_protocol::encryption::CIPHERTEXT_LEN],
        ],
    };
    let dev_node = Node::open(config(&dir.path().join("dev-node"))).unwrap();
    let public = PaymentPublic {
        note_root: dev_node.head().unwrap().0.state.note_root,
        nullifiers: [Nullifier(F::from(11u64)), Nullifier(F::from(12u64))],
        commitments: [Commitment(F::from(13u64)), Commitment(F::from(14u64))],
        asset: usd(),
        public_value: 0,
        fee: 0,
        ext_data_hash: ext.hash(),
        invoice_tag: F::from(0u64),
    };
    let forged = forge(
        &dev_payment.keys().pk.vk,
        &trapdoor,
        &public.public_inputs(),
    );
    let verifies =
        |v: &Verifier, proof: &Proof<Bn254>, inputs: &[F]| v.verify(proof, inputs).is_ok();
    assert!(
        verifies(
            &dev_payment.keys().verifier,
            &forged,
            &public.public_inputs()
        ),
        "the forged payment proof verifies under the dev key"
    );
    assert!(!verifies(
        &ceremony_payment.keys().verifier,
        &forged,
        &public.public_inputs()
    ));
    let sub = zkpay_ledger::PaymentSubmission {
        public: public.clone(),
        ext: ext.clone(),
        proof: encode_proof(&forged).to_vec(),
        authorization: None,
    };
    // the dev node takes it and commits it: the forged payment is a valid payment there
    dev_node.submit(sub.clone()).unwrap();
    assert_eq!(dev_node.run_batch_once().unwrap(), Some(1));
    // a node on ceremony keys rejects it (forged under its own key's shape, for its network)
    let test_node = Node::open(test_config(&dir.path().join("test-node"))).unwrap();
    let mut sub = sub;
    sub.ext.network = Network::Test;
    sub.public.ext_data_hash = sub.ext.hash();
    sub.public.note_root = test_node.head().unwrap().0.state.note_root;
    let forged = forge(
        &ceremony_payment.keys().pk.vk,
        &trapdoor,
        &sub.public.public_inputs(),
    );
    sub.proof = encode_proof(&forged).to_vec();
    assert_eq!(test_node.submit(sub).unwrap_err().code(), "proof_invalid");

    // a chunk proof with arbitrary new roots (it would empty the nullifier set)
    let chunk = BatchPublic {
        old_note_root: Root(F::from(1u64)),
        old_nullifier_root: Root(F::from(2u64)),
        new_note_root: Root(F::from(3u64)),
        new_nullifier_root: Root(F::from(4u64)),
        note_start: 0,
        nullifier_start: 4,
    };
    let inputs = chunk
        .public_inputs(Profile::Test.params().slots, std::slice::from_ref(&public))
        .unwrap();
    let forged = forge(&dev_chunk.keys().pk.vk, &trapdoor, &inputs);
    assert!(verifies(&dev_chunk.keys().verifier, &forged, &inputs));
    let forged = forge(&ceremony_chunk.keys().pk.vk, &trapdoor, &inputs);
    assert!(!verifies(&ceremony_chunk.keys().verifier, &forged, &inputs));
}
