//! # zkpay-demo
//!
//! `zkpay-demo` (what `make demo` runs): the whole QR payment flow against an in-process node
//! (embedded ledger, RocksDB in a temporary directory), over real HTTP on loopback. A crate of its
//! own because it is the one program that holds both a node and wallets: the wallet does not
//! depend on the node's crate.
//!
//! With [`DemoOptions::evm`] (`make demo-evm`) the same flow runs on the EVM base ledger: a local
//! anvil, the `ZkPayRollup` contract deployed with the node's keys and a test USD token, the
//! customer's account approving the contract once, and the receipt checked against the
//! contract's events read from the chain.
#![deny(missing_docs)]

mod evm;

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::Asset;
use zkpay_protocol::uri::PaymentRequest;
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::serve::{serve, ServeLimits};
use zkpay_sequencer::{Node, NodeConfig, Profile};
use zkpay_wallet::client::NodeClient;
use zkpay_wallet::receipt;
use zkpay_wallet::wallet::{format_in, Wallet};
use zkpay_wallet::WalletError;

/// One timed step.
#[derive(Debug, Serialize)]
pub struct Step {
    /// What happened.
    pub name: String,
    /// How long it took (ms).
    pub ms: f64,
    /// Detail.
    pub detail: String,
}

/// The demo's summary (`zkpay-demo --json`).
#[derive(Debug, Serialize, Default)]
pub struct Summary {
    /// Every check passed.
    pub ok: bool,
    /// Parameter profile.
    pub profile: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Proving the customer's payment (ms).
    pub payment_proof_ms: f64,
    /// From decoding the QR image to the node's acceptance (ms); target ≤ 2000.
    pub qr_to_accept_ms: f64,
    /// Proving and committing the batch with the payment (ms).
    pub batch_proof_ms: f64,
    /// The merchant's watch-only till saw the payment.
    pub merchant_received: bool,
    /// The receipt verified against the ledger.
    pub receipt_verified: bool,
    /// The node refused a double spend.
    pub double_spend_rejected: bool,
    /// The node refused a second payment of the invoice.
    pub invoice_replay_rejected: bool,
    /// Where the invoice PNG was written.
    pub qr_png: String,
    /// Base ledger: `embedded` or `evm`.
    pub ledger: String,
    /// The rollup contract's address (EVM ledger only).
    pub contract: Option<String>,
    /// Gas used by each committed batch's transaction, in batch order (EVM ledger only).
    pub batch_gas: Vec<u64>,
}

/// Options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Parameter profile.
    pub profile: Profile,
    /// Where proving keys are cached (kept between runs).
    pub key_dir: PathBuf,
    /// Print progress (not in JSON mode).
    pub verbose: bool,
    /// Run on the EVM base ledger (a local anvil and the rollup contract) instead of the
    /// embedded one.
    pub evm: bool,
}

struct Recorder {
    summary: Summary,
    verbose: bool,
}

impl Recorder {
    fn step<T>(
        &mut self,
        name: &str,
        f: impl FnOnce() -> Result<(T, String), WalletError>,
    ) -> Result<T, WalletError> {
        let t = Instant::now();
        let (v, detail) = f()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if self.verbose {
            println!("  ✓ {name} ({ms:.0} ms)");
            for line in detail.lines() {
                println!("      {line}");
            }
        }
        self.summary.steps.push(Step {
            name: name.into(),
            ms,
            detail,
        });
        Ok(v)
    }
}

