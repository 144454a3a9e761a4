//! The node on the EVM base ledger (`EvmLedger` over `ZkPayRollup` on the pinned anvil): a
//! deposit pulled from the wallet's account in the token, an invoice paid, a withdrawal paid out
//! in the token, a commit retried after it landed (idempotent), and a node with a fresh data
//! directory rebuilt from the contract's events alone.

mod common;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use zkpay_ledger::evm::chain::spawn_anvil;
use zkpay_ledger::evm::contracts::{TestToken, ZkPayRollup};
use zkpay_ledger::evm::ledger::{EvmLedger, EvmLedgerConfig};
use zkpay_ledger::evm::rollup::{deploy, fe_u256, fund_escrow, Deployment};
use zkpay_ledger::BaseLedger;
use zkpay_protocol::address::Network;
use zkpay_protocol::encryption::encrypt_note;
use zkpay_protocol::invoice::invoice_key;
use zkpay_protocol::note::{Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentWitness};
use zkpay_prover::{BatchProver, KeyStore, SetupMode};
use zkpay_sequencer::node::PaymentStatus;
use zkpay_sequencer::{Node, Profile};
use zkpay_verifier::encode_proof;

/// Token units per USD cent (the token has 6 decimals).
const SCALE: u64 = 10_000;

fn provider(url: &str, key: B256) -> DynProvider {
    ProviderBuilder::new()
        .wallet(PrivateKeySigner::from_bytes(&key).unwrap())
        .connect_http(url.parse().unwrap())
        .erased()
}

/// Sends a contract call and waits for its receipt (the test fails if either fails, or if the
/// call reverted).
trait Mined {
    async fn mined(self);
}

impl<P: Provider, D: alloy::contract::CallDecoder> Mined for alloy::contract::CallBuilder<P, D> {
    async fn mined(self) {
        let receipt = self.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status(), "{receipt:?}");
    }
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Gives the wallet's account ether and moves `amount` of its tokens into its escrow in the
/// rollup: what a wallet's account does before it deposits on an EVM ledger.
async fn fund(url: &str, funder: &DynProvider, w: &Wallet, rollup: Address, amount: u64) {
    let addr = Address::from(w.account.to_bytes());
    funder
        .send_transaction(
            TransactionRequest::default()
                .with_to(addr)
                .with_value(U256::from(10u64).pow(U256::from(17))),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let p = provider(url, B256::from(*w.account_key.to_bytes()));
    fund_escrow(&p, addr, rollup, &usd(), amount).await.unwrap();
}

/// A withdrawal of the whole `note` (at its position in the node's tree) to the wallet's account.
fn withdraw(
    node: &Node,
    prover: &zkpay_prover::PaymentProver,
    w: &mut Wallet,
    note: &Note,
) -> zkpay_ledger::PaymentSubmission {
    let t = tree(node);
    let pos = (0..t.size())
        .find(|p| t.leaf(*p).unwrap() == note.commitment().0)
        .unwrap();
    let auth = w.key.spend_authority();
    let fvk = w.key.full_viewing_key();
    let dummy = Note::dummy(usd(), fvk.pk, &mut w.rng);
    let ct = encrypt_note(&dummy, b"", &fvk.ivk.transmission_key(), &mut w.rng).unwrap();
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: operator_account(),
        public_account: Some(w.account),
        ciphertexts: [ct.clone(), ct],
    };
    let witness = PaymentWitness::build(
        &auth,
        usd(),
        Root(t.root()),
        prover.depth(),
        &[(*note, t.path(pos).unwrap())],
        &[dummy],
        -(note.value as i128),
        0,
        ext.hash(),
        &mut w.rng,
    )
    .unwrap();
    let (proof, public) = prover.prove(&witness, &mut w.rng).unwrap();
    zkpay_ledger::PaymentSubmission {
        public,
        ext,
        proof: encode_proof(&proof).to_vec(),
        authorization: None,
    }
}

fn committed(node: &Node, id: &[u8; 32]) -> u64 {
    match node.status(id).unwrap() {
        Some(PaymentStatus::Committed { batch }) => batch,
        other => panic!("expected committed, got {other:?}"),
    }
}

/// A deployed rollup (test profile keys, USD registered to a test token) on `anvil`.
struct Chain {
    url: String,
    seq_key: B256,
    seq: DynProvider,
    rollup: Address,
    token: Address,
    ledger_config: EvmLedgerConfig,
}

