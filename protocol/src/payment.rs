//! The payment (join-split) statement: 2 input notes -> 2 output notes, one asset.
//!
//! Public inputs, in this order (see [`PaymentPublic::public_inputs`], the one encoder):
//!
//! | # | input |
//! |---|---|
//! | 0 | `note_root`: a recent root of the note tree |
//! | 1, 2 | `nf0`, `nf1`: nullifiers of the inputs |
//! | 3, 4 | `cm0`, `cm1`: commitments of the outputs |
//! | 5 | `asset` |
//! | 6 | `public_value`: signed, `v` or `r - |v|`; > 0 deposit, < 0 withdrawal, `|v| < 2^64` |
//! | 7 | `fee` (u64) |
//! | 8 | `ext_data_hash` |
//! | 9 | `invoice_tag`: `H_InvoiceTag(invoice_key, pk_out0, value_out0, asset)`, or 0 without an invoice |
//!
//! The statement: for each input i, `pk_i = H(ask_i, nk_i)`, `cm_i = H(asset, v_i, pk_i, r_i)`,
//! `nf_i = H(nk_i, cm_i, pos_i)`, and if `v_i != 0` the path of `cm_i` at `pos_i` leads to
//! `note_root`; `nf0 != nf1`; each output commitment opens to `(asset, v, pk, r)`; every value is
//! in `[0, 2^64)`; `v_in0 + v_in1 + public_value = v_out0 + v_out1 + fee` over the integers; the
//! invoice tag is 0 or is computed from a private invoice key and output 0 (see
//! [`crate::invoice`]).

pub use crate::account::PublicAccount;
use crate::address::Network;
use crate::error::{ProtocolError, Result};
use crate::field::{fe_from_digest, fe_from_i128, fe_to_bytes, F};
use crate::keys::{owner_key, SpendAuthority};
use crate::merkle::{verify_note_path, MerklePath};
use crate::note::{AssetId, Commitment, Note, Nullifier, Root};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Number of public inputs of the payment statement.
pub const PAYMENT_PUBLIC_INPUTS: usize = 10;
/// Inputs per payment.
pub const N_INPUTS: usize = 2;
/// Outputs per payment.
pub const N_OUTPUTS: usize = 2;
/// Bound on |public_value|: strictly below 2^64.
pub const MAX_PUBLIC_VALUE: i128 = u64::MAX as i128;
/// Largest note ciphertext the node stores.
pub const MAX_CIPHERTEXT: usize = 1024;
/// Data outside the circuit that the proof commits to through `ext_data_hash`, so that nothing
/// can be redirected after proving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExtData {
    /// Network id.
    pub network: Network,
    /// Receives the fee.
    pub fee_recipient: PublicAccount,
    /// Debited by a deposit or credited by a withdrawal (required iff public_value != 0).
    pub public_account: Option<PublicAccount>,
    /// Encrypted notes for the two outputs (lower-case hex, each at most 1024 bytes).
    #[serde(with = "serde_ciphertexts")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 2, max_items = 2))]
    pub ciphertexts: [Vec<u8>; 2],
}

mod serde_ciphertexts {
    use crate::field::hex_strict;
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>; 2], s: S) -> Result<S::Ok, S::Error> {
        [hex::encode(&v[0]), hex::encode(&v[1])].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[Vec<u8>; 2], D::Error> {
        let [a, b]: [String; 2] = <[String; 2]>::deserialize(d)?;
        for s in [&a, &b] {
            if s.len() > 2 * super::MAX_CIPHERTEXT {
                return Err(D::Error::custom("ciphertext too long"));
            }
        }
        Ok([
            hex_strict(&a).map_err(D::Error::custom)?,
            hex_strict(&b).map_err(D::Error::custom)?,
        ])
    }
}

