//! Node ingest: valid payments accepted per second with a durable acknowledgement, and the
//! acceptance latency, over loopback HTTP against the node's own server loop.
//!
//! Method: a fresh node (embedded ledger, RocksDB mempool with a synced write per payment) on
//! 127.0.0.1; `concurrency` keep-alive connections send pre-generated, pre-serialized deposit
//! payments (distinct nullifiers, valid proofs); each request is timed from the first byte sent
//! to the 202 read back. The first `warmup` payments are excluded. The batcher is not running,
//! so the figure is ingest alone. Proofs are generated once and cached under the data
//! directory; the node's verification cost does not depend on the tree depth (9 public inputs).

use crate::proving::median;
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zkpay_ledger::PaymentSubmission;
use zkpay_protocol::account::AccountKey;
use zkpay_protocol::address::Network;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::note::Asset;
use zkpay_protocol::payment::PublicAccount;
use zkpay_prover::{KeyStore, PaymentProver, SetupMode};
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::serve::{serve, ServeLimits};
use zkpay_sequencer::{Node, NodeConfig, Profile};

/// Latency percentiles (milliseconds).
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The ingest figures.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    /// Parameter profile of the node.
    pub profile: String,
    /// Payments measured (after warm-up).
    pub payments: usize,
    /// Warm-up payments (not measured).
    pub warmup: usize,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Accepted with 202 (durably stored).
    pub accepted: usize,
    /// Any other answer.
    pub refused: usize,
    /// Wall time of the measured part (s).
    pub seconds: f64,
    /// Accepted payments per second.
    pub accepted_per_second: f64,
    /// Acceptance latency.
    pub latency: Latency,
    /// Verification threads and the largest group verified together.
    pub verify_workers: usize,
    /// Largest verification group.
    pub verify_group: usize,
    /// Seconds spent generating proofs this run (0 when all came from the cache).
    pub proof_generation_seconds: f64,
    /// Logical cores.
    pub cores: usize,
}

/// The public account the benchmark's deposits debit (its key is public: benchmark only).
pub fn bench_account() -> AccountKey {
    AccountKey::from_seed(&[0xbe; 32])
}

/// The fee account of the benchmark's node.
pub fn bench_operator() -> PublicAccount {
    PublicAccount::from_bytes([0x0f; 20])
}

/// Pre-generated, serialized deposit payments against the genesis root (cached under
/// `<data_dir>/bench`), and the seconds spent generating missing ones.
pub fn fixtures(data_dir: &Path, profile: Profile, n: usize) -> Result<(Vec<Vec<u8>>, f64)> {
    let depth = profile.params().depth;
    let prover = PaymentProver::new(
        &KeyStore::new(data_dir),
        depth,
        SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )?;
    let dir = data_dir.join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!(
        "ingest-v2-d{depth}-{}.jsonl",
        &prover.keys().verifier.key_id().to_hex()[..16]
    ));
    let mut have: Vec<Vec<u8>> = match std::fs::read_to_string(&file) {
        Ok(s) => s
            .lines()
            .filter(|l| serde_json::from_str::<PaymentSubmission>(l).is_ok())
            .map(|l| l.as_bytes().to_vec())
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut generated = 0.0;
    if have.len() < n {
        let t = Instant::now();
        let root = zkpay_protocol::batch::RollupState::new(profile.params())?
            .notes
            .root();
        let usd = Asset::from_text("USD")?.id();
        let start = have.len();
        eprintln!(
            "generating {} deposit proofs (cached in {})",
            n - start,
            file.display()
        );
        // proofs nest rayon parallelism inside the outer parallel loop: big worker stacks
        let pool = rayon::ThreadPoolBuilder::new()
            .stack_size(64 << 20)
            .build()?;
        // appended in chunks, so an interrupted generation resumes
        for lo in (start..n).step_by(100) {
            let hi = (lo + 100).min(n);
            let new: Vec<Vec<u8>> = pool.install(|| {
                (lo..hi)
                    .into_par_iter()
                    .map(|i| -> Result<Vec<u8>> {
                        let mut rng = ChaCha20Rng::seed_from_u64(0x1_9e57 ^ i as u64);
                        let key = SpendingKey::random(&mut rng);
                        let fvk = key.full_viewing_key();
                        let account = bench_account();
                        let mut p = zkpay_wallet::tx::prove_deposit(
                            &key.spend_authority(),
                            &fvk.ivk.transmission_key(),
                            &prover,
                            Network::Dev,
                            bench_operator(),
                            account.account(),
                            usd,
                            zkpay_protocol::note::Root(root),
                            1 + i as u64,
                            &mut rng,
                        )?;
                        let debit = p
                            .submission
                            .public
                            .debit(
                                &p.submission.ext,
                                zkpay_protocol::account::DebitDomain::embedded(Network::Dev),
                            )
                            .context("a deposit debits its account")?;
                        p.submission.authorization = Some(account.sign(&debit)?);
                        Ok(serde_json::to_vec(&p.submission)?)
                    })
                    .collect::<Result<_>>()
            })?;
            let mut text = String::new();
            for b in &new {
                text.push_str(std::str::from_utf8(b)?);
                text.push('\n');
            }
            use std::io::Write;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)?
                .write_all(text.as_bytes())?;
            have.extend(new);
        }
        generated = t.elapsed().as_secs_f64();
    }
    have.truncate(n);
    Ok((have, generated))
}

