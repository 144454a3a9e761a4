//! Phase 2 against the pinned snarkjs (tools/snarkjs): a ceremony mixing both tools on the
//! test profile's payment circuit, verified by both; the initial key and the beacon computed
//! bit for bit as snarkjs computes them; tampered keys refused; and the export's refusals.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use zkpay_ceremony::circuit::{circuit, Kind};
use zkpay_ceremony::phase2::{self, verify_from_init};
use zkpay_ceremony::ptau::Ptau;
use zkpay_ceremony::zkey::{Source, Zkey};
use zkpay_protocol::batch::Profile;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs snarkjs; returns stdout and stderr together.
fn snarkjs(dir: &Path, args: &[&str]) -> String {
    let cli = root().join("tools/snarkjs/node_modules/snarkjs/build/cli.cjs");
    assert!(
        cli.exists(),
        "snarkjs is not installed: run scripts/bootstrap.sh (or `cd tools/snarkjs && npm ci`)"
    );
    let out = Command::new("node")
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

/// Runs zkpay-setup; returns (success, stdout, stderr).
fn setup(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkpay-setup"))
        .args(args)
        .current_dir(dir)
        .env_remove("ZKPAY_SETUP_ENTROPY")
        .output()
        .expect("zkpay-setup runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn setup_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = setup(dir, args);
    assert!(ok, "zkpay-setup {args:?}: {out}{err}");
    out
}

/// A phase-1 ceremony by the pinned snarkjs (new, a contribution, prepare phase2) of 2^`power`.
/// snarkjs's `prepare phase2` takes minutes even for small powers, so the file is kept in the
/// target directory's test scratch space, named by power and snarkjs version, and reused once
/// it passes the phase-1 checks.
pub fn snarkjs_ptau(power: u32) -> PathBuf {
    let version =
        std::fs::read_to_string(root().join("tools/snarkjs/node_modules/snarkjs/package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkpay-ptau");
    let path = cache.join(format!("snarkjs-{version}-pot{power}.ptau"));
    let usable = |p: &Path| {
        Ptau::open(p)
            .and_then(|f| f.verify_powers().map(|_| f.prepared))
            .unwrap_or(false)
    };
    if path.exists() && usable(&path) {
        return path;
    }
    std::fs::create_dir_all(&cache).expect("cache dir");
    let work = tempfile::tempdir_in(&cache).expect("tempdir");
    let p = power.to_string();
    snarkjs(work.path(), &["powersoftau", "new", "bn128", &p, "p0.ptau"]);
    snarkjs(
        work.path(),
        &[
            "powersoftau",
            "contribute",
            "p0.ptau",
            "p1.ptau",
            "--name=phase1",
            "-e=phase one entropy",
        ],
    );
    snarkjs(
        work.path(),
        &["powersoftau", "prepare", "phase2", "p1.ptau", "pot.ptau"],
    );
    std::fs::rename(work.path().join("pot.ptau"), &path).expect("keep the ptau");
    assert!(usable(&path));
    path
}

/// A working directory with the powers of tau (2^13, the test payment circuit's domain) and
/// the circuit's .r1cs.
fn fixture() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        std::fs::copy(snarkjs_ptau(13), dir.join("pot.ptau")).expect("copy ptau");
        setup_ok(
            &dir,
            &[
                "r1cs",
                "--circuit",
                "payment",
                "--profile",
                "test",
                "-o",
                "payment.r1cs",
            ],
        );
        dir
    })
}

fn read(dir: &Path, name: &str) -> Zkey {
    Zkey::from_bytes(&std::fs::read(dir.join(name)).expect("zkey file")).expect("valid zkey")
}

const WHICH: [&str; 4] = ["--circuit", "payment", "--profile", "test"];

fn with_which<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend_from_slice(&WHICH);
    v.extend_from_slice(tail);
    v
}

/// The hash a `contribute`/`beacon` printed (the last line of its output).
fn printed_hash(out: &str) -> String {
    out.lines().last().unwrap_or_default().trim().to_string()
}

