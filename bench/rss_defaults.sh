#!/bin/bash
# Resident memory of `portcullis serve` on the shipped defaults
# (configs/server.yaml: 32 workers, one I/O thread per core, the shipped
# AuthConfigs), at idle and under load, for the manifests' requests and
# limits. Only the listeners move to free loopback ports. Reports figures;
# never passes or fails.
#
# usage: bench/rss_defaults.sh
# env:   N (requests per gRPC run, 100000), PC_BUILD (/tmp/build-bench),
#        BENCH_PIN (1: server on core 1, clients on core 0)
set -u
. "$(dirname "$0")/common.sh"
bench_need h2load wrk curl
N=${N:-100000}
SRC=$(cd "$BENCH_DIR/.." && pwd)
HOST=talker-api.127.0.0.1.nip.io
CHECK=/envoy.service.auth.v3.Authorization/Check
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PC_PID/status"; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$PC_PID/status"; }

bench_header "RSS of portcullis serve --config configs/server.yaml"
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
HEALTH_PORT=$(free_port)
METRICS_PORT=$(free_port)
cd "$SRC"
$PIN_SERVER "$PC_BIN" serve --config configs/server.yaml --plugin-dir "$PC_PLUGIN_DIR" \
    --grpc-addr "127.0.0.1:$GRPC_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
    --health-probe-addr "127.0.0.1:$HEALTH_PORT" --metrics-addr "127.0.0.1:$METRICS_PORT" \
    --log-level warn >"$BENCH_TMP/serve.log" 2>&1 &
PC_PID=$!
BENCH_PIDS+=("$PC_PID")
wait_http "http://127.0.0.1:$HEALTH_PORT/readyz" 15 || { cat "$BENCH_TMP/serve.log" >&2; exit 1; }
echo "# threads: $(ls /proc/$PC_PID/task | wc -l)"
sleep 2
echo "idle after start                 VmRSS $(rss) kB"
curl -s -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics"
curl -s -o /dev/null -H "Host: $HOST" "http://127.0.0.1:$HTTP_PORT/hello"
sleep 1
echo "idle after one check + scrape    VmRSS $(rss) kB"

GET=$BENCH_TMP/get.bin
POST=$BENCH_TMP/post.bin
$PY "$BENCH_DIR/benchlib.py" encode "$GET" "$HOST" /hello GET >/dev/null
$PY "$BENCH_DIR/benchlib.py" encode "$POST" "$HOST" /greetings POST \
    authorization="APIKEY ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx" >/dev/null
$PY "$BENCH_DIR/benchlib.py" check "127.0.0.1:$GRPC_PORT" "$HOST" /hello GET
GRPC=(-H 'content-type: application/grpc' -H 'te: trailers')
URL=http://127.0.0.1:$GRPC_PORT$CHECK

mem_sampler "$PC_PID" "$BENCH_TMP/rss.txt"
h2load_run "gRPC anonymous GET -c10 -m100" "$BENCH_TMP/a.txt" \
    -n "$N" -c 10 -m 100 -t 1 -d "$GET" "${GRPC[@]}" "$URL"
echo "  after: VmRSS $(rss) kB, VmHWM $(hwm) kB"
h2load_run "gRPC API key POST -c10 -m100" "$BENCH_TMP/b.txt" \
    -n "$N" -c 10 -m 100 -t 1 -d "$POST" "${GRPC[@]}" "$URL"
echo "  after: VmRSS $(rss) kB, VmHWM $(hwm) kB"
# Many connections, many streams: 20,000 checks in flight at once.
h2load_run "gRPC API key POST -c200 -m100" "$BENCH_TMP/c.txt" \
    -n "$N" -c 200 -m 100 -t 1 -d "$POST" "${GRPC[@]}" "$URL"
echo "  after: VmRSS $(rss) kB, VmHWM $(hwm) kB"
timeout 60 $PIN_CLIENT wrk -t 1 -c 500 -d 10s -H "Host: $HOST" \
    "http://127.0.0.1:$HTTP_PORT/hello" >"$BENCH_TMP/wrk.txt" 2>&1
echo "HTTP wrk -c500 10s: $(awk '/Requests\/sec/ {print $2}' "$BENCH_TMP/wrk.txt") req/s"
echo "  after: VmRSS $(rss) kB, VmHWM $(hwm) kB"
stop_mem_sampler
sleep 3
mem_report "$PC_PID" "$BENCH_TMP/rss.txt" "under load (all runs)"
echo "idle 3 s after the load          VmRSS $(rss) kB"
