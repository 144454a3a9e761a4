//! The wallet: keys, synced notes, payments sent, invoices issued; and the operations on them.

use crate::client::{NodeClient, NodeInfo};
use crate::store::Sealed;
use crate::tx::{prove_deposit, prove_payment, Output, PaymentPlan, ProvenPayment};
use crate::WalletError;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};
use zkpay_api::node::{InvoiceStatus, PaymentStatus};
use zkpay_protocol::account::AccountKey;
use zkpay_protocol::address::{Address, Network};
use zkpay_protocol::encryption::try_open_note;
use zkpay_protocol::field::{fe_to_hex, F};
use zkpay_protocol::keys::{FullViewingKey, SpendingKey};
use zkpay_protocol::merkle::NoteTree;
use zkpay_protocol::note::{Asset, AssetId, Note, Nullifier, Root, BUILTIN_ASSETS};
use zkpay_protocol::payment::PublicAccount;
use zkpay_protocol::uri::{format_amount, PaymentRequest};
use zkpay_prover::{KeyStore, PaymentProver, SetupMode};

/// A leaf of the note tree, as synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    /// Position.
    pub position: u64,
    /// Commitment.
    #[serde(with = "zkpay_protocol::field::serde_fe")]
    pub cm: F,
}

/// A note this wallet owns (or watches).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedNote {
    /// The note opening.
    pub note: Note,
    /// Leaf position.
    pub position: u64,
    /// Batch that committed it.
    pub batch: u64,
    /// Payment that created it (hex id).
    pub payment: String,
    /// Memo (lossy UTF-8).
    pub memo: String,
    /// Its nullifier.
    pub nullifier: Nullifier,
    /// Batch that spent it.
    pub spent_in: Option<u64>,
    /// Payment spending it that is not committed yet.
    pub pending_spend: Option<String>,
    /// Invoice tag (hex) of the payment that created it, when the note is that payment's
    /// output 0 (the output an invoice tag binds) and the tag is not 0.
    #[serde(default)]
    pub invoice_tag: Option<String>,
}

/// Status of a payment this wallet sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SentStatus {
    /// Accepted by the node, not committed yet.
    Pending,
    /// Committed.
    Committed {
        /// Batch.
        batch: u64,
    },
    /// Failed or refused.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A payment this wallet sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Payment id (hex).
    pub id: String,
    /// deposit, payment or withdrawal.
    pub kind: String,
    /// Asset (text).
    pub asset: String,
    /// Amount in base units.
    pub amount: u64,
    /// Fee.
    pub fee: u64,
    /// Recipient address, or public account for a withdrawal.
    pub to: Option<String>,
    /// Invoice id (lossy UTF-8) when paying an invoice.
    pub invoice: Option<String>,
    /// Invoice tag (hex).
    pub invoice_tag: Option<String>,
    /// Invoice id bytes (base64url), for receipts.
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// Salt of the invoice (base64url), for receipts.
    #[serde(default)]
    pub invoice_salt: Option<String>,
    /// The two outputs (recipient first).
    pub outputs: Vec<Note>,
    /// Memos of the outputs.
    pub memos: Vec<String>,
    /// Positions of the outputs once committed.
    pub positions: Vec<u64>,
    /// Nullifiers spent.
    pub nullifiers: Vec<Nullifier>,
    /// Status.
    #[serde(flatten)]
    pub status: SentStatus,
    /// Unix seconds.
    pub created: u64,
}

/// An invoice this wallet issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    /// Invoice id (lossy UTF-8).
    pub invoice: String,
    /// Tag (hex) of a payment of exactly this invoice.
    pub tag: String,
    /// Invoice key (hex): `H_InvoiceKey(pack(invoice id), pack(salt))`.
    #[serde(default)]
    pub key: Option<String>,
    /// Asset text.
    pub asset: String,
    /// Amount.
    pub amount: Option<u64>,
    /// Expiry.
    pub expires: Option<u64>,
    /// The URI.
    pub uri: String,
    /// Unix seconds.
    pub created: u64,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct State {
    network: Option<Network>,
    /// Spending-key seed (hex), absent for a watch-only wallet. Zeroized on drop.
    seed: Option<SeedHex>,
    fvk: String,
    /// Public account id (derived from the seed; empty for a watch-only wallet).
    account: String,
    depth: Option<usize>,
    synced_batch: u64,
    leaves: Vec<Leaf>,
    notes: Vec<OwnedNote>,
    sent: Vec<Sent>,
    invoices: Vec<Issued>,
    assets: BTreeMap<String, String>,
}

/// The spending-key seed (hex) inside the state; zeroized on drop, never printed.
#[derive(Serialize, Deserialize, Default)]
#[serde(transparent)]
struct SeedHex(String);

