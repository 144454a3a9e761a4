//! `ZkPayRollup` on a real chain (the pinned anvil), driven the way a node drives it and, for
//! the attacks, the way an attacker who bypasses the node would: a deposit pulled in the token
//! only with the depositor's signature, an invoice paid once, a withdrawal paid out in the token,
//! fees owed and claimed; a double spend, a replayed invoice, a forged chunk proof and unsigned
//! or wrongly signed deposits refused by the contract itself; the forced-inclusion queue and the
//! sequencer timeout; and the whole log rebuilt from the contract's events.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkpay_ledger::evm::chain::spawn_anvil;
use zkpay_ledger::evm::contracts::{TestToken, ZkPayRollup};
use zkpay_ledger::evm::rollup::{
    deploy, escrow_available, fe_u256, fund_escrow, payment_arg, reason, Deployment, Rollup,
};
use zkpay_ledger::{BatchSubmission, ChunkSubmission, PaymentSubmission};
use zkpay_protocol::account::{AccountKey, DebitDomain, DebitSignature};
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::encryption::{encrypt_note, try_open_note};
use zkpay_protocol::field::F;
use zkpay_protocol::invoice::{invoice_key, invoice_tag};
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::note::{Asset, AssetId, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentWitness, PublicAccount};
use zkpay_prover::{BatchProver, KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::batch::ChainState;
use zkpay_verifier::encode_proof;

const DEPTH: usize = 4;
const SLOTS: usize = 2;
const FORCE_DELAY: u64 = 5;
const TIMEOUT: u64 = 40;
const RELEASE_DELAY: u64 = 6;
/// Token units per asset unit: the token has 6 decimals, USD 2.
const SCALE: u64 = 10_000;

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

alloy::sol!(
    #[sol(rpc)]
    TestFeeToken,
    "../contracts/out/TestFeeToken.json"
);

fn provider(url: &str, key: B256) -> DynProvider {
    ProviderBuilder::new()
        .wallet(PrivateKeySigner::from_bytes(&key).unwrap())
        .connect_http(url.parse().unwrap())
        .erased()
}

struct World {
    payer: PaymentProver,
    batcher: BatchProver,
    params: ChunkParams,
    /// The native mirror of the committed trees.
    state: RollupState,
    rng: ChaCha20Rng,
    asset: AssetId,
    fee_account: PublicAccount,
    url: String,
    rollup: Rollup,
    token: Address,
    seq: DynProvider,
    /// The ledger deposits are signed for: this chain and the contract.
    domain: DebitDomain,
    /// Every committed batch, as submitted.
    committed: Vec<BatchSubmission>,
}

/// The outcome of a contract call, as the contract's error name (or "ok").
fn outcome<T>(r: Result<T, alloy::contract::Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => reason(&e),
    }
}

impl World {
    fn ext(&self, account: Option<PublicAccount>, cts: [Vec<u8>; 2]) -> ExtData {
        ExtData {
            network: Network::Dev,
            fee_recipient: self.fee_account,
            public_account: account,
            ciphertexts: cts,
        }
    }

    fn root(&self) -> Root {
        Root(self.state.notes.root())
    }

