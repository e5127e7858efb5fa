#!/bin/bash
# Instructions per operation of bench_doc_json's cases (JSON text parse,
# write, both; doc against json-c; ~1 KB and ~64 KB documents), counted with
# valgrind's callgrind: two runs of N and 3N operations, the difference
# divided by 2N leaves set-up out. json-c's hash seed makes its counts vary
# a little, so each figure is the median of REPS runs. Reports figures;
# never passes or fails.
#
# usage: bench/doc_json_instr.sh BUILD_DIR
# env:   REPS (3)
set -u
command -v valgrind >/dev/null || { echo "missing tool: valgrind" >&2; exit 2; }
[ $# -eq 1 ] || { sed -n 2,10p "$0" >&2; exit 2; }
REPS=${REPS:-3}
bin=$1/bench/bench_doc_json

irefs() { # CASE N
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
        "$bin" "$1" "$2" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,
}

per_op() { # CASE N
    local runs=() x y
    for _ in $(seq 1 "$REPS"); do
        x=$(irefs "$1" "$2")
        y=$(irefs "$1" $(( 3 * $2 )))
        runs+=($(( (y - x) / (2 * $2) )))
    done
    printf '%s\n' "${runs[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

echo "# bench_doc_json instructions per operation, callgrind, median of $REPS"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(valgrind --version)"
for size in 1k 64k; do
    n=400; [ "$size" = 64k ] && n=10
    for what in parse write both; do
        d=$(per_op "doc-$size-$what" "$n")
        j=$(per_op "jsonc-$size-$what" "$n")
        printf '%-4s %-6s doc %10d   json-c %10d   doc/json-c %s\n' "$size" "$what" "$d" "$j" \
            "$(awk -v d="$d" -v j="$j" 'BEGIN {printf "%.3f", d / j}')"
    done
done