impl Drop for SeedHex {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A decrypted wallet state as [`Wallet::open`] reads it: the state, the spending key, the
/// account key and the viewing key, checked against each other and against `wnet`, the
/// network in the file's authenticated header.
type Decoded = (
    State,
    Option<SpendingKey>,
    Option<AccountKey>,
    FullViewingKey,
);

fn decode_state(plain: &[u8], wnet: Network) -> Result<Decoded, WalletError> {
    let state: State =
        serde_json::from_slice(plain).map_err(|e| WalletError::Corrupt(format!("state: {e}")))?;
    if state.network != Some(wnet) {
        return Err(WalletError::Corrupt(
            "state and header disagree on the network".into(),
        ));
    }
    let key = match &state.seed {
        Some(h) => {
            let bytes =
                Zeroizing::new(hex::decode(&h.0).map_err(|_| WalletError::Corrupt("seed".into()))?);
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WalletError::Corrupt("seed".into()))?;
            Some(SpendingKey::from_bytes(seed))
        }
        None => None,
    };
    let fvk = FullViewingKey::decode(&state.fvk, wnet)?;
    if let Some(k) = &key {
        if k.full_viewing_key().pk != fvk.pk {
            return Err(WalletError::Corrupt("seed and viewing key disagree".into()));
        }
    }
    let account_key = key.as_ref().map(|k| AccountKey::from_seed(&k.to_bytes()));
    let mut state = state;
    // wallets made before accounts were keys stored a name: the account is the seed's key
    state.account = account_key
        .as_ref()
        .map(|a| a.account().to_hex())
        .unwrap_or_default();
    Ok((state, key, account_key, fvk))
}

/// Decodes a decrypted wallet state (the plaintext of a wallet file) for a wallet of `network`
/// exactly as [`Wallet::open`] does, without a file or a key derivation, and returns the
/// wallet's address. For checking and fuzzing the state decoder.
pub fn check_state(plain: &[u8], network: Network) -> Result<Address, WalletError> {
    let (_, _, _, fvk) = decode_state(plain, network)?;
    Ok(fvk.address(network))
}

/// Where an issued invoice stands ([`Wallet::invoice_report`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvoiceReport {
    /// Invoice id.
    pub invoice: String,
    /// paid, unknown_note, pending, underpaid, overpaid, wrong_asset, expired or unpaid.
    pub state: &'static str,
    /// The payment carrying the invoice's tag, if any.
    pub payment: Option<String>,
    /// Batch that committed it.
    pub batch: Option<u64>,
    /// Invoiced amount (base units).
    pub amount: u64,
    /// Value of the note this wallet received for the invoice (base units).
    pub received: u64,
    /// Invoiced asset.
    pub asset: String,
}

/// Balance of one asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Asset text.
    pub asset: String,
    /// Spendable now (base units).
    pub spendable: u64,
    /// Locked by payments not committed yet.
    pub pending: u64,
    /// Formatted spendable amount.
    pub spendable_text: String,
}

/// An opened wallet.
pub struct Wallet {
    sealed: Sealed,
    state: State,
    key: Option<SpendingKey>,
    /// Key of the wallet's public account (derived from the seed), absent when watch-only.
    account_key: Option<AccountKey>,
    fvk: FullViewingKey,
    network: Network,
    last_proof: std::time::Duration,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wallet({}, {})", self.network, self.address())
    }
}

/// Current unix time.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn asset_text_of(id: &AssetId, known: &BTreeMap<String, String>) -> String {
    let hex = fe_to_hex(&id.0);
    if let Some(t) = known.get(&hex) {
        return t.clone();
    }
    for (sym, _) in BUILTIN_ASSETS {
        if let Ok(a) = Asset::from_text(sym) {
            if a.id() == *id {
                return a.to_text();
            }
        }
    }
    hex
}

/// Formats `amount` of the asset named `asset` (base units when unknown).
pub fn format_in(asset: &str, amount: u64) -> String {
    match Asset::from_text(asset) {
        Ok(a) => format!("{} {}", format_amount(amount, a.decimals), a.symbol),
        Err(_) => format!("{amount} units of {asset}"),
    }
}

impl Wallet {
    /// Creates a wallet in `dir`: a new spending key, or watch-only from a full viewing key.
    pub fn create(
        dir: &Path,
        network: Network,
        passphrase: &[u8],
        watch: Option<&str>,
    ) -> Result<Self, WalletError> {
        let (key, fvk) = match watch {
            Some(s) => (None, FullViewingKey::decode(s, network)?),
            None => {
                let k = SpendingKey::random(&mut rand::rngs::OsRng);
                let fvk = k.full_viewing_key();
                (Some(k), fvk)
            }
        };
        let account_key = key.as_ref().map(|k| AccountKey::from_seed(&k.to_bytes()));
        let account = account_key
            .as_ref()
            .map(|a| a.account().to_hex())
            .unwrap_or_default();
        let state = State {
            network: Some(network),
            seed: key
                .as_ref()
                .map(|k| SeedHex(hex::encode(k.to_bytes().as_ref()))),
            fvk: fvk.encode(network),
            account,
            ..Default::default()
        };
        let plain = Zeroizing::new(
            serde_json::to_vec(&state).map_err(|e| WalletError::Corrupt(e.to_string()))?,
        );
        let sealed = Sealed::create(dir, network, key.is_none(), passphrase, &plain)?;
        Ok(Self {
            sealed,
            state,
            key,
            account_key,
            fvk,
            network,
            last_proof: std::time::Duration::ZERO,
        })
    }

    /// Opens the wallet in `dir`; with `network`, refuses a wallet of another network.
    pub fn open(
        dir: &Path,
        passphrase: &[u8],
        network: Option<Network>,
    ) -> Result<Self, WalletError> {
        let (sealed, plain) = Sealed::open(dir, passphrase)?;
        let wnet = sealed.network();
        if let Some(n) = network {
            if n != wnet {
                return Err(WalletError::NetworkMismatch {
                    wallet: wnet,
                    other: n,
                    what: "--network",
                });
            }
        }
        let (state, key, account_key, fvk) = decode_state(&plain, wnet)?;
        Ok(Self {
            sealed,
            state,
            key,
            account_key,
            fvk,
            network: wnet,
            last_proof: std::time::Duration::ZERO,
        })
    }

