//! Payment receipts: the opening of the note a payer created for a merchant, its position and
//! a Merkle path to a committed root, and the invoice it paid. Anyone can verify one: the
//! verifier recomputes the commitment, checks the path and the invoice binding itself, and takes
//! from the ledger only which roots and notes are committed. With `--ledger DIR` that is the
//! embedded ledger's own log (hash-chained, read directly); with a node, the node is trusted for
//! that alone, never for the opening, the path or the invoice. It proves that a note of this
//! amount and asset, owned by the merchant's address, was committed by this payment in this
//! batch, paying this invoice. It does not reveal or prove who paid.

use crate::client::NodeClient;
use crate::wallet::{format_in, SentStatus, Wallet};
use crate::WalletError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
#[cfg(feature = "embedded-ledger")]
use zkpay_ledger::LedgerLog;
use zkpay_protocol::address::{Address, Network};
use zkpay_protocol::field::{fe_from_hex, F};
use zkpay_protocol::invoice::{invoice_key, invoice_tag};
use zkpay_protocol::merkle::{verify_note_path, MerklePath};
use zkpay_protocol::note::{Asset, Commitment, Note};

/// What a receipt check needs from a committed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchView {
    /// Note root after the batch.
    pub note_root: F,
    /// The batch's payments in order.
    pub entries: Vec<EntryView>,
}

impl BatchView {
    /// The view of a committed batch whose notes start at note cursor `start` (the cursor after
    /// the batch before it): what a source built on a ledger's own log gives.
    pub fn of(b: &zkpay_api::ledger::CommittedBatch, start: u64) -> Result<BatchView, WalletError> {
        let notes = b
            .note_positions(start)
            .map_err(|e| WalletError::Node(e.to_string()))?;
        Ok(BatchView {
            note_root: b.state.note_root.0,
            entries: b
                .payments
                .iter()
                .zip(notes)
                .map(|(p, ns)| {
                    (
                        hex::encode(p.id()),
                        p.public.invoice_tag,
                        ns.iter().map(|n| (n.position, n.commitment)).collect(),
                    )
                })
                .collect(),
        })
    }
}

/// One payment of a committed batch: id (hex), invoice tag (0 = none), and its notes
/// (position, commitment) in output order.
pub type EntryView = (String, F, Vec<(u64, Commitment)>);

/// Where committed batches are read from.
pub trait CommittedBatches {
    /// Network of the ledger.
    fn network(&self) -> Result<Network, WalletError>;
    /// A committed batch, or `None` when it is not committed.
    fn batch_view(&self, n: u64) -> Result<Option<BatchView>, WalletError>;
    /// A short description, for the verdict.
    fn describe(&self) -> String;
}

impl CommittedBatches for NodeClient {
    fn network(&self) -> Result<Network, WalletError> {
        Ok(self.info()?.network)
    }

    fn batch_view(&self, n: u64) -> Result<Option<BatchView>, WalletError> {
        let Some(b) = self.batch(n)? else {
            return Ok(None);
        };
        let note_root = b
            .note_root()
            .ok_or_else(|| WalletError::Node(format!("batch {n} has no note root")))?;
        Ok(Some(BatchView {
            note_root,
            entries: b
                .entries
                .iter()
                .map(|e| {
                    (
                        e.id.clone(),
                        e.public.invoice_tag,
                        e.notes.iter().map(|n| (n.position, n.commitment)).collect(),
                    )
                })
                .collect(),
        }))
    }

    fn describe(&self) -> String {
        format!(
            "the node at {} (trusted for what is committed: roots, notes and tags)",
            self.base()
        )
    }
}

#[cfg(feature = "embedded-ledger")]
/// The embedded ledger's log, read directly (read-only); every batch read is checked to hash to
/// its recorded hash and to be linked to the head through its descendants' parent hashes.
pub struct LedgerSource {
    log: LedgerLog,
    path: String,
    /// Lowest batch number whose link to the head has been checked.
    linked_from: std::cell::Cell<u64>,
}

