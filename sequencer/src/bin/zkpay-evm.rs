//! `zkpay-evm`: deploys and administers the EVM base ledger (the `ZkPayRollup` contract) that
//! `zkpay-node --ledger evm` commits to.

use alloy::primitives::U256;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use zkpay_ledger::evm::contracts::{TestToken, ZkPayRollup};
use zkpay_ledger::evm::rollup::{deploy, escrow_available, fe_u256, fund_escrow, Deployment};
use zkpay_protocol::address::Network;
use zkpay_sequencer::{NodeConfig, Profile};

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Full,
    Test,
}

#[derive(Parser)]
#[command(
    name = "zkpay-evm",
    version,
    about = "Deploy and administer zkpay's rollup contract on an EVM chain"
)]
struct Cli {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "ZKPAY_RPC")]
    rpc: String,
    /// File holding the secret key (0x + 64 hex digits) of the account that sends.
    #[arg(long, env = "ZKPAY_KEY_FILE")]
    key_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploys ZkPayRollup with the node's verifying keys; prints its address.
    Deploy {
        /// Network: main, test or dev (test and main need --params).
        #[arg(long)]
        network: String,
        /// Parameter profile of the node that will commit to it.
        #[arg(long, value_enum, default_value = "full")]
        profile: ProfileArg,
        /// A verified ceremony's parameters directory (required on test and main).
        #[arg(long)]
        params: Option<PathBuf>,
        /// SHA-256 of the parameters manifest, as the network publishes it.
        #[arg(long)]
        params_sha256: Option<String>,
        /// Where dev keys are cached (the node's data directory).
        #[arg(long, default_value = ".zkpay-data/node")]
        data_dir: PathBuf,
        /// The sequencer's address (by default the sending account's).
        #[arg(long)]
        sequencer: Option<String>,
        /// How many recent note roots payments may use.
        #[arg(long, default_value_t = 128)]
        root_window: u64,
        /// Blocks within which a queued (forced) payment must be included.
        #[arg(long, default_value_t = 7_200)]
        force_delay: u64,
        /// Blocks without a batch after which anyone may commit.
        #[arg(long, default_value_t = 50_400)]
        sequencer_timeout: u64,
        /// Blocks an account waits for its escrow back after asking (a batch must land within
        /// this many blocks of the sequencer screening its deposits).
        #[arg(long, default_value_t = 7_200)]
        release_delay: u64,
    },
    /// Registers the ERC-20 token of an asset (once per asset; by the deployer).
    RegisterAsset {
        /// The rollup contract.
        #[arg(long)]
        contract: String,
        /// Asset, as zkpay writes it (USD, PTS-ACME.0, ...).
        #[arg(long)]
        asset: String,
        /// The token's address.
        #[arg(long)]
        token: String,
    },
    /// Moves tokens of the sending account into its escrow in the rollup contract, for its
    /// signed deposits to draw on (an allowance of exactly the amount, then the funding).
    Fund {
        #[command(flatten)]
        escrow: EscrowArgs,
        /// Amount, in the asset's decimals (e.g. 25.00).
        #[arg(long)]
        amount: String,
    },
    /// Asks for escrow back: payable to `release` after the contract's release delay (deposits
    /// already signed may still draw on it meanwhile). An amount of 0 withdraws the request.
    RequestRelease {
        #[command(flatten)]
        escrow: EscrowArgs,
        /// Amount, in the asset's decimals.
        #[arg(long)]
        amount: String,
    },
    /// Pays a due release of escrow to an address (by default the sending account).
    Release {
        #[command(flatten)]
        escrow: EscrowArgs,
        /// Where the tokens go.
        #[arg(long)]
        to: Option<String>,
    },
    /// Deploys a test ERC-20 that anyone may mint (development chains only); prints its address.
    DeployTestToken {
        /// Token symbol.
        #[arg(long, default_value = "USDT")]
        symbol: String,
        /// Token decimals.
        #[arg(long, default_value_t = 6)]
        decimals: u8,
    },
}

