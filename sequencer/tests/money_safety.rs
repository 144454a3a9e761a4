//! Money safety (issue 14; rows 31–35 of shared/bad-inputs.md): a debit needs the account
//! owner's signature, overdrafts are refused at ingest while honest payments in the same window
//! commit, a batch the ledger still refuses is proven again without the offender (whose failure
//! survives a restart), and an invoice tag cannot be squatted or underpaid.

mod common;

use common::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use zkpay_ledger::{
    BaseLedger, BatchSubmission, CommittedBatch, EmbeddedLedger, LedgerError, LedgerHead,
    PaymentSubmission,
};
use zkpay_protocol::account::{AccountKey, DebitDomain};
use zkpay_protocol::address::Network;
use zkpay_protocol::field::fe_to_bytes;
use zkpay_protocol::invoice::{invoice_key, invoice_tag};
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::PublicAccount;
use zkpay_protocol::F;
use zkpay_prover::PaymentProver;
use zkpay_sequencer::node::{PaymentStatus, Rejection};
use zkpay_sequencer::Node;

fn code(r: Result<[u8; 32], Rejection>) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

/// Row 31: a deposit naming someone else's public account.
#[test]
fn a_debit_needs_the_account_owners_signature() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let victim = Wallet::new(1, "victim");
    let mut thief = Wallet::new(2, "thief");
    node.ledger()
        .faucet(&victim.account, &usd(), 5_000)
        .unwrap();
    let victim_account = victim.account;
    let root = node.head().unwrap().0.state.note_root;

    // the thief proves a deposit from the victim's account into the thief's own note
    let (forged, _) = deposit_with(root, &prover, &mut thief, 2_000, |e| {
        e.public_account = Some(victim_account);
    });
    assert!(forged.authorization.is_none());
    let mut signed_by_thief = forged.clone();
    let debit = signed_by_thief
        .public
        .debit(&signed_by_thief.ext, DebitDomain::embedded(Network::Dev))
        .unwrap();
    let thief_key = AccountKey::random(&mut rand::rngs::OsRng);
    assert!(
        thief_key.sign(&debit).is_err(),
        "a key signs only its own debits"
    );
    let other = zkpay_protocol::account::Debit {
        account: thief_key.account(),
        ..debit
    };
    signed_by_thief.authorization = Some(thief_key.sign(&other).unwrap());
    assert_eq!(
        code(node.submit(signed_by_thief.clone())),
        "bad_authorization"
    );
    // no signature at all
    assert_eq!(code(node.submit(forged.clone())), "bad_authorization");
    // the victim's valid signature of another payment, replayed
    let mut victim_w = Wallet::new(1, "victim");
    let (honest, _) = deposit(&node, &prover, &mut victim_w, 10);
    let mut replayed = forged.clone();
    replayed.authorization = honest.authorization;
    assert_eq!(code(node.submit(replayed.clone())), "bad_authorization");
    // the victim's own signature of this very payment, but for another ledger (a rollup
    // contract on some chain): worth nothing here
    let mut for_elsewhere = honest.clone();
    authorize_for(
        &mut for_elsewhere,
        &victim_w.account_key,
        DebitDomain {
            chain_id: 31337,
            verifying_contract: PublicAccount::from_bytes([0x5f; 20]),
        },
    );
    assert_eq!(code(node.submit(for_elsewhere)), "bad_authorization");
    assert_eq!(node.metrics.rejected("bad_authorization"), 4);
    // the ledger applies the same rule when the node is bypassed
    let refused = node
        .ledger()
        .screen(&[signed_by_thief, forged, replayed])
        .unwrap();
    assert_eq!(refused.len(), 3);
    for (_, e) in &refused {
        assert!(e.to_string().contains("account authorisation"), "{e}");
    }
    // a withdrawal or transfer carrying a signature is refused too (nothing to authorise)
    let (mut dep, note) = deposit(&node, &prover, &mut victim_w, 100);
    node.submit(dep.clone()).unwrap();
    node.run_batch_once().unwrap();
    let mut transfer = pay(
        &node,
        &prover,
        &mut victim_w,
        &note,
        &thief.key,
        10,
        0,
        None,
    );
    transfer.authorization = dep.authorization.take();
    assert_eq!(code(node.submit(transfer)), "bad_authorization");

    assert_eq!(
        node.ledger().balance(&victim_account, &usd()).unwrap(),
        4_900,
        "only the victim's own deposit moved money"
    );
}

