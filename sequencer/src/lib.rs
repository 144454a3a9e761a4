//! zkpay sequencer node: HTTP API, mempool, batcher, RocksDB state
