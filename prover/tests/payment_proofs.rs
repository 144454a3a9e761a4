//! Prove/verify round trips, strict decoding (rows 8–11, 20, 23 of shared/bad-inputs.md),
//! batch verification and the snarkjs interoperability check.

use ark_bn254::{Bn254, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, One, UniformRand};
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;
use zkpay_protocol::address::Network;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::merkle::NoteTree;
use zkpay_protocol::note::{Asset, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic, PaymentWitness, PublicAccount};
use zkpay_prover::{KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::{
    decode_proof, decode_vk, encode_proof, encode_vk, KeyId, Proof, Verifier, VerifierError,
    VerifyingKeyInfo, F, PROOF_BYTES,
};

const DEPTH: usize = 4;

struct Fixture {
    _dir: tempfile::TempDir,
    store: KeyStore,
    prover: PaymentProver,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path());
        let prover = PaymentProver::new(
            &store,
            DEPTH,
            SetupMode::InsecureDevelopment { seed: 1 },
            None,
        )
        .unwrap();
        Fixture {
            _dir: dir,
            store,
            prover,
        }
    })
}

/// A transfer: alice deposited 100, pays bob 60 with change 39 and fee 1.
fn transfer(seed: u64) -> PaymentWitness {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng).full_viewing_key();
    let auth = alice.spend_authority();
    let asset = Asset::from_text("USD").unwrap().id();
    let mut tree = NoteTree::new(DEPTH).unwrap();
    tree.append(F::from(seed)).unwrap();
    let note = Note::new(asset, 100, auth.owner_key(), &mut rng);
    let pos = tree.append(note.commitment().0).unwrap();
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
        public_account: None,
        ciphertexts: [vec![1; 8], vec![2; 8]],
    };
    PaymentWitness::build(
        &auth,
        asset,
        Root(tree.root()),
        DEPTH,
        &[(note, tree.path(pos).unwrap())],
        &[
            Note::new(asset, 60, bob.pk, &mut rng),
            Note::new(asset, 39, auth.owner_key(), &mut rng),
        ],
        0,
        1,
        ext.hash(),
        &mut rng,
    )
    .unwrap()
}

fn proven(seed: u64) -> (Proof, PaymentPublic) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed + 1000);
    fixture().prover.prove(&transfer(seed), &mut rng).unwrap()
}

fn verifier() -> &'static Verifier {
    &fixture().prover.keys().verifier
}

#[test]
fn round_trip_and_every_input_is_bound() {
    let (proof, public) = proven(1);
    let inputs = public.public_inputs();
    verifier().verify(&proof, &inputs).unwrap();
    // through the strict encoding
    let decoded = decode_proof(&encode_proof(&proof)).unwrap();
    verifier().verify(&decoded, &inputs).unwrap();
    for i in 0..inputs.len() {
        let mut changed = inputs.clone();
        changed[i] += F::one();
        assert_eq!(
            verifier().verify(&proof, &changed),
            Err(VerifierError::InvalidProof),
            "input {i} is not bound"
        );
    }
}

#[test]
fn extra_or_missing_inputs_are_refused() {
    let (proof, public) = proven(2);
    let mut extra = public.public_inputs();
    extra.push(F::from(0u64));
    assert!(matches!(
        verifier().verify(&proof, &extra),
        Err(VerifierError::InputCount {
            expected: 10,
            got: 11
        })
    ));
    let mut missing = public.public_inputs();
    missing.pop();
    assert!(matches!(
        verifier().verify(&proof, &missing),
        Err(VerifierError::InputCount {
            expected: 10,
            got: 9
        })
    ));
    // ark-groth16 itself ignores the extra input: the explicit check is what refuses it
    let pvk = ark_groth16::prepare_verifying_key(&fixture().prover.keys().pk.vk);
    assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, &extra).unwrap());
}

#[test]
fn invalid_statement_fails_before_proving() {
    let mut w = transfer(3);
    w.fee = 2; // breaks conservation
    let err = fixture()
        .prover
        .prove(&w, &mut ChaCha20Rng::seed_from_u64(0))
        .err()
        .unwrap();
    assert!(err.to_string().contains("not conserved"), "{err}");
}

