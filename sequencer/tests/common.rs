//! Shared test harness: a node on the test profile and a minimal wallet that proves payments.
#![allow(dead_code)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::Path;
use std::sync::Arc;
use zkpay_ledger::PaymentSubmission;
use zkpay_protocol::account::{AccountKey, DebitDomain};
use zkpay_protocol::address::Network;
use zkpay_protocol::encryption::encrypt_note;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::merkle::NoteTree;
use zkpay_protocol::note::{Asset, AssetId, Note, Root};
use zkpay_protocol::payment::{ExtData, PaymentWitness, PublicAccount};
use zkpay_protocol::F;
use zkpay_prover::{KeyStore, PaymentProver, SetupMode};
use zkpay_sequencer::{Node, NodeConfig, Profile};
use zkpay_verifier::encode_proof;

pub fn config(dir: &Path) -> NodeConfig {
    let mut c = NodeConfig::new(dir.to_path_buf(), Profile::Test);
    c.batch_size = 4;
    c.operator = Some(operator_account());
    c
}

pub fn open(dir: &Path) -> Arc<Node> {
    Node::open(config(dir)).unwrap()
}

/// The embedded ledger of a test-profile node in `dir` and the provers whose keys it pins, for
/// tests that wrap the ledger before handing it to [`Node::with_ledger`].
pub fn embedded_ledger(
    dir: &Path,
) -> (
    NodeConfig,
    zkpay_ledger::EmbeddedLedger,
    PaymentProver,
    zkpay_prover::BatchProver,
) {
    let cfg = config(dir);
    let params = Profile::Test.params();
    let store = KeyStore::new(dir);
    let mode = SetupMode::InsecureDevelopment { seed: 0 };
    let payer = PaymentProver::new(&store, params.depth, mode, None).unwrap();
    let batcher = zkpay_prover::BatchProver::new(&store, params, mode, None).unwrap();
    let ledger = zkpay_ledger::EmbeddedLedger::open(
        &dir.join("ledger"),
        zkpay_ledger::LedgerConfig {
            network: cfg.network,
            params,
            recent_roots: cfg.recent_roots,
        },
        batcher.keys().verifier.clone(),
        payer.keys().verifier.clone(),
    )
    .unwrap();
    (cfg, ledger, payer, batcher)
}

pub fn prover(dir: &Path) -> PaymentProver {
    PaymentProver::new(
        &KeyStore::new(dir),
        Profile::Test.params().depth,
        SetupMode::InsecureDevelopment { seed: 0 },
        None,
    )
    .unwrap()
}

pub fn usd() -> AssetId {
    Asset::from_text("USD").unwrap().id()
}

pub struct Wallet {
    pub key: SpendingKey,
    pub account_key: AccountKey,
    pub account: PublicAccount,
    pub rng: ChaCha20Rng,
    /// The network its payments name (dev unless a test changes it).
    pub network: Network,
    /// The ledger its deposits' debits are signed for (the embedded ledger of its network
    /// unless a test sets another).
    pub domain: Option<DebitDomain>,
}

impl Wallet {
    /// A wallet whose keys come from `seed`; `_name` only labels it in the test.
    pub fn new(seed: u64, _name: &str) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key = SpendingKey::random(&mut rng);
        let account_key = AccountKey::random(&mut rng);
        Self {
            key,
            account: account_key.account(),
            account_key,
            rng,
            network: Network::Dev,
            domain: None,
        }
    }
}

/// The fee account the harness's payments name (the node under test uses it: see [`config`]).
pub fn operator_account() -> PublicAccount {
    PublicAccount::from_bytes([0x0f; 20])
}

/// Signs the debit of a deposit with `key` (the account's owner, or an attacker's key) for the
/// embedded ledger of its network.
pub fn authorize(sub: &mut PaymentSubmission, key: &AccountKey) {
    authorize_for(sub, key, DebitDomain::embedded(sub.ext.network));
}

/// Signs the debit of a deposit with `key` for the ledger of `domain`.
pub fn authorize_for(sub: &mut PaymentSubmission, key: &AccountKey, domain: DebitDomain) {
    let debit = sub.public.debit(&sub.ext, domain).expect("a deposit");
    sub.authorization = Some(key.sign(&debit).expect("sign"));
}

fn ext(
    w: &mut Wallet,
    outs: &[Note; 2],
    to: &[[u8; 32]; 2],
    pv: i128,
    invoice: Option<F>,
) -> ExtData {
    let ct0 = encrypt_note(&outs[0], b"", &to[0], &mut w.rng).unwrap();
    let ct1 = encrypt_note(&outs[1], b"", &to[1], &mut w.rng).unwrap();
    let _ = invoice;
    ExtData {
        network: w.network,
        fee_recipient: operator_account(),
        public_account: (pv != 0).then_some(w.account),
        ciphertexts: [ct0, ct1],
    }
}

/// A deposit of `value` from the wallet's public account into a note of its own.
pub fn deposit(
    node: &Node,
    prover: &PaymentProver,
    w: &mut Wallet,
    value: u64,
) -> (PaymentSubmission, Note) {
    deposit_at(node.head().unwrap().0.state.note_root, prover, w, value)
}

/// A deposit proven against `root`.
pub fn deposit_at(
    root: Root,
    prover: &PaymentProver,
    w: &mut Wallet,
    value: u64,
) -> (PaymentSubmission, Note) {
    deposit_with(root, prover, w, value, |_| {})
}

