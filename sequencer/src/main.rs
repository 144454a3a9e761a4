//! `zkpay-node`: the zkpay sequencer.

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use zkpay_protocol::address::Network;
use zkpay_sequencer::api::{router, AppState};
use zkpay_sequencer::config::{EvmSettings, LedgerChoice};
use zkpay_sequencer::{batcher, serve, Node, NodeConfig, Profile};

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines; colours only when stderr is a terminal.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LedgerArg {
    /// The embedded RocksDB ledger in the data directory.
    Embedded,
    /// A ZkPayRollup contract on an EVM chain (--rpc, --contract, --signer-key-file).
    Evm,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Full,
    Test,
}

#[derive(Parser)]
#[command(
    name = "zkpay-node",
    version,
    about = "zkpay sequencer node",
    after_help = "Every setting can also come from a TOML file (--config): its keys are the long \
                  flag names (batch-size = 8). A flag on the command line wins over its \
                  environment variable, which wins over the file, which wins over the default."
)]
struct Args {
    /// Configuration file (TOML; keys are the long flag names, e.g. `batch-size = 8`).
    #[arg(long, env = "ZKPAY_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML (a valid --config file) and exit.
    #[arg(long)]
    print_config: bool,
    /// Data directory (keys, ledger, mempool).
    #[arg(long, env = "ZKPAY_DATA_DIR", default_value = ".zkpay-data/node")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "ZKPAY_BIND", default_value = "127.0.0.1:8717")]
    bind: SocketAddr,
    /// Network: main, test or dev. Test and main run only on keys from a verified ceremony
    /// (--params) and refuse to start without them; dev without --params uses keys from a
    /// public seed (INSECURE: anyone can forge proofs).
    /// Required: there is no default, so an operator never runs an open dev faucet by mistake.
    #[arg(long, env = "ZKPAY_NETWORK")]
    network: String,
    /// Parameters directory of a verified trusted-setup ceremony (`zkpay-setup export`): its
    /// manifest.json pins each circuit's shape id, key id, transcript hash and key-file hash.
    /// Required on test and main; without it, dev runs on the INSECURE development keys.
    #[arg(long, env = "ZKPAY_PARAMS")]
    params: Option<PathBuf>,
    /// SHA-256 of the parameters directory's manifest.json as the network publishes it: the
    /// node refuses a manifest that differs. Required with --params on test and main.
    #[arg(long, env = "ZKPAY_PARAMS_SHA256")]
    params_sha256: Option<String>,
    /// Base ledger: embedded (RocksDB in the data directory) or evm (a ZkPayRollup contract,
    /// deployed with `zkpay-evm deploy`; the node then rebuilds its state from the contract's
    /// events).
    #[arg(long, env = "ZKPAY_LEDGER", value_enum, default_value = "embedded")]
    ledger: LedgerArg,
    /// With --ledger evm: the chain's JSON-RPC endpoint.
    #[arg(long, env = "ZKPAY_RPC")]
    rpc: Option<String>,
    /// With --ledger evm: the rollup contract's address.
    #[arg(long, env = "ZKPAY_CONTRACT")]
    contract: Option<String>,
    /// With --ledger evm: file holding the sequencer account's secret key (0x + 64 hex digits),
    /// the account the contract accepts batches from.
    #[arg(long, env = "ZKPAY_SIGNER_KEY_FILE")]
    signer_key_file: Option<PathBuf>,
    /// With --ledger evm: blocks a batch must be buried under before it counts as committed
    /// (a batch removed by a reorganisation before then is sent again). Default: 1 on dev,
    /// 12 on test and main.
    #[arg(long, env = "ZKPAY_CONFIRMATIONS")]
    confirmations: Option<u64>,
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
    /// Requests per second one source address may make on average (0: no limit); beyond it,
    /// 429 rate_limited with Retry-After.
    #[arg(long, env = "ZKPAY_CLIENT_REQUESTS_PER_SECOND", default_value_t = 100)]
    client_requests_per_second: u32,
    /// Requests one source address may make at once, above its average rate.
    #[arg(long, env = "ZKPAY_CLIENT_REQUEST_BURST", default_value_t = 200)]
    client_request_burst: u32,
    /// Log filter (tracing's EnvFilter syntax, e.g. info,zkpay_sequencer=debug).
    #[arg(long, env = "ZKPAY_LOG", default_value = "info")]
    log_filter: String,
    /// Most open connections in all.
    #[arg(long, env = "ZKPAY_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Most open connections from one source address.
    #[arg(long, env = "ZKPAY_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    max_connections_per_client: usize,
    /// Largest request body, in bytes (413 beyond it).
    #[arg(long, env = "ZKPAY_MAX_BODY", default_value_t = 64 * 1024)]
    max_body: usize,
    /// Longest time to receive a request's line and headers, in milliseconds.
    #[arg(long, env = "ZKPAY_HEADER_TIMEOUT_MS", default_value_t = 5000)]
    header_timeout_ms: u64,
    /// Longest time for a whole request, body included, in milliseconds (408 beyond it).
    #[arg(long, env = "ZKPAY_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Payments admitted to proof verification at once (beyond it, 503 overloaded).
    #[arg(long, env = "ZKPAY_VERIFY_QUEUE", default_value_t = 256)]
    verify_queue: usize,
    /// Threads verifying payment proofs.
    #[arg(long, env = "ZKPAY_VERIFY_WORKERS", default_value_t = 2)]
    verify_workers: usize,
    /// Most payment proofs verified together in one group.
    #[arg(long, env = "ZKPAY_VERIFY_GROUP", default_value_t = 64)]
    verify_group: usize,
}

