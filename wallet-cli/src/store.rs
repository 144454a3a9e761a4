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

/// Checks the key-derivation parameters of a file (before any work is spent on them): Argon2id,
/// at most 1 GiB of memory, 64 passes and 16 lanes, a hex salt Argon2 accepts.
fn check_kdf(kdf: &Kdf) -> Result<(Params, Vec<u8>), WalletError> {
    if kdf.alg != "argon2id" || kdf.m_kib > 1024 * 1024 || kdf.t > 64 || kdf.p > 16 {
        return Err(WalletError::Corrupt("unsupported key derivation".into()));
    }
    let salt = hex::decode(&kdf.salt).map_err(|_| WalletError::Corrupt("salt".into()))?;
    if !(argon2::MIN_SALT_LEN..=argon2::MAX_SALT_LEN).contains(&salt.len()) {
        return Err(WalletError::Corrupt("salt".into()));
    }
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| WalletError::Corrupt(format!("kdf parameters: {e}")))?;
    Ok((params, salt))
}

fn derive(passphrase: &[u8], kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let (params, salt) = check_kdf(kdf)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, &salt, key.as_mut())
        .map_err(|e| WalletError::Corrupt(format!("kdf: {e}")))?;
    Ok(key)
}

fn aad(h: &Header) -> Result<Vec<u8>, WalletError> {
    serde_json::to_vec(h).map_err(|e| WalletError::Corrupt(e.to_string()))
}

/// A wallet file's bytes, parsed and checked but not decrypted: what [`Sealed::open`] reads
/// before it spends a key derivation on the passphrase. Public so that the parsing can be
/// exercised (fuzzed) without a file or Argon2.
pub struct SealedFile {
    header: Header,
    nonce: [u8; 12],
    ciphertext: Vec<u8>,
}

impl SealedFile {
    /// Parses a wallet file strictly: the JSON layout (no unknown field), format and version,
    /// bounded key-derivation parameters, a 12-byte nonce and a hex ciphertext holding at least
    /// the authentication tag.
    pub fn parse(bytes: &[u8]) -> Result<Self, WalletError> {
        if bytes.len() as u64 > MAX_FILE {
            return Err(WalletError::Corrupt("wallet file too large".into()));
        }
        let file: File = serde_json::from_slice(bytes)
            .map_err(|e| WalletError::Corrupt(format!("wallet file: {e}")))?;
        if file.header.format != FORMAT || file.header.version != VERSION {
            return Err(WalletError::Corrupt(
                "not a zkpay wallet file of version 1".into(),
            ));
        }
        check_kdf(&file.header.kdf)?;
        let nonce: [u8; 12] = hex::decode(&file.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| WalletError::Corrupt("nonce".into()))?;
        let ciphertext =
            hex::decode(&file.ciphertext).map_err(|_| WalletError::Corrupt("ciphertext".into()))?;
        if ciphertext.len() < 16 {
            return Err(WalletError::Corrupt("ciphertext".into()));
        }
        Ok(Self {
            header: file.header,
            nonce,
            ciphertext,
        })
    }

    /// Network named in the (authenticated) header.
    pub fn network(&self) -> Network {
        self.header.network
    }

    /// Whether the header says the wallet holds no spending key.
    pub fn watch_only(&self) -> bool {
        self.header.watch_only
    }

    /// Derives the file's key from `passphrase` (Argon2id with the file's parameters).
    pub fn derive_key(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        derive(passphrase, &self.header.kdf)
    }

    /// Decrypts and authenticates the state (header included) under `key`; any changed byte,
    /// or another key, gives [`WalletError::WrongPassphrase`].
    pub fn decrypt(&self, key: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>, WalletError> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
        cipher
            .decrypt(
                Nonce::from_slice(&self.nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad(&self.header)?,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| WalletError::WrongPassphrase)
    }

    /// The bytes of a wallet file sealing `plaintext` under `key` with `nonce`, for a header of
    /// `network`, `watch_only` and the default Argon2id parameters with `salt` (the key must be
    /// the one those parameters derive from the passphrase, as [`Sealed`] ensures).
    pub fn seal(
        network: Network,
        watch_only: bool,
        salt: &[u8; 16],
        key: &[u8; 32],
        nonce: &[u8; 12],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, WalletError> {
        encode(&header(network, watch_only, salt), key, nonce, plaintext)
    }
}

fn header(network: Network, watch_only: bool, salt: &[u8; 16]) -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        network,
        watch_only,
        kdf: Kdf {
            alg: "argon2id".into(),
            m_kib: M_KIB,
            t: T_COST,
            p: P_COST,
            salt: hex::encode(salt),
        },
    }
}