    /// A payment by `from` spending the notes at `inputs`, with `outputs` (output 0 encrypted
    /// to `to`), public value `pv` to or from `account`, `fee`, paying `invoice` when given.
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        from: &SpendingKey,
        inputs: &[(Note, u64)],
        outputs: &[Note],
        to: &SpendingKey,
        pv: i128,
        fee: u64,
        account: Option<PublicAccount>,
        invoice: Option<F>,
    ) -> PaymentSubmission {
        let ct = match outputs.first() {
            Some(n) => {
                encrypt_note(n, b"thanks", &to.address(Network::Dev).tk, &mut self.rng).unwrap()
            }
            None => vec![],
        };
        let ext = self.ext(account, [ct, vec![]]);
        let ins: Vec<_> = inputs
            .iter()
            .map(|(n, pos)| (*n, self.state.notes.path(*pos).unwrap()))
            .collect();
        let mut w = PaymentWitness::build(
            &from.spend_authority(),
            self.asset,
            self.root(),
            DEPTH,
            &ins,
            outputs,
            pv,
            fee,
            ext.hash(),
            &mut self.rng,
        )
        .unwrap();
        w.invoice = invoice;
        let (proof, public) = self.payer.prove(&w, &mut self.rng).unwrap();
        PaymentSubmission {
            public,
            ext,
            proof: encode_proof(&proof).to_vec(),
            authorization: None,
        }
    }

    /// A deposit of `v` from `who`'s account to a new note of `to`, signed by `signer`.
    fn deposit(
        &mut self,
        who: &AccountKey,
        signer: &AccountKey,
        to: &SpendingKey,
        v: u64,
    ) -> (PaymentSubmission, Note) {
        let note = Note::new(
            self.asset,
            v,
            to.spend_authority().owner_key(),
            &mut self.rng,
        );
        let mut p = self.pay(
            to,
            &[],
            &[note],
            to,
            v as i128,
            0,
            Some(who.account()),
            None,
        );
        let debit = p.public.debit(&p.ext, self.domain).unwrap();
        p.authorization = Some(signer.sign(&debit).unwrap());
        (p, note)
    }

    /// The chunk proofs of `payments` on the committed state, and the state after them.
    fn prove(&self, payments: &[PaymentSubmission]) -> (BatchSubmission, RollupState) {
        let publics: Vec<_> = payments.iter().map(|p| p.public.clone()).collect();
        let mut next = self.state.clone();
        let chunks = next.apply_batch(&publics).unwrap();
        let proofs = self.batcher.prove_batch(&chunks).unwrap();
        let chunks = chunks
            .iter()
            .zip(&proofs)
            .map(|((public, _), pr)| ChunkSubmission {
                public: *public,
                proof: encode_proof(pr).to_vec(),
            })
            .collect();
        let b = BatchSubmission {
            number: self.committed.len() as u64 + 1,
            parent: [0; 32],
            payments: payments.to_vec(),
            chunks,
        };
        (b, next)
    }

    /// Sends a batch from `sender` (the sequencer when `None`); on success the mirror follows.
    async fn send(
        &mut self,
        batch: &BatchSubmission,
        next: &RollupState,
        forced: usize,
        sender: Option<&DynProvider>,
    ) -> String {
        let call = self.rollup.batch_call(batch, forced).unwrap();
        let c = ZkPayRollup::new(self.rollup.address(), sender.unwrap_or(&self.seq).clone());
        let builder = c.commitBatch(call.payments, call.chunks, call.forcedCount);
        // estimate first: a refused send would take a nonce from the provider's cache
        let r = match builder.estimate_gas().await {
            // with a margin, as `Rollup::commit` sends: anvil's estimate can be short of what
            // the pairing precompile needs under the 63/64 rule
            Ok(gas) => builder.gas(gas + gas / 5).send().await,
            Err(e) => Err(e),
        };
        let r = match r {
            Ok(pending) => {
                let receipt = pending.get_receipt().await.unwrap();
                assert!(receipt.status());
                eprintln!(
                    "batch {} of {} payments: {} gas",
                    self.committed.len() + 1,
                    batch.payments.len(),
                    receipt.gas_used
                );
                Ok(())
            }
            Err(e) => Err(e),
        };
        let out = outcome(r);
        if out == "ok" {
            self.state = next.clone();
            self.committed.push(batch.clone());
        }
        out
    }

    async fn commit(&mut self, payments: &[PaymentSubmission]) {
        let (b, next) = self.prove(payments);
        assert_eq!(self.send(&b, &next, 0, None).await, "ok");
    }

    async fn token_balance(&self, who: Address) -> U256 {
        TestToken::new(self.token, &self.seq)
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self
            .seq
            .raw_request("anvil_mine".into(), (format!("{blocks:#x}"),))
            .await
            .unwrap();
    }

    /// An EVM account with ether and `tokens`, `escrowed` of them moved into its escrow.
    async fn account(&self, key: &AccountKey, tokens: u64, escrowed: u64) -> DynProvider {
        let addr = Address::from(key.account().to_bytes());
        let secret = B256::from(*key.to_bytes());
        let signer = PrivateKeySigner::from_bytes(&secret).unwrap();
        assert_eq!(signer.address(), addr, "account ids are Ethereum addresses");
        let p = provider(&self.url, secret);
        let tx = TransactionRequest::default()
            .with_to(addr)
            .with_value(U256::from(10u64).pow(U256::from(18)));
        self.seq
            .send_transaction(tx)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let t = TestToken::new(self.token, &self.seq);
        t.mint(addr, U256::from(tokens) * U256::from(SCALE))
            .mined()
            .await;
        if escrowed > 0 {
            fund_escrow(&p, addr, self.rollup.address(), &self.asset, escrowed)
                .await
                .unwrap();
        }
        p
    }

    /// What `who`'s deposits can draw on: its escrow, less any release it asked for.
    async fn escrow(&self, who: Address) -> U256 {
        escrow_available(self.rollup.contract(), who, &self.asset)
            .await
            .unwrap()
    }
}

