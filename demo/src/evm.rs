//! The demo on the EVM base ledger: a local anvil, the rollup contract deployed with the node's
//! keys, a test USD token, the customer's escrow funded on chain, and receipts checked against
//! the contract's events.

use alloy::network::TransactionBuilder;
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use zkpay_ledger::evm::contracts::{TestToken, ZkPayRollup};
use zkpay_ledger::evm::ledger::{EvmLedger, EvmLedgerConfig};
use zkpay_ledger::evm::rollup::{deploy, fe_u256, Deployment, Rollup};
use zkpay_ledger::CommittedBatch;
use zkpay_protocol::account::AccountKey;
use zkpay_protocol::address::Network;
use zkpay_protocol::note::Asset;
use zkpay_sequencer::{Node, NodeConfig};
use zkpay_wallet::receipt::{BatchView, CommittedBatches};
use zkpay_wallet::WalletError;

/// The local chain and what the demo deployed on it.
pub struct Chain {
    _anvil: AnvilInstance,
    /// JSON-RPC endpoint.
    pub url: String,
    /// The rollup contract.
    pub rollup: Address,
    /// The test USD token.
    pub token: Address,
    /// An account with ether that pays for the customer's first transaction.
    funder: DynProvider,
    rollup_client: Rollup,
}

fn err(e: impl std::fmt::Display) -> WalletError {
    WalletError::Node(e.to_string())
}

fn provider(url: &str, key: B256) -> Result<DynProvider, WalletError> {
    Ok(ProviderBuilder::new()
        .wallet(PrivateKeySigner::from_bytes(&key).map_err(err)?)
        .connect_http(url.parse().map_err(err)?)
        .erased())
}

/// Starts anvil, deploys the rollup contract (with the node's keys) and a test USD token, and
/// opens the node on an [`EvmLedger`] over them.
pub fn start(rt: &Runtime, config: NodeConfig) -> Result<(Arc<Node>, Chain), WalletError> {
    let anvil = zkpay_ledger::evm::chain::spawn_anvil().map_err(err)?;
    let url = anvil.endpoint();
    let key = |i: usize| B256::from_slice(&anvil.keys()[i].to_bytes());
    let deployer = provider(&url, key(0))?;
    let funder = provider(&url, key(1))?;
    let (payer, batcher) = zkpay_sequencer::node::load_provers(&config).map_err(err)?;
    let params = config.profile.params();
    let (pvk, cvk) = (payer.keys().pk.vk.clone(), batcher.keys().pk.vk.clone());
    let sequencer = anvil.addresses()[0];
    let (rollup, token) = rt.block_on(async {
        let d = Deployment {
            network: config.network,
            params,
            root_window: config.recent_roots as u64,
            force_delay: 100,
            sequencer_timeout: 10_000,
            release_delay: 100,
            sequencer,
        };
        let at = deploy(&deployer, &d, &pvk, &cvk).await.map_err(err)?;
        let token = TestToken::deploy(&deployer, "zkpay test dollar".into(), "USDT".into(), 6)
            .await
            .map_err(err)?;
        let usd = Asset::from_text("USD").map_err(err)?;
        ZkPayRollup::new(at, &deployer)
            .registerAsset(fe_u256(&usd.id().0), *token.address(), usd.decimals)
            .send()
            .await
            .map_err(err)?
            .get_receipt()
            .await
            .map_err(err)?;
        Ok::<_, WalletError>((at, *token.address()))
    })?;
    let ledger = EvmLedger::open(
        EvmLedgerConfig {
            rpc: url.clone(),
            contract: rollup,
            network: config.network,
            params,
            confirmations: 1,
            inclusion_timeout: Duration::from_secs(60),
        },
        PrivateKeySigner::from_bytes(&key(0)).map_err(err)?,
        &payer.keys().verifier,
        &batcher.keys().verifier,
    )
    .map_err(err)?;
    let rollup_client = ledger.rollup().clone();
    let node = Node::with_ledger(
        config,
        Arc::new(ledger),
        payer.keys().verifier.clone(),
        batcher,
    )
    .map_err(err)?;
    Ok((
        node,
        Chain {
            _anvil: anvil,
            url,
            rollup,
            token,
            funder,
            rollup_client,
        },
    ))
}

