//! The wallet file: the wallet's state, encrypted under a passphrase.
//!
//! Format (JSON): `{"format": "zkpay-wallet", "version": 1, "network": ..., "watch_only": ...,
//! "kdf": {"alg": "argon2id", "m_kib", "t", "p", "salt"}, "nonce", "ciphertext"}`. The key is
//! Argon2id(passphrase, salt); the state is sealed with ChaCha20-Poly1305 under a fresh random
//! nonce at every save, with the header (everything but nonce and ciphertext) as associated
//! data, so the network in the clear cannot be changed without detection. Writes are atomic:
//! a temporary file in the same directory, fsync, rename, fsync of the directory.

use crate::WalletError;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;
use zkpay_protocol::address::Network;

const FORMAT: &str = "zkpay-wallet";
const VERSION: u32 = 1;
/// Argon2id memory (KiB), iterations, lanes: the OWASP minimum for Argon2id.
const M_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Largest wallet file read.
const MAX_FILE: u64 = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    network: Network,
    watch_only: bool,
    kdf: Kdf,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(flatten)]
    header: Header,
    nonce: String,
    ciphertext: String,
}

/// An unlocked wallet file: where it is, its header, and the key that seals it.
pub struct Sealed {
    path: PathBuf,
    header: Header,
    key: Zeroizing<[u8; 32]>,
    /// Exclusive lock on `wallet.lock`, held while the wallet is open.
    _lock: std::fs::File,
}

/// Takes the wallet directory's lock (`wallet.lock`), so two processes never interleave their
/// read-modify-write of the wallet file. Also removes temporary files a killed save left behind.
fn lock(dir: &Path) -> Result<std::fs::File, WalletError> {
    let path = dir.join("wallet.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| WalletError::Io(path.clone(), e.to_string()))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(WalletError::Busy(dir.into())),
        Err(std::fs::TryLockError::Error(e)) => return Err(WalletError::Io(path, e.to_string())),
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(f)
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({:?})", self.path)
    }
}

