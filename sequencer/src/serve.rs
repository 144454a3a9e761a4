//! The HTTP server loop. `axum::serve` installs no timer, so hyper's header-read timeout never
//! fires and a client that sends its headers slowly holds a connection forever. This loop serves
//! each connection with HTTP/1.1, a header-read timeout, a cap on open connections, and a
//! graceful drain on shutdown.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
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
    /// Longest wait for open connections to finish after shutdown begins.
    pub drain: Duration,
}

impl ServeLimits {
    /// The limits of a node configuration.
    pub fn of(c: &crate::NodeConfig) -> Self {
        Self {
            header_timeout: c.header_timeout,
            max_connections: c.max_connections,
            drain: Duration::from_secs(30),
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
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
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
