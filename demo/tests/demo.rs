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
