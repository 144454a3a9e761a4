//! The shop-counter till: `zkpay till serve` runs a small web server on a watch-only wallet.
//! The cashier types an amount, the page shows the payment request's QR code, and the status
//! moves live from *waiting* to *paid* (the node accepted a payment carrying the invoice) to
//! *confirmed in batch N* (the till synced the note and checked its value and asset), or to
//! *expired* / *underpaid*.
//!
//! The till's requests and their history live in `till.json` beside the wallet file (written
//! atomically on every change), so a restart loses nothing. The wallet itself holds the
//! invoices' keys. The server half is in [`server`].

pub mod server;
pub mod tls;
pub mod words;

use crate::client::NodeClient;
use crate::store::atomic_write;
use crate::wallet::{format_in, now, InvoiceReport, Wallet};
use crate::WalletError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use zkpay_api::node::InvoiceStatus;
use zkpay_protocol::note::Asset;
use zkpay_protocol::uri::{parse_amount, PaymentRequest};

/// Longest order id and message a till accepts (characters).
pub const MAX_TEXT: usize = 64;
/// Requests kept in the till's book; the oldest settled ones are dropped beyond it.
pub const MAX_RECORDS: usize = 20_000;
/// How long after its expiry an unpaid request is still watched for a late payment (seconds).
pub const WATCH_AFTER_EXPIRY: u64 = 3_600;

/// Where a request stands, as the page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TillStatus {
    /// Shown to the customer, nothing paid.
    Waiting,
    /// The node accepted a payment carrying the invoice's tag; not committed yet.
    Paid,
    /// Committed in a batch, and the till holds the note: value and asset checked.
    Confirmed,
    /// Committed, but the till could not open the note: ask the customer for the receipt.
    Unverified,
    /// A note with the invoice's key but a smaller value arrived.
    Underpaid,
    /// A note with the invoice's key but a larger value arrived.
    Overpaid,
    /// A note with the invoice's key but another asset arrived.
    WrongAsset,
    /// Past its expiry, unpaid.
    Expired,
}

impl TillStatus {
    /// The status for a wallet invoice report state ([`Wallet::invoice_report`]).
    pub fn from_report(state: &str) -> Option<Self> {
        Some(match state {
            "unpaid" => Self::Waiting,
            "pending" => Self::Paid,
            "paid" => Self::Confirmed,
            "unknown_note" => Self::Unverified,
            "underpaid" => Self::Underpaid,
            "overpaid" => Self::Overpaid,
            "wrong_asset" => Self::WrongAsset,
            "expired" => Self::Expired,
            _ => return None,
        })
    }

    /// Name on the wire and in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Paid => "paid",
            Self::Confirmed => "confirmed",
            Self::Unverified => "unverified",
            Self::Underpaid => "underpaid",
            Self::Overpaid => "overpaid",
            Self::WrongAsset => "wrong_asset",
            Self::Expired => "expired",
        }
    }

    /// Whether the till still asks the node about a request in this status, given when it
    /// was last checked successfully (`None`: not since the till started). Confirmed requests
    /// are settled; a payment accepted but not committed (or committed and not opened) is
    /// followed until it is; the others (waiting, expired, or paid with the wrong value or
    /// asset, after which the customer may still pay the right one) are watched until a check
    /// made an hour past expiry, however long the till or the node was away.
    pub fn watched(self, expires: u64, last_checked: Option<u64>) -> bool {
        match (self, last_checked) {
            (_, None) => true,
            (Self::Confirmed, _) => false,
            (Self::Paid | Self::Unverified, _) => true,
            (_, Some(at)) => at < expires.saturating_add(WATCH_AFTER_EXPIRY),
        }
    }
}

