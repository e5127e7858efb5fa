#!/bin/bash
# gRPC ext_authz throughput next to nghttpd, both measured by h2load in the
# same run, then latency at half of Portcullis's peak rate and the server's
# resident memory. Reports figures; never passes or fails.
#
# usage: bench/grpc_h2load.sh
# env:   N (requests per peak run, 200000), C (clients, 10), M (streams per
#        client, 100), ROUNDS (peak runs per server, 3), LAT_SECS (length
#        of the latency run, 10), PC_BUILD (/tmp/build-bench), BENCH_PIN (1:
#        server on core 1, h2load on core 0)
set -u
. "$(dirname "$0")/common.sh"
bench_need h2load nghttpd curl taskset

N=${N:-200000}
C=${C:-10}
M=${M:-100}
ROUNDS=${ROUNDS:-3}
LAT_SECS=${LAT_SECS:-10}
HOST=bench.example.com
CHECK=/envoy.service.auth.v3.Authorization/Check

bench_header "gRPC ext_authz (h2c) vs nghttpd, h2load -n $N -c $C -m $M -t 1"

mkdir -p "$BENCH_TMP/ac"
cat >"$BENCH_TMP/ac/bench.yaml" <<EOF
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
EOF

# One I/O thread when the server has one core to itself.
IO_FLAGS=()
[ -n "$PIN_SERVER" ] && IO_FLAGS=(--io-threads 1)
start_portcullis "$BENCH_TMP/ac" "${IO_FLAGS[@]}"
start_nghttpd 64
echo "# portcullis pid $PC_PID ${IO_FLAGS[*]}; nghttpd pid $NGHTTPD_PID serving a 64-byte file"

REQ=$BENCH_TMP/check.bin
echo "# request frame: $($PY "$BENCH_DIR/benchlib.py" encode "$REQ" "$HOST" /pets/42 GET user-agent=h2load accept=*/*)"
$PY "$BENCH_DIR/benchlib.py" check "127.0.0.1:$GRPC_PORT" "$HOST" /pets/42 GET

PC_URL=http://127.0.0.1:$GRPC_PORT$CHECK
NG_URL=http://127.0.0.1:$NGHTTPD_PORT$STATIC_PATH
GRPC_ARGS=(-d "$REQ" -H 'content-type: application/grpc' -H 'te: trailers')

metric_ok() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk -v s="$1" '$1 == "auth_server_response_status{status=\"" s "\"}" {print $2}'
}
metrics_all() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep '^auth_server_response_status'
}

ok_before=$(metric_ok OK)
mem_sampler "$PC_PID" "$BENCH_TMP/rss.txt"
echo "# rss at start: $(awk '/^VmRSS:/ {print $2}' /proc/$PC_PID/status) kB"

echo "## warm-up"
h2load_run "portcullis warm-up" "$BENCH_TMP/w1" -n $((N / 10)) -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "$PC_URL"
h2load_run "nghttpd warm-up" "$BENCH_TMP/w2" -n $((N / 10)) -c "$C" -m "$M" -t 1 "$NG_URL"

echo "## peak (interleaved rounds)"
pc_rates=()
ng_rates=()
sent=$((N / 10))
for r in $(seq 1 "$ROUNDS"); do
    h2load_run "portcullis gRPC round $r" "$BENCH_TMP/pc$r" -n "$N" -c "$C" -m "$M" -t 1 "${GRPC_ARGS[@]}" "$PC_URL"
    pc_rates+=("$(h2load_rps_of "$BENCH_TMP/pc$r")")
    sent=$((sent + N))
    h2load_run "nghttpd static round $r" "$BENCH_TMP/ng$r" -n "$N" -c "$C" -m "$M" -t 1 "$NG_URL"
    ng_rates+=("$(h2load_rps_of "$BENCH_TMP/ng$r")")
done

$PY - "${pc_rates[*]}" "${ng_rates[*]}" <<'EOF'
import statistics, sys
pc = [float(x) for x in sys.argv[1].split()]
ng = [float(x) for x in sys.argv[2].split()]
print("portcullis req/s: best %.0f median %.0f" % (max(pc), statistics.median(pc)))
print("nghttpd    req/s: best %.0f median %.0f" % (max(ng), statistics.median(ng)))
print("ratio portcullis/nghttpd: best/best %.1f%%  median/median %.1f%%"
      % (100 * max(pc) / max(ng), 100 * statistics.median(pc) / statistics.median(ng)))
EOF

# Half of the median peak: one lucky round would overstate it.
med_pc=$(printf '%s\n' "${pc_rates[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
half=$($PY -c "print(int(float('$med_pc') / 2))")
per_client=$($PY -c "print(max(1, round($half / $C)))")
lat_n=$((per_client * C * LAT_SECS))
echo "## latency at half of the median peak: $half req/s = $C clients x --rps $per_client, $lat_n requests (~${LAT_SECS}s; first 1 s dropped)"
h2load_run "portcullis @half-peak" "$BENCH_TMP/lat-pc" -n "$lat_n" -c "$C" -m "$M" -t 1 --rps "$per_client" \
    --log-file "$BENCH_TMP/lat-pc.log" "${GRPC_ARGS[@]}" "$PC_URL"
sent=$((sent + lat_n))
$PY "$BENCH_DIR/benchlib.py" log-stats "$BENCH_TMP/lat-pc.log" "portcullis latency @half-peak" 1
h2load_run "nghttpd @same rate" "$BENCH_TMP/lat-ng" -n "$lat_n" -c "$C" -m "$M" -t 1 --rps "$per_client" \
    --log-file "$BENCH_TMP/lat-ng.log" "$NG_URL"
$PY "$BENCH_DIR/benchlib.py" log-stats "$BENCH_TMP/lat-ng.log" "nghttpd latency @same rate" 1

stop_mem_sampler
echo "## memory"
mem_report "$PC_PID" "$BENCH_TMP/rss.txt" "portcullis"

echo "## verdicts"
ok_after=$(metric_ok OK)
echo "h2load requests sent to portcullis: $sent; OK verdicts counted by /metrics: $((ok_after - ok_before))"
metrics_all
$PY "$BENCH_DIR/benchlib.py" check "127.0.0.1:$GRPC_PORT" "$HOST" /pets/42 GET
if kill -0 "$PC_PID" 2>/dev/null; then
    echo "server still running; log lines at warn or above: $(wc -l <"$BENCH_TMP/serve.log")"
else
    echo "SERVER EXITED"
fi
head -5 "$BENCH_TMP/serve.log"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
