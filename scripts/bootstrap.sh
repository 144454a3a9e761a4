#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian machine.
# As root it installs missing Debian packages with apt-get; otherwise it says what to install.
set -euo pipefail

missing_apt=()
say() { printf 'bootstrap: %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "Rust toolchain not found. Install it with rustup (https://rustup.rs), then rerun."
  exit 1
fi
command -v cc >/dev/null 2>&1 || missing_apt+=(build-essential)
# RocksDB's bindings are generated with bindgen, which needs libclang.
if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libclang'; then
  missing_apt+=(libclang-dev)
fi
command -v clang >/dev/null 2>&1 || missing_apt+=(clang)
# snarkjs (the independent verifier used by the interoperability test) runs on Node.js.
command -v node >/dev/null 2>&1 || missing_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || missing_apt+=(npm)

if ((${#missing_apt[@]})); then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    say "missing system packages: ${missing_apt[*]}"
    say "install them with:  sudo apt-get install ${missing_apt[*]}"
    exit 1
  fi
fi

for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      say "adding rustup component $comp"
      rustup component add "$comp" >/dev/null
    else
      say "cargo $comp is missing; install the $comp component of your Rust toolchain"
      exit 1
    fi
  fi
done

# Pinned snarkjs for the interoperability test (tools/snarkjs/package-lock.json).
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/tools/snarkjs/node_modules/snarkjs/package.json" ]; then
  say "installing the pinned snarkjs into tools/snarkjs (npm ci)"
  if ! (cd "$root/tools/snarkjs" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    say "npm ci failed; install Node.js and npm, then run: (cd tools/snarkjs && npm ci)"
    exit 1
  fi
fi
