//! The HTTP server loop. `axum::serve` installs no timer, so hyper's header-read timeout never
//! fires and a client that sends its headers slowly holds a connection forever. This loop serves
//! each connection with HTTP/1.1, a header-read timeout, a cap on open connections in all and
//! per client (source address), so that one client holding its share cannot keep others out, a
//! request rate per client (a token bucket: beyond it, 429 `rate_limited` with `Retry-After`),
//! and a graceful drain on shutdown.

use crate::metrics::Metrics;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Connection and request-rate limits.
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// Longest time to receive a request line and headers.
    pub header_timeout: Duration,
    /// Most open connections; further ones are closed at once.
    pub max_connections: usize,
    /// Most open connections from one source address; further ones are closed at once.
    pub max_connections_per_client: usize,
    /// Requests per second one source address may make on average (0: no limit).
    pub client_requests_per_second: u32,
    /// Requests one source address may make at once, above the average.
    pub client_request_burst: u32,
    /// Longest wait for open connections to finish after shutdown begins.
    pub drain: Duration,
    /// Where refusals for the rate are counted (`rate_limited`).
    pub metrics: Option<Arc<Metrics>>,
}

impl ServeLimits {
    /// The limits of a node configuration.
    pub fn of(c: &crate::NodeConfig) -> Self {
        Self {
            header_timeout: c.header_timeout,
            max_connections: c.max_connections,
            max_connections_per_client: c.max_connections_per_client,
            client_requests_per_second: c.client_requests_per_second,
            client_request_burst: c.client_request_burst,
            drain: Duration::from_secs(30),
            metrics: None,
        }
    }
}

/// One client's token bucket.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Request rate per source address: a token bucket of `burst` tokens refilled at `rate` a
/// second; a request takes one token.
struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// Most clients tracked before idle (full) buckets are forgotten.
const MAX_TRACKED_CLIENTS: usize = 65_536;

impl RateLimiter {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`; `Err(seconds until the next token)` when there is none.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut m) = self.buckets.lock() else {
            return Ok(());
        };
        if m.len() >= MAX_TRACKED_CLIENTS && !m.contains_key(&ip) {
            // a full bucket carries no state: forget those (idle clients)
            let (rate, burst) = (self.rate, self.burst);
            m.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let b = m.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(b.last).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate))
        }
    }
}

/// The 429 answer to a client over its rate.
fn rate_limited(retry: Duration) -> Response<Body> {
    let secs = retry.as_secs_f64().ceil().max(1.0) as u64;
    let body = serde_json::json!({
        "error": "rate_limited",
        "message": format!("too many requests from this address; retry in {secs} s"),
    });
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
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
    let rates = Arc::new(RateLimiter::new(
        limits.client_requests_per_second,
        limits.client_request_burst,
    ));
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
        let ip = peer.ip();
        let (app, rates, metrics) = (app.clone(), rates.clone(), limits.metrics.clone());
        let service = tower::service_fn(move |req: Request<hyper::body::Incoming>| {
            let (app, rates, metrics) = (app.clone(), rates.clone(), metrics.clone());
            async move {
                if let Err(retry) = rates.take(ip, Instant::now()) {
                    if let Some(m) = &metrics {
                        m.reject("rate_limited");
                    }
                    return Ok::<_, std::convert::Infallible>(rate_limited(retry));
                }
                app.oneshot(req.map(Body::new)).await
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
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