/// One payment request made at the till.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Sequence number at this till.
    pub id: u64,
    /// Invoice id inside the request (the order id, or one the till made).
    pub invoice: String,
    /// Order id typed by the cashier.
    pub order: Option<String>,
    /// Label typed by the cashier (shown to the payer as the request's message).
    pub message: Option<String>,
    /// Asset text.
    pub asset: String,
    /// Amount (base units).
    pub amount: u64,
    /// The payment-request URI the QR code carries.
    pub uri: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub expires: u64,
    /// Status.
    pub status: TillStatus,
    /// Batch that committed the payment.
    pub batch: Option<u64>,
    /// Payment id (hex) carrying the invoice's tag.
    pub payment: Option<String>,
    /// Value of the note received for it (base units).
    pub received: u64,
    /// When the status last changed (unix seconds).
    pub updated: u64,
}

impl Record {
    /// The record as the page sees it (amounts formatted and in words).
    pub fn view(&self) -> Value {
        let words = Asset::from_text(&self.asset)
            .map(|a| words::amount(&a, self.amount))
            .unwrap_or_default();
        json!({
            "id": self.id, "invoice": self.invoice, "order": self.order, "message": self.message,
            "asset": self.asset, "amount": self.amount.to_string(),
            "amount_text": format_in(&self.asset, self.amount), "amount_words": words,
            "uri": self.uri, "created": self.created,
            "expires": (self.expires != u64::MAX).then_some(self.expires),
            "status": self.status, "batch": self.batch, "payment": self.payment,
            "received": self.received.to_string(),
            "received_text": format_in(&self.asset, self.received), "updated": self.updated,
        })
    }

    /// Applies an invoice report; returns whether anything changed.
    pub fn apply(&mut self, r: &InvoiceReport, t: u64) -> bool {
        let Some(status) = TillStatus::from_report(r.state) else {
            return false;
        };
        let before = (self.status, self.batch, self.payment.clone(), self.received);
        self.status = status;
        self.batch = r.batch;
        self.payment = r.payment.clone();
        self.received = r.received;
        let changed = before != (self.status, self.batch, self.payment.clone(), self.received);
        if changed {
            self.updated = t;
        }
        changed
    }
}

/// The till's book: every request made, persisted in `till.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Book {
    format: String,
    version: u32,
    next_id: u64,
    records: Vec<Record>,
    #[serde(skip)]
    path: PathBuf,
    /// When each record was last checked successfully (this run only: nothing read from the
    /// file is trusted without a check).
    #[serde(skip)]
    checked: HashMap<u64, u64>,
    /// A change not written yet (the last write failed).
    #[serde(skip)]
    dirty: bool,
}

/// Locks `m`, also after a panic elsewhere poisoned it (the data is still consistent: every
/// change to it is a whole assignment).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const BOOK_FORMAT: &str = "zkpay-till";