    /// Seals and writes the state (atomically).
    pub fn save(&self) -> Result<(), WalletError> {
        let plain = Zeroizing::new(
            serde_json::to_vec(&self.state).map_err(|e| WalletError::Corrupt(e.to_string()))?,
        );
        self.sealed.save(&plain)
    }

    /// How long the last payment proof took.
    pub fn last_proof(&self) -> std::time::Duration {
        self.last_proof
    }

    /// Network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Whether the wallet cannot spend.
    pub fn watch_only(&self) -> bool {
        self.key.is_none()
    }

    /// Shielded address.
    pub fn address(&self) -> Address {
        self.fvk.address(self.network)
    }

    /// Full viewing key (bech32m).
    pub fn viewing_key(&self) -> String {
        self.fvk.encode(self.network)
    }

    /// The wallet's public account on the ledger (faucet, deposits, withdrawals): the address
    /// of a secp256k1 key derived from the seed. A watch-only wallet has none.
    pub fn account(&self) -> Result<PublicAccount, WalletError> {
        self.account_key
            .as_ref()
            .map(AccountKey::account)
            .ok_or(WalletError::WatchOnly)
    }

    /// The key of the wallet's public account, for signing the account's own transactions on
    /// an EVM base ledger (the one-time approval that lets the rollup contract pull deposits).
    /// A watch-only wallet has none.
    pub fn account_key(&self) -> Result<&AccountKey, WalletError> {
        self.account_key.as_ref().ok_or(WalletError::WatchOnly)
    }

    /// Last batch synced.
    pub fn synced_batch(&self) -> u64 {
        self.state.synced_batch
    }

    /// Notes found.
    pub fn notes(&self) -> &[OwnedNote] {
        &self.state.notes
    }

    /// Payments sent.
    pub fn sent(&self) -> &[Sent] {
        &self.state.sent
    }

    /// Invoices issued.
    pub fn invoices(&self) -> &[Issued] {
        &self.state.invoices
    }

    /// Name of an asset id.
    pub fn asset_text(&self, id: &AssetId) -> String {
        asset_text_of(id, &self.state.assets)
    }

    fn learn_asset(&mut self, a: &Asset) {
        self.state.assets.insert(fe_to_hex(&a.id().0), a.to_text());
    }

    /// Checks the node is on this wallet's network (and tree depth) and returns its info.
    pub fn check_node(&mut self, client: &NodeClient) -> Result<NodeInfo, WalletError> {
        let info = client.info()?;
        if info.network != self.network {
            return Err(WalletError::NetworkMismatch {
                wallet: self.network,
                other: info.network,
                what: "the node",
            });
        }
        match self.state.depth {
            Some(d) if d != info.tree_depth => {
                return Err(WalletError::Node(format!(
                    "the node's tree depth {} differs from the wallet's {d}",
                    info.tree_depth
                )))
            }
            _ => self.state.depth = Some(info.tree_depth),
        }
        Ok(info)
    }

    /// The payment prover matching the node's key: from the ceremony's parameters directory
    /// (checked against its manifest, the manifest against the pinned SHA-256; both required
    /// on test and main), or on dev without it the development keys (cached under `key_dir`).
    pub fn prover(
        &self,
        key_dir: &Path,
        info: &NodeInfo,
        params: Option<(&Path, Option<&str>)>,
    ) -> Result<PaymentProver, WalletError> {
        let p = match (params, self.network) {
            (Some((dir, Some(pin))), _) => PaymentProver::from_params(
                &zkpay_prover::Params::open_pinned(dir, pin)?,
                info.tree_depth,
            )?,
            (Some((dir, None)), Network::Dev) => {
                PaymentProver::from_params(&zkpay_prover::Params::open(dir)?, info.tree_depth)?
            }
            (Some((_, None)), Network::Test | Network::Main) => {
                return Err(WalletError::Refused(format!(
                    "{} keys are checked against the manifest hash the network publishes: pass \
                     it with --params-sha256 (or ZKPAY_PARAMS_SHA256)",
                    self.network
                )))
            }
            // only dev uses the published deterministic (insecure) setup
            (None, Network::Dev) => PaymentProver::new(
                &KeyStore::new(key_dir),
                info.tree_depth,
                SetupMode::InsecureDevelopment { seed: 0 },
                None,
            )?,
            (None, Network::Test | Network::Main) => {
                return Err(WalletError::Refused(format!(
                    "{} proving keys come from a verified ceremony: pass its parameters \
                     directory with --params DIR (or ZKPAY_PARAMS)",
                    self.network
                )))
            }
        };
        let id = p.keys().verifier.key_id().to_hex();
        if id != info.payment_key_id {
            return Err(WalletError::KeyMismatch {
                node: info.payment_key_id.clone(),
                wallet: id,
            });
        }
        Ok(p)
    }

    fn tree(&self) -> Result<NoteTree, WalletError> {
        let depth = self
            .state
            .depth
            .ok_or_else(|| WalletError::Node("not synced yet".into()))?;
        let mut t = NoteTree::new(depth)?;
        for l in &self.state.leaves {
            while t.size() < l.position {
                t.append(F::from(0u64))?;
            }
            t.append(l.cm)?;
        }
        Ok(t)
    }

