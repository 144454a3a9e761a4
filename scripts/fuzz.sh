#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (see docs/reliability.md).
#
#   scripts/fuzz.sh [RUNS] [TARGET...]    RUNS executions of each target (default 20000), all
#                                         targets unless named; exit 1 on the first crash
#   FUZZ_MAX_SECONDS=S                    stop each target after S seconds if RUNS are not done
#                                         (the smoke run in `make test` bounds the slow image
#                                         decoders this way; the count reached is printed)
#
# Each run starts from the committed seeds (fuzz/seeds/<target>) in a scratch corpus, so the
# repository does not change. cargo-fuzz passes -Z flags to rustc: RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. No sanitizer: the code under test is safe Rust, and a panic,
# an assertion or an abort is what the targets look for.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-20000}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(field_decoding payment_uri note_decryption payment_json text_fields proof_decoding submission_json
    wallet_file receipt qr_png qr_svg)
fi
command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "fuzz: cargo-fuzz is missing: run scripts/bootstrap.sh (cargo install cargo-fuzz)" >&2
  exit 1
}
export RUSTC_BOOTSTRAP=1
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$root/fuzz"
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  [ -d "seeds/$t" ] && cp -r "seeds/$t/." "$scratch/$t/"
  # inputs up to 4 KiB, except images: a rendered QR code is 5 KiB (PNG) to 30 KiB (SVG)
  max_len=4096
  case "$t" in qr_*) max_len=65536 ;; esac
  start=$(date +%s)
  cargo fuzz run --sanitizer none --target-dir "$target_dir" "$t" "$scratch/$t" -- \
    -runs="$runs" -max_total_time="${FUZZ_MAX_SECONDS:-0}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    2> "$scratch/$t.log" || { tail -n 40 "$scratch/$t.log" >&2; echo "fuzz: $t FAILED" >&2; exit 1; }
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log" | tail -n1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$scratch/$t.log" | tail -n1)
  echo "fuzz: $t ok: ${execs:-?} executions in $(( $(date +%s) - start )) s (${cov:-no coverage line})"
done