fn chain(
    anvil: &alloy::node_bindings::AnvilInstance,
    dir: &std::path::Path,
    confirmations: u64,
) -> (Chain, zkpay_prover::PaymentProver, BatchProver) {
    let params = Profile::Test.params();
    let store = KeyStore::new(dir);
    let mode = SetupMode::InsecureDevelopment { seed: 0 };
    let payer = prover(dir);
    let batcher = BatchProver::new(&store, params, mode, None).unwrap();
    let (pvk, cvk) = (payer.keys().pk.vk.clone(), batcher.keys().pk.vk.clone());
    let url = anvil.endpoint();
    let seq_key = B256::from_slice(&anvil.keys()[0].to_bytes());
    let seq = provider(&url, seq_key);
    let (rollup, token) = block_on(async {
        let d = Deployment {
            network: Network::Dev,
            params,
            root_window: 16,
            force_delay: 100,
            sequencer_timeout: 1000,
            release_delay: 64,
            sequencer: anvil.addresses()[0],
        };
        let at = deploy(&seq, &d, &pvk, &cvk).await.unwrap();
        let token = TestToken::deploy(&seq, "test dollar".into(), "USDT".into(), 6)
            .await
            .unwrap();
        ZkPayRollup::new(at, &seq)
            .registerAsset(fe_u256(&usd().0), *token.address(), 2)
            .mined()
            .await;
        (at, *token.address())
    });
    let ledger_config = EvmLedgerConfig {
        rpc: url.clone(),
        contract: rollup,
        network: Network::Dev,
        params,
        confirmations,
        inclusion_timeout: Duration::from_secs(20),
    };
    (
        Chain {
            url,
            seq_key,
            seq,
            rollup,
            token,
            ledger_config,
        },
        payer,
        batcher,
    )
}

/// The EVM ledger on `ch`'s contract (the sequencer's key signs) and a node on it.
fn open_node(
    ch: &Chain,
    dir: &std::path::Path,
    payer: &zkpay_prover::PaymentProver,
    batcher: BatchProver,
) -> (Arc<EvmLedger>, Arc<Node>) {
    let (pv, cv) = (
        payer.keys().verifier.clone(),
        batcher.keys().verifier.clone(),
    );
    let signer = PrivateKeySigner::from_bytes(&ch.seq_key).unwrap();
    let ledger = Arc::new(EvmLedger::open(ch.ledger_config.clone(), signer, &pv, &cv).unwrap());
    let node = Node::with_ledger(config(dir), ledger.clone(), pv, batcher).unwrap();
    (ledger, node)
}

