//! The node's Prometheus metrics, kept in a registry of the `prometheus` crate (one per node, so
//! several nodes in one process never mix their figures) and served at `/metrics` in the text
//! exposition format 0.0.4.
//!
//! Names, types and labels are a contract with `deploy/zkpay-alerts.yml` and
//! `deploy/grafana-dashboard.json`; `sequencer/tests/ops.rs` checks the exposition with
//! `promtool check metrics` and that every series the rules and the dashboard use exists.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Buckets of request-scale latencies (ingest, single verification), 0.5 ms to ~33 s.
fn fast_buckets() -> Result<Vec<f64>, prometheus::Error> {
    prometheus::exponential_buckets(0.0005, 2.0, 17)
}

/// Buckets of proving-scale durations (chunks, batches, ledger commits), 10 ms to ~22 min.
fn slow_buckets() -> Result<Vec<f64>, prometheus::Error> {
    prometheus::exponential_buckets(0.01, 2.0, 18)
}

/// Reason codes of refused submissions, exported at 0 from the start so that rates and alerts
/// see a series before the first refusal.
pub const REJECTION_REASONS: &[&str] = &[
    // body and transport
    "malformed",
    "invalid_fields",
    "content_type",
    "too_large",
    "timeout",
    "overloaded",
    // any request over its client's rate
    "rate_limited",
    // the payment's own fields
    "wrong_network",
    "out_of_range",
    "fee_too_low",
    "duplicate_nullifier",
    "bad_ext_data",
    "bad_fee_recipient",
    "ext_data_hash_mismatch",
    "bad_authorization",
    "bad_proof_encoding",
    "unknown_root",
    "proof_invalid",
    // conflicts with the state: double spends and replayed invoices
    "duplicate",
    "nullifier_spent",
    "nullifier_pending",
    "invoice_paid",
    "insufficient_public_balance",
    "insufficient_pool",
    // the node
    "mempool_full",
    "storage",
];

/// Causes of accepted payments failing before commit.
pub const FAILURE_CAUSES: &[&str] = &[
    "root_expired",
    "ledger_rules",
    "ledger_refused",
    "unapplicable",
];

/// What the node reports about itself in `zkpay_build_info`.
#[derive(Clone, Debug)]
pub struct BuildInfo {
    /// Network name.
    pub network: String,
    /// Parameter profile name.
    pub profile: String,
    /// Where the keys come from (`insecure-development` or a ceremony).
    pub keys: String,
    /// Id of the payment verifying key.
    pub payment_key_id: String,
    /// Id of the chunk verifying key.
    pub chunk_key_id: String,
}

