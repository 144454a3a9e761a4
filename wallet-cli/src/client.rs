//! The node's HTTP API, as the wallet uses it.

use crate::WalletError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use zkpay_api::node::{InvoiceStatus, NoteEntry, PaymentStatus};
use zkpay_api::PaymentSubmission;
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::note::Root;
use zkpay_protocol::payment::PaymentPublic;
use zkpay_protocol::F;

/// A client of one node.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    agent: ureq::Agent,
}

/// `GET /v1/info`.
#[derive(Clone, Debug, Deserialize)]
pub struct NodeInfo {
    /// Network.
    pub network: Network,
    /// Note-tree depth (arity 4).
    pub tree_depth: usize,
    /// Payments per chunk.
    pub chunk_slots: usize,
    /// Operator account (receives fees).
    pub operator: String,
    /// The ledger a deposit's debit signature is for.
    pub debit_domain: zkpay_protocol::account::DebitDomain,
    /// Id of the payment verifying key.
    pub payment_key_id: String,
}

/// `GET /v1/roots`.
#[derive(Clone, Debug, Deserialize)]
pub struct Head {
    /// Last committed batch.
    pub batch: u64,
    /// Its note root.
    #[serde(with = "zkpay_protocol::field::serde_fe")]
    pub note_root: F,
    /// Recent roots payments may be proven against.
    pub recent_note_roots: Vec<Root>,
}

/// One payment of a committed batch.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchEntry {
    /// Payment id (hex).
    pub id: String,
    /// Public inputs (nullifiers, commitments, values).
    pub public: PaymentPublic,
    /// Invoice tag (hex field element).
    pub invoice_tag: Option<String>,
    /// Its two notes.
    pub notes: Vec<NoteEntry>,
}

/// `GET /v1/batches/{n}`.
#[derive(Clone, Debug, Deserialize)]
pub struct Batch {
    /// Number.
    pub number: u64,
    /// Payments with their notes.
    pub entries: Vec<BatchEntry>,
    /// Chunk public inputs.
    pub chunks: Vec<BatchPublic>,
    /// State after the batch.
    pub state: Value,
}

impl Batch {
    /// Note root after this batch.
    pub fn note_root(&self) -> Option<F> {
        self.state
            .get("note_root")
            .and_then(|v| v.as_str())
            .and_then(|s| zkpay_protocol::field::fe_from_hex(s).ok())
    }
}

impl NodeClient {
    /// A client of `base` (e.g. `http://127.0.0.1:8717`).
    pub fn new(base: &str) -> Self {
        Self::with_timeouts(base, Duration::from_secs(5), Duration::from_secs(60))
    }

    /// A client with its own connect and whole-request timeouts (a till, which must not hang
    /// on a slow node, uses short ones).
    pub fn with_timeouts(base: &str, connect: Duration, total: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(connect)
            .timeout(total)
            .build();
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The node's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn map(&self, r: Result<ureq::Response, ureq::Error>) -> Result<Value, WalletError> {
        match r {
            Ok(resp) => resp
                .into_json::<Value>()
                .map_err(|e| WalletError::Node(format!("bad answer: {e}"))),
            Err(ureq::Error::Status(status, resp)) => {
                let v: Value = resp.into_json().unwrap_or(Value::Null);
                Err(WalletError::Rejected {
                    status,
                    code: v["error"].as_str().unwrap_or("unknown").to_string(),
                    message: v["message"].as_str().unwrap_or("").to_string(),
                })
            }
            Err(ureq::Error::Transport(t)) => {
                Err(WalletError::Unreachable(format!("{}: {t}", self.base)))
            }
        }
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, WalletError> {
        let v = self.map(self.agent.get(&format!("{}{path}", self.base)).call())?;
        serde_json::from_value(v)
            .map_err(|e| WalletError::Node(format!("bad answer to {path}: {e}")))
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, WalletError> {
        self.map(
            self.agent
                .post(&format!("{}{path}", self.base))
                .send_json(body),
        )
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<NodeInfo, WalletError> {
        self.get("/v1/info")
    }

    /// `GET /v1/roots`.
    pub fn head(&self) -> Result<Head, WalletError> {
        self.get("/v1/roots")
    }

    /// `GET /v1/batches/{n}`; `None` if not committed (yet).
    pub fn batch(&self, n: u64) -> Result<Option<Batch>, WalletError> {
        match self.get(&format!("/v1/batches/{n}")) {
            Ok(b) => Ok(Some(b)),
            Err(WalletError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/payments`: returns the payment id (hex).
    pub fn submit(&self, p: &PaymentSubmission) -> Result<String, WalletError> {
        let body = serde_json::to_value(p).map_err(|e| WalletError::Node(e.to_string()))?;
        let v = self.post("/v1/payments", &body)?;
        v["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| WalletError::Node("no id in the answer".into()))
    }

    /// `GET /v1/payments/{id}`; `None` if unknown.
    pub fn status(&self, id: &str) -> Result<Option<PaymentStatus>, WalletError> {
        match self.get::<Value>(&format!("/v1/payments/{id}")) {
            Ok(v) => serde_json::from_value(v["payment"].clone())
                .map(Some)
                .map_err(|e| WalletError::Node(e.to_string())),
            Err(WalletError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/invoices/{tag}`.
    pub fn invoice(&self, tag: &F) -> Result<InvoiceStatus, WalletError> {
        self.get(&format!(
            "/v1/invoices/{}",
            zkpay_protocol::field::fe_to_hex(tag)
        ))
    }

    /// Public account balance available to new deposits (base units): the committed balance
    /// less what pending deposits reserve.
    pub fn account_balance(&self, account: &str, asset: &str) -> Result<u128, WalletError> {
        let v: Value = self.get(&format!("/v1/accounts/{account}?asset={asset}"))?;
        v["available"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WalletError::Node("bad balance".into()))
    }

    /// Development faucet.
    pub fn faucet(&self, account: &str, asset: &str, amount: u64) -> Result<u128, WalletError> {
        let v = self.post(
            "/v1/dev/faucet",
            &serde_json::json!({"account": account, "asset": asset, "amount": amount}),
        )?;
        v["balance"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WalletError::Node("bad balance".into()))
    }
}