impl Book {
    /// The book file of the till in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("till.json")
    }

    /// Opens the book in `dir` (an empty one if there is none yet). A file that does not parse
    /// is an error, never silently replaced: it is the shop's history.
    pub fn open(dir: &Path) -> Result<Self, WalletError> {
        let path = Self::path_in(dir);
        let mut book = match std::fs::read(&path) {
            Ok(bytes) => {
                let b: Book = serde_json::from_slice(&bytes)
                    .map_err(|e| WalletError::Corrupt(format!("{}: {e}", path.display())))?;
                if b.format != BOOK_FORMAT || b.version != 1 {
                    return Err(WalletError::Corrupt(format!(
                        "{}: not a version-1 till book",
                        path.display()
                    )));
                }
                if b.records.iter().any(|r| r.id >= b.next_id) {
                    return Err(WalletError::Corrupt(format!(
                        "{}: a record id is not below next_id",
                        path.display()
                    )));
                }
                b
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Book {
                format: BOOK_FORMAT.into(),
                version: 1,
                next_id: 1,
                records: Vec::new(),
                path: PathBuf::new(),
                checked: HashMap::new(),
                dirty: false,
            },
            Err(e) => return Err(WalletError::Io(path, e.to_string())),
        };
        book.path = path;
        Ok(book)
    }

    /// Writes the book atomically.
    pub fn save(&self) -> Result<(), WalletError> {
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| WalletError::Corrupt(e.to_string()))?;
        atomic_write(&self.path, &bytes)
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// One record.
    pub fn get(&self, id: u64) -> Option<&Record> {
        self.records.iter().find(|r| r.id == id)
    }

    /// Adds the wallet's issued invoices this book does not know (a request whose book write
    /// was interrupted, or one made with `zkpay request` on the same wallet); returns how many.
    pub fn adopt(&mut self, wallet: &Wallet) -> usize {
        let mut n = 0;
        for i in wallet.invoices() {
            if self.records.iter().any(|r| r.invoice == i.invoice) {
                continue;
            }
            let (Some(amount), Ok(req)) = (
                i.amount,
                PaymentRequest::parse_for(&i.uri, wallet.network()),
            ) else {
                continue;
            };
            let id = self.next_id;
            self.next_id += 1;
            self.records.push(Record {
                id,
                invoice: i.invoice.clone(),
                order: Some(i.invoice.clone()),
                message: req.message,
                asset: i.asset.clone(),
                amount,
                uri: i.uri.clone(),
                created: i.created,
                expires: i.expires.unwrap_or(u64::MAX),
                status: TillStatus::Waiting,
                batch: None,
                payment: None,
                received: 0,
                updated: i.created,
            });
            n += 1;
        }
        self.records.sort_by_key(|r| r.id);
        n
    }

    /// Checks every record against the invoice the (sealed, authenticated) wallet file holds,
    /// and re-derives each *confirmed* status from the wallet's own notes: the book is a plain
    /// file, and nothing in it may show a sale as paid on its own say-so. A record whose
    /// invoice, URI, amount, asset or expiry differs from the wallet's is refused; a confirmed
    /// record the wallet cannot back goes back to *waiting* and is checked with the node.
    pub fn check_against(&mut self, wallet: &Wallet) -> Result<(), WalletError> {
        let unknown = InvoiceStatus {
            paid: false,
            payment: None,
            status: None,
        };
        for r in &mut self.records {
            let issued = wallet
                .invoices()
                .iter()
                .find(|i| i.invoice == r.invoice)
                .ok_or_else(|| {
                    WalletError::Corrupt(format!(
                        "till.json: request {} names invoice {:?}, which the wallet never issued",
                        r.id, r.invoice
                    ))
                })?;
            if issued.uri != r.uri
                || issued.amount != Some(r.amount)
                || issued.asset != r.asset
                || issued.expires.unwrap_or(u64::MAX) != r.expires
            {
                return Err(WalletError::Corrupt(format!(
                    "till.json: request {} differs from the wallet's invoice {:?}",
                    r.id, r.invoice
                )));
            }
            if r.status == TillStatus::Confirmed {
                let local = wallet.invoice_report_from(&r.invoice, &unknown)?;
                if local.state == "paid" {
                    r.batch = local.batch;
                    r.payment = local.payment;
                    r.received = local.received;
                } else {
                    r.status = TillStatus::Waiting;
                    r.batch = None;
                    r.payment = None;
                    r.received = 0;
                    self.dirty = true;
                }
            }
        }
        Ok(())
    }

    /// Whether record `id` is still watched.
    fn is_watched(&self, r: &Record) -> bool {
        r.status
            .watched(r.expires, self.checked.get(&r.id).copied())
    }

    /// Drops the oldest settled records beyond [`MAX_RECORDS`].
    fn trim(&mut self) {
        while self.records.len() > MAX_RECORDS {
            match self.records.iter().position(|r| !self.is_watched(r)) {
                Some(i) => {
                    self.records.remove(i);
                }
                None => break,
            }
        }
    }

    /// Ids and invoice ids of the records the till still asks the node about.
    pub fn watched(&self) -> Vec<(u64, String)> {
        self.records
            .iter()
            .filter(|r| self.is_watched(r))
            .map(|r| (r.id, r.invoice.clone()))
            .collect()
    }

    /// Applies a report, made from a node answer of time `t`, to record `id`; returns whether
    /// the record changed.
    pub fn apply(&mut self, id: u64, r: &InvoiceReport, t: u64) -> bool {
        self.checked.insert(id, t);
        let changed = self
            .records
            .iter_mut()
            .find(|x| x.id == id)
            .is_some_and(|x| x.apply(r, t));
        self.dirty |= changed;
        changed
    }

    /// Writes the book if it has unwritten changes (retried on the next call after a failure).
    pub fn flush(&mut self) -> Result<(), WalletError> {
        if self.dirty {
            self.save()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// The record of invoice `invoice`, if the till made it.
    pub fn by_invoice(&self, invoice: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.invoice == invoice)
    }

    /// Records of the local day of `t` (UTC offset `tz_min` minutes) and every watched one,
    /// newest first, at most `max`; and that day's confirmed totals per asset over the whole
    /// book.
    pub fn day(&self, t: u64, tz_min: i64, max: usize) -> (Vec<&Record>, Vec<(String, u128)>) {
        let day = |x: u64| (x as i64 + tz_min * 60).div_euclid(86_400);
        let today = day(t);
        let mut totals: Vec<(String, u128)> = Vec::new();
        for r in &self.records {
            if r.status == TillStatus::Confirmed && day(r.created) == today {
                match totals.iter_mut().find(|(a, _)| *a == r.asset) {
                    Some((_, sum)) => *sum += u128::from(r.amount),
                    None => totals.push((r.asset.clone(), u128::from(r.amount))),
                }
            }
        }
        let rows = self
            .records
            .iter()
            .rev()
            .filter(|r| day(r.created) == today || self.is_watched(r))
            .take(max)
            .collect();
        (rows, totals)
    }

    /// The history as CSV (RFC 4180; cells a spreadsheet would run as a formula are quoted
    /// with a leading apostrophe).
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "created_utc,request,invoice,order,label,asset,amount,status,batch,payment,received\r\n",
        );
        for r in &self.records {
            let cells = [
                words::utc(r.created),
                r.id.to_string(),
                r.invoice.clone(),
                r.order.clone().unwrap_or_default(),
                r.message.clone().unwrap_or_default(),
                r.asset.clone(),
                format_in(&r.asset, r.amount),
                r.status.name().to_string(),
                r.batch.map(|b| b.to_string()).unwrap_or_default(),
                r.payment.clone().unwrap_or_default(),
                format_in(&r.asset, r.received),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// One CSV cell, always quoted (so that a spreadsheet splitting on `;` or tabs still sees one
/// cell); a leading `= + - @`, tab or carriage return is defused with an apostrophe so a
/// spreadsheet shows text, not a formula.
pub fn csv_cell(s: &str) -> String {
    let mut v = String::with_capacity(s.len() + 3);
    v.push('"');
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.push('\'');
    }
    v.push_str(&s.replace('"', "\"\""));
    v.push('"');
    v
}

/// Free text typed at the till (order id, label): trimmed, at most [`MAX_TEXT`] characters, no
/// control or bidirectional-formatting characters (the same rule as payment requests).
pub fn clean_text(what: &str, s: &str) -> Result<Option<String>, WalletError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > MAX_TEXT {
        return Err(WalletError::Refused(format!(
            "{what}: at most {MAX_TEXT} characters"
        )));
    }
    if let Some(c) = s.chars().find(|c| unsafe_char(*c)) {
        return Err(WalletError::Refused(format!(
            "{what}: control or bidirectional character U+{:04X}",
            c as u32
        )));
    }
    Ok(Some(s.to_string()))
}

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Prefix of the invoice ids the till makes for requests without an order id.
pub const AUTO_PREFIX: &str = "till-";

/// What the cashier asks for: one request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// Amount as typed ("12.50").
    pub amount: String,
    /// Asset text (one of the till's).
    pub asset: String,
    /// Order id (becomes the invoice id; unique at this till).
    #[serde(default)]
    pub order: Option<String>,
    /// Label, shown to the payer.
    #[serde(default)]
    pub label: Option<String>,
}