#[test]
fn node_commits_to_the_rollup_contract_and_rebuilds_from_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let params = Profile::Test.params();
    let mode = SetupMode::InsecureDevelopment { seed: 0 };
    let anvil = spawn_anvil().unwrap();
    let (ch, payer, batcher) = chain(&anvil, dir.path(), 1);
    let (pvk, cvk) = (
        payer.keys().verifier.clone(),
        batcher.keys().verifier.clone(),
    );
    let Chain {
        url,
        seq_key,
        seq,
        rollup,
        token,
        ledger_config,
    } = ch;
    let signer = || PrivateKeySigner::from_bytes(&seq_key).unwrap();
    // a contract whose keys are not the node's is refused
    assert!(EvmLedger::open(ledger_config.clone(), signer(), &cvk, &pvk).is_err());
    let ledger = Arc::new(EvmLedger::open(ledger_config.clone(), signer(), &pvk, &cvk).unwrap());
    let node = Node::with_ledger(
        config(dir.path()),
        ledger.clone(),
        payer.keys().verifier.clone(),
        batcher,
    )
    .unwrap();

    // a deposit: the faucet mints test tokens, the account funds its escrow, the node commits
    let mut alice = Wallet::new(31, "alice");
    let bob = Wallet::new(32, "bob");
    let alice_addr = Address::from(alice.account.to_bytes());
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    // a deposit signed for another ledger (the embedded one of this network) is refused: the
    // node's debits are for this chain and this contract
    let (elsewhere, _) = deposit(&node, &payer, &mut alice, 60);
    assert_eq!(
        node.submit(elsewhere).map_err(|e| e.code()),
        Err("bad_authorization")
    );
    alice.domain = Some(node.ledger().debit_domain());
    assert_eq!(
        node.ledger().debit_domain(),
        zkpay_protocol::account::DebitDomain {
            chain_id: anvil.chain_id(),
            verifying_contract: zkpay_protocol::payment::PublicAccount::from_bytes(
                rollup.into_array()
            ),
        }
    );
    // tokens outside the escrow are not debitable: the node refuses the deposit
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 0);
    let (unfunded, _) = deposit(&node, &payer, &mut alice, 60);
    assert_eq!(
        node.submit(unfunded).map_err(|e| e.code()),
        Err("insufficient_public_balance")
    );
    let funder = provider(&url, B256::from_slice(&anvil.keys()[1].to_bytes()));
    block_on(fund(&url, &funder, &alice, rollup, 100));
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 100);
    // a release asked for counts as gone at once (it may leave before a batch lands): 30 are
    // left to deposits, and a deposit of 60 is refused
    let alice_key = B256::from(*alice.account_key.to_bytes());
    let release = |amount: u64| {
        block_on(async {
            // a provider per runtime: its block watcher lives on the runtime that made it
            ZkPayRollup::new(rollup, provider(&url, alice_key))
                .startRelease(fe_u256(&usd().0), U256::from(amount))
                .mined()
                .await
        })
    };
    release(70);
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 30);
    let (too_much, _) = deposit(&node, &payer, &mut alice, 60);
    assert_eq!(
        node.submit(too_much.clone()).map_err(|e| e.code()),
        Err("insufficient_public_balance")
    );
    // she withdraws the request; a deposit of 60 is admitted...
    release(0);
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 100);
    let (late, _) = deposit(&node, &payer, &mut alice, 60);
    node.submit(late.clone()).unwrap();
    // ...and she asks for 70 back before the batch is formed: its screening fails the deposit
    release(70);
    assert_eq!(node.run_batch_once().unwrap(), None);
    match node.status(&late.id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => {
            assert!(reason.contains("insufficient public balance"), "{reason}")
        }
        other => panic!("expected failed, got {other:?}"),
    }
    // a release asked for after the screening is caught right before the send: the ledger
    // refuses that payment (the node proves the rest again) and sends nothing
    let (screened, _) = deposit(&node, &payer, &mut alice, 60);
    let head = ledger.head().unwrap();
    let unsent = zkpay_ledger::BatchSubmission {
        number: head.number + 1,
        parent: head.hash,
        payments: vec![screened.clone()],
        chunks: vec![],
    };
    let nonce = || block_on(async { seq.get_transaction_count(anvil.addresses()[0]).await });
    let before = nonce().unwrap();
    match ledger.commit(&unsent) {
        Err(zkpay_ledger::LedgerError::Payment { index: 0, why }) => {
            assert!(why.contains("no longer covers"), "{why}")
        }
        other => panic!("expected the deposit refused, got {other:?}"),
    }
    assert_eq!(
        ledger
            .unbacked_deposit(std::slice::from_ref(&screened))
            .unwrap()
            .map(|(i, _)| i),
        Some(0)
    );
    assert_eq!(nonce().unwrap(), before, "nothing was sent");
    // she withdraws the request; the deposit of 60 commits, from the escrow
    release(0);
    assert_eq!(
        ledger
            .unbacked_deposit(std::slice::from_ref(&screened))
            .unwrap(),
        None
    );
    // two deposits that together overdraw the escrow: the second is refused
    assert_eq!(
        ledger
            .unbacked_deposit(&[screened.clone(), late.clone()])
            .unwrap()
            .map(|(i, _)| i),
        Some(1)
    );
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 100);
    let (dep, note) = deposit(&node, &payer, &mut alice, 60);
    node.submit(dep.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    assert_eq!(committed(&node, &dep.id()), 1);
    let token_balance = |who: Address| {
        block_on(async {
            TestToken::new(token, &seq)
                .balanceOf(who)
                .call()
                .await
                .unwrap()
        })
    };
    assert_eq!(token_balance(alice_addr), U256::ZERO);
    assert_eq!(token_balance(rollup), U256::from(100 * SCALE));
    assert_eq!(node.ledger().pool(&usd()).unwrap(), 60);
    assert_eq!(node.ledger().balance(&alice.account, &usd()).unwrap(), 40);

    // an invoice of 25 paid to Bob with a fee of 1
    let ikey = invoice_key(b"till-4", &[9u8; 16]).unwrap();
    let inv = pay(
        &node,
        &payer,
        &mut alice,
        &note,
        &bob.key,
        25,
        1,
        Some(ikey),
    );
    node.submit(inv.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(committed(&node, &inv.id()), 2);

    // Bob withdraws his 25 to his account: paid out in the token
    let mut bob = bob;
    let bob_note = Note {
        asset: usd(),
        value: 25,
        owner: bob.key.full_viewing_key().pk,
        blinding: {
            let p = &node.ledger().batch(2).unwrap().unwrap().payments[0];
            zkpay_protocol::encryption::try_open_note(
                &bob.key.full_viewing_key().ivk,
                &bob.key.full_viewing_key().pk,
                &p.public.commitments[0],
                &p.ext.ciphertexts[0],
            )
            .unwrap()
            .0
            .blinding
        },
    };
    let out = withdraw(&node, &payer, &mut bob, &bob_note);
    node.submit(out.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(3));
    assert_eq!(
        token_balance(Address::from(bob.account.to_bytes())),
        U256::from(25 * SCALE)
    );
    assert_eq!(node.ledger().pool(&usd()).unwrap(), 34);

    // a commit retried after it landed (a crash after sending) is recognised, not sent again
    let b3 = node.ledger().batch(3).unwrap().unwrap();
    let again = zkpay_ledger::BatchSubmission {
        number: 3,
        parent: b3.parent,
        payments: b3.payments.clone(),
        chunks: b3.chunks.clone(),
    };
    assert_eq!(ledger.commit(&again).unwrap(), b3);
    let on_chain = block_on(ledger.rollup().state()).unwrap();
    assert_eq!(on_chain.batches, 3);
    assert_eq!(on_chain.state, b3.state);
    // a different batch 3 is not the next one
    let mut other = again.clone();
    other.payments.pop();
    assert!(ledger.commit(&other).is_err());

    // a node with a fresh data directory rebuilds everything from the contract's events
    let head = node.head().unwrap();
    let notes = node.notes(0, 1000).unwrap();
    drop(node);
    let fresh = tempfile::tempdir().unwrap();
    let store2 = KeyStore::new(fresh.path());
    let payer2 = prover(fresh.path());
    let batcher2 = BatchProver::new(&store2, params, mode, None).unwrap();
    let ledger2 = EvmLedger::open(ledger_config, signer(), &pvk, &cvk).unwrap();
    let node2 = Node::with_ledger(
        config(fresh.path()),
        Arc::new(ledger2),
        payer2.keys().verifier.clone(),
        batcher2,
    )
    .unwrap();
    assert_eq!(node2.head().unwrap(), head);
    assert_eq!(node2.notes(0, 1000).unwrap(), notes);
    assert_eq!(committed(&node2, &inv.id()), 2);
    drop(anvil);
}

/// A reorganisation that removes the batch's block before its confirmations makes the node send
/// it again. The test mines every block itself (automine off once the setup is done), so the
/// batch's block cannot gather its confirmations before the test has removed it, however slow or
/// loaded the machine: no race between the node's confirmation and the revert.
#[test]
fn a_batch_removed_by_a_reorganisation_before_its_confirmations_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    // three confirmations
    let (ch, payer, batcher) = chain(&anvil, dir.path(), 3);
    let (ledger, node) = open_node(&ch, dir.path(), &payer, batcher);
    let mut alice = Wallet::new(41, "alice");
    alice.domain = Some(node.ledger().debit_domain());
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    let funder = provider(&ch.url, B256::from_slice(&anvil.keys()[1].to_bytes()));
    block_on(fund(&ch.url, &funder, &alice, ch.rollup, 100));
    let (dep, _) = deposit(&node, &payer, &mut alice, 60);
    node.submit(dep.clone()).unwrap();

    // from here on a block is mined only when the test says so
    let rpc = |method: &'static str| {
        let seq = ch.seq.clone();
        move |params: Vec<serde_json::Value>| -> serde_json::Value {
            block_on(seq.raw_request(method.into(), params)).unwrap()
        }
    };
    let (set_automine, mine) = (rpc("evm_setAutomine"), rpc("evm_mine"));
    set_automine(vec![false.into()]);
    // the chain as it is before the batch: the reorganisation goes back to it
    let snapshot = rpc("evm_snapshot")(vec![]);
    let committer = {
        let node = node.clone();
        std::thread::spawn(move || node.run_batch_once())
    };
    let c = ZkPayRollup::new(ch.rollup, ch.seq.clone());
    let count = || block_on(async { c.batchCount().call().await.unwrap() });
    let sequencer = anvil.addresses()[0];
    let waiting = || {
        block_on(async {
            let pending = ch.seq.get_transaction_count(sequencer).pending().await;
            let mined = ch.seq.get_transaction_count(sequencer).latest().await;
            pending.unwrap() > mined.unwrap()
        })
    };
    // the batch is proven and sent: its transaction waits in the pool
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !waiting() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was never sent"
        );
        assert!(!committer.is_finished(), "the committer stopped unsent");
        std::thread::sleep(Duration::from_millis(100));
    }
    mine(vec![]);
    assert_eq!(count(), U256::from(1), "the batch is mined");
    // time for the node to see its receipt; it cannot see confirmations: no block is mined
    std::thread::sleep(Duration::from_secs(1));
    assert!(!committer.is_finished(), "confirmed without confirmations");
    let reverted = rpc("evm_revert")(vec![snapshot]);
    assert_eq!(reverted, serde_json::Value::Bool(true));
    assert_eq!(count(), U256::ZERO, "the batch's block is gone");

    // blocks again: the node notices and sends it again, committed once, at number 1
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while !committer.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was never committed again"
        );
        mine(vec![]);
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(committer.join().unwrap().unwrap(), Some(1));
    assert_eq!(committed(&node, &dep.id()), 1);
    assert_eq!(count(), U256::from(1));
    assert_eq!(ledger.head().unwrap().number, 1);
    let on_chain = block_on(ledger.rollup().state()).unwrap();
    assert_eq!(on_chain.state, ledger.head().unwrap().state);
    drop(anvil);
}

