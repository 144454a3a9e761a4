//! The fault-and-load harness (`zkpay-bench chaos`): honest clients pay while a flood of invalid
//! and replayed payments runs and the node process is killed with SIGKILL at random moments and
//! restarted. Loopback only, bounded in time and count.
//!
//! It reports what a payment service must guarantee under that: every acknowledged (202)
//! payment is committed (`lost` must be 0), no replayed payment is accepted and no nullifier is
//! committed twice (`double_spends_accepted` must be 0), and how the honest payments fared
//! (latency percentiles of their 202s under the flood) and the node's peak resident memory.
//!
//! Payments are deposits proven once and cached (see [`crate::ingest::fixtures`]); the flood's
//! payments carry valid encodings and authorisations with another payment's proof, so each one
//! costs the node a proof verification.

use crate::ingest::{bench_account, bench_operator, fixtures, Latency};
use crate::memory::peak_rss;
use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use zkpay_ledger::PaymentSubmission;
use zkpay_sequencer::Profile;

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// The `zkpay-node` binary.
    pub node: PathBuf,
    /// Data directory (node data under `chaos-node`, cached proofs under `bench`).
    pub data_dir: PathBuf,
    /// Honest payments.
    pub honest: usize,
    /// Distinct invalid payments in the flood (sent over and over).
    pub flood: usize,
    /// SIGKILLs of the node.
    pub kills: usize,
    /// Seed of the kill schedule.
    pub seed: u64,
    /// Longest run before giving up (seconds).
    pub max_seconds: u64,
}

/// The figures.
#[derive(Debug, Serialize)]
pub struct ChaosReport {
    /// Node profile (test: small trees and chunks).
    pub profile: String,
    /// SIGKILLs done (each followed by a restart).
    pub kills: usize,
    /// Honest payments sent.
    pub honest: usize,
    /// Honest payments answered 202 at least once.
    pub acknowledged: usize,
    /// Honest payments the node knew without our seeing its 202 (answer lost in a kill, then
    /// 409 duplicate or found by status).
    pub known_unacknowledged: usize,
    /// Acknowledged payments committed in a batch at the end.
    pub committed: usize,
    /// Acknowledged payments not committed: must be 0.
    pub lost: usize,
    /// Replays of accepted payments answered 202, plus nullifiers committed twice: must be 0.
    pub double_spends_accepted: usize,
    /// Replays sent (each must be refused).
    pub replays_sent: u64,
    /// Invalid payments sent by the flood.
    pub flood_sent: u64,
    /// Invalid payments answered 202: must be 0.
    pub flood_accepted: u64,
    /// Latency of the honest payments' 202s.
    pub honest_latency: Latency,
    /// Largest resident memory of any node process (bytes, from VmHWM).
    pub peak_rss_bytes: u64,
    /// Wall time (seconds).
    pub seconds: f64,
}