#[cfg(feature = "embedded-ledger")]
impl LedgerSource {
    /// Opens the ledger database in `dir` (the node's `<data dir>/ledger`).
    pub fn open(dir: &std::path::Path) -> Result<Self, WalletError> {
        Ok(Self {
            log: LedgerLog::open(dir).map_err(|e| WalletError::Node(e.to_string()))?,
            path: dir.display().to_string(),
            linked_from: std::cell::Cell::new(u64::MAX),
        })
    }

    /// Checks that batches `n..=head` chain to the head's hash: each batch's hash is the next
    /// one's parent.
    fn link_to_head(&self, n: u64) -> Result<(), WalletError> {
        if self.linked_from.get() <= n {
            return Ok(());
        }
        let bad = |why: String| WalletError::Node(format!("the ledger's log is broken: {why}"));
        let head = self.log.head().map_err(|e| bad(e.to_string()))?;
        let mut expected = head.hash;
        let mut i = head.number;
        while i >= n.max(1) {
            let b = self
                .log
                .batch(i)
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad(format!("batch {i} is missing")))?;
            if b.hash != expected {
                return Err(bad(format!("batch {i} is not on the chain to the head")));
            }
            expected = b.parent;
            self.linked_from.set(i);
            i -= 1;
        }
        Ok(())
    }
}

#[cfg(feature = "embedded-ledger")]
impl CommittedBatches for LedgerSource {
    fn network(&self) -> Result<Network, WalletError> {
        // the network every committed payment names (the ledger accepts no other)
        let b = self
            .log
            .batch(1)
            .map_err(|e| WalletError::Node(e.to_string()))?
            .ok_or_else(|| WalletError::Node("the ledger has no committed batch".into()))?;
        b.payments
            .first()
            .map(|p| p.ext.network)
            .ok_or_else(|| WalletError::Node("batch 1 has no payment".into()))
    }

    fn batch_view(&self, n: u64) -> Result<Option<BatchView>, WalletError> {
        let node = |e: zkpay_ledger::LedgerError| WalletError::Node(e.to_string());
        let Some(b) = self.log.batch(n).map_err(node)? else {
            return Ok(None);
        };
        self.link_to_head(n)?;
        let start = self.log.cursor_before(n).map_err(node)?;
        BatchView::of(&b, start).map(Some)
    }

    fn describe(&self) -> String {
        format!("the embedded ledger in {}", self.path)
    }
}

/// A receipt (JSON file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `zkpay-receipt`.
    pub format: String,
    /// 2.
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
    /// Invoice id, as text (for display; lossy where the id is not UTF-8).
    pub invoice: Option<String>,
    /// Invoice id bytes (base64url): with the salt they give the invoice key.
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// The invoice's salt (base64url).
    #[serde(default)]
    pub salt: Option<String>,
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
    /// What the committed roots were read from.
    pub checked_against: String,
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
        version: 2,
        network: wallet.network(),
        payment: sent.id.clone(),
        batch,
        position: path.position,
        asset: sent.asset.clone(),
        note,
        merchant,
        invoice: sent.invoice.clone(),
        invoice_id: sent.invoice_id.clone(),
        salt: sent.invoice_salt.clone(),
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