#[test]
fn proof_encodings_are_strict() {
    let (proof, public) = proven(4);
    let bytes = encode_proof(&proof);
    // wrong lengths, trailing bytes
    assert!(matches!(
        decode_proof(&bytes[..127]),
        Err(VerifierError::WrongLength { .. })
    ));
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(matches!(
        decode_proof(&long),
        Err(VerifierError::WrongLength { .. })
    ));
    assert!(decode_proof(&[]).is_err());
    // all zeros
    assert!(decode_proof(&[0u8; PROOF_BYTES]).is_err());
    // infinity flag with garbage in A (bit 6 of the last byte of a compressed point)
    let mut inf = bytes;
    inf[31] |= 0x40;
    assert!(decode_proof(&inf).is_err());
    // the canonical identity is refused too
    let mut id = Vec::new();
    G1Affine::zero().serialize_compressed(&mut id).unwrap();
    let mut with_id = bytes;
    with_id[..32].copy_from_slice(&id);
    assert!(matches!(
        decode_proof(&with_id),
        Err(VerifierError::IdentityPoint(_))
    ));
    // an x coordinate with no point on the curve
    let mut off = bytes;
    let mut found = false;
    for x in 1u8..=255 {
        off[..32].copy_from_slice(&[0; 32]);
        off[0] = x;
        if matches!(
            decode_proof(&off),
            Err(VerifierError::InvalidPoint("proof.a"))
        ) {
            found = true;
            break;
        }
    }
    assert!(found, "an off-curve x was found");
    // a G2 point on the curve but outside the subgroup
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let outside = loop {
        let x = Fq2::rand(&mut rng);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                break p;
            }
        }
    };
    let mut b = Vec::new();
    outside.serialize_compressed(&mut b).unwrap();
    let mut bad_b = bytes;
    bad_b[32..96].copy_from_slice(&b);
    assert!(matches!(
        decode_proof(&bad_b),
        Err(VerifierError::InvalidPoint("proof.b"))
    ));
    // the real proof still verifies after all that
    verifier()
        .verify(&decode_proof(&bytes).unwrap(), &public.public_inputs())
        .unwrap();
}

#[test]
fn malleated_proofs_verify_so_nothing_is_keyed_on_proof_bytes() {
    let (proof, public) = proven(6);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let vk = &fixture().prover.keys().pk.vk;
    let re = Groth16::<Bn254>::rerandomize_proof(vk, &proof, &mut rng);
    assert_ne!(encode_proof(&re), encode_proof(&proof));
    verifier().verify(&re, &public.public_inputs()).unwrap();
    let neg = Proof {
        a: (-proof.a.into_group()).into(),
        b: (-proof.b.into_group()).into(),
        c: proof.c,
    };
    verifier().verify(&neg, &public.public_inputs()).unwrap();
}

#[test]
fn proof_from_another_key_is_refused() {
    let (proof, public) = proven(7);
    let dir = tempfile::tempdir().unwrap();
    let other_store = KeyStore::new(dir.path());
    // same circuit, another setup
    let other = PaymentProver::new(
        &other_store,
        DEPTH,
        SetupMode::InsecureDevelopment { seed: 2 },
        None,
    )
    .unwrap();
    assert_ne!(other.keys().id(), fixture().prover.keys().id());
    assert_eq!(
        other
            .keys()
            .verifier
            .verify(&proof, &public.public_inputs()),
        Err(VerifierError::InvalidProof)
    );
    // another circuit (depth 3) with the same number of inputs
    let small = PaymentProver::new(
        &other_store,
        3,
        SetupMode::InsecureDevelopment { seed: 1 },
        None,
    )
    .unwrap();
    assert_eq!(
        small
            .keys()
            .verifier
            .verify(&proof, &public.public_inputs()),
        Err(VerifierError::InvalidProof)
    );
}

