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
            .connect_http(anvil.endpoint_url());
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
        Ok(EvmReport {
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