    /// Syncs to the node's head: downloads each committed batch after the last synced one,
    /// finds this wallet's notes by trial decryption, marks spent notes, and checks the rebuilt
    /// tree against each batch's root. Saves every `save_every` batches and at the end, so an
    /// interrupted sync resumes from the last saved batch without duplicating notes.
    pub fn sync(
        &mut self,
        client: &NodeClient,
        save_every: u64,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, WalletError> {
        self.check_node(client)?;
        let head = client.head()?;
        let mut tree = self.tree()?;
        let start = self.state.synced_batch;
        let mut found = 0;
        for n in start + 1..=head.batch {
            let b = client
                .batch(n)?
                .ok_or_else(|| WalletError::Node(format!("batch {n} is missing")))?;
            if b.number != n {
                return Err(WalletError::Node(format!(
                    "asked batch {n}, got {}",
                    b.number
                )));
            }
            for e in &b.entries {
                for nf in &e.public.nullifiers {
                    for owned in self.state.notes.iter_mut() {
                        if owned.nullifier == *nf {
                            owned.spent_in = Some(n);
                            owned.pending_spend = None;
                        }
                    }
                }
                let mut positions = Vec::new();
                for (o, out) in e.notes.iter().enumerate() {
                    positions.push(out.position);
                    if out.position < tree.size() {
                        // already synced (a resumed sync): the leaf must agree
                        if tree.leaf(out.position)? != out.commitment.0 {
                            return Err(WalletError::Node(format!(
                                "leaf {} changed since the last sync",
                                out.position
                            )));
                        }
                        continue;
                    }
                    while tree.size() < out.position {
                        tree.append(F::from(0u64))?;
                    }
                    tree.append(out.commitment.0)?;
                    self.state.leaves.push(Leaf {
                        position: out.position,
                        cm: out.commitment.0,
                    });
                    if let Some((note, memo)) = try_open_note(
                        &self.fvk.ivk,
                        &self.fvk.pk,
                        &out.commitment,
                        &out.ciphertext,
                    ) {
                        if note.value == 0
                            || self.state.notes.iter().any(|o| o.position == out.position)
                        {
                            continue;
                        }
                        found += 1;
                        self.state.notes.push(OwnedNote {
                            note,
                            position: out.position,
                            batch: n,
                            payment: e.id.clone(),
                            memo: String::from_utf8_lossy(&memo).into_owned(),
                            nullifier: note.nullifier(&self.fvk.nk, out.position),
                            spent_in: None,
                            pending_spend: None,
                            invoice_tag: if o == 0 { e.invoice_tag.clone() } else { None },
                        });
                    }
                }
                if let Some(s) = self.state.sent.iter_mut().find(|s| s.id == e.id) {
                    s.status = SentStatus::Committed { batch: n };
                    s.positions = positions;
                }
            }
            match b.note_root() {
                Some(r) if r == tree.root() => {}
                _ => {
                    return Err(WalletError::Node(format!(
                        "batch {n}: the notes served do not reproduce the batch's note root"
                    )))
                }
            }
            self.state.synced_batch = n;
            crate::crash_point(&format!("sync_batch:{n}"));
            progress(n - start, head.batch - start);
            if save_every > 0 && (n - start).is_multiple_of(save_every) {
                self.save()?;
            }
        }
        self.refresh_pending(client)?;
        self.save()?;
        Ok(found)
    }

    /// Asks the node about payments still pending; a failed one releases its notes.
    fn refresh_pending(&mut self, client: &NodeClient) -> Result<(), WalletError> {
        let pending: Vec<String> = self
            .state
            .sent
            .iter()
            .filter(|s| s.status == SentStatus::Pending)
            .map(|s| s.id.clone())
            .collect();
        for id in pending {
            let failed = match client.status(&id)? {
                Some(PaymentStatus::Failed { reason }) => Some(reason),
                None => Some("unknown to the node".to_string()),
                _ => None,
            };
            if let Some(reason) = failed {
                self.mark_failed(&id, reason);
            }
        }
        Ok(())
    }

    fn mark_failed(&mut self, id: &str, reason: String) {
        if let Some(s) = self.state.sent.iter_mut().find(|s| s.id == id) {
            s.status = SentStatus::Failed { reason };
        }
        for n in self.state.notes.iter_mut() {
            if n.pending_spend.as_deref() == Some(id) {
                n.pending_spend = None;
            }
        }
    }

    /// Balances per asset.
    pub fn balances(&self) -> Vec<Balance> {
        let mut m: BTreeMap<String, Balance> = BTreeMap::new();
        for n in self.state.notes.iter().filter(|n| n.spent_in.is_none()) {
            let asset = self.asset_text(&n.note.asset);
            let b = m.entry(asset.clone()).or_insert_with(|| Balance {
                asset,
                ..Default::default()
            });
            if n.pending_spend.is_some() {
                b.pending += n.note.value;
            } else {
                b.spendable += n.note.value;
            }
        }
        m.into_values()
            .map(|mut b| {
                b.spendable_text = format_in(&b.asset, b.spendable);
                b
            })
            .collect()
    }

    /// Spendable notes of `asset` covering `need` with at most two notes: the smallest single
    /// note that covers it, else the two largest. Fails with insufficient funds otherwise.
    fn select(&self, asset: &Asset, need: u64) -> Result<Vec<OwnedNote>, WalletError> {
        let mut spendable: Vec<&OwnedNote> = self
            .state
            .notes
            .iter()
            .filter(|n| {
                n.note.asset == asset.id() && n.spent_in.is_none() && n.pending_spend.is_none()
            })
            .collect();
        spendable.sort_by_key(|n| n.note.value);
        let total: u128 = spendable.iter().map(|n| u128::from(n.note.value)).sum();
        let insufficient = |have: u128| WalletError::InsufficientFunds {
            asset: asset.symbol.clone(),
            need: format_amount(need, asset.decimals),
            have: format_amount(u64::try_from(have).unwrap_or(u64::MAX), asset.decimals),
        };
        if let Some(n) = spendable.iter().find(|n| n.note.value >= need) {
            return Ok(vec![(*n).clone()]);
        }
        let k = spendable.len();
        if k >= 2 {
            let pair =
                u128::from(spendable[k - 1].note.value) + u128::from(spendable[k - 2].note.value);
            if pair >= u128::from(need) {
                return Ok(vec![spendable[k - 1].clone(), spendable[k - 2].clone()]);
            }
            if total >= u128::from(need) {
                return Err(WalletError::Refused(format!(
                    "the funds are split over more than two notes (a payment spends at most two); pay {} or less, or consolidate first",
                    format_amount(u64::try_from(pair).unwrap_or(u64::MAX), asset.decimals)
                )));
            }
        }
        Err(insufficient(total))
    }

    fn spend_plan(
        &self,
        client: &NodeClient,
        notes: &[OwnedNote],
    ) -> Result<(Root, Vec<(Note, zkpay_protocol::merkle::MerklePath)>), WalletError> {
        let tree = self.tree()?;
        let root = Root(tree.root());
        let head = client.head()?;
        if !head.recent_note_roots.contains(&root) {
            return Err(WalletError::Node(
                "the wallet's tree root is not a recent root of the node: sync again".into(),
            ));
        }
        let spends = notes
            .iter()
            .map(|n| Ok((n.note, tree.path(n.position)?)))
            .collect::<Result<Vec<_>, WalletError>>()?;
        Ok((root, spends))
    }

    fn key(&self) -> Result<&SpendingKey, WalletError> {
        self.key.as_ref().ok_or(WalletError::WatchOnly)
    }

    fn record(&mut self, sent: Sent, spent: &[OwnedNote]) {
        for n in self.state.notes.iter_mut() {
            if spent.iter().any(|s| s.position == n.position) {
                n.pending_spend = Some(sent.id.clone());
            }
        }
        self.state.sent.push(sent);
    }

    /// Submits a proven payment and records it. The wallet is saved before returning.
    fn submit(
        &mut self,
        client: &NodeClient,
        proven: &ProvenPayment,
        mut sent: Sent,
        spent: &[OwnedNote],
    ) -> Result<Sent, WalletError> {
        sent.id = client.submit(&proven.submission)?;
        crate::crash_point("after_submit");
        self.record(sent.clone(), spent);
        self.save()?;
        Ok(sent)
    }

    /// Deposits `amount` of `asset` from the wallet's public account into a shielded note.
    pub fn deposit<R: RngCore + CryptoRng>(
        &mut self,
        client: &NodeClient,
        prover: &PaymentProver,
        info: &NodeInfo,
        asset: &Asset,
        amount: u64,
        rng: &mut R,
    ) -> Result<Sent, WalletError> {
        if amount == 0 {
            return Err(WalletError::Refused("amount must be above zero".into()));
        }
        let key = self.key()?;
        let account_key = self.account_key.as_ref().ok_or(WalletError::WatchOnly)?;
        let account = account_key.account();
        let have = client.account_balance(&account.to_hex(), &asset.to_text())?;
        if have < u128::from(amount) {
            return Err(WalletError::InsufficientFunds {
                asset: format!("{} available in public account {account}", asset.symbol),
                need: format_amount(amount, asset.decimals),
                have: format_amount(u64::try_from(have).unwrap_or(u64::MAX), asset.decimals),
            });
        }
        let head = client.head()?;
        let auth = key.spend_authority();
        let tk = self.fvk.ivk.transmission_key();
        let mut proven = prove_deposit(
            &auth,
            &tk,
            prover,
            self.network,
            PublicAccount::new(&info.operator)?,
            account,
            asset.id(),
            Root(head.note_root),
            amount,
            rng,
        )?;
        // the account's owner authorises exactly this debit (the payment id binds nullifiers,
        // outputs and ext data)
        let debit = proven
            .submission
            .public
            .debit(&proven.submission.ext, info.debit_domain)
            .ok_or(WalletError::Plan("a deposit debits its account"))?;
        proven.submission.authorization = Some(account_key.sign(&debit)?);
        self.learn_asset(asset);
        let sent = self.sent_record(
            "deposit",
            asset,
            amount,
            0,
            Some(account.to_hex()),
            None,
            &proven,
        );
        self.submit(client, &proven, sent, &[])
    }

    #[allow(clippy::too_many_arguments)]
    fn sent_record(
        &self,
        kind: &str,
        asset: &Asset,
        amount: u64,
        fee: u64,
        to: Option<String>,
        invoice: Option<(&[u8], &[u8], F)>,
        proven: &ProvenPayment,
    ) -> Sent {
        use base64::Engine as _;
        Sent {
            id: hex::encode(proven.submission.id()),
            kind: kind.into(),
            asset: asset.to_text(),
            amount,
            fee,
            to,
            invoice: invoice.map(|(i, _, _)| String::from_utf8_lossy(i).into_owned()),
            invoice_tag: invoice.map(|(_, _, t)| fe_to_hex(&t)),
            invoice_id: invoice
                .map(|(i, _, _)| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(i)),
            invoice_salt: invoice
                .map(|(_, s, _)| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)),
            outputs: proven.outputs.iter().map(|o| o.note).collect(),
            memos: proven
                .outputs
                .iter()
                .map(|o| String::from_utf8_lossy(&o.memo).into_owned())
                .collect(),
            positions: Vec::new(),
            nullifiers: proven.submission.public.nullifiers.to_vec(),
            status: SentStatus::Pending,
            created: now(),
        }
    }

