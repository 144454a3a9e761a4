//! The fault-and-load harness, small: honest payments while a flood of invalid and replayed
//! payments runs and the node is SIGKILLed twice and restarted.

use std::path::Path;
use std::process::Command;

#[test]
fn chaos_loses_nothing_acknowledged_and_accepts_no_double_spend() {
    let bench = Path::new(env!("CARGO_BIN_EXE_zkpay-bench"));
    let node = bench.parent().unwrap().join("zkpay-node");
    assert!(node.is_file(), "{} not built", node.display());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bench)
        .args([
            "chaos", "--json", "--honest", "10", "--flood", "20", "--kills", "2",
        ])
        .args(["--seed", "7", "--max-seconds", "300"])
        .arg("--node")
        .arg(&node)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["kills"], 2, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert_eq!(r["double_spends_accepted"], 0, "{r}");
    assert_eq!(r["flood_accepted"], 0, "{r}");
    // every honest payment reached the node, acknowledged or known after a lost answer
    let reached = r["acknowledged"].as_u64().unwrap() + r["known_unacknowledged"].as_u64().unwrap();
    assert_eq!(reached, 10, "{r}");
    assert_eq!(r["committed"], r["acknowledged"], "{r}");
    assert!(r["flood_sent"].as_u64().unwrap() > 0, "{r}");
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0, "{r}");
}