/// The escrow an escrow command acts on: the sending account's, of one asset, in one contract.
#[derive(clap::Args)]
struct EscrowArgs {
    /// The rollup contract.
    #[arg(long)]
    contract: String,
    /// Asset, as zkpay writes it (USD, PTS-ACME.0, ...).
    #[arg(long)]
    asset: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let signer = zkpay_sequencer::node::read_signer(&cli.key_file)?;
    let from = signer.address();
    let provider = alloy::providers::ProviderBuilder::new()
        .wallet(signer)
        .connect_http(cli.rpc.parse().context("--rpc")?);
    let provider = alloy::providers::Provider::erased(provider);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let address = |s: &str, what: &str| -> Result<alloy::primitives::Address> {
        s.parse().with_context(|| format!("{what} {s:?}"))
    };
    let amount_of = |s: &str, asset: &zkpay_protocol::note::Asset| -> Result<u64> {
        zkpay_protocol::uri::parse_amount(s, asset.decimals)
            .map_err(|e| anyhow::anyhow!("--amount {s}: {e}"))
    };
    let refused = |e: alloy::contract::Error| {
        anyhow::anyhow!("refused: {}", zkpay_ledger::evm::rollup::reason(&e))
    };
    let asset_of = |s: &str| -> Result<zkpay_protocol::note::Asset> {
        zkpay_protocol::note::Asset::from_text(s).map_err(|e| anyhow::anyhow!("--asset {s}: {e}"))
    };
    let escrow_of =
        |e: &EscrowArgs| -> Result<(alloy::primitives::Address, zkpay_protocol::note::Asset)> {
            Ok((address(&e.contract, "--contract")?, asset_of(&e.asset)?))
        };
    match cli.command {
        Command::Deploy {
            network,
            profile,
            params,
            params_sha256,
            data_dir,
            sequencer,
            root_window,
            force_delay,
            sequencer_timeout,
            release_delay,
        } => {
            let profile = match profile {
                ProfileArg::Full => Profile::Full,
                ProfileArg::Test => Profile::Test,
            };
            let mut config = NodeConfig::new(data_dir, profile);
            config.network = Network::from_name(&network).map_err(|e| anyhow::anyhow!("{e}"))?;
            config.params = params;
            config.params_sha256 = params_sha256;
            std::fs::create_dir_all(&config.data_dir)?;
            let (payer, batcher) = zkpay_sequencer::node::load_provers(&config)?;
            let d = Deployment {
                network: config.network,
                params: profile.params(),
                root_window,
                force_delay,
                sequencer_timeout,
                release_delay,
                sequencer: match sequencer {
                    Some(s) => address(&s, "--sequencer")?,
                    None => from,
                },
            };
            let at = rt.block_on(deploy(
                &provider,
                &d,
                &payer.keys().pk.vk,
                &batcher.keys().pk.vk,
            ))?;
            println!("{at}");
        }
        Command::RegisterAsset {
            contract,
            asset,
            token,
        } => {
            let (contract, token) = (
                address(&contract, "--contract")?,
                address(&token, "--token")?,
            );
            let asset = asset_of(&asset)?;
            rt.block_on(async {
                let c = ZkPayRollup::new(contract, &provider);
                let call = c.registerAsset(fe_u256(&asset.id().0), token, asset.decimals);
                call.call().await.map_err(|e| {
                    anyhow::anyhow!("refused: {}", zkpay_ledger::evm::rollup::reason(&e))
                })?;
                call.send().await?.get_receipt().await?;
                anyhow::Ok(())
            })?;
            println!("{} -> {token}", asset.to_text());
        }
        Command::Fund { escrow, amount } => {
            let (contract, asset) = escrow_of(&escrow)?;
            let units = amount_of(&amount, &asset)?;
            rt.block_on(fund_escrow(&provider, from, contract, &asset.id(), units))?;
            let held = rt.block_on(escrow_available(
                &ZkPayRollup::new(contract, provider.clone()),
                from,
                &asset.id(),
            ))?;
            println!(
                "{from} escrow of {} in {contract}, less any release asked for: {} (units)",
                asset.to_text(),
                held
            );
        }
        Command::RequestRelease { escrow, amount } => {
            let (contract, asset) = escrow_of(&escrow)?;
            let units = amount_of(&amount, &asset)?;
            let ready = rt.block_on(async {
                let c = ZkPayRollup::new(contract, &provider);
                let call = c.startRelease(fe_u256(&asset.id().0), U256::from(units));
                call.call().await.map_err(refused)?;
                call.send().await?.get_receipt().await?;
                let r = c.releases(from, fe_u256(&asset.id().0)).call().await?;
                anyhow::Ok(r.readyAt)
            })?;
            if units == 0 {
                println!("{from}: release request of {} withdrawn", asset.to_text());
            } else {
                println!(
                    "{from}: {amount} {} payable from block {ready}",
                    asset.to_text()
                );
            }
        }
        Command::Release { escrow, to } => {
            let (contract, asset) = escrow_of(&escrow)?;
            let to = match to {
                Some(t) => address(&t, "--to")?,
                None => from,
            };
            rt.block_on(async {
                let c = ZkPayRollup::new(contract, &provider);
                let call = c.release(fe_u256(&asset.id().0), to);
                call.call().await.map_err(refused)?;
                call.send().await?.get_receipt().await?;
                anyhow::Ok(())
            })?;
            println!("{from}: escrow of {} released to {to}", asset.to_text());
        }
        Command::DeployTestToken { symbol, decimals } => {
            let at = rt.block_on(async {
                let t =
                    TestToken::deploy(&provider, format!("zkpay test {symbol}"), symbol, decimals)
                        .await?;
                anyhow::Ok(*t.address())
            })?;
            println!("{at}");
        }
    }
    Ok(())
}
