//! Node configuration (flags and environment, see `zkpay-node --help`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::{Asset, AssetId};
use zkpay_protocol::payment::PublicAccount;

pub use zkpay_protocol::batch::Profile;

/// Which base ledger the node commits to.
#[derive(Clone, Debug, Default)]
pub enum LedgerChoice {
    /// The embedded RocksDB ledger in `<data dir>/ledger` (the default).
    #[default]
    Embedded,
    /// A `ZkPayRollup` contract on an EVM chain.
    Evm(EvmSettings),
}

/// How the node reaches its rollup contract.
#[derive(Clone, Debug)]
pub struct EvmSettings {
    /// JSON-RPC endpoint.
    pub rpc: String,
    /// The contract's address (`0x` + 40 hex digits).
    pub contract: String,
    /// File holding the hex secret key of the sequencer account (the contract's sequencer).
    pub signer_key_file: PathBuf,
    /// Blocks a batch must be buried under before it counts as committed.
    pub confirmations: u64,
}

/// Everything the node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Data directory (keys, ledger, mempool).
    pub data_dir: PathBuf,
    /// HTTP bind address (127.0.0.1 by default).
    pub bind: SocketAddr,
    /// Network.
    pub network: Network,
    /// Parameter profile.
    pub profile: Profile,
    /// Base ledger (embedded by default).
    pub ledger: LedgerChoice,
    /// Parameters directory of a ceremony (`zkpay-setup export`); required on test and main.
    /// `None`: the development keys (dev network only).
    pub params: Option<PathBuf>,
    /// SHA-256 (hex) of the parameters directory's manifest.json as the network publishes it;
    /// required with `params` on test and main.
    pub params_sha256: Option<String>,
    /// Close a batch at this many payments.
    pub batch_size: usize,
    /// ... or this long after its first payment.
    pub batch_timeout: Duration,
    /// Public account credited with fees; `None`: the account of the key in
    /// `<data dir>/operator-account.key`, created on first start.
    pub operator: Option<PublicAccount>,
    /// Largest request body.
    pub max_body: usize,
    /// Payments admitted to proof verification at once (global limit; beyond it, 503).
    pub verify_queue: usize,
    /// Threads verifying proofs.
    pub verify_workers: usize,
    /// Most proofs verified together in one group.
    pub verify_group: usize,
    /// Longest time to receive a request's line and headers.
    pub header_timeout: Duration,
    /// Longest time for a whole request, body included (408 beyond it).
    pub request_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections from one source address.
    pub max_connections_per_client: usize,
    /// Requests per second one source address may make on average (0: no limit; beyond it,
    /// 429 `rate_limited`).
    pub client_requests_per_second: u32,
    /// Requests one source address may make at once above that average.
    pub client_request_burst: u32,
    /// Recent note roots payments may be proven against.
    pub recent_roots: usize,
    /// Most payments waiting in the mempool (beyond it, 503 `mempool_full`).
    pub mempool_max_payments: usize,
    /// Most bytes of payments (as stored) waiting in the mempool.
    pub mempool_max_bytes: usize,
    /// Smallest fee per asset, in base units (assets not listed: 0).
    pub min_fees: Vec<(Asset, u64)>,
}

impl NodeConfig {
    /// The smallest fee a payment of `asset` must pay.
    pub fn min_fee(&self, asset: &AssetId) -> u64 {
        self.min_fees
            .iter()
            .find(|(a, _)| a.id() == *asset)
            .map(|(_, f)| *f)
            .unwrap_or(0)
    }
}

impl NodeConfig {
    /// Where the node's Groth16 keys come from, as `/v1/info` and `zkpay_build_info` report
    /// it: `ceremony` or `insecure-development` (the public seed).
    pub fn keys_origin(&self) -> &'static str {
        if self.params.is_some() {
            "ceremony"
        } else {
            "insecure-development"
        }
    }

    /// Defaults for `data_dir`.
    pub fn new(data_dir: PathBuf, profile: Profile) -> Self {
        Self {
            data_dir,
            bind: SocketAddr::from(([127, 0, 0, 1], 8717)),
            network: Network::Dev,
            profile,
            ledger: LedgerChoice::Embedded,
            params: None,
            params_sha256: None,
            batch_size: 8,
            batch_timeout: Duration::from_secs(2),
            operator: None,
            max_body: 64 * 1024,
            verify_queue: 256,
            verify_workers: 2,
            verify_group: 64,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 64,
            client_requests_per_second: 100,
            client_request_burst: 200,
            recent_roots: 128,
            mempool_max_payments: 100_000,
            mempool_max_bytes: 512 << 20,
            min_fees: Vec::new(),
        }
    }
}