/// Settings that are not configuration: they never come from, nor go to, a file.
const NOT_SETTINGS: [&str; 4] = ["config", "print_config", "help", "version"];

/// Reads the command line, the environment and the `--config` file, in that order of
/// precedence: a file's value is used only where neither a flag nor an environment variable
/// gave one.
fn parse_args() -> Result<(Args, clap::ArgMatches)> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // first pass, nothing required: only to find the file and what the user set elsewhere
    let mut loose = Args::command();
    let ids: Vec<String> = loose
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in &ids {
        loose = loose.mut_arg(id.as_str(), |a| a.required(false));
    }
    let first = match loose.try_get_matches_from(&argv) {
        Ok(m) => m,
        // --help, --version and flag errors: clap's own message and exit code
        Err(e) => e.exit(),
    };
    let mut full = argv.clone();
    if let Some(path) = first.get_one::<PathBuf>("config") {
        let extra = file_args(path, &first)?;
        full.splice(1..1, extra);
    }
    let matches = match Args::command().try_get_matches_from(&full) {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let args = Args::from_arg_matches(&matches).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((args, matches))
}

/// The flags a configuration file stands for, leaving out settings the command line or the
/// environment already gave.
fn file_args(path: &Path, given: &clap::ArgMatches) -> Result<Vec<OsString>> {
    use clap::parser::ValueSource;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let cmd = Args::command();
    let mut out = Vec::new();
    for (key, value) in &table {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .filter(|a| !NOT_SETTINGS.contains(&a.get_id().as_str()));
        let Some(arg) = arg else {
            let known: Vec<_> = settings(&cmd).filter_map(|a| a.get_long()).collect();
            anyhow::bail!(
                "{}: unknown setting `{key}` (settings: {})",
                path.display(),
                known.join(", ")
            );
        };
        if matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let scalar = |v: &toml::Value| -> Result<String> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                _ => anyhow::bail!("{}: `{key}` must be a string or an integer", path.display()),
            }
        };
        let values = match value {
            toml::Value::Array(items) if is_list(arg) => {
                items.iter().map(scalar).collect::<Result<Vec<_>>>()?
            }
            v => vec![scalar(v)?],
        };
        for v in values {
            out.push(OsString::from(format!("--{key}={v}")));
        }
    }
    Ok(out)
}

fn settings(cmd: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments()
        .filter(|a| !NOT_SETTINGS.contains(&a.get_id().as_str()))
}

fn is_list(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.max_values() > 1) || arg.get_value_delimiter().is_some()
}

