//! `zkpay-bench report --quick` as a smoke test: every file is written and every section is
//! present. Times are never asserted (shared, noisy machines).

#[test]
fn quick_report_writes_every_file() {
    let out = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let r = zkpay_bench::report::run(&zkpay_bench::report::ReportOptions {
        out: out.path().to_path_buf(),
        data_dir: data.path().to_path_buf(),
        quick: true,
    })
    .unwrap();
    for f in [
        "report.md",
        "report.json",
        "prove_vs_constraints.svg",
        "prove_payment_depths.svg",
        "batch_throughput.svg",
        "verify_per_proof.svg",
        "evm_gas_per_payment.svg",
    ] {
        let text = std::fs::read_to_string(out.path().join(f)).unwrap();
        assert!(!text.is_empty(), "{f} is empty");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    for k in [
        "machine",
        "versions",
        "parameters",
        "constraints",
        "prove_points",
        "prove_fit",
        "batch",
        "verify",
        "ingest",
        "evm",
        "published",
    ] {
        assert!(json.get(k).is_some(), "report.json lacks {k}");
    }
    // the figures are there (not their size): counts are exact, times positive
    assert_eq!(r.constraints.payment.constraints, 12_645);
    assert_eq!(r.prove_points.len(), 3, "two payment depths and one chunk");
    assert!(r.prove_points.iter().all(|p| p.prove_seconds > 0.0));
    assert_eq!(r.ingest.accepted, r.ingest.payments);
    assert_eq!(r.batch.points.len(), 4);
    // gas: both series at every size, a whole batch costs more than verifying it
    assert_eq!(r.evm.batches.len(), 3);
    assert_eq!(r.evm.settled.len(), 3);
    for (v, w) in r.evm.batches.iter().zip(&r.evm.settled) {
        assert_eq!(v.payments, w.payments);
        assert!(w.gas > v.gas, "{} payments", v.payments);
    }
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for section in [
        "## Constraints",
        "## Prove time",
        "## Batch proving",
        "## Verification",
        "## Node ingest",
        "## Gas on an EVM chain",
        "## Other Groth16 provers",
        "Quick mode",
    ] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
}