/// A batch transaction that stays unmined for half the escrow release delay is checked again:
/// a depositor who asked for its escrow back meanwhile has its deposit failed, the stale
/// transaction's nonce is taken by a transfer of nothing (so that it can never land later), and
/// the rest of the batch lands. Only the block count can end the wait here: the inclusion
/// timeout is longer than the test.
#[test]
fn a_batch_unmined_for_half_the_release_delay_is_checked_again_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    let (mut ch, payer, batcher) = chain(&anvil, dir.path(), 1);
    ch.ledger_config.inclusion_timeout = Duration::from_secs(3_600);
    let (ledger, node) = open_node(&ch, dir.path(), &payer, batcher);
    let mut alice = Wallet::new(71, "alice");
    let mut carol = Wallet::new(72, "carol");
    let mut deposits = vec![];
    for w in [&mut alice, &mut carol] {
        w.domain = Some(node.ledger().debit_domain());
        node.ledger().faucet(&w.account, &usd(), 100).unwrap();
        // a provider per runtime: its block watcher lives on the runtime that made it
        let funder = provider(&ch.url, B256::from_slice(&anvil.keys()[1].to_bytes()));
        block_on(fund(&ch.url, &funder, w, ch.rollup, 100));
        let (dep, _) = deposit(&node, &payer, w, 60);
        node.submit(dep.clone()).unwrap();
        deposits.push(dep);
    }

    // from here on a block is mined only when the test says so
    let rpc = |method: &'static str| {
        let seq = ch.seq.clone();
        move |params: Vec<serde_json::Value>| -> serde_json::Value {
            block_on(seq.raw_request(method.into(), params)).unwrap()
        }
    };
    let (set_automine, mine) = (rpc("evm_setAutomine"), rpc("anvil_mine"));
    set_automine(vec![false.into()]);
    let committer = {
        let node = node.clone();
        std::thread::spawn(move || node.run_batch_once())
    };
    let sequencer = anvil.addresses()[0];
    let nonces = || {
        block_on(async {
            let pending = ch.seq.get_transaction_count(sequencer).pending().await;
            let mined = ch.seq.get_transaction_count(sequencer).latest().await;
            (pending.unwrap(), mined.unwrap())
        })
    };
    let (_, mined_before) = nonces();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while nonces().0 == mined_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was never sent"
        );
        assert!(!committer.is_finished(), "the committer stopped unsent");
        std::thread::sleep(Duration::from_millis(100));
    }
    // the transaction leaves the pool unmined (as one priced out would stay unmined), and
    // Alice asks for her escrow back; then blocks pass
    rpc("anvil_dropAllTransactions")(vec![]);
    let alice_key = B256::from(*alice.account_key.to_bytes());
    let asked = std::thread::spawn({
        let (url, rollup) = (ch.url.clone(), ch.rollup);
        move || {
            block_on(async {
                ZkPayRollup::new(rollup, provider(&url, alice_key))
                    .startRelease(fe_u256(&usd().0), U256::from(100))
                    .mined()
                    .await
            })
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !asked.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the release was never mined"
        );
        mine(vec!["0x1".into()]);
        std::thread::sleep(Duration::from_millis(200));
    }
    asked.join().unwrap();
    // half the release delay (64 / 2 blocks) without the batch: the node checks the escrows
    // again, fails Alice's deposit, proves Carol's alone and replaces the transaction
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while !committer.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was never replaced"
        );
        mine(vec!["0x4".into()]);
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(committer.join().unwrap().unwrap(), Some(1));
    let b1 = ledger.batch(1).unwrap().unwrap();
    assert_eq!(b1.payments, vec![deposits[1].clone()]);
    match node.status(&deposits[0].id()).unwrap() {
        Some(PaymentStatus::Failed { reason }) => {
            assert!(reason.contains("no longer covers"), "{reason}")
        }
        other => panic!("expected failed, got {other:?}"),
    }
    // the dropped transaction's nonce went to the cancellation, the batch took the next one
    let (pending, mined) = nonces();
    assert_eq!((pending, mined), (mined_before + 2, mined_before + 2));
    assert_eq!(ledger.head().unwrap().number, 1);
    drop(anvil);
}