/// A deposit proven against `root` whose ext data `tweak` changes before proving, signed by
/// the wallet's account key when it debits the wallet's own account.
pub fn deposit_with(
    root: Root,
    prover: &PaymentProver,
    w: &mut Wallet,
    value: u64,
    tweak: impl FnOnce(&mut ExtData),
) -> (PaymentSubmission, Note) {
    let auth = w.key.spend_authority();
    let fvk = w.key.full_viewing_key();
    let out = Note::new(usd(), value, fvk.pk, &mut w.rng);
    let dummy = Note::dummy(usd(), fvk.pk, &mut w.rng);
    let tk = fvk.ivk.transmission_key();
    let mut e = ext(w, &[out, dummy], &[tk, tk], value as i128, None);
    tweak(&mut e);
    let witness = PaymentWitness::build(
        &auth,
        usd(),
        root,
        prover.depth(),
        &[],
        &[out, dummy],
        value as i128,
        0,
        e.hash(),
        &mut w.rng,
    )
    .unwrap();
    let (proof, public) = prover.prove(&witness, &mut w.rng).unwrap();
    let mut sub = PaymentSubmission {
        public,
        ext: e,
        proof: encode_proof(&proof).to_vec(),
        authorization: None,
    };
    // the wallet signs debits of its own account only (a test naming another account signs,
    // or not, itself)
    if sub.public.public_value > 0 && sub.ext.public_account == Some(w.account) {
        let domain = w.domain.unwrap_or(DebitDomain::embedded(w.network));
        authorize_for(&mut sub, &w.account_key, domain);
    }
    (sub, out)
}

/// The note tree as the node reports it.
pub fn tree(node: &Node) -> NoteTree {
    tree_of(
        node.notes(0, 10_000)
            .unwrap()
            .iter()
            .map(|n| (n.position, n.commitment.0)),
    )
}

/// A note tree from (position, commitment) pairs.
pub fn tree_of(notes: impl Iterator<Item = (u64, F)>) -> NoteTree {
    let mut t = NoteTree::new(Profile::Test.params().depth).unwrap();
    for (pos, cm) in notes {
        while t.size() < pos {
            t.append(F::from(0u64)).unwrap();
        }
        t.append(cm).unwrap();
    }
    t
}

/// Spends `note` (owned by `w`) paying `amount` to `to` with `fee`, change back to `w`.
#[allow(clippy::too_many_arguments)]
pub fn pay(
    node: &Node,
    prover: &PaymentProver,
    w: &mut Wallet,
    note: &Note,
    to: &SpendingKey,
    amount: u64,
    fee: u64,
    invoice: Option<F>,
) -> PaymentSubmission {
    pay_in(&tree(node), prover, w, note, to, amount, fee, invoice)
}

/// Spends `note` using the tree `t`.
#[allow(clippy::too_many_arguments)]
pub fn pay_in(
    t: &NoteTree,
    prover: &PaymentProver,
    w: &mut Wallet,
    note: &Note,
    to: &SpendingKey,
    amount: u64,
    fee: u64,
    invoice: Option<F>,
) -> PaymentSubmission {
    let auth = w.key.spend_authority();
    let fvk = w.key.full_viewing_key();
    let pos = (0..t.size())
        .find(|p| t.leaf(*p).unwrap() == note.commitment().0)
        .unwrap();
    let rfvk = to.full_viewing_key();
    let out = Note::new(usd(), amount, rfvk.pk, &mut w.rng);
    let change = Note::new(usd(), note.value - amount - fee, fvk.pk, &mut w.rng);
    let e = ext(
        w,
        &[out, change],
        &[rfvk.ivk.transmission_key(), fvk.ivk.transmission_key()],
        0,
        invoice,
    );
    let mut witness = PaymentWitness::build(
        &auth,
        usd(),
        Root(t.root()),
        prover.depth(),
        &[(*note, t.path(pos).unwrap())],
        &[out, change],
        0,
        fee,
        e.hash(),
        &mut w.rng,
    )
    .unwrap();
    witness.invoice = invoice;
    let (proof, public) = prover.prove(&witness, &mut w.rng).unwrap();
    PaymentSubmission {
        public,
        ext: e,
        proof: encode_proof(&proof).to_vec(),
        authorization: None,
    }
}

/// Serves `node` through the node's own server loop on a free loopback port, its refusals
/// counted in its metrics; dropping the sender stops it.
pub async fn serve_node(
    node: Arc<Node>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    use zkpay_sequencer::api::{router, AppState};
    use zkpay_sequencer::serve::{serve, ServeLimits};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut limits = ServeLimits::of(node.config());
    limits.metrics = Some(node.metrics.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        router(AppState::new(node)),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    (addr, tx)
}

/// A `zkpay-node` process, killed (SIGKILL) when dropped.
pub struct NodeProc {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProc {
    /// Starts `cmd` (a `zkpay-node` command line with a piped stdout) and waits for its
    /// "listening on" line.
    pub fn start(cmd: &mut std::process::Command) -> Self {
        use std::io::BufRead;
        let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("node said {line:?}"))
            .to_string();
        NodeProc { child, addr }
    }
}

/// The status code of a raw HTTP/1.1 response (0 if there is none).
pub fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
