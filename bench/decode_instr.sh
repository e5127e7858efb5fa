#!/bin/bash
# Instructions to decode bench/request_path.py's CheckRequest into the view
# (codec_decode_check vs the protobuf-c decoder), counted with valgrind's
# callgrind: two runs of N = 5,000 and 15,000 decodes; the difference
# divided by the 11,000 extra decodes leaves set-up out. Median of REPS.
# Reports figures; never passes or fails.
#
# usage: bench/decode_instr.sh BUILD_DIR
# env:   REPS (3)
set -u
command -v valgrind >/dev/null || { echo "missing tool: valgrind" >&2; exit 2; }
[ $# -eq 1 ] || { sed -n 2,9p "$0" >&2; exit 2; }
REPS=${REPS:-3}
build=$1
here=$(cd "$(dirname "$0")" && pwd)
frame=$(mktemp /tmp/pc-decode-XXXXXX.bin)
trap 'rm -f "$frame"' EXIT
PC_BUILD_DIR=$build PYTHONPATH=$here /usr/bin/python3 -c "
import sys, benchlib
print('# request frame: %d bytes' % benchlib.encode(sys.argv[1], 'bench.example.com', '/pets/42',
      'GET', {'user-agent': 'h2load', 'accept': '*/*'}))" "$frame" || exit 2

irefs() { # N MODE
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
        "$build/bench/bench_decode" "$frame" "$1" "$2" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}

echo "# CheckRequest decode instructions, callgrind, median of $REPS"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(valgrind --version)"
for mode in unpacked walk; do
    runs=()
    for _ in $(seq 1 "$REPS"); do
        x=$(irefs 5000 "$mode")
        y=$(irefs 15000 "$mode")
        runs+=($(( (y - x) / 11000 )))
    done
    med=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    printf '%-9s median %6d instructions/decode  (runs: %s)\n' "$mode" "$med" "${runs[*]}"
done