/// Anyone may commit once the sequencer has been silent for the contract's timeout. A node whose
/// ledger moved on without it follows the ledger before its next batch (trees, head, and the
/// payments the other batch committed, released from its mempool) and commits its own payments
/// in the batch after. Before, it took the ledger's refusal of its stale batch for a refusal of
/// the payments, failed them, and failed every later batch the same way.
#[test]
fn a_batch_committed_by_another_account_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    let (ch, payer, batcher) = chain(&anvil, dir.path(), 1);
    let (_, node) = open_node(&ch, &dir.path().join("sequencer"), &payer, batcher);
    // another node, whose account is not the sequencer
    let other_batcher = BatchProver::new(
        &KeyStore::new(dir.path()),
        Profile::Test.params(),
        SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )
    .unwrap();
    let other_ledger = Arc::new(
        EvmLedger::open(
            ch.ledger_config.clone(),
            PrivateKeySigner::from_bytes(&B256::from_slice(&anvil.keys()[2].to_bytes())).unwrap(),
            &payer.keys().verifier,
            &other_batcher.keys().verifier,
        )
        .unwrap(),
    );
    let other = Node::with_ledger(
        config(&dir.path().join("other")),
        other_ledger,
        payer.keys().verifier.clone(),
        other_batcher,
    )
    .unwrap();
    let mut deposits = vec![];
    let mut carol = None;
    for (seed, n) in [(81, &node), (82, &other)] {
        let mut w = Wallet::new(seed, "w");
        w.domain = Some(n.ledger().debit_domain());
        n.ledger().faucet(&w.account, &usd(), 100).unwrap();
        let funder = provider(&ch.url, B256::from_slice(&anvil.keys()[1].to_bytes()));
        block_on(fund(&ch.url, &funder, &w, ch.rollup, 100));
        let (dep, _) = deposit(n, &payer, &mut w, 40);
        n.submit(dep.clone()).unwrap();
        deposits.push(dep);
        carol = Some(w.account);
    }
    let carol = carol.unwrap();
    // Carol's deposit reaches the sequencer too
    node.submit(deposits[1].clone()).unwrap();
    assert_eq!(node.reserved_debits(&carol, &usd()), 40);
    // the sequencer is silent for the timeout; the other node commits batch 1
    block_on(async {
        let _: serde_json::Value = ch
            .seq
            .raw_request("anvil_mine".into(), ("0x3e9",))
            .await
            .unwrap();
    });
    assert_eq!(other.run_batch_once().unwrap(), Some(1));
    let mut b1 = other.ledger().batch(1).unwrap().unwrap().payments;
    assert_eq!(b1.len(), 1);
    assert_eq!(b1.remove(0), deposits[1]);
    // the sequencer follows the ledger before its next batch: Carol's deposit is committed in
    // batch 1 and leaves its mempool, its own goes in batch 2
    assert_eq!(node.mempool_len(), 2);
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    assert_eq!(committed(&node, &deposits[1].id()), 1);
    assert_eq!(committed(&node, &deposits[0].id()), 2);
    assert_eq!(
        node.ledger().batch(2).unwrap().unwrap().payments,
        vec![deposits[0].clone()]
    );
    assert_eq!(node.reserved_debits(&carol, &usd()), 0);
    assert_eq!(node.mempool_len(), 0);
    assert_eq!(
        block_on(async {
            ZkPayRollup::new(ch.rollup, &ch.seq)
                .batchCount()
                .call()
                .await
        })
        .unwrap(),
        U256::from(2)
    );
    drop(anvil);
}

