//! Tests over real loopback connections, through the node's own server loop: slow clients and
//! oversized bodies (fault 7) and a flood of invalid proofs (fault 6).

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zkpay_ledger::PaymentSubmission;
use zkpay_sequencer::{Node, NodeConfig};

/// Sends raw bytes, reads until the server closes or `wait` passes; returns what came back.
async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// One JSON POST on its own connection; returns the status code.
async fn post(addr: SocketAddr, body: &[u8]) -> u16 {
    let mut req = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    let resp = raw(addr, &req, Duration::from_secs(30)).await;
    status(&resp)
}

fn config(dir: &std::path::Path) -> NodeConfig {
    let mut c = common::config(dir);
    c.header_timeout = Duration::from_millis(500);
    c.request_timeout = Duration::from_secs(1);
    c
}

/// Fault 7: a declared body over the limit is refused from its Content-Length, before any of it
/// is read; a client that sends its headers slowly is cut off; a slow body gets 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_slow_clients() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(config(dir.path())).unwrap();
    let (addr, _stop) = serve_node(node.clone()).await;

    // 413 from the header alone: the 100 MB body is never sent
    let t = Instant::now();
    let resp = raw(
        addr,
        b"POST /v1/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n{",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status(&resp), 413, "{resp}");
    assert!(resp.contains("too_large"));
    assert!(t.elapsed() < Duration::from_secs(5));
    // a flood of them leaves the node serving
    let flood: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(raw(
                addr,
                b"POST /v1/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999\r\n\r\n",
                Duration::from_secs(10),
            ))
        })
        .collect();
    for f in flood {
        assert_eq!(status(&f.await.unwrap()), 413);
    }
    assert_eq!(node.metrics.rejected("too_large"), 51);

    // slow headers: the connection is closed after the header timeout, without a request
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost:")
        .await
        .unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "slow client was not cut off");
    assert!(t.elapsed() < Duration::from_secs(5));

    // slow body: 408 once the request timeout passes
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /v1/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"pub",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    let resp = String::from_utf8_lossy(&buf);
    assert_eq!(status(&resp), 408, "{resp}");
    assert_eq!(node.metrics.rejected("timeout"), 1);

    // and the node still answers
    let resp = raw(
        addr,
        b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status(&resp), 200, "{resp}");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Fault 6: a bounded flood of payments with valid encodings but invalid proofs. Each is refused
/// with 422 (or shed with 503 at the verification limit), honest payments sent during the flood
/// are accepted, nothing invalid reaches the mempool, and memory stays flat across rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_proof_flood() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.verify_queue = 16;
    // the flood comes from one loopback address: this test is about the verification limit,
    // not the per-client limits (tested below)
    c.max_connections_per_client = c.max_connections;
    c.client_requests_per_second = 0;
    let node = Node::open(c).unwrap();
    let prover = prover(dir.path());
    let (addr, _stop) = serve_node(node.clone()).await;
    let mut alice = Wallet::new(61, "alice");
    node.ledger()
        .faucet(&alice.account, &usd(), 1_000_000)
        .unwrap();
    let root = node.head().unwrap().0.state.note_root;
    // honest payments, and one template whose proof belongs to other public inputs
    let honest: Vec<PaymentSubmission> = (0..6)
        .map(|i| deposit_at(root, &prover, &mut alice, 10 + i).0)
        .collect();
    let (template, _) = deposit_at(root, &prover, &mut alice, 1);
    let (other, _) = deposit_at(root, &prover, &mut alice, 2);
    let account_key = alice.account_key.clone();
    let bad_body = |i: u64| {
        let mut b = template.clone();
        b.proof = other.proof.clone();
        // a fresh, well-formed ext per request so each is a distinct, conflict-free payment,
        // properly authorised, so that only its proof is wrong
        b.ext.ciphertexts[0] = i.to_be_bytes().to_vec();
        b.public.ext_data_hash = b.ext.hash();
        authorize(&mut b, &account_key);
        serde_json::to_vec(&b).unwrap()
    };

    let mut rss = Vec::new();
    let mut accepted_honest = 0;
    let mut refused_invalid = 0;
    for round in 0..3u64 {
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let body = bad_body(round * 1000 + i);
            tasks.push(tokio::spawn(async move { post(addr, &body).await }));
        }
        // honest payments sent during the flood; one shed at the limit is retried, as a wallet
        // would
        let honest_tasks: Vec<_> = (0..2)
            .map(|k| {
                let body = serde_json::to_vec(&honest[round as usize * 2 + k]).unwrap();
                tokio::spawn(async move {
                    loop {
                        let s = post(addr, &body).await;
                        if s != 503 {
                            return s;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            let s = t.await.unwrap();
            assert!(s == 422 || s == 503, "invalid proof answered {s}");
            refused_invalid += u64::from(s == 422);
        }
        for t in honest_tasks {
            assert_eq!(t.await.unwrap(), 202);
            accepted_honest += 1;
        }
        rss.push(rss_kib());
    }
    assert_eq!(accepted_honest, 6, "honest payments were lost in the flood");
    assert_eq!(node.mempool_len(), 6);
    // every invalid proof was verified and refused, or shed before verification
    assert_eq!(node.metrics.rejected("proof_invalid"), refused_invalid);
    assert!(node.metrics.rejected("overloaded") >= 600 - refused_invalid);
    assert_eq!(node.metrics.accepted.get(), 6);
    // memory flat: the third round does not grow the process beyond the first by more than
    // a few MiB (allocator noise), i.e. nothing is retained per rejected request
    assert!(
        rss[2] < rss[0] + 16 * 1024,
        "resident memory grew across rounds: {rss:?} KiB"
    );
}

/// Row 39 (issue 18): one client holding every connection it may open cannot keep another
/// client out; its next connection is closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.header_timeout = Duration::from_secs(30);
    c.max_connections = 16;
    c.max_connections_per_client = 4;
    let node = Node::open(c).unwrap();
    let (addr, _stop) = serve_node(node).await;
    // the greedy client (127.0.0.1) opens its share and sends nothing
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // its fifth connection is closed without an answer
    let mut extra = TcpStream::connect(addr).await.unwrap();
    extra
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap_or(());
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut out)).await;
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    // another client (127.0.0.2, also loopback) is served
    for _ in 0..3 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut s = sock.connect(addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status(&String::from_utf8_lossy(&out)), 200);
    }
    // once the greedy client lets go, it is served again
    drop(held);
    let mut served = false;
    for _ in 0..100 {
        let resp = raw(
            addr,
            b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            Duration::from_secs(10),
        )
        .await;
        if status(&resp) == 200 {
            served = true;
            break;
        }
        // the server notices the closed connections asynchronously
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the client was not served after closing its connections"
    );
}
