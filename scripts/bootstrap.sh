#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian machine, checking for the real
# thing the build uses (not a look-alike).
#
#   scripts/bootstrap.sh           check, then install what is missing (apt-get as root, npm ci)
#   scripts/bootstrap.sh --check   only report: exit 0 when everything is there, 1 otherwise,
#                                  with the missing packages named
#
# ZKPAY_BOOTSTRAP_ROOT (tests only) prefixes every directory searched for libclang, so that the
# detection can be exercised on a fake tree; it also disables the llvm-config look-up.
set -euo pipefail

mode=install
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) printf 'bootstrap: unknown argument %s (use --check or nothing)\n' "$1" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
fake_root="${ZKPAY_BOOTSTRAP_ROOT:-}"
missing_apt=()   # Debian packages to install
problems=()      # things bootstrap cannot install itself
say() { printf 'bootstrap: %s\n' "$*" >&2; }
need_apt() { local p; for p in "$@"; do [[ " ${missing_apt[*]-} " == *" $p "* ]] || missing_apt+=("$p"); done; }

# --- libclang, as clang-sys (RocksDB's bindgen) looks for it -------------------------------------
# clang-sys links libclang through `ld`, so it accepts only an unversioned `libclang.so` or a
# `libclang-<version>.so` (what libclang-dev installs); `libclang.so.1` or `libclang-14.so.13`
# (from the runtime package libclang1-N) do not count. It looks in $LIBCLANG_PATH, in
# `llvm-config --libdir`, in $LD_LIBRARY_PATH and in these directories.
libclang_in_dir() {
  local d="$1" f
  [ -d "$d" ] || return 1
  for f in "$d"/libclang.so "$d"/libclang-*.so; do
    # A match must be a real file (or a link to one), not a dangling link or a stray pattern.
    [ -e "$f" ] && [[ "$f" =~ /libclang(-[0-9][0-9.]*)?\.so$ ]] && return 0
  done
  return 1
}
libclang_found() {
  local d dirs=()
  if [ -n "${LIBCLANG_PATH:-}" ]; then dirs+=("$LIBCLANG_PATH"); fi
  if [ -z "$fake_root" ] && command -v llvm-config >/dev/null 2>&1; then
    dirs+=("$(llvm-config --libdir 2>/dev/null || true)")
  fi
  if [ -z "$fake_root" ] && [ -n "${LD_LIBRARY_PATH:-}" ]; then
    IFS=: read -r -a ld <<<"$LD_LIBRARY_PATH"; dirs+=("${ld[@]}")
  fi
  shopt -s nullglob
  # clang-sys's directory list for Linux.
  for d in "$fake_root"/usr/local/llvm*/lib* "$fake_root"/usr/local/lib*/*/* \
           "$fake_root"/usr/local/lib*/* "$fake_root"/usr/local/lib* \
           "$fake_root"/usr/lib*/*/* "$fake_root"/usr/lib*/* "$fake_root"/usr/lib*; do
    dirs+=("$d")
  done
  shopt -u nullglob
  for d in "${dirs[@]}"; do
    [ -n "$d" ] && libclang_in_dir "$d" && { printf '%s\n' "$d"; return 0; }
  done
  return 1
}

# npm_missing DIR PKG: true when DIR/node_modules lacks PKG at the version DIR/package-lock.json
# pins.
npm_missing() {
  local lock_v inst_v
  lock_v="$(node -p 'require(process.argv[1]).packages["node_modules/" + process.argv[2]].version' \
    "$1/package-lock.json" "$2" 2>/dev/null || true)"
  inst_v="$(node -p 'require(process.argv[1]).version' "$1/node_modules/$2/package.json" 2>/dev/null || true)"
  [ -z "$inst_v" ] || [ "$inst_v" != "$lock_v" ]
}

# The anvil binary of this platform in tools/evm (what the tests run; $ANVIL overrides).
anvil_bin() {
  local arch os
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  printf '%s\n' "${ANVIL:-$root/tools/evm/node_modules/@foundry-rs/anvil-$os-$arch/bin/anvil}"
}