/// Node metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Payments accepted into the mempool.
    pub accepted: IntCounter,
    /// Payments refused at submission, by reason code.
    rejected: IntCounterVec,
    /// Payments committed in a batch.
    pub payments_committed: IntCounter,
    /// Accepted payments failed before commit, by cause (`root_expired`, `ledger_rules`,
    /// `ledger_refused`, `unapplicable`).
    payments_failed: IntCounterVec,
    /// Batches committed.
    pub batches_committed: IntCounter,
    /// Batches the ledger refused or that could not be applied.
    pub batches_failed: IntCounter,
    /// Refusals by the ledger's rules: `screen` (payments found before proving) and `commit`
    /// (a proven batch refused).
    ledger_refusals: IntCounterVec,
    /// Ledger calls that failed for lack of storage or connectivity (nothing was refused).
    pub ledger_errors: IntCounter,
    /// Writes of the node's own storage that failed.
    pub storage_failures: IntCounter,
    /// 1 while the node's storage works, 0 while it is failing (payments refused with 503).
    pub storage_healthy: IntGauge,
    /// Time from receiving a payment to answering it, by outcome (`accepted`, `rejected`).
    ingest_seconds: HistogramVec,
    /// Time to verify proofs, by mode: `single` (a group of one) or `group` (several at once).
    verify_seconds: HistogramVec,
    /// Proofs per verification group.
    pub verify_group_size: Histogram,
    /// Time to prove one chunk.
    pub chunk_prove_seconds: Histogram,
    /// Time to prove every chunk of a batch.
    pub batch_prove_seconds: Histogram,
    /// Time the ledger takes to check and commit a batch.
    pub ledger_commit_seconds: Histogram,
    /// Payments waiting in the mempool.
    pub mempool_payments: IntGauge,
    /// Bytes of payments waiting in the mempool (as stored).
    pub mempool_bytes: IntGauge,
    /// Age of the oldest waiting payment (0 when none waits).
    pub mempool_oldest_age_seconds: Gauge,
    /// Payments in the batch being proven or committed now.
    pub proving_payments: IntGauge,
    /// Chunk proofs of the batch being proven now.
    pub proving_chunks: IntGauge,
    /// Batches of waiting payments not yet taken by the prover (⌈waiting / batch size⌉).
    pub proving_backlog_batches: IntGauge,
    /// Number of the ledger's last committed batch.
    pub last_batch: IntGauge,
    /// Unix time at which this node last saw a batch committed (its start, before the first).
    pub last_batch_timestamp_seconds: Gauge,
    /// Seconds since `last_batch_timestamp_seconds`, at the time of the scrape.
    pub last_batch_age_seconds: Gauge,
    /// The configured batch timeout (the batcher's interval).
    pub batch_timeout_seconds: Gauge,
    /// The configured mempool cap, in payments.
    pub mempool_max_payments: IntGauge,
    /// The configured mempool cap, in bytes.
    pub mempool_max_bytes: IntGauge,
    build_info: IntGaugeVec,
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

macro_rules! reg {
    ($r:expr, $m:expr) => {{
        let m = $m?;
        $r.register(Box::new(m.clone()))?;
        m
    }};
}

