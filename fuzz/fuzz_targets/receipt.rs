//! Receipts (`zkpay receipt verify`):
//! - any bytes as a receipt file: parsing never panics; what parses re-encodes to an equal
//!   receipt, and verifying it against a ledger that echoes the receipt's own claims never
//!   panics;
//! - a valid receipt built from the input (note, position, invoice id and salt) verifies, and
//!   each of its fields changed is refused.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use zkpay_protocol::address::Network;
use zkpay_protocol::field::{fe_to_hex, F};
use zkpay_protocol::invoice::{invoice_key, invoice_tag};
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::merkle::NoteTree;
use zkpay_protocol::note::{Asset, Note};
use zkpay_wallet::receipt::{verify, BatchView, CommittedBatches, Receipt};
use zkpay_wallet::WalletError;

/// A ledger holding one batch view, at `batch`.
struct OneBatch {
    network: Network,
    batch: u64,
    view: BatchView,
}

impl CommittedBatches for OneBatch {
    fn network(&self) -> Result<Network, WalletError> {
        Ok(self.network)
    }
    fn batch_view(&self, n: u64) -> Result<Option<BatchView>, WalletError> {
        Ok((n == self.batch).then(|| self.view.clone()))
    }
    fn describe(&self) -> String {
        "fuzz".into()
    }
}

/// A ledger that confirms what the receipt claims (so verification runs to the end).
fn echo(r: &Receipt) -> OneBatch {
    let tag = r
        .invoice_tag
        .as_deref()
        .and_then(|t| zkpay_protocol::field::fe_from_hex(t).ok())
        .unwrap_or_default();
    OneBatch {
        network: r.network,
        batch: r.batch,
        view: BatchView {
            note_root: r.root,
            entries: vec![(
                r.payment.clone(),
                tag,
                vec![(r.position, r.note.commitment())],
            )],
        },
    }
}

fn valid(data: &[u8]) -> Option<(Receipt, OneBatch)> {
    let seed: [u8; 32] = data.get(..32)?.try_into().ok()?;
    let value = u64::from_le_bytes(data.get(32..40)?.try_into().ok()?);
    let position = u64::from(*data.get(40)? & 3);
    let salt = data.get(41..57)?;
    let id = data.get(57..)?;
    let network = Network::Test;
    let key = SpendingKey::from_bytes(seed);
    let merchant = key.address(network);
    let asset = Asset::from_text("USD").ok()?;
    let note = Note {
        asset: asset.id(),
        value,
        owner: merchant.pk,
        blinding: F::from(u64::from_le_bytes(seed[..8].try_into().ok()?)),
    };
    let cm = note.commitment();
    let mut tree = NoteTree::new(2).ok()?;
    for _ in 0..position {
        tree.append(F::from(7u64)).ok()?;
    }
    tree.append(cm.0).ok()?;
    let (invoice, invoice_id, salt, tag) = match invoice_key(id, salt) {
        Ok(k) => {
            let t = invoice_tag(&k, &merchant.pk, value, &asset.id());
            (
                Some(String::from_utf8_lossy(id).into_owned()),
                Some(URL_SAFE_NO_PAD.encode(id)),
                Some(URL_SAFE_NO_PAD.encode(salt)),
                Some(t),
            )
        }
        Err(_) => (None, None, None, None),
    };
    let r = Receipt {
        format: "zkpay-receipt".into(),
        version: 2,
        network,
        payment: hex::encode(&seed),
        batch: 3,
        position,
        asset: "USD".into(),
        note,
        merchant: merchant.encode(),
        invoice,
        invoice_id,
        salt,
        invoice_tag: tag.map(|t| fe_to_hex(&t)),
        root: tree.root(),
        root_batch: 3,
        path: tree.path(position).ok()?,
        memo: String::new(),
    };
    let ledger = OneBatch {
        network,
        batch: 3,
        view: BatchView {
            note_root: tree.root(),
            entries: vec![(
                r.payment.clone(),
                tag.unwrap_or_default(),
                vec![(position, cm)],
            )],
        },
    };
    Some((r, ledger))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<Receipt>(data) {
        let back: Receipt = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let _ = verify(&r, &echo(&r));
    }
    // the structured receipt costs key derivations and hashes: one input in four
    if data.first().is_none_or(|b| b & 3 != 0) {
        return;
    }
    let Some((r, ledger)) = valid(data) else {
        return;
    };
    let v = verify(&r, &ledger).expect("a valid receipt verifies");
    assert_eq!(v.value, r.note.value);
    let mut t = r.clone();
    match data[40] >> 4 {
        0 => t.note.value ^= 1,
        1 => t.note.blinding += F::from(1u64),
        2 => t.note.owner += F::from(1u64),
        3 => t.position ^= 1,
        4 => t.root += F::from(1u64),
        5 => t.root_batch += 1,
        6 => t.batch += 1,
        7 => t.payment = hex::encode([data[0] ^ 1; 32]),
        8 => t.asset = "EUR".into(),
        9 => {
            t.merchant = SpendingKey::from_bytes([data[1] ^ 1; 32])
                .address(Network::Test)
                .encode()
        }
        10 => t.path.siblings[0][0] += F::from(1u64),
        11 => t.network = Network::Main,
        12 => match t.invoice_id {
            Some(_) => {
                let mut salt = data[41..57].to_vec();
                salt[0] ^= 1;
                t.salt = Some(URL_SAFE_NO_PAD.encode(salt));
            }
            None => t.invoice_tag = Some(fe_to_hex(&F::from(1u64))),
        },
        13 => t.format = "zkpay-receipt ".into(),
        14 => t.version = 1,
        _ => t.invoice_tag = Some(fe_to_hex(&F::from(u64::from(data[3]) + 2))),
    }
    assert!(
        verify(&t, &ledger).is_err(),
        "a changed receipt verified: {t:?}"
    );
});
