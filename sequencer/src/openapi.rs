//! The OpenAPI 3.1 description served at `/openapi.json`. Written by hand next to the handlers
//! in `api.rs`; a test requests every path it lists and checks the router serves it.

use serde_json::{json, Value};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

/// The document.
pub fn document() -> Value {
    let fe = json!({"type": "string", "pattern": "^0x[0-9a-f]{64}$", "description": "BN254 scalar, canonical: 0x + 64 lower-case hex digits, below r"});
    let hex = json!({"type": "string", "pattern": "^([0-9a-f]{2})*$"});
    let hex32 = json!({"type": "string", "pattern": "^[0-9a-f]{64}$"});
    let account = json!({"type": "string", "pattern": "^0x[0-9a-f]{40}$", "description": "Public account: the Ethereum-style address of its secp256k1 key, lower case"});
    let status = json!({"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["pending", "batched", "committed", "failed"]},
        "batch": {"type": "integer", "description": "when committed"},
        "reason": {"type": "string", "description": "when failed"}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zkpay node",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Shielded payments: submission, status, wallet sync and ledger queries. Errors are {\"error\": reason code, \"message\": text}; every rejection is counted in /metrics by reason."
        },
        "paths": {
            "/v1/payments": {"post": {
                "summary": "Submit a proven payment",
                "description": "Cheap checks first (network, ranges, ext data hash, proof encoding, conflicts), then proof verification behind one global limit, then a synced write to the mempool. 202 means durably stored.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PaymentSubmission"}}}},
                "responses": {
                    "202": ok("Accepted and durably stored", json!({"type": "object", "properties": {"id": hex32, "status": {"const": "pending"}}})),
                    "400": err("Malformed JSON"),
                    "408": err("Request not completed in time"),
                    "409": err("duplicate, nullifier_spent, nullifier_pending, invoice_paid, insufficient_public_balance, insufficient_pool"),
                    "413": err("Body over the limit (64 KiB), refused from Content-Length"),
                    "415": err("Content-Type is not application/json"),
                    "422": err("invalid_fields, wrong_network, out_of_range, fee_too_low, duplicate_nullifier, bad_ext_data, bad_fee_recipient, ext_data_hash_mismatch, bad_authorization, bad_proof_encoding, unknown_root, proof_invalid"),
                    "503": err("overloaded (verification limit), mempool_full (count or bytes) or storage (cannot persist)")
                }}},
            "/v1/payments/{id}": {"get": {
                "summary": "Status of a payment",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": hex32}],
                "responses": {
                    "200": ok("Status", json!({"type": "object", "properties": {"id": hex32, "payment": status}})),
                    "400": err("Bad id"), "404": err("Unknown payment")}}},
            "/v1/notes": {"get": {
                "summary": "Committed notes for wallet sync, by leaf position",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000}}],
                "responses": {
                    "200": ok("Notes and the next position to ask for", json!({"type": "object", "properties": {
                        "notes": {"type": "array", "items": {"type": "object", "properties": {
                            "position": {"type": "integer"}, "commitment": fe, "ciphertext": hex, "batch": {"type": "integer"}}}},
                        "next": {"type": ["integer", "null"]}}})),
                    "400": err("Bad query")}}},
            "/v1/roots": {"get": {
                "summary": "Committed head and the recent note roots payments may use",
                "responses": {"200": ok("Head", json!({"type": "object", "properties": {
                    "batch": {"type": "integer"}, "batch_hash": hex32, "note_root": fe, "nullifier_root": fe,
                    "note_cursor": {"type": "integer"}, "nullifier_cursor": {"type": "integer"},
                    "recent_note_roots": {"type": "array", "items": fe}}})),
                    "503": err("Starting")}}},
            "/v1/batches/{n}": {"get": {
                "summary": "A committed batch",
                "parameters": [{"name": "n", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": ok("Batch", json!({"type": "object", "properties": {
                    "number": {"type": "integer"}, "parent": hex32, "hash": hex32,
                    "payments": {"type": "array", "items": hex32}, "chunks": {"type": "array"}, "state": {"type": "object"}}})),
                    "400": err("Bad number"), "404": err("Unknown batch")}}},
            "/v1/invoices/{tag}": {"get": {
                "summary": "Whether an invoice tag is paid, and by which payment",
                "parameters": [{"name": "tag", "in": "path", "required": true, "schema": fe}],
                "responses": {"200": ok("Invoice", json!({"type": "object", "properties": {
                    "paid": {"type": "boolean", "description": "true once the paying batch is committed"},
                    "payment": {"type": ["string", "null"]}, "status": {"oneOf": [status, {"type": "null"}]}}})),
                    "400": err("Bad tag")}}},
            "/v1/info": {"get": {"summary": "Network, parameters, operator account and the payment verifying key id wallets must prove for",
                "responses": {"200": ok("Info", json!({"type": "object", "properties": {
                    "network": {"enum": ["main", "test", "dev"]}, "tree_depth": {"type": "integer"}, "chunk_slots": {"type": "integer"},
                    "operator": {"type": "string"}, "payment_key_id": hex32, "keys": {"type": "string", "description": "insecure-development: keys from the public development seed (dev network only)"},
                    "min_fees": {"type": "object", "additionalProperties": {"type": "string"}, "description": "smallest fee per asset, base units (assets not listed: 0)"},
                    "mempool": {"type": "object", "properties": {"max_payments": {"type": "integer"}, "max_bytes": {"type": "integer"}}}, "max_body": {"type": "integer"}, "version": {"type": "string"}}}))}}},
            "/v1/accounts/{name}": {"get": {"summary": "Public account balance in one asset (base units, decimal string)",
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "asset", "in": "query", "required": true, "schema": {"type": "string", "description": "USD, EUR, ... or SYM.D"}}],
                "responses": {"200": ok("Balance", json!({"type": "object", "properties": {
                    "account": account, "asset": {"type": "string"}, "balance": {"type": "string"}, "reserved": {"type": "string", "description": "debited by pending deposits"}, "available": {"type": "string"}}})),
                    "400": err("Bad account or asset")}}},
            "/v1/dev/faucet": {"post": {"summary": "Development faucet (dev network only): credits a public account",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                    "required": ["account", "asset", "amount"], "properties": {"account": account, "asset": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}}}}}},
                "responses": {"200": ok("New balance", json!({"type": "object"})), "400": err("Malformed"), "404": err("Not the dev network"),
                    "415": err("Content type"), "422": err("Bad asset, amount or fields"), "503": err("Storage")}}},
            "/health": {"get": {"summary": "Liveness and storage health",
                "responses": {"200": ok("Healthy", json!({"type": "object"})), "503": ok("Storage failing", json!({"type": "object"}))}}},
            "/metrics": {"get": {"summary": "Prometheus counters",
                "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "This document",
                "responses": {"200": ok("OpenAPI 3.1", json!({"type": "object"}))}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string", "description": "reason code"}, "message": {"type": "string"}}},
            "PaymentSubmission": {"type": "object", "additionalProperties": false, "required": ["public", "ext", "proof"], "properties": {
                "public": {"type": "object", "additionalProperties": false, "properties": {
                    "note_root": fe, "nullifiers": {"type": "array", "minItems": 2, "maxItems": 2, "items": fe},
                    "commitments": {"type": "array", "minItems": 2, "maxItems": 2, "items": fe},
                    "asset": fe, "public_value": {"type": "integer", "description": "|v| < 2^64; > 0 deposit, < 0 withdrawal"},
                    "fee": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615u64}, "ext_data_hash": fe,
                    "invoice_tag": fe}},
                "ext": {"type": "object", "additionalProperties": false, "properties": {
                    "network": {"enum": ["main", "test", "dev"]}, "fee_recipient": account,
                    "public_account": {"oneOf": [account, {"type": "null"}]},
                    "ciphertexts": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string", "maxLength": 2048}}}},
                "proof": {"type": "string", "pattern": "^[0-9a-f]{256}$", "description": "Groth16 proof, 128 bytes compressed"},
                "authorization": {"type": "string", "pattern": "^[0-9a-f]{130}$", "description": "Deposits only: the debited account's EIP-712 signature r || s || v of Debit(account, asset, amount, paymentId)"}}}
        }}
    })
}