    /// Checks a payment request before any slow step: network, amount, expiry, invoice not
    /// already paid, funds. Returns the notes to spend.
    pub fn precheck(
        &mut self,
        client: &NodeClient,
        req: &PaymentRequest,
        fee: u64,
    ) -> Result<Vec<OwnedNote>, WalletError> {
        self.key()?;
        if req.network() != self.network {
            return Err(WalletError::NetworkMismatch {
                wallet: self.network,
                other: req.network(),
                what: "the payment request",
            });
        }
        let amount = req
            .amount
            .ok_or_else(|| WalletError::Refused("the request has no amount".into()))?;
        if amount == 0 {
            return Err(WalletError::Refused("amount must be above zero".into()));
        }
        req.check_not_expired(now())?;
        if let Some(tag) = req.invoice_tag() {
            if self.state.sent.iter().any(|s| {
                s.invoice_tag.as_deref() == Some(&fe_to_hex(&tag))
                    && !matches!(s.status, SentStatus::Failed { .. })
            }) {
                return Err(WalletError::Refused(
                    "this wallet already paid this invoice".into(),
                ));
            }
            let st = client.invoice(&tag)?;
            if st.payment.is_some() {
                return Err(WalletError::Refused(format!(
                    "invoice already paid (payment {})",
                    st.payment.unwrap_or_default()
                )));
            }
        }
        let need = amount
            .checked_add(fee)
            .ok_or_else(|| WalletError::Refused("amount plus fee overflows".into()))?;
        self.select(&req.asset, need)
    }