impl ExtData {
    /// Canonical bytes:
    /// `"zkpay/v2/ext-data" || network id (u32 BE) || fee_recipient (20)
    ///  || (0x00 | 0x01 || public_account (20)) || for each ciphertext: len (u16 BE) || bytes`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.ciphertexts[0].len() * 2);
        out.extend_from_slice(b"zkpay/v2/ext-data");
        out.extend_from_slice(&self.network.id().to_be_bytes());
        out.extend_from_slice(&self.fee_recipient.to_bytes());
        match &self.public_account {
            None => out.push(0),
            Some(a) => {
                out.push(1);
                out.extend_from_slice(&a.to_bytes());
            }
        }
        for c in &self.ciphertexts {
            out.extend_from_slice(&(c.len() as u16).to_be_bytes());
            out.extend_from_slice(c);
        }
        out
    }

    /// `ext_data_hash = SHA-256(to_bytes()) mod r` (big-endian).
    pub fn hash(&self) -> F {
        let d: [u8; 32] = Sha256::digest(self.to_bytes()).into();
        fe_from_digest(&d)
    }

    /// Structural checks: ciphertext caps, account presence matching the public value.
    pub fn validate(&self, public_value: i128) -> Result<()> {
        if self.ciphertexts.iter().any(|c| c.len() > MAX_CIPHERTEXT) {
            return Err(ProtocolError::Payment("ciphertext longer than 1024 bytes"));
        }
        match (&self.public_account, public_value != 0) {
            (None, true) => Err(ProtocolError::Payment(
                "deposit or withdrawal needs a public account",
            )),
            (Some(_), false) => Err(ProtocolError::Payment(
                "public account given for a private transfer",
            )),
            _ => Ok(()),
        }
    }
}

/// The public side of one payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentPublic {
    /// Note-tree root the inputs are proven against.
    pub note_root: Root,
    /// Nullifiers of the two inputs.
    #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 2))]
    pub nullifiers: [Nullifier; 2],
    /// Commitments of the two outputs.
    #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 2))]
    pub commitments: [Commitment; 2],
    /// Asset of the payment.
    pub asset: AssetId,
    /// Signed public value: > 0 deposit, < 0 withdrawal; |v| < 2^64.
    pub public_value: i128,
    /// Fee paid to the fee recipient.
    pub fee: u64,
    /// Hash of the [`ExtData`].
    #[serde(with = "crate::field::serde_fe")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-f]{64}$"))]
    pub ext_data_hash: F,
    /// Invoice tag (0 when the payment pays no invoice); see [`crate::invoice`].
    #[serde(with = "crate::field::serde_fe")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-f]{64}$"))]
    pub invoice_tag: F,
}

impl PaymentPublic {
    /// The one public-input encoder of the payment statement, used by prover and verifier.
    pub fn public_inputs(&self) -> Vec<F> {
        vec![
            self.note_root.0,
            self.nullifiers[0].0,
            self.nullifiers[1].0,
            self.commitments[0].0,
            self.commitments[1].0,
            self.asset.0,
            fe_from_i128(self.public_value),
            F::from(self.fee),
            self.ext_data_hash,
            self.invoice_tag,
        ]
    }

    /// The invoice tag, unless the payment pays no invoice (tag 0).
    pub fn invoice(&self) -> Option<F> {
        (self.invoice_tag != F::from(0u64)).then_some(self.invoice_tag)
    }

    /// The debit a deposit makes from `ext.public_account` on the ledger of `domain`, which the
    /// account's owner must sign; `None` for payments that debit no account.
    pub fn debit(
        &self,
        ext: &ExtData,
        domain: crate::account::DebitDomain,
    ) -> Option<crate::account::Debit> {
        if self.public_value <= 0 {
            return None;
        }
        Some(crate::account::Debit {
            domain,
            account: ext.public_account?,
            asset: self.asset,
            amount: u64::try_from(self.public_value).ok()?,
            payment_id: self.payment_id(ext),
        })
    }

