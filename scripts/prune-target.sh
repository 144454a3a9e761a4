#!/usr/bin/env bash
# Keeps a long-lived cargo target directory from growing without bound.
#
# Cargo never deletes an artefact: every edit of a workspace crate leaves its old library and test
# binaries behind under a new hash, and a cache that outlives many clones (CI's, the developers')
# grew to 65 GB that way and filled the disk, so that a link failed with no space left.
#
# Only the workspace's own artefacts are pruned (its crates, binaries, tests and benches, and the
# fuzz crate's targets; names from `cargo metadata`): they are what every commit rebuilds. A
# third-party crate is left alone whatever its age: a build dependency of RocksDB's bindings is
# read only when RocksDB's build script is rebuilt, so it looks unused, and deleting it would cost
# the 15-minute C++ build again.
#
# A workspace artefact goes when both hold: it is not among the newest few (by modification time)
# of its name (target name and extension, hash stripped), and nothing has read it for some days
# before the last build (access time, against the newest access time in the directory; the disk is
# mounted relatime, so every build that reads an artefact keeps its access time within a day of
# that build, and a cache left alone for a month loses nothing it still uses). The second rule
# spares a crate built in several feature sets at once. Incremental state goes too: CI does not
# use it. Deleting an artefact cargo still wants costs a rebuild of that crate, never a failure.
#
# usage: scripts/prune-target.sh [TARGET_DIR]   (default: $CARGO_TARGET_DIR, else ./target)
#        ZKPAY_PRUNE_KEEP=N keeps N files per name (default 3);
#        ZKPAY_PRUNE_DAYS=D counts a file unread for D days before the last build as unused
#        (default 2);
#        ZKPAY_PRUNE_NAMES="a b" names the workspace's targets instead of `cargo metadata`;
#        ZKPAY_PRUNE_DRY_RUN=1 lists what would go and deletes nothing.
set -uo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-${CARGO_TARGET_DIR:-target}}"
keep="${ZKPAY_PRUNE_KEEP:-3}"
days="${ZKPAY_PRUNE_DAYS:-2}"
dry="${ZKPAY_PRUNE_DRY_RUN:-0}"
for n in "$keep" "$days"; do
    case "$n" in
        '' | *[!0-9]*) echo "prune-target: ZKPAY_PRUNE_KEEP and ZKPAY_PRUNE_DAYS take whole numbers, not '$n'" >&2; exit 2 ;;
    esac
done
[ -d "$dir" ] || exit 0
# a symlinked target directory is pruned where it points
dir="$(cd "$dir" && pwd -P)" || exit 0

# The workspace's target names as they appear in deps/ (dashes as underscores).
if [ -n "${ZKPAY_PRUNE_NAMES:-}" ]; then
    names="$ZKPAY_PRUNE_NAMES"
else
    names=""
    for manifest in "$here/../Cargo.toml" "$here/../fuzz/Cargo.toml"; do
        [ -f "$manifest" ] || continue
        if ! more=$(cargo metadata --no-deps --offline --format-version 1 --manifest-path "$manifest" |
            python3 -c 'import json, sys
print(" ".join(t["name"].replace("-", "_") for p in json.load(sys.stdin)["packages"] for t in p["targets"]))'); then
            echo "prune-target: cannot list the targets of $manifest; nothing pruned" >&2
            exit 0
        fi
        names+=" $more"
    done
fi
if [ -z "${names// /}" ]; then
    echo "prune-target: no workspace target names; nothing pruned" >&2
    exit 0
fi

# Pruning only saves disk: nothing below stops the caller (a file another cargo deletes
# mid-walk, one that cannot be read): what fails is skipped, and the script exits 0.
size_mb() { du -sk "$1" 2>/dev/null | awk '{ print int($1 / 1024) }'; }
before=$(size_mb "$dir")
removed=0
# Every profile directory that holds a deps/ folder: debug, release, and the fuzz builds'
# <target triple>/release.
while IFS= read -r -d '' deps; do
    profile=$(dirname "$deps")
    [ "$dry" = 1 ] || rm -rf "$profile/incremental"
    # The last build's time: the newest access time of anything in deps/.
    last=$(find "$deps" -maxdepth 1 -type f -printf '%A@\n' 2>/dev/null | sort -n | tail -n 1)
    last=${last%.*}
    [ -n "$last" ] || continue
    unused_before=$((last - days * 86400))
    # name<TAB>mtime<TAB>atime<TAB>path, one line per file; the name is the file name with the
    # cargo hash (a dash and 16 hex digits) taken out, so that `libfoo-0123456789abcdef.rlib` and
    # its older builds share the name `libfoo.rlib`; its target is that name without the
    # extension and, for a library, without `lib` (`foo`), which must be one of the workspace's.
    stale=$(find "$deps" -maxdepth 1 -type f -printf '%f\t%T@\t%A@\t%p\n' 2>/dev/null |
        sed -E 's/^([^\t]*)-[0-9a-f]{16}([^\t]*)\t/\1\2\t/' |
        sort -t $'\t' -k1,1 -k2,2nr |
        awk -F '\t' -v keep="$keep" -v unused="$unused_before" -v names="$names" '
            BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) ours[list[i]] = 1 }
            {
                target = $1
                if (target ~ /\.(rlib|rmeta|so|a)$/) sub(/^lib/, "", target)
                sub(/\..*$/, "", target)
                if (!(target in ours)) next
                if ($1 == last) k++; else { last = $1; k = 1 }
                if (k > keep && $3 < unused) print $4
            }')
    if [ -n "$stale" ]; then
        count=$(printf '%s\n' "$stale" | wc -l)
        removed=$((removed + count))
        if [ "$dry" = 1 ]; then
            printf '%s\n' "$stale"
        else
            printf '%s\n' "$stale" | tr '\n' '\0' | xargs -0 rm -f 2>/dev/null
        fi
    fi
done < <(find "$dir" -maxdepth 4 -type d -name deps -print0)

after=$(size_mb "$dir")
verb=removed
[ "$dry" = 1 ] && verb="would remove"
echo "prune-target: $dir: $verb $removed stale artefacts, ${before:-?} MB -> ${after:-?} MB"
exit 0