/// Makes a request in `wallet` (which remembers the invoice and its key) and adds it to the
/// book. `merchant` becomes the request's label (the name the payer sees).
pub fn make_request(
    wallet: &mut Wallet,
    book: &mut Book,
    assets: &[Asset],
    merchant: &str,
    expires_in: u64,
    req: &NewRequest,
) -> Result<Record, WalletError> {
    let asset = Asset::from_text(req.asset.trim())?;
    if !assets.contains(&asset) {
        return Err(WalletError::Refused(format!(
            "asset {} is not sold at this till",
            asset.to_text()
        )));
    }
    let amount = parse_amount(req.amount.trim(), asset.decimals)?;
    if amount == 0 {
        return Err(WalletError::Refused("amount must be above zero".into()));
    }
    let order = clean_text("order id", req.order.as_deref().unwrap_or(""))?;
    if order.as_deref().is_some_and(|o| o.starts_with(AUTO_PREFIX)) {
        return Err(WalletError::Refused(format!(
            "order ids starting with {AUTO_PREFIX:?} are the till's own"
        )));
    }
    let message = clean_text("label", req.label.as_deref().unwrap_or(""))?;
    let t = now();
    let id = book.next_id;
    let invoice = match &order {
        Some(o) => o.clone(),
        None => {
            let day = words::utc(t)[..10].replace('-', "");
            let mut n = id;
            loop {
                let name = format!("{AUTO_PREFIX}{day}-{n}");
                if !wallet.invoices().iter().any(|i| i.invoice == name) {
                    break name;
                }
                n += 1;
            }
        }
    };
    let mut r = PaymentRequest::new(wallet.address(), asset.clone(), Some(amount));
    r.invoice = Some(invoice.clone().into_bytes());
    let mut salt = vec![0u8; zkpay_protocol::invoice::MIN_SALT];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    r.salt = Some(salt);
    let expires = t.saturating_add(expires_in);
    r.expires = Some(expires);
    r.label = (!merchant.is_empty()).then(|| merchant.to_string());
    r.message = message.clone();
    let uri = wallet.request(r)?;
    let rec = Record {
        id,
        invoice,
        order,
        message,
        asset: asset.to_text(),
        amount,
        uri,
        created: t,
        expires,
        status: TillStatus::Waiting,
        batch: None,
        payment: None,
        received: 0,
        updated: t,
    };
    book.next_id += 1;
    book.records.push(rec.clone());
    book.trim();
    book.dirty = true;
    book.flush()?;
    Ok(rec)
}