/// One keep-alive HTTP/1.1 POST; returns the status code.
async fn post(conn: &mut TcpStream, body: &[u8], buf: &mut Vec<u8>) -> Result<u16> {
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = std::str::from_utf8(&buf[..end])?;
        let status: u16 = headers
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let len: usize = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed");
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Ok(status);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Measures ingest: `payments` measured after `warmup`, over `connections` connections.
pub fn ingest_report(
    data_dir: &Path,
    profile: Profile,
    payments: usize,
    warmup: usize,
    connections: usize,
) -> Result<IngestReport> {
    std::fs::create_dir_all(data_dir)?;
    let data_dir = data_dir.canonicalize()?;
    let (bodies, generated) = fixtures(&data_dir, profile, payments + warmup)?;
    // a fresh node that shares the cached keys
    let node_dir = tempfile::Builder::new()
        .prefix("zkpay-bench-node")
        .tempdir_in(&data_dir)?;
    std::os::unix::fs::symlink(data_dir.join("keys"), node_dir.path().join("keys"))?;
    let mut config = NodeConfig::new(PathBuf::from(node_dir.path()), profile);
    config.operator = Some(bench_operator());
    // every benchmark connection comes from one loopback address
    config.max_connections_per_client = config.max_connections;
    let (workers, group) = (config.verify_workers, config.verify_group);
    let node = Node::open(config)?;
    // deposit i debits 1 + i base units of the bench account
    let total: u64 = (0..bodies.len() as u64).map(|i| 1 + i).sum();
    node.ledger().faucet(
        &bench_account().account(),
        &Asset::from_text("USD")?.id(),
        total,
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bodies = Arc::new(bodies);
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let limits = ServeLimits::of(node.config());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router(AppState::new(node.clone())),
            limits,
            async {
                let _ = stopped.await;
            },
        ));
        let run = |range: std::ops::Range<usize>| {
            let bodies = bodies.clone();
            async move {
                let next = Arc::new(AtomicUsize::new(range.start));
                let mut tasks = Vec::new();
                let t = Instant::now();
                for _ in 0..connections {
                    let bodies = bodies.clone();
                    let next = next.clone();
                    let end = range.end;
                    tasks.push(tokio::spawn(async move {
                        let mut conn = TcpStream::connect(addr).await?;
                        conn.set_nodelay(true)?;
                        let mut buf = Vec::new();
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= end {
                                return anyhow::Ok(out);
                            }
                            let t = Instant::now();
                            let s = post(&mut conn, &bodies[i], &mut buf).await?;
                            out.push((s, t.elapsed()));
                        }
                    }));
                }
                let mut all: Vec<(u16, Duration)> = Vec::new();
                for t in tasks {
                    all.extend(t.await??);
                }
                anyhow::Ok((all, t.elapsed()))
            }
        };
        run(0..warmup).await?;
        let (results, wall) = run(warmup..warmup + payments).await?;
        let _ = stop.send(());
        let _ = server.await;
        anyhow::Ok((results, wall))
    })?;
    let (results, wall) = result;
    let accepted = results.iter().filter(|(s, _)| *s == 202).count();
    let mut lat: Vec<f64> = results.iter().map(|(_, d)| d.as_secs_f64() * 1e3).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let p50 = median(&mut lat.clone());
    Ok(IngestReport {
        profile: format!("{profile:?}").to_lowercase(),
        payments,
        warmup,
        connections,
        accepted,
        refused: results.len() - accepted,
        seconds: wall.as_secs_f64(),
        accepted_per_second: accepted as f64 / wall.as_secs_f64(),
        latency: Latency {
            p50_ms: p50,
            p90_ms: percentile(&lat, 0.90),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        },
        verify_workers: workers,
        verify_group: group,
        proof_generation_seconds: generated,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    })
}
