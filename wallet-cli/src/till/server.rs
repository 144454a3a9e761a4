//! The till's HTTP server (axum): one self-contained page (no CDN, fonts or scripts from
//! elsewhere), a JSON API under `/api`, and server-sent events that push every change.
//!
//! Safety:
//! * on an address other than loopback a token is required; the page asks for it once and
//!   gets an HTTP-only, same-site cookie;
//! * without a token (loopback only) the `Host` header must name loopback, so a page elsewhere
//!   cannot reach the till through DNS rebinding;
//! * every state-changing request needs the `X-Zkpay-Till` header and JSON, and is refused when
//!   its `Origin` or `Sec-Fetch-Site` says it came from another site;
//! * bodies are capped at 1 MiB, requests are rate-limited per client address, wrong tokens
//!   are counted per address, and event streams are capped.

use super::tls::{self, Peer, TlsListener};
use super::{lock, make_request, poll, Book, NewRequest, NodeHealth, TillStatus};
use crate::client::NodeClient;
use crate::receipt::{self, Receipt};
use crate::wallet::{now, Wallet};
use crate::{qr, WalletError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::{watch, Notify};
use zeroize::Zeroizing;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::Asset;

/// Largest request body (a receipt file is the largest thing the page sends).
pub const MAX_BODY: usize = 1 << 20;
/// Shortest token accepted.
pub const MIN_TOKEN: usize = 16;
/// Event streams open at once, in all and per client address.
const MAX_STREAMS: usize = 32;
const MAX_STREAMS_PER_CLIENT: usize = 8;
/// Per-address token bucket: capacity and refill per second; creating a request costs more.
const BUCKET: f64 = 120.0;
const REFILL: f64 = 30.0;
const CREATE_COST: f64 = 5.0;
/// Wrong tokens allowed per address per minute.
const MAX_LOGIN_FAILURES: u32 = 10;
const COOKIE: &str = "zkpay_till";

/// How `zkpay till serve` is configured.
pub struct ServeConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Access token (required on addresses other than loopback).
    pub token: Option<Zeroizing<String>>,
    /// Merchant name shown on the page and to the payer.
    pub merchant: String,
    /// Assets sold at this till.
    pub assets: Vec<Asset>,
    /// Lifetime of a request (seconds).
    pub expires_in: u64,
    /// How often the till asks the node.
    pub poll: Duration,
    /// Certificate chain and private key (PEM) to serve HTTPS with.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Plain HTTP on an address other than loopback, because a TLS-terminating proxy is in
    /// front (an explicit choice: the token and the cookie would otherwise cross the network in
    /// clear).
    pub plain_http: bool,
}

