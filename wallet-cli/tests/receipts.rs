//! Receipts checked against the ledger and imported by a merchant that could not decrypt its
//! note (issue 14; row 37 of shared/bad-inputs.md), with an in-process node on loopback.

use std::path::Path;
use std::sync::Arc;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::Asset;
use zkpay_protocol::uri::PaymentRequest;
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::serve::{serve, ServeLimits};
use zkpay_sequencer::{Node, NodeConfig, Profile};
use zkpay_wallet::client::NodeClient;
use zkpay_wallet::receipt::{self, LedgerSource};
use zkpay_wallet::wallet::Wallet;

struct Served {
    node: Arc<Node>,
    client: NodeClient,
    _stop: tokio::sync::oneshot::Sender<()>,
    _rt: tokio::runtime::Runtime,
}

fn serve_node(dir: &Path) -> Served {
    let mut config = NodeConfig::new(dir.to_path_buf(), Profile::Test);
    config.batch_size = 4;
    let node = Node::open(config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            router(AppState::new(node.clone())),
            ServeLimits::of(node.config()),
            async {
                let _ = stopped.await;
            },
        ));
        addr
    });
    Served {
        node,
        client: NodeClient::new(&format!("http://{addr}")),
        _stop: stop,
        _rt: rt,
    }
}

fn commit(node: &Node) -> u64 {
    node.run_batch_once().unwrap().expect("a batch")
}

#[test]
fn a_note_the_merchant_cannot_open_is_imported_from_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_node(&dir.path().join("node"));
    let pass = b"test passphrase";
    let mut merchant =
        Wallet::create(&dir.path().join("merchant"), Network::Dev, pass, None).unwrap();
    let mut customer =
        Wallet::create(&dir.path().join("customer"), Network::Dev, pass, None).unwrap();
    let info = customer.check_node(&s.client).unwrap();
    let prover = customer
        .prover(&dir.path().join("keys"), &info, None)
        .unwrap();
    let usd = Asset::from_text("USD").unwrap();
    let mut rng = rand::rngs::OsRng;

    s.client
        .faucet(&customer.account().unwrap().to_hex(), "USD", 10_000)
        .unwrap();
    customer
        .deposit(&s.client, &prover, &info, &usd, 5_000, &mut rng)
        .unwrap();
    commit(&s.node);
    customer.sync(&s.client, 16, |_, _| {}).unwrap();

    // the merchant issues an invoice; the QR the customer pays carries the merchant's owner key
    // but someone else's transmission key, so the merchant cannot decrypt the note it gets
    let mut req = PaymentRequest::new(merchant.address(), usd.clone(), Some(1_250));
    req.invoice = Some(b"order-9".to_vec());
    req.salt = Some(vec![0x5a; 16]);
    let uri = merchant.request(req.clone()).unwrap();
    let mut tampered = PaymentRequest::parse(&uri).unwrap();
    tampered.address.tk = customer.address().tk;
    let sent = customer
        .pay(&s.client, &prover, &info, &tampered, 0, &mut rng)
        .unwrap();
    let batch = commit(&s.node);
    merchant.sync(&s.client, 16, |_, _| {}).unwrap();
    let report = merchant.invoice_report(&s.client, "order-9").unwrap();
    assert_eq!(report.state, "unknown_note", "{report:?}");
    assert_eq!(report.batch, Some(batch));

    // the customer's receipt verifies against the ledger's own log and against the node
    customer.sync(&s.client, 16, |_, _| {}).unwrap();
    let r = receipt::export(&customer, &sent.id).unwrap();
    let ledger = LedgerSource::open(&dir.path().join("node").join("ledger")).unwrap();
    let v = receipt::verify(&r, &ledger).unwrap();
    assert_eq!(v.value, 1_250);
    assert!(v.checked_against.contains("embedded ledger"));
    receipt::verify(&r, &s.client).unwrap();

    // tampered receipts do not verify: another value, another salt, another position
    let mut bad = r.clone();
    bad.note.value = 1_000;
    assert!(receipt::verify(&bad, &ledger).is_err());
    let mut bad = r.clone();
    bad.salt = Some("AAAAAAAAAAAAAAAAAAAAAA".into());
    assert!(receipt::verify(&bad, &ledger).is_err());
    let mut bad = r.clone();
    bad.invoice = Some("order-1".into());
    assert!(receipt::verify(&bad, &ledger).is_err());
    let mut bad = r.clone();
    bad.root_batch = 1;
    assert!(receipt::verify(&bad, &ledger).is_err());

    // the merchant imports the note: the invoice is paid, and the note is spendable
    let mut other = Wallet::create(&dir.path().join("other"), Network::Dev, pass, None).unwrap();
    assert!(
        receipt::import(&mut other, &r, &ledger).is_err(),
        "not the owner"
    );
    receipt::import(&mut merchant, &r, &ledger).unwrap();
    let report = merchant.invoice_report(&s.client, "order-9").unwrap();
    assert_eq!((report.state, report.received), ("paid", 1_250));
    assert_eq!(
        merchant.balances().first().map(|b| b.spendable),
        Some(1_250)
    );
}

/// On test and main a wallet proves only with a ceremony's keys, loaded through the pinned
/// manifest: without `--params` it refuses, and a manifest whose payment key is for another
/// circuit shape is refused before any proving key is read.
#[test]
fn a_test_network_wallet_proves_only_with_manifest_keys() {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::create(
        &dir.path().join("w"),
        Network::Test,
        b"test passphrase",
        None,
    )
    .unwrap();
    let info = zkpay_wallet::client::NodeInfo {
        network: Network::Test,
        tree_depth: 4,
        chunk_slots: 2,
        operator: format!("0x{}", "0f".repeat(20)),
        debit_domain: zkpay_protocol::account::DebitDomain::embedded(Network::Test),
        payment_key_id: "00".repeat(32),
    };
    let err = w
        .prover(&dir.path().join("keys"), &info, None)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("--params"), "{err}");
    let params = dir.path().join("params");
    std::fs::create_dir_all(&params).unwrap();
    let err = w
        .prover(&dir.path().join("keys"), &info, Some((&params, None)))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("--params-sha256"), "{err}");
    let pin = Some("00".repeat(32));
    let err = w
        .prover(
            &dir.path().join("keys"),
            &info,
            Some((&params, pin.as_deref())),
        )
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("no manifest"), "{err}");
    std::fs::write(
        params.join("manifest.json"),
        serde_json::json!({
            "version": 1,
            "circuits": {"payment-d4": {
                "shape_id": "00".repeat(32),
                "key_id": "00".repeat(32),
                "public_inputs": 10,
                "reduction": "circom",
                "transcript_hash": "00",
                "contributions": [],
                "ptau_sha256": "00",
                "proving_key": "payment-d4.pk",
                "proving_key_sha256": "00".repeat(32),
                "verifying_key": "payment-d4.vk"
            }}
        })
        .to_string(),
    )
    .unwrap();
    // a manifest other than the pinned one
    let err = w
        .prover(
            &dir.path().join("keys"),
            &info,
            Some((&params, pin.as_deref())),
        )
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("pinned manifest"), "{err}");
    // the pinned manifest, naming a key for another circuit shape
    let pin = zkpay_prover::Params::open(&params)
        .unwrap()
        .manifest_hash()
        .unwrap();
    let err = w
        .prover(&dir.path().join("keys"), &info, Some((&params, Some(&pin))))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("circuit shape"), "{err}");
}