fn encode(
    header: &Header,
    key: &[u8; 32],
    nonce: &[u8; 12],
    plaintext: &[u8],
) -> Result<Vec<u8>, WalletError> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let ct = cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: &aad(header)?,
            },
        )
        .map_err(|_| WalletError::Corrupt("encryption failed".into()))?;
    let file = File {
        header: header.clone(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    };
    serde_json::to_vec_pretty(&file).map_err(|e| WalletError::Corrupt(e.to_string()))
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
        let header = header(network, watch_only, &salt);
        let key = derive(passphrase, &header.kdf)?;
        let s = Self {
            path,
            header,
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
        let file = SealedFile::parse(&bytes).map_err(|e| match e {
            WalletError::Corrupt(why) => WalletError::Corrupt(format!("{}: {why}", path.display())),
            e => e,
        })?;
        let key = file.derive_key(passphrase)?;
        let pt = file.decrypt(&key)?;
        Ok((
            Self {
                path,
                header: file.header,
                key,
                _lock: lock,
            },
            pt,
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
        let bytes = encode(&self.header, &self.key, &nonce, plaintext)?;
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

    const KEY: [u8; 32] = [7; 32];

    fn sealed(plaintext: &[u8]) -> Vec<u8> {
        SealedFile::seal(Network::Test, true, &[1; 16], &KEY, &[2; 12], plaintext).unwrap()
    }

    #[test]
    fn a_sealed_file_parses_and_opens_only_under_its_key() {
        let bytes = sealed(b"state");
        let f = SealedFile::parse(&bytes).unwrap();
        assert_eq!(f.network(), Network::Test);
        assert!(f.watch_only());
        assert_eq!(f.decrypt(&KEY).unwrap().as_slice(), b"state");
        assert!(matches!(
            f.decrypt(&[8; 32]),
            Err(WalletError::WrongPassphrase)
        ));
    }

    #[test]
    fn a_changed_header_or_a_malformed_file_is_refused() {
        let text = String::from_utf8(sealed(b"state")).unwrap();
        // the network in the clear is authenticated
        let moved = text.replace("\"test\"", "\"main\"");
        let f = SealedFile::parse(moved.as_bytes()).unwrap();
        assert!(f.decrypt(&KEY).is_err());
        for (from, to) in [
            ("\"argon2id\"", "\"argon2i\""),
            ("\"m_kib\": 19456", "\"m_kib\": 2000000"),
            ("\"t\": 2", "\"t\": 65"),
            ("\"p\": 1", "\"p\": 17"),
            ("\"salt\": \"", "\"salt\": \"zz"),
            (
                "\"salt\": \"01010101010101010101010101010101\"",
                "\"salt\": \"0101\"",
            ),
            ("\"nonce\": \"", "\"nonce\": \"00"),
            ("\"version\": 1", "\"version\": 2"),
            (
                "\"format\": \"zkpay-wallet\"",
                "\"format\": \"zkpay-other\"",
            ),
            ("\"nonce\"", "\"extra\": 1, \"nonce\""),
        ] {
            assert!(text.contains(from), "{from}");
            let bad = text.replace(from, to);
            assert!(
                matches!(
                    SealedFile::parse(bad.as_bytes()),
                    Err(WalletError::Corrupt(_))
                ),
                "{from} -> {to} was accepted"
            );
        }
        let short_ct = format!(
            "{}\"ciphertext\": \"00\"\n}}",
            &text[..text.find("\"ciphertext\"").unwrap()]
        );
        assert!(SealedFile::parse(short_ct.as_bytes()).is_err());
        assert!(SealedFile::parse(b"").is_err());
    }
}