/// Row 32: two deposits that together overdraw an account, plus an honest payment.
#[test]
fn an_overdraft_is_refused_at_ingest_and_honest_payments_commit() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let mut alice = Wallet::new(3, "alice");
    let mut bob = Wallet::new(4, "bob");
    node.ledger().faucet(&alice.account, &usd(), 5_000).unwrap();
    node.ledger().faucet(&bob.account, &usd(), 1_000).unwrap();
    let (a1, _) = deposit(&node, &prover, &mut alice, 3_000);
    let (a2, _) = deposit(&node, &prover, &mut alice, 3_000);
    let (b1, _) = deposit(&node, &prover, &mut bob, 700);
    assert_eq!(code(node.submit(a1.clone())), "accepted");
    let r = node.submit(a2.clone());
    assert!(
        matches!(&r, Err(Rejection::Conflict("insufficient_public_balance", m)) if m.contains("3000 reserved")),
        "{r:?}"
    );
    assert_eq!(code(node.submit(b1.clone())), "accepted");
    assert_eq!(node.reserved_debits(&alice.account, &usd()), 3_000);
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    for p in [&a1, &b1] {
        assert_eq!(
            node.status(&p.id()).unwrap(),
            Some(PaymentStatus::Committed { batch: 1 })
        );
    }
    assert_eq!(node.reserved_debits(&alice.account, &usd()), 0);
    assert_eq!(
        node.ledger().balance(&alice.account, &usd()).unwrap(),
        2_000
    );
    // the second deposit now fits neither: 2,000 left
    assert_eq!(code(node.submit(a2)), "insufficient_public_balance");
    let (a3, _) = deposit(&node, &prover, &mut alice, 2_000);
    assert_eq!(code(node.submit(a3)), "accepted");
    // reservations are rebuilt from the durable mempool after a restart
    drop(node);
    let node = open(dir.path());
    assert_eq!(node.reserved_debits(&alice.account, &usd()), 2_000);
    let (a4, _) = deposit(&node, &prover, &mut alice, 1);
    assert_eq!(code(node.submit(a4)), "insufficient_public_balance");
}

