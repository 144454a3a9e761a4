//! The durable mempool: accepted payments waiting for a batch, in RocksDB.
//!
//! Keys: `m/<seq u64 BE>` → payment (JSON); `f/<payment id>` → why the payment failed (UTF-8),
//! so a client asking after a restart still learns the reason. Every change is one synced write
//! batch, so an
//! acknowledged payment survives `kill -9`; concurrent synced writes share one WAL sync
//! (RocksDB's group commit).

use crate::NodeError;
use rocksdb::{IteratorMode, WriteBatch};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use zkpay_ledger::store::Store;
use zkpay_ledger::PaymentSubmission;

/// The mempool.
pub struct Mempool {
    db: Store,
    fault: AtomicBool,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mempool")
    }
}

fn key(seq: u64) -> Vec<u8> {
    let mut k = b"m/".to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn failure_key(id: &[u8; 32]) -> Vec<u8> {
    let mut k = b"f/".to_vec();
    k.extend_from_slice(id);
    k
}

impl Mempool {
    /// Opens or creates the mempool in `dir`.
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        Ok(Self {
            db: Store::open(dir)?,
            fault: AtomicBool::new(false),
        })
    }

    /// Durably stores a payment under `seq`. An earlier failure of the same payment keeps its
    /// record: the node's status reads pending and committed payments first, and a new failure
    /// overwrites it (deleting it here would let a status read racing the new acceptance
    /// answer "unknown").
    pub fn put(&self, seq: u64, p: &PaymentSubmission) -> Result<(), NodeError> {
        let v = serde_json::to_vec(p).map_err(|e| NodeError::Storage(e.to_string()))?;
        let mut wb = WriteBatch::default();
        wb.put(key(seq), v);
        self.write(wb)
    }

    fn write(&self, wb: WriteBatch) -> Result<(), NodeError> {
        if self.fault.load(Ordering::Relaxed) {
            return Err(NodeError::Storage(
                "injected fault: No space left on device".into(),
            ));
        }
        self.db.write(wb)?;
        Ok(())
    }

    /// A synced write of a probe key (to learn whether storage works again). After a failed
    /// write the database is reopened first (RocksDB refuses every write after one failed).
    pub fn probe(&self) -> Result<(), NodeError> {
        let mut wb = WriteBatch::default();
        wb.put(b"probe", b"");
        self.write(wb)
    }

    /// Test hook: every write fails while `on`.
    pub fn inject_fault(&self, on: bool) {
        self.fault.store(on, Ordering::Relaxed);
    }

    /// Durably removes payments.
    pub fn remove(&self, seqs: &[u64]) -> Result<(), NodeError> {
        let mut wb = WriteBatch::default();
        for s in seqs {
            wb.delete(key(*s));
        }
        self.write(wb)
    }

    /// Durably removes failed payments (mempool sequence number, payment id, reason) and records
    /// why they failed, in one write.
    pub fn fail<'a>(
        &self,
        failed: impl IntoIterator<Item = (u64, &'a [u8; 32], &'a str)>,
    ) -> Result<(), NodeError> {
        let mut wb = WriteBatch::default();
        for (seq, id, reason) in failed {
            wb.delete(key(seq));
            wb.put(failure_key(id), reason.as_bytes());
        }
        self.write(wb)
    }

    /// Why payment `id` failed, if a failure is recorded (read from disk: failures are kept
    /// for the whole history, so they are not held in memory).
    pub fn failure(&self, id: &[u8; 32]) -> Result<Option<String>, NodeError> {
        let db = self.db.db()?;
        match db.get(failure_key(id))? {
            None => Ok(None),
            Some(v) => String::from_utf8(v)
                .map(Some)
                .map_err(|_| NodeError::Storage("corrupt failure record".into())),
        }
    }

    /// Every stored payment, in sequence order.
    pub fn load(&self) -> Result<Vec<(u64, PaymentSubmission)>, NodeError> {
        let mut out = Vec::new();
        let db = self.db.db()?;
        for item in db.iterator(IteratorMode::Start) {
            let (k, v) = item?;
            if k.len() != 10 || &k[..2] != b"m/" {
                continue;
            }
            let mut s = [0u8; 8];
            s.copy_from_slice(&k[2..]);
            let p: PaymentSubmission = serde_json::from_slice(&v)
                .map_err(|e| NodeError::Storage(format!("corrupt mempool entry: {e}")))?;
            out.push((u64::from_be_bytes(s), p));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure's reason is read back from disk, after a reopen too; an unknown payment has
    /// none; a record that is not UTF-8 is a storage error, never a reason.
    #[test]
    fn failures_are_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        {
            let m = Mempool::open(dir.path()).unwrap();
            assert_eq!(m.failure(&a).unwrap(), None);
            m.fail([(7, &a, "root not recent")]).unwrap();
            assert_eq!(m.failure(&a).unwrap().as_deref(), Some("root not recent"));
            assert_eq!(m.failure(&b).unwrap(), None);
        }
        let m = Mempool::open(dir.path()).unwrap();
        assert_eq!(m.failure(&a).unwrap().as_deref(), Some("root not recent"));
        m.db.db()
            .unwrap()
            .put(failure_key(&b), [0xff, 0xfe])
            .unwrap();
        assert!(matches!(m.failure(&b), Err(NodeError::Storage(_))));
        // an injected fault refuses the write, and nothing is recorded
        m.inject_fault(true);
        assert!(m.fail([(8, &[3u8; 32], "x")]).is_err());
        m.inject_fault(false);
        assert_eq!(m.failure(&[3u8; 32]).unwrap(), None);
    }
}
