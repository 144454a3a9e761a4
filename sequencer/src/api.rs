//! HTTP API (axum). Errors are JSON `{"error": <reason code>, "message": ...}` with 400
//! (malformed), 413 (too large), 415 (content type), 422 (invalid), 409 (conflict), 503
//! (overloaded or storage). Every rejection is counted in `/metrics`.

use crate::ingest::VerifyPool;
use crate::node::{Node, Rejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use zkpay_protocol::field::{fe_from_hex, fe_to_bytes, fe_to_hex};
use zkpay_protocol::note::Asset;
use zkpay_protocol::payment::PublicAccount;
use zkpay_verifier::ledger::PaymentSubmission;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The node.
    pub node: Arc<Node>,
    /// Global admission limit: payments between decoding and the verdict of their proof. When
    /// it is exhausted for 250 ms the request is shed with 503.
    pub verify: Arc<Semaphore>,
    /// The verification pool (proofs arriving together are verified together).
    pub pool: Arc<VerifyPool>,
    /// Wakes the batcher.
    pub wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// State for `node`, with the limits of its configuration.
    pub fn new(node: Arc<Node>) -> Self {
        let c = node.config();
        let pool = VerifyPool::start(
            node.payment_verifier().clone(),
            c.verify_workers,
            c.verify_group,
        );
        Self {
            verify: Arc::new(Semaphore::new(c.verify_queue)),
            pool,
            wake: Arc::new(tokio::sync::Notify::new()),
            node,
        }
    }
}

fn error(status: StatusCode, code: &str, message: impl ToString) -> Response {
    (
        status,
        Json(json!({"error": code, "message": message.to_string()})),
    )
        .into_response()
}

fn rejection(r: Rejection) -> Response {
    match r {
        Rejection::Invalid(c, m) => error(StatusCode::UNPROCESSABLE_ENTITY, c, m),
        Rejection::Conflict(c, m) => error(StatusCode::CONFLICT, c, m),
        Rejection::Unavailable(c, m) => error(StatusCode::SERVICE_UNAVAILABLE, c, m),
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    let max_body = state.node.config().max_body;
    Router::new()
        .route("/v1/payments", post(submit))
        .route("/v1/payments/{id}", get(payment_status))
        .route("/v1/notes", get(notes))
        .route("/v1/roots", get(roots))
        .route("/v1/batches/{n}", get(batch))
        .route("/v1/invoices/{tag}", get(invoice))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/info", get(info))
        .route("/v1/accounts/{name}", get(account))
        .route("/v1/dev/faucet", post(faucet))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
        .with_state(state)
}

/// Refuses a declared body over the limit before reading it (413), and answers 408 when a
/// request (a slow body included) takes longer than the request timeout.
async fn limits(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let c = s.node.config();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > c.max_body as u64) {
        s.node.metrics.reject("too_large");
        // the unread body makes the connection unusable
        return closing(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("body over {} bytes", c.max_body),
        ));
    }
    match tokio::time::timeout(c.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            s.node.metrics.reject("timeout");
            closing(error(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "request not completed in time",
            ))
        }
    }
}

/// Deepest nesting of arrays and objects a request body may have.
pub const MAX_JSON_DEPTH: usize = 128;

/// Whether `json` opens more than `max` arrays or objects at once (brackets inside strings do
/// not count). A linear scan, so a deeply nested body is refused before any parser sees it.
fn nesting_deeper_than(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Why a JSON body was refused: its status, reason code and message.
#[derive(Debug)]
pub struct BodyError(StatusCode, &'static str, String);

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        error(self.0, self.1, self.2)
    }
}

