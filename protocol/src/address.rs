//! Networks and shielded addresses (bech32m with a network prefix and checksum).
//!
//! Address payload: `pk (32 bytes, canonical field element) || tk (32 bytes, x25519 key)`.

use crate::error::{ProtocolError, Result};
use crate::field::{fe_from_bytes, fe_to_bytes, F};
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use serde::{Deserialize, Serialize};

/// A zkpay network. Its id is bound into every payment's `ext_data_hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Production network.
    Main,
    /// Public test network.
    Test,
    /// Local development network (the embedded default and the demo).
    Dev,
}

impl Network {
    /// All networks.
    pub const ALL: [Network; 3] = [Network::Main, Network::Test, Network::Dev];

    /// Numeric id bound into payments.
    pub fn id(self) -> u32 {
        match self {
            Network::Main => 1,
            Network::Test => 2,
            Network::Dev => 3,
        }
    }

    /// Name used in URIs (`req-network=`) and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Network::Main => "main",
            Network::Test => "test",
            Network::Dev => "dev",
        }
    }

    /// Parses a network name.
    pub fn from_name(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| ProtocolError::Malformed {
                what: "network",
                why: format!("unknown network {s:?} (expected main, test or dev)"),
            })
    }

    /// Network from its id.
    pub fn from_id(id: u32) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|n| n.id() == id)
            .ok_or_else(|| ProtocolError::Malformed {
                what: "network id",
                why: format!("unknown network id {id}"),
            })
    }

    /// Human-readable prefix of addresses.
    pub fn address_hrp(self) -> &'static str {
        match self {
            Network::Main => "zkp",
            Network::Test => "zkpt",
            Network::Dev => "zkpd",
        }
    }

    /// Human-readable prefix of full viewing keys.
    pub fn fvk_hrp(self) -> &'static str {
        match self {
            Network::Main => "zkpfvk",
            Network::Test => "zkptfvk",
            Network::Dev => "zkpdfvk",
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn bech32m_encode(hrp: &str, data: &[u8]) -> String {
    // The prefixes are fixed valid constants and the payloads are at most 96 bytes, far below
    // bech32m's 1023-character limit, so neither step can fail.
    let hrp = Hrp::parse_unchecked(hrp);
    match bech32::encode::<Bech32m>(hrp, data) {
        Ok(s) => s,
        Err(e) => panic!("bech32m encoding of a fixed-size payload failed: {e}"),
    }
}

/// Strict bech32m decoding: lower case only, bech32m checksum (not bech32), whole string.
pub(crate) fn bech32m_decode(s: &str) -> Result<(String, Vec<u8>)> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ProtocolError::Address("upper-case characters".into()));
    }
    let checked = CheckedHrpstring::new::<Bech32m>(s)
        .map_err(|e| ProtocolError::Address(format!("bad bech32m string: {e}")))?;
    let hrp = checked.hrp().to_lowercase();
    let data: Vec<u8> = checked.byte_iter().collect();
    Ok((hrp, data))
}

/// A shielded payment address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// Network the address belongs to.
    pub network: Network,
    /// Owner key of notes paid to this address.
    pub pk: F,
    /// x25519 transmission key for note encryption.
    pub tk: [u8; 32],
}

impl Address {
    /// Encodes as bech32m.
    pub fn encode(&self) -> String {
        let mut data = [0u8; 64];
        data[..32].copy_from_slice(&fe_to_bytes(&self.pk));
        data[32..].copy_from_slice(&self.tk);
        bech32m_encode(self.network.address_hrp(), &data)
    }

    /// Parses an address of any network.
    pub fn decode_any(s: &str) -> Result<Self> {
        let (hrp, data) = bech32m_decode(s)?;
        let network = Network::ALL
            .into_iter()
            .find(|n| n.address_hrp() == hrp)
            .ok_or_else(|| ProtocolError::Address(format!("unknown address prefix {hrp:?}")))?;
        if data.len() != 64 {
            return Err(ProtocolError::Address(format!(
                "payload must be 64 bytes, got {}",
                data.len()
            )));
        }
        let pk = fe_from_bytes(&data[..32])
            .map_err(|e| ProtocolError::Address(format!("owner key: {e}")))?;
        let mut tk = [0u8; 32];
        tk.copy_from_slice(&data[32..]);
        Ok(Self { network, pk, tk })
    }

    /// Parses an address and requires it to belong to `network`.
    pub fn decode(s: &str, network: Network) -> Result<Self> {
        let a = Self::decode_any(s)?;
        if a.network != network {
            return Err(ProtocolError::NetworkMismatch {
                expected: network.name().into(),
                got: a.network.name().into(),
            });
        }
        Ok(a)
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Address::decode_any(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use proptest::prelude::*;

    fn addr(seed: u8, network: Network) -> Address {
        SpendingKey::from_bytes([seed; 32]).address(network)
    }

    #[test]
    fn roundtrip_and_prefix() {
        for n in Network::ALL {
            let a = addr(3, n);
            let s = a.encode();
            assert!(s.starts_with(&format!("{}1", n.address_hrp())));
            assert_eq!(Address::decode(&s, n).unwrap(), a);
            assert_eq!(Network::from_id(n.id()).unwrap(), n);
            assert_eq!(Network::from_name(n.name()).unwrap(), n);
        }
    }

    #[test]
    fn rejects_bad_addresses() {
        let s = addr(3, Network::Dev).encode();
        // wrong network
        assert!(matches!(
            Address::decode(&s, Network::Main),
            Err(ProtocolError::NetworkMismatch { .. })
        ));
        // bad checksum: flip one data character
        let mut chars: Vec<char> = s.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let flipped: String = chars.into_iter().collect();
        assert!(Address::decode_any(&flipped).is_err());
        // upper case
        assert!(Address::decode_any(&s.to_uppercase()).is_err());
        // bech32 (not bech32m) checksum
        let hrp = Hrp::parse("zkpd").unwrap();
        let legacy = bech32::encode::<bech32::Bech32>(hrp, &[0u8; 64]).unwrap();
        assert!(Address::decode_any(&legacy).is_err());
        // wrong payload length
        assert!(Address::decode_any(&bech32m_encode("zkpd", &[0u8; 63])).is_err());
        // non-canonical pk
        assert!(Address::decode_any(&bech32m_encode("zkpd", &[0xffu8; 64])).is_err());
        // unknown prefix
        assert!(Address::decode_any(&bech32m_encode("btc", &[0u8; 64])).is_err());
        assert!(Address::decode_any("").is_err());
    }

    proptest! {
        #[test]
        fn any_seed_roundtrips(seed in any::<[u8; 32]>()) {
            let a = SpendingKey::from_bytes(seed).address(Network::Test);
            prop_assert_eq!(Address::decode(&a.encode(), Network::Test).unwrap(), a);
        }
    }
}
