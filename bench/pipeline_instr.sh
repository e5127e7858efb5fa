#!/bin/bash
# Instructions per request of bench_pipeline (a) and (b), counted with
# valgrind's callgrind: two runs of N = 5,000 and 15,000 requests; the
# difference divided by the 11,000 extra requests (each run adds a tenth as
# warm-up) leaves set-up out. Exact and repeatable but for json-c's hash
# seed, so each figure is the median of REPS runs. Several build
# directories are measured in turn, side by side. Reports figures; never
# passes or fails.
#
# usage: bench/pipeline_instr.sh BUILD_DIR [BUILD_DIR...]
# env:   REPS (3), MODES ("a b")
set -u
command -v valgrind >/dev/null || { echo "missing tool: valgrind" >&2; exit 2; }
[ $# -ge 1 ] || { sed -n 2,12p "$0" >&2; exit 2; }
REPS=${REPS:-3}
MODES=${MODES:-a b}

irefs() { # BIN N MODE
    PC_PLUGIN_DIR=$4 valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
        "$1" "$2" "$3" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}

echo "# bench_pipeline instructions per request, callgrind, median of $REPS"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(valgrind --version)"
for mode in $MODES; do
    for build in "$@"; do
        bin=$build/bench/bench_pipeline
        plugins=$build/lib/portcullis/plugins
        runs=()
        for _ in $(seq 1 "$REPS"); do
            x=$(irefs "$bin" 5000 "$mode" "$plugins")
            y=$(irefs "$bin" 15000 "$mode" "$plugins")
            runs+=($(( (y - x) / 11000 )))
        done
        med=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
        printf '(%s) %-40s median %6d instructions/request  (runs: %s)\n' "$mode" "$build" "$med" "${runs[*]}"
    done
done