/// Verifies a receipt: the opening, the path and the invoice binding here; that the root and
/// the note are committed, against `ledger`.
pub fn verify(r: &Receipt, ledger: &dyn CommittedBatches) -> Result<Verified, WalletError> {
    if r.format != "zkpay-receipt" || r.version != 2 {
        return Err(fail("not a version 2 zkpay receipt"));
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
    // the invoice binding: the tag a payment of this note for this invoice must carry
    let tag = match (&r.invoice_id, &r.salt, &r.invoice_tag) {
        (Some(id), Some(salt), Some(t)) => {
            let salt = URL_SAFE_NO_PAD
                .decode(salt)
                .map_err(|_| fail("the salt is not base64url"))?;
            let id = URL_SAFE_NO_PAD
                .decode(id)
                .map_err(|_| fail("the invoice id is not base64url"))?;
            if r.invoice.as_deref() != Some(String::from_utf8_lossy(&id).as_ref()) {
                return Err(fail("the invoice text is not the invoice id"));
            }
            let key = invoice_key(&id, &salt).map_err(|e| fail(e.to_string()))?;
            let expect = invoice_tag(&key, &merchant.pk, r.note.value, &r.note.asset);
            let given = fe_from_hex(t).map_err(|e| fail(e.to_string()))?;
            if expect != given {
                return Err(fail(
                    "the invoice tag does not bind this note to this invoice",
                ));
            }
            given
        }
        (None, None, None) if r.invoice.is_none() => F::from(0u64),
        _ => return Err(fail("invoice id, salt and tag must come together")),
    };
    let network = ledger.network()?;
    if network != r.network {
        return Err(WalletError::NetworkMismatch {
            wallet: r.network,
            other: network,
            what: "the ledger",
        });
    }
    // the ledger: the root is the committed root after `root_batch` ...
    let rb = ledger
        .batch_view(r.root_batch)?
        .ok_or_else(|| fail(format!("batch {} is not committed", r.root_batch)))?;
    if rb.note_root != r.root {
        return Err(fail(format!(
            "the root is not the committed root of batch {}",
            r.root_batch
        )));
    }
    // ... and the payment committed in `batch` created this commitment with this invoice tag
    let b = ledger
        .batch_view(r.batch)?
        .ok_or_else(|| fail(format!("batch {} is not committed", r.batch)))?;
    let (_, entry_tag, notes) = b
        .entries
        .iter()
        .find(|(id, _, _)| *id == r.payment)
        .ok_or_else(|| fail(format!("payment {} is not in batch {}", r.payment, r.batch)))?;
    if notes.first() != Some(&(r.position, cm)) {
        return Err(fail(
            "the payment did not create this note as its output 0 at this position",
        ));
    }
    if *entry_tag != tag {
        return Err(fail("the payment does not carry this invoice tag"));
    }
    let amount = format_in(&r.asset, r.note.value);
    let statement = format!(
        "payment {} committed in batch {} created a note of {} for {}{}, at position {} under the committed root of batch {}. It does not show who paid.",
        r.payment.get(..16).unwrap_or(&r.payment),
        r.batch,
        amount,
        r.merchant,
        r.invoice
            .as_ref()
            .map(|i| format!(", paying invoice {i:?} for exactly this amount"))
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
        checked_against: ledger.describe(),
    })
}

/// Imports the note of a verified receipt into `wallet` (a merchant whose till could not
/// decrypt it): the note must be owned by the wallet and the receipt verify against `ledger`.
pub fn import(
    wallet: &mut Wallet,
    r: &Receipt,
    ledger: &dyn CommittedBatches,
) -> Result<Verified, WalletError> {
    let v = verify(r, ledger)?;
    if r.note.owner != wallet.address().pk {
        return Err(fail("the note is not owned by this wallet"));
    }
    wallet.import_note(
        r.note,
        r.position,
        r.batch,
        &r.payment,
        r.invoice_tag.clone(),
    )?;
    Ok(v)
}

/// Opens the receipt check's source of committed batches: the embedded ledger's database when
/// given, else the node.
pub fn source(
    ledger_dir: Option<&std::path::Path>,
    client: &NodeClient,
) -> Result<Box<dyn CommittedBatches>, WalletError> {
    Ok(match ledger_dir {
        #[cfg(feature = "embedded-ledger")]
        Some(d) => Box::new(LedgerSource::open(d)?),
        #[cfg(not(feature = "embedded-ledger"))]
        Some(d) => {
            return Err(WalletError::Refused(format!(
                "this build of zkpay reads no embedded ledger ({}): build it with \
                 `--features embedded-ledger` (the workspace build `make demo` makes has it), \
                 or check against a node",
                d.display()
            )))
        }
        None => Box::new(client.clone()),
    })
}
