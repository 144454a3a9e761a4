//! Integration tests on the real binary: submit, batch, commit, query; `kill -9` at chosen
//! points and restart with nothing acknowledged lost (faults 1–3, 5, 9, 10 of
//! shared/bad-inputs.md).

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zkpay_ledger::PaymentSubmission;
use zkpay_protocol::note::Root;
use zkpay_protocol::F;

fn spawn(dir: &Path, batch_size: usize, timeout_ms: u64, crash_at: Option<&str>) -> NodeProc {
    spawn_with(dir, batch_size, timeout_ms, crash_at, |_| {})
}

/// `zkpay-node` on the test profile, dev network, any free loopback port, data in `dir`.
fn node_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkpay-node"));
    cmd.args([
        "--profile",
        "test",
        "--bind",
        "127.0.0.1:0",
        "--network",
        "dev",
    ])
    .arg("--data-dir")
    .arg(dir);
    cmd
}

/// As [`spawn`], with `tweak` applied to the command last (extra flags, where stderr goes).
fn spawn_with(
    dir: &Path,
    batch_size: usize,
    timeout_ms: u64,
    crash_at: Option<&str>,
    tweak: impl FnOnce(&mut Command),
) -> NodeProc {
    let mut cmd = node_command(dir);
    cmd.args(["--batch-size", &batch_size.to_string()])
        .args(["--batch-timeout-ms", &timeout_ms.to_string()])
        .args(["--operator", &operator_account().to_hex()])
        .env("ZKPAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(c) = crash_at {
        cmd.env("ZKPAY_CRASH_AT", c);
    }
    tweak(&mut cmd);
    NodeProc::start(&mut cmd)
}

/// Minimal HTTP/1.1 client for loopback tests.
fn http(addr: &str, method: &str, path: &str, body: Option<&[u8]>) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or(b"");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let v = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, v)
}

fn submit(addr: &str, p: &PaymentSubmission) -> (u16, serde_json::Value) {
    http(
        addr,
        "POST",
        "/v1/payments",
        Some(&serde_json::to_vec(p).unwrap()),
    )
}

fn status(addr: &str, p: &PaymentSubmission) -> String {
    let (_, v) = http(
        addr,
        "GET",
        &format!("/v1/payments/{}", hex::encode(p.id())),
        None,
    );
    v["payment"]["status"]
        .as_str()
        .unwrap_or("unknown")
        .to_string()
}

fn root(addr: &str) -> (Root, u64) {
    let (_, v) = http(addr, "GET", "/v1/roots", None);
    let r: Root = serde_json::from_value(v["note_root"].clone()).unwrap();
    (r, v["batch"].as_u64().unwrap())
}

fn wait_committed(addr: &str, p: &PaymentSubmission) {
    let t = Instant::now();
    while status(addr, p) != "committed" {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "not committed in time"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn faucet(dir: &Path, account: &zkpay_protocol::payment::PublicAccount) {
    // the embedded ledger is in-process with the node: fund while the node is down
    let node = zkpay_sequencer::Node::open(config(dir)).unwrap();
    node.ledger().faucet(account, &usd(), 1_000_000).unwrap();
}

#[test]
fn kill_9_at_every_stage_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Wallet::new(11, "alice");
    faucet(dir.path(), &alice.account);
    let prover = prover(dir.path());

    // fault 1: kill -9 with payments pending (long timeout: no batch yet)
    let n = spawn(dir.path(), 100, 600_000, None);
    let (r, _) = root(&n.addr);
    let (d1, _) = deposit_at(r, &prover, &mut alice, 10);
    let (d2, _) = deposit_at(r, &prover, &mut alice, 20);
    assert_eq!(submit(&n.addr, &d1).0, 202);
    assert_eq!(submit(&n.addr, &d2).0, 202);
    drop(n); // SIGKILL
    let n = spawn(dir.path(), 100, 600_000, None);
    assert_eq!(status(&n.addr, &d1), "pending");
    assert_eq!(status(&n.addr, &d2), "pending");
    // fault 5: replay after restart
    assert_eq!(submit(&n.addr, &d1).0, 409);
    drop(n);

    // fault 1 mid-proof: batch immediately, kill while proving
    let n = spawn(dir.path(), 1, 0, None);
    std::thread::sleep(Duration::from_millis(300));
    drop(n);
    let n = spawn(dir.path(), 1, 0, None);
    wait_committed(&n.addr, &d1);
    wait_committed(&n.addr, &d2);
    let (r, batch) = root(&n.addr);
    assert!(batch >= 1);
    drop(n);

    // fault 3: crash after the ledger commit, before the local cleanup
    let (d3, _) = deposit_at(r, &prover, &mut alice, 30);
    let mut n = spawn(dir.path(), 1, 0, Some("after_ledger_commit"));
    assert_eq!(submit(&n.addr, &d3).0, 202);
    let t = Instant::now();
    while n.child.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "crash point not reached"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = spawn(dir.path(), 1, 0, None);
    // reconciled from the ledger: committed once, not pending, never committed twice
    assert_eq!(status(&n.addr, &d3), "committed");
    let (_, b) = root(&n.addr);
    assert_eq!(b, batch + 1);
    let (_, h) = http(&n.addr, "GET", "/health", None);
    assert_eq!(h["mempool"], 0);
    assert_eq!(submit(&n.addr, &d3).0, 409);
    drop(n);
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = spawn(dir.path(), 8, 600_000, None);
    let pid = n.child.id();
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t = Instant::now();
    let code = loop {
        if let Some(s) = n.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(code.success(), "{code:?}");
}

#[test]
fn refuses_to_start_with_a_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    drop(zkpay_sequencer::Node::open(config(dir.path())).unwrap());
    let keys = dir.path().join("keys");
    let vk_path = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("payment") && p.extension().is_some_and(|e| e == "vk")
        })
        .unwrap();
    let original = std::fs::read(&vk_path).unwrap();
    let run = || node_command(dir.path()).output().unwrap();
    // fault 9: corrupt key
    let mut corrupt = original.clone();
    corrupt[40] ^= 0xff;
    std::fs::write(&vk_path, &corrupt).unwrap();
    let out = run();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // row 23: gamma = delta
    let mut vk = zkpay_verifier::decode_vk(&original).unwrap();
    vk.delta_g2 = vk.gamma_g2;
    std::fs::write(&vk_path, zkpay_verifier::encode_vk(&vk)).unwrap();
    let out = run();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gamma equals delta"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = F::from(0u64);
}

