# zkpay: `make demo` runs an end-to-end QR payment; `make test` runs every check.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo test bootstrap fmt clippy unit bench report node

bootstrap:
	@scripts/bootstrap.sh

# Release build (proving at full size); workspace-wide so RocksDB is compiled once.
demo: bootstrap
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/zkpay demo

test: bootstrap fmt clippy unit

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

node: bootstrap
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/zkpay-node

bench:
	$(CARGO) bench --workspace --bench primitives --bench payment --bench batch --bench ingest

report: bootstrap
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/zkpay-bench report