impl ServeConfig {
    /// Refuses what must not run: no token on a non-loopback address, a short token, no
    /// asset, an unsafe merchant name, a lifetime outside 1 s..7 days.
    pub fn check(&self) -> Result<(), WalletError> {
        match &self.token {
            None if !self.bind.ip().is_loopback() => {
                return Err(WalletError::Refused(format!(
                    "{} is not a loopback address: give --token-file (or --token) so that only the shop's staff can use the till",
                    self.bind
                )))
            }
            Some(_) if !self.bind.ip().is_loopback() && self.tls.is_none() && !self.plain_http => {
                return Err(WalletError::Refused(format!(
                    "{} is not a loopback address: give --tls-cert and --tls-key (or --plain-http when a TLS proxy is in front), or the token and the cookie cross the network in clear",
                    self.bind
                )))
            }
            Some(t) if t.chars().count() < MIN_TOKEN => {
                return Err(WalletError::Refused(format!(
                    "the token must have at least {MIN_TOKEN} characters"
                )))
            }
            _ => {}
        }
        if self.assets.is_empty() {
            return Err(WalletError::Refused("give at least one --asset".into()));
        }
        if super::clean_text("merchant name", &self.merchant)?.is_none() {
            return Err(WalletError::Refused(
                "give the merchant name (--merchant)".into(),
            ));
        }
        if !(1..=7 * 86_400).contains(&self.expires_in) {
            return Err(WalletError::Refused(
                "--expires-in must be between 1 second and 7 days".into(),
            ));
        }
        Ok(())
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Shared {
    merchant: String,
    assets: Vec<Asset>,
    expires_in: u64,
    poll: Duration,
    /// SHA-256 of the session cookie's value, when a token is set.
    session: Option<[u8; 32]>,
    session_cookie: Option<String>,
    loopback_only: bool,
    /// Served over TLS: the cookie is `Secure` and origins are `https://`.
    https: bool,
    wallet: Mutex<Wallet>,
    client: NodeClient,
    book: Mutex<Book>,
    health: Mutex<NodeHealth>,
    address: String,
    network: Network,
    version: watch::Sender<u64>,
    wake: Notify,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    failures: Mutex<HashMap<IpAddr, (u64, u32)>>,
    streams: Mutex<HashMap<IpAddr, usize>>,
    streams_total: AtomicUsize,
}

fn session_value(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"zkpay-till-session\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

fn sha(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn err(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": code, "message": message.into()})),
    )
        .into_response()
}

fn wallet_err(e: &WalletError) -> Response {
    match e {
        WalletError::Refused(_)
        | WalletError::Uri(_)
        | WalletError::Protocol(_)
        | WalletError::QrCapacity(_) => {
            err(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
        }
        WalletError::Unreachable(_) => {
            err(StatusCode::BAD_GATEWAY, "node_unreachable", e.to_string())
        }
        _ => err(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

fn internal() -> Response {
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the till failed to handle the request",
    )
}

impl Shared {
    fn publish(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// Everything the page shows, for a browser at UTC offset `tz_min` minutes: the day's
    /// requests and every watched one (newest first, at most 500) and the day's confirmed
    /// totals per asset over the whole book.
    fn snapshot(&self, tz_min: i64) -> Value {
        let health = lock(&self.health).clone();
        let t = now();
        let (requests, totals) = {
            let b = lock(&self.book);
            let (rows, totals) = b.day(t, tz_min, 500);
            let rows: Vec<Value> = rows.iter().map(|r| r.view()).collect();
            let totals: Vec<Value> = totals
                .iter()
                .map(|(asset, sum)| {
                    let text = match u64::try_from(*sum) {
                        Ok(v) => crate::wallet::format_in(asset, v),
                        Err(_) => format!("{sum} units of {asset}"),
                    };
                    json!({"asset": asset, "amount": sum.to_string(), "amount_text": text})
                })
                .collect();
            (rows, totals)
        };
        json!({
            "now": t, "merchant": self.merchant, "address": self.address,
            "network": self.network, "node": health, "requests": requests, "totals": totals,
        })
    }

    /// Takes `cost` from the client's bucket; false when empty.
    fn allow(&self, ip: IpAddr, cost: f64) -> bool {
        let mut m = lock(&self.buckets);
        let t = Instant::now();
        if m.len() > 4096 {
            m.retain(|_, b| t.duration_since(b.at).as_secs_f64() * REFILL < BUCKET);
        }
        let b = m.entry(ip).or_insert(Bucket {
            tokens: BUCKET,
            at: t,
        });
        b.tokens = (b.tokens + t.duration_since(b.at).as_secs_f64() * REFILL).min(BUCKET);
        b.at = t;
        if b.tokens >= cost {
            b.tokens -= cost;
            true
        } else {
            false
        }
    }

    fn authenticated(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.session else {
            return true;
        };
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|v| bool::from(sha(v).ct_eq(want)))
    }
}

/// The host part of a `Host` header (`[::1]:8720` → `[::1]`).
fn host_name(h: &str) -> &str {
    if h.starts_with('[') {
        return h.split_inclusive(']').next().unwrap_or(h);
    }
    h.rsplit_once(':').map_or(h, |(n, _)| n)
}

/// The address a client is counted under: IPv4 addresses whole, IPv6 by their /64 (one
/// machine can hold a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
    }
}

async fn guard(
    State(s): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    req: Request,
    next: Next,
) -> Response {
    let client = client_key(peer.ip());
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if s.loopback_only
        && !matches!(
            host_name(&host).to_ascii_lowercase().as_str(),
            "127.0.0.1" | "localhost" | "[::1]"
        )
    {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_host",
            "this till answers only to loopback names (127.0.0.1, localhost)",
        );
    }
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let changes_state = method != Method::GET && method != Method::HEAD;
    // A page elsewhere that the cashier's browser visits must not reach the API at all, not
    // even to read (an <img>, an EventSource or a no-cors fetch), nor change anything: browsers
    // say where a request comes from in Sec-Fetch-Site.
    if path.starts_with("/api/") || changes_state {
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            if !matches!(site, "same-origin" | "none") {
                return err(
                    StatusCode::FORBIDDEN,
                    "cross_site",
                    "request from another site",
                );
            }
        }
    }
    let cost = if method == Method::POST && path == "/api/requests" {
        CREATE_COST
    } else {
        1.0
    };
    if !s.allow(client, cost) {
        let mut r = err(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    if changes_state {
        if headers.get("x-zkpay-till").is_none() {
            return err(
                StatusCode::FORBIDDEN,
                "cross_site",
                "state-changing requests need the X-Zkpay-Till header",
            );
        }
        if let Some(o) = headers.get(header::ORIGIN) {
            let scheme = if s.https { "https" } else { "http" };
            if o.to_str().ok() != Some(format!("{scheme}://{host}").as_str()) {
                return err(
                    StatusCode::FORBIDDEN,
                    "cross_site",
                    "request from another origin",
                );
            }
        }
    }
    let open = matches!(
        path.as_str(),
        "/" | "/till.js" | "/till.css" | "/api/session" | "/api/login"
    );
    if !open && !s.authenticated(headers) {
        return err(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in with the till's token",
        );
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if path.starts_with("/api/") {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn asset_view(a: &Asset) -> Value {
    json!({"text": a.to_text(), "symbol": a.symbol, "decimals": a.decimals})
}

async fn session(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Json<Value> {
    Json(json!({
        "auth_required": s.session.is_some(),
        "authenticated": s.authenticated(&headers),
        "merchant": s.merchant,
        "network": s.network,
        "assets": s.assets.iter().map(asset_view).collect::<Vec<_>>(),
        "expires_in": s.expires_in,
    }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

async fn login(
    State(s): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Json(l): Json<Login>,
) -> Response {
    let (Some(want), Some(cookie)) = (&s.session, &s.session_cookie) else {
        return Json(json!({"ok": true})).into_response();
    };
    let client = client_key(peer.ip());
    let minute = now() / 60;
    {
        let mut f = lock(&s.failures);
        if f.len() > 4096 {
            f.retain(|_, (m, _)| *m == minute);
        }
        if matches!(f.get(&client), Some((m, n)) if *m == minute && *n >= MAX_LOGIN_FAILURES) {
            return err(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many wrong tokens; wait a minute",
            );
        }
    }
    let given = Zeroizing::new(session_value(&l.token));
    if !bool::from(sha(&given).ct_eq(want)) {
        let mut f = lock(&s.failures);
        let e = f.entry(client).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 += 1;
        return err(StatusCode::UNAUTHORIZED, "wrong_token", "wrong token");
    }
    let mut r = Json(json!({"ok": true})).into_response();
    let secure = if s.https { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000{secure}"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `?tz=MINUTES`: the browser's UTC offset, east positive (the page's local day).
#[derive(serde::Deserialize)]
struct Tz {
    #[serde(default)]
    tz: i64,
}

impl Tz {
    fn minutes(&self) -> i64 {
        self.tz.clamp(-14 * 60, 14 * 60)
    }
}

async fn state(State(s): State<Arc<Shared>>, Query(tz): Query<Tz>) -> Json<Value> {
    Json(s.snapshot(tz.minutes()))
}

async fn create(State(s): State<Arc<Shared>>, Json(req): Json<NewRequest>) -> Response {
    let s2 = s.clone();
    let made = tokio::task::spawn_blocking(move || {
        let mut w = lock(&s2.wallet);
        let mut b = lock(&s2.book);
        make_request(
            &mut w,
            &mut b,
            &s2.assets,
            &s2.merchant,
            s2.expires_in,
            &req,
        )
    })
    .await;
    match made {
        Ok(Ok(rec)) => {
            s.publish();
            s.wake.notify_one();
            (StatusCode::CREATED, Json(json!({"request": rec.view()}))).into_response()
        }
        Ok(Err(e)) => wallet_err(&e),
        Err(_) => internal(),
    }
}

async fn qr_svg(State(s): State<Arc<Shared>>, UrlPath(id): UrlPath<u64>) -> Response {
    let uri = lock(&s.book).get(id).map(|r| r.uri.clone());
    let Some(uri) = uri else {
        return err(StatusCode::NOT_FOUND, "not_found", "no such request");
    };
    match qr::render_svg(&uri) {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => wallet_err(&e),
    }
}

async fn csv(State(s): State<Arc<Shared>>) -> Response {
    let body = lock(&s.book).csv();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"till-history.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// Checks a customer's receipt against the node's committed roots; when it pays this till,
/// names the till's request it is for, and imports the note of a request the till could not
/// open (which then turns *confirmed* on the next round).
async fn verify_receipt(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: Receipt = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_receipt",
                format!("not a receipt: {e}"),
            )
        }
    };
    if r.network != s.network {
        return err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "other_network",
            format!("a receipt of {}, this till is on {}", r.network, s.network),
        );
    }
    let s2 = s.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<Value, WalletError> {
        let v = receipt::verify(&r, &s2.client)?;
        let ours = v.merchant == s2.address;
        let record = r
            .invoice
            .as_deref()
            .filter(|_| ours)
            .and_then(|inv| lock(&s2.book).by_invoice(inv).cloned());
        let mut imported = false;
        if let Some(rec) = &record {
            if rec.status == TillStatus::Unverified {
                let mut w = lock(&s2.wallet);
                receipt::import(&mut w, &r, &s2.client)?;
                imported = true;
            }
        }
        Ok(json!({
            "ok": true, "verified": v, "to_this_till": ours, "imported": imported,
            "request": record.as_ref().map(|x| json!({
                "id": x.id, "order": x.order, "invoice": x.invoice, "status": x.status,
                "already_counted": x.status == TillStatus::Confirmed,
            })),
        }))
    })
    .await;
    match done {
        Ok(Ok(v)) => {
            if v["imported"] == true {
                s.wake.notify_one();
            }
            Json(v).into_response()
        }
        Ok(Err(e @ WalletError::Unreachable(_))) => wallet_err(&e),
        Ok(Err(e)) => err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_receipt",
            e.to_string(),
        ),
        Err(_) => internal(),
    }
}

struct StreamSlot {
    s: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.s.streams_total.fetch_sub(1, Ordering::SeqCst);
        let mut m = lock(&self.s.streams);
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

async fn events(
    State(s): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Query(tz): Query<Tz>,
) -> Response {
    let tz = tz.minutes();
    let ip = client_key(peer.ip());
    {
        let mut m = lock(&s.streams);
        let mine = m.entry(ip).or_insert(0);
        if *mine >= MAX_STREAMS_PER_CLIENT || s.streams_total.load(Ordering::SeqCst) >= MAX_STREAMS
        {
            return err(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "too many open event streams",
            );
        }
        *mine += 1;
        s.streams_total.fetch_add(1, Ordering::SeqCst);
    }
    let slot = StreamSlot { s: s.clone(), ip };
    let mut rx = s.version.subscribe();
    rx.mark_unchanged();
    let stream =
        futures_util::stream::unfold((rx, slot, true), move |(mut rx, slot, first)| async move {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let ev = Event::default()
                .event("state")
                .retry(Duration::from_millis(1000))
                .data(slot.s.snapshot(tz).to_string());
            Some((Ok::<_, Infallible>(ev), (rx, slot, false)))
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}

fn page(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// The router (exposed for tests that drive it without a socket).
fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(include_str!("page/index.html"), "text/html; charset=utf-8") }),
        )
        .route(
            "/till.js",
            get(|| async {
                page(
                    include_str!("page/till.js"),
                    "text/javascript; charset=utf-8",
                )
            }),
        )
        .route(
            "/till.css",
            get(|| async { page(include_str!("page/till.css"), "text/css; charset=utf-8") }),
        )
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/state", get(state))
        .route("/api/requests", post(create))
        .route("/api/requests/{id}/qr.svg", get(qr_svg))
        .route("/api/events", get(events))
        .route("/api/history.csv", get(csv))
        .route("/api/receipts/verify", post(verify_receipt))
        .layer(middleware::from_fn_with_state(s.clone(), guard))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(s)
}

/// Runs the till on `wallet` (which must be watch-only) until SIGINT or SIGTERM. `ready` is
/// called with the bound address, and whether it serves HTTPS, once the server listens.
pub async fn serve(
    wallet: Wallet,
    client: NodeClient,
    dir: &Path,
    cfg: ServeConfig,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<(), WalletError> {
    if !wallet.watch_only() {
        return Err(WalletError::Refused(
            "a till runs only on a watch-only wallet (`zkpay init --watch <viewing key>`): the counter must never be able to spend".into(),
        ));
    }
    cfg.check()?;
    let mut book = Book::open(dir)?;
    if book.adopt(&wallet) > 0 {
        book.save()?;
    }
    book.check_against(&wallet)?;
    book.flush()?;
    let (version, _) = watch::channel(0u64);
    let session_cookie = cfg.token.as_ref().map(|t| session_value(t));
    let shared = Arc::new(Shared {
        merchant: cfg.merchant.trim().to_string(),
        assets: cfg.assets,
        expires_in: cfg.expires_in,
        poll: cfg.poll,
        session: session_cookie.as_deref().map(sha),
        session_cookie,
        loopback_only: cfg.token.is_none(),
        https: cfg.tls.is_some(),
        address: wallet.address().encode(),
        network: wallet.network(),
        wallet: Mutex::new(wallet),
        client,
        book: Mutex::new(book),
        health: Mutex::new(NodeHealth::default()),
        version,
        wake: Notify::new(),
        buckets: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
        streams: Mutex::new(HashMap::new()),
        streams_total: AtomicUsize::new(0),
    });
    let acceptor = match &cfg.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .map_err(|e| WalletError::Io(cfg.bind.to_string().into(), e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| WalletError::Io(cfg.bind.to_string().into(), e.to_string()))?;
    let watcher = tokio::spawn(watch_loop(shared.clone()));
    let app = router(shared.clone()).into_make_service_with_connect_info::<Peer>();
    let served = match acceptor {
        Some(acceptor) => {
            let tls = TlsListener::new(listener, acceptor)
                .map_err(|e| WalletError::Io(addr.to_string().into(), e.to_string()))?;
            ready(addr, true);
            axum::serve(tls, app)
                .with_graceful_shutdown(shutdown())
                .await
        }
        None => {
            ready(addr, false);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
        }
    };
    watcher.abort();
    served.map_err(|e| WalletError::Io(addr.to_string().into(), e.to_string()))
}

async fn watch_loop(s: Arc<Shared>) {
    loop {
        let s2 = s.clone();
        let changed = tokio::task::spawn_blocking(move || {
            let mut h = lock(&s2.health).clone();
            let book_changed = poll(&s2.wallet, &s2.client, &s2.book, &mut h);
            let mut g = lock(&s2.health);
            let health_changed = *g != h;
            *g = h;
            book_changed || health_changed
        })
        .await
        .unwrap_or(false);
        if changed {
            s.publish();
        }
        tokio::select! {
            _ = tokio::time::sleep(s.poll) => {}
            _ = s.wake.notified() => {}
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(host_name("127.0.0.1:8720"), "127.0.0.1");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(host_name("[::1]:8720"), "[::1]");
        assert_eq!(host_name("evil.example:80"), "evil.example");
    }

    #[test]
    fn config_refusals() {
        let ok = || ServeConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            token: None,
            merchant: "Corner Café".into(),
            assets: vec![Asset::from_text("USD").unwrap()],
            expires_in: 900,
            poll: Duration::from_secs(1),
            tls: None,
            plain_http: false,
        };
        ok().check().unwrap();
        let mut c = ok();
        c.bind = "0.0.0.0:0".parse().unwrap();
        assert!(c.check().unwrap_err().to_string().contains("--token"));
        c.token = Some(Zeroizing::new("a-long-enough-token".into()));
        assert!(c.check().unwrap_err().to_string().contains("--tls-cert"));
        c.plain_http = true;
        c.check().unwrap();
        c.plain_http = false;
        c.tls = Some(("cert.pem".into(), "key.pem".into()));
        c.check().unwrap();
        c.token = Some(Zeroizing::new("short".into()));
        assert!(c.check().unwrap_err().to_string().contains("at least"));
        let mut c = ok();
        c.assets.clear();
        assert!(c.check().is_err());
        let mut c = ok();
        c.merchant = "Shop\u{202e}evil".into();
        assert!(c.check().is_err());
        let mut c = ok();
        c.merchant = " ".into();
        assert!(c.check().is_err());
        let mut c = ok();
        c.expires_in = 0;
        assert!(c.check().is_err());
    }

    #[test]
    fn clients_are_counted_by_address_and_ipv6_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), v4);
    }

    #[test]
    fn session_cookie_is_not_the_token() {
        let v = session_value("a-long-enough-token");
        assert_eq!(v.len(), 64);
        assert!(!v.contains("a-long-enough-token"));
        assert_ne!(v, session_value("a-long-enough-tokem"));
    }
}
