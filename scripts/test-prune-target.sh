#!/usr/bin/env bash
# Tests scripts/prune-target.sh on a fake cargo target directory: old builds of a workspace crate
# that nothing reads go; the newest builds, old variants that builds still read, and every
# third-party artefact stay.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

t="$work/target"
deps="$t/debug/deps"
fuzz="$t/fuzz/x86_64-unknown-linux-gnu/release/deps"
mkdir -p "$deps" "$fuzz" "$t/debug/incremental/zkpay_node-abc" "$t/debug/build/keep-me"
# file PATH DAYS_SINCE_BUILT DAYS_SINCE_READ
file() {
  : >"$1"
  touch -m -d "@$(($(date +%s) - $2 * 86400))" "$1"
  touch -a -d "@$(($(date +%s) - $3 * 86400))" "$1"
}
# Five builds of a workspace library, nothing reading the three oldest for a week.
file "$deps/libzkpay_node-0000000000000001.rlib" 10 9
file "$deps/libzkpay_node-0000000000000002.rlib" 9 8
file "$deps/libzkpay_node-0000000000000003.rlib" 8 7
file "$deps/libzkpay_node-0000000000000004.rlib" 2 2
file "$deps/libzkpay_node-0000000000000005.rlib" 0 0
# Its dep-info files share the hash but not the name: counted on their own.
file "$deps/zkpay_node-0000000000000001.d" 10 10
file "$deps/zkpay_node-0000000000000005.d" 0 0
# A test binary (no extension), four builds.
file "$deps/api-00000000000000aa" 20 20
file "$deps/api-00000000000000bb" 5 5
file "$deps/api-00000000000000cc" 4 4
file "$deps/api-00000000000000dd" 1 1
# A workspace crate in five feature sets, all built long ago and all read by today's build.
for h in 1 2 3 4 5; do file "$deps/libzkpay_ledger-10000000000000$h$h.rlib" 30 0; done
# A third-party build dependency in five versions, none read for a month (only a rebuild of the
# build script that uses it reads it).
for h in 1 2 3 4 5; do file "$deps/libcc-40000000000000$h$h.rlib" 40 40; done
# The fuzz build's deps: four builds of one target, the oldest unread.
file "$fuzz/qr_svg-0000000000000001" 6 6
file "$fuzz/qr_svg-0000000000000002" 3 0
file "$fuzz/qr_svg-0000000000000003" 2 2
file "$fuzz/qr_svg-0000000000000004" 1 1

names="zkpay_node zkpay_ledger zkpay_wallet api qr_svg"
export ZKPAY_PRUNE_NAMES="$names"
# a file past the keep count that the last build read a day before it: stays
file "$deps/api-00000000000000ee" 30 1
dry="$(ZKPAY_PRUNE_DRY_RUN=1 CARGO_TARGET_DIR="$t" "$here/prune-target.sh" 2>&1)"
dry_kept=no
[ -e "$deps/libzkpay_node-0000000000000001.rlib" ] && [ -e "$deps/api-00000000000000aa" ] && dry_kept=yes
out="$(CARGO_TARGET_DIR="$t" "$here/prune-target.sh" 2>&1)"
rc=$?

check() { # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"
  else failed=$((failed + 1)); echo "FAIL $name"; fi
}
gone() { [ ! -e "$1" ]; }
kept() { [ -e "$1" ]; }
check "a dry run lists what would go" grep -q 'would remove 4 stale artefacts' <<<"$dry"
check "a dry run lists the files" grep -q 'api-00000000000000aa' <<<"$dry"
check "a dry run deletes nothing" [ "$dry_kept" = yes ]
check "exits 0 and reports" [ "$rc" = 0 ]
check "reports the count" grep -q 'removed 4 stale artefacts' <<<"$out"
check "oldest unread library build goes" gone "$deps/libzkpay_node-0000000000000001.rlib"
check "second oldest unread library build goes" gone "$deps/libzkpay_node-0000000000000002.rlib"
check "third newest library build stays" kept "$deps/libzkpay_node-0000000000000003.rlib"
check "newest library builds stay" kept "$deps/libzkpay_node-0000000000000004.rlib"
check "newest library build stays" kept "$deps/libzkpay_node-0000000000000005.rlib"
check "dep-info under the keep count stays" kept "$deps/zkpay_node-0000000000000001.d"
check "oldest test binary goes" gone "$deps/api-00000000000000aa"
check "newer test binaries stay" kept "$deps/api-00000000000000bb"
check "newest test binary stays" kept "$deps/api-00000000000000dd"
check "an old build read a day before the last build stays" kept "$deps/api-00000000000000ee"
for h in 1 2 3 4 5; do
  check "feature variant $h, read today, stays" kept "$deps/libzkpay_ledger-10000000000000$h$h.rlib"
  check "third-party build dependency $h, unread, stays" kept "$deps/libcc-40000000000000$h$h.rlib"