fn derive(passphrase: &[u8], kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    if kdf.alg != "argon2id" || kdf.m_kib > 1024 * 1024 || kdf.t > 64 || kdf.p > 16 {
        return Err(WalletError::Corrupt("unsupported key derivation".into()));
    }
    let salt = hex::decode(&kdf.salt).map_err(|_| WalletError::Corrupt("salt".into()))?;
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| WalletError::Corrupt(format!("kdf parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, &salt, key.as_mut())
        .map_err(|e| WalletError::Corrupt(format!("kdf: {e}")))?;
    Ok(key)
}

fn aad(h: &Header) -> Result<Vec<u8>, WalletError> {
    serde_json::to_vec(h).map_err(|e| WalletError::Corrupt(e.to_string()))
}

impl Sealed {
    /// Path of the wallet file in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("wallet.json")
    }

    /// Creates a new wallet file in `dir` (which must not hold one) and seals `plaintext`.
    pub fn create(
        dir: &Path,
        network: Network,
        watch_only: bool,
        passphrase: &[u8],
        plaintext: &[u8],
    ) -> Result<Self, WalletError> {
        let path = Self::path_in(dir);
        if path.exists() {
            return Err(WalletError::Exists(path));
        }
        std::fs::create_dir_all(dir).map_err(|e| WalletError::Io(dir.into(), e.to_string()))?;
        let lock = lock(dir)?;
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let kdf = Kdf {
            alg: "argon2id".into(),
            m_kib: M_KIB,
            t: T_COST,
            p: P_COST,
            salt: hex::encode(salt),
        };
        let key = derive(passphrase, &kdf)?;
        let s = Self {
            path,
            header: Header {
                format: FORMAT.into(),
                version: VERSION,
                network,
                watch_only,
                kdf,
            },
            key,
            _lock: lock,
        };
        s.save(plaintext)?;
        Ok(s)
    }

    /// Opens and decrypts the wallet file in `dir`. Changes nothing on disk.
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<(Self, Zeroizing<Vec<u8>>), WalletError> {
        if !dir.is_dir() {
            return Err(WalletError::NoWallet(dir.into()));
        }
        let path = Self::path_in(dir);
        let meta = std::fs::metadata(&path).map_err(|_| WalletError::NoWallet(dir.into()))?;
        let lock = lock(dir)?;
        if meta.len() > MAX_FILE {
            return Err(WalletError::Corrupt("wallet file too large".into()));
        }
        let bytes =
            std::fs::read(&path).map_err(|e| WalletError::Io(path.clone(), e.to_string()))?;
        let file: File = serde_json::from_slice(&bytes)
            .map_err(|e| WalletError::Corrupt(format!("{}: {e}", path.display())))?;
        if file.header.format != FORMAT || file.header.version != VERSION {
            return Err(WalletError::Corrupt(
                "not a zkpay wallet file of version 1".into(),
            ));
        }
        let key = derive(passphrase, &file.header.kdf)?;
        let nonce = hex::decode(&file.nonce).map_err(|_| WalletError::Corrupt("nonce".into()))?;
        if nonce.len() != 12 {
            return Err(WalletError::Corrupt("nonce".into()));
        }
        let ct =
            hex::decode(&file.ciphertext).map_err(|_| WalletError::Corrupt("ciphertext".into()))?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let pt = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: &aad(&file.header)?,
                },
            )
            .map_err(|_| WalletError::WrongPassphrase)?;
        Ok((
            Self {
                path,
                header: file.header,
                key,
                _lock: lock,
            },
            Zeroizing::new(pt),
        ))
    }

    /// Network recorded in the file.
    pub fn network(&self) -> Network {
        self.header.network
    }

    /// Whether the wallet holds no spending key.
    pub fn watch_only(&self) -> bool {
        self.header.watch_only
    }

    /// Seals `plaintext` and replaces the file atomically.
    pub fn save(&self, plaintext: &[u8]) -> Result<(), WalletError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.key.as_ref()));
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad(&self.header)?,
                },
            )
            .map_err(|_| WalletError::Corrupt("encryption failed".into()))?;
        let file = File {
            header: self.header.clone(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ct),
        };
        let bytes =
            serde_json::to_vec_pretty(&file).map_err(|e| WalletError::Corrupt(e.to_string()))?;
        atomic_write(&self.path, &bytes)
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename,
/// fsync of the directory. A crash leaves either the old or the new file, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    let io = |e: std::io::Error| WalletError::Io(path.into(), e.to_string());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_lock_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sealed::create(dir.path(), Network::Dev, false, b"pw", b"state").unwrap();
        // held by `s`: a second opener is refused
        assert!(matches!(
            Sealed::open(dir.path(), b"pw"),
            Err(WalletError::Busy(_))
        ));
        s.save(b"state 2").unwrap();
        drop(s);
        // a stray temporary file from a killed save is removed on open
        std::fs::write(dir.path().join(".tmpABC123"), b"partial").unwrap();
        let (s, plain) = Sealed::open(dir.path(), b"pw").unwrap();
        assert_eq!(plain.as_slice(), b"state 2");
        assert!(!dir.path().join(".tmpABC123").exists());
        drop(s);
        let before = std::fs::read(Sealed::path_in(dir.path())).unwrap();
        assert!(matches!(
            Sealed::open(dir.path(), b"wrong"),
            Err(WalletError::WrongPassphrase)
        ));
        // the header is authenticated: another network in the clear is detected
        let text = String::from_utf8(before.clone()).unwrap();
        std::fs::write(
            Sealed::path_in(dir.path()),
            text.replace("\"dev\"", "\"test\""),
        )
        .unwrap();
        assert!(matches!(
            Sealed::open(dir.path(), b"pw"),
            Err(WalletError::WrongPassphrase)
        ));
        std::fs::write(Sealed::path_in(dir.path()), &before).unwrap();
        assert!(matches!(
            Sealed::create(dir.path(), Network::Dev, false, b"pw", b"x"),
            Err(WalletError::Exists(_))
        ));
        assert!(matches!(
            Sealed::open(&dir.path().join("missing"), b"pw"),
            Err(WalletError::NoWallet(_))
        ));
    }
}
