//! Fault 4 of shared/bad-inputs.md: the ledger rejects a batch. The batch is marked failed,
//! counted and logged; its payments are reported failed (never silently dropped) and their
//! nullifiers and invoice tags are released.

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use zkpay_ledger::{
    BaseLedger, BatchSubmission, CommittedBatch, EmbeddedLedger, LedgerError, LedgerHead,
    PaymentSubmission,
};
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::PublicAccount;
use zkpay_sequencer::node::PaymentStatus;
use zkpay_sequencer::Node;

struct Refusing {
    inner: EmbeddedLedger,
    refuse: AtomicBool,
    broken: AtomicBool,
    /// What the ledger reports queued for forced inclusion.
    queued: Mutex<Vec<PaymentSubmission>>,
}

impl BaseLedger for Refusing {
    fn head(&self) -> Result<LedgerHead, LedgerError> {
        self.inner.head()
    }
    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError> {
        self.inner.recent_roots()
    }
    fn commit(&self, b: &BatchSubmission) -> Result<CommittedBatch, LedgerError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(LedgerError::Payment {
                index: 0,
                why: "refused by the test".into(),
            });
        }
        if self.broken.load(Ordering::SeqCst) {
            return Err(LedgerError::Storage("disk full (test)".into()));
        }
        self.inner.commit(b)
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
        self.inner.balance(a, asset)
    }
    fn pool(&self, asset: &AssetId) -> Result<u128, LedgerError> {
        self.inner.pool(asset)
    }
    fn debit_domain(&self) -> zkpay_protocol::account::DebitDomain {
        self.inner.debit_domain()
    }
    fn faucet(&self, a: &PublicAccount, asset: &AssetId, amount: u64) -> Result<(), LedgerError> {
        self.inner.faucet(a, asset, amount)
    }
    fn forced(&self) -> Result<Vec<PaymentSubmission>, LedgerError> {
        Ok(self.queued.lock().unwrap().clone())
    }
}

#[test]
fn refused_batch_is_reported_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, inner, payer, batcher) = embedded_ledger(dir.path());
    let ledger = Arc::new(Refusing {
        inner,
        refuse: AtomicBool::new(true),
        broken: AtomicBool::new(false),
        queued: Mutex::new(Vec::new()),
    });
    let node =
        Node::with_ledger(cfg, ledger.clone(), payer.keys().verifier.clone(), batcher).unwrap();
    let mut alice = Wallet::new(21, "alice");
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    let (dep, _) = deposit(&node, &payer, &mut alice, 60);
    node.submit(dep.clone()).unwrap();

    assert_eq!(node.run_batch_once().unwrap(), None);
    match node.status(&dep.id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(node.metrics.batches_failed.get(), 1);
    assert_eq!(node.mempool_len(), 0);
    assert_eq!(node.ledger().head().unwrap().number, 0, "nothing committed");
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 100);

    // once the ledger accepts again, the same payment can be resubmitted and committed
    ledger.refuse.store(false, Ordering::SeqCst);
    node.submit(dep.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    assert!(matches!(
        node.status(&dep.id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 1 })
    ));

    // a ledger that cannot write (I/O error) commits nothing; the acknowledged payment stays
    // pending, never failed, and is committed once the ledger works again
    ledger.broken.store(true, Ordering::SeqCst);
    let (dep2, _) = deposit(&node, &payer, &mut alice, 30);
    node.submit(dep2.clone()).unwrap();
    assert!(node.run_batch_once().is_err());
    assert_eq!(
        node.status(&dep2.id()).unwrap(),
        Some(PaymentStatus::Pending)
    );
    assert_eq!(node.mempool_len(), 1);
    assert_eq!(node.ledger().head().unwrap().number, 1);
    ledger.broken.store(false, Ordering::SeqCst);
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(node.mempool_len(), 0);
}

/// A payment the ledger reports queued for forced inclusion that can never be applied (here:
/// one already committed, whose nullifiers are spent) must not fail the payments waiting in the
/// mempool: the batch goes without the queue, and they are committed.
#[test]
fn a_queued_payment_that_cannot_be_applied_does_not_fail_the_mempool() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, inner, payer, batcher) = embedded_ledger(dir.path());
    let ledger = Arc::new(Refusing {
        inner,
        refuse: AtomicBool::new(false),
        broken: AtomicBool::new(false),
        queued: Mutex::new(Vec::new()),
    });
    let node =
        Node::with_ledger(cfg, ledger.clone(), payer.keys().verifier.clone(), batcher).unwrap();
    let mut alice = Wallet::new(22, "alice");
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    let (dep, _) = deposit(&node, &payer, &mut alice, 60);
    node.submit(dep.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(1));

    *ledger.queued.lock().unwrap() = vec![dep];
    let (dep2, _) = deposit(&node, &payer, &mut alice, 30);
    node.submit(dep2.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(
        node.status(&dep2.id()).unwrap(),
        Some(PaymentStatus::Committed { batch: 2 })
    );
    assert_eq!(
        node.ledger().batch(2).unwrap().unwrap().payments,
        vec![dep2]
    );
    assert_eq!(node.metrics.batches_failed.get(), 0);
    assert_eq!(node.metrics.ledger_errors.get(), 1);
}
