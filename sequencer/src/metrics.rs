//! Prometheus counters, rendered in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Node counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Payments accepted into the mempool.
    pub accepted: AtomicU64,
    /// Batches committed.
    pub batches_committed: AtomicU64,
    /// Batches the ledger refused.
    pub batches_failed: AtomicU64,
    /// Payments committed.
    pub payments_committed: AtomicU64,
    /// Accepted payments failed later (ledger rules, expired roots), each with its reason.
    pub payments_failed: AtomicU64,
    /// Rejections by reason code.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one rejection.
    pub fn reject(&self, reason: &'static str) {
        if let Ok(mut m) = self.rejected.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// Rejections counted for `reason`.
    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected
            .lock()
            .map(|m| m.get(reason).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Text exposition.
    pub fn render(&self, mempool: usize) -> String {
        let mut s = String::new();
        let c = |s: &mut String, name: &str, help: &str, v: u64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        c(
            &mut s,
            "zkpay_payments_accepted_total",
            "Payments accepted into the mempool.",
            self.accepted.load(Ordering::Relaxed),
        );
        c(
            &mut s,
            "zkpay_payments_committed_total",
            "Payments committed to the ledger.",
            self.payments_committed.load(Ordering::Relaxed),
        );
        c(
            &mut s,
            "zkpay_payments_failed_total",
            "Accepted payments failed before commit (ledger rules, expired roots).",
            self.payments_failed.load(Ordering::Relaxed),
        );
        c(
            &mut s,
            "zkpay_batches_committed_total",
            "Batches committed to the ledger.",
            self.batches_committed.load(Ordering::Relaxed),
        );
        c(
            &mut s,
            "zkpay_batches_failed_total",
            "Batches the ledger refused.",
            self.batches_failed.load(Ordering::Relaxed),
        );
        s.push_str("# HELP zkpay_payments_rejected_total Payments rejected, by reason.\n# TYPE zkpay_payments_rejected_total counter\n");
        if let Ok(m) = self.rejected.lock() {
            for (k, v) in m.iter() {
                s.push_str(&format!(
                    "zkpay_payments_rejected_total{{reason=\"{k}\"}} {v}\n"
                ));
            }
        }
        s.push_str(&format!("# HELP zkpay_mempool_size Payments waiting for a batch.\n# TYPE zkpay_mempool_size gauge\nzkpay_mempool_size {mempool}\n"));
        s
    }
}
