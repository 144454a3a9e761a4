//! The field F (BN254 scalar field) and its canonical encodings.
//!
//! * bytes: 32 bytes, big-endian, value < r;
//! * text/JSON: `0x` followed by exactly 64 lower-case hex digits, value < r.
//!
//! Each value has exactly one spelling; every other spelling is refused.

use crate::error::{ProtocolError, Result};
use ark_ff::{BigInteger, PrimeField, Zero};

/// The BN254 scalar field.
pub type F = ark_bn254::Fr;

/// Length of a field element encoding in bytes.
pub const FE_BYTES: usize = 32;

/// Encodes a field element as 32 big-endian bytes.
pub fn fe_to_bytes(x: &F) -> [u8; FE_BYTES] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; FE_BYTES];
    out.copy_from_slice(&v);
    out
}

/// Decodes 32 big-endian bytes; refuses values >= r and any other length.
pub fn fe_from_bytes(bytes: &[u8]) -> Result<F> {
    if bytes.len() != FE_BYTES {
        return Err(ProtocolError::WrongLength {
            what: "field element",
            expected: FE_BYTES,
            got: bytes.len(),
        });
    }
    let x = F::from_be_bytes_mod_order(bytes);
    if fe_to_bytes(&x).as_slice() != bytes {
        return Err(ProtocolError::NonCanonicalField("value >= r"));
    }
    Ok(x)
}

/// Canonical text form: `0x` + 64 lower-case hex digits.
pub fn fe_to_hex(x: &F) -> String {
    format!("0x{}", hex::encode(fe_to_bytes(x)))
}

/// Parses the canonical text form. Refuses missing prefix, upper case,
/// wrong length, non-hex digits and values >= r.
pub fn fe_from_hex(s: &str) -> Result<F> {
    let body = s
        .strip_prefix("0x")
        .ok_or(ProtocolError::NonCanonicalField("missing 0x prefix"))?;
    if body.len() != 2 * FE_BYTES {
        return Err(ProtocolError::NonCanonicalField("expected 64 hex digits"));
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ProtocolError::NonCanonicalField(
            "only lower-case hex digits allowed",
        ));
    }
    let bytes = hex::decode(body).map_err(|_| ProtocolError::NonCanonicalField("bad hex"))?;
    fe_from_bytes(&bytes)
}

/// Field element from a u64.
pub fn fe_from_u64(v: u64) -> F {
    F::from(v)
}

/// Field element of a signed value with |v| < 2^64: v for v >= 0, r - |v| otherwise.
pub fn fe_from_i128(v: i128) -> F {
    if v >= 0 {
        F::from(v as u128)
    } else {
        -F::from(v.unsigned_abs())
    }
}

/// Interprets a field element as u64 if it is one.
pub fn fe_to_u64(x: &F) -> Option<u64> {
    let b = x.into_bigint();
    let limbs = b.as_ref();
    if limbs[1..].iter().all(|l| *l == 0) {
        Some(limbs[0])
    } else {
        None
    }
}

/// Compares two field elements as integers in [0, r).
pub fn fe_cmp(a: &F, b: &F) -> std::cmp::Ordering {
    a.into_bigint().cmp(&b.into_bigint())
}

/// True when `x` is zero.
pub fn fe_is_zero(x: &F) -> bool {
    x.is_zero()
}

/// Packs up to 31 bytes injectively into a field element:
/// `bytes` read little-endian plus `len * 2^248`.
pub fn fe_pack_bytes(bytes: &[u8]) -> Result<F> {
    if bytes.len() > 31 {
        return Err(ProtocolError::Malformed {
            what: "packed bytes",
            why: format!("at most 31 bytes, got {}", bytes.len()),
        });
    }
    let mut buf = [0u8; 32];
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[31] = bytes.len() as u8;
    Ok(F::from_le_bytes_mod_order(&buf))
}

/// Maps a 32-byte digest (e.g. SHA-256) to a field element by reduction mod r
/// (big-endian). Used only for hashes computed outside circuits.
pub fn fe_from_digest(digest: &[u8; 32]) -> F {
    F::from_be_bytes_mod_order(digest)
}

/// Serde helpers: serialize a field element in its canonical text form.
pub mod serde_fe {
    use super::*;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as canonical hex.
    pub fn serialize<S: Serializer>(x: &F, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&fe_to_hex(x))
    }

    /// Deserializes canonical hex only.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<F, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        fe_from_hex(&s).map_err(D::Error::custom)
    }
}

/// Serde helpers for byte blobs as lower-case hex (strict: even length, lower case).
pub mod serde_hex {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as lower-case hex without prefix.
    pub fn serialize<S: Serializer>(x: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(x))
    }

    /// Deserializes lower-case hex only.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::hex_strict(&s).map_err(D::Error::custom)
    }
}