    /// Range checks that need no cryptography.
    pub fn check_ranges(&self) -> Result<()> {
        if self.public_value.unsigned_abs() > MAX_PUBLIC_VALUE as u128 {
            return Err(ProtocolError::ValueRange("|public_value| must be < 2^64"));
        }
        if self.nullifiers[0] == self.nullifiers[1] {
            return Err(ProtocolError::Payment("the two nullifiers are equal"));
        }
        Ok(())
    }

    /// Payment id: SHA-256 over the public inputs and the ext data bytes (never proof bytes).
    pub fn payment_id(&self, ext: &ExtData) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"zkpay/v1/payment-id");
        for x in self.public_inputs() {
            h.update(fe_to_bytes(&x));
        }
        h.update(ext.to_bytes());
        h.finalize().into()
    }
}

/// One spent input: the note, where it is, and the key that owns it.
#[derive(Clone, Debug)]
pub struct InputWitness {
    /// The note (value 0 for a dummy).
    pub note: Note,
    /// Path from the note's leaf to the root (ignored for value 0, but its position is used).
    pub path: MerklePath,
    /// Spend authority of the owner.
    pub auth: SpendAuthority,
}

/// Everything the payment proof needs.
#[derive(Clone, Debug)]
pub struct PaymentWitness {
    /// Asset.
    pub asset: AssetId,
    /// Root the inputs are proven against.
    pub note_root: Root,
    /// The two inputs.
    pub inputs: [InputWitness; 2],
    /// The two outputs.
    pub outputs: [Note; 2],
    /// Signed public value.
    pub public_value: i128,
    /// Fee.
    pub fee: u64,
    /// Hash of the ext data.
    pub ext_data_hash: F,
    /// Invoice key ([`crate::invoice::invoice_key`]) when paying an invoice: output 0 is the
    /// merchant's note.
    pub invoice: Option<F>,
}

impl PaymentWitness {
    /// Builds a witness from wallet-level inputs: up to two spendable notes with their paths (all
    /// owned by `auth`), up to two outputs, padded with zero-value dummies (dummy inputs owned by
    /// `auth` at position 0, dummy outputs owned by `auth`). Runs no check; call [`Self::check`].
    #[allow(clippy::too_many_arguments)]
    pub fn build<R: rand::RngCore + rand::CryptoRng>(
        auth: &SpendAuthority,
        asset: AssetId,
        note_root: Root,
        depth: usize,
        inputs: &[(Note, MerklePath)],
        outputs: &[Note],
        public_value: i128,
        fee: u64,
        ext_data_hash: F,
        rng: &mut R,
    ) -> Result<Self> {
        if inputs.len() > N_INPUTS || outputs.len() > N_OUTPUTS {
            return Err(ProtocolError::Payment("at most two inputs and two outputs"));
        }
        crate::merkle::check_depth(depth)?;
        let pk = auth.owner_key();
        let dummy_path = MerklePath {
            position: 0,
            siblings: vec![[F::from(0u64); 3]; depth],
        };
        let mut ins = Vec::with_capacity(2);
        for (note, path) in inputs {
            ins.push(InputWitness {
                note: *note,
                path: path.clone(),
                auth: auth.clone(),
            });
        }
        while ins.len() < N_INPUTS {
            ins.push(InputWitness {
                note: Note::dummy(asset, pk, rng),
                path: dummy_path.clone(),
                auth: auth.clone(),
            });
        }
        let mut outs: Vec<Note> = outputs.to_vec();
        while outs.len() < N_OUTPUTS {
            outs.push(Note::dummy(asset, pk, rng));
        }
        let [i0, i1]: [InputWitness; 2] = ins
            .try_into()
            .map_err(|_| ProtocolError::Payment("input count"))?;
        Ok(Self {
            asset,
            note_root,
            inputs: [i0, i1],
            outputs: [outs[0], outs[1]],
            public_value,
            fee,
            ext_data_hash,
            invoice: None,
        })
    }

