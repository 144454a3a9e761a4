//! Building and proving payments: deposits, private transfers and withdrawals.
//!
//! Every payment has exactly two outputs, each encrypted to its owner: a missing output is a
//! zero-value dummy encrypted to the payer, so that ciphertexts never show how many real outputs
//! a payment has.

use crate::WalletError;
use rand::{CryptoRng, RngCore};
use zkpay_api::PaymentSubmission;
use zkpay_protocol::address::Network;
use zkpay_protocol::encryption::encrypt_note;
use zkpay_protocol::keys::SpendAuthority;
use zkpay_protocol::merkle::MerklePath;
use zkpay_protocol::note::{AssetId, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentWitness, PublicAccount};
use zkpay_protocol::F;
use zkpay_prover::PaymentProver;
use zkpay_verifier::encode_proof;

/// An output: the note, the owner's transmission key, and a memo (≤ 512 bytes).
#[derive(Clone, Debug)]
pub struct Output {
    /// The note.
    pub note: Note,
    /// Its owner's transmission key (from the address).
    pub tk: [u8; 32],
    /// Memo, encrypted with the note.
    pub memo: Vec<u8>,
}

/// Everything a payment needs besides the keys.
#[derive(Clone, Debug)]
pub struct PaymentPlan {
    /// Network the payment is for.
    pub network: Network,
    /// Receives the fee (the node operator's public account).
    pub fee_recipient: PublicAccount,
    /// Debited by a deposit, credited by a withdrawal.
    pub public_account: Option<PublicAccount>,
    /// Asset.
    pub asset: AssetId,
    /// Root the spends are proven against (a recent committed root).
    pub root: Root,
    /// Notes spent, with their paths (at most two).
    pub spends: Vec<(Note, MerklePath)>,
    /// Outputs (at most two).
    pub outputs: Vec<Output>,
    /// > 0 deposit, < 0 withdrawal.
    pub public_value: i128,
    /// Fee.
    pub fee: u64,
    /// Invoice key, when paying an invoice (output 0 must then be the merchant's note of
    /// exactly the invoiced amount).
    pub invoice: Option<F>,
}

/// A proven payment and the outputs it creates (the caller keeps them to find its change and to
/// export receipts).
#[derive(Clone, Debug)]
pub struct ProvenPayment {
    /// Ready for `POST /v1/payments`.
    pub submission: PaymentSubmission,
    /// The two outputs in order.
    pub outputs: [Output; 2],
}

/// Proves `plan` with the payer's key. `self_tk` receives the dummy outputs.
pub fn prove_payment<R: RngCore + CryptoRng>(
    auth: &SpendAuthority,
    self_tk: &[u8; 32],
    prover: &PaymentProver,
    plan: PaymentPlan,
    rng: &mut R,
) -> Result<ProvenPayment, WalletError> {
    if plan.spends.len() > 2 || plan.outputs.len() > 2 {
        return Err(WalletError::Plan("at most two spends and two outputs"));
    }
    let mut outputs = plan.outputs;
    while outputs.len() < 2 {
        outputs.push(Output {
            note: Note::dummy(plan.asset, auth.owner_key(), rng),
            tk: *self_tk,
            memo: Vec::new(),
        });
    }
    let ciphertexts = [
        encrypt_note(&outputs[0].note, &outputs[0].memo, &outputs[0].tk, rng)?,
        encrypt_note(&outputs[1].note, &outputs[1].memo, &outputs[1].tk, rng)?,
    ];
    let ext = ExtData {
        network: plan.network,
        fee_recipient: plan.fee_recipient,
        public_account: plan.public_account,
        ciphertexts,
    };
    ext.validate(plan.public_value)?;
    let notes = [outputs[0].note, outputs[1].note];
    let mut witness = PaymentWitness::build(
        auth,
        plan.asset,
        plan.root,
        prover.depth(),
        &plan.spends,
        &notes,
        plan.public_value,
        plan.fee,
        ext.hash(),
        rng,
    )?;
    witness.invoice = plan.invoice;
    // the native check names the broken rule before the slow proving step
    witness.check()?;
    let (proof, public) = prover.prove(&witness, rng)?;
    let [o0, o1]: [Output; 2] = outputs
        .try_into()
        .map_err(|_| WalletError::Plan("two outputs"))?;
    Ok(ProvenPayment {
        submission: PaymentSubmission {
            public,
            ext,
            proof: encode_proof(&proof).to_vec(),
            authorization: None,
        },
        outputs: [o0, o1],
    })
}

/// A deposit of `value` of `asset` from `account` into a note owned by the payer.
#[allow(clippy::too_many_arguments)]
pub fn prove_deposit<R: RngCore + CryptoRng>(
    auth: &SpendAuthority,
    self_tk: &[u8; 32],
    prover: &PaymentProver,
    network: Network,
    fee_recipient: PublicAccount,
    account: PublicAccount,
    asset: AssetId,
    root: Root,
    value: u64,
    rng: &mut R,
) -> Result<ProvenPayment, WalletError> {
    let note = Note::new(asset, value, auth.owner_key(), rng);
    prove_payment(
        auth,
        self_tk,
        prover,
        PaymentPlan {
            network,
            fee_recipient,
            public_account: Some(account),
            asset,
            root,
            spends: Vec::new(),
            outputs: vec![Output {
                note,
                tk: *self_tk,
                memo: b"deposit".to_vec(),
            }],
            public_value: i128::from(value),
            fee: 0,
            invoice: None,
        },
        rng,
    )
}