/// A ledger whose balance view is stale (as when an EVM account is debited elsewhere between
/// ingest and commit): the node reserves against more than the ledger will allow.
struct Stale {
    inner: EmbeddedLedger,
    extra: AtomicU64,
    /// Refuse the next batch naming this payment index (a rule the node cannot see).
    refuse_once: Mutex<Option<usize>>,
    /// After the next commit has landed: say so, then wait before returning to the node.
    pause_after_commit: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl BaseLedger for Stale {
    fn head(&self) -> Result<LedgerHead, LedgerError> {
        self.inner.head()
    }
    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError> {
        self.inner.recent_roots()
    }
    fn commit(&self, b: &BatchSubmission) -> Result<CommittedBatch, LedgerError> {
        if let Some(index) = self.refuse_once.lock().unwrap().take() {
            return Err(LedgerError::Payment {
                index,
                why: "refused by the test ledger".into(),
            });
        }
        let r = self.inner.commit(b);
        if let Some((landed, go)) = self.pause_after_commit.lock().unwrap().take() {
            landed.send(()).unwrap();
            go.recv().unwrap();
        }
        r
    }
    fn screen(
        &self,
        payments: &[PaymentSubmission],
    ) -> Result<Vec<(usize, LedgerError)>, LedgerError> {
        self.inner.screen(payments)
    }
    fn batch(&self, n: u64) -> Result<Option<CommittedBatch>, LedgerError> {
        self.inner.batch(n)
    }
    fn balance(&self, a: &PublicAccount, asset: &AssetId) -> Result<u128, LedgerError> {
        Ok(self.inner.balance(a, asset)? + u128::from(self.extra.load(Ordering::SeqCst)))
    }
    fn pool(&self, asset: &AssetId) -> Result<u128, LedgerError> {
        self.inner.pool(asset)
    }
    fn debit_domain(&self) -> DebitDomain {
        self.inner.debit_domain()
    }
    fn faucet(&self, a: &PublicAccount, asset: &AssetId, amount: u64) -> Result<(), LedgerError> {
        self.inner.faucet(a, asset, amount)
    }
}

fn stale_node(dir: &std::path::Path) -> (Arc<Node>, Arc<Stale>, PaymentProver) {
    let (cfg, inner, payer, batcher) = embedded_ledger(dir);
    let ledger = Arc::new(Stale {
        inner,
        extra: AtomicU64::new(0),
        refuse_once: Mutex::new(None),
        pause_after_commit: Mutex::new(None),
    });
    let node =
        Node::with_ledger(cfg, ledger.clone(), payer.keys().verifier.clone(), batcher).unwrap();
    (node, ledger, payer)
}

/// The ledger still refuses a payment the node admitted: only that payment fails, with its
/// reason, the batch is proven again without it, and the failure survives a restart.
#[test]
fn a_refused_payment_fails_alone_and_its_reason_persists() {
    let dir = tempfile::tempdir().unwrap();
    let (node, ledger, prover) = stale_node(dir.path());
    let mut alice = Wallet::new(5, "alice");
    let mut bob = Wallet::new(6, "bob");
    node.ledger().faucet(&alice.account, &usd(), 5_000).unwrap();
    node.ledger().faucet(&bob.account, &usd(), 1_000).unwrap();
    ledger.extra.store(10_000, Ordering::SeqCst);
    let (a1, _) = deposit(&node, &prover, &mut alice, 3_000);
    let (a2, _) = deposit(&node, &prover, &mut alice, 3_000);
    let (b1, _) = deposit(&node, &prover, &mut bob, 700);
    for p in [&a1, &a2, &b1] {
        assert_eq!(code(node.submit(p.clone())), "accepted");
    }
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    assert_eq!(
        node.status(&a1.id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 1 })
    );
    assert_eq!(
        node.status(&b1.id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 1 })
    );
    let reason = match node.status(&a2.id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => reason,
        other => panic!("expected failed, got {other:?}"),
    };
    assert!(reason.contains("insufficient public balance"), "{reason}");
    assert_eq!(node.metrics.payments_failed(), 1);
    assert_eq!(
        node.ledger().balance(&alice.account, &usd()).unwrap(),
        12_000
    );
    drop(node);
    drop(ledger);
    let (node, _ledger, _) = stale_node(dir.path());
    assert_eq!(
        node.status(&a2.id()).unwrap(),
        Some(PaymentStatus::Failed { reason }),
        "the failure and its reason survive a restart"
    );
}

