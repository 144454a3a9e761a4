//! The batcher: closes a batch at `batch_size` payments or `batch_timeout` after the oldest one,
//! proves and commits it on the blocking pool.

use crate::node::Node;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Runs until `stop` is notified; finishes the batch in progress first.
pub async fn run(node: Arc<Node>, wake: Arc<Notify>, stop: Arc<Notify>) {
    let size = node.config().batch_size;
    let timeout = node.config().batch_timeout;
    loop {
        if node.storage_failing() {
            node.probe_storage();
        }
        let due =
            node.mempool_len() >= size || node.oldest_pending_age().is_some_and(|a| a >= timeout);
        if due {
            let n = node.clone();
            match tokio::task::spawn_blocking(move || n.run_batch_once()).await {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => tracing::error!(error = %e, "batch failed; retrying in 1 s"),
                Err(e) => tracing::error!(error = %e, "batch task panicked; retrying in 1 s"),
            }
            // back off after a failure (the payments stay pending)
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = stop.notified() => return,
            }
        }
        let wait = node
            .oldest_pending_age()
            .map(|a| timeout.saturating_sub(a))
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(20));
        let wait = if node.storage_failing() {
            wait.min(Duration::from_secs(1))
        } else {
            wait
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.notified() => return,
        }
    }
}