#[test]
fn verifying_key_sanity_and_pinning() {
    let vk = fixture().prover.keys().pk.vk.clone();
    let id = KeyId::of(&vk);
    assert!(VerifyingKeyInfo::check(vk.clone(), 10, Some(id)).is_ok());
    let mut gd = vk.clone();
    gd.delta_g2 = gd.gamma_g2;
    assert!(matches!(
        VerifyingKeyInfo::check(gd, 10, None),
        Err(VerifierError::KeySanity(_))
    ));
    let mut dg = vk.clone();
    dg.delta_g2 = G2Affine::generator();
    assert!(matches!(
        VerifyingKeyInfo::check(dg, 10, None),
        Err(VerifierError::KeySanity(_))
    ));
    assert!(matches!(
        VerifyingKeyInfo::check(vk.clone(), 8, None),
        Err(VerifierError::KeySanity(_))
    ));
    let other = KeyId([7; 32]);
    assert!(matches!(
        VerifyingKeyInfo::check(vk.clone(), 10, Some(other)),
        Err(VerifierError::KeyIdMismatch { .. })
    ));
    // strict vk decoding
    let bytes = encode_vk(&vk);
    assert_eq!(decode_vk(&bytes).unwrap(), vk);
    assert!(decode_vk(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(decode_vk(&long).is_err());
    let mut huge = bytes.clone();
    huge[224..232].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(decode_vk(&huge).is_err());
    // pinned id refused at load time
    let err = PaymentProver::new(
        &fixture().store,
        DEPTH,
        SetupMode::InsecureDevelopment { seed: 1 },
        Some(other),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("differs from the pinned"), "{err}");
}

#[test]
fn key_cache_reuses_and_detects_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let a =
        PaymentProver::new(&store, 2, SetupMode::InsecureDevelopment { seed: 9 }, None).unwrap();
    assert!(!a.keys().from_cache);
    let b =
        PaymentProver::new(&store, 2, SetupMode::InsecureDevelopment { seed: 9 }, None).unwrap();
    assert!(b.keys().from_cache);
    assert_eq!(a.keys().id(), b.keys().id());
    // deterministic development setup: same seed, same key, even from scratch
    let dir2 = tempfile::tempdir().unwrap();
    let c = PaymentProver::new(
        &KeyStore::new(dir2.path()),
        2,
        SetupMode::InsecureDevelopment { seed: 9 },
        None,
    )
    .unwrap();
    assert_eq!(a.keys().id(), c.keys().id());
    // the production path draws from the OS RNG: a fresh key every time, never cached under
    // the development name
    let p1 = PaymentProver::new(&store, 1, SetupMode::Production, None).unwrap();
    let dir3 = tempfile::tempdir().unwrap();
    let p2 =
        PaymentProver::new(&KeyStore::new(dir3.path()), 1, SetupMode::Production, None).unwrap();
    assert_ne!(p1.keys().id(), p2.keys().id());
    // corrupt the proving key file
    let pk_file = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "pk")
                && p.to_string_lossy().contains("insecure-dev-9")
        })
        .unwrap();
    let mut data = std::fs::read(&pk_file).unwrap();
    let n = data.len();
    data[n - 5] ^= 1;
    std::fs::write(&pk_file, &data).unwrap();
    let err = PaymentProver::new(&store, 2, SetupMode::InsecureDevelopment { seed: 9 }, None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn batch_of_64_names_the_bad_proof() {
    let base: Vec<(Proof, PaymentPublic)> = (10..14).map(proven).collect();
    let vk = &fixture().prover.keys().pk.vk;
    let mut rng = ChaCha20Rng::seed_from_u64(64);
    let mut items: Vec<(Proof, Vec<F>)> = (0..64)
        .map(|i| {
            let (p, public) = &base[i % base.len()];
            (
                Groth16::<Bn254>::rerandomize_proof(vk, p, &mut rng),
                public.public_inputs(),
            )
        })
        .collect();
    verifier().verify_batch(&items, &mut rng).unwrap();
    items[37].1[8] += F::one(); // tamper ext_data_hash of one payment
    assert_eq!(
        verifier().verify_batch(&items, &mut rng),
        Err(VerifierError::BadProofs(vec![37]))
    );
    items[37].1[8] -= F::one();
    items[5].0 = items[6].0.clone(); // a valid proof for another statement
    items[60].0.c = (items[60].0.c.into_group().double()).into();
    assert_eq!(
        verifier().verify_batch(&items, &mut rng),
        Err(VerifierError::BadProofs(vec![5, 60]))
    );
    // counts are checked for every item first
    items[5] = items[4].clone();
    items[60] = items[59].clone();
    items[3].1.push(F::from(1u64));
    assert!(matches!(
        verifier().verify_batch(&items, &mut rng),
        Err(VerifierError::InputCount { .. })
    ));
}

#[test]
fn prove_many_in_parallel() {
    let ws: Vec<PaymentWitness> = (20..24).map(transfer).collect();
    let out = fixture().prover.prove_many(&ws);
    assert_eq!(out.len(), 4);
    let items: Vec<(Proof, Vec<F>)> = out
        .into_iter()
        .map(|r| {
            let (p, public) = r.unwrap();
            (p, public.public_inputs())
        })
        .collect();
    verifier()
        .verify_batch(&items, &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
}

/// snarkjs (pinned in tools/snarkjs, installed by `make test`'s bootstrap) verifies our proof.
#[test]
fn snarkjs_verifies_exported_proof() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cli = root.join("tools/snarkjs/node_modules/snarkjs/build/cli.cjs");
    assert!(
        cli.exists(),
        "snarkjs is not installed: run scripts/bootstrap.sh (or `cd tools/snarkjs && npm ci`)"
    );
    let (proof, public) = proven(30);
    let dir = tempfile::tempdir().unwrap();
    let vk = &fixture().prover.keys().pk.vk;
    let write = |name: &str, v: serde_json::Value| {
        std::fs::write(
            dir.path().join(name),
            serde_json::to_vec_pretty(&v).unwrap(),
        )
        .unwrap();
    };
    write(
        "verification_key.json",
        zkpay_verifier::snarkjs::verification_key(vk),
    );
    write("proof.json", zkpay_verifier::snarkjs::proof(&proof));
    write(
        "public.json",
        zkpay_verifier::snarkjs::public(&public.public_inputs()),
    );
    let run = || {
        std::process::Command::new("node")
            .arg(&cli)
            .args([
                "groth16",
                "verify",
                "verification_key.json",
                "public.json",
                "proof.json",
            ])
            .current_dir(dir.path())
            .output()
            .expect("node runs")
    };
    let out = run();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("OK"),
        "snarkjs said: {text}"
    );
    // and refuses a changed public input
    let mut bad = public.public_inputs();
    bad[7] += F::one();
    write("public.json", zkpay_verifier::snarkjs::public(&bad));
    let out = run();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("OK!"),
        "snarkjs accepted a changed input: {text}"
    );
}