    /// Pays a request: precheck, prove locally, submit. Sync first.
    pub fn pay<R: RngCore + CryptoRng>(
        &mut self,
        client: &NodeClient,
        prover: &PaymentProver,
        info: &NodeInfo,
        req: &PaymentRequest,
        fee: u64,
        rng: &mut R,
    ) -> Result<Sent, WalletError> {
        let notes = self.precheck(client, req, fee)?;
        self.pay_notes(client, prover, info, req, notes, fee, rng)
    }

    /// Spendable notes of `asset` covering `need` (at most two).
    pub fn spendable_for(&self, asset: &Asset, need: u64) -> Result<Vec<OwnedNote>, WalletError> {
        self.select(asset, need)
    }

    /// Pays `req` from exactly these notes (coin control), without the wallet's own checks of
    /// the request: the node's rules still apply. The demo uses it to show that the node, not
    /// only the wallet, refuses a second payment of an invoice and a double spend.
    #[allow(clippy::too_many_arguments)]
    pub fn pay_notes<R: RngCore + CryptoRng>(
        &mut self,
        client: &NodeClient,
        prover: &PaymentProver,
        info: &NodeInfo,
        req: &PaymentRequest,
        notes: Vec<OwnedNote>,
        fee: u64,
        rng: &mut R,
    ) -> Result<Sent, WalletError> {
        let amount = req
            .amount
            .filter(|a| *a > 0)
            .ok_or_else(|| WalletError::Refused("amount must be above zero".into()))?;
        let total: u64 = notes.iter().map(|n| n.note.value).sum();
        let change = total
            .checked_sub(amount)
            .and_then(|c| c.checked_sub(fee))
            .ok_or_else(|| WalletError::InsufficientFunds {
                asset: req.asset.symbol.clone(),
                need: format_amount(amount.saturating_add(fee), req.asset.decimals),
                have: format_amount(total, req.asset.decimals),
            })?;
        let (root, spends) = self.spend_plan(client, &notes)?;
        let key = self.key()?;
        let auth = key.spend_authority();
        let tk = self.fvk.ivk.transmission_key();
        let memo = req
            .memo
            .clone()
            .or_else(|| req.invoice.clone())
            .unwrap_or_default();
        let plan = PaymentPlan {
            network: self.network,
            fee_recipient: PublicAccount::new(&info.operator)?,
            public_account: None,
            asset: req.asset.id(),
            root,
            spends,
            outputs: vec![
                Output {
                    note: Note::new(req.asset.id(), amount, req.address.pk, rng),
                    tk: req.address.tk,
                    memo,
                },
                Output {
                    note: Note::new(req.asset.id(), change, auth.owner_key(), rng),
                    tk,
                    memo: b"change".to_vec(),
                },
            ],
            public_value: 0,
            fee,
            invoice: req.invoice_key(),
        };
        let t = std::time::Instant::now();
        let proven = prove_payment(&auth, &tk, prover, plan, rng)?;
        self.last_proof = t.elapsed();
        if proven.submission.public.invoice() != req.invoice_tag() {
            return Err(WalletError::Plan(
                "the proven invoice tag is not the request's",
            ));
        }
        self.learn_asset(&req.asset);
        let invoice = match (&req.invoice, &req.salt, req.invoice_tag()) {
            (Some(i), Some(s), Some(t)) => Some((i.as_slice(), s.as_slice(), t)),
            _ => None,
        };
        let sent = self.sent_record(
            "payment",
            &req.asset,
            amount,
            fee,
            Some(req.address.encode()),
            invoice,
            &proven,
        );
        self.submit(client, &proven, sent, &notes)
    }

