//! In-process API tests through the Router: the payment flow and rows 1–16, 18–24 of
//! shared/bad-inputs.md.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use tower::ServiceExt;
use zkpay_ledger::PaymentSubmission;
use zkpay_protocol::field::fe_to_hex;
use zkpay_protocol::F;
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::Node;

fn app(node: &Arc<Node>) -> axum::Router {
    router(AppState::new(node.clone()))
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into(),
    ));
    (status, v)
}

fn post_raw(body: impl Into<Body>, ctype: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/v1/payments");
    if let Some(c) = ctype {
        b = b.header(header::CONTENT_TYPE, c);
    }
    b.body(body.into()).unwrap()
}

fn post(sub: &PaymentSubmission) -> Request<Body> {
    post_raw(serde_json::to_vec(sub).unwrap(), Some("application/json"))
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_flow_and_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let app = app(&node);
    let mut alice = Wallet::new(1, "alice");
    let bob = Wallet::new(2, "bob");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();

    // deposit
    let (dep, note) = deposit(&node, &prover, &mut alice, 500);
    let (s, v) = call(&app, post(&dep)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(&app, get(&format!("/v1/payments/{id}"))).await;
    assert_eq!(
        (s, v["payment"]["status"].as_str()),
        (StatusCode::OK, Some("pending"))
    );
    // row 12: byte-for-byte resubmission
    let (s, v) = call(&app, post(&dep)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("duplicate"))
    );

    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    let (_, v) = call(&app, get(&format!("/v1/payments/{id}"))).await;
    assert_eq!(v["payment"]["status"], "committed");
    assert_eq!(v["payment"]["batch"], 1);
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 500);
    assert_eq!(node.ledger().pool(&usd()).unwrap(), 500);
    let (s, v) = call(&app, get("/v1/notes?from=0&limit=10")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["notes"].as_array().unwrap().len(), 2);
    let (_, roots) = call(&app, get("/v1/roots")).await;
    assert_eq!(roots["batch"], 1);
    let (s, b) = call(&app, get("/v1/batches/1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["payments"][0], id);
    assert_eq!(
        call(&app, get("/v1/batches/7")).await.0,
        StatusCode::NOT_FOUND
    );
    // row 5 (restart): replay after commit is still a conflict
    assert_eq!(call(&app, post(&dep)).await.0, StatusCode::CONFLICT);

    // a transfer paying an invoice
    let key = zkpay_protocol::invoice::invoice_key(b"order-1", &[1; 16]).unwrap();
    let tag =
        zkpay_protocol::invoice::invoice_tag(&key, &bob.key.full_viewing_key().pk, 120, &usd());
    let pay1 = pay(
        &node,
        &prover,
        &mut alice,
        &note,
        &bob.key,
        120,
        1,
        Some(key),
    );
    assert_eq!(pay1.public.invoice(), Some(tag));
    // row 18: ext data changed after proving
    let mut redirected = pay1.clone();
    redirected.ext.ciphertexts.swap(0, 1);
    let (s, v) = call(&app, post(&redirected)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("ext_data_hash_mismatch")
        )
    );
    // row 10: a public input changed (an output commitment) with ext data intact
    let mut changed = pay1.clone();
    changed.public.commitments[0].0 += F::from(1u64);
    let (s, v) = call(&app, post(&changed)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("proof_invalid"))
    );
    // row 8: proof of the wrong length / trailing bytes
    let mut short = pay1.clone();
    short.proof.pop();
    assert_eq!(
        call(&app, post(&short)).await.1["error"],
        "bad_proof_encoding"
    );
    let mut long = pay1.clone();
    long.proof.push(0);
    assert_eq!(
        call(&app, post(&long)).await.1["error"],
        "bad_proof_encoding"
    );
    // row 9: all zeros
    let mut zeros = pay1.clone();
    zeros.proof = vec![0; 128];
    assert_eq!(
        call(&app, post(&zeros)).await.1["error"],
        "bad_proof_encoding"
    );
    // row 16: unknown root
    let mut unknown = pay1.clone();
    unknown.public.note_root.0 += F::from(1u64);
    assert_eq!(call(&app, post(&unknown)).await.1["error"], "unknown_root");
    // row 21: another network
    let mut other_net = pay1.clone();
    other_net.ext.network = zkpay_protocol::address::Network::Test;
    assert_eq!(
        call(&app, post(&other_net)).await.1["error"],
        "wrong_network"
    );

    let (s, v) = call(&app, post(&pay1)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // invoice status: known but not yet committed
    let (_, inv) = call(&app, get(&format!("/v1/invoices/{}", fe_to_hex(&tag)))).await;
    assert_eq!(inv["paid"], false);
    assert_eq!(inv["status"]["status"], "pending");
    // row 13: the same payment with a re-randomized proof
    let vk = &prover.keys().pk.vk;
    let proof = zkpay_verifier::decode_proof(&pay1.proof).unwrap();
    let re = ark_groth16::Groth16::<ark_bn254::Bn254>::rerandomize_proof(
        vk,
        &proof,
        &mut rand::rngs::OsRng,
    );
    let mut remalleated = pay1.clone();
    remalleated.proof = zkpay_sequencer::node::reencode(&re);
    let (s, v) = call(&app, post(&remalleated)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // row 24: a second payment for the same invoice
    let (dep2, note2) = deposit(&node, &prover, &mut alice, 150);
    assert_eq!(call(&app, post(&dep2)).await.0, StatusCode::ACCEPTED);
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    let pay2 = pay(
        &node,
        &prover,
        &mut alice,
        &note2,
        &bob.key,
        120,
        0,
        Some(key),
    );
    let (s, v) = call(&app, post(&pay2)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invoice_paid"))
    );
    let (_, inv) = call(&app, get(&format!("/v1/invoices/{}", fe_to_hex(&tag)))).await;
    assert_eq!(inv["paid"], true);
    // row 7/14: spending the spent note again (its nullifier is now committed)
    let again = pay(&node, &prover, &mut alice, &note, &bob.key, 5, 0, None);
    let (s, v) = call(&app, post(&again)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("nullifier_spent"))
    );

    // metrics count rejections by reason
    let resp = app.clone().oneshot(get("/metrics")).await.unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("zkpay_payments_rejected_total{reason=\"ext_data_hash_mismatch\"} 1"),
        "{text}"
    );
    assert!(text.contains("zkpay_batches_committed_total 2"));
    // the latency histograms saw both batches and every verification
    for line in [
        "zkpay_batch_prove_duration_seconds_count 2",
        "zkpay_ledger_commit_duration_seconds_count 2",
        "zkpay_last_batch 2",
        "zkpay_proving_payments 0",
        "zkpay_proving_chunks 0",
        "zkpay_mempool_payments 0",
        "zkpay_storage_healthy 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let count = |name: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(count("zkpay_chunk_prove_duration_seconds_count") >= 2.0);
    assert!(count("zkpay_verify_duration_seconds_count") >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let app = app(&node);
    let mut alice = Wallet::new(3, "alice");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
    let (dep, _) = deposit(&node, &prover, &mut alice, 10);
    let good = serde_json::to_value(&dep).unwrap();

    // row 1: over the size limit
    let big = vec![b' '; 70 * 1024];
    assert_eq!(
        call(&app, post_raw(big, Some("application/json"))).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // row 2: missing or wrong content type
    let body = serde_json::to_vec(&good).unwrap();
    assert_eq!(
        call(&app, post_raw(body.clone(), None)).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        call(&app, post_raw(body.clone(), Some("text/plain")))
            .await
            .0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // row 3: truncated JSON, invalid UTF-8, NUL bytes, deep nesting
    assert_eq!(
        call(
            &app,
            post_raw(body[..body.len() / 2].to_vec(), Some("application/json"))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(
            &app,
            post_raw(vec![0xff, 0xfe, b'{'], Some("application/json"))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, post_raw(vec![0u8; 16], Some("application/json")))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // one rule (issue 18): not well-formed JSON is 400, well-formed JSON that breaks the
    // schema is 422
    for deep in [
        "[".repeat(10_000) + &"]".repeat(10_000),
        // 5,000 objects deep: inside the 64 KiB body limit
        "{\"public\":".repeat(5_000) + "1" + &"}".repeat(5_000),
    ] {
        let (s, v) = call(&app, post_raw(deep, Some("application/json"))).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed"))
        );
    }
    for n in [1usize, 3, 800] {
        let mut counts = good.clone();
        counts["public"]["nullifiers"] =
            serde_json::json!(vec![good["public"]["nullifiers"][0].clone(); n]);
        let (s, v) = call(
            &app,
            post_raw(
                serde_json::to_vec(&counts).unwrap(),
                Some("application/json"),
            ),
        )
        .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_fields")),
            "{n} nullifiers"
        );
    }
    // row 4: unknown, duplicate, wrongly typed fields
    let mut unknown = good.clone();
    unknown["extra"] = serde_json::json!(1);
    assert_eq!(
        call(
            &app,
            post_raw(
                serde_json::to_vec(&unknown).unwrap(),
                Some("application/json")
            )
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let dup = String::from_utf8(body.clone()).unwrap().replacen(
        "\"ext\":",
        "\"proof\":\"00\",\"ext\":",
        1,
    );
    assert_ne!(dup.as_bytes(), body.as_slice());
    assert_eq!(
        call(&app, post_raw(dup, Some("application/json"))).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut typed = good.clone();
    typed["public"]["fee"] = serde_json::json!("1");
    assert_eq!(
        call(
            &app,
            post_raw(
                serde_json::to_vec(&typed).unwrap(),
                Some("application/json")
            )
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // row 5: huge counts inside the size limit: refused before any cryptography
    let mut huge = good.clone();
    huge["public"]["nullifiers"] = serde_json::json!(vec!["0x00"; 5000]);
    assert_eq!(
        call(
            &app,
            post_raw(serde_json::to_vec(&huge).unwrap(), Some("application/json"))
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // row 6: field elements as r, r+1, 2^256-1, -1, "", odd length, non-hex, another spelling
    let r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    let r1 = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000002";
    let canonical = good["public"]["ext_data_hash"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        r.to_string(),
        r1.to_string(),
        format!("0x{}", "f".repeat(64)),
        "-1".into(),
        "".into(),
        "0x123".into(),
        format!("0x{}", "g".repeat(64)),
        canonical.to_uppercase().replace("0X", "0x"),
        canonical[2..].to_string(),
    ] {
        let mut v = good.clone();
        v["public"]["ext_data_hash"] = serde_json::json!(bad);
        assert_eq!(
            call(
                &app,
                post_raw(serde_json::to_vec(&v).unwrap(), Some("application/json"))
            )
            .await
            .0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    // row 11: an extra public input cannot even be expressed; a missing one neither
    let mut fewer = good.clone();
    fewer["public"]["nullifiers"] = serde_json::json!([good["public"]["nullifiers"][0]]);
    assert_eq!(
        call(
            &app,
            post_raw(
                serde_json::to_vec(&fewer).unwrap(),
                Some("application/json")
            )
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // bad ids and tags
    assert_eq!(
        call(&app, get("/v1/payments/xyz")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, get(&format!("/v1/payments/{}", "0".repeat(64))))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, get(&format!("/v1/invoices/{r}"))).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, get("/v1/notes?from=-1")).await.0,
        StatusCode::BAD_REQUEST
    );
    // nothing was accepted, and the good payment still is
    assert_eq!(node.mempool_len(), 0);
    assert_eq!(call(&app, post(&dep)).await.0, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_double_spend_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let app = app(&node);
    let mut alice = Wallet::new(4, "alice");
    let bob = Wallet::new(5, "bob");
    let carol = Wallet::new(6, "carol");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
    let (dep, note) = deposit(&node, &prover, &mut alice, 100);
    call(&app, post(&dep)).await;
    node.run_batch_once().unwrap();
    // two different payments spending the same note
    let a = pay(&node, &prover, &mut alice, &note, &bob.key, 60, 0, None);
    let b = pay(&node, &prover, &mut alice, &note, &carol.key, 70, 0, None);
    assert_ne!(a.id(), b.id());
    let (ra, rb) = tokio::join!(call(&app, post(&a)), call(&app, post(&b)));
    let accepted = [ra.0, rb.0]
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let conflicts = [ra.0, rb.0]
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, conflicts), (1, 1), "{ra:?} {rb:?}");
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(node.mempool_len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_acknowledged_payments() {
    let dir = tempfile::tempdir().unwrap();
    let (dep, dep2);
    {
        let node = open(dir.path());
        let prover = prover(dir.path());
        let mut alice = Wallet::new(7, "alice");
        node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
        dep = deposit(&node, &prover, &mut alice, 30).0;
        dep2 = deposit(&node, &prover, &mut alice, 40).0;
        node.submit(dep.clone()).unwrap();
        node.run_batch_once().unwrap();
        node.submit(dep2.clone()).unwrap();
    }
    // reopen: state rebuilt from the ledger, the pending payment is still there
    let node = open(dir.path());
    assert_eq!(node.mempool_len(), 1);
    assert!(matches!(
        node.status(&dep.id()).unwrap(),
        Some(zkpay_sequencer::node::PaymentStatus::Committed { batch: 1 })
    ));
    // fault 5: replay before and after restart
    assert_eq!(node.submit(dep.clone()).unwrap_err().code(), "duplicate");
    assert_eq!(node.submit(dep2.clone()).unwrap_err().code(), "duplicate");
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    drop(node);
    let node = open(dir.path());
    assert_eq!(node.mempool_len(), 0);
    assert_eq!(node.head().unwrap().0.number, 2);
    assert_eq!(node.notes(0, 100).unwrap().len(), 4);
}

/// Start-up reads the index's checkpoint and replays only the batches after it; an index that
/// does not match the ledger (another history, a ledger behind it) is rebuilt from genesis, and
/// every answer stays the ledger's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_reads_the_index_checkpoint_and_rebuilds_a_foreign_one() {
    use zkpay_sequencer::index::{Checkpoint, IndexDb, Overlay};
    use zkpay_sequencer::node::PaymentStatus;
    let dir = tempfile::tempdir().unwrap();
    let bob = zkpay_protocol::keys::SpendingKey::from_bytes([8; 32]);
    let key = F::from(4242u64);
    let (dep, paid);
    {
        let node = open(dir.path());
        assert_eq!(node.replayed_at_start(), 0);
        let prover = prover(dir.path());
        let mut alice = Wallet::new(7, "alice");
        node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
        let note;
        (dep, note) = deposit(&node, &prover, &mut alice, 30);
        node.submit(dep.clone()).unwrap();
        assert_eq!(node.run_batch_once().unwrap(), Some(1));
        paid = pay(&node, &prover, &mut alice, &note, &bob, 20, 1, Some(key));
        node.submit(paid.clone()).unwrap();
        assert_eq!(node.run_batch_once().unwrap(), Some(2));
    }
    let tag = paid.public.invoice().unwrap();
    let answers = |node: &Node| {
        assert!(matches!(
            node.status(&dep.id()).unwrap(),
            Some(PaymentStatus::Committed { batch: 1 })
        ));
        assert!(matches!(
            node.status(&paid.id()).unwrap(),
            Some(PaymentStatus::Committed { batch: 2 })
        ));
        assert!(
            node.invoice(&zkpay_protocol::field::fe_to_bytes(&tag))
                .unwrap()
                .paid
        );
        assert_eq!(node.submit(paid.clone()).unwrap_err().code(), "duplicate");
        let notes = node.notes(0, 100).unwrap();
        assert_eq!(notes.len(), 4);
        assert_eq!(node.batch_notes(2).unwrap(), notes[2..].to_vec());
        assert_eq!(node.head().unwrap().0.number, 2);
        notes
    };
    // from the checkpoint: nothing replayed
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 0);
    let notes = answers(&node);
    drop(node);
    // without the index: rebuilt from the ledger
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 2);
    assert_eq!(answers(&node), notes);
    drop(node);
    // a checkpoint naming batch 2 with another hash (another history): rebuilt
    let params = zkpay_sequencer::Profile::Test.params();
    {
        let db = IndexDb::open(&dir.path().join("index")).unwrap();
        let cp = db.checkpoint().unwrap().unwrap();
        let forged = Checkpoint::new(params, 2, &[9; 32], cp.note_size, cp.nullifier_cursor);
        db.flush(&Default::default(), &Overlay::default(), &forged)
            .unwrap();
    }
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 2);
    answers(&node);
    drop(node);
    // a checkpoint at batch 1 whose trees are those after batch 2: rebuilt
    let b1 = open_ledger_batch_hash(dir.path(), 1);
    {
        let db = IndexDb::open(&dir.path().join("index")).unwrap();
        let cp = db.checkpoint().unwrap().unwrap();
        let stale = Checkpoint::new(params, 1, &b1, cp.note_size, cp.nullifier_cursor);
        db.flush(&Default::default(), &Overlay::default(), &stale)
            .unwrap();
    }
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 2);
    answers(&node);
    drop(node);
    // an unreadable checkpoint record: rebuilt
    {
        let path = dir.path().join("index");
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, &cfs).unwrap();
        db.put_cf(db.cf_handle("meta").unwrap(), b"checkpoint", b"{")
            .unwrap();
    }
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 2);
    answers(&node);
    drop(node);
    // the ledger behind the index (a fresh ledger): the index is rebuilt, the old payments
    // are unknown again
    std::fs::remove_dir_all(dir.path().join("ledger")).unwrap();
    let node = open(dir.path());
    assert_eq!(node.replayed_at_start(), 0);
    assert_eq!(node.head().unwrap().0.number, 0);
    assert!(node.status(&paid.id()).unwrap().is_none());
    assert!(node.notes(0, 100).unwrap().is_empty());
    assert!(
        !node
            .invoice(&zkpay_protocol::field::fe_to_bytes(&tag))
            .unwrap()
            .paid
    );
}

/// The hash of committed batch `n` in the embedded ledger of data directory `dir`.
fn open_ledger_batch_hash(dir: &std::path::Path, n: u64) -> [u8; 32] {
    let node = open(dir);
    let h = node.batch(n).unwrap().unwrap().hash;
    drop(node);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let app = app(&node);
    let (s, doc) = call(&app, get("/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 12, "one entry per route");
    for (path, ops) in paths {
        let concrete = path
            .replace("{id}", &"00".repeat(32))
            .replace("{n}", "1")
            .replace("{name}", "alice")
            .replace("{tag}", &fe_to_hex(&F::from(1u64)));
        for method in ops.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => get(&concrete),
                "post" => post_raw("{}", Some("application/json")),
                m => panic!("undocumented method {m}"),
            };
            let (s, v) = call(&app, req).await;
            // the router serves it (a 404 must be the handler's own JSON answer, not a missing
            // route) and every documented status is one the handler can give
            assert!(
                s != StatusCode::NOT_FOUND || v.get("error").is_some(),
                "{method} {path} is not routed"
            );
            assert!(
                ops[method]["responses"].get(s.as_str()).is_some(),
                "{method} {path} answered {s}, which is not documented"
            );
        }
    }
}

/// Rows 15, 20 and 22 at the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_nullifier_twice_foreign_key_and_opaque_ciphertexts() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let app = app(&node);
    let mut alice = Wallet::new(21, "alice");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
    let root = node.head().unwrap().0.state.note_root;

    // row 15: one payment using the same nullifier twice: refused before any cryptography (the
    // circuit has no valid proof for it either: circuits/tests)
    let (mut dup, _) = deposit(&node, &prover, &mut alice, 5);
    dup.public.nullifiers[1] = dup.public.nullifiers[0];
    let (s, v) = call(&app, post(&dup)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("duplicate_nullifier")
        )
    );
    assert_eq!(node.metrics.rejected("duplicate_nullifier"), 1);

    // row 20: a proof made with another key of the same circuit
    let other_dir = tempfile::tempdir().unwrap();
    let foreign = zkpay_prover::PaymentProver::new(
        &zkpay_prover::KeyStore::new(other_dir.path()),
        zkpay_sequencer::Profile::Test.params().depth,
        zkpay_prover::SetupMode::InsecureDevelopment { seed: 99 },
        None,
    )
    .unwrap();
    assert_ne!(
        foreign.keys().verifier.key_id(),
        prover.keys().verifier.key_id()
    );
    let (alien, _) = deposit_at(root, &foreign, &mut alice, 5);
    let (s, v) = call(&app, post(&alien)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("proof_invalid"))
    );

    // row 22: ciphertexts of a wrong length or random bytes are opaque: stored and served back
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(22);
    let random: Vec<u8> = (0..635).map(|_| rng.gen()).collect();
    let (odd, _) = deposit_with(root, &prover, &mut alice, 7, |e| {
        e.ciphertexts = [vec![1, 2, 3], random.clone()];
    });
    let (s, v) = call(&app, post(&odd)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // ... under a cap of 1024 bytes
    let (big, _) = deposit_with(root, &prover, &mut alice, 7, |e| {
        e.ciphertexts[0] = vec![0xab; 1025];
    });
    let (s, v) = call(&app, post(&big)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    let (_, v) = call(&app, get("/v1/notes")).await;
    let cts: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ciphertext"].as_str().unwrap())
        .collect();
    assert_eq!(cts, vec!["010203".to_string(), hex::encode(&random)]);
    // trial decryption of what the node serves says "not mine", never panics
    let fvk = alice.key.full_viewing_key();
    for c in &cts {
        let bytes = hex::decode(c).unwrap();
        assert!(zkpay_protocol::encryption::try_decrypt_note(&fvk.ivk, &bytes).is_none());
    }
}

/// Fault 8: when the mempool cannot be written (disk full), the node stops acknowledging (503),
/// changes nothing, says so in /health, and recovers once a probe write succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failure_stops_acknowledging() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let app = app(&node);
    let mut alice = Wallet::new(31, "alice");
    node.ledger().faucet(&alice.account, &usd(), 1_000).unwrap();
    let (a, _) = deposit(&node, &prover, &mut alice, 10);
    let (b, _) = deposit(&node, &prover, &mut alice, 20);
    assert_eq!(call(&app, get("/health")).await.0, StatusCode::OK);

    node.inject_storage_fault(true);
    let (s, v) = call(&app, post(&a)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage"))
    );
    // nothing acknowledged, nothing reserved
    assert_eq!(node.mempool_len(), 0);
    assert!(node.status(&a.id()).unwrap().is_none());
    let (s, v) = call(&app, get("/health")).await;
    assert_eq!(
        (s, v["storage"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("failing"))
    );
    // refused up front while storage is failing
    let (s, v) = call(&app, post(&b)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage"))
    );
    assert!(!node.probe_storage());
    assert_eq!(node.metrics.rejected("storage"), 2);

    node.inject_storage_fault(false);
    assert!(node.probe_storage());
    assert_eq!(call(&app, get("/health")).await.0, StatusCode::OK);
    assert_eq!(call(&app, post(&a)).await.0, StatusCode::ACCEPTED);
    assert_eq!(call(&app, post(&b)).await.0, StatusCode::ACCEPTED);
    // a restart finds exactly what was acknowledged
    drop(app);
    drop(node);
    let node = open(dir.path());
    assert_eq!(node.mempool_len(), 2);
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
}