done
check "fuzz deps: oldest unread build goes" gone "$fuzz/qr_svg-0000000000000001"
check "fuzz deps: newer builds stay" kept "$fuzz/qr_svg-0000000000000002"
check "incremental state goes" gone "$t/debug/incremental"
check "build scripts' output stays" kept "$t/debug/build/keep-me"

# A cache left alone for a month: its last build read every variant of a third-party crate a
# month ago, and the prune today keeps them all; only what that build did not read goes.
t2="$work/idle"
d2="$t2/debug/deps"
mkdir -p "$d2"
for h in 1 2 3 4 5; do file "$d2/libzkpay_node-20000000000000$h$h.rlib" 60 30; done
for h in 1 2 3 4 5; do file "$d2/libzkpay_wallet-30000000000000$h$h.rlib" $((40 - h)) $((40 - h)); done
file "$d2/libzkpay_wallet-3000000000000066.rlib" 30 30
"$here/prune-target.sh" "$t2" >/dev/null 2>&1
for h in 1 2 3 4 5; do
  check "idle cache: variant $h read by the last build stays" kept "$d2/libzkpay_node-20000000000000$h$h.rlib"
done
check "idle cache: the newest wallet build stays" kept "$d2/libzkpay_wallet-3000000000000066.rlib"
check "idle cache: wallet builds the last build did not read go" \
  gone "$d2/libzkpay_wallet-3000000000000011.rlib"
check "idle cache: ... all three of them" \
  bash -c '[ ! -e "$1/libzkpay_wallet-3000000000000022.rlib" ] && [ ! -e "$1/libzkpay_wallet-3000000000000033.rlib" ]' _ "$d2"

# The workspace's names from `cargo metadata` (no ZKPAY_PRUNE_NAMES): the real manifests.
t3="$work/metadata"
mkdir -p "$t3/debug/deps"
for h in 1 2 3 4 5; do file "$t3/debug/deps/libzkpay_protocol-50000000000000$h$h.rlib" $((10 - h)) $((10 - h)); done
for h in 1 2 3 4 5; do file "$t3/debug/deps/qr_png-60000000000000$h$h" $((10 - h)) $((10 - h)); done
file "$t3/debug/deps/libserde-7000000000000011.rlib" 20 20
for h in 2 3 4 5; do file "$t3/debug/deps/libserde-70000000000000$h$h.rlib" 1 1; done
out3="$(env -u ZKPAY_PRUNE_NAMES "$here/prune-target.sh" "$t3" 2>&1)"
check "metadata: a workspace crate's old builds go" gone "$t3/debug/deps/libzkpay_protocol-5000000000000011.rlib"
check "metadata: a fuzz target's old builds go" gone "$t3/debug/deps/qr_png-6000000000000011"
check "metadata: a third-party crate stays" kept "$t3/debug/deps/libserde-7000000000000011.rlib"
check "metadata: reports 4" grep -q 'removed 4 stale' <<<"$out3"

# A symlinked target directory is pruned where it points; an empty deps/ is not an error.
t4="$work/real"
mkdir -p "$t4/debug/deps" "$t4/release/deps"
for h in 1 2 3 4; do file "$t4/debug/deps/libzkpay_node-80000000000000$h$h.rlib" $((10 - h)) $((10 - h)); done
ln -s "$t4" "$work/link"
out4="$("$here/prune-target.sh" "$work/link" 2>&1)"
check "symlinked target: pruned where it points" gone "$t4/debug/deps/libzkpay_node-8000000000000011.rlib"
check "symlinked target and an empty deps/: exits 0" grep -q 'removed 1 stale' <<<"$out4"

# When the workspace's names cannot be listed (cargo metadata fails), nothing is pruned and the
# caller (CI) goes on.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexit 101\n' >"$work/bin/cargo"
chmod +x "$work/bin/cargo"
file "$t4/debug/deps/libzkpay_node-8000000000000099.rlib" 30 30
for h in 5 6 7; do file "$t4/debug/deps/libzkpay_node-80000000000000$h$h.rlib" 0 0; done
PATH="$work/bin:$PATH" env -u ZKPAY_PRUNE_NAMES "$here/prune-target.sh" "$t4" >/dev/null 2>&1
check "failing cargo metadata: exits 0" [ "$?" = 0 ]
check "failing cargo metadata: nothing pruned" kept "$t4/debug/deps/libzkpay_node-8000000000000099.rlib"

# Bad settings are refused, and a missing directory is not an error.
ZKPAY_PRUNE_KEEP=x "$here/prune-target.sh" "$t" >/dev/null 2>&1
check "a non-numeric keep count is refused" [ "$?" = 2 ]
ZKPAY_PRUNE_DAYS=-1 "$here/prune-target.sh" "$t" >/dev/null 2>&1
check "a negative day count is refused" [ "$?" = 2 ]
"$here/prune-target.sh" "$work/absent" >/dev/null 2>&1
check "a missing target directory is not an error" [ "$?" = 0 ]

echo "prune-target-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
