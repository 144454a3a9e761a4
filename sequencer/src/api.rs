//! HTTP API (axum). Errors are JSON `{"error": <reason code>, "message": ...}` with 400
//! (malformed), 413 (too large), 415 (content type), 422 (invalid), 409 (conflict), 503
//! (overloaded or storage). Every rejection is counted in `/metrics`.

use crate::ingest::VerifyPool;
use crate::node::{InvoiceStatus, NoteEntry, PaymentStatus};
use crate::node::{Node, Rejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use utoipa::ToSchema;
use zkpay_ledger::PaymentSubmission;
use zkpay_protocol::account::DebitDomain;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::field::{fe_from_hex, fe_to_bytes, fe_to_hex};
use zkpay_protocol::note::Asset;
use zkpay_protocol::note::Root;
use zkpay_protocol::payment::{PaymentPublic, PublicAccount};
use zkpay_verifier::batch::ChainState;

/// Every error body: a reason code (counted in `/metrics` for payments) and a message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Reason code, e.g. `proof_invalid`, `nullifier_spent`, `malformed`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

/// `status` of a freshly accepted payment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pending {
    /// Stored in the mempool, waiting for a batch.
    Pending,
}

/// Answer to an accepted payment (202).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// Payment id: 64 lower-case hex digits.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub id: String,
    /// Always `pending`.
    pub status: Pending,
}

/// A payment's status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentStatusResponse {
    /// Payment id.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub id: String,
    /// Where it stands.
    pub payment: PaymentStatus,
}

/// A page of committed notes for wallet sync.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotesPage {
    /// Notes by leaf position.
    pub notes: Vec<NoteEntry>,
    /// Position to ask for next (`null` when the page is empty).
    pub next: Option<u64>,
}

/// The committed head and the recent note roots payments may be proven against.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Roots {
    /// Last committed batch (0: genesis).
    pub batch: u64,
    /// Its hash (64 hex digits).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub batch_hash: String,
    /// Note root after it.
    pub note_root: Root,
    /// Nullifier root after it.
    pub nullifier_root: Root,
    /// Notes in the tree.
    pub note_cursor: u64,
    /// Nullifiers in the tree.
    pub nullifier_cursor: u64,
    /// Note roots a payment may be proven against, newest last.
    pub recent_note_roots: Vec<Root>,
}

/// One payment of a committed batch, with the notes it created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchEntry {
    /// Payment id.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub id: String,
    /// Its public inputs.
    pub public: PaymentPublic,
    /// Its invoice tag, when it pays an invoice.
    #[schema(pattern = "^0x[0-9a-f]{64}$")]
    pub invoice_tag: Option<String>,
    /// The two notes it created.
    pub notes: Option<Vec<NoteEntry>>,
}

/// A committed batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    /// Batch number (1, 2, ...).
    pub number: u64,
    /// Hash of the previous batch.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub parent: String,
    /// Hash of this batch.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
    /// Payment ids, in order.
    pub payments: Vec<String>,
    /// Each payment with its notes.
    pub entries: Vec<BatchEntry>,
    /// Public side of every chunk proof.
    pub chunks: Vec<BatchPublic>,
    /// Rollup state after the batch.
    pub state: ChainState,
}

/// Health of the node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Whether the node accepts payments.
    pub ok: bool,
    /// `ok` or `failing` (durable writes fail; payments refused with 503 until they work).
    pub storage: String,
    /// Payments waiting.
    pub mempool: usize,
}

/// Mempool caps.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MempoolLimits {
    /// Most payments waiting (beyond: 503 `mempool_full`).
    pub max_payments: usize,
    /// Most bytes of waiting payments.
    pub max_bytes: usize,
}

