//! The HTTP server loop. `axum::serve` installs no timer, so hyper's header-read timeout never
//! fires and a client that sends its headers slowly holds a connection forever. This loop serves
//! each connection with HTTP/1.1, a header-read timeout, a cap on open connections in all and
//! per client (source address), so that one client holding its share cannot keep others out,
//! and a graceful drain on shutdown.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection limits.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// Longest time to receive a request line and headers.
    pub header_timeout: Duration,
    /// Most open connections; further ones are closed at once.
    pub max_connections: usize,
    /// Most open connections from one source address; further ones are closed at once.
    pub max_connections_per_client: usize,
    /// Longest wait for open connections to finish after shutdown begins.
    pub drain: Duration,
}

impl ServeLimits {
    /// The limits of a node configuration.
    pub fn of(c: &crate::NodeConfig) -> Self {
        Self {
            header_timeout: c.header_timeout,
            max_connections: c.max_connections,
            max_connections_per_client: c.max_connections_per_client,
            drain: Duration::from_secs(30),
        }
    }
}

/// Open connections per source address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of a client; its count drops with it.
struct ClientSlot {
    clients: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    /// Takes a slot for `ip` unless it already has `max` connections open.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.clients.0.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits (at
/// most `limits.drain`) for open requests to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(PerClient::default());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // e.g. out of file descriptors: wait instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = clients.take(peer.ip(), limits.max_connections_per_client) else {
            tracing::warn!(client = %peer.ip(), "per-client connection limit reached; closing a new connection");
            continue;
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.drain) => {
            tracing::warn!("connections still open after the drain period");
        }
    }
}