    /// The native check of the payment statement: exactly the rules the circuit enforces.
    /// Returns the public side on success.
    pub fn check(&self) -> Result<PaymentPublic> {
        if self.public_value.unsigned_abs() > MAX_PUBLIC_VALUE as u128 {
            return Err(ProtocolError::ValueRange("|public_value| must be < 2^64"));
        }
        let mut nullifiers = [Nullifier::default(); 2];
        for (i, input) in self.inputs.iter().enumerate() {
            if input.note.asset != self.asset {
                return Err(ProtocolError::Payment(
                    "input asset differs from the payment's",
                ));
            }
            let pk = owner_key(&input.auth.ask, &input.auth.nk);
            if pk != input.note.owner {
                return Err(ProtocolError::Payment(
                    "input note is not owned by the spender",
                ));
            }
            let cm = input.note.commitment();
            if input.note.value != 0 {
                verify_note_path(&input.path, cm.0, self.note_root.0)
                    .map_err(|_| ProtocolError::Payment("input note is not in the tree"))?;
            } else if input.path.depth() == 0
                || input.path.position >= crate::merkle::capacity(input.path.depth())
            {
                return Err(ProtocolError::Payment("dummy input has no valid position"));
            }
            nullifiers[i] = input.note.nullifier(&input.auth.nk, input.path.position);
        }
        if nullifiers[0] == nullifiers[1] {
            return Err(ProtocolError::Payment("the two nullifiers are equal"));
        }
        for o in &self.outputs {
            if o.asset != self.asset {
                return Err(ProtocolError::Payment(
                    "output asset differs from the payment's",
                ));
            }
        }
        let sum_in: i128 = self.inputs.iter().map(|i| i128::from(i.note.value)).sum();
        let sum_out: i128 = self.outputs.iter().map(|o| i128::from(o.value)).sum();
        if sum_in + self.public_value != sum_out + i128::from(self.fee) {
            return Err(ProtocolError::Payment(
                "value not conserved: inputs + public value != outputs + fee",
            ));
        }
        Ok(PaymentPublic {
            note_root: self.note_root,
            nullifiers,
            commitments: [self.outputs[0].commitment(), self.outputs[1].commitment()],
            asset: self.asset,
            public_value: self.public_value,
            fee: self.fee,
            ext_data_hash: self.ext_data_hash,
            invoice_tag: match &self.invoice {
                None => F::from(0u64),
                Some(k) => crate::invoice::invoice_tag(
                    k,
                    &self.outputs[0].owner,
                    self.outputs[0].value,
                    &self.asset,
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use crate::merkle::NoteTree;
    use crate::note::Asset;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    struct Fixture {
        rng: ChaCha20Rng,
        tree: NoteTree,
        alice: SpendingKey,
        bob: SpendingKey,
        asset: AssetId,
    }

    fn fixture() -> Fixture {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let alice = SpendingKey::random(&mut rng);
        let bob = SpendingKey::random(&mut rng);
        let mut tree = NoteTree::new(4).unwrap();
        for i in 0..5u64 {
            tree.append(F::from(1000 + i)).unwrap();
        }
        Fixture {
            rng,
            tree,
            alice,
            bob,
            asset: Asset::from_text("USD").unwrap().id(),
        }
    }

    fn dummy_input(f: &mut Fixture, key: &SpendingKey) -> InputWitness {
        let auth = key.spend_authority();
        InputWitness {
            note: Note::dummy(f.asset, auth.owner_key(), &mut f.rng),
            path: f.tree.path(0).unwrap(),
            auth,
        }
    }

    fn real_input(f: &mut Fixture, key: &SpendingKey, value: u64) -> InputWitness {
        let auth = key.spend_authority();
        let note = Note::new(f.asset, value, auth.owner_key(), &mut f.rng);
        let pos = f.tree.append(note.commitment().0).unwrap();
        InputWitness {
            note,
            path: f.tree.path(pos).unwrap(),
            auth,
        }
    }

    fn witness(
        f: &mut Fixture,
        mut inputs: [InputWitness; 2],
        outs: [u64; 2],
        public_value: i128,
        fee: u64,
    ) -> PaymentWitness {
        // paths against the current root
        for i in inputs.iter_mut() {
            if i.note.value != 0 {
                i.path = f.tree.path(i.path.position).unwrap();
            }
        }
        let bob_pk = f.bob.full_viewing_key().pk;
        let alice_pk = f.alice.full_viewing_key().pk;
        PaymentWitness {
            asset: f.asset,
            note_root: Root(f.tree.root()),
            outputs: [
                Note::new(f.asset, outs[0], bob_pk, &mut f.rng),
                Note::new(f.asset, outs[1], alice_pk, &mut f.rng),
            ],
            inputs,
            public_value,
            fee,
            ext_data_hash: F::from(77u64),
            invoice: None,
        }
    }

    #[test]
    fn deposit_transfer_withdrawal() {
        let mut f = fixture();
        let alice = f.alice.clone();
        // deposit: two dummies, public value in
        let d = [dummy_input(&mut f, &alice), dummy_input(&mut f, &alice)];
        let w = witness(&mut f, d, [0, 100], 101, 1);
        let p = w.check().unwrap();
        assert_eq!(p.public_inputs().len(), PAYMENT_PUBLIC_INPUTS);
        // transfer: one real input and one dummy
        let i0 = real_input(&mut f, &alice, 100);
        let i1 = dummy_input(&mut f, &alice);
        let w = witness(&mut f, [i0, i1], [60, 39], 0, 1);
        w.check().unwrap();
        // two real inputs
        let i0 = real_input(&mut f, &alice, 10);
        let i1 = real_input(&mut f, &alice, 20);
        let w = witness(&mut f, [i0, i1], [15, 15], 0, 0);
        w.check().unwrap();
        // withdrawal
        let i0 = real_input(&mut f, &alice, 100);
        let i1 = dummy_input(&mut f, &alice);
        let w = witness(&mut f, [i0, i1], [0, 30], -69, 1);
        w.check().unwrap();
    }

    #[test]
    fn rejects_each_broken_rule() {
        let mut f = fixture();
        let alice = f.alice.clone();
        let bob = f.bob.clone();
        let base = {
            let i0 = real_input(&mut f, &alice, 100);
            let i1 = dummy_input(&mut f, &alice);
            witness(&mut f, [i0, i1], [60, 39], 0, 1)
        };
        base.check().unwrap();

        // conservation off by one
        let mut w = base.clone();
        w.outputs[0].value += 1;
        assert!(w.check().is_err());
        // wrong spending key
        let mut w = base.clone();
        w.inputs[0].auth = bob.spend_authority();
        assert!(w.check().is_err());
        // note not in the tree (wrong root)
        let mut w = base.clone();
        w.note_root = Root(F::from(1u64));
        assert!(w.check().is_err());
        // wrong position
        let mut w = base.clone();
        w.inputs[0].path.position += 1;
        assert!(w.check().is_err());
        // same nullifier twice: the same input used twice
        let mut w = base.clone();
        w.inputs[1] = w.inputs[0].clone();
        w.outputs[1].value += 100;
        assert!(matches!(w.check(), Err(ProtocolError::Payment(m)) if m.contains("nullifiers")));
        // asset mismatch
        let mut w = base.clone();
        w.outputs[1].asset = AssetId(F::from(5u64));
        assert!(w.check().is_err());
        let mut w = base.clone();
        w.asset = AssetId(F::from(5u64));
        assert!(w.check().is_err());
        // public value out of range
        let mut w = base.clone();
        w.public_value = 1i128 << 64;
        assert!(w.check().is_err());
        let mut w = base.clone();
        w.public_value = -(1i128 << 64);
        assert!(w.check().is_err());
        // fee larger than the inputs
        let mut w = base.clone();
        w.fee = 101;
        w.outputs = [
            Note::new(f.asset, 0, F::from(1u64), &mut f.rng),
            Note::new(f.asset, 0, F::from(1u64), &mut f.rng),
        ];
        assert!(w.check().is_err());
    }

    #[test]
    fn ext_data_binding() {
        let operator = PublicAccount::from_bytes([1; 20]);
        let ext = ExtData {
            network: Network::Dev,
            fee_recipient: operator,
            public_account: None,
            ciphertexts: [vec![1, 2, 3], vec![4]],
        };
        let h = ext.hash();
        let mut e2 = ext.clone();
        e2.network = Network::Main;
        assert_ne!(e2.hash(), h);
        let mut e2 = ext.clone();
        e2.fee_recipient = PublicAccount::from_bytes([2; 20]);
        assert_ne!(e2.hash(), h);
        let mut e2 = ext.clone();
        e2.ciphertexts[1] = vec![5];
        assert_ne!(e2.hash(), h);
        let mut e2 = ext.clone();
        e2.public_account = Some(PublicAccount::from_bytes([3; 20]));
        assert_ne!(e2.hash(), h);
        let json = serde_json::to_string(&ext).unwrap();
        assert_eq!(serde_json::from_str::<ExtData>(&json).unwrap(), ext);
        assert!(ext.validate(0).is_ok());
        assert!(ext.validate(5).is_err());
        // account names of the old format are refused
        let old = json.replace(&operator.to_hex(), "operator");
        assert!(serde_json::from_str::<ExtData>(&old).is_err());
    }

    #[test]
    fn public_value_extremes_are_out_of_range() {
        let mut f = fixture();
        let alice = f.alice.clone();
        let d = [dummy_input(&mut f, &alice), dummy_input(&mut f, &alice)];
        let w = witness(&mut f, d, [0, 100], 101, 1);
        let mut p = w.check().unwrap();
        for v in [
            i128::MIN,
            i128::MAX,
            1i128 << 64,
            -(1i128 << 64),
            i128::MIN + 1,
        ] {
            p.public_value = v;
            assert!(
                matches!(p.check_ranges(), Err(ProtocolError::ValueRange(_))),
                "{v}"
            );
            let mut w2 = w.clone();
            w2.public_value = v;
            assert!(
                matches!(w2.check(), Err(ProtocolError::ValueRange(_))),
                "{v}"
            );
        }
        p.public_value = MAX_PUBLIC_VALUE;
        assert!(p.check_ranges().is_ok());
        p.public_value = -MAX_PUBLIC_VALUE;
        assert!(p.check_ranges().is_ok());
    }

    #[test]
    fn invoice_tag_follows_output_zero() {
        let mut f = fixture();
        let alice = f.alice.clone();
        let i0 = real_input(&mut f, &alice, 100);
        let i1 = dummy_input(&mut f, &alice);
        let mut w = witness(&mut f, [i0, i1], [60, 39], 0, 1);
        assert_eq!(w.check().unwrap().invoice(), None);
        let key = crate::invoice::invoice_key(b"order-1001", &[5; 16]).unwrap();
        w.invoice = Some(key);
        let p = w.check().unwrap();
        let bob_pk = f.bob.full_viewing_key().pk;
        assert_eq!(
            p.invoice(),
            Some(crate::invoice::invoice_tag(&key, &bob_pk, 60, &f.asset))
        );
        assert_eq!(p.public_inputs()[9], p.invoice_tag);
        // the payment id binds the tag
        let ext = ExtData {
            network: Network::Dev,
            fee_recipient: PublicAccount::from_bytes([1; 20]),
            public_account: None,
            ciphertexts: [vec![], vec![]],
        };
        let mut p2 = p.clone();
        p2.invoice_tag = F::from(0u64);
        assert_ne!(p.payment_id(&ext), p2.payment_id(&ext));
    }
}
