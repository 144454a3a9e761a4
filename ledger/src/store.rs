//! A RocksDB database that recovers from failed writes without a restart.
//!
//! When a write fails (a full disk, an I/O error), RocksDB enters a background-error state in
//! which every later write fails too, even once the cause is gone; it needs `DB::Resume` (not in
//! the Rust binding) or a reopen. [`Store`] remembers a failed write and reopens the database on
//! the next use, at most every [`REOPEN_INTERVAL`], until a reopen succeeds. Nothing acknowledged
//! is lost: a write batch whose write failed was not applied, and reopening replays the
//! write-ahead log of every batch that was (a torn record at the log's tail is dropped by
//! RocksDB's point-in-time recovery).

use rocksdb::{Options, WriteBatch, WriteOptions, DB};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Shortest time between two reopening attempts.
pub const REOPEN_INTERVAL: Duration = Duration::from_millis(200);

/// Longest wait for readers of the old instance to finish before a reopen gives up.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB's error.
    #[error(transparent)]
    Rocks(#[from] rocksdb::Error),
    /// The database is closed after a failure and could not be reopened yet.
    #[error("storage unavailable after a failed write: {0}")]
    Unavailable(String),
}

/// A reopening RocksDB database.
pub struct Store {
    path: PathBuf,
    opts: Options,
    /// Column families besides the default one.
    cfs: Vec<String>,
    db: RwLock<Option<Arc<DB>>>,
    failed: AtomicBool,
    last_attempt: Mutex<Option<Instant>>,
    /// Why the last reopen failed.
    last_error: Mutex<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

fn synced() -> WriteOptions {
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    wo
}

impl Store {
    /// Opens (creating if missing) the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_cf(path, &[])
    }

    /// Opens (creating if missing) the database in `path` with the column families `cfs`
    /// (created when missing); [`Self::cf`] names them.
    pub fn open_cf(path: &Path, cfs: &[&str]) -> Result<Self, StoreError> {
        let mut base = Options::default();
        base.create_if_missing(true);
        base.create_missing_column_families(true);
        // Memtables of all column families together stay within 64 MiB (RocksDB's default is
        // 64 MiB for each family), so a database of many families does not hold more memory.
        base.set_db_write_buffer_size(64 << 20);
        // No preallocation of log files: RocksDB would reserve ~70 MB per write-ahead log (the
        // memtable size) whatever the data, and on a full disk a write would succeed into that
        // reserve and fail later, far from its cause. Without it a write fails when the disk
        // has no room for it. (The Rust binding has no setter; the options string has.)
        let opts = base.get_options_from_string("allow_fallocate=false")?;
        let cfs: Vec<String> = cfs.iter().map(|c| c.to_string()).collect();
        let db = DB::open_cf(&opts, path, &cfs)?;
        Ok(Self {
            path: path.to_path_buf(),
            opts,
            cfs,
            db: RwLock::new(Some(Arc::new(db))),
            failed: AtomicBool::new(false),
            last_attempt: Mutex::new(None),
            last_error: Mutex::new(String::new()),
        })
    }

    /// The database, reopened first if a write failed since it was opened.
    pub fn db(&self) -> Result<Arc<DB>, StoreError> {
        if self.failed.load(Ordering::Acquire) {
            self.try_reopen();
        }
        self.db
            .read()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?
            .clone()
            .ok_or_else(|| {
                let why = self
                    .last_error
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default();
                StoreError::Unavailable(format!("the database is closed; reopening failed: {why}"))
            })
    }

    /// A synced write. A failure marks the store for reopening.
    pub fn write(&self, wb: WriteBatch) -> Result<(), StoreError> {
        let db = self.db()?;
        db.write_opt(wb, &synced()).map_err(|e| {
            self.failed.store(true, Ordering::Release);
            StoreError::from(e)
        })
    }

    /// The handle of column family `name` of `db` (one of those the store was opened with).
    pub fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a rocksdb::ColumnFamily, StoreError> {
        db.cf_handle(name)
            .ok_or_else(|| StoreError::Unavailable(format!("no column family {name}")))
    }

    /// Whether a write failed and no reopen has succeeded since.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Closes and reopens the database (at most every [`REOPEN_INTERVAL`]); on success the
    /// store is healthy again.
    fn try_reopen(&self) {
        let Ok(mut last) = self.last_attempt.try_lock() else {
            return; // another thread is reopening
        };
        tracing::debug!(path = %self.path.display(), "reopening storage after a failed write");
        if last.is_some_and(|t| t.elapsed() < REOPEN_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        let Ok(mut slot) = self.db.write() else {
            return;
        };
        if let Some(mut old) = slot.take() {
            // wait for readers of the old instance, so that its lock file is released
            let started = Instant::now();
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(still_shared) if started.elapsed() < CLOSE_WAIT => {
                        old = still_shared;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(still_shared) => {
                        // keep serving the old instance; try again later
                        tracing::warn!(path = %self.path.display(), "storage in use; reopening later");
                        *slot = Some(still_shared);
                        return;
                    }
                }
            }
        }
        match DB::open_cf(&self.opts, &self.path, &self.cfs) {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                self.failed.store(false, Ordering::Release);
                tracing::info!(path = %self.path.display(), "storage reopened after a failed write");
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "storage still failing; will retry");
                if let Ok(mut why) = self.last_error.lock() {
                    *why = e.to_string();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_do_not_preallocate_and_reopen_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut wb = WriteBatch::default();
        wb.put(b"k", b"v");
        store.write(wb).unwrap();
        let options = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with("OPTIONS-"))
            .unwrap();
        let text = std::fs::read_to_string(options.path()).unwrap();
        assert!(text.contains("allow_fallocate=false"), "{text}");
        assert!(!store.failed());
        // a failed write marks the store; the next use reopens it with everything written
        store.failed.store(true, Ordering::Release);
        let db = store.db().unwrap();
        assert!(!store.failed(), "not reopened");
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        // while a reader holds the old instance past the wait, the reopen leaves it in place
        drop(db);
        let held = store.db().unwrap();
        store.failed.store(true, Ordering::Release);
        *store.last_attempt.lock().unwrap() = None;
        let started = Instant::now();
        let again = store.db().unwrap();
        assert!(started.elapsed() >= CLOSE_WAIT);
        assert!(Arc::ptr_eq(&held, &again));
        assert!(
            store.failed(),
            "a reopen that could not close stays pending"
        );
    }
}
