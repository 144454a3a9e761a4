//! Black-box tests of the `zkpay` command against a spawned `zkpay-node` (test profile): the
//! whole QR payment flow, rows 25–30 and fault 11 of shared/bad-inputs.md.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

struct NodeProc {
    child: Child,
    url: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_node(dir: &Path) -> NodeProc {
    let bin = assert_cmd::cargo::cargo_bin("zkpay-node");
    let mut child = std::process::Command::new(bin)
        .args([
            "--profile",
            "test",
            "--bind",
            "127.0.0.1:0",
            "--batch-size",
            "2",
            "--network",
            "dev",
        ])
        .args(["--batch-timeout-ms", "200"])
        .arg("--data-dir")
        .arg(dir)
        .env("ZKPAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("zkpay-node is built by `cargo test --workspace`");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    NodeProc {
        child,
        url: format!("http://{addr}"),
    }
}

struct Env {
    node: NodeProc,
    root: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let node = spawn_node(&root.path().join("node"));
        Self { node, root }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn zkpay(&self, wallet: &str) -> Command {
        let mut c = Command::cargo_bin("zkpay").unwrap();
        c.arg("--data-dir")
            .arg(self.dir(wallet))
            .arg("--node")
            .arg(&self.node.url)
            .env("ZKPAY_PASSPHRASE", format!("pass-{wallet}"))
            .env_remove("ZKPAY_NETWORK")
            .timeout(std::time::Duration::from_secs(300));
        c
    }