check_all() {
  missing_apt=(); problems=()
  if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
    problems+=("Rust toolchain (install it with rustup: https://rustup.rs)")
  else
    # Cargo.toml's rust-version.
    local want have
    want="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$root/Cargo.toml" | head -n1)"
    have="$(rustc --version | awk '{print $2}')"
    if [ -n "$want" ] && [ "$(printf '%s\n%s\n' "$want" "${have%%-*}" | sort -V | head -n1)" != "$want" ]; then
      problems+=("Rust $want or newer (found $have; run: rustup update stable)")
    fi
    cargo fmt --version >/dev/null 2>&1 || problems+=("rustfmt (run: rustup component add rustfmt)")
    cargo clippy --version >/dev/null 2>&1 || problems+=("clippy (run: rustup component add clippy)")
  fi
  # RocksDB and lz4 are compiled from C and C++ sources by the `cc` crate, which calls cc and c++.
  command -v cc >/dev/null 2>&1 || need_apt build-essential
  command -v c++ >/dev/null 2>&1 || need_apt build-essential
  command -v ar >/dev/null 2>&1 || need_apt build-essential
  libclang_found >/dev/null || need_apt libclang-dev
  # snarkjs (the independent verifier of the interoperability tests) runs on Node.js >= 18.
  if ! command -v node >/dev/null 2>&1; then
    need_apt nodejs
  elif [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
    problems+=("Node.js 18 or newer (found $(node --version 2>/dev/null || echo '?'))")
  fi
  command -v npm >/dev/null 2>&1 || need_apt npm
  # The till's browser tests drive Debian's Chromium, headless, over the DevTools protocol
  # (the path the tests use: $CHROMIUM, else /usr/bin/chromium). A look-alike wrapper that does
  # not print a Chromium version does not count.
  if ! "$chromium" --version 2>/dev/null | grep -q '^Chromium [0-9]'; then
    if [ -n "${CHROMIUM:-}" ]; then
      problems+=("a working Chromium at CHROMIUM=$CHROMIUM")
    else
      need_apt chromium
    fi
  fi
  # The pinned snarkjs, at the version the lock file names.
  if npm_missing "$root/tools/snarkjs" snarkjs; then snarkjs_missing=1; else snarkjs_missing=0; fi
  # The pinned EVM tools: solc (compiles contracts/) and anvil (the local chain of the EVM
  # ledger's tests), whose platform binary must run.
  if npm_missing "$root/tools/evm" solc || npm_missing "$root/tools/evm" @foundry-rs/anvil ||
    ! "$(anvil_bin)" --version 2>/dev/null | grep -q '^anvil Version: '; then
    evm_missing=1
  else
    evm_missing=0
  fi
  # Operations checks: promtool lints /metrics and tests the alert rules; systemd-analyze checks
  # the unit file.
  command -v promtool >/dev/null 2>&1 || need_apt prometheus
  command -v systemd-analyze >/dev/null 2>&1 || need_apt systemd
  # The API contract checks run the pinned Python tools from a virtual environment.
  if ! command -v python3 >/dev/null 2>&1; then
    need_apt python3 python3-venv
  elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    problems+=("Python 3.10 or newer (found $(python3 --version 2>&1))")
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_apt python3-venv
  fi
  # cargo-fuzz, pinned (make test runs a short fuzz of every target)
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$cargo_fuzz_version" ]; then
    fuzz_missing=1
  else
    fuzz_missing=0
  fi
  local want_py have_py
  want_py="$(sha256sum "$root/tools/python/requirements.txt" | cut -d' ' -f1)"
  have_py="$(cat "$pyenv/.requirements.sha256" 2>/dev/null || true)"
  if [ "$want_py" != "$have_py" ] || [ ! -x "$pyenv/bin/schemathesis" ] || [ ! -x "$pyenv/bin/openapi-spec-validator" ]; then
    pytools_missing=1
  else
    pytools_missing=0
  fi
}

chromium="${CHROMIUM:-/usr/bin/chromium}"
snarkjs_missing=0
evm_missing=0
pytools_missing=0
fuzz_missing=0
cargo_fuzz_version=0.13.2
pyenv="$root/tools/python/.venv"
check_all