/// Gives the customer's account a little ether and moves `amount` (USD cents) of its test
/// tokens into its escrow in the rollup contract: the transactions a wallet's account signs
/// itself before it deposits. Returns the escrow after it, in cents.
pub fn fund_escrow(
    rt: &Runtime,
    ch: &Chain,
    account: &AccountKey,
    amount: u64,
) -> Result<u64, WalletError> {
    let addr = Address::from(account.account().to_bytes());
    let customer = provider(&ch.url, B256::from(*account.to_bytes()))?;
    let usd = Asset::from_text("USD").map_err(err)?.id();
    rt.block_on(async {
        ch.funder
            .send_transaction(
                TransactionRequest::default()
                    .with_to(addr)
                    .with_value(U256::from(10u64).pow(U256::from(16))),
            )
            .await
            .map_err(err)?
            .get_receipt()
            .await
            .map_err(err)?;
        zkpay_ledger::evm::rollup::fund_escrow(&customer, addr, ch.rollup, &usd, amount)
            .await
            .map_err(err)?;
        let held =
            zkpay_ledger::evm::rollup::escrow_available(ch.rollup_client.contract(), addr, &usd)
                .await
                .map_err(err)?;
        u64::try_from(held).map_err(err)
    })
}

/// Gas used by each batch's transaction, from the contract's events and their receipts.
pub fn batch_gas(rt: &Runtime, ch: &Chain) -> Result<Vec<u64>, WalletError> {
    let c = ch.rollup_client.contract().clone();
    rt.block_on(async {
        let events = c
            .BatchCommitted_filter()
            .from_block(0)
            .query()
            .await
            .map_err(err)?;
        let mut out = Vec::new();
        for (_, log) in events {
            let hash = log
                .transaction_hash
                .ok_or_else(|| err("a log without its transaction"))?;
            let r = c
                .provider()
                .get_transaction_receipt(hash)
                .await
                .map_err(err)?
                .ok_or_else(|| err("a batch transaction without its receipt"))?;
            out.push(r.gas_used);
        }
        Ok(out)
    })
}

/// Committed batches as the rollup contract's events give them, read from the chain (not from
/// the node), each chained to the previous one's hash by the rebuild.
pub struct ChainSource {
    batches: Vec<CommittedBatch>,
    network: Network,
    contract: Address,
}

impl ChainSource {
    /// Reads every committed batch from the contract's events.
    pub fn read(rt: &Runtime, ch: &Chain) -> Result<Self, WalletError> {
        let r = ch.rollup_client.clone();
        let batches = rt
            .block_on(async move { r.committed_batches(None).await })
            .map_err(err)?;
        let network = batches
            .first()
            .and_then(|b| b.payments.first())
            .map(|p| p.ext.network)
            .ok_or_else(|| err("the contract has no committed batch"))?;
        Ok(Self {
            batches,
            network,
            contract: ch.rollup,
        })
    }
}

impl CommittedBatches for ChainSource {
    fn network(&self) -> Result<Network, WalletError> {
        Ok(self.network)
    }

    fn batch_view(&self, n: u64) -> Result<Option<BatchView>, WalletError> {
        let Some(b) = n.checked_sub(1).and_then(|i| self.batches.get(i as usize)) else {
            return Ok(None);
        };
        let start = match n.checked_sub(2).and_then(|i| self.batches.get(i as usize)) {
            Some(prev) => prev.state.note_cursor,
            None => 0,
        };
        BatchView::of(b, start).map(Some)
    }

    fn describe(&self) -> String {
        format!("the rollup contract {}'s events on chain", self.contract)
    }
}