fn units(v: u64) -> U256 {
    U256::from(v) * U256::from(SCALE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_contract_settles_payments_and_refuses_attacks() {
    let keys = tempfile::tempdir().unwrap();
    let store = KeyStore::new(keys.path());
    let mode = SetupMode::InsecureDevelopment { seed: 5 };
    let params = ChunkParams::new(DEPTH, SLOTS).unwrap();
    let payer = PaymentProver::new(&store, DEPTH, mode, None).unwrap();
    let batcher = BatchProver::new(&store, params, mode, None).unwrap();

    let anvil = spawn_anvil().unwrap();
    let url = anvil.endpoint();
    let seq = provider(&url, B256::from_slice(&anvil.keys()[0].to_bytes()));
    let seq_addr = anvil.addresses()[0];
    let d = Deployment {
        network: Network::Dev,
        params,
        root_window: 8,
        force_delay: FORCE_DELAY,
        sequencer_timeout: TIMEOUT,
        release_delay: RELEASE_DELAY,
        sequencer: seq_addr,
    };
    let at = deploy(&seq, &d, &payer.keys().pk.vk, &batcher.keys().pk.vk)
        .await
        .unwrap();
    let rollup = Rollup::at(at, seq.clone(), Network::Dev, params);
    rollup
        .check(&payer.keys().pk.vk, &batcher.keys().pk.vk)
        .await
        .unwrap();
    // a node whose keys differ refuses to follow this contract
    assert!(rollup
        .check(&batcher.keys().pk.vk, &payer.keys().pk.vk)
        .await
        .is_err());
    let genesis = rollup.state().await.unwrap();
    assert_eq!(genesis.batches, 0);
    assert_eq!(genesis.state, ChainState::genesis(params).unwrap());

    let token = TestToken::deploy(&seq, "zkpay test dollar".into(), "USDT".into(), 6)
        .await
        .unwrap();
    let asset = Asset::from_text("USD").unwrap().id();
    let c = ZkPayRollup::new(at, &seq);
    c.registerAsset(fe_u256(&asset.0), *token.address(), 2)
        .mined()
        .await;
    // an asset's token never changes
    assert_eq!(
        outcome(
            c.registerAsset(fe_u256(&asset.0), *token.address(), 2)
                .call()
                .await
        ),
        "AssetTaken(AssetTaken)"
    );

    let mut w = World {
        payer,
        batcher,
        params,
        state: RollupState::new(params).unwrap(),
        rng: ChaCha20Rng::seed_from_u64(11),
        asset,
        fee_account: PublicAccount::from_bytes(seq_addr.into_array()),
        url: url.clone(),
        rollup,
        token: *token.address(),
        seq: seq.clone(),
        domain: DebitDomain {
            chain_id: seq.get_chain_id().await.unwrap(),
            verifying_contract: PublicAccount::from_bytes(at.into_array()),
        },
        committed: vec![],
    };
    assert_eq!(w.params.slots, SLOTS);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let alice_acct = AccountKey::random(&mut rng);
    let mallory_acct = AccountKey::random(&mut rng);
    let bob_acct = AccountKey::random(&mut rng);
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng);
    let alice_evm = w.account(&alice_acct, 5_000, 4_000).await;
    let mallory_evm = w.account(&mallory_acct, 0, 0).await;
    let alice_addr = Address::from(alice_acct.account().to_bytes());
    let bob_addr = Address::from(bob_acct.account().to_bytes());

    // an escrow takes exactly what its account sends: a token that keeps a fee on transfer
    // (the escrow would count more than the contract holds) is refused
    let fee_token = TestFeeToken::deploy(&seq).await.unwrap();
    let eur = Asset::from_text("EUR").unwrap().id();
    c.registerAsset(fe_u256(&eur.0), *fee_token.address(), 2)
        .mined()
        .await;
    TestFeeToken::new(*fee_token.address(), &seq)
        .mint(alice_addr, units(100))
        .mined()
        .await;
    let alice_fee = TestFeeToken::new(*fee_token.address(), &alice_evm);
    alice_fee.approve(at, units(100)).mined().await;
    assert_eq!(
        outcome(
            ZkPayRollup::new(at, &alice_evm)
                .fund(fe_u256(&eur.0), U256::from(100))
                .call()
                .await
        ),
        "TokenTransferFailed(TokenTransferFailed { index: 0 })"
    );

    // --- batch 1: a deposit, pulled from Alice's account only with her signature ---
    let (dep, alice_note) = w.deposit(&alice_acct, &alice_acct, &alice, 1_000);
    // a second deployment of the same network, keys and genesis on the same chain, where Alice
    // has an escrow too: her signature for the first contract is worth nothing there (its
    // EIP-712 domain names the chain and the contract), even in a batch identical to the first
    let at2 = deploy(&seq, &d, &w.payer.keys().pk.vk, &w.batcher.keys().pk.vk)
        .await
        .unwrap();
    let c2 = ZkPayRollup::new(at2, &seq);
    c2.registerAsset(fe_u256(&asset.0), *token.address(), 2)
        .mined()
        .await;
    fund_escrow(&alice_evm, alice_addr, at2, &asset, 500)
        .await
        .unwrap();
    let (b, _) = w.prove(std::slice::from_ref(&dep));
    let call = w.rollup.batch_call(&b, 0).unwrap();
    assert!(
        outcome(
            c2.commitBatch(call.payments, call.chunks, call.forcedCount)
                .call()
                .await
        )
        .starts_with("BadAuthorization"),
        "a deposit signed for another deployment"
    );
    assert_eq!(
        c2.domainSeparator().call().await.unwrap().0,
        DebitDomain {
            chain_id: w.domain.chain_id,
            verifying_contract: PublicAccount::from_bytes(at2.into_array()),
        }
        .separator()
    );
    assert_eq!(
        c.domainSeparator().call().await.unwrap().0,
        w.domain.separator()
    );
    let mut unsigned = dep.clone();
    unsigned.authorization = None;
    let (b, next) = w.prove(&[unsigned]);
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("BadAuthorization"));
    // Mallory signs a debit of Alice's account
    let mut forged = dep.clone();
    // (our signer refuses to sign for another account; an attacker's tool does not)
    let digest = B256::from(dep.public.debit(&dep.ext, w.domain).unwrap().digest());
    let mallory_signer =
        PrivateKeySigner::from_bytes(&B256::from(*mallory_acct.to_bytes())).unwrap();
    let sig = mallory_signer.sign_hash_sync(&digest).unwrap().as_bytes();
    forged.authorization = Some(DebitSignature(sig));
    let (b, next) = w.prove(&[forged]);
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("BadAuthorization"));
    // the signature of another payment (same account, same amount)
    let (other, _) = w.deposit(&alice_acct, &alice_acct, &alice, 1_000);
    let mut swapped = dep.clone();
    swapped.authorization = other.authorization;
    let (b, next) = w.prove(&[swapped]);
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("BadAuthorization"));
    // only the sequencer commits (until the timeout)
    // the contract's encoders are the protocol's: ext data, its hash, the payment id
    let arg = payment_arg(&dep).unwrap();
    assert_eq!(
        c.extData(arg.clone()).call().await.unwrap().to_vec(),
        dep.ext.to_bytes()
    );
    assert_eq!(
        c.extDataHash(arg.clone()).call().await.unwrap(),
        fe_u256(&dep.public.ext_data_hash)
    );
    assert_eq!(c.paymentId(arg).call().await.unwrap(), B256::from(dep.id()));
    let (b, next) = w.prove(std::slice::from_ref(&dep));
    assert!(w
        .send(&b, &next, 0, Some(&mallory_evm))
        .await
        .starts_with("NotSequencer"));
    // Alice front-runs the batch that carries her signed deposit: once the sequencer has
    // screened it, she asks for her whole escrow back, revokes the contract's allowance and
    // moves every token she holds away. The batch must land all the same (it would otherwise
    // revert after its pairing check, at the sequencer's cost, and every batch carrying one of
    // her deposits could be made to): the escrow leaves only after the release delay
    let alice_c = ZkPayRollup::new(at, &alice_evm);
    let usd = fe_u256(&asset.0);
    alice_c.startRelease(usd, U256::from(4_000)).mined().await;
    let stash = Address::repeat_byte(0x5a);
    assert_eq!(
        outcome(alice_c.release(usd, stash).call().await),
        "ReleaseNotReady(ReleaseNotReady)"
    );
    // (no more than the escrow can be asked for)
    assert_eq!(
        outcome(alice_c.startRelease(usd, U256::from(4_001)).call().await),
        "EscrowShort(EscrowShort { index: 0 })"
    );
    let alice_t = TestToken::new(w.token, &alice_evm);
    alice_t.approve(at, U256::ZERO).mined().await;
    let held = w.token_balance(alice_addr).await;
    assert_eq!(held, units(500));
    alice_t.transfer(stash, held).mined().await;
    assert_eq!(w.send(&b, &next, 0, None).await, "ok");
    assert_eq!(
        c.escrow(alice_addr, usd).call().await.unwrap(),
        U256::from(3_000)
    );
    assert_eq!(w.token_balance(at).await, units(4_000));
    assert_eq!(c.pool(usd).call().await.unwrap(), U256::from(1_000));
    // after the delay the release pays what batches left of the escrow (3,000 of the 4,000
    // asked for), once
    assert_eq!(
        outcome(alice_c.release(usd, stash).call().await),
        "ReleaseNotReady(ReleaseNotReady)"
    );
    w.mine(RELEASE_DELAY).await;
    alice_c.release(usd, stash).mined().await;
    assert_eq!(w.token_balance(stash).await, units(3_500));
    assert_eq!(w.escrow(alice_addr).await, U256::ZERO);
    assert_eq!(w.token_balance(at).await, units(1_000));
    assert_eq!(
        outcome(alice_c.release(usd, stash).call().await),
        "ReleaseNotReady(ReleaseNotReady)"
    );
    // a deposit its escrow does not cover is refused by the contract itself
    let (short, _) = w.deposit(&alice_acct, &alice_acct, &alice, 50);
    let (b, next) = w.prove(std::slice::from_ref(&short));
    assert_eq!(
        w.send(&b, &next, 0, None).await,
        "EscrowShort(EscrowShort { index: 0 })"
    );
    // an escrow takes only the tokens its account sends, exactly (no allowance, no funding)
    assert!(
        outcome(alice_c.fund(usd, U256::from(100)).call().await).starts_with("TokenTransferFailed")
    );
    assert!(outcome(alice_c.fund(usd, U256::ZERO).call().await).starts_with("BadParameters"));
    TestToken::new(w.token, &seq)
        .mint(alice_addr, units(100))
        .mined()
        .await;
    fund_escrow(&alice_evm, alice_addr, at, &asset, 100)
        .await
        .unwrap();
    assert_eq!(w.escrow(alice_addr).await, U256::from(100));
    // two deposits that the escrow covers one at a time but not together: the second is refused
    let (d60, _) = w.deposit(&alice_acct, &alice_acct, &alice, 60);
    let (d50, _) = w.deposit(&alice_acct, &alice_acct, &alice, 50);
    let (b, next) = w.prove(&[d60, d50]);
    assert_eq!(
        w.send(&b, &next, 0, None).await,
        "EscrowShort(EscrowShort { index: 1 })"
    );

    // --- batch 2: Alice pays Bob's invoice of 300, fee 10, change 690 ---
    let ikey = invoice_key(b"order-17", &[7u8; 16]).unwrap();
    let to_bob = Note::new(asset, 300, bob.spend_authority().owner_key(), &mut w.rng);
    let change = Note::new(asset, 690, alice.spend_authority().owner_key(), &mut w.rng);
    let invoice = w.pay(
        &alice,
        &[(alice_note, 0)],
        &[to_bob, change],
        &bob,
        0,
        10,
        None,
        Some(ikey),
    );
    assert_eq!(
        invoice.public.invoice_tag,
        invoice_tag(&ikey, &bob.spend_authority().owner_key(), 300, &asset)
    );
    let (b, next) = w.prove(std::slice::from_ref(&invoice));
    // a forged chunk: a new root the proof does not state, or the proof of another chunk
    let mut bad = b.clone();
    bad.chunks[0].public.new_note_root = Root(F::from(77u64));
    assert!(w
        .send(&bad, &next, 0, None)
        .await
        .starts_with("ProofsRefused"));
    let mut bad = b.clone();
    bad.chunks[0].proof = w.committed[0].chunks[0].proof.clone();
    assert!(w
        .send(&bad, &next, 0, None)
        .await
        .starts_with("ProofsRefused"));
    // a payment proof that is not this payment's
    let mut bad = b.clone();
    bad.payments[0].proof = dep.proof.clone();
    assert!(w
        .send(&bad, &next, 0, None)
        .await
        .starts_with("ProofsRefused"));
    assert_eq!(w.send(&b, &next, 0, None).await, "ok");
    let bob_at = w.committed[1].chunks[0].public.note_start; // output 0 of the only payment
    let change_at = bob_at + 1;
    assert_eq!(c.owed(w.token, seq_addr).call().await.unwrap(), units(10));

    // --- a replayed invoice: a new, valid payment of the same invoice, with a valid chunk proof ---
    let to_bob2 = Note::new(asset, 300, bob.spend_authority().owner_key(), &mut w.rng);
    let change2 = Note::new(asset, 390, alice.spend_authority().owner_key(), &mut w.rng);
    let replay = w.pay(
        &alice,
        &[(change, change_at)],
        &[to_bob2, change2],
        &bob,
        0,
        0,
        None,
        Some(ikey),
    );
    assert_eq!(replay.public.invoice_tag, invoice.public.invoice_tag);
    let (rb, rnext) = w.prove(std::slice::from_ref(&replay));
    assert!(w
        .send(&rb, &rnext, 0, None)
        .await
        .starts_with("InvoiceAlreadyPaid"));
    // the same whole batch again
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("InvoiceAlreadyPaid"));

    // --- a double spend: Alice's first note again. No chunk proof exists (the nullifier is in
    // the tree); the contract refuses the payment with any chunk proof an attacker has ---
    let again = Note::new(
        asset,
        1_000,
        alice.spend_authority().owner_key(),
        &mut w.rng,
    );
    let double = w.pay(
        &alice,
        &[(alice_note, 0)],
        &[again],
        &alice,
        0,
        0,
        None,
        None,
    );
    assert!(w
        .state
        .clone()
        .apply_batch(std::slice::from_ref(&double.public))
        .is_err());
    let mut forged = rb.clone();
    forged.payments = vec![double.clone()];
    assert!(w
        .send(&forged, &rnext, 0, None)
        .await
        .starts_with("ProofsRefused"));
    let mut forged = b.clone();
    forged.payments = vec![double.clone()];
    assert!(w
        .send(&forged, &next, 0, None)
        .await
        .starts_with("ProofsRefused"));

    // --- batch 3: Bob withdraws his 300 to his account, paid out in the token ---
    let bob_acct_id = bob_acct.account();
    let withdraw = w.pay(
        &bob,
        &[(to_bob, bob_at)],
        &[],
        &bob,
        -300,
        0,
        Some(bob_acct_id),
        None,
    );
    w.commit(&[withdraw]).await;
    assert_eq!(w.token_balance(bob_addr).await, units(300));
    assert_eq!(
        c.pool(fe_u256(&asset.0)).call().await.unwrap(),
        U256::from(690)
    );
    // the fee is owed to its recipient, who claims it to another address of its own (one the
    // token would not pay could not claim otherwise); a second claim finds nothing owed
    let before = w.token_balance(seq_addr).await;
    let elsewhere = Address::repeat_byte(0xca);
    c.claimTo(w.token, elsewhere).mined().await;
    assert_eq!(w.token_balance(elsewhere).await, units(10));
    assert_eq!(c.owed(w.token, seq_addr).call().await.unwrap(), U256::ZERO);
    c.claim(w.token).mined().await;
    assert_eq!(w.token_balance(seq_addr).await, before);
    assert_eq!(w.token_balance(elsewhere).await, units(10));

    // --- the escape hatch: Alice queues the withdrawal of her change herself ---
    let out = w.pay(
        &alice,
        &[(change, change_at)],
        &[],
        &alice,
        -690,
        0,
        Some(alice_acct.account()),
        None,
    );
    // a queued payment's proof is checked when it is queued; deposits cannot be queued
    let mut bad = payment_arg(&out).unwrap();
    bad.proof = payment_arg(&dep).unwrap().proof;
    assert!(outcome(alice_c.forcePayment(bad).call().await).starts_with("ProofsRefused"));
    let (dep2, dep2_note) = w.deposit(&alice_acct, &alice_acct, &alice, 50);
    assert!(outcome(
        alice_c
            .forcePayment(payment_arg(&dep2).unwrap())
            .call()
            .await
    )
    .contains("a queued payment cannot be a deposit"));
    alice_c
        .forcePayment(payment_arg(&out).unwrap())
        .mined()
        .await;
    assert_eq!(c.forcedPending().call().await.unwrap(), U256::from(1));
    // within the delay the sequencer may commit other payments first (this deposit, batch 4)
    w.commit(std::slice::from_ref(&dep2)).await;
    // past the delay, a batch that leaves it out is refused...
    w.mine(FORCE_DELAY + 1).await;
    let (dep3, _) = w.deposit(&alice_acct, &alice_acct, &alice, 20);
    let (b, next) = w.prove(std::slice::from_ref(&dep3));
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("ForcedOverdue"));
    // ...and one that includes it first is accepted: batch 5. A queued payment's root may have
    // left the window meanwhile; it was checked when queued.
    let before = w.token_balance(alice_addr).await;
    let (b, next) = w.prove(&[out.clone(), dep3.clone()]);
    // claiming a queued payment that is not the queue's is refused
    assert!(w
        .send(&b, &next, 2, None)
        .await
        .starts_with("BadBatchShape"));
    // a payment other than the queued one (the same note, withdrawn by another payment)
    let other_out = w.pay(
        &alice,
        &[(change, change_at)],
        &[],
        &alice,
        -690,
        0,
        Some(alice_acct.account()),
        None,
    );
    let (bs, nexts) = w.prove(&[other_out, dep3.clone()]);
    assert!(w
        .send(&bs, &nexts, 1, None)
        .await
        .starts_with("ForcedMismatch"));
    assert_eq!(w.send(&b, &next, 1, None).await, "ok");
    assert_eq!(w.token_balance(alice_addr).await - before, units(690));
    assert_eq!(c.forcedPending().call().await.unwrap(), U256::ZERO);

    // --- a queued payment whose note the sequencer spends meanwhile is skipped (dead) ---
    let dep2_at = w.committed[3].chunks[0].public.note_start;
    let to_bob3 = Note::new(asset, 50, bob.spend_authority().owner_key(), &mut w.rng);
    let queued = w.pay(
        &alice,
        &[(dep2_note, dep2_at)],
        &[to_bob3],
        &bob,
        0,
        0,
        None,
        None,
    );
    alice_c
        .forcePayment(payment_arg(&queued).unwrap())
        .mined()
        .await;
    // no two pending entries share a nullifier (two entries spending one note would block the
    // queue: the second could never be included)
    let twin = w.pay(
        &alice,
        &[(dep2_note, dep2_at)],
        &[],
        &alice,
        -50,
        0,
        Some(alice_acct.account()),
        None,
    );
    assert!(outcome(
        alice_c
            .forcePayment(payment_arg(&twin).unwrap())
            .call()
            .await
    )
    .starts_with("AlreadyQueued"));
    let to_self = Note::new(asset, 50, alice.spend_authority().owner_key(), &mut w.rng);
    let spend = w.pay(
        &alice,
        &[(dep2_note, dep2_at)],
        &[to_self],
        &alice,
        0,
        0,
        None,
        None,
    );
    w.commit(std::slice::from_ref(&spend)).await; // batch 6: the entry is dead now
    assert!(c.forcedQueue(U256::from(1)).call().await.unwrap().dead);
    w.mine(FORCE_DELAY + 1).await;
    let (dep4, _) = w.deposit(&alice_acct, &alice_acct, &alice, 5);
    let (b, next) = w.prove(std::slice::from_ref(&dep4));
    // an overdue entry must be consumed, even a dead one (it is skipped)
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("ForcedOverdue"));
    assert_eq!(w.send(&b, &next, 1, None).await, "ok"); // batch 7
    assert_eq!(c.forcedPending().call().await.unwrap(), U256::ZERO);

    // --- a queued payment whose nullifier was spent before it was queued: marked dead with the
    // evidence of the batch that spent it ---
    let stale = w.pay(
        &alice,
        &[(alice_note, 0)],
        &[],
        &alice,
        -1_000,
        0,
        Some(alice_acct.account()),
        None,
    );
    alice_c
        .forcePayment(payment_arg(&stale).unwrap())
        .mined()
        .await;
    let nfs = |bt: &BatchSubmission| -> Vec<U256> {
        bt.payments
            .iter()
            .flat_map(|p| p.public.nullifiers.map(|n| fe_u256(&n.0)))
            .collect()
    };
    let spent = nfs(&w.committed[1]); // batch 2 spent Alice's first note
    let two = U256::from(2);
    // wrong evidence: another batch, a wrong list, a nullifier that is not the entry's
    assert!(outcome(
        c.dropForced(two, U256::from(3), spent.clone(), U256::ZERO)
            .call()
            .await
    )
    .starts_with("NoEvidence"));
    let mut wrong = spent.clone();
    wrong.push(U256::from(1));
    assert!(
        outcome(c.dropForced(two, two, wrong, U256::ZERO).call().await).starts_with("NoEvidence")
    );
    assert!(outcome(
        c.dropForced(two, two, spent.clone(), U256::from(1))
            .call()
            .await
    )
    .starts_with("NoEvidence"));
    // anyone may mark it dead with the batch that spent its nullifier
    ZkPayRollup::new(at, &mallory_evm)
        .dropForced(two, two, spent.clone(), U256::ZERO)
        .mined()
        .await;
    assert!(
        outcome(c.dropForced(two, two, spent, U256::ZERO).call().await)
            .starts_with("NothingQueued")
    );
    w.mine(FORCE_DELAY + 1).await;
    let (dep5, _) = w.deposit(&alice_acct, &alice_acct, &alice, 1);
    let (b, next) = w.prove(std::slice::from_ref(&dep5));
    assert!(w
        .send(&b, &next, 0, None)
        .await
        .starts_with("ForcedOverdue"));
    assert_eq!(w.send(&b, &next, 1, None).await, "ok"); // batch 8
    assert_eq!(c.forcedPending().call().await.unwrap(), U256::ZERO);

    // --- the sequencer goes silent: after the timeout anyone may commit ---
    let (dep6, _) = w.deposit(&alice_acct, &alice_acct, &alice, 1);
    let (b, next) = w.prove(std::slice::from_ref(&dep6));
    assert!(w
        .send(&b, &next, 0, Some(&mallory_evm))
        .await
        .starts_with("NotSequencer"));
    w.mine(TIMEOUT + 1).await;
    assert_eq!(w.send(&b, &next, 0, Some(&mallory_evm)).await, "ok"); // batch 9
                                                                      // anyone's commit does not restart the sequencer's timeout
    let (dep7, _) = w.deposit(&alice_acct, &alice_acct, &alice, 1);
    let (b, next) = w.prove(std::slice::from_ref(&dep7));
    assert_eq!(w.send(&b, &next, 0, Some(&mallory_evm)).await, "ok"); // batch 10

    // --- a node with a fresh data directory rebuilds the log from the events alone ---
    let rebuilt = w.rollup.committed_batches(None).await.unwrap();
    let on_chain = w.rollup.state().await.unwrap();
    assert_eq!(rebuilt.len(), 10);
    assert_eq!(on_chain.batches, 10);
    assert_eq!(on_chain.state, ChainState::of(&w.state));
    assert_eq!(rebuilt.last().unwrap().state, on_chain.state);
    let genesis = zkpay_ledger::genesis_head(Network::Dev, params).unwrap();
    let mut parent = genesis.hash;
    for (r, s) in rebuilt.iter().zip(&w.committed) {
        assert_eq!(r.parent, parent);
        parent = r.hash;
        assert_eq!(r.payments, s.payments, "batch {}", r.number);
        let publics: Vec<_> = r.chunks.iter().map(|c| c.public).collect();
        let submitted: Vec<_> = s.chunks.iter().map(|c| c.public).collect();
        assert_eq!(publics, submitted, "batch {}", r.number);
    }
    // Bob finds his note in batch 2's event
    let p = &rebuilt[1].payments[0];
    let (note, memo) = try_open_note(
        &bob.incoming_viewing_key(),
        &bob.spend_authority().owner_key(),
        &p.public.commitments[0],
        &p.ext.ciphertexts[0],
    )
    .unwrap();
    assert_eq!((note.value, memo.as_slice()), (300, &b"thanks"[..]));
    // a rebuild up to an earlier block stops there
    let first = w.rollup.committed_batches(Some(1)).await.unwrap();
    assert!(first.is_empty());
    // reading on from a batch held (what a node's sync does) gives the same later batches,
    // read from that batch's block on
    let all = w.rollup.committed_batches_after(None, None).await.unwrap();
    let (b7, block7) = &all[6];
    let later = w
        .rollup
        .committed_batches_after(Some((b7, *block7)), None)
        .await
        .unwrap();
    assert_eq!(later.len(), 3);
    assert_eq!(
        later.iter().map(|(b, _)| b.clone()).collect::<Vec<_>>(),
        rebuilt[7..].to_vec()
    );
    assert!(later.windows(2).all(|w| w[0].1 <= w[1].1) && later[0].1 >= *block7);
    // ... and refuses to chain them onto a batch they do not follow
    let mut other = b7.clone();
    other.state.note_cursor += 1;
    assert!(w
        .rollup
        .committed_batches_after(Some((&other, *block7)), None)
        .await
        .is_err());
    drop(anvil);
}
