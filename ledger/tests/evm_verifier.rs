//! `Groth16BatchVerifier` on a real chain (the pinned anvil): payment and chunk proofs made by the
//! prover verify on chain exactly when they verify natively, alone, in batches and both keys in
//! one pairing check; tampered proofs and inputs are refused.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkpay_ledger::evm::chain::spawn_anvil;
use zkpay_ledger::evm::contracts::{Groth16BatchVerifier, PaymentPlainVerifier};
use zkpay_ledger::evm::encode::{proof_words, scalar_word, vk_bytes, Word};
use zkpay_protocol::address::Network;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::field::F;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::note::{Asset, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentPublic, PaymentWitness, PublicAccount};
use zkpay_prover::{BatchProver, KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::Proof;

const DEPTH: usize = 4;
const SLOTS: usize = 2;

/// A deposit of `v` (two dummy inputs): needs no prior state.
fn deposit(seed: u64, v: u64) -> PaymentWitness {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = SpendingKey::random(&mut rng).spend_authority();
    let asset = Asset::from_text("USD").unwrap().id();
    let ext = ExtData {
        network: Network::Dev,
        fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
        public_account: Some(PublicAccount::from_bytes([0xa1; 20])),
        ciphertexts: [vec![], vec![]],
    };
    let out = Note::new(asset, v, alice.owner_key(), &mut rng);
    PaymentWitness::build(
        &alice,
        asset,
        Root::default(),
        DEPTH,
        &[],
        &[out],
        v as i128,
        0,
        ext.hash(),
        &mut rng,
    )
    .unwrap()
}

fn u(w: Word) -> U256 {
    U256::from_be_bytes(w)
}

/// Another value below r.
fn other(x: U256) -> U256 {
    if x.is_zero() {
        U256::from(1)
    } else {
        x - U256::from(1)
    }
}

fn proofs_arg(proofs: &[Proof]) -> Vec<U256> {
    proofs.iter().flat_map(|p| proof_words(p).map(u)).collect()
}

fn inputs_arg(inputs: &[Vec<F>]) -> Vec<U256> {
    inputs
        .iter()
        .flat_map(|x| x.iter().map(|f| u(scalar_word(f))))
        .collect()
}

struct Fixture {
    plain: Vec<u8>,
    payments: Vec<(Proof, Vec<F>)>,
    chunks: Vec<(Proof, Vec<F>)>,
    pay_vk: Vec<u8>,
    chunk_vk: Vec<u8>,
    other_vk: Vec<u8>,
    native_pay: zkpay_verifier::Verifier,
    native_chunk: zkpay_verifier::Verifier,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let mode = SetupMode::InsecureDevelopment { seed: 3 };
    let payer = PaymentProver::new(&store, DEPTH, mode, None).unwrap();
    let params = ChunkParams::new(DEPTH, SLOTS).unwrap();
    let batcher = BatchProver::new(&store, params, mode, None).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = PaymentProver::new(
        &KeyStore::new(other_dir.path()),
        DEPTH,
        SetupMode::InsecureDevelopment { seed: 4 },
        None,
    )
    .unwrap();

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let proven: Vec<(Proof, PaymentPublic)> = (0..3u64)
        .map(|i| payer.prove(&deposit(i, 10 + i), &mut rng).unwrap())
        .collect();
    let publics: Vec<PaymentPublic> = proven.iter().map(|(_, p)| p.clone()).collect();
    let mut state = RollupState::new(params).unwrap();
    let chunks = state.apply_batch(&publics).unwrap();
    let chunk_proofs = batcher.prove_batch(&chunks).unwrap();
    Fixture {
        plain: zkpay_ledger::evm::plain::bytecode(&payer.keys().pk.vk).unwrap(),
        payments: proven
            .iter()
            .map(|(pr, p)| (pr.clone(), p.public_inputs()))
            .collect(),
        chunks: chunks
            .iter()
            .zip(&chunk_proofs)
            .map(|((public, w), pr)| {
                (
                    pr.clone(),
                    public.public_inputs(SLOTS, &w.payments).unwrap(),
                )
            })
            .collect(),
        pay_vk: vk_bytes(&payer.keys().pk.vk),
        chunk_vk: vk_bytes(&batcher.keys().pk.vk),
        other_vk: vk_bytes(&other.keys().pk.vk),
        native_pay: payer.keys().verifier.clone(),
        native_chunk: batcher.keys().verifier.clone(),
    }
}

fn split(items: &[(Proof, Vec<F>)]) -> (Vec<U256>, Vec<U256>) {
    let proofs: Vec<Proof> = items.iter().map(|(p, _)| p.clone()).collect();
    let inputs: Vec<Vec<F>> = items.iter().map(|(_, x)| x.clone()).collect();
    (proofs_arg(&proofs), inputs_arg(&inputs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_verifier_on_chain_agrees_with_the_native_verifier() {
    let f = tokio::task::spawn_blocking(fixture).await.unwrap();
    let anvil = spawn_anvil().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(alloy::signers::local::PrivateKeySigner::from(
            anvil.keys()[0].clone(),
        ))
        .connect_http(anvil.endpoint_url());
    let c = Groth16BatchVerifier::deploy(
        &provider,
        vec![
            Bytes::from(f.pay_vk.clone()),
            Bytes::from(f.chunk_vk.clone()),
            Bytes::from(f.other_vk.clone()),
        ],
    )
    .await
    .unwrap();
    // the key is stored as the code of a data contract, byte for byte
    let key0 = c.keys(U256::ZERO).call().await.unwrap();
    let code = provider.get_code_at(key0).await.unwrap();
    assert_eq!(code[0], 0, "the data contract's code starts with STOP");
    assert_eq!(&code[1..], &f.pay_vk[..]);

    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (pp, px) = split(&f.payments);
    let (cp, cx) = split(&f.chunks);
    // natively, all verify
    f.native_pay.verify_batch(&f.payments, &mut rng).unwrap();
    f.native_chunk.verify_batch(&f.chunks, &mut rng).unwrap();

    // one proof, a batch, and both keys at once
    let (p1, x1) = split(&f.payments[..1]);
    assert!(c.verify(U256::ZERO, p1, x1).call().await.unwrap());
    assert!(c
        .verify(U256::ZERO, pp.clone(), px.clone())
        .call()
        .await
        .unwrap());
    assert!(c
        .verify(U256::from(1), cp.clone(), cx.clone())
        .call()
        .await
        .unwrap());
    assert!(c
        .verifyTwo(pp.clone(), px.clone(), cp.clone(), cx.clone())
        .call()
        .await
        .unwrap());

    // a changed public input: refused on chain and natively
    for k in [0usize, 4, px.len() - 1] {
        let mut bad = px.clone();
        bad[k] = other(bad[k]);
        assert!(
            !c.verify(U256::ZERO, pp.clone(), bad.clone())
                .call()
                .await
                .unwrap(),
            "payment input {k}"
        );
        assert!(!c
            .verifyTwo(pp.clone(), bad, cp.clone(), cx.clone())
            .call()
            .await
            .unwrap());
    }
    let mut bad = cx.clone();
    bad[7] = other(bad[7]); // a slot's nullifier
    assert!(!c
        .verifyTwo(pp.clone(), px.clone(), cp.clone(), bad)
        .call()
        .await
        .unwrap());
    let mut native = f.chunks.clone();
    native[0].1[7] += F::from(1u64);
    assert!(f.native_chunk.verify_batch(&native, &mut rng).is_err());

    // proofs swapped between payments
    let mut swapped = f.payments.clone();
    let first = swapped[0].0.clone();
    swapped[0].0 = swapped[1].0.clone();
    swapped[1].0 = first;
    let (sp, sx) = split(&swapped);
    assert!(!c.verify(U256::ZERO, sp, sx).call().await.unwrap());
    assert!(f.native_pay.verify_batch(&swapped, &mut rng).is_err());

    // two false proofs whose errors would cancel with equal coefficients: C moved by +D in one
    // and -D in the other
    let mut pair = f.payments[..2].to_vec();
    let d = <ark_bn254::G1Affine as ark_ec::AffineRepr>::generator();
    pair[0].0.c = (pair[0].0.c + d).into();
    pair[1].0.c = (pair[1].0.c - d).into();
    let (cp2, cx2) = split(&pair);
    assert!(!c.verify(U256::ZERO, cp2, cx2).call().await.unwrap());

    // under another key (same circuit, other setup): refused
    assert!(!c
        .verify(U256::from(2), pp.clone(), px.clone())
        .call()
        .await
        .unwrap());

    // malformed: an input not below r, the identity as A, a point off the curve, a count that
    // does not match the key: reverted
    let mut big = px.clone();
    big[1] = U256::from_str_radix(
        "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
        16,
    )
    .unwrap();
    assert!(c.verify(U256::ZERO, pp.clone(), big).call().await.is_err());
    for words in [6..8, 2..6] {
        // the identity as C, then as B
        let mut ident = pp.clone();
        for w in words {
            ident[w] = U256::ZERO;
        }
        assert!(c
            .verify(U256::ZERO, ident, px.clone())
            .call()
            .await
            .is_err());
    }
    // C off the curve; B not a point of the subgroup (its coordinates moved)
    for w in [7usize, 5] {
        let mut off = pp.clone();
        off[w] = other(off[w]);
        assert!(c.verify(U256::ZERO, off, px.clone()).call().await.is_err());
    }
    // the groups of verifyTwo swapped: the counts do not fit the keys
    assert!(c
        .verifyTwo(cp.clone(), cx.clone(), pp.clone(), px.clone())
        .call()
        .await
        .is_err());
    let mut ident = pp.clone();
    ident[0] = U256::ZERO;
    ident[1] = U256::ZERO;
    assert!(c
        .verify(U256::ZERO, ident, px.clone())
        .call()
        .await
        .is_err());
    let mut off = pp.clone();
    off[1] += U256::from(1);
    assert!(c.verify(U256::ZERO, off, px.clone()).call().await.is_err());
    assert!(c
        .verify(U256::ZERO, pp.clone(), px[1..].to_vec())
        .call()
        .await
        .is_err());
    assert!(c.verify(U256::ZERO, vec![], vec![]).call().await.is_err());

    // the plain verifier rendered from the payment key agrees, proof by proof
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_deploy_code(Bytes::from(f.plain.clone()));
    let plain_at = provider
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .contract_address
        .unwrap();
    let plain = PaymentPlainVerifier::new(plain_at, &provider);
    let arrays = |(proof, x): &(Proof, Vec<F>)| -> ([U256; 8], [U256; 10]) {
        let inputs: Vec<U256> = x.iter().map(|f| u(scalar_word(f))).collect();
        (proof_words(proof).map(u), inputs.try_into().unwrap())
    };
    for item in f.payments.iter().chain(&swapped) {
        let (pw, xw) = arrays(item);
        let plain_ok = plain.verifyProof(pw, xw).call().await.is_ok();
        let (bp, bx) = split(std::slice::from_ref(item));
        let batch_ok = c.verify(U256::ZERO, bp, bx).call().await.unwrap();
        let native_ok = f.native_pay.verify(&item.0, &item.1).is_ok();
        assert_eq!((plain_ok, batch_ok), (native_ok, native_ok));
    }
    let (pw, mut xw) = arrays(&f.payments[0]);
    xw[9] += U256::from(1);
    assert!(plain.verifyProof(pw, xw).call().await.is_err());
    let (pw, xw) = arrays(&f.payments[0]);
    let gas_plain = plain.verifyProof(pw, xw).estimate_gas().await.unwrap();

    // gas, calldata included (a benchmark reads these; printed for the record)
    let gas_one = c
        .verify(
            U256::ZERO,
            split(&f.payments[..1]).0,
            split(&f.payments[..1]).1,
        )
        .estimate_gas()
        .await
        .unwrap();
    let gas_three = c
        .verify(U256::ZERO, pp.clone(), px.clone())
        .estimate_gas()
        .await
        .unwrap();
    let gas_two_keys = c.verifyTwo(pp, px, cp, cx).estimate_gas().await.unwrap();
    eprintln!(
        "gas: plain verifier {gas_plain}, batch verifier: 1 payment proof {gas_one}, 3 payment proofs {gas_three}, 3 payment + 2 chunk proofs {gas_two_keys}"
    );
    assert!(gas_three < 3 * gas_one, "batching saves gas");
}
