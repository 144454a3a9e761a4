//! The embedded ledger: a hash-chained log of committed batches, balances and pools in RocksDB,
//! each commit one synced write batch; and [`LedgerLog`], a read-only view of its log.

use crate::{
    batch_hash_of, BaseLedger, BatchSubmission, CommittedBatch, LedgerConfig, LedgerError,
    LedgerHead, PaymentSubmission,
};
use rand::rngs::OsRng;
use rocksdb::{Options, WriteBatch, DB};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use zkpay_protocol::account::DebitDomain;
use zkpay_protocol::batch::BatchPublic;
use zkpay_protocol::note::{AssetId, Root};
use zkpay_protocol::payment::{PaymentPublic, PublicAccount};
use zkpay_verifier::batch::verify_batch;
use zkpay_verifier::{decode_proof, Proof, Verifier, VerifierError};

const HEAD: &[u8] = b"head";
const ROOTS: &[u8] = b"roots";

fn batch_key(n: u64) -> Vec<u8> {
    let mut k = b"batch/".to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

fn balance_key(account: &PublicAccount, asset: &AssetId) -> Vec<u8> {
    let mut k = b"acct/".to_vec();
    k.extend_from_slice(&asset.to_bytes());
    k.extend_from_slice(&account.to_bytes());
    k
}

fn pool_key(asset: &AssetId) -> Vec<u8> {
    let mut k = b"pool/".to_vec();
    k.extend_from_slice(&asset.to_bytes());
    k
}

/// A read-only view of an embedded ledger's log, opened beside a running node (RocksDB
/// read-only mode): what receipt checks read instead of trusting a node's answers.
pub struct LedgerLog {
    db: DB,
}

impl std::fmt::Debug for LedgerLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerLog")
    }
}

impl LedgerLog {
    /// Opens the ledger in `dir` (the node's `<data dir>/ledger`) read-only.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        if !dir.join("CURRENT").exists() {
            return Err(LedgerError::Storage(format!(
                "{} is not a ledger database",
                dir.display()
            )));
        }
        let opts = Options::default();
        Ok(Self {
            db: DB::open_for_read_only(&opts, dir, false)?,
        })
    }

    /// The tip.
    pub fn head(&self) -> Result<LedgerHead, LedgerError> {
        get_json(&self.db, HEAD)?.ok_or_else(|| LedgerError::Storage("ledger has no head".into()))
    }

    /// A committed batch whose recorded hash recomputes from its contents. Whether it is on the
    /// chain to the head is the reader's walk to make (each batch's hash is the next one's
    /// parent), once per range rather than once per batch read.
    pub fn batch(&self, number: u64) -> Result<Option<CommittedBatch>, LedgerError> {
        let Some(b): Option<CommittedBatch> = get_json(&self.db, &batch_key(number))? else {
            return Ok(None);
        };
        let hash = batch_hash_of(b.number, &b.parent, &b.payments, &b.chunks, &b.state);
        if b.number != number || hash != b.hash {
            return Err(LedgerError::Storage(format!(
                "batch {number} does not hash to its recorded hash"
            )));
        }
        Ok(Some(b))
    }

    /// The note cursor before batch `number` (0 before batch 1).
    pub fn cursor_before(&self, number: u64) -> Result<u64, LedgerError> {
        if number <= 1 {
            return Ok(0);
        }
        self.batch(number - 1)?
            .map(|b| b.state.note_cursor)
            .ok_or_else(|| LedgerError::Storage(format!("batch {} is missing", number - 1)))
    }
}

/// The embedded ledger on RocksDB.
pub struct EmbeddedLedger {
    db: crate::store::Store,
    config: LedgerConfig,
    chunk_verifier: Verifier,
    payment_verifier: Verifier,
    /// Serialises commits and faucet credits (read-modify-write of balances).
    write_lock: Mutex<()>,
}

impl std::fmt::Debug for EmbeddedLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmbeddedLedger({:?})", self.config)
    }
}

fn get_json<T: for<'de> Deserialize<'de>>(db: &DB, key: &[u8]) -> Result<Option<T>, LedgerError> {
    match db.get(key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| LedgerError::Storage(format!("corrupt record: {e}"))),
    }
}

fn u128_of(v: Option<Vec<u8>>) -> Result<u128, LedgerError> {
    match v {
        None => Ok(0),
        Some(b) => {
            let arr: [u8; 16] = b
                .try_into()
                .map_err(|_| LedgerError::Storage("corrupt balance".into()))?;
            Ok(u128::from_be_bytes(arr))
        }
    }
}