/// A payment fails while the mempool cannot be written (a full disk): its status still names
/// the failure and its reason, and once storage works again the record is written, so that it
/// survives a restart too.
#[test]
fn a_failure_whose_record_cannot_be_written_is_reported_and_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let (node, ledger, prover) = stale_node(dir.path());
    let mut alice = Wallet::new(7, "alice");
    node.ledger().faucet(&alice.account, &usd(), 5_000).unwrap();
    ledger.extra.store(10_000, Ordering::SeqCst);
    let (a1, _) = deposit(&node, &prover, &mut alice, 3_000);
    let (a2, _) = deposit(&node, &prover, &mut alice, 3_000);
    for p in [&a1, &a2] {
        assert_eq!(code(node.submit(p.clone())), "accepted");
    }
    node.inject_storage_fault(true);
    // the batch may stop on the mempool write; whatever it did, a2 has failed
    let _ = node.run_batch_once();
    let reason = match node.status(&a2.id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => reason,
        other => panic!("expected failed while the disk is full, got {other:?}"),
    };
    assert!(reason.contains("insufficient public balance"), "{reason}");
    assert!(node.storage_failing());
    assert!(!node.probe_storage(), "the fault still holds");
    node.inject_storage_fault(false);
    assert!(node.probe_storage());
    assert_eq!(
        node.status(&a2.id()).unwrap(),
        Some(PaymentStatus::Failed {
            reason: reason.clone()
        })
    );
    while node.status(&a1.id()).unwrap() != Some(PaymentStatus::Committed { batch: 1 }) {
        assert!(node.run_batch_once().unwrap().is_some(), "a1 is committed");
    }
    drop(node);
    drop(ledger);
    let (node, _ledger, _) = stale_node(dir.path());
    assert_eq!(
        node.status(&a2.id()).unwrap(),
        Some(PaymentStatus::Failed { reason }),
        "the record written after the fault survives a restart"
    );
    assert_eq!(
        node.status(&a1.id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 1 })
    );
}

/// While a batch is being committed, ingest keeps running and counts the batch's debits once:
/// after the ledger has applied them and before the node's indexes have, a deposit of exactly
/// the rest of the balance is accepted and one unit more is refused.
#[test]
fn debits_of_a_batch_in_commit_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (node, ledger, prover) = stale_node(dir.path());
    let mut alice = Wallet::new(40, "alice");
    node.ledger().faucet(&alice.account, &usd(), 5_000).unwrap();
    let (a1, _) = deposit(&node, &prover, &mut alice, 3_000);
    assert_eq!(code(node.submit(a1)), "accepted");
    let root = node.head().unwrap().0.state.note_root;
    let (a2, _) = deposit_at(root, &prover, &mut alice, 2_000);
    let (a3, _) = deposit_at(root, &prover, &mut alice, 1);
    let (landed_tx, landed) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    *ledger.pause_after_commit.lock().unwrap() = Some((landed_tx, go_rx));
    let batcher = {
        let node = node.clone();
        std::thread::spawn(move || node.run_batch_once().unwrap())
    };
    landed.recv().unwrap();
    // the ledger holds 2,000 now; the node's indexes still reserve the 3,000 in commit
    assert_eq!(
        node.ledger().balance(&alice.account, &usd()).unwrap(),
        2_000
    );
    assert_eq!(node.reserved_debits(&alice.account, &usd()), 3_000);
    assert_eq!(code(node.submit(a2)), "accepted");
    assert_eq!(code(node.submit(a3.clone())), "insufficient_public_balance");
    go.send(()).unwrap();
    assert_eq!(batcher.join().unwrap(), Some(1));
    assert_eq!(node.reserved_debits(&alice.account, &usd()), 2_000);
    assert_eq!(code(node.submit(a3)), "insufficient_public_balance");
}

/// A batch the ledger refuses naming one payment: that payment fails, the others are proven
/// again without it and commit in the same round.
#[test]
fn a_batch_refused_for_one_payment_is_proven_again_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (node, ledger, prover) = stale_node(dir.path());
    let mut ws: Vec<Wallet> = (0..3).map(|i| Wallet::new(30 + i, "payer")).collect();
    let mut subs = Vec::new();
    for w in ws.iter_mut() {
        node.ledger().faucet(&w.account, &usd(), 1_000).unwrap();
        let (d, _) = deposit(&node, &prover, w, 400);
        assert_eq!(code(node.submit(d.clone())), "accepted");
        subs.push(d);
    }
    *ledger.refuse_once.lock().unwrap() = Some(1);
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    for i in [0, 2] {
        assert_eq!(
            node.status(&subs[i].id()).unwrap(),
            Some(PaymentStatus::Committed { batch: 1 })
        );
    }
    match node.status(&subs[1].id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => {
            assert!(reason.contains("refused by the test ledger"), "{reason}");
            assert!(
                !reason.contains("payment 1"),
                "no batch-relative index: {reason}"
            );
        }
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(node.ledger().head().unwrap().number, 1);
    assert_eq!(node.mempool_len(), 0);
    // its reservation is released: the account can deposit again
    assert_eq!(node.reserved_debits(&ws[1].account, &usd()), 0);
    // a failed payment may be sent again; its old failure is forgotten once accepted
    assert_eq!(code(node.submit(subs[1].clone())), "accepted");
    assert_eq!(
        node.status(&subs[1].id()).unwrap(),
        Some(PaymentStatus::Pending)
    );
    drop(node);
    drop(ledger);
    let (node, _, _) = stale_node(dir.path());
    assert_eq!(
        node.status(&subs[1].id()).unwrap(),
        Some(PaymentStatus::Pending)
    );
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(
        node.status(&subs[1].id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 2 })
    );
}

