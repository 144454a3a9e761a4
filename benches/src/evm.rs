//! `zkpay-bench evm`: gas of verifying batches on an EVM chain (the pinned anvil, started on a
//! loopback port and stopped afterwards), calldata included: every payment proof of the batch
//! and its chunk proofs in one `verifyTwo` call of `Groth16BatchVerifier` (one pairing check),
//! beside the plain single-proof verifier rendered from the payment key.
//!
//! This is the verification share of a batch's gas. The rollup contract's settlement (roots,
//! cursors, deposits, withdrawals, the sync event) comes on top of it.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{ensure, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use zkpay_ledger::evm::contracts::{Groth16BatchVerifier, PaymentPlainVerifier};
use zkpay_ledger::evm::encode::{proof_words, scalar_word, vk_bytes};
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::field::F;
use zkpay_protocol::payment::PaymentPublic;
use zkpay_prover::{BatchProver, KeyStore, PaymentProver, SetupMode};
use zkpay_verifier::Proof;

/// One batch size.
#[derive(Debug, Serialize)]
pub struct EvmPoint {
    /// Payments in the batch.
    pub payments: usize,
    /// Chunk proofs.
    pub chunks: usize,
    /// Gas of the verifying transaction (21,000 base and calldata included).
    pub gas: u64,
    /// `gas / payments`.
    pub gas_per_payment: f64,
}

/// One batch committed to the rollup contract: verification and settlement.
#[derive(Debug, Serialize)]
pub struct SettledPoint {
    /// Payments in the batch.
    pub payments: usize,
    /// Chunk proofs.
    pub chunks: usize,
    /// Gas used by the `commitBatch` transaction (receipt).
    pub gas: u64,
    /// `gas / payments`.
    pub gas_per_payment: f64,
    /// Calldata bytes of the transaction.
    pub calldata_bytes: usize,
}

/// Figures of `zkpay-bench evm`.
#[derive(Debug, Serialize)]
pub struct EvmReport {
    /// What the gas covers.
    pub scope: &'static str,
    /// Tree depth and chunk slots.
    pub depth: usize,
    /// Payment slots per chunk.
    pub chunk_slots: usize,
    /// Public inputs of a payment proof and of a chunk proof.
    pub payment_inputs: usize,
    /// Public inputs of a chunk proof (`6 + 4C`).
    pub chunk_inputs: usize,
    /// By batch size.
    pub batches: Vec<EvmPoint>,
    /// One payment proof through the plain verifier (gnark's template), transaction gas.
    pub plain_verify_gas: u64,
    /// What `settled` covers.
    pub settled_scope: &'static str,
    /// By batch size: whole `commitBatch` transactions on `ZkPayRollup`.
    pub settled: Vec<SettledPoint>,
}

fn words<const N: usize>(w: [[u8; 32]; N]) -> [U256; N] {
    w.map(U256::from_be_bytes)
}

fn flat(items: &[(Proof, Vec<F>)]) -> (Vec<U256>, Vec<U256>) {
    (
        items
            .iter()
            .flat_map(|(p, _)| words(proof_words(p)))
            .collect(),
        items
            .iter()
            .flat_map(|(_, x)| x.iter().map(|f| U256::from_be_bytes(scalar_word(f))))
            .collect(),
    )
}

