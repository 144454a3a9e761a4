//! Wallet-file opening (`zkpay-wallet`'s `store` and the state decoder), without Argon2 so that
//! a million executions are cheap:
//! - any bytes as a wallet file: the strict parser never panics, nor does decrypting what it
//!   accepts;
//! - any bytes as a decrypted state: the state decoder never panics;
//! - a file sealing fuzzed plaintext under a fuzzed key round-trips, and a copy with one byte
//!   changed (header, nonce or ciphertext) is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkpay_protocol::address::Network;
use zkpay_wallet::store::SealedFile;
use zkpay_wallet::wallet::check_state;

const NETWORKS: [Network; 3] = [Network::Dev, Network::Test, Network::Main];

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = SealedFile::parse(data) {
        let _ = f.network();
        let _ = f.watch_only();
        let _ = f.decrypt(&[0u8; 32]);
    }
    for n in NETWORKS {
        let _ = check_state(data, n);
    }
    if data.len() < 61 {
        return;
    }
    let key: [u8; 32] = data[..32].try_into().unwrap();
    let salt: [u8; 16] = data[32..48].try_into().unwrap();
    let nonce: [u8; 12] = data[48..60].try_into().unwrap();
    let network = NETWORKS[usize::from(data[60]) % 3];
    let watch_only = data[60] & 4 != 0;
    let plaintext = &data[61..];
    let bytes = SealedFile::seal(network, watch_only, &salt, &key, &nonce, plaintext).unwrap();
    let file = SealedFile::parse(&bytes).expect("a sealed file parses");
    assert_eq!(file.network(), network);
    assert_eq!(file.watch_only(), watch_only);
    assert_eq!(file.decrypt(&key).unwrap().as_slice(), plaintext);
    let mut other = key;
    other[0] ^= 1;
    assert!(file.decrypt(&other).is_err(), "another key opened the file");
    // change one character of the file's text: it must not parse or not decrypt to the same
    let i = usize::from(data[60]) * 7 % bytes.len();
    let mut tampered = bytes.clone();
    tampered[i] = match tampered[i] {
        b'0'..=b'8' | b'a'..=b'e' => tampered[i] + 1,
        b'9' => b'a',
        b'f' => b'0',
        c => c ^ 0x20,
    };
    if let Ok(t) = SealedFile::parse(&tampered) {
        if let Ok(pt) = t.decrypt(&key) {
            // only whitespace or key order can change without detection, never the contents
            assert_eq!(pt.as_slice(), plaintext);
            assert_eq!(t.network(), network);
            assert_eq!(t.watch_only(), watch_only);
        }
    }
});