    /// Withdraws `amount` to the public account `to` (the wallet's own by default).
    #[allow(clippy::too_many_arguments)]
    pub fn withdraw<R: RngCore + CryptoRng>(
        &mut self,
        client: &NodeClient,
        prover: &PaymentProver,
        info: &NodeInfo,
        asset: &Asset,
        amount: u64,
        to: Option<&str>,
        rng: &mut R,
    ) -> Result<Sent, WalletError> {
        if amount == 0 {
            return Err(WalletError::Refused("amount must be above zero".into()));
        }
        let key = self.key()?;
        let to = match to {
            Some(t) => PublicAccount::new(t)?,
            None => self.account()?,
        };
        let notes = self.select(asset, amount)?;
        let (root, spends) = self.spend_plan(client, &notes)?;
        let auth = key.spend_authority();
        let tk = self.fvk.ivk.transmission_key();
        let total: u64 = notes.iter().map(|n| n.note.value).sum();
        let plan = PaymentPlan {
            network: self.network,
            fee_recipient: PublicAccount::new(&info.operator)?,
            public_account: Some(to),
            asset: asset.id(),
            root,
            spends,
            outputs: vec![Output {
                note: Note::new(asset.id(), total - amount, auth.owner_key(), rng),
                tk,
                memo: b"change".to_vec(),
            }],
            public_value: -i128::from(amount),
            fee: 0,
            invoice: None,
        };
        let proven = prove_payment(&auth, &tk, prover, plan, rng)?;
        let sent = self.sent_record(
            "withdrawal",
            asset,
            amount,
            0,
            Some(to.to_hex()),
            None,
            &proven,
        );
        self.submit(client, &proven, sent, &notes)
    }