/// Measures batches of `sizes` payments at `depth` with chunks of `slots`, on development keys.
pub fn evm_report(depth: usize, slots: usize, sizes: &[usize]) -> Result<EvmReport> {
    let dir = tempfile::tempdir()?;
    let store = KeyStore::new(dir.path());
    let mode = SetupMode::InsecureDevelopment { seed: 0 };
    let payer = PaymentProver::new(&store, depth, mode, None)?;
    let params = ChunkParams::new(depth, slots)?;
    let batcher = BatchProver::new(&store, params, mode, None)?;
    let max = sizes.iter().copied().max().unwrap_or(1);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut payments: Vec<(Proof, PaymentPublic)> = Vec::with_capacity(max);
    for i in 0..max as u64 {
        payments.push(payer.prove(&crate::proving::transfer_witness(depth, i)?, &mut rng)?);
    }
    let mut batches = Vec::new();
    for &n in sizes {
        let publics: Vec<PaymentPublic> = payments[..n].iter().map(|(_, p)| p.clone()).collect();
        let chunks = RollupState::new(params)?.apply_batch(&publics)?;
        let proofs = batcher.prove_batch(&chunks)?;
        let chunk_items: Vec<(Proof, Vec<F>)> = chunks
            .iter()
            .zip(proofs)
            .map(|((public, w), proof)| Ok((proof, public.public_inputs(slots, &w.payments)?)))
            .collect::<Result<_>>()?;
        let pay_items: Vec<(Proof, Vec<F>)> = payments[..n]
            .iter()
            .map(|(proof, p)| (proof.clone(), p.public_inputs()))
            .collect();
        batches.push((n, pay_items, chunk_items));
    }
    let plain_code = zkpay_ledger::evm::plain::bytecode(&payer.keys().pk.vk)?;
    let pay_vk = vk_bytes(&payer.keys().pk.vk);
    let chunk_vk = vk_bytes(&batcher.keys().pk.vk);
    let first = payments
        .first()
        .map(|(proof, p)| (proof.clone(), p.public_inputs()))
        .context("no payment")?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let anvil = zkpay_ledger::evm::chain::spawn_anvil()?;
        let provider = ProviderBuilder::new()
            .wallet(alloy::signers::local::PrivateKeySigner::from(
                anvil.keys()[0].clone(),
            ))
            .connect_http(anvil.endpoint_url())
            .erased();
        let c = Groth16BatchVerifier::deploy(
            &provider,
            vec![Bytes::from(pay_vk), Bytes::from(chunk_vk)],
        )
        .await?;
        let mut points = Vec::new();
        for (n, pay, chunk) in &batches {
            let (pp, px) = flat(pay);
            let (cp, cx) = flat(chunk);
            let call = c.verifyTwo(pp, px, cp, cx);
            ensure!(call.call().await?, "a batch of {n} does not verify on chain");
            let gas = call.estimate_gas().await?;
            points.push(EvmPoint {
                payments: *n,
                chunks: chunk.len(),
                gas,
                gas_per_payment: gas as f64 / *n as f64,
            });
        }
        let tx = alloy::rpc::types::TransactionRequest::default()
            .with_deploy_code(Bytes::from(plain_code));
        let at = provider
            .send_transaction(tx)
            .await?
            .get_receipt()
            .await?
            .contract_address
            .context("the plain verifier was not deployed")?;
        let plain = PaymentPlainVerifier::new(at, &provider);
        let proof = words(proof_words(&first.0));
        let inputs: [U256; 10] = first
            .1
            .iter()
            .map(|f| U256::from_be_bytes(scalar_word(f)))
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| anyhow::anyhow!("a payment has 10 public inputs"))?;
        let call = plain.verifyProof(proof, inputs);
        call.call().await.context("the plain verifier refuses the proof")?;
        let plain_verify_gas = call.estimate_gas().await?;
        let settled = settle(&provider, &anvil, depth, slots, sizes, &payer, &batcher).await?;
        Ok(EvmReport {
            settled_scope: "whole commitBatch transactions on ZkPayRollup (calldata, every public input built on chain, one pairing check, roots, cursors, root window, nullifier evidence, the sync event with both 635-byte note ciphertexts per payment); the payments are private transfers with no fee (no token moves)",
            settled,
            scope: "verification only: all payment and chunk proofs of a batch in one pairing check, calldata included; settlement comes on top",
            depth,
            chunk_slots: slots,
            payment_inputs: zkpay_protocol::payment::PAYMENT_PUBLIC_INPUTS,
            chunk_inputs: zkpay_protocol::batch::batch_public_input_count(slots),
            batches: points,
            plain_verify_gas,
        })
    })
}