/// The node as the till last saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeHealth {
    /// Whether the last sync succeeded.
    pub ok: bool,
    /// Whether the node could not be reached at all (rather than answering wrongly).
    pub unreachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// Since when (unix seconds).
    pub since: u64,
    /// Last synced batch.
    pub synced_batch: u64,
}

/// One round of the till's watch: sync the wallet, then ask the node about every watched
/// request. The node is asked without holding the wallet or the book, so a slow node delays
/// only the watch, never the counter. Returns whether the book changed; `health` is updated
/// either way.
pub fn poll(
    wallet: &Mutex<Wallet>,
    client: &NodeClient,
    book: &Mutex<Book>,
    health: &mut NodeHealth,
) -> bool {
    let t = now();
    let fail = |h: &mut NodeHealth, e: &WalletError| {
        if h.ok || h.error.is_none() {
            h.since = t;
        }
        h.ok = false;
        h.unreachable = matches!(e, WalletError::Unreachable(_));
        h.error = Some(e.to_string());
    };
    {
        let mut w = lock(wallet);
        if let Err(e) = w.sync(client, 16, |_, _| {}) {
            fail(health, &e);
            return false;
        }
        health.synced_batch = w.synced_batch();
    }
    if !health.ok {
        health.since = t;
    }
    health.ok = true;
    health.unreachable = false;
    health.error = None;
    let watched = lock(book).watched();
    let tags: Vec<(u64, String, zkpay_protocol::F)> = {
        let w = lock(wallet);
        watched
            .into_iter()
            .filter_map(|(id, inv)| w.issued_tag(&inv).ok().map(|tag| (id, inv, tag)))
            .collect()
    };
    let mut answers = Vec::with_capacity(tags.len());
    for (id, invoice, tag) in tags {
        match client.invoice(&tag) {
            Ok(st) => answers.push((id, invoice, st)),
            Err(e @ WalletError::Unreachable(_)) => {
                fail(health, &e);
                break;
            }
            Err(e) => warn(&format!("till: invoice {invoice:?}: {e}")),
        }
    }
    let reports: Vec<(u64, InvoiceReport)> = {
        let w = lock(wallet);
        answers
            .iter()
            .filter_map(|(id, inv, st)| w.invoice_report_from(inv, st).ok().map(|r| (*id, r)))
            .collect()
    };
    let mut b = lock(book);
    let mut changed = false;
    for (id, r) in &reports {
        changed |= b.apply(*id, r, t);
    }
    if let Err(e) = b.flush() {
        warn(&format!("till: saving the book (retried next round): {e}"));
    }
    changed
}