    /// Runs with --json; returns (exit code, parsed stdout).
    fn json(&self, wallet: &str, args: &[&str]) -> (i32, Value) {
        let out = self
            .zkpay(wallet)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&out.stdout).into_owned()));
        (code, v)
    }

    fn ok(&self, wallet: &str, args: &[&str]) -> Value {
        let (code, v) = self.json(wallet, args);
        assert_eq!(code, 0, "zkpay {args:?}: {v}");
        v
    }

    fn accepted(&self) -> u64 {
        let body = ureq::get(&format!("{}/metrics", self.node.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix("zkpay_payments_accepted_total "))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

fn spendable(v: &Value) -> u64 {
    v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "USD")
        .map(|b| b["spendable"].as_u64().unwrap())
        .unwrap_or(0)
}

/// The whole flow: funding, an invoice QR (PNG and SVG), paying from the image, the merchant's
/// watch-only till, invoice status, a receipt, paid-once, withdrawal, history.
#[test]
fn qr_payment_flow() {
    let env = Env::new();
    let m = env.ok("merchant", &["init"]);
    assert!(m["address"].as_str().unwrap().starts_with("zkpd1"));
    env.ok("customer", &["init"]);
    let fvk = env.ok("merchant", &["viewing-key", "export"])["viewing_key"]
        .as_str()
        .unwrap()
        .to_string();
    let till = env.ok("till", &["init", "--watch", &fvk]);
    assert_eq!(till["watch_only"], true);
    assert_eq!(till["address"], m["address"]);

    env.ok(
        "customer",
        &["faucet", "--amount", "100.00", "--asset", "USD"],
    );
    let d = env.ok("customer", &["deposit", "--amount", "60.00", "--wait"]);
    assert!(d["batch"].as_u64().unwrap() >= 1);
    assert_eq!(spendable(&env.ok("customer", &["balance"])), 6_000);

    // the merchant's invoice, as PNG and SVG
    let png = env.dir("invoice.png");
    let svg = env.dir("invoice.svg");
    let r = env.ok(
        "merchant",
        &[
            "request",
            "--amount",
            "12.50",
            "--invoice",
            "order-7",
            "--expires-in",
            "600",
            "--memo",
            "thanks",
            "--label",
            "Corner Café",
            "--png",
            png.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    let uri = r["uri"].as_str().unwrap().to_string();
    assert_eq!(zkpay_wallet::qr::decode_file(&png).unwrap(), uri);
    assert_eq!(
        zkpay_wallet::qr::decode_svg(&std::fs::read_to_string(&svg).unwrap()).unwrap(),
        uri
    );
    let st = env.ok("merchant", &["invoice", "status", "order-7"]);
    assert_eq!(st["status"], "unpaid");

    // the customer pays from the PNG
    let p = env.ok(
        "customer",
        &["pay", "--qr", png.to_str().unwrap(), "--yes", "--wait"],
    );
    let id = p["payment"].as_str().unwrap().to_string();
    assert!(p["batch"].as_u64().is_some());
    assert!(p["accepted_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(spendable(&env.ok("customer", &["balance"])), 6_000 - 1_250);

    // the till sees it; the invoice is paid
    assert_eq!(spendable(&env.ok("till", &["balance"])), 1_250);
    let st = env.ok("merchant", &["invoice", "status", "order-7"]);
    assert_eq!(
        (st["status"].as_str(), st["received"].as_u64()),
        (Some("paid"), Some(1_250))
    );
    // the till cannot spend
    let (code, v) = env.json("till", &["withdraw", "--amount", "1.00"]);
    assert_eq!(code, 6, "{v}");

    // paid once: the SVG of the same invoice is refused before proving
    let (code, v) = env.json("customer", &["pay", "--qr", svg.to_str().unwrap(), "--yes"]);
    assert_eq!(code, 7, "{v}");
    assert!(v["error"].as_str().unwrap().contains("already paid"));

    // receipt
    let rfile = env.dir("receipt.json");
    env.ok(
        "customer",
        &["receipt", "export", &id, "--out", rfile.to_str().unwrap()],
    );
    let v = env.ok("anyone", &["receipt", "verify", rfile.to_str().unwrap()]);
    assert_eq!(v["verified"]["value"], 1_250);
    assert_eq!(v["verified"]["invoice"], "order-7");
    // the same check reading the embedded ledger's own log instead of asking the node
    let ledger = env.dir("node").join("ledger");
    let v = env.ok(
        "anyone",
        &[
            "receipt",
            "verify",
            rfile.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
        ],
    );
    assert_eq!(v["verified"]["value"], 1_250);
    assert!(v["verified"]["checked_against"]
        .as_str()
        .unwrap()
        .contains("embedded ledger"));
    // a receipt with a changed amount does not verify
    let mut r: Value = serde_json::from_slice(&std::fs::read(&rfile).unwrap()).unwrap();
    r["note"]["value"] = Value::from(99_999u64);
    std::fs::write(&rfile, serde_json::to_vec(&r).unwrap()).unwrap();
    let (code, v) = env.json("anyone", &["receipt", "verify", rfile.to_str().unwrap()]);
    assert_ne!(code, 0, "{v}");
    assert!(v["error"].as_str().unwrap().contains("does not verify"));

    // the merchant withdraws to its public account
    env.ok("merchant", &["withdraw", "--amount", "10.00", "--wait"]);
    assert_eq!(spendable(&env.ok("merchant", &["balance"])), 250);
    let h = env.ok("customer", &["history"]);
    let kinds: Vec<&str> = h["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["deposit", "payment"]);
    // text mode works too
    env.zkpay("customer").arg("address").assert().success();
}

/// Row 33 and 36: an invoice URI edited to a smaller amount is paid, but the merchant sees it
/// underpaid and the invoice stays open for the real customer; a bidi override in the label is
/// refused before anything is sent.
#[test]
fn edited_invoices_are_underpaid_not_paid() {
    let env = Env::new();
    env.ok("merchant", &["init"]);
    env.ok("customer", &["init"]);
    env.ok("customer", &["faucet", "--amount", "100.00"]);
    env.ok("customer", &["deposit", "--amount", "60.00", "--wait"]);
    let r = env.ok(
        "merchant",
        &["request", "--amount", "12.50", "--invoice", "order-8"],
    );
    let uri = r["uri"].as_str().unwrap().to_string();
    assert!(uri.contains("&salt="), "{uri}");
    // the customer (or anyone who saw the QR) edits the amount to 0.01 and pays
    let edited = uri.replace("amount=12.50", "amount=0.01");
    let p = env.ok("customer", &["pay", &edited, "--yes", "--wait"]);
    assert!(p["batch"].as_u64().is_some());
    let (code, st) = env.json("merchant", &["invoice", "status", "order-8"]);
    assert_ne!(code, 0, "{st}");
    assert_eq!(st["status"], "underpaid");
    assert_eq!(st["paid"], false);
    assert_eq!(st["received"], 1);
    // the real payment of the invoice is still possible and makes it paid
    env.ok("customer", &["pay", &uri, "--yes", "--wait"]);
    let st = env.ok("merchant", &["invoice", "status", "order-8"]);
    assert_eq!(
        (st["status"].as_str(), st["received"].as_u64()),
        (Some("paid"), Some(1_250))
    );
    // a request whose label carries U+202E (right-to-left override) is refused
    let bidi = format!("{uri}&label=Shop%E2%80%AEevil");
    let before = env.accepted();
    let (code, v) = env.json("customer", &["pay", &bidi, "--yes"]);
    assert_eq!(code, 7, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("bidirectional"),
        "{v}"
    );
    // a request without the salt cannot carry an invoice
    let unsalted: String = uri
        .split('&')
        .filter(|p| !p.starts_with("salt="))
        .collect::<Vec<_>>()
        .join("&");
    let (code, v) = env.json("customer", &["pay", &unsalted, "--yes"]);
    assert_eq!(code, 7, "{v}");
    assert_eq!(env.accepted(), before, "nothing was sent");
    // the merchant side refuses such text too: no request is made with a control or
    // bidirectional-formatting character in its label or message
    for (flag, text) in [
        ("--label", "Shop\u{202e}evil"),
        ("--label", "Shop\u{2066}x"),
        ("--message", "line\nbreak"),
        ("--message", "bell\u{7}"),
        ("--label", "zero\u{200b}width"),
    ] {
        let (code, v) = env.json("merchant", &["request", "--amount", "1.00", flag, text]);
        assert_ne!(code, 0, "{flag} {text:?} accepted: {v}");
        let err = v["error"].as_str().unwrap_or_default();
        assert!(
            err.contains("control") || err.contains("bidirectional"),
            "{flag} {text:?}: {v}"
        );
    }
}

/// Rows 25–30: bad requests, images, wallets and amounts fail with specific errors and exit
/// codes, and send nothing.
#[test]
fn bad_inputs_send_nothing() {
    let env = Env::new();
    let m = env.ok("merchant", &["init"]);
    let maddr = m["address"].as_str().unwrap().to_string();
    env.ok("customer", &["init"]);
    env.ok("customer", &["faucet", "--amount", "10.00"]);
    env.ok("customer", &["deposit", "--amount", "5.00", "--wait"]);
    let before = env.accepted();

    // row 25: payment URIs
    let base = format!("zkpay:{maddr}?asset=USD&req-network=dev");
    for (uri, why) in [
        (format!("{base}&amount=1&amount=2"), "duplicate"),
        (format!("{base}&amount=1.001"), "amount"),
        (format!("{base}&amount=1e3"), "amount"),
        (format!("{base}&amount=50,000"), "amount"),
        (format!("{base}&amount=.5"), "amount"),
        (format!("{base}&amount=50."), "amount"),
        (format!("{base}&amount=-5"), "amount"),
        (format!("zkpay://{maddr}?amount=1"), "scheme"),
        (format!("{base}&amount=1&req-x=1"), "unknown required"),
        (format!("{base}&amount=1&memo=%%%"), "memo"),
        (format!("{base}&amount=1&memo={}", "A".repeat(700)), "memo"),
        (format!("{base}&amount=1&expires=1"), "expired"),
    ] {
        let (code, v) = env.json("customer", &["pay", &uri, "--yes"]);
        assert_eq!(code, 7, "{uri}: {v}");
        assert!(
            v["error"].as_str().unwrap().to_lowercase().contains(why),
            "{uri}: expected {why:?} in {v}"
        );
    }
    // unknown non-req parameters are ignored (this one then fails on funds, not on parsing)
    let (code, v) = env.json(
        "customer",
        &["pay", &format!("{base}&amount=9999&foo=bar"), "--yes"],
    );
    assert_eq!(code, 4, "{v}");
    // wrong network and a bad checksum
    let test_addr = maddr.replacen("zkpd1", "zkpt1", 1);
    let (code, _) = env.json(
        "customer",
        &[
            "pay",
            &format!("zkpay:{test_addr}?amount=1&asset=USD"),
            "--yes",
        ],
    );
    assert_eq!(code, 7);
    let mut bad = maddr.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'q' { 'p' } else { 'q' });
    let (code, v) = env.json(
        "customer",
        &["pay", &format!("zkpay:{bad}?amount=1&asset=USD"), "--yes"],
    );
    assert_eq!(code, 7, "{v}");

    // row 26: images
    let blank = env.dir("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255u8]))
        .save(&blank)
        .unwrap();
    let (code, v) = env.json(
        "customer",
        &["pay", "--qr", blank.to_str().unwrap(), "--yes"],
    );
    assert_eq!(code, 7, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no QR code"));
    let trunc = env.dir("trunc.png");
    let png = zkpay_wallet::qr::render_png("zkpay:x").unwrap();
    std::fs::write(&trunc, &png[..png.len() / 3]).unwrap();
    let (code, _) = env.json(
        "customer",
        &["pay", "--qr", trunc.to_str().unwrap(), "--yes"],
    );
    assert_eq!(code, 7);
    let (code, _) = env.json("customer", &["pay", "--qr", "/nonexistent.png", "--yes"]);
    assert_eq!(code, 7);

    // row 27: over QR capacity
    let (code, v) = env.json(
        "merchant",
        &[
            "request",
            "--amount",
            "1.00",
            "--message",
            &"m".repeat(3000),
        ],
    );
    assert_ne!(code, 0, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("QR")
            || v["error"].as_str().unwrap().contains("long"),
        "{v}"
    );

    // row 28: wrong passphrase (file untouched), missing data dir, other network
    let wfile = env.dir("customer").join("wallet.json");
    let bytes = std::fs::read(&wfile).unwrap();
    let out = env
        .zkpay("customer")
        .env("ZKPAY_PASSPHRASE", "wrong")
        .args(["--json", "balance"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrong passphrase"));
    assert_eq!(std::fs::read(&wfile).unwrap(), bytes);
    let (code, v) = env.json("nowhere", &["balance"]);
    assert_eq!(code, 6, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no wallet"));
    let out = env
        .zkpay("customer")
        .args(["--json", "--network", "test", "balance"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(std::fs::read(&wfile).unwrap(), bytes);

    // row 29: no terminal, no --yes
    let uri = env.ok("merchant", &["request", "--amount", "1.00"])["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.zkpay("customer").args(["pay", &uri]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));

    // row 30: amount 0 and above the balance, refused before proving
    let zero = format!("{base}&amount=0");
    let (code, v) = env.json("customer", &["pay", &zero, "--yes"]);
    assert_eq!(code, 7, "{v}");
    let t = std::time::Instant::now();
    let (code, v) = env.json(
        "customer",
        &["pay", &format!("{base}&amount=500.00"), "--yes"],
    );
    assert_eq!(code, 4, "{v}");
    assert!(v["error"].as_str().unwrap().contains("insufficient funds"));
    let _ = t;
    let (code, _) = env.json("customer", &["deposit", "--amount", "99.00"]);
    assert_eq!(code, 4);

    // node unreachable
    let out = Command::cargo_bin("zkpay")
        .unwrap()
        .arg("--data-dir")
        .arg(env.dir("customer"))
        .args(["--json", "--node", "http://127.0.0.1:1", "sync"])
        .env("ZKPAY_PASSPHRASE", "pass-customer")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    // usage
    env.zkpay("customer").arg("frobnicate").assert().code(2);

    assert_eq!(env.accepted(), before, "something was sent");
}

/// Fault 11: a wallet killed right after the node accepted its payment, and one killed during
/// sync, resume from their last saved point with no duplicate notes and the right balance.
#[test]
fn wallet_killed_during_sync_or_after_submit_resumes() {
    let env = Env::new();
    let m = env.ok("merchant", &["init"]);
    let maddr = m["address"].as_str().unwrap().to_string();
    env.ok("customer", &["init"]);
    env.ok("customer", &["faucet", "--amount", "100.00"]);
    env.ok("customer", &["deposit", "--amount", "40.00", "--wait"]);
    env.ok("merchant", &["sync"]);

    // killed right after the node accepted the payment: the wallet never saved it
    let wfile = env.dir("customer").join("wallet.json");
    let out = env
        .zkpay("customer")
        .env("ZKPAY_WALLET_CRASH_AT", "after_submit")
        .args([
            "pay",
            &format!("zkpay:{maddr}?amount=15.00&asset=USD&req-network=dev"),
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        serde_json::from_slice::<Value>(&std::fs::read(&wfile).unwrap()).is_ok(),
        "wallet file intact"
    );
    // more batches for the merchant to sync: two deposits of the customer
    env.ok("customer", &["deposit", "--amount", "1.00", "--wait"]);
    env.ok("customer", &["deposit", "--amount", "2.00", "--wait"]);
    // after resync the customer has: 40 - 15 (change found by trial decryption) + 1 + 2
    let b = env.ok("customer", &["balance"]);
    assert_eq!(spendable(&b), 4_000 - 1_500 + 100 + 200, "{b}");

    // the merchant is killed while syncing the second batch after its last save
    let synced = env.ok("merchant", &["sync"]);
    let at = synced["batch"].as_u64().unwrap();
    env.ok("customer", &["deposit", "--amount", "3.00", "--wait"]);
    env.ok("customer", &["deposit", "--amount", "4.00", "--wait"]);
    let out = env
        .zkpay("merchant")
        .env("ZKPAY_WALLET_CRASH_AT", format!("sync_batch:{}", at + 1))
        .args(["sync"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let again = env.ok("merchant", &["sync"]);
    assert!(again["batch"].as_u64().unwrap() >= at + 2);
    let h = env.ok("merchant", &["history"]);
    let received = h["received"].as_array().unwrap();
    assert_eq!(received.len(), 1, "no duplicate notes: {h}");
    assert_eq!(spendable(&env.ok("merchant", &["balance"])), 1_500);
    let positions: std::collections::BTreeSet<u64> = env.ok("customer", &["history"])["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["position"].as_u64().unwrap())
        .collect();
    assert_eq!(
        positions.len(),
        env.ok("customer", &["history"])["received"]
            .as_array()
            .unwrap()
            .len()
    );
}