impl Metrics {
    /// A fresh registry with every metric at zero. Fails only if a definition of this module is
    /// invalid (a test builds it).
    pub fn new() -> Result<Self, prometheus::Error> {
        let r = Registry::new();
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        let fgauge = |name: &str, help: &str| Gauge::with_opts(Opts::new(name, help));
        let hist = |name: &str, help: &str, b: Vec<f64>| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(b))
        };
        let hist_vec = |name: &str, help: &str, labels: &[&str], b: Vec<f64>| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(b), labels)
        };
        let m = Self {
            accepted: reg!(
                r,
                counter(
                    "zkpay_payments_accepted_total",
                    "Payments accepted into the mempool."
                )
            ),
            rejected: reg!(
                r,
                counter_vec(
                    "zkpay_payments_rejected_total",
                    "Payments refused at submission, by reason code.",
                    &["reason"]
                )
            ),
            payments_committed: reg!(
                r,
                counter(
                    "zkpay_payments_committed_total",
                    "Payments committed to the ledger."
                )
            ),
            payments_failed: reg!(
                r,
                counter_vec(
                    "zkpay_payments_failed_total",
                    "Accepted payments failed before commit, by cause.",
                    &["cause"]
                )
            ),
            batches_committed: reg!(
                r,
                counter(
                    "zkpay_batches_committed_total",
                    "Batches committed to the ledger."
                )
            ),
            batches_failed: reg!(
                r,
                counter(
                    "zkpay_batches_failed_total",
                    "Batches the ledger refused or that could not be applied."
                )
            ),
            ledger_refusals: reg!(
                r,
                counter_vec(
                    "zkpay_ledger_refusals_total",
                    "Refusals by the ledger's rules: screen (before proving) or commit (a proven batch).",
                    &["stage"]
                )
            ),
            ledger_errors: reg!(
                r,
                counter(
                    "zkpay_ledger_errors_total",
                    "Ledger calls that failed without a verdict (storage, connectivity)."
                )
            ),
            storage_failures: reg!(
                r,
                counter(
                    "zkpay_storage_failures_total",
                    "Writes of the node's own storage that failed."
                )
            ),
            storage_healthy: reg!(
                r,
                gauge(
                    "zkpay_storage_healthy",
                    "1 while the node's storage works; 0 while payments are refused for it."
                )
            ),
            ingest_seconds: reg!(
                r,
                hist_vec(
                    "zkpay_ingest_duration_seconds",
                    "Time from receiving a payment to answering it, by outcome.",
                    &["outcome"],
                    fast_buckets()?
                )
            ),
            verify_seconds: reg!(
                r,
                hist_vec(
                    "zkpay_verify_duration_seconds",
                    "Time to verify payment proofs, by mode (single or group).",
                    &["mode"],
                    fast_buckets()?
                )
            ),
            verify_group_size: reg!(
                r,
                hist(
                    "zkpay_verify_group_size",
                    "Proofs verified together in one group.",
                    vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]
                )
            ),
            chunk_prove_seconds: reg!(
                r,
                hist(
                    "zkpay_chunk_prove_duration_seconds",
                    "Time to prove one batch chunk.",
                    slow_buckets()?
                )
            ),
            batch_prove_seconds: reg!(
                r,
                hist(
                    "zkpay_batch_prove_duration_seconds",
                    "Time to prove every chunk of a batch.",
                    slow_buckets()?
                )
            ),
            ledger_commit_seconds: reg!(
                r,
                hist(
                    "zkpay_ledger_commit_duration_seconds",
                    "Time the ledger takes to check and commit a batch.",
                    slow_buckets()?
                )
            ),
            mempool_payments: reg!(
                r,
                gauge(
                    "zkpay_mempool_payments",
                    "Payments waiting in the mempool."
                )
            ),
            mempool_bytes: reg!(
                r,
                gauge(
                    "zkpay_mempool_bytes",
                    "Bytes of payments waiting in the mempool."
                )
            ),
            mempool_oldest_age_seconds: reg!(
                r,
                fgauge(
                    "zkpay_mempool_oldest_age_seconds",
                    "Age of the oldest waiting payment (0 when none waits)."
                )
            ),
            proving_payments: reg!(
                r,
                gauge(
                    "zkpay_proving_payments",
                    "Payments in the batch being proven or committed now."
                )
            ),
            proving_chunks: reg!(
                r,
                gauge(
                    "zkpay_proving_chunks",
                    "Chunk proofs of the batch being proven now."
                )
            ),
            proving_backlog_batches: reg!(
                r,
                gauge(
                    "zkpay_proving_backlog_batches",
                    "Batches of waiting payments not yet taken by the prover."
                )
            ),
            last_batch: reg!(
                r,
                gauge(
                    "zkpay_last_batch",
                    "Number of the ledger's last committed batch."
                )
            ),
            last_batch_timestamp_seconds: reg!(
                r,
                fgauge(
                    "zkpay_last_batch_timestamp_seconds",
                    "Unix time at which this node last saw a batch committed (its start before the first)."
                )
            ),
            last_batch_age_seconds: reg!(
                r,
                fgauge(
                    "zkpay_last_batch_age_seconds",
                    "Seconds since zkpay_last_batch_timestamp_seconds."
                )
            ),
            batch_timeout_seconds: reg!(
                r,
                fgauge(
                    "zkpay_batch_timeout_seconds",
                    "Configured time after its first payment at which a batch closes."
                )
            ),
            mempool_max_payments: reg!(
                r,
                gauge(
                    "zkpay_mempool_max_payments",
                    "Configured mempool cap in payments (503 mempool_full beyond it)."
                )
            ),
            mempool_max_bytes: reg!(
                r,
                gauge(
                    "zkpay_mempool_max_bytes",
                    "Configured mempool cap in bytes (503 mempool_full beyond it)."
                )
            ),
            build_info: reg!(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "zkpay_build_info",
                        "Version, network, profile and key ids of this node (value 1)."
                    ),
                    &[
                        "version",
                        "network",
                        "profile",
                        "keys",
                        "payment_key_id",
                        "chunk_key_id"
                    ]
                )
            ),
            registry: r,
        };
        for r in REJECTION_REASONS {
            m.rejected.with_label_values(&[r]);
        }
        for c in FAILURE_CAUSES {
            m.payments_failed.with_label_values(&[c]);
        }
        for stage in ["screen", "commit"] {
            m.ledger_refusals.with_label_values(&[stage]);
        }
        for outcome in ["accepted", "rejected"] {
            m.ingest_seconds.with_label_values(&[outcome]);
        }
        for mode in ["single", "group"] {
            m.verify_seconds.with_label_values(&[mode]);
        }
        m.storage_healthy.set(1);
        m.last_batch_timestamp_seconds.set(now_unix());
        // process_* series (memory, CPU, open files) of this process
        #[cfg(target_os = "linux")]
        {
            m.registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        Ok(m)
    }

    /// Sets `zkpay_build_info`.
    pub fn set_build_info(&self, b: &BuildInfo) {
        self.build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                &b.network,
                &b.profile,
                &b.keys,
                &b.payment_key_id,
                &b.chunk_key_id,
            ])
            .set(1);
    }

    /// Counts one rejection.
    pub fn reject(&self, reason: &str) {
        self.rejected.with_label_values(&[reason]).inc();
    }

    /// Rejections counted for `reason`.
    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected.with_label_values(&[reason]).get()
    }

    /// Counts `n` accepted payments failed for `cause`.
    pub fn fail_payments(&self, cause: &str, n: u64) {
        self.payments_failed.with_label_values(&[cause]).inc_by(n);
    }

    /// Accepted payments failed, all causes.
    pub fn payments_failed(&self) -> u64 {
        self.payments_failed
            .collect()
            .iter()
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }

    /// Counts one refusal by the ledger's rules at `stage` (`screen` or `commit`).
    pub fn ledger_refusal(&self, stage: &str, n: u64) {
        self.ledger_refusals.with_label_values(&[stage]).inc_by(n);
    }

    /// Records how long a payment took to answer.
    pub fn observe_ingest(&self, accepted: bool, d: Duration) {
        let outcome = if accepted { "accepted" } else { "rejected" };
        self.ingest_seconds
            .with_label_values(&[outcome])
            .observe(d.as_secs_f64());
    }

    /// Records a verification of `n` proofs that took `d`.
    pub fn observe_verify(&self, n: usize, d: Duration) {
        let mode = if n <= 1 { "single" } else { "group" };
        self.verify_seconds
            .with_label_values(&[mode])
            .observe(d.as_secs_f64());
        self.verify_group_size.observe(n as f64);
    }

    /// Marks a batch committed now.
    pub fn batch_committed(&self, number: u64) {
        self.last_batch.set(number.min(i64::MAX as u64) as i64);
        self.last_batch_timestamp_seconds.set(now_unix());
    }

    /// The text exposition, after refreshing the time-dependent gauges.
    pub fn render(&self) -> String {
        self.last_batch_age_seconds
            .set((now_unix() - self.last_batch_timestamp_seconds.get()).max(0.0));
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_once() {
        let m = Metrics::new().unwrap();
        m.reject("proof_invalid");
        m.fail_payments("root_expired", 2);
        m.ledger_refusal("screen", 1);
        m.observe_ingest(true, Duration::from_millis(3));
        m.observe_verify(4, Duration::from_millis(2));
        let text = m.render();
        for name in [
            "zkpay_payments_accepted_total",
            "zkpay_payments_rejected_total{reason=\"proof_invalid\"} 1",
            "zkpay_payments_failed_total{cause=\"root_expired\"} 2",
            "zkpay_ledger_refusals_total{stage=\"screen\"} 1",
            "zkpay_ingest_duration_seconds_bucket{outcome=\"accepted\"",
            "zkpay_verify_duration_seconds_count{mode=\"group\"} 1",
            "zkpay_storage_healthy 1",
            "zkpay_last_batch_age_seconds",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert_eq!(m.payments_failed(), 2);
        assert_eq!(m.rejected("proof_invalid"), 1);
        assert_eq!(m.rejected("other"), 0);
    }
}
