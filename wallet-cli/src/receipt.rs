//! Payment receipts: the opening of the note a payer created for a merchant, its position and
//! a Merkle path to a committed root, and the invoice it paid. Anyone can verify one against the
//! node: it proves that a note of this amount and asset, owned by the merchant's address, was
//! committed by this payment in this batch, paying this invoice. It does not reveal or prove
//! who paid.

use crate::client::NodeClient;
use crate::wallet::{format_in, SentStatus, Wallet};
use crate::WalletError;
use serde::{Deserialize, Serialize};
use zkpay_protocol::address::{Address, Network};
use zkpay_protocol::field::{fe_from_hex, fe_to_hex, F};
use zkpay_protocol::merkle::{verify_note_path, MerklePath};
use zkpay_protocol::note::{Asset, Note};
use zkpay_protocol::uri::invoice_tag;

/// A receipt (JSON file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `zkpay-receipt`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// Network.
    pub network: Network,
    /// Payment id (hex).
    pub payment: String,
    /// Batch that committed the payment.
    pub batch: u64,
    /// Leaf position of the note.
    pub position: u64,
    /// Asset (text).
    pub asset: String,
    /// The note opening (asset id, value, owner key, blinding).
    pub note: Note,
    /// Merchant's address.
    pub merchant: String,
    /// Invoice id.
    pub invoice: Option<String>,
    /// Invoice tag (hex field element).
    pub invoice_tag: Option<String>,
    /// Committed root the path leads to.
    #[serde(with = "zkpay_protocol::field::serde_fe")]
    pub root: F,
    /// Batch after which `root` was the note root.
    pub root_batch: u64,
    /// Authentication path of the note.
    pub path: MerklePath,
    /// Memo sent with the note.
    pub memo: String,
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Payment id.
    pub payment: String,
    /// Amount, formatted.
    pub amount: String,
    /// Amount in base units.
    pub value: u64,
    /// Asset.
    pub asset: String,
    /// Merchant address.
    pub merchant: String,
    /// Invoice id.
    pub invoice: Option<String>,
    /// Committing batch.
    pub batch: u64,
    /// Position.
    pub position: u64,
    /// The statement, in words.
    pub statement: String,
}

/// Builds the receipt of sent payment `id` (its first output, the recipient's note).
pub fn export(wallet: &Wallet, id: &str) -> Result<Receipt, WalletError> {
    let (sent, path, root, root_batch) = wallet.receipt_parts(id)?;
    let SentStatus::Committed { batch } = sent.status else {
        return Err(WalletError::Refused("payment not committed".into()));
    };
    let merchant = sent
        .to
        .clone()
        .ok_or_else(|| WalletError::Refused("the payment has no recipient address".into()))?;
    let note = *sent
        .outputs
        .first()
        .ok_or_else(|| WalletError::Refused("payment without outputs".into()))?;
    Ok(Receipt {
        format: "zkpay-receipt".into(),
        version: 1,
        network: wallet.network(),
        payment: sent.id.clone(),
        batch,
        position: path.position,
        asset: sent.asset.clone(),
        note,
        merchant,
        invoice: sent.invoice.clone(),
        invoice_tag: sent.invoice_tag.clone(),
        root,
        root_batch,
        path,
        memo: sent.memos.first().cloned().unwrap_or_default(),
    })
}

fn fail(why: impl Into<String>) -> WalletError {
    WalletError::Refused(format!("receipt does not verify: {}", why.into()))
}

/// Verifies a receipt against the node's committed state.
pub fn verify(r: &Receipt, client: &NodeClient) -> Result<Verified, WalletError> {
    if r.format != "zkpay-receipt" || r.version != 1 {
        return Err(fail("not a version 1 zkpay receipt"));
    }
    let merchant = Address::decode(&r.merchant, r.network).map_err(|e| fail(e.to_string()))?;
    let asset = Asset::from_text(&r.asset).map_err(|e| fail(e.to_string()))?;
    if r.note.asset != asset.id() {
        return Err(fail("the note's asset is not the stated asset"));
    }
    if r.note.owner != merchant.pk {
        return Err(fail("the note is not owned by the merchant's address"));
    }
    let cm = r.note.commitment();
    if r.path.position != r.position {
        return Err(fail("path and position disagree"));
    }
    verify_note_path(&r.path, cm.0, r.root)
        .map_err(|_| fail("the Merkle path does not lead to the root"))?;
    let tag = match (&r.invoice, &r.invoice_tag) {
        (Some(i), Some(t)) => {
            let expect =
                invoice_tag(i.as_bytes(), &merchant.pk).map_err(|e| fail(e.to_string()))?;
            let given = fe_from_hex(t).map_err(|e| fail(e.to_string()))?;
            if expect != given {
                return Err(fail(
                    "the invoice tag is not the merchant's tag for this invoice",
                ));
            }
            Some(given)
        }
        (None, None) => None,
        _ => return Err(fail("invoice id and tag must come together")),
    };
    // the node: the root is the committed root after `root_batch` ...
    let info = client.info()?;
    if info.network != r.network {
        return Err(WalletError::NetworkMismatch {
            wallet: r.network,
            other: info.network,
            what: "the node",
        });
    }
    let rb = client
        .batch(r.root_batch)?
        .ok_or_else(|| fail(format!("batch {} is not committed", r.root_batch)))?;
    if rb.note_root() != Some(r.root) {
        return Err(fail(format!(
            "the root is not the committed root of batch {}",
            r.root_batch
        )));
    }
    // ... and the payment committed in `batch` created this commitment with this invoice tag
    let b = client
        .batch(r.batch)?
        .ok_or_else(|| fail(format!("batch {} is not committed", r.batch)))?;
    let entry = b
        .entries
        .iter()
        .find(|e| e.id == r.payment)
        .ok_or_else(|| fail(format!("payment {} is not in batch {}", r.payment, r.batch)))?;
    if !entry
        .notes
        .iter()
        .any(|n| n.commitment == cm && n.position == r.position)
    {
        return Err(fail(
            "the payment did not create this note at this position",
        ));
    }
    if entry.invoice_tag.as_deref() != tag.as_ref().map(fe_to_hex).as_deref() {
        return Err(fail("the payment does not carry this invoice tag"));
    }
    let amount = format_in(&r.asset, r.note.value);
    let statement = format!(
        "payment {} committed in batch {} created a note of {} for {}{}, at position {} under the committed root of batch {}. It does not show who paid.",
        &r.payment[..16.min(r.payment.len())],
        r.batch,
        amount,
        r.merchant,
        r.invoice
            .as_ref()
            .map(|i| format!(", paying invoice {i:?}"))
            .unwrap_or_default(),
        r.position,
        r.root_batch
    );
    Ok(Verified {
        payment: r.payment.clone(),
        amount,
        value: r.note.value,
        asset: r.asset.clone(),
        merchant: r.merchant.clone(),
        invoice: r.invoice.clone(),
        batch: r.batch,
        position: r.position,
        statement,
    })
}
