//! `zkpay-demo`, what `make demo` runs, on the test profile.

use assert_cmd::Command;
use serde_json::Value;

/// `zkpay-demo --json` (test profile): one summary object, every check passed.
#[test]
fn demo_json_summary() {
    let keys = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("zkpay-demo")
        .unwrap()
        .args(["--profile", "test", "--json", "--keys-dir"])
        .arg(keys.path())
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    for k in [
        "receipt_verified",
        "double_spend_rejected",
        "invoice_replay_rejected",
        "merchant_received",
    ] {
        assert_eq!(v[k], true, "{k}: {v}");
    }
    for k in ["payment_proof_ms", "batch_proof_ms", "qr_to_accept_ms"] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    assert!(v["steps"].as_array().unwrap().len() >= 10);
}

/// `zkpay-demo --ledger evm --json` (test profile): the same flow on a local anvil and the
/// rollup contract; the receipt is checked against the contract's events, and every batch's gas
/// is reported.
#[test]
fn demo_on_the_evm_ledger() {
    let keys = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("zkpay-demo")
        .unwrap()
        .args([
            "--profile",
            "test",
            "--ledger",
            "evm",
            "--json",
            "--keys-dir",
        ])
        .arg(keys.path())
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["ledger"], "evm", "{v}");
    assert!(v["contract"].as_str().unwrap().starts_with("0x"), "{v}");
    for k in [
        "receipt_verified",
        "double_spend_rejected",
        "invoice_replay_rejected",
    ] {
        assert_eq!(v[k], true, "{k}: {v}");
    }
    // the deposit's batch and the payment's batch, each with its gas
    let gas = v["batch_gas"].as_array().unwrap();
    assert_eq!(gas.len(), 2, "{v}");
    assert!(gas.iter().all(|g| g.as_u64().unwrap() > 21_000), "{v}");
    let steps = v["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["detail"].as_str().unwrap().contains("events on chain")));
}
