//! Phase 1 import against files made by the pinned snarkjs (tools/snarkjs): a real ceremony of
//! power 6 with one contribution, prepared for phase 2; and every way a file can be wrong.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use zkpay_ceremony::ptau::Ptau;
use zkpay_ceremony::CeremonyError;

fn snarkjs(dir: &Path, args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cli = root.join("tools/snarkjs/node_modules/snarkjs/build/cli.cjs");
    assert!(
        cli.exists(),
        "snarkjs is not installed: run scripts/bootstrap.sh (or `cd tools/snarkjs && npm ci`)"
    );
    let out = Command::new("node")
        .arg(&cli)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "snarkjs {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The files, made once per test run.
fn files() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        snarkjs(&dir, &["powersoftau", "new", "bn128", "6", "p0.ptau"]);
        snarkjs(
            &dir,
            &[
                "powersoftau",
                "contribute",
                "p0.ptau",
                "p1.ptau",
                "--name=first",
                "-e=zkpay test entropy",
            ],
        );
        snarkjs(
            &dir,
            &["powersoftau", "prepare", "phase2", "p1.ptau", "final.ptau"],
        );
        snarkjs(&dir, &["powersoftau", "new", "bls12-381", "3", "bls.ptau"]);
        dir
    })
}

/// Data offset of section `kind` in a ptau file.
fn section_offset(bytes: &[u8], kind: u32) -> usize {
    let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let mut pos = 12;
    for _ in 0..n {
        let k = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().unwrap()) as usize;
        if k == kind {
            return pos + 12;
        }
        pos += 12 + size;
    }
    panic!("no section {kind}");
}

/// `final.ptau` changed by `edit`, written beside it.
fn edited(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(files().join("final.ptau")).unwrap();
    edit(&mut bytes);
    let path = files().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Copies point `from` over point `to` of a section (each point `size` bytes).
fn copy_point(bytes: &mut [u8], kind: u32, size: usize, from: usize, to: usize) {
    let o = section_offset(bytes, kind);
    let p = bytes[o + from * size..o + (from + 1) * size].to_vec();
    bytes[o + to * size..o + (to + 1) * size].copy_from_slice(&p);
}

#[test]
fn a_snarkjs_ceremony_imports_and_verifies() {
    let p = Ptau::open(&files().join("final.ptau")).unwrap();
    assert_eq!((p.power, p.ceremony_power, p.contributions), (6, 6, 1));
    assert!(p.prepared);
    p.verify_powers().unwrap();
    p.check_power(6).unwrap();
    p.check_power(4).unwrap();
    assert!(matches!(
        p.check_power(7),
        Err(CeremonyError::TooSmall { have: 6, need: 7 })
    ));
    // before `prepare phase2` too
    let p = Ptau::open(&files().join("p1.ptau")).unwrap();
    assert!(!p.prepared);
    p.verify_powers().unwrap();
}

#[test]
fn files_that_are_not_a_usable_bn254_ceremony_are_refused() {
    // no contribution: τ = α = β = 1, known to everyone
    let e = Ptau::open(&files().join("p0.ptau")).unwrap_err();
    assert!(e.to_string().contains("no contribution"), "{e}");
    // another curve
    let e = Ptau::open(&files().join("bls.ptau")).unwrap_err();
    assert!(matches!(e, CeremonyError::WrongCurve(_)), "{e}");
    // truncated, padded, wrong magic, a section twice
    let e = Ptau::open(&edited("short.ptau", |b| b.truncate(b.len() - 100))).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = Ptau::open(&edited("long.ptau", |b| b.extend_from_slice(&[0; 7]))).unwrap_err();
    assert!(e.to_string().contains("after the last section"), "{e}");
    let e = Ptau::open(&edited("magic.ptau", |b| b[0] = b'x')).unwrap_err();
    assert!(e.to_string().contains("magic"), "{e}");
    let e = Ptau::open(&edited("empty.ptau", |b| b.truncate(3))).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = Ptau::open(&edited("power.ptau", |b| {
        // the header's power: 7 while the sections hold 2^6
        let o = section_offset(b, 1) + 4 + 32;
        b[o] = 7;
        b[o + 4] = 7;
    }))
    .unwrap_err();
    assert!(e.to_string().contains("2^7 powers need"), "{e}");
    let e = Ptau::open(&edited("missing.ptau", |b| {
        // section 6 relabelled 8: an unknown section
        let n = u32::from_le_bytes(b[8..12].try_into().unwrap());
        let mut pos = 12;
        for _ in 0..n {
            let k = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap());
            let size = u64::from_le_bytes(b[pos + 4..pos + 12].try_into().unwrap()) as usize;
            if k == 6 {
                b[pos..pos + 4].copy_from_slice(&8u32.to_le_bytes());
            }
            pos += 12 + size;
        }
    }))
    .unwrap_err();
    assert!(e.to_string().contains("unknown section 8"), "{e}");
}