/// A private transfer with no fee proven against `root`: two dummy inputs, two zero-value outputs
/// with real-size ciphertexts. On chain it costs what any private transfer without a fee costs
/// (the same proof, inputs, calldata and event).
fn transfer_at(
    payer: &PaymentProver,
    depth: usize,
    seed: u64,
    root: zkpay_protocol::note::Root,
) -> Result<zkpay_ledger::PaymentSubmission> {
    use rand::RngCore;
    use zkpay_protocol::keys::SpendingKey;
    use zkpay_protocol::note::{Asset, Note};
    use zkpay_protocol::payment::{ExtData, PaymentWitness, PublicAccount};
    let mut rng = ChaCha20Rng::seed_from_u64(1_000 + seed);
    let alice = SpendingKey::random(&mut rng).spend_authority();
    let asset = Asset::from_text("USD")?.id();
    let mut cts = [vec![0u8; 635], vec![0u8; 635]];
    for c in &mut cts {
        rng.fill_bytes(c);
    }
    let ext = ExtData {
        network: zkpay_protocol::address::Network::Dev,
        fee_recipient: PublicAccount::from_bytes([0x0f; 20]),
        public_account: None,
        ciphertexts: cts,
    };
    let outs = [
        Note::new(asset, 0, alice.owner_key(), &mut rng),
        Note::new(asset, 0, alice.owner_key(), &mut rng),
    ];
    let w = PaymentWitness::build(
        &alice,
        asset,
        root,
        depth,
        &[],
        &outs,
        0,
        0,
        ext.hash(),
        &mut rng,
    )?;
    let (proof, public) = payer.prove(&w, &mut rng)?;
    Ok(zkpay_ledger::PaymentSubmission {
        public,
        ext,
        proof: zkpay_verifier::encode_proof(&proof).to_vec(),
        authorization: None,
    })
}

/// Deploys `ZkPayRollup` and commits one batch of each size in turn, measuring each
/// transaction's gas.
async fn settle(
    provider: &alloy::providers::DynProvider,
    anvil: &alloy::node_bindings::AnvilInstance,
    depth: usize,
    slots: usize,
    sizes: &[usize],
    payer: &PaymentProver,
    batcher: &BatchProver,
) -> Result<Vec<SettledPoint>> {
    use zkpay_ledger::evm::rollup::{deploy, Deployment, Rollup};
    use zkpay_ledger::{BatchSubmission, ChunkSubmission};
    let params = ChunkParams::new(depth, slots)?;
    let network = zkpay_protocol::address::Network::Dev;
    let d = Deployment {
        network,
        params,
        root_window: 128,
        force_delay: 1_000,
        sequencer_timeout: 100_000,
        release_delay: 64,
        sequencer: anvil.addresses()[0],
    };
    let at = deploy(provider, &d, &payer.keys().pk.vk, &batcher.keys().pk.vk).await?;
    let rollup = Rollup::at(at, provider.clone(), network, params);
    let mut state = RollupState::new(params)?;
    let mut seed = 0u64;
    let mut out = Vec::new();
    for &n in sizes {
        let root = zkpay_protocol::note::Root(state.notes.root());
        let payments = (0..n)
            .map(|_| {
                seed += 1;
                transfer_at(payer, depth, seed, root)
            })
            .collect::<Result<Vec<_>>>()?;
        let publics: Vec<PaymentPublic> = payments.iter().map(|p| p.public.clone()).collect();
        let mut next = state.clone();
        let chunks = next.apply_batch(&publics)?;
        let proofs = batcher.prove_batch(&chunks)?;
        let batch = BatchSubmission {
            number: 0,
            parent: [0; 32],
            payments,
            chunks: chunks
                .iter()
                .zip(&proofs)
                .map(|((public, _), p)| ChunkSubmission {
                    public: *public,
                    proof: zkpay_verifier::encode_proof(p).to_vec(),
                })
                .collect(),
        };
        let calldata_bytes = {
            use alloy::sol_types::SolCall;
            rollup.batch_call(&batch, 0)?.abi_encode().len()
        };
        let receipt = rollup.commit(&batch, 0, 1).await?;
        state = next;
        out.push(SettledPoint {
            payments: n,
            chunks: batch.chunks.len(),
            gas: receipt.gas_used,
            gas_per_payment: receipt.gas_used as f64 / n as f64,
            calldata_bytes,
        });
    }
    Ok(out)
}
