//! Invoices bound into payments. Twin of `zkpay_circuits::invoice`.
//!
//! A payment request that carries an invoice id also carries a random salt (16 to 31 bytes). The
//! merchant and the payer derive the *invoice key*
//!
//! ```text
//! invoice_key = H_InvoiceKey(pack(invoice_id), pack(salt))
//! ```
//!
//! and the payment circuit computes the public *invoice tag* from it and from output 0:
//!
//! ```text
//! invoice_tag = H_InvoiceTag(invoice_key, pk_out0, value_out0, asset)
//! ```
//!
//! so a tag can only accompany a payment that pays exactly that value of that asset to that
//! owner key. A payment without an invoice has tag 0. Without the salt, nobody can link a tag to
//! a merchant or to an invoice id, however guessable the id.

use crate::error::{ProtocolError, Result};
use crate::field::{fe_pack_bytes, F};
use crate::note::AssetId;
use crate::poseidon::{hash, Domain};

/// Shortest salt: 128 bits.
pub const MIN_SALT: usize = 16;
/// Longest salt (what `pack` takes).
pub const MAX_SALT: usize = 31;
/// Longest invoice id.
pub const MAX_INVOICE_ID: usize = 31;

/// `H_InvoiceKey(pack(invoice_id), pack(salt))`.
pub fn invoice_key(invoice_id: &[u8], salt: &[u8]) -> Result<F> {
    if invoice_id.is_empty() || invoice_id.len() > MAX_INVOICE_ID {
        return Err(ProtocolError::Malformed {
            what: "invoice id",
            why: format!("{} bytes, expected 1 to {MAX_INVOICE_ID}", invoice_id.len()),
        });
    }
    if !(MIN_SALT..=MAX_SALT).contains(&salt.len()) {
        return Err(ProtocolError::Malformed {
            what: "invoice salt",
            why: format!("{} bytes, expected {MIN_SALT} to {MAX_SALT}", salt.len()),
        });
    }
    Ok(hash(
        Domain::InvoiceKey,
        &[fe_pack_bytes(invoice_id)?, fe_pack_bytes(salt)?],
    ))
}

/// `H_InvoiceTag(invoice_key, owner, value, asset)`: the tag of a payment whose output 0 pays
/// `value` of `asset` to `owner`.
pub fn invoice_tag(invoice_key: &F, owner: &F, value: u64, asset: &AssetId) -> F {
    hash(
        Domain::InvoiceTag,
        &[*invoice_key, *owner, F::from(value), asset.0],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tags_bind_every_part() {
        let salt = [7u8; 16];
        let k = invoice_key(b"order-1001", &salt).unwrap();
        assert_ne!(k, invoice_key(b"order-1002", &salt).unwrap());
        assert_ne!(k, invoice_key(b"order-1001", &[8u8; 16]).unwrap());
        // salt length is part of the packing: a longer salt with the same prefix differs
        let mut long = [7u8; 17];
        long[16] = 0;
        assert_ne!(k, invoice_key(b"order-1001", &long).unwrap());
        let asset = AssetId(F::from(5u64));
        let pk = F::from(99u64);
        let t = invoice_tag(&k, &pk, 1250, &asset);
        assert_ne!(t, invoice_tag(&k, &pk, 1249, &asset));
        assert_ne!(t, invoice_tag(&k, &(pk + F::from(1u64)), 1250, &asset));
        assert_ne!(t, invoice_tag(&k, &pk, 1250, &AssetId(F::from(6u64))));
        assert_ne!(t, F::from(0u64));
    }

    #[test]
    fn refuses_bad_lengths() {
        assert!(invoice_key(b"", &[1; 16]).is_err());
        assert!(invoice_key(&[1; 32], &[1; 16]).is_err());
        assert!(invoice_key(b"x", &[1; 15]).is_err());
        assert!(invoice_key(b"x", &[1; 32]).is_err());
        assert!(invoice_key(b"x", &[1; 31]).is_ok());
    }
}