#[test]
fn inconsistent_powers_are_found() {
    for (name, kind, size, from, to, why) in [
        ("tau_g1.ptau", 2, 64, 4, 3, "τ^i·G1"),
        ("tau_g1_last.ptau", 2, 64, 125, 126, "τ^i·G1"),
        ("tau_g2.ptau", 3, 128, 3, 2, "τ^i·G2"),
        ("alpha.ptau", 4, 64, 2, 1, "α·τ^i·G1"),
        ("beta.ptau", 5, 64, 2, 63, "β·τ^i·G1"),
    ] {
        let path = edited(name, |b| copy_point(b, kind, size, from, to));
        let p = Ptau::open(&path).unwrap();
        let e = p.verify_powers().unwrap_err();
        assert!(
            matches!(&e, CeremonyError::Inconsistent(m) if m.contains(why)),
            "{name}: {e}"
        );
    }
    // β·G2 replaced by τ·G2: a β different from the G1 side's
    let path = edited("beta_g2.ptau", |b| {
        let from = section_offset(b, 3) + 128;
        let to = section_offset(b, 6);
        let p = b[from..from + 128].to_vec();
        b[to..to + 128].copy_from_slice(&p);
    });
    let e = Ptau::open(&path).unwrap().verify_powers().unwrap_err();
    assert!(e.to_string().contains("different β"), "{e}");
    // τ^0 not the generator
    let path = edited("tau0.ptau", |b| copy_point(b, 2, 64, 1, 0));
    let e = Ptau::open(&path).unwrap().verify_powers().unwrap_err();
    assert!(e.to_string().contains("not the generator"), "{e}");
}

#[test]
fn a_circuit_s_check_covers_the_powers_its_key_is_made_from() {
    // a circuit of domain 2^3 is made from τ^i·G1, i < 16, and τ^i·G2, α·τ^i, β·τ^i, i < 8
    let p = Ptau::open(&files().join("final.ptau")).unwrap();
    p.verify_powers_for(3).unwrap();
    p.verify_powers_for(6).unwrap();
    assert!(matches!(
        p.verify_powers_for(7),
        Err(CeremonyError::TooSmall { have: 6, need: 7 })
    ));
    for (name, kind, size, from, to, why) in [
        ("used_tau_g1.ptau", 2, 64, 14, 15, "τ^i·G1"),
        ("used_tau_g2.ptau", 3, 128, 6, 7, "τ^i·G2"),
        ("used_alpha.ptau", 4, 64, 6, 7, "α·τ^i·G1"),
        ("used_beta.ptau", 5, 64, 1, 7, "β·τ^i·G1"),
    ] {
        let path = edited(name, |b| copy_point(b, kind, size, from, to));
        let e = Ptau::open(&path).unwrap().verify_powers_for(3).unwrap_err();
        assert!(
            matches!(&e, CeremonyError::Inconsistent(m) if m.contains(why)),
            "{name}: {e}"
        );
    }
    // a point past what the circuit uses decides nothing about its key: the circuit's check
    // passes and the whole file's does not
    for (name, kind, size, from, to) in [
        ("unused_tau_g1.ptau", 2, 64, 15, 16),
        ("unused_tau_g2.ptau", 3, 128, 7, 8),
        ("unused_alpha.ptau", 4, 64, 7, 8),
        ("unused_beta.ptau", 5, 64, 8, 9),
    ] {
        let path = edited(name, |b| copy_point(b, kind, size, from, to));
        let p = Ptau::open(&path).unwrap();
        p.verify_powers_for(3).unwrap();
        assert!(p.verify_powers().is_err(), "{name}");
    }
}

#[test]
fn points_off_the_curve_or_not_canonical_are_refused() {
    let path = edited("off_curve.ptau", |b| {
        let o = section_offset(b, 2) + 5 * 64;
        b[o] ^= 1;
    });
    let e = Ptau::open(&path).unwrap().verify_powers().unwrap_err();
    assert!(e.to_string().contains("not on the curve"), "{e}");
    let path = edited("big_coord.ptau", |b| {
        let o = section_offset(b, 4) + 7 * 64;
        b[o..o + 32].copy_from_slice(&[0xff; 32]);
    });
    let e = Ptau::open(&path).unwrap().verify_powers().unwrap_err();
    assert!(e.to_string().contains("not below q"), "{e}");
    let path = edited("g2_off.ptau", |b| {
        let o = section_offset(b, 3) + 9 * 128 + 70;
        b[o] ^= 4;
    });
    let e = Ptau::open(&path).unwrap().verify_powers().unwrap_err();
    assert!(e.to_string().contains("G2 point"), "{e}");
}

#[test]
fn zkpay_setup_checks_a_ptau_file() {
    let bin = env!("CARGO_BIN_EXE_zkpay-setup");
    let out = Command::new(bin)
        .args(["ptau", "--json", "--power", "5"])
        .arg(files().join("final.ptau"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["power"], 6);
    assert_eq!(v["contributions"], 1);
    // too small for the circuit, and tampered: refused with the reason
    let out = Command::new(bin)
        .args(["ptau", "--power", "9"])
        .arg(files().join("final.ptau"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too small"));
    let bad = edited("cli_bad.ptau", |b| copy_point(b, 2, 64, 9, 8));
    let out = Command::new(bin).arg("ptau").arg(bad).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("inconsistent"));
}