/// The cache key must be the same in every process (term order in the matrices is not).
#[test]
fn shape_id_is_stable_across_processes() {
    let a =
        zkpay_prover::keys::shape_id("payment", zkpay_circuits::payment::PaymentCircuit::blank(3))
            .unwrap();
    let b =
        zkpay_prover::keys::shape_id("payment", zkpay_circuits::payment::PaymentCircuit::blank(3))
            .unwrap();
    assert_eq!(a, b);
    // pinned: a change here means the circuit changed (and every cached key is invalidated)
    let exe = std::env::current_exe().unwrap();
    if std::env::var("ZKPAY_SHAPE_CHILD").is_ok() {
        println!("SHAPE={}", hex::encode(a));
        return;
    }
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "shape_id_is_stable_across_processes",
            "--nocapture",
        ])
        .env("ZKPAY_SHAPE_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("SHAPE={}", hex::encode(a))),
        "child computed another shape: {text}"
    );
}

/// The circom reduction (the one of snarkjs-format ceremony keys) proves and verifies with a
/// key made for it, and a proof under the wrong reduction does not verify.
#[test]
fn the_circom_reduction_proves_under_its_own_keys_only() {
    use ark_snark::SNARK;
    use zkpay_circuits::payment::PaymentCircuit;
    use zkpay_prover::qap::CircomReduction;
    use zkpay_prover::{CircuitKeys, Reduction};
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    // arkworks' generator with the circom H query (L^{2n}_{2i+1}(τ)/δ)
    let (pk, _) = Groth16::<Bn254, CircomReduction>::circuit_specific_setup(
        PaymentCircuit::blank(DEPTH),
        &mut rng,
    )
    .unwrap();
    let info = VerifyingKeyInfo::check(pk.vk.clone(), 10, None).unwrap();
    let keys = |reduction| CircuitKeys {
        pk: pk.clone(),
        verifier: Verifier::new(info.clone()),
        setup_seconds: 0.0,
        from_cache: false,
        reduction,
        matrices: Default::default(),
    };
    let circom = PaymentProver::from_keys(keys(Reduction::Circom), DEPTH);
    let (proof, public) = circom.prove(&transfer(3), &mut rng).unwrap();
    circom
        .keys()
        .verifier
        .verify(&proof, &public.public_inputs())
        .unwrap();
    // the first proof built the matrices and was made on them; the second reuses them
    assert!(circom.keys().matrices.is_cached());
    assert_eq!(circom.keys().matrices.reused(), 1);
    let (proof, public) = circom.prove(&transfer(4), &mut rng).unwrap();
    assert_eq!(circom.keys().matrices.reused(), 2);
    circom
        .keys()
        .verifier
        .verify(&proof, &public.public_inputs())
        .unwrap();
    let wrong = PaymentProver::from_keys(keys(Reduction::Libsnark), DEPTH);
    // keys made for another reduction give proofs that do not verify, on the full path (the
    // first proof) and on the cached matrices (which fall back to the full path, so what the
    // caller gets does not depend on the cache)
    for _ in 0..2 {
        let (proof, public) = wrong.prove(&transfer(3), &mut rng).unwrap();
        assert_eq!(
            wrong
                .keys()
                .verifier
                .verify(&proof, &public.public_inputs()),
            Err(VerifierError::InvalidProof)
        );
    }
    assert!(wrong.keys().matrices.is_cached());
    assert_eq!(wrong.keys().matrices.reused(), 0);
}