/// Row 33 and 34: an invoice edited to a smaller amount, paid to another key, squatted with
/// 0.01 or guessed from the merchant's key and an order number.
#[test]
fn invoices_cannot_be_squatted_underpaid_or_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let mut customer = Wallet::new(7, "customer");
    let mut squatter = Wallet::new(8, "squatter");
    let merchant = Wallet::new(9, "merchant");
    let merchant_pk = merchant.key.full_viewing_key().pk;
    node.ledger()
        .faucet(&customer.account, &usd(), 5_000)
        .unwrap();
    node.ledger()
        .faucet(&squatter.account, &usd(), 5_000)
        .unwrap();
    let (dc, customer_note) = deposit(&node, &prover, &mut customer, 2_000);
    let (ds, squatter_note) = deposit(&node, &prover, &mut squatter, 2_000);
    node.submit(dc).unwrap();
    node.submit(ds).unwrap();
    node.run_batch_once().unwrap();

    // the invoice: 12.50 USD, id "order-1001", a random salt in the QR code
    let salt: [u8; 16] = rand::random();
    let key = invoice_key(b"order-1001", &salt).unwrap();
    let expected = invoice_tag(&key, &merchant_pk, 1_250, &usd());

    // the squatter, who saw the QR, pays 0.01 with the invoice key
    let squat = pay(
        &node,
        &prover,
        &mut squatter,
        &squatter_note,
        &merchant.key,
        1,
        0,
        Some(key),
    );
    assert_ne!(
        squat.public.invoice(),
        Some(expected),
        "0.01 cannot carry the invoice's tag"
    );
    // ... or pays the full amount to their own key
    let squatter_key = squatter.key.clone();
    let redirected = pay(
        &node,
        &prover,
        &mut squatter,
        &squatter_note,
        &squatter_key,
        1_250,
        0,
        Some(key),
    );
    assert_ne!(redirected.public.invoice(), Some(expected));
    // ... or takes a real payment's proof and swaps the tag in: the proof does not verify
    let honest = pay(
        &node,
        &prover,
        &mut customer,
        &customer_note,
        &merchant.key,
        1_250,
        0,
        Some(key),
    );
    assert_eq!(honest.public.invoice(), Some(expected));
    let mut swapped = squat.clone();
    swapped.public.invoice_tag = expected;
    assert_eq!(code(node.submit(swapped)), "proof_invalid");
    // the squat is a payment of another tag: the invoice stays unpaid ...
    assert_eq!(code(node.submit(squat)), "accepted");
    assert!(!node.invoice(&fe_to_bytes(&expected)).unwrap().paid);
    assert!(node
        .invoice(&fe_to_bytes(&expected))
        .unwrap()
        .payment
        .is_none());
    // ... and the real customer can still pay it
    assert_eq!(code(node.submit(honest.clone())), "accepted");
    node.run_batch_once().unwrap();
    let st = node.invoice(&fe_to_bytes(&expected)).unwrap();
    assert!(st.paid);
    assert_eq!(st.payment, Some(hex::encode(honest.id())));

    // row 34: the published tags match no guess made without the salt
    let published: Vec<F> = (1..=node.head().unwrap().0.number)
        .flat_map(|n| node.batch(n).unwrap().unwrap().payments)
        .filter_map(|p| p.public.invoice())
        .collect();
    assert_eq!(published.len(), 2);
    for n in 900..1100u32 {
        let id = format!("order-{n}");
        for guess_salt in [[0u8; 16], [0xff; 16], *b"order-1001\0\0\0\0\0\0"] {
            let k = invoice_key(id.as_bytes(), &guess_salt).unwrap();
            for v in [1u64, 1_250] {
                assert!(!published.contains(&invoice_tag(&k, &merchant_pk, v, &usd())));
            }
        }
    }
}