/// `text` in lines of at most `width` characters, broken between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The effective configuration as a TOML file, each setting with its help and environment
/// variable.
fn print_config(matches: &clap::ArgMatches) -> String {
    use clap::builder::ValueParser;
    let cmd = Args::command();
    let integer = [
        ValueParser::from(clap::value_parser!(u64)).type_id(),
        ValueParser::from(clap::value_parser!(usize)).type_id(),
    ];
    let mut out = String::from(
        "# zkpay-node configuration (zkpay-node --config FILE). Keys are the long flag names;\n\
         # a flag wins over its environment variable, which wins over this file.\n",
    );
    for arg in settings(&cmd) {
        let Some(long) = arg.get_long() else { continue };
        out.push('\n');
        if let Some(help) = arg.get_help() {
            for line in wrap(&help.to_string(), 96) {
                out.push_str(&format!("# {line}\n"));
            }
        }
        if let Some(env) = arg.get_env() {
            out.push_str(&format!("# environment: {}\n", env.to_string_lossy()));
        }
        let values: Vec<String> = matches
            .get_raw(arg.get_id().as_str())
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let number = integer.contains(&arg.get_value_parser().type_id());
        let fmt = |v: &String| {
            if number {
                v.clone()
            } else {
                toml::Value::String(v.clone()).to_string()
            }
        };
        if is_list(arg) {
            let items: Vec<String> = values.iter().map(fmt).collect();
            out.push_str(&format!("{long} = [{}]\n", items.join(", ")));
        } else if let Some(v) = values.first() {
            out.push_str(&format!("{long} = {}\n", fmt(v)));
        } else {
            out.push_str(&format!("# {long} = (not set)\n"));
        }
    }
    out
}

#[tokio::main]
async fn main() -> Result<()> {
    // arkworks instruments every gadget operation with INFO spans (target "gr1cs"); enabling
    // them formats every variable and makes a Groth16 setup take minutes instead of seconds.
    let (a, matches) = parse_args()?;
    if a.print_config {
        print!("{}", print_config(&matches));
        return Ok(());
    }
    let filter = format!("{},gr1cs=off", a.log_filter);
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
    config.params = a.params;
    config.params_sha256 = a.params_sha256;
    config.network = Network::from_name(&a.network).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.ledger = match a.ledger {
        LedgerArg::Embedded => {
            anyhow::ensure!(
                a.rpc.is_none() && a.contract.is_none() && a.signer_key_file.is_none(),
                "--rpc, --contract and --signer-key-file go with --ledger evm"
            );
            LedgerChoice::Embedded
        }
        LedgerArg::Evm => LedgerChoice::Evm(EvmSettings {
            rpc: a.rpc.context("--ledger evm needs --rpc URL")?,
            contract: a
                .contract
                .context("--ledger evm needs --contract ADDRESS")?,
            signer_key_file: a
                .signer_key_file
                .context("--ledger evm needs --signer-key-file FILE")?,
            confirmations: match a.confirmations {
                Some(0) => anyhow::bail!("--confirmations must be positive"),
                Some(n) => n,
                None if config.network == Network::Dev => 1,
                None => 12,
            },
        }),
    };
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be positive");
    config.batch_size = a.batch_size;
    config.batch_timeout = Duration::from_millis(a.batch_timeout_ms);
    anyhow::ensure!(
        a.max_connections_per_client > 0,
        "--max-connections-per-client must be positive"
    );
    config.max_connections_per_client = a.max_connections_per_client;
    anyhow::ensure!(
        a.max_connections > 0 && a.max_body > 0,
        "--max-connections and --max-body must be positive"
    );
    config.max_connections = a.max_connections;
    anyhow::ensure!(
        a.client_request_burst > 0,
        "--client-request-burst must be positive"
    );
    config.client_requests_per_second = a.client_requests_per_second;
    config.client_request_burst = a.client_request_burst;
    config.max_body = a.max_body;
    anyhow::ensure!(
        a.header_timeout_ms > 0 && a.request_timeout_ms > 0,
        "the timeouts must be positive"
    );
    config.header_timeout = Duration::from_millis(a.header_timeout_ms);
    config.request_timeout = Duration::from_millis(a.request_timeout_ms);
    anyhow::ensure!(
        a.verify_queue > 0 && a.verify_workers > 0 && a.verify_group > 0,
        "--verify-queue, --verify-workers and --verify-group must be positive"
    );
    config.verify_queue = a.verify_queue;
    config.verify_workers = a.verify_workers;
    config.verify_group = a.verify_group;
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
    let mut limits = serve::ServeLimits::of(node.config());
    limits.metrics = Some(node.metrics.clone());
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
