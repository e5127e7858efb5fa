#!/bin/sh
# Moves the debug information of every ELF file under PREFIX/bin and
# PREFIX/lib into separate files, strips the originals and links each to
# its debug file (.gnu_debuglink, with the debug file's CRC).
#
# Usage: scripts/split-debug.sh PREFIX DEBUGDIR
#
# PREFIX/x/y becomes DEBUGDIR/x/y.debug. With PREFIX=/opt/portcullis and
# DEBUGDIR=/usr/lib/debug/opt/portcullis (as the Dockerfile's debug stage
# lays it out), gdb finds the symbols of /opt/portcullis/bin/portcullis in
# /usr/lib/debug/opt/portcullis/bin/portcullis.debug by itself; files with
# a build ID are also linked from DEBUGDIR/.build-id/xx/yyyy.debug (point
# gdb's debug-file-directory or debuginfod at that tree).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 PREFIX DEBUGDIR" >&2; exit 2; }
prefix=${1%/}
debugdir=${2%/}
OBJCOPY=${OBJCOPY:-objcopy}
READELF=${READELF:-readelf}

is_elf() {
    [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

n=0
for f in $(find "$prefix/bin" "$prefix/lib" -type f 2>/dev/null | sort); do
    is_elf "$f" || continue
    rel=${f#"$prefix"/}
    dbg="$debugdir/$rel.debug"
    mkdir -p "$(dirname "$dbg")"
    "$OBJCOPY" --only-keep-debug "$f" "$dbg"
    chmod 0644 "$dbg"
    # Only the dynamic symbols a plugin or the loader needs stay.
    "$OBJCOPY" --strip-all --remove-section=.gnu_debuglink "$f"
    # objcopy records the debug file's base name and CRC-32.
    "$OBJCOPY" --add-gnu-debuglink="$dbg" "$f"
    id=$("$READELF" -n "$f" 2>/dev/null | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p' | head -n1)
    if [ -n "$id" ]; then
        d="$debugdir/.build-id/$(echo "$id" | cut -c1-2)"
        mkdir -p "$d"
        # Relative, so the tree can be copied anywhere whole.
        up=$(echo ".build-id/xx/" | sed 's|[^/]*/|../|g')
        ln -sf "$up$rel.debug" "$d/$(echo "$id" | cut -c3-).debug"
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "$0: no ELF files under $prefix/bin or $prefix/lib" >&2; exit 1; }
echo "split-debug: $n files stripped, debug information in $debugdir"