/// Row 40: test and main never run on the public development setup.
#[test]
fn test_and_main_networks_refuse_development_keys() {
    for network in ["main", "test"] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zkpay-node"))
            .args([
                "--profile",
                "test",
                "--bind",
                "127.0.0.1:0",
                "--network",
                network,
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{network} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("ceremony") && err.contains("refuses to start"),
            "{err}"
        );
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing was written for {network}"
        );
        // and no network at all is a usage error, not a silent dev node
        let out = Command::new(env!("CARGO_BIN_EXE_zkpay-node"))
            .args(["--profile", "test", "--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("ZKPAY_NETWORK")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--network"));
        let mut c = config(dir.path());
        c.network = zkpay_protocol::address::Network::from_name(network).unwrap();
        assert!(matches!(
            zkpay_sequencer::Node::open(c),
            Err(zkpay_sequencer::NodeError::Config(_))
        ));
    }
}

/// Runs a node with stderr in a file (not a terminal) and `format`, accepts one payment, stops
/// it with SIGTERM; returns the log and the payment.
fn node_log(format: &str) -> (String, PaymentSubmission) {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Wallet::new(71, "alice");
    faucet(dir.path(), &alice.account);
    let prover = prover(dir.path());
    let log_path = dir.path().join("node.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut n = spawn_with(dir.path(), 8, 600_000, None, |c| {
        c.args(["--log-format", format])
            .env("ZKPAY_LOG", "info,zkpay_sequencer=debug")
            .stderr(Stdio::from(log));
    });
    let (r, _) = root(&n.addr);
    let (d, _) = deposit_at(r, &prover, &mut alice, 10);
    assert_eq!(submit(&n.addr, &d).0, 202);
    let ok = Command::new("kill")
        .args(["-TERM", &n.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(n.child.wait().unwrap().success());
    (std::fs::read_to_string(&log_path).unwrap(), d)
}

/// No line of a debug-level log carries the payment's encrypted notes, proof or commitments.
fn no_payment_contents(log: &str, p: &PaymentSubmission) {
    let secrets = [
        hex::encode(&p.ext.ciphertexts[0]),
        hex::encode(&p.ext.ciphertexts[1]),
        hex::encode(&p.proof),
        p.public.commitments[0].to_hex(),
        p.public.nullifiers[0].to_hex(),
    ];
    for s in secrets {
        assert!(!log.contains(&s[..40]), "the log carries {s}");
    }
}

/// Issue 19: a node whose log goes to a file writes no colour escapes; each payment's id is in
/// the line about it; `--log-format json` writes one JSON object per line.
#[test]
fn logs_have_no_escapes_off_a_terminal_and_json_on_request() {
    let (text, p) = node_log("text");
    let id = hex::encode(p.id());
    no_payment_contents(&text, &p);
    assert!(!text.contains('\u{1b}'), "escape codes in {text}");
    assert!(text.contains("zkpay-node listening"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("payment accepted") && l.contains(&id)),
        "{text}"
    );
    let (json, p) = node_log("json");
    let id = hex::encode(p.id());
    no_payment_contents(&json, &p);
    assert!(!json.contains('\u{1b}'));
    let lines: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines
        .iter()
        .any(|v| v["fields"]["message"] == "payment accepted" && v["fields"]["payment"] == id));
    assert!(lines.iter().all(|v| v["level"].is_string()));
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Unmounts a test filesystem when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with `dir/filler` until a write fails for lack of room.
fn fill(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 64] {
        let buf = vec![0xa5u8; chunk];
        loop {
            match f.write_all(&buf).and_then(|_| f.sync_data()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    path
}

/// Issue 18: a real full disk (a 64 MiB tmpfs made by the test). The node refuses payments with
/// 503 and reports failing health while the disk is full; once space is freed it recovers by
/// itself (the stores reopen RocksDB after its background error), `/health` returns to ok, new
/// payments are accepted, and every payment acknowledged before, during and after is committed.
#[test]
fn full_disk_recovers_without_a_restart() {
    if !is_root() {
        // mount a tmpfs as root of a new user and mount namespace, running this test there
        assert!(
            std::env::var_os("ZKPAY_IN_USERNS").is_none(),
            "cannot mount a tmpfs even in a user namespace"
        );
        let out = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "full_disk_recovers_without_a_restart",
                "--exact",
                "--nocapture",
            ])
            .env("ZKPAY_IN_USERNS", "1")
            .output()
            .expect("unshare (util-linux) mounts the test's tmpfs when not root");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=64m,mode=0700",
            "zkpay-full-disk-test",
        ])
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(mounted.success(), "mount -t tmpfs failed");
    let _unmount = Mounted(mnt.path().to_path_buf());
    let dir = mnt.path().join("node");
    std::fs::create_dir(&dir).unwrap();
    let mut alice = Wallet::new(41, "alice");
    faucet(&dir, &alice.account);
    let keys = tempfile::tempdir().unwrap();
    let prover = prover(keys.path());

    // the node's log goes beside the keys, off the disk that fills up
    let log_path = keys.path().join("node.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let n = spawn_with(&dir, 100, 1500, None, |c| {
        c.env("ZKPAY_LOG", "info").stderr(Stdio::from(log));
    });
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let (r, _) = root(&n.addr);
    let (first, _) = deposit_at(r, &prover, &mut alice, 5);
    assert_eq!(submit(&n.addr, &first).0, 202);
    wait_committed(&n.addr, &first);

    // the disk fills: payments are acknowledged until a write fails, then refused with 503
    let filler = fill(mnt.path());
    let (r, _) = root(&n.addr);
    let mut acked = vec![first];
    let mut refused = None;
    for i in 0..40 {
        let (d, _) = deposit_at(r, &prover, &mut alice, 100 + i);
        match submit(&n.addr, &d) {
            (202, _) => acked.push(d),
            (503, v) => {
                assert_eq!(v["error"], "storage", "{v}");
                refused = Some(d);
                break;
            }
            (s, v) => panic!("{s} {v}"),
        }
    }
    let refused = refused.expect("no write failed on the full disk");
    let (code, h) = http(&n.addr, "GET", "/health", None);
    assert_eq!(code, 503, "{h}");
    assert_eq!(h["storage"], "failing");
    assert_eq!(submit(&n.addr, &refused).0, 503);

    // space comes back: health recovers without a restart
    std::fs::remove_file(&filler).unwrap();
    let t = Instant::now();
    loop {
        let (code, h) = http(&n.addr, "GET", "/health", None);
        if code == 200 {
            assert_eq!(h["storage"], "ok");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "health did not recover: {h}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // the refused payment can be sent again, and new ones are accepted
    assert_eq!(submit(&n.addr, &refused).0, 202);
    acked.push(refused);
    let (d, _) = deposit_at(r, &prover, &mut alice, 999);
    assert_eq!(submit(&n.addr, &d).0, 202);
    acked.push(d);
    // nothing acknowledged is lost: all of it commits
    for p in &acked {
        wait_committed(&n.addr, p);
    }
    let (_, metrics_ok) = http(&n.addr, "GET", "/health", None);
    assert_eq!(metrics_ok["mempool"], 0);
    drop(n);
    // and the data on the disk that was full opens again
    let n = spawn(&dir, 100, 1500, None);
    for p in &acked {
        assert_eq!(status(&n.addr, p), "committed");
    }
}
