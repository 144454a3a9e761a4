# zkpay: `make demo` runs an end-to-end QR payment; `make test` runs every check.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo demo-evm test bootstrap bootstrap-test fmt clippy unit hooks-absent deps-light contracts contracts-check fuzz-smoke fuzz bench report node prune-test

bootstrap:
	@scripts/bootstrap.sh

# `demo`, `clippy` and `unit` share one profile (dev, with dependencies and the proving crates
# optimised: see Cargo.toml), so RocksDB's C++ is compiled once for both README commands.
demo: bootstrap
	$(CARGO) build --workspace --bins
	$(TARGET_DIR)/debug/zkpay-demo

# The same QR payment on the EVM base ledger: a local anvil (pinned in tools/evm), the rollup
# contract deployed with the node's keys; prints the contract's address and the gas of each batch.
demo-evm: bootstrap
	$(CARGO) build --workspace --bins
	$(TARGET_DIR)/debug/zkpay-demo --ledger evm

test: bootstrap fmt clippy deps-light contracts-check unit hooks-absent fuzz-smoke bootstrap-test prune-test

fmt:
	$(CARGO) fmt --all -- --check
	cd fuzz && $(CARGO) fmt -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

node: bootstrap
	$(CARGO) build --workspace --bins
	$(TARGET_DIR)/debug/zkpay-node --network dev

# The binaries `cargo build` makes (the demo's, an operator's) carry no test hooks: the crash
# points exist only in the tests' build (feature test-hooks).
hooks-absent:
	$(CARGO) build --workspace --bins
	@for b in zkpay-node zkpay-evm zkpay zkpay-demo; do \
	  if grep -aq -e ZKPAY_CRASH_AT -e ZKPAY_WALLET_CRASH_AT $(TARGET_DIR)/debug/$$b; then \
	    echo "$$b contains a test hook (ZKPAY_*CRASH_AT)"; exit 1; fi; done
	@echo "hooks-absent: ok"

# The wallet, the verifier and the types they share with the node compile neither RocksDB nor
# the node's or the ledger's crate (the wallet reads an embedded ledger only with its feature
# embedded-ledger, which the demo turns on).
deps-light:
	@for p in zkpay-wallet zkpay-verifier zkpay-api; do \
	  t=$$($(CARGO) tree -p $$p -e normal,build --prefix none) || exit 1; \
	  if grep -qE '^(librocksdb-sys|rocksdb|zkpay-sequencer|zkpay-ledger) ' <<<"$$t"; then \
	    echo "$$p depends on RocksDB, the ledger or the node:"; \
	    grep -E '^(librocksdb-sys|rocksdb|zkpay-sequencer|zkpay-ledger) ' <<<"$$t" | sort -u; exit 1; fi; \
	done
	@echo "deps-light: ok"

# The contracts' committed artifacts (contracts/out) are what the pinned solc (tools/evm) makes of
# contracts/src; `make contracts` rebuilds them.
contracts:
	node tools/evm/compile.mjs

contracts-check:
	node tools/evm/compile.mjs --check

# A short run of every cargo-fuzz target (fuzz/): 20,000 executions each, or 30 s for the slow
# image decoders; `make fuzz` runs each a million times. First the unit tests of the helpers the
# targets share (fuzz/src).
fuzz-smoke:
	cd fuzz && $(CARGO) test --lib
	@FUZZ_MAX_SECONDS=30 scripts/fuzz.sh 20000

fuzz:
	@scripts/fuzz.sh 1000000

# The detection logic of scripts/bootstrap.sh, on fake directory trees.
bootstrap-test:
	@scripts/test-bootstrap.sh

# scripts/prune-target.sh (CI's cache trimming) on fake target directories.
prune-test:
	@scripts/test-prune-target.sh

bench:
	$(CARGO) bench --workspace --bench primitives --bench payment --bench batch --bench ingest

report: bootstrap
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/zkpay-bench report