/// What wallets need to know about the node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Info {
    /// Network.
    pub network: Network,
    /// Note-tree depth.
    pub tree_depth: usize,
    /// Payments per chunk proof.
    pub chunk_slots: usize,
    /// Account credited with fees.
    pub operator: PublicAccount,
    /// The EIP-712 domain a deposit's debit signature must be for: the ledger's (an EVM
    /// chain's id and the rollup contract, or the embedded ledger's).
    pub debit_domain: DebitDomain,
    /// Id of the payment verifying key wallets must prove for.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub payment_key_id: String,
    /// Where the keys come from: `ceremony` (a verified trusted setup, `--params`) or
    /// `insecure-development` (the public development seed; anyone can forge; dev only).
    pub keys: String,
    /// Smallest fee per asset, in base units as decimal strings (assets not listed: 0).
    pub min_fees: BTreeMap<String, String>,
    /// Mempool caps.
    pub mempool: MempoolLimits,
    /// Largest request body, bytes.
    pub max_body: usize,
    /// Node version.
    pub version: String,
}

/// A public account's balance in one asset, in base units as decimal strings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    /// The account.
    pub account: PublicAccount,
    /// The asset (`USD`, `EUR`, ... or `SYM.D`).
    pub asset: String,
    /// Balance on the ledger.
    #[schema(pattern = "^[0-9]+$")]
    pub balance: String,
    /// Debited by deposits waiting in the mempool.
    #[schema(pattern = "^[0-9]+$")]
    pub reserved: String,
    /// Balance less reserved.
    #[schema(pattern = "^[0-9]+$")]
    pub available: String,
}

/// A faucet credit's result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FaucetCredit {
    /// The account.
    pub account: PublicAccount,
    /// The asset.
    pub asset: String,
    /// New balance.
    #[schema(pattern = "^[0-9]+$")]
    pub balance: String,
}

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
            Some(node.metrics.clone()),
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
        Json(ApiError {
            error: code.to_string(),
            message: message.to_string(),
        }),
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
    let started = std::time::Instant::now();
    let ingest = req.method() == axum::http::Method::POST && req.uri().path() == "/v1/payments";
    let r = limited(&s, req, next).await;
    if ingest {
        // from the request's head to the answer: the body's arrival, checks, verification and
        // the durable write, timeouts included
        s.node
            .metrics
            .observe_ingest(r.status() == StatusCode::ACCEPTED, started.elapsed());
    }
    r
}

async fn limited(s: &AppState, req: Request, next: Next) -> Response {
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

/// Submit a proven payment. Cheap checks first (network, ranges, ext data hash, proof encoding,
/// conflicts), then proof verification behind one global limit, then a synced write to the
/// mempool: 202 means durably stored.
#[utoipa::path(post, path = "/v1/payments", tag = "payments",
    request_body(content = PaymentSubmission, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted and durably stored", body = Accepted),
        (status = 400, description = "Not well-formed JSON (`malformed`)", body = ApiError),
        (status = 409, description = "duplicate, nullifier_spent, nullifier_pending, invoice_paid, insufficient_public_balance, insufficient_pool", body = ApiError),
        (status = 415, description = "Content-Type is not application/json", body = ApiError),
        (status = 422, description = "invalid_fields, wrong_network, out_of_range, fee_too_low, duplicate_nullifier, bad_ext_data, bad_fee_recipient, ext_data_hash_mismatch, bad_authorization, bad_proof_encoding, unknown_root, proof_invalid", body = ApiError),
        (status = 503, description = "overloaded (verification limit), mempool_full (count or bytes) or storage (cannot persist)", body = ApiError),
    ))]
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
                Json(Accepted {
                    id: hex::encode(id),
                    status: Pending::Pending,
                }),
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