/// Decodes lower-case, even-length hex.
pub fn hex_strict(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(ProtocolError::Malformed {
            what: "hex",
            why: "odd length".into(),
        });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ProtocolError::Malformed {
            what: "hex",
            why: "only lower-case hex digits allowed".into(),
        });
    }
    hex::decode(s).map_err(|e| ProtocolError::Malformed {
        what: "hex",
        why: e.to_string(),
    })
}

/// Defines a newtype around a field element with canonical encodings.
#[macro_export]
macro_rules! fe_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $crate::field::F);

        impl $name {
            /// Canonical 32-byte big-endian encoding.
            pub fn to_bytes(&self) -> [u8; 32] {
                $crate::field::fe_to_bytes(&self.0)
            }
            /// Strict decoding of the canonical bytes.
            pub fn from_bytes(b: &[u8]) -> $crate::error::Result<Self> {
                $crate::field::fe_from_bytes(b).map(Self)
            }
            /// Canonical hex text.
            pub fn to_hex(&self) -> String {
                $crate::field::fe_to_hex(&self.0)
            }
            /// Strict parsing of the canonical hex text.
            pub fn from_hex(s: &str) -> $crate::error::Result<Self> {
                $crate::field::fe_from_hex(s).map(Self)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                $crate::field::serde_fe::serialize(&self.0, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                $crate::field::serde_fe::deserialize(d).map(Self)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::fe_schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger256, One};
    use proptest::prelude::*;

    /// r as big-endian bytes.
    fn r_bytes() -> [u8; 32] {
        let m: BigInteger256 = F::MODULUS;
        let v = m.to_bytes_be();
        let mut out = [0u8; 32];
        out.copy_from_slice(&v);
        out
    }

    fn add_one(mut b: [u8; 32]) -> [u8; 32] {
        for i in (0..32).rev() {
            let (v, carry) = b[i].overflowing_add(1);
            b[i] = v;
            if !carry {
                break;
            }
        }
        b
    }

    #[test]
    fn rejects_r_and_above() {
        let r = r_bytes();
        assert!(matches!(
            fe_from_bytes(&r),
            Err(ProtocolError::NonCanonicalField(_))
        ));
        assert!(fe_from_bytes(&add_one(r)).is_err());
        assert!(fe_from_bytes(&[0xff; 32]).is_err());
        // r - 1 is the largest canonical value.
        let r_minus_1 = fe_to_bytes(&(-F::one()));
        assert_eq!(fe_from_bytes(&r_minus_1).unwrap(), -F::one());
        // hex spellings
        assert!(fe_from_hex(&format!("0x{}", hex::encode(r))).is_err());
        assert!(fe_from_hex(&format!("0x{}", hex::encode(add_one(r)))).is_err());
        assert!(fe_from_hex(&format!("0x{}", "f".repeat(64))).is_err());
    }

    #[test]
    fn rejects_other_spellings() {
        let one = fe_to_hex(&F::one());
        assert_eq!(fe_from_hex(&one).unwrap(), F::one());
        for bad in [
            "",
            "0x",
            "1",
            "-1",
            "0x1",
            "0x01",
            &one[2..],
            &one.to_uppercase(),
            &one.replace("0x", "0X"),
            &format!("{one}0"),
            &one[..one.len() - 1],
            &format!("0x{}g", "0".repeat(63)),
            &format!(" {one}"),
            "0x-000000000000000000000000000000000000000000000000000000000000001",
        ] {
            assert!(fe_from_hex(bad).is_err(), "accepted {bad:?}");
        }
        assert!(fe_from_bytes(&[0u8; 31]).is_err());
        assert!(fe_from_bytes(&[0u8; 33]).is_err());
    }

    #[test]
    fn signed_values() {
        assert_eq!(fe_from_i128(-1), -F::one());
        assert_eq!(fe_from_i128(5), F::from(5u64));
        assert_eq!(fe_to_u64(&F::from(u64::MAX)), Some(u64::MAX));
        assert_eq!(fe_to_u64(&(F::from(u64::MAX) + F::one())), None);
    }

    #[test]
    fn pack_is_injective_on_length() {
        assert_ne!(fe_pack_bytes(&[]).unwrap(), fe_pack_bytes(&[0]).unwrap());
        assert_ne!(
            fe_pack_bytes(&[1]).unwrap(),
            fe_pack_bytes(&[1, 0]).unwrap()
        );
        assert!(fe_pack_bytes(&[0u8; 32]).is_err());
        assert!(fe_pack_bytes(&[0xff; 31]).is_ok());
    }

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::array::uniform32(any::<u8>())) {
            let x = F::from_be_bytes_mod_order(&bytes);
            prop_assert_eq!(fe_from_bytes(&fe_to_bytes(&x)).unwrap(), x);
            prop_assert_eq!(fe_from_hex(&fe_to_hex(&x)).unwrap(), x);
            // Any accepted byte string re-encodes to itself.
            if let Ok(y) = fe_from_bytes(&bytes) {
                prop_assert_eq!(fe_to_bytes(&y), bytes);
            }
        }
    }
}