/// A JSON body decoded by one rule: a wrong content type is 415; a body that is not
/// well-formed JSON (syntax, encoding, truncation, nesting deeper than 128) is 400 `malformed`;
/// well-formed JSON that does not fit the schema (unknown, missing, duplicate or wrongly typed
/// fields, wrong counts) is 422 `invalid_fields`.
pub struct StrictJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = BodyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || v.starts_with("application/json;")
            });
        if !json_type {
            return Err(BodyError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                "expected Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let status = e.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "malformed"
                };
                BodyError(status, code, e.body_text())
            })?;
        // well-formedness first, whatever the schema (serde_json skips ignored values without
        // a depth limit, so the nesting is checked by a scan first)
        if nesting_deeper_than(&bytes, MAX_JSON_DEPTH) {
            return Err(BodyError(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("JSON nested deeper than {MAX_JSON_DEPTH}"),
            ));
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|e| {
            BodyError(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("not JSON: {e}"),
            )
        })?;
        serde_json::from_slice::<T>(&bytes)
            .map(StrictJson)
            .map_err(|e| {
                BodyError(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_fields",
                    e.to_string(),
                )
            })
    }
}

/// Asks the client to close the connection after `r`.
fn closing(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn submit(
    State(s): State<AppState>,
    body: Result<StrictJson<PaymentSubmission>, BodyError>,
) -> Response {
    let sub = match body {
        Ok(StrictJson(sub)) => sub,
        Err(BodyError(status, code, message)) => {
            s.node.metrics.reject(code);
            return error(status, code, message);
        }
    };
    // the global verification limit: wait briefly for a slot, then shed load
    let permit =
        match tokio::time::timeout(Duration::from_millis(250), s.verify.clone().acquire_owned())
            .await
        {
            Ok(Ok(p)) => p,
            _ => {
                s.node.metrics.reject("overloaded");
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "verification capacity exhausted",
                );
            }
        };
    let (proof, id) = match s.node.check(&sub) {
        Ok(x) => x,
        Err(r) => return rejection(r),
    };
    if !s.pool.verify(proof, sub.public.public_inputs()).await {
        return rejection(s.node.proof_invalid());
    }
    drop(permit);
    let node = s.node.clone();
    match tokio::task::spawn_blocking(move || node.accept(sub, id)).await {
        Ok(Ok(id)) => {
            s.wake.notify_one();
            (
                StatusCode::ACCEPTED,
                Json(json!({"id": hex::encode(id), "status": "pending"})),
            )
                .into_response()
        }
        Ok(Err(r)) => rejection(r),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "internal", e),
    }
}

fn parse_id(s: &str) -> Option<[u8; 32]> {
    zkpay_protocol::field::hex_strict(s).ok()?.try_into().ok()
}

async fn payment_status(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_id",
            "payment id is 64 lower-case hex digits",
        );
    };
    match s.node.status(&id) {
        Some(st) => Json(json!({"id": hex::encode(id), "payment": st})).into_response(),
        None => error(StatusCode::NOT_FOUND, "unknown_payment", "no such payment"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotesQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn notes(
    State(s): State<AppState>,
    q: Result<Query<NotesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "from and limit are integers",
        );
    };
    let limit = q.limit.unwrap_or(1000).min(1000);
    let notes = s.node.notes(q.from.unwrap_or(0), limit);
    let next = notes.last().map(|n| n.position + 1);
    Json(json!({"notes": notes, "next": next})).into_response()
}

async fn roots(State(s): State<AppState>) -> Response {
    match s.node.head() {
        Some((head, recent)) => Json(json!({
            "batch": head.number,
            "batch_hash": hex::encode(head.hash),
            "note_root": head.state.note_root,
            "nullifier_root": head.state.nullifier_root,
            "note_cursor": head.state.note_cursor,
            "nullifier_cursor": head.state.nullifier_cursor,
            "recent_note_roots": recent,
        }))
        .into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "starting", "no head yet"),
    }
}

async fn batch(State(s): State<AppState>, Path(n): Path<String>) -> Response {
    let Ok(n) = n.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_number",
            "batch number is a decimal integer",
        );
    };
    match s.node.batch(n) {
        Ok(Some(b)) => {
            let notes = s.node.batch_notes(n);
            let entries: Vec<_> = b
                .payments
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    json!({
                        "id": hex::encode(p.id()),
                        "public": p.public,
                        "invoice_tag": p.public.invoice().map(|t| fe_to_hex(&t)),
                        "notes": notes.get(2 * i..2 * i + 2),
                    })
                })
                .collect();
            Json(json!({
                "number": b.number,
                "parent": hex::encode(b.parent),
                "hash": hex::encode(b.hash),
                "payments": b.payments.iter().map(|p| hex::encode(p.id())).collect::<Vec<_>>(),
                "entries": entries,
                "chunks": b.chunks.iter().map(|c| c.public).collect::<Vec<_>>(),
                "state": b.state,
            }))
            .into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "unknown_batch", "no such batch"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