/// Status of a payment.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Payment id, 64 lower-case hex digits")),
    responses(
        (status = 200, description = "Status", body = PaymentStatusResponse),
        (status = 400, description = "Bad id", body = ApiError),
        (status = 404, description = "Unknown payment", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
async fn payment_status(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_id",
            "payment id is 64 lower-case hex digits",
        );
    };
    match s.node.status(&id) {
        Ok(Some(st)) => Json(PaymentStatusResponse {
            id: hex::encode(id),
            payment: st,
        })
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "unknown_payment", "no such payment"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

/// Query of `/v1/notes`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotesQuery {
    /// First leaf position (default 0).
    #[param(minimum = 0)]
    from: Option<i64>,
    /// Most notes (default 1000, at most 1000).
    #[param(minimum = 0, maximum = 1000)]
    limit: Option<i64>,
}

/// Committed notes for wallet sync, by leaf position.
#[utoipa::path(get, path = "/v1/notes", tag = "sync", params(NotesQuery),
    responses(
        (status = 200, description = "Notes and the next position to ask for", body = NotesPage),
        (status = 400, description = "Bad query", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
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
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(1000));
    if from < 0 || !(0..=1000).contains(&limit) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "from is at least 0 and limit is 0 to 1000",
        );
    }
    let notes = match s.node.notes(from as u64, limit as usize) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    };
    let next = notes.last().map(|n| n.position + 1);
    Json(NotesPage { notes, next }).into_response()
}

/// The committed head and the recent note roots payments may use.
#[utoipa::path(get, path = "/v1/roots", tag = "sync",
    responses(
        (status = 200, description = "Head", body = Roots),
        (status = 503, description = "Starting", body = ApiError),
    ))]
async fn roots(State(s): State<AppState>) -> Response {
    match s.node.head() {
        Some((head, recent)) => Json(Roots {
            batch: head.number,
            batch_hash: hex::encode(head.hash),
            note_root: head.state.note_root,
            nullifier_root: head.state.nullifier_root,
            note_cursor: head.state.note_cursor,
            nullifier_cursor: head.state.nullifier_cursor,
            recent_note_roots: recent,
        })
        .into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "starting", "no head yet"),
    }
}

/// A committed batch.
#[utoipa::path(get, path = "/v1/batches/{n}", tag = "ledger",
    params(("n" = u64, Path, description = "Batch number")),
    responses(
        (status = 200, description = "Batch", body = BatchView),
        (status = 400, description = "Bad number", body = ApiError),
        (status = 404, description = "Unknown batch", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
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
            let notes = match s.node.batch_notes(n) {
                Ok(n) => n,
                Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
            };
            let entries: Vec<_> = b
                .payments
                .iter()
                .enumerate()
                .map(|(i, p)| BatchEntry {
                    id: hex::encode(p.id()),
                    public: p.public.clone(),
                    invoice_tag: p.public.invoice().map(|t| fe_to_hex(&t)),
                    notes: notes.get(2 * i..2 * i + 2).map(|n| n.to_vec()),
                })
                .collect();
            Json(BatchView {
                number: b.number,
                parent: hex::encode(b.parent),
                hash: hex::encode(b.hash),
                payments: b.payments.iter().map(|p| hex::encode(p.id())).collect(),
                entries,
                chunks: b.chunks.iter().map(|c| c.public).collect(),
                state: b.state,
            })
            .into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "unknown_batch", "no such batch"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

/// Whether an invoice tag is paid, and by which payment.
#[utoipa::path(get, path = "/v1/invoices/{tag}", tag = "payments",
    params(("tag" = String, Path, pattern = "^0x[0-9a-f]{64}$", description = "Invoice tag: 0x and 64 lower-case hex digits")),
    responses(
        (status = 200, description = "Invoice; `paid` is true once the paying batch is committed", body = InvoiceStatus),
        (status = 400, description = "Bad tag", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
async fn invoice(State(s): State<AppState>, Path(tag): Path<String>) -> Response {
    match fe_from_hex(&tag) {
        Ok(t) => match s.node.invoice(&fe_to_bytes(&t)) {
            Ok(st) => Json(st).into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
        },
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_tag", e),
    }
}

/// Liveness and storage health.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Storage failing: payments are refused", body = Health),
    ))]
async fn health(State(s): State<AppState>) -> Response {
    let failing = s.node.storage_failing();
    let body = Json(Health {
        ok: !failing,
        storage: if failing { "failing" } else { "ok" }.into(),
        mempool: s.node.mempool_len(),
    });
    if failing {
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    }
    body.into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 description of this API", body = Object)))]
async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics in the text exposition format 0.0.4.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Text exposition format", body = String, content_type = "text/plain")))]
async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.node.render_metrics(),
    )
        .into_response()
}