fn warn(msg: &str) {
    eprintln!("{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: &'static str, batch: Option<u64>, received: u64) -> InvoiceReport {
        InvoiceReport {
            invoice: "o-1".into(),
            state,
            payment: batch.map(|_| "ab".repeat(32)),
            batch,
            amount: 1_250,
            received,
            asset: "USD".into(),
        }
    }

    fn record() -> Record {
        Record {
            id: 1,
            invoice: "o-1".into(),
            order: Some("o-1".into()),
            message: None,
            asset: "USD".into(),
            amount: 1_250,
            uri: "zkpay:x".into(),
            created: 100,
            expires: 1_000,
            status: TillStatus::Waiting,
            batch: None,
            payment: None,
            received: 0,
            updated: 100,
        }
    }

    #[test]
    fn every_report_state_maps_to_a_status() {
        for (s, want) in [
            ("unpaid", TillStatus::Waiting),
            ("pending", TillStatus::Paid),
            ("paid", TillStatus::Confirmed),
            ("unknown_note", TillStatus::Unverified),
            ("underpaid", TillStatus::Underpaid),
            ("overpaid", TillStatus::Overpaid),
            ("wrong_asset", TillStatus::WrongAsset),
            ("expired", TillStatus::Expired),
        ] {
            assert_eq!(TillStatus::from_report(s), Some(want));
            let v = serde_json::to_value(want).unwrap();
            assert_eq!(v, want.name());
        }
        assert_eq!(TillStatus::from_report("bogus"), None);
        // an unknown state changes nothing
        let mut r = record();
        assert!(!r.apply(&report("bogus", None, 0), 5));
        assert_eq!(r, record());
    }

    #[test]
    fn apply_records_changes_once() {
        let mut r = record();
        assert!(!r.apply(&report("unpaid", None, 0), 200));
        assert_eq!(r.updated, 100);
        assert!(r.apply(&report("paid", Some(4), 1_250), 300));
        assert_eq!(
            (r.status, r.batch, r.received, r.updated),
            (TillStatus::Confirmed, Some(4), 1_250, 300)
        );
        assert!(!r.apply(&report("paid", Some(4), 1_250), 400));
        assert_eq!(r.updated, 300);
    }

    #[test]
    fn which_requests_are_watched() {
        use TillStatus::*;
        let all = [
            Waiting, Paid, Confirmed, Unverified, Underpaid, Overpaid, WrongAsset, Expired,
        ];
        // nothing read from the file is trusted: everything is checked once after a start
        for s in all {
            assert!(s.watched(1_000, None), "{s:?}");
        }
        assert!(!Confirmed.watched(1_000, Some(0)));
        for s in [Paid, Unverified] {
            assert!(s.watched(1_000, Some(u64::MAX)), "{s:?}");
        }
        for s in [Waiting, Underpaid, Overpaid, WrongAsset, Expired] {
            // a check made an hour past expiry settles it, however late that check comes
            assert!(
                s.watched(1_000, Some(1_000 + WATCH_AFTER_EXPIRY - 1)),
                "{s:?}"
            );
            assert!(!s.watched(1_000, Some(1_000 + WATCH_AFTER_EXPIRY)), "{s:?}");
            assert!(s.watched(u64::MAX, Some(u64::MAX - 1)), "{s:?}");
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("x;=HYPERLINK(1)"), "\"x;=HYPERLINK(1)\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_cell("+1"), "\"'+1\"");
        assert_eq!(csv_cell("@x"), "\"'@x\"");
        assert_eq!(csv_cell("-2"), "\"'-2\"");
        assert_eq!(csv_cell("\tx"), "\"'\tx\"");
        assert_eq!(csv_cell(""), "\"\"");
    }

    #[test]
    fn free_text_is_bounded_and_clean() {
        assert_eq!(clean_text("x", "  ").unwrap(), None);
        assert_eq!(clean_text("x", " A-7 ").unwrap(), Some("A-7".into()));
        assert_eq!(
            clean_text("x", &"é".repeat(MAX_TEXT)).unwrap(),
            Some("é".repeat(MAX_TEXT))
        );
        assert!(clean_text("x", &"a".repeat(MAX_TEXT + 1)).is_err());
        for bad in [
            "a\u{202E}b",
            "a\nb",
            "a\u{7}b",
            "a\u{200B}b",
            "a\u{2066}b",
            "\u{FEFF}a",
        ] {
            let e = clean_text("x", bad).unwrap_err().to_string();
            assert!(e.contains("control or bidirectional"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn book_round_trips_and_refuses_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Book::open(dir.path()).unwrap();
        assert!(b.records().is_empty());
        b.records.push(record());
        b.next_id = 2;
        b.save().unwrap();
        let again = Book::open(dir.path()).unwrap();
        assert_eq!(again.records(), b.records());
        assert_eq!(again.next_id, 2);
        // an id at or above next_id
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(Book::path_in(dir.path())).unwrap()).unwrap();
        v["next_id"] = Value::from(1);
        std::fs::write(Book::path_in(dir.path()), serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(Book::open(dir.path()).is_err());
        // an unknown field, a truncated file
        v["next_id"] = Value::from(2);
        v["extra"] = Value::from(1);
        std::fs::write(Book::path_in(dir.path()), serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(Book::open(dir.path()).is_err());
        std::fs::write(Book::path_in(dir.path()), b"{\"format\":").unwrap();
        assert!(Book::open(dir.path()).is_err());
    }

    #[test]
    fn the_book_keeps_its_size_by_dropping_settled_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Book::open(dir.path()).unwrap();
        for i in 0..(MAX_RECORDS as u64 + 3) {
            let mut r = record();
            r.id = i + 1;
            r.status = if i == 0 {
                TillStatus::Paid
            } else {
                TillStatus::Confirmed
            };
            b.records.push(r);
        }
        b.next_id = MAX_RECORDS as u64 + 4;
        for r in &b.records {
            b.checked.insert(r.id, 0);
        }
        b.trim();
        assert_eq!(b.records.len(), MAX_RECORDS);
        // the pending one stays; the oldest confirmed ones went
        assert_eq!(b.records[0].id, 1);
        assert_eq!(b.records[1].id, 5);
    }
}