/// GET `path` from `addr`: the status code.
fn get_status(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    status(&resp)
}

/// `zkpay-node --ledger evm`: starts on the contract with a signer key file, and refuses to
/// start without its settings, with a malformed key file, or on an address that is not a rollup
/// of its keys.
#[test]
fn zkpay_node_runs_on_the_rollup_contract_from_its_flags() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    let url = anvil.endpoint();
    let key_file = dir.path().join("sequencer.key");
    let seq_key = B256::from_slice(&anvil.keys()[0].to_bytes());
    std::fs::write(&key_file, format!("0x{}\n", hex::encode(seq_key))).unwrap();
    // the operator's tool deploys the contract with the node's keys, a test token, and
    // registers it
    let evm = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_zkpay-evm"))
            .args(["--rpc", &url, "--key-file"])
            .arg(&key_file)
            .args(args)
            .env("ZKPAY_LOG", "error")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let data_dir = dir.path().to_str().unwrap();
    let deploy = |release_delay: &str| {
        evm(&[
            "deploy",
            "--network",
            "dev",
            "--profile",
            "test",
            "--data-dir",
            data_dir,
            "--release-delay",
            release_delay,
        ])
    };
    let rollup = deploy("64");
    let token = evm(&["deploy-test-token", "--symbol", "USDT", "--decimals", "6"]);
    evm(&[
        "register-asset",
        "--contract",
        &rollup,
        "--asset",
        "USD",
        "--token",
        &token,
    ]);
    // registering an asset twice is refused, with the contract's reason
    let again = Command::new(env!("CARGO_BIN_EXE_zkpay-evm"))
        .args(["--rpc", &url, "--key-file"])
        .arg(&key_file)
        .args([
            "register-asset",
            "--contract",
            &rollup,
            "--asset",
            "USD",
            "--token",
            &token,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("AssetTaken"));
    let ch = Chain {
        url: url.clone(),
        seq_key,
        seq: provider(&url, seq_key),
        rollup: rollup.parse().unwrap(),
        token: token.parse().unwrap(),
        ledger_config: EvmLedgerConfig {
            rpc: url.clone(),
            contract: rollup.parse().unwrap(),
            network: Network::Dev,
            params: Profile::Test.params(),
            confirmations: 1,
            inclusion_timeout: Duration::from_secs(20),
        },
    };
    // an account moves tokens into its escrow, asks for part back and gets it after the delay
    let me = anvil.addresses()[0];
    block_on(async {
        TestToken::new(ch.token, provider(&url, seq_key))
            .mint(me, U256::from(5 * 100 * SCALE))
            .mined()
            .await
    });
    let escrow = |cmd: &[&str]| {
        let mut args = cmd.to_vec();
        args.extend(["--contract", &rollup, "--asset", "USD"]);
        evm(&args)
    };
    let funded = escrow(&["fund", "--amount", "5.00"]);
    assert!(funded.ends_with(": 500 (units)"), "{funded}");
    let asked = escrow(&["request-release", "--amount", "2.00"]);
    assert!(asked.contains("2.00 USD payable from block"), "{asked}");
    let early = Command::new(env!("CARGO_BIN_EXE_zkpay-evm"))
        .args(["--rpc", &url, "--key-file"])
        .arg(&key_file)
        .args(["release", "--contract", &rollup, "--asset", "USD"])
        .output()
        .unwrap();
    assert!(!early.status.success());
    assert!(String::from_utf8_lossy(&early.stderr).contains("ReleaseNotReady"));
    block_on(async {
        let _: serde_json::Value = provider(&url, seq_key)
            .raw_request("anvil_mine".into(), ("0x40",))
            .await
            .unwrap();
    });
    let to = Address::repeat_byte(0x77);
    escrow(&["release", "--to", &to.to_string()]);
    let (paid, left) = block_on(async {
        let p = provider(&url, seq_key);
        let paid = TestToken::new(ch.token, &p)
            .balanceOf(to)
            .call()
            .await
            .unwrap();
        let c = ZkPayRollup::new(ch.rollup, &p);
        (paid, c.escrow(me, fe_u256(&usd().0)).call().await.unwrap())
    });
    assert_eq!((paid, left), (U256::from(200 * SCALE), U256::from(300)));
    let node = |contract: &str, key: &std::path::Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkpay-node"));
        cmd.args([
            "--profile",
            "test",
            "--bind",
            "127.0.0.1:0",
            "--network",
            "dev",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--ledger", "evm", "--rpc", &ch.url, "--contract", contract])
        .arg("--signer-key-file")
        .arg(key)
        .env("ZKPAY_LOG", "error");
        cmd
    };
    let p = NodeProc::start(node(&rollup, &key_file).stderr(Stdio::null()));
    assert_eq!(get_status(&p.addr, "/health"), 200);
    assert_eq!(get_status(&p.addr, "/v1/info"), 200);
    drop(p);
    assert_eq!(
        block_on(async {
            ZkPayRollup::new(ch.rollup, &ch.seq)
                .batchCount()
                .call()
                .await
        })
        .unwrap(),
        U256::ZERO
    );

    let refused = |cmd: &mut Command, why: &str| {
        let out = cmd.stdout(Stdio::null()).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "expected {why:?} in {err}");
    };
    // the token is not a rollup contract
    refused(
        &mut node(&ch.token.to_string(), &key_file),
        "node failed to start",
    );
    // a rollup whose escrow release delay is too short for a batch to land within it
    refused(
        &mut node(&deploy("63"), &key_file),
        "release delay (63 blocks)",
    );
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "not a key").unwrap();
    refused(
        &mut node(&rollup, &bad_key),
        "expected 0x and 64 hex digits",
    );
    refused(
        Command::new(env!("CARGO_BIN_EXE_zkpay-node"))
            .args(["--profile", "test", "--network", "dev", "--ledger", "evm"])
            .arg("--data-dir")
            .arg(dir.path()),
        "--ledger evm needs --rpc",
    );
    refused(
        Command::new(env!("CARGO_BIN_EXE_zkpay-node"))
            .args(["--profile", "test", "--network", "dev", "--rpc", &ch.url])
            .arg("--data-dir")
            .arg(dir.path()),
        "go with --ledger evm",
    );
    drop(anvil);
}

