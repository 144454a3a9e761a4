# zkpay: `make demo` runs an end-to-end QR payment; `make test` runs every check.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test bootstrap fmt clippy unit bench report node

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(CARGO) run -q -p zkpay-wallet --bin zkpay -- demo

test: bootstrap fmt clippy unit

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

bench:
	$(CARGO) bench -p zkpay-bench
