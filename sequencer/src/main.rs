//! `zkpay-node`: the zkpay sequencer.

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use zkpay_protocol::address::Network;
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::{batcher, serve, Node, NodeConfig, Profile};

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines; colours only when stderr is a terminal.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Full,
    Test,
}

#[derive(Parser)]
#[command(name = "zkpay-node", version, about = "zkpay sequencer node")]
struct Args {
    /// Data directory (keys, ledger, mempool).
    #[arg(long, env = "ZKPAY_DATA_DIR", default_value = ".zkpay-data/node")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "ZKPAY_BIND", default_value = "127.0.0.1:8717")]
    bind: SocketAddr,
    /// Network: main, test or dev. Only dev runs today: its proving keys come from a public
    /// seed (INSECURE: anyone can forge proofs); test and main need keys from a verified
    /// ceremony and refuse to start without them.
    /// Required: there is no default, so an operator never runs an open dev faucet by mistake.
    #[arg(long, env = "ZKPAY_NETWORK")]
    network: String,
    /// Parameter profile: full (2^32 leaves, chunks of 8) or test (small).
    #[arg(long, env = "ZKPAY_PROFILE", value_enum, default_value = "full")]
    profile: ProfileArg,
    /// Close a batch at this many payments.
    #[arg(long, env = "ZKPAY_BATCH_SIZE", default_value_t = 8)]
    batch_size: usize,
    /// Close a batch this many milliseconds after its first payment.
    #[arg(long, env = "ZKPAY_BATCH_TIMEOUT_MS", default_value_t = 2000)]
    batch_timeout_ms: u64,
    /// Public account (0x + 40 hex digits) credited with fees; by default the account of the
    /// key in <data dir>/operator-account.key, created on first start.
    #[arg(long, env = "ZKPAY_OPERATOR")]
    operator: Option<String>,
    /// Most payments waiting in the mempool (beyond it, 503 mempool_full).
    #[arg(long, env = "ZKPAY_MEMPOOL_MAX_PAYMENTS", default_value_t = 100_000)]
    mempool_max_payments: usize,
    /// Most bytes of payments waiting in the mempool.
    #[arg(long, env = "ZKPAY_MEMPOOL_MAX_BYTES", default_value_t = 512 << 20)]
    mempool_max_bytes: usize,
    /// Smallest fee of an asset, as ASSET=AMOUNT in the asset's units (e.g. USD=0.01);
    /// repeat for several assets. Assets not named: no minimum.
    #[arg(long = "min-fee", env = "ZKPAY_MIN_FEES", value_delimiter = ',')]
    min_fees: Vec<String>,
    /// Log format on stderr: text (colours only on a terminal) or json.
    #[arg(long, env = "ZKPAY_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Most open connections from one source address (the node serves 1024 in all).
    #[arg(long, env = "ZKPAY_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    max_connections_per_client: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    // arkworks instruments every gadget operation with INFO spans (target "gr1cs"); enabling
    // them formats every variable and makes a Groth16 setup take minutes instead of seconds.
    let a = Args::parse();
    let filter = format!(
        "{},gr1cs=off",
        std::env::var("ZKPAY_LOG").unwrap_or_else(|_| "info".into())
    );
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| "info,gr1cs=off".into()),
        )
        .with_writer(std::io::stderr);
    match a.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
    }
    let profile = match a.profile {
        ProfileArg::Full => Profile::Full,
        ProfileArg::Test => Profile::Test,
    };
    let mut config = NodeConfig::new(a.data_dir, profile);
    config.bind = a.bind;
    config.network = Network::from_name(&a.network).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be positive");
    config.batch_size = a.batch_size;
    config.batch_timeout = Duration::from_millis(a.batch_timeout_ms);
    anyhow::ensure!(
        a.max_connections_per_client > 0,
        "--max-connections-per-client must be positive"
    );
    config.max_connections_per_client = a.max_connections_per_client;
    anyhow::ensure!(
        a.mempool_max_payments > 0 && a.mempool_max_bytes > 0,
        "the mempool limits must be positive"
    );
    config.mempool_max_payments = a.mempool_max_payments;
    config.mempool_max_bytes = a.mempool_max_bytes;
    for f in &a.min_fees {
        let (asset, amount) = f
            .split_once('=')
            .with_context(|| format!("--min-fee {f:?}: expected ASSET=AMOUNT"))?;
        let asset = zkpay_protocol::note::Asset::from_text(asset)
            .map_err(|e| anyhow::anyhow!("--min-fee {f:?}: {e}"))?;
        let fee = zkpay_protocol::uri::parse_amount(amount, asset.decimals)
            .map_err(|e| anyhow::anyhow!("--min-fee {f:?}: {e}"))?;
        config.min_fees.push((asset, fee));
    }
    config.operator = a
        .operator
        .as_deref()
        .map(zkpay_protocol::payment::PublicAccount::new)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--operator: {e}"))?;
    let node = tokio::task::spawn_blocking(move || Node::open(config))
        .await?
        .context("node failed to start")?;
    let state = AppState::new(node.clone());
    let stop = Arc::new(Notify::new());
    let batcher = tokio::spawn(batcher::run(node.clone(), state.wake.clone(), stop.clone()));
    // Install the signal handlers before announcing readiness, so a SIGTERM that arrives right
    // after start drains instead of killing the process.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    let listener = tokio::net::TcpListener::bind(node.config().bind)
        .await
        .with_context(|| format!("cannot listen on {}", node.config().bind))?;
    tracing::info!(addr = %listener.local_addr()?, "zkpay-node listening");
    println!("listening on {}", listener.local_addr()?);
    let limits = serve::ServeLimits::of(node.config());
    serve::serve(listener, router(state), limits, async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: no new payments, finishing the current batch");
    })
    .await;
    stop.notify_one();
    let _ = batcher.await;
    Ok(())
}