if [ "$mode" = check ]; then
  status=0
  if ((${#missing_apt[@]})); then
    say "missing Debian packages: ${missing_apt[*]}"
    say "install them with:  sudo apt-get install ${missing_apt[*]}   (or run scripts/bootstrap.sh as root)"
    status=1
  fi
  for p in "${problems[@]+"${problems[@]}"}"; do say "missing: $p"; status=1; done
  if [ "$snarkjs_missing" = 1 ]; then
    say "missing: the pinned snarkjs in tools/snarkjs (run: cd tools/snarkjs && npm ci)"
    status=1
  fi
  if [ "$evm_missing" = 1 ]; then
    say "missing: the pinned solc and anvil in tools/evm (run: cd tools/evm && npm ci)"
    status=1
  fi
  if [ "$pytools_missing" = 1 ]; then
    say "missing: the pinned Python tools in tools/python/.venv (run: scripts/bootstrap.sh)"
    status=1
  fi
  if [ "$fuzz_missing" = 1 ]; then
    say "missing: cargo-fuzz $cargo_fuzz_version (run: cargo install cargo-fuzz --version $cargo_fuzz_version --locked)"
    status=1
  fi
  if [ "$status" = 0 ]; then
    say "ok: Rust $(rustc --version | awk '{print $2}'), $(cargo fuzz --version), c++, libclang in $(libclang_found), node $(node --version), snarkjs $(node -p 'require(process.argv[1]).version' "$root/tools/snarkjs/node_modules/snarkjs/package.json"), solc $(node -p 'require(process.argv[1]).version' "$root/tools/evm/node_modules/solc/package.json"), $("$(anvil_bin)" --version 2>/dev/null | head -n1 | awk '{print $1, $3}'), $(promtool --version 2>&1 | head -n1 | awk '{print $1, $3}'), $("$chromium" --version 2>/dev/null | awk '{print $1, $2}'), $("$pyenv/bin/schemathesis" --version 2>&1 | head -n1)"
  fi
  exit "$status"
fi

# rustup components can be added without root.
if command -v rustup >/dev/null 2>&1 && command -v cargo >/dev/null 2>&1; then
  for comp in rustfmt clippy; do
    if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
      say "adding rustup component $comp"
      rustup component add "$comp" >/dev/null
    fi
  done
  check_all
fi
for p in "${problems[@]+"${problems[@]}"}"; do say "missing: $p"; done
if ((${#problems[@]})); then exit 1; fi

if ((${#missing_apt[@]})); then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    say "missing Debian packages: ${missing_apt[*]}"
    say "install them with:  sudo apt-get install ${missing_apt[*]}"
    exit 1
  fi
fi

if [ "$snarkjs_missing" = 1 ]; then
  say "installing the pinned snarkjs into tools/snarkjs (npm ci)"
  if ! (cd "$root/tools/snarkjs" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    say "npm ci failed; check that the npm registry is reachable, then run: (cd tools/snarkjs && npm ci)"
    exit 1
  fi
fi

if [ "$evm_missing" = 1 ]; then
  say "installing the pinned solc and anvil into tools/evm (npm ci)"
  if ! (cd "$root/tools/evm" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    say "npm ci failed; check that the npm registry is reachable, then run: (cd tools/evm && npm ci)"
    exit 1
  fi
fi

if [ "$fuzz_missing" = 1 ]; then
  say "installing cargo-fuzz $cargo_fuzz_version (cargo install)"
  if ! cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet; then
    say "cargo install failed; check that crates.io is reachable, then run scripts/bootstrap.sh again"
    exit 1
  fi
fi

if [ "$pytools_missing" = 1 ]; then
  say "installing the pinned Python tools into tools/python/.venv (pip)"
  if ! { python3 -m venv "$pyenv" &&
    "$pyenv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tools/python/requirements.txt" &&
    sha256sum "$root/tools/python/requirements.txt" | cut -d' ' -f1 > "$pyenv/.requirements.sha256"; }; then
    say "pip failed; check that the Python package index is reachable, then run scripts/bootstrap.sh again"
    exit 1
  fi
fi

# What was installed must now satisfy the same checks.
check_all
if ((${#missing_apt[@]})) || [ "$snarkjs_missing" = 1 ] || [ "$evm_missing" = 1 ] || [ "$pytools_missing" = 1 ] || [ "$fuzz_missing" = 1 ]; then
  say "still missing after installing: ${missing_apt[*]-} $([ "$snarkjs_missing" = 1 ] && echo snarkjs) $([ "$evm_missing" = 1 ] && echo evm-tools) $([ "$pytools_missing" = 1 ] && echo python-tools) $([ "$fuzz_missing" = 1 ] && echo cargo-fuzz)"
  exit 1
fi