impl EmbeddedLedger {
    /// Opens (or creates at genesis) the ledger in `dir`.
    pub fn open(
        dir: &Path,
        config: LedgerConfig,
        chunk_verifier: Verifier,
        payment_verifier: Verifier,
    ) -> Result<Self, LedgerError> {
        let db = crate::store::Store::open(dir)?;
        let ledger = Self {
            db,
            config,
            chunk_verifier,
            payment_verifier,
            write_lock: Mutex::new(()),
        };
        if ledger.db.db()?.get(HEAD)?.is_none() {
            let head = crate::genesis_head(ledger.config.network, ledger.config.params)?;
            let state = head.state;
            let mut wb = WriteBatch::default();
            wb.put(
                HEAD,
                serde_json::to_vec(&head).map_err(|e| LedgerError::Storage(e.to_string()))?,
            );
            wb.put(
                ROOTS,
                serde_json::to_vec(&vec![state.note_root])
                    .map_err(|e| LedgerError::Storage(e.to_string()))?,
            );
            ledger.db.write(wb)?;
        }
        Ok(ledger)
    }

    /// Configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    fn check_and_build(
        &self,
        b: &BatchSubmission,
    ) -> Result<(CommittedBatch, WriteBatch), LedgerError> {
        let head = self.head()?;
        if b.number != head.number + 1 || b.parent != head.hash {
            return Err(LedgerError::NotNext {
                expected: head.number + 1,
                got: b.number,
                parent: hex::encode(head.hash),
            });
        }
        let slots = self.config.params.slots;
        if b.payments.is_empty() || b.chunks.len() != b.payments.len().div_ceil(slots) {
            return Err(LedgerError::Verify(VerifierError::BatchMismatch(format!(
                "{} payments need {} chunks",
                b.payments.len(),
                b.payments.len().div_ceil(slots)
            ))));
        }
        let roots = self.recent_roots()?;
        // cheap checks and accounting first
        let mut acc = Accounts::default();
        let mut payments: Vec<(PaymentPublic, Proof)> = Vec::with_capacity(b.payments.len());
        for (index, p) in b.payments.iter().enumerate() {
            let proof = self.check_payment(index, p, &roots, &mut acc)?;
            payments.push((p.public.clone(), proof));
        }
        let Accounts { balances, pools } = acc;
        let chunks: Vec<(BatchPublic, Proof)> = b
            .chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                decode_proof(&c.proof).map(|p| (c.public, p)).map_err(|e| {
                    LedgerError::Verify(VerifierError::BatchMismatch(format!("chunk {i}: {e}")))
                })
            })
            .collect::<Result<_, _>>()?;
        let state = verify_batch(
            &self.chunk_verifier,
            &self.payment_verifier,
            slots,
            head.state,
            &payments,
            &chunks,
            &mut OsRng,
        )?;
        let hash = batch_hash_of(b.number, &b.parent, &b.payments, &b.chunks, &state);
        let committed = CommittedBatch {
            number: b.number,
            parent: b.parent,
            hash,
            payments: b.payments.clone(),
            chunks: b.chunks.clone(),
            state,
        };
        let mut wb = WriteBatch::default();
        let js = |v: &dyn erased::Ser| v.to_json();
        wb.put(batch_key(b.number), js(&committed)?);
        wb.put(
            HEAD,
            js(&LedgerHead {
                number: b.number,
                hash,
                state,
            })?,
        );
        let mut recent: VecDeque<Root> = roots.into();
        recent.push_back(state.note_root);
        while recent.len() > self.config.recent_roots {
            recent.pop_front();
        }
        wb.put(ROOTS, js(&Vec::from(recent))?);
        for (k, v) in balances {
            wb.put(k, v.to_be_bytes());
        }
        for (k, v) in pools {
            wb.put(k, (v as u128).to_be_bytes());
        }
        Ok((committed, wb))
    }
}

/// Balances and pools as a batch changes them (unchanged entries are read from the store).
#[derive(Clone, Default)]
struct Accounts {
    balances: BTreeMap<Vec<u8>, u128>,
    pools: BTreeMap<Vec<u8>, i128>,
}