/// Network, parameters, operator account, fees, limits and the payment verifying key id
/// wallets must prove for.
#[utoipa::path(get, path = "/v1/info", tag = "operations",
    responses((status = 200, description = "Info", body = Info)))]
async fn info(State(s): State<AppState>) -> Response {
    let c = s.node.config();
    let params = c.profile.params();
    Json(Info {
        network: c.network,
        tree_depth: params.depth,
        chunk_slots: params.slots,
        operator: s.node.operator(),
        debit_domain: s.node.ledger().debit_domain(),
        payment_key_id: s.node.payment_verifier().key_id().to_hex(),
        keys: c.keys_origin().into(),
        min_fees: c
            .min_fees
            .iter()
            .map(|(a, f)| (a.to_text(), f.to_string()))
            .collect(),
        mempool: MempoolLimits {
            max_payments: c.mempool_max_payments,
            max_bytes: c.mempool_max_bytes,
        },
        max_body: c.max_body,
        version: env!("CARGO_PKG_VERSION").into(),
    })
    .into_response()
}

/// Query of `/v1/accounts/{name}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetQuery {
    /// Asset: `USD`, `EUR`, ... or `SYM.D` (symbol and decimals).
    #[param(pattern = "^[A-Z][A-Z0-9-]{0,15}(\\.(1[0-8]|[0-9]))?$")]
    asset: String,
}

/// Public account balance in one asset.
#[utoipa::path(get, path = "/v1/accounts/{name}", tag = "ledger",
    params(("name" = String, Path, pattern = "^0x[0-9a-f]{40}$", description = "Public account"), AssetQuery),
    responses(
        (status = 200, description = "Balance", body = Balance),
        (status = 400, description = "Bad account or asset", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
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
            Json(Balance {
                account,
                asset: asset.to_text(),
                balance: b.to_string(),
                reserved: reserved.to_string(),
                available: b.saturating_sub(reserved).to_string(),
            })
            .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

/// A faucet request (dev network only).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaucetRequest {
    /// Account to credit.
    account: PublicAccount,
    /// Asset: `USD`, `EUR`, ... or `SYM.D` (symbol and decimals).
    #[schema(pattern = "^[A-Z][A-Z0-9-]{0,15}(\\.(1[0-8]|[0-9]))?$")]
    asset: String,
    /// Base units, 1 to 10^12.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_u64)]
    amount: u64,
}

/// Development faucet: credits a public account. Only on the dev network.
#[utoipa::path(post, path = "/v1/dev/faucet", tag = "ledger",
    request_body(content = FaucetRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "New balance", body = FaucetCredit),
        (status = 400, description = "Not well-formed JSON", body = ApiError),
        (status = 404, description = "Not the dev network", body = ApiError),
        (status = 415, description = "Content type", body = ApiError),
        (status = 422, description = "Bad asset, amount or fields", body = ApiError),
        (status = 503, description = "Storage", body = ApiError),
    ))]
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
            Ok(b) => Json(FaucetCredit {
                account: r.account,
                asset: asset.to_text(),
                balance: b.to_string(),
            })
            .into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
        },
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "storage", e),
    }
}

/// The API description, generated from the handlers above and the types they answer with.
/// [`crate::openapi::document`] adds what the middleware answers on every route.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "zkpay node",
        description = "Shielded payments: submission, status, wallet sync and ledger queries. \
                       Errors are {\"error\": reason code, \"message\": text}; every refused \
                       payment is counted in /metrics by reason."
    ),
    paths(
        submit,
        payment_status,
        invoice,
        notes,
        roots,
        batch,
        account,
        faucet,
        info,
        health,
        metrics,
        openapi
    ),
    tags(
        (name = "payments", description = "Submitting payments and following them"),
        (name = "sync", description = "What wallets read to find their notes and prove"),
        (name = "ledger", description = "The base ledger's batches and public accounts"),
        (name = "operations", description = "Health, metrics, parameters and this document")
    )
)]
pub struct ApiDoc;

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
