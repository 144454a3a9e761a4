//! What the node submits to a base ledger and what a ledger records: payments, chunk proofs,
//! batches, committed batches and the log's head, with the batch hash that chains the log.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zkpay_protocol::account::DebitSignature;
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::field::fe_to_bytes;
use zkpay_protocol::payment::{ExtData, PaymentPublic};
use zkpay_verifier::batch::ChainState;

use crate::ApiError;

/// A payment as submitted to the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentSubmission {
    /// Public inputs.
    pub public: PaymentPublic,
    /// Ext data.
    pub ext: ExtData,
    /// Proof (128 bytes, hex in JSON).
    #[serde(with = "zkpay_protocol::field::serde_hex")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, pattern = "^[0-9a-f]{256}$")
    )]
    pub proof: Vec<u8>,
    /// For a deposit: the debited account's EIP-712 signature of the debit (see
    /// [`zkpay_protocol::account`]); absent for every other payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<DebitSignature>,
}

impl PaymentSubmission {
    /// Payment id (hash of public inputs and ext data, never of the proof).
    pub fn id(&self) -> [u8; 32] {
        self.public.payment_id(&self.ext)
    }

    /// Checks that a debit of a public account carries its owner's signature for the ledger of
    /// `domain`, and that no other payment carries one.
    pub fn check_authorization(
        &self,
        domain: zkpay_protocol::account::DebitDomain,
    ) -> Result<(), zkpay_protocol::ProtocolError> {
        use zkpay_protocol::ProtocolError::Authorization;
        match (self.public.debit(&self.ext, domain), &self.authorization) {
            (Some(debit), Some(sig)) => debit.verify(sig),
            (Some(_), None) => Err(Authorization(
                "a deposit needs the debited account's signature",
            )),
            (None, Some(_)) => Err(Authorization("only a deposit carries an account signature")),
            (None, None) if self.public.public_value > 0 => {
                Err(Authorization("a deposit needs a public account"))
            }
            (None, None) => Ok(()),
        }
    }
}

/// A chunk proof as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkSubmission {
    /// Public inputs.
    pub public: BatchPublic,
    /// Proof bytes.
    #[serde(with = "zkpay_protocol::field::serde_hex")]
    pub proof: Vec<u8>,
}

/// A batch as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSubmission {
    /// Batch number (the head's number + 1).
    pub number: u64,
    /// Hash of the parent batch (the head's hash).
    #[serde(with = "hex32")]
    pub parent: [u8; 32],
    /// Payments in order.
    pub payments: Vec<PaymentSubmission>,
    /// Chunk proofs in order.
    pub chunks: Vec<ChunkSubmission>,
}

/// A committed batch, as kept in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedBatch {
    /// Number.
    pub number: u64,
    /// Parent hash.
    #[serde(with = "hex32")]
    pub parent: [u8; 32],
    /// This batch's hash: `SHA-256("zkpay/v1/batch" || number || parent || payment ids ||
    /// chunks (roots and cursors) || state after)`.
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
    /// The payments.
    pub payments: Vec<PaymentSubmission>,
    /// The chunks.
    pub chunks: Vec<ChunkSubmission>,
    /// State after the batch.
    pub state: ChainState,
}

/// The tip of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    /// Number of the last committed batch (0 = genesis).
    pub number: u64,
    /// Its hash.
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
    /// Rollup state after it.
    pub state: ChainState,
}

mod hex32 {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = zkpay_protocol::field::hex_strict(&s).map_err(D::Error::custom)?;
        v.try_into()
            .map_err(|_| D::Error::custom("expected 32 bytes"))
    }
}

/// Hash of a batch in the log.
pub fn batch_hash_of(
    number: u64,
    parent: &[u8; 32],
    payments: &[PaymentSubmission],
    chunks: &[ChunkSubmission],
    state: &ChainState,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkpay/v1/batch");
    h.update(number.to_be_bytes());
    h.update(parent);
    h.update((payments.len() as u64).to_be_bytes());
    for p in payments {
        h.update(p.id());
    }
    h.update((chunks.len() as u64).to_be_bytes());
    for c in chunks {
        let p = &c.public;
        for r in [
            p.old_note_root,
            p.old_nullifier_root,
            p.new_note_root,
            p.new_nullifier_root,
        ] {
            h.update(fe_to_bytes(&r.0));
        }
        h.update(p.note_start.to_be_bytes());
        h.update(p.nullifier_start.to_be_bytes());
    }
    h.update(state.note_root.to_bytes());
    h.update(state.nullifier_root.to_bytes());
    h.update(state.note_cursor.to_be_bytes());
    h.update(state.nullifier_cursor.to_be_bytes());
    h.finalize().into()
}

/// One committed note: what a receipt checker needs of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommittedNote {
    /// Leaf position in the note tree.
    pub position: u64,
    /// The commitment.
    pub commitment: zkpay_protocol::note::Commitment,
}

impl CommittedBatch {
    /// The positions of every payment's two notes, given the note cursor before the batch:
    /// chunk `k` of `C` slots starts at `start + 2Ck`, payment `i` of a chunk at `+ 2i`.
    pub fn note_positions(&self, start_cursor: u64) -> Result<Vec<[CommittedNote; 2]>, ApiError> {
        let chunks = self.chunks.len() as u64;
        let grown = self.state.note_cursor.checked_sub(start_cursor);
        let slots = match grown {
            Some(g) if chunks > 0 && g % (2 * chunks) == 0 => g / (2 * chunks),
            _ => {
                return Err(ApiError::Inconsistent(format!(
                    "batch {}: cursor {} does not follow {start_cursor} in whole chunks",
                    self.number, self.state.note_cursor
                )))
            }
        };
        if slots == 0 || self.payments.len() as u64 > slots * chunks {
            return Err(ApiError::Inconsistent(format!(
                "batch {}: inconsistent chunk shape",
                self.number
            )));
        }
        Ok(self
            .payments
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let i = i as u64;
                let base = start_cursor + (i / slots) * 2 * slots + 2 * (i % slots);
                [0, 1].map(|o| CommittedNote {
                    position: base + o,
                    commitment: p.public.commitments[o as usize],
                })
            })
            .collect())
    }
}
