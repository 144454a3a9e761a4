//! OpenAPI schemas (utoipa) of the protocol's wire types whose JSON form is text: field
//! elements, accounts and signatures. Only with the `openapi` feature; the node's API document
//! is generated from these and the derived schemas of the structs that contain them.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A string schema with a pattern and a description.
pub fn text(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// Pattern of a field element's canonical text form.
pub const FE_PATTERN: &str = "^0x[0-9a-f]{64}$";

/// Schema of a field element in JSON.
pub fn fe_schema() -> RefOr<Schema> {
    text(
        FE_PATTERN,
        "BN254 scalar, canonical: 0x and 64 lower-case hex digits, below r",
    )
}

impl utoipa::PartialSchema for crate::account::PublicAccount {
    fn schema() -> RefOr<Schema> {
        text(
            "^0x[0-9a-f]{40}$",
            "Public account: the Ethereum-style address of its secp256k1 key, lower case",
        )
    }
}

impl utoipa::ToSchema for crate::account::PublicAccount {}

impl utoipa::PartialSchema for crate::account::DebitSignature {
    fn schema() -> RefOr<Schema> {
        text(
            "^[0-9a-f]{130}$",
            "The debited account's EIP-712 signature r || s || v of Debit(account, asset, amount, paymentId)",
        )
    }
}

impl utoipa::ToSchema for crate::account::DebitSignature {}