impl EmbeddedLedger {
    /// The per-payment rules: network, ext data, authorisation, ranges, root, proof encoding,
    /// balances and turnstile. Applies the payment's effects to `acc` on success.
    fn check_payment(
        &self,
        index: usize,
        p: &PaymentSubmission,
        roots: &[Root],
        acc: &mut Accounts,
    ) -> Result<Proof, LedgerError> {
        let bad = |why: String| LedgerError::Payment { index, why };
        crate::check_payment_rules(index, p, self.config.network, self.debit_domain(), roots)?;
        let proof = decode_proof(&p.proof).map_err(|e| bad(e.to_string()))?;
        let asset = p.public.asset;
        let pk = pool_key(&asset);
        let pool = match acc.pools.get(&pk) {
            Some(v) => *v,
            None => i128::try_from(u128_of(self.db.db()?.get(&pk)?)?)
                .map_err(|_| LedgerError::Storage("pool overflow".into()))?,
        };
        let pv = p.public.public_value;
        let new_pool = pool + pv - i128::from(p.public.fee);
        if new_pool < 0 {
            return Err(LedgerError::Turnstile {
                index,
                asset: asset.to_hex(),
            });
        }
        acc.pools.insert(pk, new_pool);
        if pv != 0 {
            let account = p
                .ext
                .public_account
                .as_ref()
                .ok_or_else(|| bad("missing public account".into()))?;
            let key = balance_key(account, &asset);
            let bal = match acc.balances.get(&key) {
                Some(v) => *v,
                None => u128_of(self.db.db()?.get(&key)?)?,
            };
            let nb = if pv > 0 {
                bal.checked_sub(pv.unsigned_abs()).ok_or_else(|| {
                    LedgerError::InsufficientBalance {
                        index,
                        account: account.to_hex(),
                        asset: asset.to_hex(),
                    }
                })?
            } else {
                bal + pv.unsigned_abs()
            };
            acc.balances.insert(key, nb);
        }
        if p.public.fee > 0 {
            let key = balance_key(&p.ext.fee_recipient, &asset);
            let bal = match acc.balances.get(&key) {
                Some(v) => *v,
                None => u128_of(self.db.db()?.get(&key)?)?,
            };
            acc.balances.insert(key, bal + u128::from(p.public.fee));
        }
        Ok(proof)
    }
}

mod erased {
    use super::LedgerError;

    /// Object-safe JSON serialisation for the write batch helper.
    pub trait Ser {
        fn to_json(&self) -> Result<Vec<u8>, LedgerError>;
    }

    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> Result<Vec<u8>, LedgerError> {
            serde_json::to_vec(self).map_err(|e| LedgerError::Storage(e.to_string()))
        }
    }
}

impl BaseLedger for EmbeddedLedger {
    fn head(&self) -> Result<LedgerHead, LedgerError> {
        get_json(&*self.db.db()?, HEAD)?
            .ok_or_else(|| LedgerError::Storage("ledger has no head".into()))
    }

    fn recent_roots(&self) -> Result<Vec<Root>, LedgerError> {
        Ok(get_json(&*self.db.db()?, ROOTS)?.unwrap_or_default())
    }

    fn commit(&self, batch: &BatchSubmission) -> Result<CommittedBatch, LedgerError> {
        let _guard = self
            .write_lock
            .lock()
            .map_err(|_| LedgerError::Storage("lock poisoned".into()))?;
        let (committed, wb) = self.check_and_build(batch)?;
        self.db.write(wb)?;
        Ok(committed)
    }

    fn batch(&self, number: u64) -> Result<Option<CommittedBatch>, LedgerError> {
        get_json(&*self.db.db()?, &batch_key(number))
    }

    fn screen(
        &self,
        payments: &[PaymentSubmission],
    ) -> Result<Vec<(usize, LedgerError)>, LedgerError> {
        let roots = self.recent_roots()?;
        let mut acc = Accounts::default();
        let mut refused = Vec::new();
        for (index, p) in payments.iter().enumerate() {
            let mut next = acc.clone();
            match self.check_payment(index, p, &roots, &mut next) {
                Ok(_) => acc = next,
                Err(e @ LedgerError::Storage(_)) => return Err(e),
                Err(e) => refused.push((index, e)),
            }
        }
        Ok(refused)
    }

    fn balance(&self, account: &PublicAccount, asset: &AssetId) -> Result<u128, LedgerError> {
        u128_of(self.db.db()?.get(balance_key(account, asset))?)
    }

    fn pool(&self, asset: &AssetId) -> Result<u128, LedgerError> {
        u128_of(self.db.db()?.get(pool_key(asset))?)
    }

    fn debit_domain(&self) -> DebitDomain {
        DebitDomain::embedded(self.config.network)
    }

    fn faucet(
        &self,
        account: &PublicAccount,
        asset: &AssetId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        let _guard = self
            .write_lock
            .lock()
            .map_err(|_| LedgerError::Storage("lock poisoned".into()))?;
        let key = balance_key(account, asset);
        let bal = u128_of(self.db.db()?.get(&key)?)?;
        let mut wb = WriteBatch::default();
        wb.put(key, (bal + u128::from(amount)).to_be_bytes());
        self.db.write(wb)?;
        Ok(())
    }
}
