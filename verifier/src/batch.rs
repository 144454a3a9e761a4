//! Verification of a proven batch against the ledger's state.
//!
//! The verifier knows the current roots and cursors. For a batch of payments split into chunks
//! of `C` slots it builds each chunk's public inputs itself, from its own cursors
//! (`note_start + 2Ci`, `nullifier_start + 2Ci`) and the nullifiers and commitments of the very
//! payments whose proofs it verifies, checks that chunk 0 starts from the current roots and each
//! chunk starts where the previous one ended, and verifies every chunk proof and every payment
//! proof, batching verification per key. Of a chunk it takes from the prover only the new roots
//! (and cursors it checks against its own).

use crate::{Proof, Verifier, VerifierError};
use rand::{CryptoRng, RngCore};
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::batch::{ChunkParams, RollupState};
use zkpay_protocol::note::Root;
use zkpay_protocol::payment::PaymentPublic;

/// The state a batch starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainState {
    /// Note root.
    pub note_root: Root,
    /// Nullifier root.
    pub nullifier_root: Root,
    /// Note-tree cursor.
    pub note_cursor: u64,
    /// Nullifier-tree cursor.
    pub nullifier_cursor: u64,
}

impl ChainState {
    /// The state of an empty rollup of shape `params`.
    pub fn genesis(params: ChunkParams) -> Result<Self, VerifierError> {
        let s = RollupState::new(params).map_err(|e| VerifierError::Other(e.to_string()))?;
        Ok(Self::of(&s))
    }

    /// The state of `s`.
    pub fn of(s: &RollupState) -> Self {
        Self {
            note_root: Root(s.notes.root()),
            nullifier_root: Root(s.nullifiers.root()),
            note_cursor: s.notes.size(),
            nullifier_cursor: s.nullifiers.size(),
        }
    }
}

/// Verifies a proven batch; returns the state after it.
pub fn verify_batch<R: RngCore + CryptoRng>(
    chunk_verifier: &Verifier,
    payment_verifier: &Verifier,
    slots: usize,
    start: ChainState,
    payments: &[(PaymentPublic, Proof)],
    chunks: &[(BatchPublic, Proof)],
    rng: &mut R,
) -> Result<ChainState, VerifierError> {
    let mismatch = |s: String| VerifierError::BatchMismatch(s);
    if slots == 0 || payments.is_empty() {
        return Err(mismatch("empty batch".into()));
    }
    let expected_chunks = payments.len().div_ceil(slots);
    if chunks.len() != expected_chunks {
        return Err(mismatch(format!(
            "{} payments need {expected_chunks} chunks of {slots}, got {}",
            payments.len(),
            chunks.len()
        )));
    }
    let mut state = start;
    let mut chunk_items: Vec<(Proof, Vec<crate::F>)> = Vec::with_capacity(chunks.len());
    for (i, ((public, proof), group)) in chunks.iter().zip(payments.chunks(slots)).enumerate() {
        if public.old_note_root != state.note_root
            || public.old_nullifier_root != state.nullifier_root
        {
            return Err(mismatch(format!(
                "chunk {i} does not start where the chain stands"
            )));
        }
        if public.note_start != state.note_cursor
            || public.nullifier_start != state.nullifier_cursor
        {
            return Err(mismatch(format!(
                "chunk {i} does not start at the ledger's cursors"
            )));
        }
        let ps: Vec<PaymentPublic> = group.iter().map(|(p, _)| p.clone()).collect();
        let inputs = public
            .public_inputs(slots, &ps)
            .map_err(|e| mismatch(format!("chunk {i}: {e}")))?;
        chunk_items.push((proof.clone(), inputs));
        state = ChainState {
            note_root: public.new_note_root,
            nullifier_root: public.new_nullifier_root,
            note_cursor: state.note_cursor + 2 * slots as u64,
            nullifier_cursor: state.nullifier_cursor + 2 * slots as u64,
        };
    }
    chunk_verifier
        .verify_batch(&chunk_items, rng)
        .map_err(|e| match e {
            VerifierError::BadProofs(v) => mismatch(format!("chunk proofs do not verify: {v:?}")),
            other => other,
        })?;
    let payment_items: Vec<(Proof, Vec<crate::F>)> = payments
        .iter()
        .map(|(p, proof)| (proof.clone(), p.public_inputs()))
        .collect();
    payment_verifier.verify_batch(&payment_items, rng)?;
    Ok(state)
}
