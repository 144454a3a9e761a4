#!/usr/bin/env bash
# Keeps a long-lived cargo target directory from growing without bound.
#
# Cargo never deletes an artefact: every edit of a workspace crate leaves its old library and test
# binaries behind under a new hash, and a cache that outlives many clones (CI's, the developers')
# grew to 65 GB that way and filled the disk, so that a link failed with no space left.
#
# A file goes when both hold: it is not among the newest few (by modification time) of its name
# (crate or test target, extension included, hash stripped), and nothing has read it for some days
# before the last build (access time, against the newest access time in the directory; the disk is
# mounted relatime, so every build that links or reads an artefact keeps its access time within a
# day of that build, and a cache left alone for a month loses nothing it still uses). The second
# rule spares a third-party crate that is built in
# several feature sets at once, whose variants are all old but all read by every build. Incremental
# state goes too: CI does not use it. Deleting an artefact cargo still wants is safe anyway: cargo
# sees the output missing and rebuilds that crate.
#
# usage: scripts/prune-target.sh [TARGET_DIR]   (default: $CARGO_TARGET_DIR, else ./target)
#        ZKPAY_PRUNE_KEEP=N keeps N files per name (default 3);
#        ZKPAY_PRUNE_DAYS=D counts a file unread for D days before the last build as unused
#        (default 2).
set -euo pipefail

dir="${1:-${CARGO_TARGET_DIR:-target}}"
keep="${ZKPAY_PRUNE_KEEP:-3}"
days="${ZKPAY_PRUNE_DAYS:-2}"
for n in "$keep" "$days"; do
    case "$n" in
        '' | *[!0-9]*) echo "prune-target: ZKPAY_PRUNE_KEEP and ZKPAY_PRUNE_DAYS take whole numbers, not '$n'" >&2; exit 2 ;;
    esac
done
[ -d "$dir" ] || exit 0

before=$(du -sk "$dir" | cut -f1)
removed=0
# Every profile directory that holds a deps/ folder: debug, release, and the fuzz builds'
# <target triple>/release.
while IFS= read -r -d '' deps; do
    profile=$(dirname "$deps")
    rm -rf "$profile/incremental"
    # The last build's time: the newest access time of anything in deps/.
    last=$(find "$deps" -maxdepth 1 -type f -printf '%A@\n' | sort -n | tail -n 1)
    last=${last%.*}
    [ -n "$last" ] || continue
    unused_before=$((last - days * 86400))
    # name<TAB>mtime<TAB>atime<TAB>path, one line per file; the name is the file name with the
    # cargo hash (a dash and 16 hex digits) taken out, so that `libfoo-0123456789abcdef.rlib` and
    # its older builds share the name `libfoo.rlib`.
    stale=$(find "$deps" -maxdepth 1 -type f -printf '%f\t%T@\t%A@\t%p\n' |
        sed -E 's/^([^\t]*)-[0-9a-f]{16}([^\t]*)\t/\1\2\t/' |
        sort -t $'\t' -k1,1 -k2,2nr |
        awk -F '\t' -v keep="$keep" -v unused="$unused_before" '
            { if ($1 == last) n++; else { last = $1; n = 1 } if (n > keep && $3 < unused) print $4 }')
    if [ -n "$stale" ]; then
        count=$(printf '%s\n' "$stale" | wc -l)
        removed=$((removed + count))
        printf '%s\n' "$stale" | tr '\n' '\0' | xargs -0 rm -f
    fi
done < <(find "$dir" -maxdepth 4 -type d -name deps -print0)

after=$(du -sk "$dir" | cut -f1)
echo "prune-target: $dir: removed $removed stale artefacts, $((before / 1024)) MB -> $((after / 1024)) MB"
