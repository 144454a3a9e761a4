# zkpay: `make demo` runs an end-to-end QR payment; `make test` runs every check.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo test bootstrap bootstrap-test fmt clippy unit bench report node

bootstrap:
	@scripts/bootstrap.sh

# `demo`, `clippy` and `unit` share one profile (dev, with dependencies and the proving crates
# optimised: see Cargo.toml), so RocksDB's C++ is compiled once for both README commands.
demo: bootstrap
	$(CARGO) build --workspace --bins
	$(TARGET_DIR)/debug/zkpay demo

test: bootstrap fmt clippy unit bootstrap-test

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

node: bootstrap
	$(CARGO) build --workspace --bins
	$(TARGET_DIR)/debug/zkpay-node --network dev

# The detection logic of scripts/bootstrap.sh, on fake directory trees.
bootstrap-test:
	@scripts/test-bootstrap.sh

bench:
	$(CARGO) bench --workspace --bench primitives --bench payment --bench batch --bench ingest

report: bootstrap
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/zkpay-bench report
