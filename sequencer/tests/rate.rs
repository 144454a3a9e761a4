//! Per-client request rate over real loopback connections (issue 18). In its own test binary:
//! `net.rs` measures its process's memory across a flood, and this test's proving would
//! disturb that figure.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zkpay_sequencer::Node;

/// A request from `from` (a loopback address) on its own connection; status and headers+body.
async fn request_from(from: &str, addr: SocketAddr, req: &[u8]) -> (u16, String) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = sock.connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    (status(&out), out)
}

fn payment_request(body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// Issue 18: one client spending its whole request rate (here on a flood of requests on one
/// kept-alive connection) gets 429 with Retry-After, while another client's payments are
/// accepted; the refusals are counted as `rate_limited`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_over_its_rate_cannot_stop_another_clients_payments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.header_timeout = Duration::from_secs(30);
    c.request_timeout = Duration::from_secs(30);
    c.client_requests_per_second = 5;
    c.client_request_burst = 10;
    let node = Node::open(c).unwrap();
    let prover = prover(dir.path());
    let (addr, _stop) = serve_node(node.clone()).await;
    let mut alice = Wallet::new(71, "alice");
    node.ledger()
        .faucet(&alice.account, &usd(), 1_000_000)
        .unwrap();
    let root = node.head().unwrap().0.state.note_root;
    let (p, _) = deposit_at(root, &prover, &mut alice, 300);

    // the greedy client (127.0.0.1) sends 60 requests at once on one connection
    let mut greedy = TcpStream::connect(addr).await.unwrap();
    let mut burst = Vec::new();
    for _ in 0..60 {
        burst.extend_from_slice(b"GET /v1/roots HTTP/1.1\r\nhost: x\r\n\r\n");
    }
    greedy.write_all(&burst).await.unwrap();
    let mut seen = String::new();
    let mut buf = vec![0u8; 1 << 16];
    while seen.matches("HTTP/1.1 ").count() < 60 {
        let n = tokio::time::timeout(Duration::from_secs(30), greedy.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed after {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let ok = seen.matches("HTTP/1.1 200").count();
    let limited = seen.matches("HTTP/1.1 429").count();
    assert_eq!(ok + limited, 60, "{seen}");
    // the burst and what refilled while it was served, no more
    assert!((10..=20).contains(&ok), "{ok} served");
    assert!(seen.contains("retry-after: "), "{seen}");
    assert!(seen.contains("\"error\":\"rate_limited\""), "{seen}");
    assert_eq!(node.metrics.rejected("rate_limited"), limited as u64);

    // meanwhile another client (127.0.0.2) pays, and is accepted
    let (code, resp) = request_from(
        "127.0.0.2",
        addr,
        &payment_request(&serde_json::to_vec(&p).unwrap()),
    )
    .await;
    assert_eq!(code, 202, "{resp}");

    // the greedy client is still limited; after a pause it is served again
    let (code, _) = request_from(
        "127.0.0.1",
        addr,
        b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(code, 429);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (code, _) = request_from(
        "127.0.0.1",
        addr,
        b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(code, 200);
}