/// A running node and where it listens.
struct NodeProc {
    child: Child,
    addr: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(opts: &ChaosOptions, dir: &Path) -> Result<NodeProc> {
    let mut child = Command::new(&opts.node)
        .args([
            "--network",
            "dev",
            "--profile",
            "test",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--batch-size", "4", "--batch-timeout-ms", "300"])
        .args(["--operator", &bench_operator().to_hex()])
        // the flood comes from one address: this harness is about crashes, not rate limits
        .args(["--client-requests-per-second", "0"])
        .args(["--max-connections-per-client", "1024"])
        .arg("--data-dir")
        .arg(dir)
        .env("ZKPAY_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", opts.node.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("the node said {line:?}"))?
        .to_string();
    Ok(NodeProc { child, addr })
}

/// One HTTP/1.1 request on a fresh connection: status and body; `None` if the node is down.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: chaos\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1)?.to_string();
    Some((status, body))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Shared state of the clients and the killer.
struct Shared {
    addr: RwLock<String>,
    done: AtomicBool,
}

impl Shared {
    fn addr(&self) -> String {
        self.addr.read().map(|a| a.clone()).unwrap_or_default()
    }
}

/// Runs the harness.
pub fn run(opts: &ChaosOptions) -> Result<ChaosReport> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(opts.max_seconds);
    // test-profile trees hold 128 payments; the flood's are never committed
    if opts.honest == 0 || opts.honest > 100 {
        bail!("--honest is 1 to 100 (the test profile's tree holds 128 payments)");
    }
    let (bodies, _) = fixtures(
        &opts.data_dir,
        Profile::Test,
        opts.honest + opts.flood.max(2),
    )?;
    let subs: Vec<PaymentSubmission> = bodies
        .iter()
        .map(|b| serde_json::from_slice(b))
        .collect::<Result<_, _>>()?;
    let honest: Vec<(String, Vec<u8>)> = subs[..opts.honest]
        .iter()
        .zip(&bodies)
        .map(|(s, b)| (hex::encode(s.id()), b.clone()))
        .collect();
    // each flood payment carries the next one's proof: valid encodings, invalid proofs
    let extra = &subs[opts.honest..];
    let flood: Vec<Vec<u8>> = (0..extra.len())
        .map(|i| {
            let mut p = extra[i].clone();
            p.proof = extra[(i + 1) % extra.len()].proof.clone();
            serde_json::to_vec(&p)
        })
        .collect::<Result<_, _>>()?;

    let dir = opts.data_dir.join("chaos-node");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let mut node = start_node(opts, &dir)?;
    let total: u64 = (1..=opts.honest as u64).sum();
    let faucet = serde_json::json!({"account": bench_account().account(), "asset": "USD", "amount": total + 1000});
    match http(
        &node.addr,
        "POST",
        "/v1/dev/faucet",
        faucet.to_string().as_bytes(),
    ) {
        Some((200, _)) => {}
        other => bail!("faucet: {other:?}"),
    }
    let shared = Arc::new(Shared {
        addr: RwLock::new(node.addr.clone()),
        done: AtomicBool::new(false),
    });
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let known: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let (flood_sent, flood_accepted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (replays_sent, replays_accepted) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));

    let (kills, peak) = std::thread::scope(|scope| -> Result<(usize, u64)> {
        // the flood: invalid proofs, and replays of payments already acknowledged
        for t in 0..2 {
            let (shared, flood, acked, honest) = (&shared, &flood, &acked, &honest);
            let (flood_sent, flood_accepted) = (&flood_sent, &flood_accepted);
            let (replays_sent, replays_accepted) = (&replays_sent, &replays_accepted);
            scope.spawn(move || {
                let mut i = t;
                while !shared.done.load(Ordering::Relaxed) {
                    let addr = shared.addr();
                    if i % 5 == 4 {
                        // a replay of an acknowledged payment
                        let pick = acked
                            .lock()
                            .ok()
                            .and_then(|a| a.iter().nth(i % a.len().max(1)).cloned());
                        if let Some(id) = pick {
                            if let Some((_, body)) = honest.iter().find(|(h, _)| *h == id) {
                                if let Some((code, _)) = http(&addr, "POST", "/v1/payments", body) {
                                    replays_sent.fetch_add(1, Ordering::Relaxed);
                                    if code == 202 {
                                        replays_accepted.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                        }
                    } else if let Some((code, _)) =
                        http(&addr, "POST", "/v1/payments", &flood[i % flood.len()])
                    {
                        flood_sent.fetch_add(1, Ordering::Relaxed);
                        if code == 202 {
                            flood_accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    i += 2;
                }
            });
        }

        // the honest client: each payment until the node has it (202, or 409 duplicate for a
        // payment whose 202 was lost in a kill)
        let honest_client = {
            let (shared, honest, acked, known, latencies) =
                (&shared, &honest, &acked, &known, &latencies);
            scope.spawn(move || {
                for (id, body) in honest {
                    loop {
                        if Instant::now() > deadline {
                            return;
                        }
                        let t = Instant::now();
                        match http(&shared.addr(), "POST", "/v1/payments", body) {
                            Some((202, _)) => {
                                if let Ok(mut l) = latencies.lock() {
                                    l.push(t.elapsed().as_secs_f64() * 1e3);
                                }
                                if let Ok(mut a) = acked.lock() {
                                    a.insert(id.clone());
                                }
                                break;
                            }
                            Some((409, b)) if b.contains("\"duplicate\"") => {
                                if let Ok(mut k) = known.lock() {
                                    k.insert(id.clone());
                                }
                                break;
                            }
                            _ => std::thread::sleep(Duration::from_millis(50)),
                        }
                    }
                    std::thread::sleep(Duration::from_millis(30));
                }
            })
        };

        // the killer: SIGKILL at random moments, restart
        let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
        let mut kills = 0;
        let mut rss = 0u64;
        while kills < opts.kills && Instant::now() < deadline {
            let wait = Duration::from_millis(rng.gen_range(300..2500));
            let until = Instant::now() + wait;
            while Instant::now() < until {
                rss = rss.max(peak_rss(node.child.id()));
                std::thread::sleep(Duration::from_millis(50));
            }
            rss = rss.max(peak_rss(node.child.id()));
            node.child.kill()?;
            node.child.wait()?;
            kills += 1;
            node = start_node(opts, &dir)?;
            if let Ok(mut a) = shared.addr.write() {
                *a = node.addr.clone();
            }
        }
        let _ = honest_client.join();
        shared.done.store(true, Ordering::Relaxed);
        Ok((kills, rss.max(peak_rss(node.child.id()))))
    })?;

    // everything acknowledged must commit
    let acked: Vec<String> = acked
        .lock()
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default();
    let known_unacked = known.lock().map(|k| k.len()).unwrap_or(0);
    let mut committed = 0;
    for id in &acked {
        loop {
            let st = http(&node.addr, "GET", &format!("/v1/payments/{id}"), b"")
                .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
                .and_then(|v| v["payment"]["status"].as_str().map(str::to_string));
            match st.as_deref() {
                Some("committed") => {
                    committed += 1;
                    break;
                }
                Some("failed") | None if Instant::now() > deadline => break,
                Some("failed") => break,
                _ if Instant::now() > deadline => break,
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
    // no nullifier committed twice
    let mut seen = BTreeSet::new();
    let mut twice = 0;
    let head = http(&node.addr, "GET", "/v1/roots", b"")
        .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["batch"].as_u64())
        .context("no head")?;
    for n in 1..=head {
        let (_, b) = http(&node.addr, "GET", &format!("/v1/batches/{n}"), b"")
            .with_context(|| format!("batch {n}"))?;
        let v: serde_json::Value = serde_json::from_str(&b)?;
        for e in v["entries"].as_array().into_iter().flatten() {
            for nf in e["public"]["nullifiers"].as_array().into_iter().flatten() {
                if !seen.insert(nf.to_string()) {
                    twice += 1;
                }
            }
        }
    }
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    Ok(ChaosReport {
        profile: "test".into(),
        kills,
        honest: opts.honest,
        acknowledged: acked.len(),
        known_unacknowledged: known_unacked,
        committed,
        lost: acked.len() - committed,
        double_spends_accepted: replays_accepted.load(Ordering::Relaxed) + twice,
        replays_sent: replays_sent.load(Ordering::Relaxed),
        flood_sent: flood_sent.load(Ordering::Relaxed),
        flood_accepted: flood_accepted.load(Ordering::Relaxed),
        honest_latency: Latency {
            p50_ms: percentile(&lat, 0.5),
            p90_ms: percentile(&lat, 0.9),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        },
        peak_rss_bytes: peak,
        seconds: started.elapsed().as_secs_f64(),
    })
}