/// Row 35: `public_value` of i128::MIN or with |v| >= 2^64, before any pairing.
#[test]
fn extreme_public_values_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let prover = prover(dir.path());
    let mut alice = Wallet::new(10, "alice");
    node.ledger().faucet(&alice.account, &usd(), 5_000).unwrap();
    let (dep, _) = deposit(&node, &prover, &mut alice, 100);
    for v in [i128::MIN, i128::MIN + 1, i128::MAX, 1 << 64, -(1 << 64)] {
        let mut bad = dep.clone();
        bad.public.public_value = v;
        assert_eq!(code(node.submit(bad)), "out_of_range", "{v}");
    }
}

/// Issue 18: the mempool is bounded by count and bytes (503 `mempool_full`, then room again
/// after a batch), and a node may require a minimum fee per asset, shown in `/v1/info`.
#[test]
fn bounded_mempool_and_minimum_fees() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.mempool_max_payments = 2;
    let node = Node::open(c).unwrap();
    let prover = prover(dir.path());
    let mut ws: Vec<Wallet> = (0..3).map(|i| Wallet::new(50 + i, "payer")).collect();
    let mut subs = Vec::new();
    for w in ws.iter_mut() {
        node.ledger().faucet(&w.account, &usd(), 1_000).unwrap();
        subs.push(deposit(&node, &prover, w, 100).0);
    }
    assert_eq!(code(node.submit(subs[0].clone())), "accepted");
    assert_eq!(code(node.submit(subs[1].clone())), "accepted");
    assert_eq!(code(node.submit(subs[2].clone())), "mempool_full");
    assert_eq!(node.metrics.rejected("mempool_full"), 1);
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    assert_eq!(code(node.submit(subs[2].clone())), "accepted");
    drop(node);

    // a byte bound below one payment's size refuses the second
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.mempool_max_bytes = 100;
    let node = Node::open(c).unwrap();
    let mut w = Wallet::new(60, "payer");
    node.ledger().faucet(&w.account, &usd(), 1_000).unwrap();
    let (a, _) = deposit(&node, &prover, &mut w, 10);
    let (b, _) = deposit(&node, &prover, &mut w, 20);
    assert_eq!(code(node.submit(a)), "accepted");
    assert_eq!(code(node.submit(b)), "mempool_full");
    drop(node);

    // a minimum fee of 0.01 USD: a payment paying less is refused before any cryptography
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    let mut w = Wallet::new(61, "payer");
    let merchant = Wallet::new(62, "merchant");
    node.ledger().faucet(&w.account, &usd(), 1_000).unwrap();
    let (d, note) = deposit(&node, &prover, &mut w, 100);
    node.submit(d).unwrap();
    node.run_batch_once().unwrap();
    drop(node);
    let mut c = config(dir.path());
    c.min_fees = vec![(zkpay_protocol::note::Asset::from_text("USD").unwrap(), 1)];
    let node = Node::open(c).unwrap();
    assert_eq!(node.config().min_fee(&usd()), 1);
    let free = pay(&node, &prover, &mut w, &note, &merchant.key, 10, 0, None);
    assert_eq!(code(node.submit(free)), "fee_too_low");
    let paying = pay(&node, &prover, &mut w, &note, &merchant.key, 10, 1, None);
    assert_eq!(code(node.submit(paying)), "accepted");
}
