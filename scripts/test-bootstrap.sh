#!/usr/bin/env bash
# Tests the libclang detection of scripts/bootstrap.sh on fake directory trees: only what
# clang-sys accepts (an unversioned libclang.so or libclang-N.so) may count as present.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# reports_missing_libclang TREE [VAR=VALUE...]: 0 if `--check` names libclang-dev as missing.
reports_missing_libclang() {
  local tree="$1"; shift
  local out
  out="$(env -u LIBCLANG_PATH "$@" ZKPAY_BOOTSTRAP_ROOT="$tree" "$here/bootstrap.sh" --check 2>&1)"
  grep -q 'missing Debian packages:.*libclang-dev' <<<"$out"
}
expect() { # expect missing|present NAME TREE [VAR=VALUE...]
  local want="$1" name="$2"; shift 2
  local got=present
  reports_missing_libclang "$@" && got=missing
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: libclang reported $got, expected $want"
  fi
}
mk() { mkdir -p "$(dirname "$1")" && : >"$1"; }

# The runtime package (libclang1-14) only: versioned names that ld cannot link.
t="$work/runtime-only"
mk "$t/usr/lib/llvm-14/lib/libclang.so.1"
mk "$t/usr/lib/llvm-14/lib/libclang-14.so.1"
mk "$t/usr/lib/x86_64-linux-gnu/libclang-14.so.13"
mk "$t/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14"
expect missing "libclang.so.1 and libclang-14.so.1 only" "$t"

# libclang-dev adds libclang-14.so (and a libclang.so link in the llvm directory).
t="$work/dev-versioned"
mk "$t/usr/lib/llvm-14/lib/libclang.so.1"
mk "$t/usr/lib/llvm-14/lib/libclang-14.so.1"
mk "$t/usr/lib/llvm-14/lib/libclang-14.so"
expect present "libclang-14.so" "$t"

t="$work/dev-unversioned"
mk "$t/usr/lib/x86_64-linux-gnu/libclang.so"
expect present "libclang.so in a multiarch directory" "$t"

t="$work/local"
mk "$t/usr/local/llvm17/lib/libclang-17.so"
expect present "libclang-17.so under /usr/local/llvm17" "$t"

# A dangling link does not count.
t="$work/dangling"
mkdir -p "$t/usr/lib/llvm-14/lib"
ln -s /nonexistent/libclang-14.so "$t/usr/lib/llvm-14/lib/libclang-14.so"
expect missing "dangling libclang-14.so link" "$t"

# Look-alikes that are not libclang.
t="$work/lookalikes"
mk "$t/usr/lib/x86_64-linux-gnu/libclang-cpp.so"
mk "$t/usr/lib/llvm-14/lib/libclangBasic.a"
expect missing "libclang-cpp.so and libclangBasic.a" "$t"

# LIBCLANG_PATH pointing at a directory that holds one.
t="$work/empty"
mkdir -p "$t"
mk "$work/custom/libclang.so"
expect present "LIBCLANG_PATH with libclang.so" "$t" LIBCLANG_PATH="$work/custom"
mk "$work/custom-runtime/libclang.so.1"
expect missing "LIBCLANG_PATH with libclang.so.1 only" "$t" LIBCLANG_PATH="$work/custom-runtime"

# Unknown arguments are refused.
if "$here/bootstrap.sh" --bogus >/dev/null 2>&1; then
  failed=$((failed + 1)); echo "FAIL unknown argument accepted"
else
  passed=$((passed + 1)); echo "ok   unknown argument refused"
fi

echo "bootstrap: $passed passed, $failed failed"
[ "$failed" = 0 ]
