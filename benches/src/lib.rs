//! # zkpay-bench
//!
//! Measurements behind the `zkpay-bench` reporter: constraint counts now; proving, verification,
//! batch and node figures as those components land.
#![deny(missing_docs)]

pub mod batching;
pub mod chaos;
pub mod constraints;
pub mod evm;
pub mod ingest;
pub mod memory;
pub mod plot;
pub mod proving;
pub mod report;
pub mod setup;
pub mod snarkjs_cmp;
pub mod startup;
