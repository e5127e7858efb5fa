#!/bin/bash
# Instructions to build the Authorization JSON of bench_pipeline's request
# (b) (authjson_build + arena_reset), counted with valgrind's callgrind:
# two runs of N = 5,000 and 15,000 builds; the difference divided by the
# 11,000 extra builds (each run adds a tenth as warm-up) leaves set-up out.
# Median of REPS runs. Several build directories are measured in turn,
# side by side.
# Reports figures; never passes or fails.
#
# usage: bench/authjson_instr.sh BUILD_DIR [BUILD_DIR...]
# env:   REPS (3), MODES ("doc"), CONTEXT ("" or "context")
set -u
command -v valgrind >/dev/null || { echo "missing tool: valgrind" >&2; exit 2; }
[ $# -ge 1 ] || { sed -n 2,12p "$0" >&2; exit 2; }
REPS=${REPS:-3}
MODES=${MODES:-doc}
CONTEXT=${CONTEXT:-}

irefs() { # BIN N MODE
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
        "$1" "$2" "$3" $CONTEXT 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}

echo "# Authorization JSON instructions per build, callgrind, median of $REPS ${CONTEXT:+($CONTEXT)}"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(valgrind --version)"
for mode in $MODES; do
    for build in "$@"; do
        bin=$build/bench/bench_authjson
        "$bin" 1 "$mode" >/dev/null 2>&1 || continue # a mode this build lacks
        runs=()
        for _ in $(seq 1 "$REPS"); do
            x=$(irefs "$bin" 5000 "$mode")
            y=$(irefs "$bin" 15000 "$mode")
            runs+=($(( (y - x) / 11000 )))
        done
        med=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
        printf '%-6s %-40s median %6d instructions/build  (runs: %s)\n' "$mode" "$build" "$med" "${runs[*]}"
    done
done