/// A payment queued on the contract for forced inclusion (the escape hatch) leads the node's
/// next batch, even with nothing in the mempool; a payment sent to the node that spends the same
/// note is failed with the reason.
#[test]
fn the_node_leads_its_batches_with_payments_queued_on_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    let (ch, payer, batcher) = chain(&anvil, dir.path(), 1);
    let (_, node) = open_node(&ch, dir.path(), &payer, batcher);
    let mut alice = Wallet::new(51, "alice");
    alice.domain = Some(node.ledger().debit_domain());
    let bob = Wallet::new(52, "bob");
    let alice_addr = Address::from(alice.account.to_bytes());
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    let funder = provider(&ch.url, B256::from_slice(&anvil.keys()[1].to_bytes()));
    block_on(fund(&ch.url, &funder, &alice, ch.rollup, 100));
    let (dep, note) = deposit(&node, &payer, &mut alice, 60);
    let (dep2, note2) = deposit(&node, &payer, &mut alice, 20);
    let (dep3, note3) = deposit(&node, &payer, &mut alice, 10);
    for d in [dep, dep2, dep3] {
        node.submit(d).unwrap();
    }
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    assert_eq!(node.forced_pending(), 0);

    // Alice queues the withdrawal of her note on the contract herself
    let out = withdraw(&node, &payer, &mut alice, &note);
    let alice_evm = provider(&ch.url, B256::from(*alice.account_key.to_bytes()));
    block_on(async {
        ZkPayRollup::new(ch.rollup, &alice_evm)
            .forcePayment(zkpay_ledger::evm::rollup::payment_arg(&out).unwrap())
            .mined()
            .await
    });
    assert_eq!(node.forced_pending(), 1);
    assert_eq!(node.ledger().forced().unwrap(), vec![out.clone()]);
    // ... and also sends the node a payment of the same note to Bob: it can never be committed
    let conflict = pay(&node, &payer, &mut alice, &note, &bob.key, 10, 0, None);
    node.submit(conflict.clone()).unwrap();
    // Bob's invoice of 10: Alice queues its payment from one note and sends the node another
    // payment of it from another note. Only one can be paid; the queued one goes first
    let ikey = invoice_key(b"order-9", &[3u8; 16]).unwrap();
    let queued_invoice = pay(
        &node,
        &payer,
        &mut alice,
        &note2,
        &bob.key,
        10,
        0,
        Some(ikey),
    );
    let again_invoice = pay(
        &node,
        &payer,
        &mut alice,
        &note3,
        &bob.key,
        10,
        0,
        Some(ikey),
    );
    assert_eq!(
        queued_invoice.public.invoice(),
        again_invoice.public.invoice()
    );
    block_on(async {
        ZkPayRollup::new(
            ch.rollup,
            provider(&ch.url, B256::from(*alice.account_key.to_bytes())),
        )
        .forcePayment(zkpay_ledger::evm::rollup::payment_arg(&queued_invoice).unwrap())
        .mined()
        .await
    });
    node.submit(again_invoice.clone()).unwrap();

    // the node's next batch leads with the queued payments; the mempool's two that conflict
    // with them are failed before proving, not refused by the contract
    assert_eq!(node.run_batch_once().unwrap(), Some(2));
    let b2 = node.ledger().batch(2).unwrap().unwrap();
    assert_eq!(b2.payments, vec![out.clone(), queued_invoice.clone()]);
    assert_eq!(committed(&node, &out.id()), 2);
    for (p, why) in [
        (&conflict, "its note is spent by a payment queued"),
        (&again_invoice, "its invoice is paid by a payment queued"),
    ] {
        match node.status(&p.id()).unwrap() {
            Some(PaymentStatus::Failed { reason }) => assert!(reason.contains(why), "{reason}"),
            other => panic!("expected failed, got {other:?}"),
        }
    }
    assert_eq!(node.forced_pending(), 0);
    let balance = block_on(async {
        TestToken::new(ch.token, &ch.seq)
            .balanceOf(alice_addr)
            .call()
            .await
    })
    .unwrap();
    assert_eq!(
        balance,
        U256::from(60 * SCALE),
        "the 60 came back to Alice's account (10 stay in her escrow)"
    );
    drop(anvil);
}