#[test]
fn the_initial_key_is_snarkjs_s_bit_for_bit() {
    let dir = fixture();
    snarkjs(
        dir,
        &["zkey", "new", "payment.r1cs", "pot.ptau", "snarkjs_0.zkey"],
    );
    setup_ok(
        dir,
        &with_which(&["new"], &["--ptau", "pot.ptau", "-o", "zkpay_0.zkey"]),
    );
    let ours = read(dir, "zkpay_0.zkey");
    let theirs = read(dir, "snarkjs_0.zkey");
    assert_eq!(ours.cs_hash, theirs.cs_hash, "circuit hashes differ");
    assert_eq!(ours, theirs);
    // and re-encoding what snarkjs wrote gives the same sections (our writer's order is 1..10)
    assert_eq!(Zkey::from_bytes(&theirs.to_bytes()).unwrap(), theirs);
}

#[test]
fn a_ceremony_mixing_zkpay_and_snarkjs_verifies_with_both_and_exports() {
    let dir = fixture();
    setup_ok(
        dir,
        &with_which(&["new"], &["--ptau", "pot.ptau", "-o", "c0.zkey"]),
    );
    let alice = printed_hash(&setup_ok(
        dir,
        &[
            "contribute",
            "c0.zkey",
            "c1.zkey",
            "--name",
            "alice",
            "--entropy",
            "alice's typing",
        ],
    ));
    let bob = printed_hash(&setup_ok(
        dir,
        &["contribute", "c1.zkey", "c2.zkey", "--name", "bob"],
    ));
    // snarkjs verifies a key made by zkpay-setup
    let out = snarkjs(
        dir,
        &["zkey", "verify", "payment.r1cs", "pot.ptau", "c2.zkey"],
    );
    assert!(out.contains("ZKey Ok!"), "{out}");
    // snarkjs contributes on top
    let out = snarkjs(
        dir,
        &[
            "zkey",
            "contribute",
            "c2.zkey",
            "c3.zkey",
            "--name=carol",
            "-e=carol's entropy",
        ],
    );
    assert!(out.contains("Contribution Hash"), "{out}");
    // a beacon by both tools gives the same key, bit for bit
    let beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
    let beacon_hash = printed_hash(&setup_ok(
        dir,
        &[
            "beacon",
            "c3.zkey",
            "final.zkey",
            "--value",
            beacon,
            "--exp",
            "10",
            "--name",
            "beacon",
        ],
    ));
    snarkjs(
        dir,
        &[
            "zkey",
            "beacon",
            "c3.zkey",
            "snarkjs_final.zkey",
            beacon,
            "10",
            "-n=beacon",
        ],
    );
    assert_eq!(read(dir, "final.zkey"), read(dir, "snarkjs_final.zkey"));
    // both tools verify the whole chain
    let snarkjs_verify = snarkjs(
        dir,
        &["zkey", "verify", "payment.r1cs", "pot.ptau", "final.zkey"],
    );
    assert!(snarkjs_verify.contains("ZKey Ok!"), "{snarkjs_verify}");
    let out = setup_ok(
        dir,
        &with_which(&["verify"], &["--ptau", "pot.ptau", "final.zkey", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let hashes: Vec<&str> = v["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .map(|c| c["hash"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(hashes.len(), 4);
    assert_eq!(hashes[0], alice);
    assert_eq!(hashes[1], bob);
    assert_eq!(hashes[3], beacon_hash);
    let names: Vec<&str> = v["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol", "beacon"]);
    assert_eq!(v["contributions"][3]["kind"], "beacon");
    // snarkjs lists the same contribution hashes (it prints them in groups of 16 hex digits)
    let listed: String = zkpay_ceremony::testing::snarkjs_hex(&snarkjs_verify);
    for h in &hashes {
        assert!(listed.contains(h), "snarkjs does not list {h}");
    }
    // export: the keys nodes and wallets load
    let out = setup_ok(
        dir,
        &with_which(
            &["export"],
            &[
                "--ptau",
                "pot.ptau",
                "final.zkey",
                "--out",
                "params",
                "--json",
            ],
        ),
    );
    let e: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(e["circuit"], "payment-d4");
    assert_eq!(
        e["entry"]["contributions"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(e["entry"]["transcript_hash"], v["transcript_hash"]);
    let pin = e["manifest_sha256"].as_str().expect("manifest hash");
    let params = zkpay_prover::Params::open_pinned(&dir.join("params"), pin).expect("manifest");
    let keys = zkpay_prover::PaymentProver::from_params(&params, 4).expect("keys load");
    assert_eq!(keys.keys().reduction, zkpay_prover::Reduction::Circom);
    // the exported verifying key is the one snarkjs exports from the same zkey
    snarkjs(
        dir,
        &["zkey", "export", "verificationkey", "final.zkey", "vk.json"],
    );
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("vk.json")).unwrap()).unwrap();
    let ours = zkpay_verifier::snarkjs::verification_key(&keys.keys().pk.vk);
    for k in ["vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"] {
        assert_eq!(ours[k], theirs[k], "{k}");
    }
}

/// The initial key and a two-contribution key, computed once through the library.
fn keys() -> &'static (Zkey, Zkey) {
    static K: OnceLock<(Zkey, Zkey)> = OnceLock::new();
    K.get_or_init(|| {
        let dir = fixture();
        let ptau = Ptau::open(&dir.join("pot.ptau")).unwrap();
        ptau.verify_powers().unwrap();
        let c = circuit(Kind::Payment, Profile::Test).unwrap();
        let init = phase2::new_zkey(&c.r1cs, &ptau).unwrap();
        let (k1, _) = phase2::contribute(&init, "one", Some("one".into())).unwrap();
        let (k2, _) = phase2::contribute(&k1, "two", None).unwrap();
        (init, k2)
    })
}

/// Two indices of different points.
fn distinct<P: PartialEq>(v: &[P]) -> (usize, usize) {
    let j = (1..v.len())
        .find(|&j| v[j] != v[0])
        .expect("two different points");
    (0, j)
}

fn refused(z: &Zkey, needle: &str) {
    let (init, _) = keys();
    match verify_from_init(init, z) {
        Ok(_) => panic!("a tampered key verified (expected: {needle})"),
        Err(e) => assert!(e.to_string().contains(needle), "{e} (expected: {needle})"),
    }
}

#[test]
fn tampered_keys_are_refused() {
    let (init, good) = keys();
    let report = verify_from_init(init, good).expect("the honest key verifies");
    assert_eq!(report.contributions.len(), 2);
    assert_eq!(report.contributions[0].name.as_deref(), Some("one"));

    // verifying against a key that is not an initial one
    assert!(verify_from_init(good, good)
        .unwrap_err()
        .to_string()
        .contains("not an initial key"));
    // an L point replaced by another: L is not the circuit's divided by δ
    let mut z = good.clone();
    z.l.swap(0, 1);
    refused(&z, "the L section");
    let mut z = good.clone();
    z.h[3] = z.h[4];
    refused(&z, "the H section");
    // A, B, IC are fixed by the circuit and the powers
    let mut z = good.clone();
    let (i, j) = distinct(&z.a);
    z.a.swap(i, j);
    refused(&z, "the A section");
    let mut z = good.clone();
    let (i, j) = distinct(&z.b2);
    z.b2.swap(i, j);
    refused(&z, "the B2 section");
    let mut z = good.clone();
    z.ic[1] = z.ic[2];
    refused(&z, "the IC section");
    let mut z = good.clone();
    z.coefs[0].value += ark_bn254::Fr::from(1u64);
    refused(&z, "coefficients");
    // a contribution without knowledge of its secret: δ moved with a forged proof
    let mut z = good.clone();
    z.contributions[1].g2_spx = z.contributions[0].g2_spx;
    refused(&z, "contribution #2: its proof of knowledge");
    // the transcript chain
    let mut z = good.clone();
    z.contributions[1].transcript[0] ^= 1;
    refused(&z, "contribution #2: its transcript");
    // dropping the last contribution but keeping its δ
    let mut z = good.clone();
    z.contributions.pop();
    refused(&z, "δ·G1 is not the last contribution's δ");
    // δ in G2 that is not δ in G1
    let mut z = good.clone();
    z.delta2 = init.delta2;
    refused(&z, "δ·G1 and δ·G2");
    // a key for another circuit
    let mut z = good.clone();
    z.cs_hash[0] ^= 1;
    refused(&z, "circuit hash");
    // a beacon whose key is not its value's
    let (beaconed, _) = phase2::beacon(good, b"public value", 10, None).unwrap();
    verify_from_init(init, &beaconed).expect("an honest beacon verifies");
    let mut z = beaconed.clone();
    if let Some(c) = z.contributions.last_mut() {
        c.source = Source::Beacon {
            value: b"another value".to_vec(),
            exp: 10,
        };
    }
    refused(&z, "the beacon's key");
}

#[test]
fn malformed_zkey_files_are_refused() {
    let (_, good) = keys();
    let bytes = good.to_bytes();
    assert_eq!(&Zkey::from_bytes(&bytes).unwrap(), good);
    let err = |b: &[u8]| Zkey::from_bytes(b).unwrap_err().to_string();
    assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(err(&padded).contains("left over"));
    let mut magic = bytes.clone();
    magic[0] = b'x';
    assert!(err(&magic).contains("magic"));
    // a G1 point of the A section off the curve
    let mut b = bytes.clone();
    let a0 = find(&b, &zkpay_ceremony::zkey::g1_lem(&good.a[1]));
    b[a0 + 5] ^= 1;
    assert!(err(&b).contains("not on the curve"), "{}", err(&b));
    // what a contributor reads too
    assert!(Zkey::from_bytes_for_contribution(&b)
        .unwrap_err()
        .to_string()
        .contains("not on the curve"));
    assert!(Zkey::from_bytes_for_contribution(&bytes[..bytes.len() - 1]).is_err());
}

/// A point on the G2 curve outside the prime-order subgroup (G2's cofactor is ~2^254).
fn g2_outside_subgroup() -> ark_bn254::G2Affine {
    (1u64..)
        .filter_map(|x| {
            ark_bn254::G2Affine::get_point_from_x_unchecked(
                ark_bn254::Fq2::new(x.into(), 1u64.into()),
                true,
            )
        })
        .find(|p| p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve())
        .expect("such points are almost all of the curve")
}

/// A contributor reads the B2 query (which a contribution copies) without its subgroup check, the
/// slowest part of reading a key; the check is then `verify`'s, which reads the key in full.
#[test]
fn a_b2_point_outside_the_subgroup_passes_a_contribution_and_fails_verification() {
    let (_, good) = keys();
    let mut bytes = good.to_bytes();
    // a wire without B terms has the point at infinity (zero bytes, found anywhere): take one
    // with terms
    let i = (0..good.b2.len())
        .find(|&i| !ark_ec::AffineRepr::is_zero(&good.b2[i]))
        .expect("a nonzero B2 point");
    let at = find(&bytes, &zkpay_ceremony::zkey::g2_lem(&good.b2[i]));
    let bad = g2_outside_subgroup();
    bytes[at..at + 128].copy_from_slice(&zkpay_ceremony::zkey::g2_lem(&bad));
    let err = Zkey::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("prime-order subgroup"), "{err}");
    let read = Zkey::from_bytes_for_contribution(&bytes).expect("read to contribute");
    assert_eq!(read.b2[i], bad);
    let (next, _) = phase2::contribute(&read, "three", None).unwrap();
    let err = Zkey::from_bytes(&next.to_bytes()).unwrap_err().to_string();
    assert!(err.contains("prime-order subgroup"), "{err}");
    // and, read past that, verification finds B2 is not the circuit's
    refused(&next, "the B2 section");
    // an honest key reads the same both ways
    assert_eq!(
        &Zkey::from_bytes_for_contribution(&good.to_bytes()).unwrap(),
        good
    );
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn export_refuses_a_key_without_contribution_or_that_does_not_verify() {
    let dir = fixture();
    setup_ok(
        dir,
        &with_which(&["new"], &["--ptau", "pot.ptau", "-o", "e0.zkey"]),
    );
    let (ok, out, err) = setup(
        dir,
        &with_which(
            &["export"],
            &["--ptau", "pot.ptau", "e0.zkey", "--out", "e_params"],
        ),
    );
    assert!(!ok, "{out}");
    assert!(err.contains("no contribution"), "{err}");
    assert!(!dir.join("e_params/manifest.json").exists());
    // a key of the payment circuit exported as the batch circuit
    setup_ok(dir, &["contribute", "e0.zkey", "e1.zkey"]);
    let (ok, _, err) = setup(
        dir,
        &[
            "export",
            "--circuit",
            "batch",
            "--profile",
            "test",
            "--ptau",
            "pot.ptau",
            "e1.zkey",
            "--out",
            "e_params",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("too small") || err.contains("another circuit"),
        "{err}"
    );
}

/// `verify` checks the A, B1 and B2 sections against the circuit by a random linear
/// combination instead of recomputing them: the honest key passes, and a key with any of the
/// three changed (two points swapped, one point replaced by another of the subgroup, or a B2
/// point outside the subgroup) is refused, also when its initial key was never computed.
#[test]
fn verify_checks_the_a_and_b_sections_by_random_linear_combination() {
    let (_, good) = keys();
    let ptau = Ptau::open(&fixture().join("pot.ptau")).unwrap();
    let c = circuit(Kind::Payment, Profile::Test).unwrap();
    let report = phase2::verify(&c.r1cs, &ptau, good).expect("the honest key verifies");
    assert_eq!(report.contributions.len(), 2);
    let refused = |z: &Zkey, needle: &str| match phase2::verify(&c.r1cs, &ptau, z) {
        Ok(_) => panic!("a tampered key verified (expected: {needle})"),
        Err(e) => assert!(e.to_string().contains(needle), "{e} (expected: {needle})"),
    };
    let mut z = good.clone();
    let (i, j) = distinct(&z.a);
    z.a.swap(i, j);
    refused(&z, "the A section differs");
    let mut z = good.clone();
    let (i, j) = distinct(&z.b1);
    z.b1[i] = z.b1[j];
    refused(&z, "the B1 section differs");
    let mut z = good.clone();
    let (i, j) = distinct(&z.b2);
    z.b2.swap(i, j);
    refused(&z, "the B2 section differs");
    // one wire's B2 point doubled: still in the subgroup, not the circuit's
    let mut z = good.clone();
    let k = (0..z.b2.len())
        .find(|&k| !ark_ec::AffineRepr::is_zero(&z.b2[k]))
        .unwrap();
    z.b2[k] = (z.b2[k] + z.b2[k]).into();
    refused(&z, "the B2 section differs");
    let mut z = good.clone();
    z.b2[k] = g2_outside_subgroup();
    refused(
        &z,
        "the B2 section has a point outside the prime-order subgroup",
    );
    // a point where the circuit has none (a wire without B terms), and none where it has one
    let mut z = good.clone();
    let empty = (0..z.b2.len())
        .find(|&k| ark_ec::AffineRepr::is_zero(&z.b2[k]))
        .expect("a wire without B terms");
    z.b2[empty] = <ark_bn254::G2Affine as ark_ec::AffineRepr>::generator();
    refused(&z, "the B2 section differs");
    let mut z = good.clone();
    z.b1[k] = <ark_bn254::G1Affine as ark_ec::AffineRepr>::zero();
    refused(&z, "the B1 section differs");
    // a section of the wrong length
    let mut z = good.clone();
    z.a.pop();
    refused(&z, "the A section differs");
    // another circuit's key (other sizes) is named as such
    let mut z = good.clone();
    z.n_vars += 1;
    refused(&z, "the key is for another circuit");
}