/// Runs the demo.
pub fn run(opts: &DemoOptions) -> Result<Summary, WalletError> {
    let io = |p: &Path, e: std::io::Error| WalletError::Io(p.into(), e.to_string());
    std::fs::create_dir_all(&opts.key_dir).map_err(|e| io(&opts.key_dir, e))?;
    let tmp = tempfile::tempdir().map_err(|e| io(Path::new("/tmp"), e))?;
    let node_dir = tmp.path().join("node");
    std::fs::create_dir_all(&node_dir).map_err(|e| io(&node_dir, e))?;
    let keys = opts.key_dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| io(&keys, e))?;
    std::os::unix::fs::symlink(
        keys.canonicalize().map_err(|e| io(&keys, e))?,
        node_dir.join("keys"),
    )
    .map_err(|e| io(&node_dir, e))?;
    let mut rec = Recorder {
        summary: Summary {
            profile: format!("{:?}", opts.profile).to_lowercase(),
            ..Default::default()
        },
        verbose: opts.verbose,
    };
    let network = Network::Dev;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| WalletError::Node(e.to_string()))?;

    // 1. the node (and, on the EVM ledger, the chain and the contract)
    let mut chain: Option<evm::Chain> = None;
    let node = if opts.evm {
        rec.summary.ledger = "evm".into();
        let (node, ch) = rec.step(
            "start a local EVM chain (anvil), deploy the rollup contract with the node's keys and a test USD token, start the node on it",
            || {
                let config = NodeConfig::new(node_dir.clone(), opts.profile);
                let (node, ch) = evm::start(&rt, config)?;
                let d = format!(
                    "rollup contract {} on {}; USD is token {}",
                    ch.rollup, ch.url, ch.token
                );
                Ok(((node, ch), d))
            },
        )?;
        rec.summary.contract = Some(ch.rollup.to_string());
        chain = Some(ch);
        node
    } else {
        rec.summary.ledger = "embedded".into();
        rec.step("start the node (embedded ledger, RocksDB, keys)", || {
            let config = NodeConfig::new(node_dir.clone(), opts.profile);
            let node = Node::open(config).map_err(|e| WalletError::Node(e.to_string()))?;
            let p = opts.profile.params();
            Ok((
                node,
                format!(
                    "note tree of 4^{} = 2^{} leaves, chunks of {} payments; data in {}",
                    p.depth,
                    2 * p.depth,
                    p.slots,
                    tmp.path().display()
                ),
            ))
        })?
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = rt
        .block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let limits = ServeLimits::of(node.config());
            tokio::spawn(serve(
                listener,
                router(AppState::new(node.clone())),
                limits,
                async {
                    let _ = stopped.await;
                },
            ));
            std::io::Result::Ok(addr)
        })
        .map_err(|e| WalletError::Node(e.to_string()))?;
    let client = NodeClient::new(&format!("http://{addr}"));
    let commit = |node: &Arc<Node>| -> Result<u64, WalletError> {
        node.run_batch_once()
            .map_err(|e| WalletError::Node(e.to_string()))?
            .ok_or_else(|| WalletError::Node("no batch was committed".into()))
    };

    // 2. wallets
    let pass = b"demo passphrase";
    let (mut merchant, mut till, mut customer) = rec.step(
        "create the merchant's wallet, its watch-only till, and the customer's wallet",
        || {
            let m = Wallet::create(&tmp.path().join("merchant"), network, pass, None)?;
            let t = Wallet::create(
                &tmp.path().join("till"),
                network,
                pass,
                Some(&m.viewing_key()),
            )?;
            let c = Wallet::create(&tmp.path().join("customer"), network, pass, None)?;
            let d = format!(
                "merchant {}\ncustomer {}",
                m.address().encode(),
                c.address().encode()
            );
            Ok(((m, t, c), d))
        },
    )?;
    let info = customer.check_node(&client)?;
    let prover = rec.step(
        "load the payment proving key (cached by circuit shape)",
        || {
            let p = customer.prover(&opts.key_dir, &info, None)?;
            Ok((p, format!("key {}", &info.payment_key_id[..16])))
        },
    )?;
    let usd = Asset::from_text("USD")?;
    let mut rng = rand::rngs::OsRng;

    // 3. fund the customer
    rec.step(
        "faucet: 100.00 USD to the customer's public account",
        || {
            let account = customer.account()?;
            let b = client.faucet(&account.to_hex(), "USD", 10_000)?;
            let what = match &chain {
                // on a chain the faucet mints tokens; deposits draw on the escrow (next step)
                Some(_) => format!("account {account}: 100.00 USD of test tokens minted"),
                None => format!(
                    "public account {account}: {}",
                    format_in("USD", u64::try_from(b).unwrap_or(u64::MAX))
                ),
            };
            Ok(((), what))
        },
    )?;
    if let Some(ch) = &chain {
        rec.step(
            "customer's account moves 100.00 USD of its tokens into its escrow in the rollup contract (on chain)",
            || {
                let held = evm::fund_escrow(&rt, ch, customer.account_key()?, 10_000)?;
                Ok((
                    (),
                    format!(
                        "account {} escrow in {}: {}",
                        customer.account()?,
                        ch.rollup,
                        format_in("USD", held)
                    ),
                ))
            },
        )?;
    }
    rec.step(
        "customer deposits 50.00 USD into a shielded note (proved locally, debit signed by the account key)",
        || {
            let s = customer.deposit(&client, &prover, &info, &usd, 5_000, &mut rng)?;
            Ok(((), format!("payment {}", &s.id[..16])))
        },
    )?;
    rec.step(
        "batch the deposit, prove it and commit it to the ledger",
        || {
            let n = commit(&node)?;
            customer.sync(&client, 16, |_, _| {})?;
            let b = customer.balances();
            Ok((
                (),
                format!(
                    "batch {n}; customer balance {}",
                    b.first()
                        .map(|b| b.spendable_text.clone())
                        .unwrap_or_default()
                ),
            ))
        },
    )?;

    // 4. the merchant's invoice
    let invoice_id = format!("order-{}", rand::Rng::gen_range(&mut rng, 1000..9999));
    let png_path = tmp.path().join("invoice.png");
    let uri = rec.step("merchant issues an invoice QR (terminal and PNG)", || {
        let mut r = PaymentRequest::new(merchant.address(), usd.clone(), Some(1_250));
        r.invoice = Some(invoice_id.as_bytes().to_vec());
        let mut salt = vec![0u8; zkpay_protocol::invoice::MIN_SALT];
        rand::RngCore::fill_bytes(&mut rng, &mut salt);
        r.salt = Some(salt);
        r.expires = Some(zkpay_wallet::wallet::now() + 900);
        r.label = Some("Corner Café".into());
        r.message = Some("2 flat whites".into());
        let uri = merchant.request(r)?;
        let png = zkpay_wallet::qr::render_png(&uri)?;
        std::fs::write(&png_path, &png).map_err(|e| io(&png_path, e))?;
        let term = zkpay_wallet::qr::render_terminal(&uri)?;
        Ok((
            uri.clone(),
            format!("{uri}\n{term}PNG: {}", png_path.display()),
        ))
    })?;
    rec.summary.qr_png = png_path.display().to_string();

    // 5. the customer scans and pays
    let t_qr = Instant::now();
    let req = rec.step("customer decodes the PNG and parses the request", || {
        let text = zkpay_wallet::qr::decode_file(&png_path)?;
        if text != uri {
            return Err(WalletError::Qr("decoded text differs from the URI".into()));
        }
        let req = PaymentRequest::parse_for(&text, network)?;
        let d = format!(
            "pay {} to {} for invoice {:?} (fee 0, network {})",
            format_in("USD", req.amount.unwrap_or(0)),
            req.address.encode(),
            invoice_id,
            req.network()
        );
        Ok((req, d))
    })?;
    let sent = rec.step(
        "customer proves the payment locally and the node accepts it",
        || {
            let s = customer.pay(&client, &prover, &info, &req, 0, &mut rng)?;
            Ok((
                s.clone(),
                format!("payment {} accepted (durably stored)", &s.id[..16]),
            ))
        },
    )?;
    rec.summary.qr_to_accept_ms = t_qr.elapsed().as_secs_f64() * 1e3;
    rec.summary.payment_proof_ms = customer.last_proof().as_secs_f64() * 1e3;
    let t_batch = Instant::now();
    let batch = rec.step(
        "the node proves the batch (parallel chunks) and commits it",
        || {
            let n = commit(&node)?;
            Ok((n, format!("batch {n} committed")))
        },
    )?;
    rec.summary.batch_proof_ms = t_batch.elapsed().as_secs_f64() * 1e3;

    // 6. the till
    rec.step(
        "the merchant's watch-only till syncs and sees the payment",
        || {
            till.sync(&client, 16, |_, _| {})?;
            merchant.sync(&client, 16, |_, _| {})?;
            let got = till.received_from(&sent.id);
            let report = merchant.invoice_report(&client, &invoice_id)?;
            let ok = got.iter().any(|n| n.note.value == 1_250) && report.state == "paid";
            rec_ok(ok, "till did not see the payment")?;
            Ok((
                (),
                format!(
                    "received {} with memo {:?}; invoice {} in batch {batch} (tag bound to amount, asset and merchant in the proof)",
                    format_in("USD", got.first().map(|n| n.note.value).unwrap_or(0)),
                    got.first().map(|n| n.memo.clone()).unwrap_or_default(),
                    report.state
                ),
            ))
        },
    )?;
    rec.summary.merchant_received = true;

    // 7. receipt
    let receipt_path = tmp.path().join("receipt.json");
    let ledger_dir = node_dir.join("ledger");
    let verified = rec.step(
        "customer exports a receipt; anyone verifies it against the ledger's own log (the embedded ledger's files, or the rollup contract's events on chain)",
        || {
            customer.sync(&client, 16, |_, _| {})?;
            let r = receipt::export(&customer, &sent.id)?;
            let text =
                serde_json::to_vec_pretty(&r).map_err(|e| WalletError::Node(e.to_string()))?;
            std::fs::write(&receipt_path, text).map_err(|e| io(&receipt_path, e))?;
            let v = match &chain {
                Some(ch) => receipt::verify(&r, &evm::ChainSource::read(&rt, ch)?)?,
                None => receipt::verify(&r, &receipt::LedgerSource::open(&ledger_dir)?)?,
            };
            let d = format!("{} (checked against {})", v.statement, v.checked_against);
            Ok((v, d))
        },
    )?;
    rec.summary.receipt_verified = verified.value == 1_250;

    // 8. what the node refuses
    rec.step("a second payment of the same invoice is refused", || {
        // the wallet refuses first ...
        let local = customer.precheck(&client, &req, 0);
        rec_ok(local.is_err(), "the wallet paid the invoice twice")?;
        // ... and the node refuses a payment that skips the wallet's check
        let notes = customer.spendable_for(&usd, 1_250)?;
        let r = customer.pay_notes(&client, &prover, &info, &req, notes, 0, &mut rng);
        let refused =
            matches!(&r, Err(WalletError::Rejected { code, .. }) if code == "invoice_paid");
        rec_ok(refused, "the node accepted a second payment of the invoice")?;
        Ok((
            (),
            format!(
                "wallet: {}; node: {}",
                local.err().map(|e| e.to_string()).unwrap_or_default(),
                r.err().map(|e| e.to_string()).unwrap_or_default()
            ),
        ))
    })?;
    rec.summary.invoice_replay_rejected = true;
    rec.step(
        "a double spend of the customer's spent note is refused",
        || {
            let spent: Vec<_> = customer
                .notes()
                .iter()
                .filter(|n| n.spent_in.is_some())
                .cloned()
                .collect();
            rec_ok(!spent.is_empty(), "no spent note")?;
            let mut again = PaymentRequest::new(merchant.address(), usd.clone(), Some(100));
            again.memo = Some(b"double spend".to_vec());
            let r = customer.pay_notes(
                &client,
                &prover,
                &info,
                &again,
                spent[..1].to_vec(),
                0,
                &mut rng,
            );
            let refused =
                matches!(&r, Err(WalletError::Rejected { code, .. }) if code == "nullifier_spent");
            rec_ok(refused, "the node accepted a double spend")?;
            Ok((
                (),
                format!(
                    "node: {}",
                    r.err().map(|e| e.to_string()).unwrap_or_default()
                ),
            ))
        },
    )?;
    rec.summary.double_spend_rejected = true;
    if let Some(ch) = &chain {
        rec.summary.batch_gas = evm::batch_gas(&rt, ch)?;
        if opts.verbose {
            println!(
                "  rollup contract {}: gas per batch {:?}",
                ch.rollup, rec.summary.batch_gas
            );
        }
    }
    let _ = stop.send(());
    drop(rt);
    let s = &rec.summary;
    rec.summary.ok = s.merchant_received
        && s.receipt_verified
        && s.double_spend_rejected
        && s.invoice_replay_rejected;
    Ok(rec.summary)
}

fn rec_ok(cond: bool, why: &str) -> Result<(), WalletError> {
    if cond {
        Ok(())
    } else {
        Err(WalletError::Refused(format!("demo check failed: {why}")))
    }
}
