#!/bin/bash
# What the decision log costs: the same server binary at --log-level info
# (one JSON line per check, written to a file) and at warn (none), peak
# req/s over gRPC measured by h2load in interleaved rounds. Reports
# figures; never passes or fails.
#
# usage: bench/log_cost.sh
# env:   N (requests per round, 200000), C (clients, 10), M (streams per
#        client, 100), ROUNDS (rounds per server, 5), PC_BUILD
#        (/tmp/build-bench), BENCH_PIN (1: servers on core 1, h2load on 0)
set -u
. "$(dirname "$0")/common.sh"
bench_need h2load curl taskset

N=${N:-200000}
C=${C:-10}
M=${M:-100}
ROUNDS=${ROUNDS:-5}
HOST=bench.example.com
CHECK=/envoy.service.auth.v3.Authorization/Check

bench_header "decision logs: info vs warn, h2load -n $N -c $C -m $M -t 1, $ROUNDS interleaved rounds"

mkdir -p "$BENCH_TMP/ac"
cat >"$BENCH_TMP/ac/bench.yaml" <<YAML
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: bench, namespace: bench}
spec:
  hosts: [$HOST]
  authentication:
    anon: {anonymous: {}}
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
YAML

IO_FLAGS=()
[ -n "$PIN_SERVER" ] && IO_FLAGS=(--io-threads 1)
start_portcullis "$BENCH_TMP/ac" "${IO_FLAGS[@]}" --log-level info --log-format json
INFO_PORT=$GRPC_PORT
INFO_LOG=$BENCH_TMP/info.log
mv "$BENCH_TMP/serve.log" "$INFO_LOG"   # the server keeps writing to it
start_portcullis "$BENCH_TMP/ac" "${IO_FLAGS[@]}" --log-level warn
WARN_PORT=$GRPC_PORT

REQ=$BENCH_TMP/check.bin
$PY "$BENCH_DIR/benchlib.py" encode "$REQ" "$HOST" /pets/42 GET user-agent=h2load accept=*/* >/dev/null
GRPC_ARGS=(-d "$REQ" -H 'content-type: application/grpc' -H 'te: trailers')

h2load_run "info warm-up" "$BENCH_TMP/wi" -n $((N / 10)) -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "http://127.0.0.1:$INFO_PORT$CHECK"
h2load_run "warn warm-up" "$BENCH_TMP/ww" -n $((N / 10)) -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "http://127.0.0.1:$WARN_PORT$CHECK"
info=()
warn=()
for r in $(seq 1 "$ROUNDS"); do
    h2load_run "info round $r" "$BENCH_TMP/i$r" -n "$N" -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "http://127.0.0.1:$INFO_PORT$CHECK"
    info+=("$(h2load_rps_of "$BENCH_TMP/i$r")")
    h2load_run "warn round $r" "$BENCH_TMP/w$r" -n "$N" -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "http://127.0.0.1:$WARN_PORT$CHECK"
    warn+=("$(h2load_rps_of "$BENCH_TMP/w$r")")
done
$PY - "${info[*]}" "${warn[*]}" <<'PYEOF'
import statistics, sys
i = [float(x) for x in sys.argv[1].split()]
w = [float(x) for x in sys.argv[2].split()]
print("info req/s: best %.0f median %.0f" % (max(i), statistics.median(i)))
print("warn req/s: best %.0f median %.0f" % (max(w), statistics.median(w)))
print("info/warn: best/best %.1f%%  median/median %.1f%%"
      % (100 * max(i) / max(w), 100 * statistics.median(i) / statistics.median(w)))
PYEOF
echo "decision lines logged at info: $(grep -c 'outgoing authorization response' "$INFO_LOG")"
grep -m1 'outgoing authorization response' "$INFO_LOG"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