    /// Polls the node until payment `id` is committed (then syncs) or fails.
    pub fn wait(
        &mut self,
        client: &NodeClient,
        id: &str,
        timeout: std::time::Duration,
    ) -> Result<u64, WalletError> {
        let t = std::time::Instant::now();
        loop {
            match client.status(id)? {
                Some(PaymentStatus::Committed { batch }) => {
                    self.sync(client, 16, |_, _| {})?;
                    return Ok(batch);
                }
                Some(PaymentStatus::Failed { reason }) => {
                    self.mark_failed(id, reason.clone());
                    self.save()?;
                    return Err(WalletError::Rejected {
                        status: 200,
                        code: "failed".into(),
                        message: reason,
                    });
                }
                None => {
                    return Err(WalletError::Node(format!(
                        "payment {id} is unknown to the node"
                    )))
                }
                _ => {}
            }
            if t.elapsed() > timeout {
                return Err(WalletError::Node(format!(
                    "payment {id} not committed after {} s",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Issues a payment request to this wallet's address and remembers the invoice.
    pub fn request(&mut self, req: PaymentRequest) -> Result<String, WalletError> {
        if req.address != self.address() {
            return Err(WalletError::Refused(
                "a request must be to this wallet's address".into(),
            ));
        }
        let uri = req.to_uri();
        // the URI must parse back exactly (limits on memo, label, invoice)
        PaymentRequest::parse_for(&uri, self.network)?;
        if let (Some(inv), Some(tag), Some(key)) =
            (&req.invoice, req.invoice_tag(), req.invoice_key())
        {
            let tag = fe_to_hex(&tag);
            let name = String::from_utf8_lossy(inv).into_owned();
            if self.state.invoices.iter().any(|i| i.invoice == name) {
                return Err(WalletError::Refused(format!(
                    "invoice {name:?} was already issued"
                )));
            }
            self.state.invoices.push(Issued {
                invoice: name,
                tag,
                key: Some(fe_to_hex(&key)),
                asset: req.asset.to_text(),
                amount: req.amount,
                expires: req.expires,
                uri: uri.clone(),
                created: now(),
            });
        }
        self.learn_asset(&req.asset);
        self.save()?;
        Ok(uri)
    }

    /// Where an invoice this wallet issued stands, from what the node reports for its tag and
    /// what this wallet (a till included) decrypted. Sync first.
    ///
    /// * `paid`: this wallet holds the note of a committed payment carrying the invoice's tag,
    ///   of exactly the invoiced value and asset (the wallet's own evidence: the tag is bound to
    ///   the note's owner, value and asset in the proof, whatever the node says of the tag);
    /// * `unknown_note`: the node reports the tag committed, in a batch this wallet has synced,
    ///   but this wallet could not decrypt the note (import it from the customer's receipt);
    /// * `pending`: a payment with the tag is accepted, or committed in a batch this wallet has
    ///   not synced yet;
    /// * `underpaid` / `overpaid` / `wrong_asset`: a note this wallet received was paid with this
    ///   invoice's key but another value or asset (its tag is not the invoice's);
    /// * `expired` or `unpaid`.
    pub fn invoice_report(
        &self,
        client: &NodeClient,
        invoice: &str,
    ) -> Result<InvoiceReport, WalletError> {
        let tag = self.issued_tag(invoice)?;
        let st = client.invoice(&tag)?;
        self.invoice_report_from(invoice, &st)
    }

    fn issued(&self, invoice: &str) -> Result<&Issued, WalletError> {
        self.state
            .invoices
            .iter()
            .find(|i| i.invoice == invoice)
            .ok_or_else(|| {
                WalletError::Refused(format!("no invoice {invoice:?} issued by this wallet"))
            })
    }

    /// The tag a payment of exactly invoice `invoice` (issued by this wallet) carries: what to
    /// ask the node about.
    pub fn issued_tag(&self, invoice: &str) -> Result<F, WalletError> {
        Ok(zkpay_protocol::field::fe_from_hex(
            &self.issued(invoice)?.tag,
        )?)
    }

    /// [`Self::invoice_report`] from the node's answer `st` for the invoice's tag (so that a
    /// caller can ask the node without holding the wallet).
    pub fn invoice_report_from(
        &self,
        invoice: &str,
        st: &InvoiceStatus,
    ) -> Result<InvoiceReport, WalletError> {
        let issued = self.issued(invoice)?.clone();
        let key = issued
            .key
            .as_deref()
            .map(zkpay_protocol::field::fe_from_hex)
            .transpose()?
            .ok_or_else(|| {
                WalletError::Refused(format!(
                    "invoice {invoice:?} was issued before invoices were salted; issue it again"
                ))
            })?;
        let asset = Asset::from_text(&issued.asset)?;
        let amount = issued.amount.unwrap_or(0);
        let node_batch = match &st.status {
            Some(PaymentStatus::Committed { batch }) => Some(*batch),
            _ => None,
        };
        let held = self.state.notes.iter().find(|n| {
            n.invoice_tag.as_deref() == Some(issued.tag.as_str())
                && n.note.value == amount
                && n.note.asset == asset.id()
        });
        let mut received = 0;
        let mut batch = node_batch;
        let mut payment = st.payment.clone();
        let state = if let Some(n) = held {
            received = n.note.value;
            batch = Some(n.batch);
            payment = Some(n.payment.clone());
            "paid"
        } else if st.paid {
            if node_batch.is_none_or(|b| b > self.state.synced_batch) {
                "pending"
            } else {
                "unknown_note"
            }
        } else if st.payment.is_some() {
            "pending"
        } else if let Some(n) = self.state.notes.iter().find(|n| {
            n.invoice_tag.as_deref().is_some_and(|t| {
                t == fe_to_hex(&zkpay_protocol::invoice::invoice_tag(
                    &key,
                    &self.fvk.pk,
                    n.note.value,
                    &n.note.asset,
                ))
            })
        }) {
            received = n.note.value;
            batch = Some(n.batch);
            payment = Some(n.payment.clone());
            if n.note.asset != asset.id() {
                "wrong_asset"
            } else if n.note.value < amount {
                "underpaid"
            } else {
                "overpaid"
            }
        } else if issued.expires.is_some_and(|e| now() >= e) {
            "expired"
        } else {
            "unpaid"
        };
        Ok(InvoiceReport {
            invoice: issued.invoice.clone(),
            state,
            payment,
            batch,
            amount,
            received,
            asset: issued.asset,
        })
    }

    /// Adds a note this wallet owns but could not decrypt (from a verified receipt). Sync first:
    /// the note's commitment must be the synced leaf at `position`.
    pub fn import_note(
        &mut self,
        note: Note,
        position: u64,
        batch: u64,
        payment: &str,
        invoice_tag: Option<String>,
    ) -> Result<(), WalletError> {
        if note.owner != self.fvk.pk {
            return Err(WalletError::Refused(
                "the note is not owned by this wallet".into(),
            ));
        }
        let leaf = self
            .state
            .leaves
            .iter()
            .find(|l| l.position == position)
            .ok_or_else(|| {
                WalletError::Refused(format!("position {position} is not synced yet: sync first"))
            })?;
        if leaf.cm != note.commitment().0 {
            return Err(WalletError::Refused(
                "the note is not the committed leaf at its position".into(),
            ));
        }
        if self.state.notes.iter().any(|n| n.position == position) {
            return Ok(()); // already known
        }
        self.state.notes.push(OwnedNote {
            note,
            position,
            batch,
            payment: payment.to_string(),
            memo: String::new(),
            nullifier: note.nullifier(&self.fvk.nk, position),
            spent_in: None,
            pending_spend: None,
            invoice_tag,
        });
        self.state.notes.sort_by_key(|n| n.position);
        self.save()
    }

    /// The notes this wallet received from payment `id`.
    pub fn received_from(&self, payment: &str) -> Vec<&OwnedNote> {
        self.state
            .notes
            .iter()
            .filter(|n| n.payment == payment)
            .collect()
    }

    /// Everything needed for a receipt of sent payment `id`'s first output (the recipient's).
    pub fn receipt_parts(
        &self,
        id: &str,
    ) -> Result<(Sent, zkpay_protocol::merkle::MerklePath, F, u64), WalletError> {
        let s = self
            .state
            .sent
            .iter()
            .find(|s| s.id == id || (s.id.starts_with(id) && id.len() >= 8))
            .ok_or_else(|| WalletError::Refused(format!("no payment {id} in this wallet")))?;
        if !matches!(s.status, SentStatus::Committed { .. }) || s.positions.is_empty() {
            return Err(WalletError::Refused(
                "the payment is not committed yet (run `zkpay sync`)".into(),
            ));
        }
        let tree = self.tree()?;
        let path = tree.path(s.positions[0])?;
        Ok((s.clone(), path, tree.root(), self.state.synced_batch))
    }
}
