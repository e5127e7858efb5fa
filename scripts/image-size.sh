#!/bin/sh
# The size of the runtime image, measured without a container engine: does
# what the Dockerfile's build stage does (cmake --install, split-debug.sh,
# image-rootfs.sh) with a build directory, then sums the files the runtime
# stage copies in (it is FROM scratch: the base adds nothing), by Debian
# package. Fails when the total is above the target.
#
# Usage: scripts/image-size.sh [--target-mb N] [--workdir DIR] BUILD_DIR
#   --target-mb N   the limit, in MB of 10^6 bytes as `docker images` shows
#                   them (default 60)
#   --workdir DIR   assemble there and keep it (default: a temporary
#                   directory, removed at exit); DIR/rootfs is the image's
#                   root, DIR/debug its debug files, DIR/manifest the list
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target_mb=60
work=
while [ $# -gt 1 ]; do
    case "$1" in
        --target-mb) target_mb=$2; shift 2 ;;
        --workdir) work=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--target-mb N] [--workdir DIR] BUILD_DIR" >&2; exit 2; }
build=$1
case "$target_mb" in *[!0-9]*|'') echo "$0: --target-mb: want a number" >&2; exit 2 ;; esac
if [ -z "$work" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/opt" "$work/debug" "$work/rootfs"
mkdir -p "$work"

# The Dockerfile's build stage, step by step.
cmake --install "$build" --prefix "$work/opt/portcullis" >/dev/null
sh "$here/split-debug.sh" "$work/opt/portcullis" "$work/debug/usr/lib/debug/opt/portcullis" >/dev/null
sh "$here/image-rootfs.sh" "$work/opt/portcullis" "$work/rootfs" "$here/../configs/server.yaml" \
    >"$work/manifest"

mb() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1e6}'; }

echo "runtime image (FROM scratch), by what provides each file:"
printf '  %-24s %6s %12s\n' "package" "files" "bytes"
awk -F'\t' '{n[$3]++; s[$3] += $2} END {for (p in n) printf "%s\t%d\t%d\n", p, n[p], s[p]}' \
    "$work/manifest" | sort -t"$(printf '\t')" -k3,3nr |
    while IFS="$(printf '\t')" read -r pkg n bytes; do
        printf '  %-24s %6d %12d\n' "$pkg" "$n" "$bytes"
    done
files=$(awk -F'\t' '{s += $2} END {printf "%d", s}' "$work/manifest")
# Directories and symlinks too, as a layer's tar holds them.
disk=$(du -sb "$work/rootfs" | cut -f1)
ours=$(awk -F'\t' '$3 == "portcullis" {s += $2} END {printf "%d", s}' "$work/manifest")
debug=$(du -sb "$work/debug" | cut -f1)
printf '  %-24s %6s %12d\n' "total (files)" "" "$files"
echo "portcullis' own files (stripped): $ours bytes ($(mb "$ours") MB)"
echo "debug files (the debug stage, not in the image): $debug bytes ($(mb "$debug") MB)"

# For comparison, what a debian:12-slim base would weigh: its documented
# uncompressed size plus the installed size of each package above that the
# slim image does not hold already (those of priority "required" it does).
slim_kb=0
for pkg in $(awk -F'\t' '$3 != "portcullis" && $3 != "generated" {print $3}' "$work/manifest" | sort -u); do
    pri=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || echo unknown)
    [ "$pri" = required ] && continue
    kb=$(dpkg-query -W -f='${Installed-Size}' "$pkg" 2>/dev/null || echo 0)
    slim_kb=$((slim_kb + kb))
done
slim_base=74800000   # debian:12-slim, linux/amd64, as `docker images` shows it
slim=$((slim_base + slim_kb * 1024 + ours))
echo "for comparison, debian:12-slim ($(mb $slim_base) MB) + those packages" \
     "($(mb $((slim_kb * 1024))) MB installed) + ours: $(mb $slim) MB"

limit=$((target_mb * 1000000))
echo "image size: $disk bytes ($(mb "$disk") MB); target < $target_mb MB"
if [ "$disk" -ge "$limit" ]; then
    echo "FAIL: the runtime image is $(mb "$disk") MB, over the $target_mb MB target" >&2
    exit 1
fi
