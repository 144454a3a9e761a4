//! The batcher: closes a batch at `batch_size` payments or `batch_timeout` after the oldest one,
//! proves and commits it on the blocking pool.

use crate::node::Node;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Longest sleep of the batcher between two looks at the mempool and the storage.
const IDLE_TICK: Duration = Duration::from_millis(500);

/// Runs until `stop` is notified; finishes the batch in progress first.
pub async fn run(node: Arc<Node>, wake: Arc<Notify>, stop: Arc<Notify>) {
    let size = node.config().batch_size;
    let timeout = node.config().batch_timeout;
    loop {
        if node.storage_failing() {
            node.probe_storage();
        }
        let mut due =
            node.mempool_len() >= size || node.oldest_pending_age().is_some_and(|a| a >= timeout);
        if !due {
            // payments queued on the ledger for forced inclusion are due at once (asked off the
            // runtime: an EVM ledger answers over the network)
            let n = node.clone();
            due = tokio::task::spawn_blocking(move || n.forced_pending())
                .await
                .unwrap_or(0)
                > 0;
        }
        if due {
            let n = node.clone();
            match tokio::task::spawn_blocking(move || n.run_batch_once()).await {
                Ok(Ok(Some(_))) => continue,
                // nothing to commit (every payment failed, or only dead queue entries wait):
                // wait for the next tick rather than spin
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "batch failed; retrying in 1 s"),
                Err(e) => tracing::error!(error = %e, "batch task panicked; retrying in 1 s"),
            }
            // back off after a failure (the payments stay pending)
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = stop.notified() => return,
            }
        }
        // Never idle long: a write refused while idle (a full disk) marks storage failing
        // without waking the batcher, and the probe above is what lets the node recover.
        let wait = node
            .oldest_pending_age()
            .map(|a| timeout.saturating_sub(a))
            .unwrap_or(IDLE_TICK)
            .clamp(Duration::from_millis(20), IDLE_TICK);
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.notified() => return,
        }
    }
}