/// Keys from a loader carry the matrices of their shape synthesis (no witness), so the first
/// proof is made on them by zkpay's prover, verified, and counted; the same holds for keys
/// read back from the cache in another store.
#[test]
fn loaded_keys_make_their_first_proof_on_the_cached_matrices() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let prover = PaymentProver::new(
            &KeyStore::new(dir.path()),
            DEPTH,
            SetupMode::InsecureDevelopment { seed: 9 },
            None,
        )
        .unwrap();
        assert!(prover.keys().matrices.is_cached());
        assert_eq!(prover.keys().matrices.reused(), 0);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (proof, public) = prover.prove(&transfer(5), &mut rng).unwrap();
        prover
            .keys()
            .verifier
            .verify(&proof, &public.public_inputs())
            .unwrap();
        assert_eq!(prover.keys().matrices.reused(), 1);
    }
}

/// A key that zkpay's prover refuses (its A query lacks its last point) goes to ark-groth16's
/// path: `prove` still returns a proof, which verifies only if the missing point was the point
/// at infinity (ark-groth16 cuts the MSM to the shorter side), and nothing counts as made on
/// the cached matrices.
#[test]
fn a_key_zkpay_s_prover_refuses_falls_back_to_the_reference() {
    let keys = fixture().prover.keys().clone();
    let mut pk = keys.pk.clone();
    let dropped = pk.a_query.pop().unwrap();
    let broken = zkpay_prover::CircuitKeys {
        pk,
        matrices: Default::default(),
        ..keys
    };
    let prover = PaymentProver::from_keys(broken, DEPTH);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (proof, public) = prover.prove(&transfer(8), &mut rng).unwrap();
    let verified = prover
        .keys()
        .verifier
        .verify(&proof, &public.public_inputs());
    assert_eq!(verified.is_ok(), dropped.is_zero(), "{verified:?}");
    assert!(prover.keys().matrices.is_cached());
    assert_eq!(prover.keys().matrices.reused(), 0);
}