/// Anyone may queue a copy of a payment that a batch has already committed (its proof is valid
/// and its root still recent). It can never be included, so the node drops it on the contract
/// with the spending batch as evidence, and its waiting payments are committed, not failed.
#[test]
fn a_committed_payment_queued_again_is_dropped_and_does_not_stall_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = spawn_anvil().unwrap();
    let (ch, payer, batcher) = chain(&anvil, dir.path(), 1);
    let (_, node) = open_node(&ch, dir.path(), &payer, batcher);
    let mut alice = Wallet::new(61, "alice");
    alice.domain = Some(node.ledger().debit_domain());
    node.ledger().faucet(&alice.account, &usd(), 100).unwrap();
    let funder = provider(&ch.url, B256::from_slice(&anvil.keys()[1].to_bytes()));
    block_on(fund(&ch.url, &funder, &alice, ch.rollup, 100));
    let (dep, note) = deposit(&node, &payer, &mut alice, 60);
    node.submit(dep).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(1));
    let out = withdraw(&node, &payer, &mut alice, &note);
    node.submit(out.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(2));

    // Mallory, who owns nothing here, copies the withdrawal from batch 2's event into the queue
    let mallory = provider(&ch.url, B256::from_slice(&anvil.keys()[2].to_bytes()));
    block_on(async {
        ZkPayRollup::new(ch.rollup, &mallory)
            .forcePayment(zkpay_ledger::evm::rollup::payment_arg(&out).unwrap())
            .mined()
            .await
    });
    assert_eq!(node.forced_pending(), 1);

    // an honest deposit waits; the node's next batch commits it and consumes the dead entry
    let (dep2, _) = deposit(&node, &payer, &mut alice, 25);
    node.submit(dep2.clone()).unwrap();
    assert_eq!(node.run_batch_once().unwrap(), Some(3));
    assert_eq!(
        node.ledger().forced().unwrap(),
        vec![],
        "dropped, not led with"
    );
    assert_eq!(committed(&node, &dep2.id()), 3);
    assert_eq!(
        node.ledger().batch(3).unwrap().unwrap().payments,
        vec![dep2]
    );
    assert_eq!(node.forced_pending(), 0);
    let dropped = block_on(async {
        ZkPayRollup::new(ch.rollup, &ch.seq)
            .forcedQueue(U256::ZERO)
            .call()
            .await
    })
    .unwrap();
    assert!(dropped.dead);
    drop(anvil);
}