async fn invoice(State(s): State<AppState>, Path(tag): Path<String>) -> Response {
    match fe_from_hex(&tag) {
        Ok(t) => Json(s.node.invoice(&fe_to_bytes(&t))).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_tag", e),
    }
}

async fn health(State(s): State<AppState>) -> Response {
    if s.node.storage_failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ok": false, "storage": "failing", "mempool": s.node.mempool_len()})),
        )
            .into_response();
    }
    Json(json!({"ok": true, "storage": "ok", "mempool": s.node.mempool_len()})).into_response()
}

async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.node.metrics.render(s.node.mempool_len()),
    )
        .into_response()
}

async fn info(State(s): State<AppState>) -> Response {
    let c = s.node.config();
    let params = c.profile.params();
    Json(json!({
        "network": c.network,
        "tree_depth": params.depth,
        "chunk_slots": params.slots,
        "operator": s.node.operator(),
        "payment_key_id": s.node.payment_verifier().key_id().to_hex(),
        "keys": "insecure-development",
        "min_fees": c
            .min_fees
            .iter()
            .map(|(a, f)| (a.to_text(), f.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "mempool": {"max_payments": c.mempool_max_payments, "max_bytes": c.mempool_max_bytes},
        "max_body": c.max_body,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetQuery {
    asset: String,
}

async fn account(
    State(s): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<AssetQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "bad_query", "asset is required");
    };
    let (account, asset) = match (PublicAccount::new(&name), Asset::from_text(&q.asset)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, "bad_account", e),
    };
    match s.node.ledger().balance(&account, &asset.id()) {
        Ok(b) => {
            let reserved = s.node.reserved_debits(&account, &asset.id());
            Json(json!({
                "account": account,
                "asset": asset.to_text(),
                "balance": b.to_string(),
                "reserved": reserved.to_string(),
                "available": b.saturating_sub(reserved).to_string(),
            }))
            .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaucetRequest {
    account: PublicAccount,
    asset: String,
    amount: u64,
}

/// Development faucet: credits a public account. Only on the dev network.
async fn faucet(
    State(s): State<AppState>,
    body: Result<StrictJson<FaucetRequest>, BodyError>,
) -> Response {
    if s.node.config().network != zkpay_protocol::address::Network::Dev {
        return error(
            StatusCode::NOT_FOUND,
            "no_faucet",
            "the faucet exists only on dev",
        );
    }
    let r = match body {
        Ok(StrictJson(r)) => r,
        Err(BodyError(status, code, message)) => return error(status, code, message),
    };
    let asset = match Asset::from_text(&r.asset) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, "bad_asset", e),
    };
    if r.amount == 0 || r.amount > 1_000_000_000_000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_amount",
            "faucet amount is 1..=10^12 base units",
        );
    }
    match s.node.ledger().faucet(&r.account, &asset.id(), r.amount) {
        Ok(()) => match s.node.ledger().balance(&r.account, &asset.id()) {
            Ok(b) => Json(
                json!({"account": r.account, "asset": asset.to_text(), "balance": b.to_string()}),
            )
            .into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
        },
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

#[cfg(test)]
mod tests {
    use super::nesting_deeper_than;

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert!(!nesting_deeper_than(br#"{"a":[1,{"b":"[[[[[["}]}"#, 3));
        assert!(nesting_deeper_than(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!nesting_deeper_than(br#"{"a":"\"[[[[\\"}"#, 1));
        assert!(nesting_deeper_than(&[b'['; 200], 128));
        assert!(!nesting_deeper_than(&[b'['; 128], 128));
    }
}
