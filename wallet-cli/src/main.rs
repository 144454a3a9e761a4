//! `zkpay`: the zkpay wallet command line. Exit codes: 0 ok, 1 failure, 2 usage, 3 rejected by
//! the node, 4 insufficient funds, 5 node unreachable, 6 wallet file (missing, wrong passphrase,
//! other network, watch-only), 7 unacceptable payment request (URI, QR, expired, paid).

use clap::{Parser, Subcommand};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zeroize::Zeroizing;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::Asset;
use zkpay_protocol::uri::{parse_amount, PaymentRequest};
use zkpay_wallet::client::NodeClient;
use zkpay_wallet::wallet::{format_in, SentStatus, Wallet};
use zkpay_wallet::{exit, qr, receipt, WalletError};

#[derive(Parser)]
#[command(
    name = "zkpay",
    version,
    about = "zkpay shielded wallet: pay privately by QR"
)]
struct Cli {
    /// Wallet directory (wallet file and cached proving keys).
    #[arg(
        long,
        global = true,
        env = "ZKPAY_WALLET_DIR",
        default_value = ".zkpay-data/wallet"
    )]
    data_dir: PathBuf,
    /// Node URL.
    #[arg(
        long,
        global = true,
        env = "ZKPAY_NODE",
        default_value = "http://127.0.0.1:8717"
    )]
    node: String,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Network the wallet must be on (refuses a wallet of another network).
    #[arg(long, global = true, env = "ZKPAY_NETWORK")]
    network: Option<String>,
    /// Parameters directory of the network's trusted-setup ceremony (the manifest and keys
    /// `zkpay-setup export` wrote, as the network publishes them): required on test and main,
    /// where the wallet proves only with a key whose id the manifest pins and the node serves.
    #[arg(long, global = true, env = "ZKPAY_PARAMS")]
    params: Option<PathBuf>,
    /// SHA-256 of that directory's manifest.json as the network publishes it (required with
    /// --params on test and main).
    #[arg(long, global = true, env = "ZKPAY_PARAMS_SHA256")]
    params_sha256: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a wallet (passphrase from ZKPAY_PASSPHRASE or a prompt).
    Init {
        /// Watch-only: a merchant till from a full viewing key.
        #[arg(long)]
        watch: Option<String>,
    },
    /// Show the shielded address.
    Address,
    /// Viewing keys.
    ViewingKey {
        #[command(subcommand)]
        command: ViewingKeyCommand,
    },
    /// Development faucet: credit the wallet's public account.
    Faucet {
        /// Amount, e.g. 100.00.
        #[arg(long)]
        amount: String,
        /// Asset: USD, EUR, GBP, JPY, ZKP, or SYMBOL.DECIMALS.
        #[arg(long, default_value = "USD")]
        asset: String,
    },
    /// Move funds from the public account into a shielded note.
    Deposit {
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Asset.
        #[arg(long, default_value = "USD")]
        asset: String,
        /// Wait until committed.
        #[arg(long)]
        wait: bool,
    },
    /// Download new batches and find this wallet's notes.
    Sync,
    /// Balances per asset.
    Balance,
    /// Issue a payment request (URI and QR code).
    Request {
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Asset.
        #[arg(long, default_value = "USD")]
        asset: String,
        /// Invoice id (paid once).
        #[arg(long)]
        invoice: Option<String>,
        /// Expires after this many seconds.
        #[arg(long)]
        expires_in: Option<u64>,
        /// Memo for the payer's note.
        #[arg(long)]
        memo: Option<String>,
        /// Merchant name shown to the payer.
        #[arg(long)]
        label: Option<String>,
        /// Message shown to the payer.
        #[arg(long)]
        message: Option<String>,
        /// Also write the QR code as PNG.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Also write the QR code as SVG.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Pay a request: a zkpay: URI, or --qr with an image of its QR code.
    Pay {
        /// The payment request URI.
        uri: Option<String>,
        /// Read the request from a QR image (PNG or an SVG written by `zkpay request`).
        #[arg(long)]
        qr: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Wait until committed.
        #[arg(long)]
        wait: bool,
        /// Fee for the node operator.
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// Invoices issued by this wallet.
    Invoice {
        #[command(subcommand)]
        command: InvoiceCommand,
    },
    /// Receipts.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Move shielded funds to a public account.
    Withdraw {
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Asset.
        #[arg(long, default_value = "USD")]
        asset: String,
        /// Public account (the wallet's own by default).
        #[arg(long)]
        to: Option<String>,
        /// Wait until committed.
        #[arg(long)]
        wait: bool,
    },
    /// Payments sent and notes received.
    History,
    /// The shop-counter till: a web page on a watch-only wallet.
    Till {
        #[command(subcommand)]
        command: TillCommand,
    },
}

#[derive(Subcommand)]
enum TillCommand {
    /// Serve the counter page (watch-only wallets only). Prints `till listening on http://ADDR`
    /// once it listens; stops on SIGINT or SIGTERM.
    Serve {
        /// Address to listen on; any address other than loopback needs a token.
        #[arg(long, default_value = "127.0.0.1:8720")]
        bind: std::net::SocketAddr,
        /// File holding the access token (at least 16 characters; first line).
        #[arg(long, conflicts_with = "token")]
        token_file: Option<PathBuf>,
        /// Access token (prefer --token-file: a command line is visible to other users).
        #[arg(long, env = "ZKPAY_TILL_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Merchant name shown on the page and to the customer.
        #[arg(long)]
        merchant: String,
        /// An asset sold at this till (repeat: USD, EUR, PTS.0, ...).
        #[arg(long = "asset", default_values_t = vec!["USD".to_string()])]
        assets: Vec<String>,
        /// Lifetime of a payment request, in seconds.
        #[arg(long, default_value_t = 900)]
        expires_in: u64,
        /// Certificate chain (PEM) to serve HTTPS with (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Private key (PEM) of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Plain HTTP on an address other than loopback, because a TLS-terminating proxy is in
        /// front.
        #[arg(long, conflicts_with = "tls_cert")]
        plain_http: bool,
        /// How often the till asks the node, in milliseconds.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
        poll_ms: u64,
    },
}

#[derive(Subcommand)]
enum ViewingKeyCommand {
    /// Print the full viewing key (sees incoming payments and spends; cannot spend).
    Export,
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Whether an invoice is paid (and committed).
    Status {
        /// Invoice id.
        invoice: String,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Write the receipt of a committed payment.
    Export {
        /// Payment id (or a prefix of at least 8 hex digits).
        payment: String,
        /// Output file (stdout if absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a receipt: the note opening, its Merkle path and the invoice binding are checked
    /// here; which roots are committed is read from the ledger (`--ledger`) or the node.
    Verify {
        /// Receipt file.
        file: PathBuf,
        /// The embedded ledger's database (the node's `<data dir>/ledger`), read directly
        /// instead of asking the node.
        #[arg(long)]
        ledger: Option<PathBuf>,
    },
    /// Import the note of a customer's receipt this wallet could not decrypt (after verifying
    /// it).
    Import {
        /// Receipt file.
        file: PathBuf,
        /// The embedded ledger's database, as for `verify`.
        #[arg(long)]
        ledger: Option<PathBuf>,
    },
}

/// Reads and parses a receipt file (at most 1 MiB).
fn read_receipt(file: &std::path::Path) -> Result<receipt::Receipt, Fail> {
    let bytes =
        std::fs::read(file).map_err(|e| Fail(exit::FAILURE, format!("{}: {e}", file.display())))?;
    if bytes.len() > 1 << 20 {
        return Err(Fail(exit::BAD_REQUEST, "receipt file over 1 MiB".into()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Fail(exit::BAD_REQUEST, format!("not a receipt: {e}")))
}

struct Ctx {
    dir: PathBuf,
    client: NodeClient,
    json: bool,
    network: Option<Network>,
    params: Option<PathBuf>,
    params_sha256: Option<String>,
}

/// An error with its exit code. An empty message means the command already printed its
/// outcome (a result that is not a success, such as an underpaid invoice).
struct Fail(i32, String);

impl From<WalletError> for Fail {
    fn from(e: WalletError) -> Self {
        Fail(e.exit_code(), e.to_string())
    }
}

fn usage(msg: impl Into<String>) -> Fail {
    Fail(exit::USAGE, msg.into())
}

fn passphrase(confirm: bool) -> Result<Zeroizing<String>, Fail> {
    if let Ok(p) = std::env::var("ZKPAY_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "no passphrase: set ZKPAY_PASSPHRASE or run in a terminal",
        ));
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("wallet passphrase: ")
            .map_err(|e| Fail(exit::FAILURE, e.to_string()))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ")
                .map_err(|e| Fail(exit::FAILURE, e.to_string()))?,
        );
        if *again != *p {
            return Err(usage("passphrases differ"));
        }
    }
    Ok(p)
}

fn open(ctx: &Ctx) -> Result<Wallet, Fail> {
    if !ctx.dir.is_dir() {
        return Err(WalletError::NoWallet(ctx.dir.clone()).into());
    }
    let p = passphrase(false)?;
    Ok(Wallet::open(&ctx.dir, p.as_bytes(), ctx.network)?)
}

fn asset(s: &str) -> Result<Asset, Fail> {
    Asset::from_text(s).map_err(|e| usage(e.to_string()))
}

fn amount(s: &str, a: &Asset) -> Result<u64, Fail> {
    parse_amount(s, a.decimals).map_err(|e| Fail(exit::BAD_REQUEST, e.to_string()))
}

fn out(ctx: &Ctx, v: serde_json::Value, text: impl FnOnce() -> String) {
    if ctx.json {
        println!("{v}");
    } else {
        println!("{}", text());
    }
}

fn prover(
    ctx: &Ctx,
    w: &mut Wallet,
) -> Result<(zkpay_prover::PaymentProver, zkpay_wallet::client::NodeInfo), Fail> {
    let info = w.check_node(&ctx.client)?;
    let params = ctx
        .params
        .as_deref()
        .map(|dir| (dir, ctx.params_sha256.as_deref()));
    let p = w.prover(&ctx.dir, &info, params)?;
    Ok((p, info))
}

fn sync(ctx: &Ctx, w: &mut Wallet) -> Result<u64, Fail> {
    let bar = if ctx.json {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("syncing {bar:30} {pos}/{len} batches")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let found = w.sync(&ctx.client, 16, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    Ok(found)
}

fn wait(ctx: &Ctx, w: &mut Wallet, id: &str) -> Result<u64, Fail> {
    if !ctx.json {
        eprintln!("waiting for payment {} to be committed...", &id[..16]);
    }
    Ok(w.wait(&ctx.client, id, zkpay_wallet::default_wait())?)
}

/// With `--wait`, waits until payment `id` is committed and returns its batch.
fn wait_if(ctx: &Ctx, w: &mut Wallet, wait_for: bool, id: &str) -> Result<Option<u64>, Fail> {
    wait_for.then(|| wait(ctx, w, id)).transpose()
}

/// ", committed in batch N" when there is a batch.
fn committed_in(batch: Option<u64>) -> String {
    batch
        .map(|b| format!(", committed in batch {b}"))
        .unwrap_or_default()
}

fn confirm(question: &str) -> Result<bool, Fail> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "refusing to pay without confirmation: run in a terminal or pass --yes",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Fail(exit::FAILURE, e.to_string()))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn run(cli: Cli) -> Result<(), Fail> {
    let network = match &cli.network {
        Some(n) => Some(Network::from_name(n).map_err(|e| usage(e.to_string()))?),
        None => None,
    };
    let ctx = Ctx {
        dir: cli.data_dir.clone(),
        client: NodeClient::new(&cli.node),
        json: cli.json,
        network,
        params: cli.params.clone(),
        params_sha256: cli.params_sha256.clone(),
    };
    match cli.command {
        Command::Init { watch } => {
            let network = ctx.network.unwrap_or(Network::Dev);
            if zkpay_wallet::store::Sealed::path_in(&ctx.dir).exists() {
                return Err(WalletError::Exists(ctx.dir.join("wallet.json")).into());
            }
            let p = passphrase(true)?;
            if p.is_empty() {
                return Err(usage("the passphrase must not be empty"));
            }
            let w = Wallet::create(&ctx.dir, network, p.as_bytes(), watch.as_deref())?;
            out(
                &ctx,
                json!({"ok": true, "network": network, "address": w.address().encode(), "watch_only": w.watch_only(), "account": w.account().ok()}),
                || {
                    format!(
                        "created {} wallet on {network} in {}\naddress: {}{}",
                        if w.watch_only() { "a watch-only" } else { "a" },
                        ctx.dir.display(),
                        w.address(),
                        w.account()
                            .map(|a| format!("\npublic account: {a}"))
                            .unwrap_or_default()
                    )
                },
            );
        }
        Command::Address => {
            let w = open(&ctx)?;
            out(
                &ctx,
                json!({"address": w.address().encode(), "network": w.network(), "account": w.account().ok()}),
                || w.address().encode(),
            );
        }
        Command::ViewingKey {
            command: ViewingKeyCommand::Export,
        } => {
            let w = open(&ctx)?;
            let k = Zeroizing::new(w.viewing_key());
            out(&ctx, json!({"viewing_key": *k}), || k.to_string());
        }
        Command::Faucet {
            amount: a,
            asset: s,
        } => {
            let w = open(&ctx)?;
            let asset = asset(&s)?;
            let v = amount(&a, &asset)?;
            let account = w.account()?;
            let b = ctx.client.faucet(&account.to_hex(), &asset.to_text(), v)?;
            out(
                &ctx,
                json!({"ok": true, "account": account, "asset": asset.to_text(), "balance": b.to_string()}),
                || {
                    format!(
                        "public account {account}: {}",
                        format_in(&asset.to_text(), u64::try_from(b).unwrap_or(u64::MAX))
                    )
                },
            );
        }
        Command::Deposit {
            amount: a,
            asset: s,
            wait: wt,
        } => {
            let mut w = open(&ctx)?;
            let asset = asset(&s)?;
            let v = amount(&a, &asset)?;
            let (p, info) = prover(&ctx, &mut w)?;
            let sent = w.deposit(&ctx.client, &p, &info, &asset, v, &mut rand::rngs::OsRng)?;
            let batch = wait_if(&ctx, &mut w, wt, &sent.id)?;
            out(
                &ctx,
                json!({"ok": true, "payment": sent.id, "batch": batch}),
                || format!("deposit {} accepted{}", sent.id, committed_in(batch)),
            );
        }
        Command::Sync => {
            let mut w = open(&ctx)?;
            let found = sync(&ctx, &mut w)?;
            out(
                &ctx,
                json!({"ok": true, "batch": w.synced_batch(), "new_notes": found}),
                || format!("synced to batch {}; {found} new notes", w.synced_batch()),
            );
        }
        Command::Balance => {
            let mut w = open(&ctx)?;
            sync(&ctx, &mut w)?;
            let b = w.balances();
            out(
                &ctx,
                json!({"batch": w.synced_batch(), "balances": b}),
                || {
                    if b.is_empty() {
                        return "no funds".into();
                    }
                    b.iter()
                        .map(|b| {
                            format!(
                                "{}{}",
                                b.spendable_text,
                                if b.pending > 0 {
                                    format!(
                                        " (+{} locked by pending payments)",
                                        format_in(&b.asset, b.pending)
                                    )
                                } else {
                                    String::new()
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        Command::Request {
            amount: a,
            asset: s,
            invoice,
            expires_in,
            memo,
            label,
            message,
            png,
            svg,
        } => {
            let mut w = open(&ctx)?;
            let asset = asset(&s)?;
            let v = amount(&a, &asset)?;
            if v == 0 {
                return Err(Fail(exit::BAD_REQUEST, "amount must be above zero".into()));
            }
            let mut r = PaymentRequest::new(w.address(), asset, Some(v));
            if let Some(i) = invoice {
                r.invoice = Some(i.into_bytes());
                // 128 random bits: without them nobody can link the tag to this invoice
                let mut salt = vec![0u8; zkpay_protocol::invoice::MIN_SALT];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
                r.salt = Some(salt);
            }
            r.expires = expires_in.map(|s| zkpay_wallet::wallet::now() + s);
            r.memo = memo.map(String::into_bytes);
            r.label = label;
            r.message = message;
            let uri = w.request(r)?;
            let term = qr::render_terminal(&uri)?;
            if let Some(p) = &png {
                write_file(p, &qr::render_png(&uri)?)?;
            }
            if let Some(p) = &svg {
                write_file(p, qr::render_svg(&uri)?.as_bytes())?;
            }
            out(
                &ctx,
                json!({"ok": true, "uri": uri, "png": png, "svg": svg}),
                || format!("{uri}\n{term}"),
            );
        }
        Command::Pay {
            uri,
            qr: image,
            yes,
            wait: wt,
            fee,
        } => {
            let t0 = Instant::now();
            let text = match (uri, image) {
                (Some(u), None) => u,
                (None, Some(p)) => read_qr(&p)?,
                _ => return Err(usage("give a URI or --qr IMAGE (one of them)")),
            };
            let mut w = open(&ctx)?;
            let req = PaymentRequest::parse_for(&text, w.network()).map_err(WalletError::from)?;
            let fee = amount(&fee, &req.asset)?;
            // every check before the slow proving step
            sync(&ctx, &mut w)?;
            w.precheck(&ctx.client, &req, fee)?;
            let amount_text = format_in(&req.asset.to_text(), req.amount.unwrap_or(0));
            let question = format!(
                "Pay {amount_text} to {}{}{}, fee {}, network {}?",
                req.label
                    .as_deref()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default(),
                req.address,
                req.invoice
                    .as_ref()
                    .map(|i| format!(" for invoice {:?}", String::from_utf8_lossy(i)))
                    .unwrap_or_default(),
                format_in(&req.asset.to_text(), fee),
                req.network()
            );
            if !yes && !confirm(&question)? {
                return Err(Fail(exit::FAILURE, "payment cancelled".into()));
            }
            let (p, info) = prover(&ctx, &mut w)?;
            let sent = w.pay(&ctx.client, &p, &info, &req, fee, &mut rand::rngs::OsRng)?;
            let accepted_ms = t0.elapsed().as_secs_f64() * 1e3;
            let batch = wait_if(&ctx, &mut w, wt, &sent.id)?;
            out(
                &ctx,
                json!({"ok": true, "payment": sent.id, "amount": amount_text, "to": req.address.encode(),
                       "proof_ms": w.last_proof().as_secs_f64() * 1e3, "accepted_ms": accepted_ms, "batch": batch}),
                || {
                    format!(
                        "paid {amount_text}: payment {} accepted{}",
                        sent.id,
                        committed_in(batch)
                    )
                },
            );
        }
        Command::Invoice {
            command: InvoiceCommand::Status { invoice },
        } => {
            let mut w = open(&ctx)?;
            sync(&ctx, &mut w)?;
            let r = w.invoice_report(&ctx.client, &invoice)?;
            let amount_text = format_in(&r.asset, r.amount);
            let received_text = format_in(&r.asset, r.received);
            // paid, pending and unpaid are answers; the others need the merchant's attention
            let settled = matches!(r.state, "paid" | "pending" | "unpaid");
            out(
                &ctx,
                json!({"ok": settled, "invoice": r.invoice, "status": r.state, "paid": r.state == "paid", "payment": r.payment,
                       "batch": r.batch, "amount": r.amount, "received": r.received, "received_text": received_text}),
                || {
                    match r.state {
                    "paid" => format!("invoice {invoice:?}: paid, committed in batch {}; received {received_text}", r.batch.unwrap_or(0)),
                    "pending" => format!("invoice {invoice:?}: payment accepted, not committed yet (do not hand over goods yet)"),
                    "unknown_note" => format!("invoice {invoice:?}: the node reports it paid in batch {}, but this wallet cannot open the note: ask the customer for the receipt and run `zkpay receipt import`", r.batch.unwrap_or(0)),
                    "underpaid" => format!("invoice {invoice:?}: UNDERPAID: received {received_text} of {amount_text}"),
                    "overpaid" => format!("invoice {invoice:?}: paid the wrong amount: received {received_text} for {amount_text}"),
                    "wrong_asset" => format!("invoice {invoice:?}: paid in the wrong asset"),
                    s => format!("invoice {invoice:?}: {s}"),
                }
                },
            );
            if !settled {
                return Err(Fail(exit::FAILURE, String::new()));
            }
        }
        Command::Receipt {
            command: ReceiptCommand::Export { payment, out: file },
        } => {
            let mut w = open(&ctx)?;
            sync(&ctx, &mut w)?;
            let r = receipt::export(&w, &payment)?;
            let text =
                serde_json::to_string_pretty(&r).map_err(|e| Fail(exit::FAILURE, e.to_string()))?;
            match &file {
                Some(p) => {
                    write_file(p, text.as_bytes())?;
                    out(&ctx, json!({"ok": true, "file": p}), || {
                        format!("receipt written to {}", p.display())
                    });
                }
                None => println!("{text}"),
            }
        }
        Command::Receipt {
            command: ReceiptCommand::Verify { file, ledger },
        } => {
            let r = read_receipt(&file)?;
            let src = receipt::source(ledger.as_deref(), &ctx.client)?;
            let v = receipt::verify(&r, src.as_ref())?;
            out(&ctx, json!({"ok": true, "verified": v}), || {
                format!(
                    "VALID: {} (checked against {})",
                    v.statement, v.checked_against
                )
            });
        }
        Command::Receipt {
            command: ReceiptCommand::Import { file, ledger },
        } => {
            let r = read_receipt(&file)?;
            let mut w = open(&ctx)?;
            sync(&ctx, &mut w)?;
            let src = receipt::source(ledger.as_deref(), &ctx.client)?;
            let v = receipt::import(&mut w, &r, src.as_ref())?;
            out(&ctx, json!({"ok": true, "imported": v}), || {
                format!("imported: {}", v.statement)
            });
        }
        Command::Withdraw {
            amount: a,
            asset: s,
            to,
            wait: wt,
        } => {
            let mut w = open(&ctx)?;
            let asset = asset(&s)?;
            let v = amount(&a, &asset)?;
            sync(&ctx, &mut w)?;
            let (p, info) = prover(&ctx, &mut w)?;
            let sent = w.withdraw(
                &ctx.client,
                &p,
                &info,
                &asset,
                v,
                to.as_deref(),
                &mut rand::rngs::OsRng,
            )?;
            let batch = wait_if(&ctx, &mut w, wt, &sent.id)?;
            out(
                &ctx,
                json!({"ok": true, "payment": sent.id, "batch": batch}),
                || format!("withdrawal {} accepted{}", sent.id, committed_in(batch)),
            );
        }
        Command::History => {
            let mut w = open(&ctx)?;
            sync(&ctx, &mut w)?;
            let sent: Vec<_> = w.sent().to_vec();
            let received: Vec<_> = w
                .notes()
                .iter()
                .filter(|n| !w.sent().iter().any(|s| s.id == n.payment))
                .cloned()
                .collect();
            out(&ctx, json!({"sent": sent, "received": received}), || {
                let mut lines = Vec::new();
                for s in &sent {
                    let st = match &s.status {
                        SentStatus::Pending => "pending".to_string(),
                        SentStatus::Committed { batch } => format!("batch {batch}"),
                        SentStatus::Failed { reason } => format!("failed: {reason}"),
                    };
                    lines.push(format!(
                        "sent     {} {} {} to {} [{st}]",
                        &s.id[..12],
                        s.kind,
                        format_in(&s.asset, s.amount),
                        s.to.as_deref().unwrap_or("-")
                    ));
                }
                for n in &received {
                    lines.push(format!(
                        "received {} {} memo {:?} [batch {}]",
                        &n.payment[..12],
                        format_in(&w.asset_text(&n.note.asset), n.note.value),
                        n.memo,
                        n.batch
                    ));
                }
                if lines.is_empty() {
                    "no history".into()
                } else {
                    lines.join("\n")
                }
            });
        }
        Command::Till {
            command:
                TillCommand::Serve {
                    bind,
                    token_file,
                    token,
                    merchant,
                    assets,
                    expires_in,
                    poll_ms,
                    tls_cert,
                    tls_key,
                    plain_http,
                },
        } => {
            let token = match (token_file, token) {
                (Some(f), _) => {
                    let text = Zeroizing::new(
                        std::fs::read_to_string(&f)
                            .map_err(|e| Fail(exit::FAILURE, format!("{}: {e}", f.display())))?,
                    );
                    Some(Zeroizing::new(
                        text.lines().next().unwrap_or("").trim().to_string(),
                    ))
                }
                (None, Some(t)) => Some(Zeroizing::new(t)),
                (None, None) => None,
            };
            let assets = assets
                .iter()
                .map(|a| asset(a))
                .collect::<Result<Vec<_>, _>>()?;
            let cfg = zkpay_wallet::till::server::ServeConfig {
                bind,
                token,
                merchant,
                assets,
                expires_in,
                poll: std::time::Duration::from_millis(poll_ms),
                tls: tls_cert.zip(tls_key),
                plain_http,
            };
            cfg.check().map_err(|e| usage(e.to_string()))?;
            let w = open(&ctx)?;
            if !w.watch_only() {
                return Err(Fail(
                    exit::WALLET,
                    "a till runs only on a watch-only wallet (`zkpay init --watch <viewing key>`): the counter must never be able to spend".into(),
                ));
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Fail(exit::FAILURE, e.to_string()))?;
            let json = ctx.json;
            // short timeouts: a slow node must delay the till's watch, not hang it
            let client = NodeClient::with_timeouts(
                ctx.client.base(),
                std::time::Duration::from_secs(2),
                std::time::Duration::from_secs(10),
            );
            rt.block_on(zkpay_wallet::till::server::serve(
                w,
                client,
                &ctx.dir,
                cfg,
                |addr, https| {
                    let url = format!("{}://{addr}", if https { "https" } else { "http" });
                    if json {
                        println!("{}", json!({"ok": true, "listening": url}));
                    } else {
                        println!("till listening on {url}");
                    }
                    let _ = std::io::stdout().flush();
                },
            ))?;
        }
    }
    Ok(())
}

fn read_qr(p: &Path) -> Result<String, Fail> {
    let is_svg = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let text = if is_svg {
        let meta = std::fs::metadata(p)
            .map_err(|e| Fail(exit::BAD_REQUEST, format!("{}: {e}", p.display())))?;
        if meta.len() > qr::MAX_IMAGE_FILE {
            return Err(Fail(exit::BAD_REQUEST, "SVG file too large".into()));
        }
        let s = std::fs::read_to_string(p)
            .map_err(|e| Fail(exit::BAD_REQUEST, format!("{}: {e}", p.display())))?;
        qr::decode_svg(&s)?
    } else {
        qr::decode_file(p)?
    };
    Ok(text)
}

fn write_file(p: &Path, bytes: &[u8]) -> Result<(), Fail> {
    zkpay_wallet::store::atomic_write(p, bytes).map_err(Fail::from)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) if msg.is_empty() => ExitCode::from(code as u8),
        Err(Fail(code, msg)) => {
            if json {
                println!("{}", json!({"ok": false, "error": msg, "exit_code": code}));
            } else {
                eprintln!("error: {msg}");
            }
            ExitCode::from(code as u8)
        }
    }
}
