#!/bin/bash
# HTTP authorization mode throughput: wrk over HTTP/1.1 keep-alive against
# Authorino's raw /check and Envoy's http_service mode, next to nginx
# serving a small static file; h2load over h2c on the same port next to
# nghttpd; latency at half of the peak (h2load --rps, HTTP/1.1 and h2c);
# the server's resident memory. Reports figures; never passes or fails.
#
# usage: bench/http_wrk.sh
# env:   DUR (seconds per wrk run, 10), C (connections, 10), N (requests per
#        h2load run, 200000), M (h2c streams per client, 100), ROUNDS (3),
#        LAT_SECS (10), PC_BUILD, BENCH_PIN (see common.sh)
set -u
. "$(dirname "$0")/common.sh"
bench_need wrk h2load nghttpd nginx curl taskset

DUR=${DUR:-10}
C=${C:-10}
N=${N:-200000}
M=${M:-100}
ROUNDS=${ROUNDS:-3}
LAT_SECS=${LAT_SECS:-10}
HOST=bench.example.com

bench_header "HTTP authorization mode: wrk -t1 -c$C -d${DUR}s (HTTP/1.1 keep-alive), h2load -n $N -c $C -m $M -t 1 (h2c)"

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

IO_FLAGS=()
[ -n "$PIN_SERVER" ] && IO_FLAGS=(--io-threads 1)
start_portcullis "$BENCH_TMP/ac" "${IO_FLAGS[@]}"
start_nghttpd 64

# nginx: one process (no master), static file, no access log.
NGINX_PORT=$(free_port)
mkdir -p "$BENCH_TMP/nginx"
cat >"$BENCH_TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $BENCH_TMP/nginx/body;
    proxy_temp_path $BENCH_TMP/nginx/proxy;
    fastcgi_temp_path $BENCH_TMP/nginx/fastcgi;
    uwsgi_temp_path $BENCH_TMP/nginx/uwsgi;
    scgi_temp_path $BENCH_TMP/nginx/scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $BENCH_TMP/www;
    }
}
EOF
$PIN_SERVER nginx -c "$BENCH_TMP/nginx/nginx.conf" -p "$BENCH_TMP/nginx" >/dev/null 2>&1 &
NGINX_PID=$!
BENCH_PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT"
echo "# portcullis pid $PC_PID ${IO_FLAGS[*]}; nghttpd pid $NGHTTPD_PID; nginx pid $NGINX_PID (1 process); static file 64 bytes"

RAW_URL=http://127.0.0.1:$HTTP_PORT/check
SVC_URL=http://127.0.0.1:$HTTP_PORT/pets/42
NGINX_URL=http://127.0.0.1:$NGINX_PORT$STATIC_PATH
NG_URL=http://127.0.0.1:$NGHTTPD_PORT$STATIC_PATH
for u in "$RAW_URL" "$SVC_URL"; do
    echo "# sample: GET $u Host: $HOST -> $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$u")"
done

metric_ok() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk '$1 == "auth_server_response_status{status=\"OK\"}" {print $2}'
}
ok_before=$(metric_ok)
sent=0
mem_sampler "$PC_PID" "$BENCH_TMP/rss.txt"
echo "# rss at start: $(awk '/^VmRSS:/ {print $2}' /proc/$PC_PID/status) kB"

# wrk_run LABEL OUT URL [host]: one line per run.
wrk_run() {
    local label=$1 out=$2 url=$3 host=${4:-}
    local l0 hdr=()
    l0=$(load1)
    [ -n "$host" ] && hdr=(-H "Host: $host")
    timeout $((DUR + 30)) $PIN_CLIENT wrk -t1 -c"$C" -d"${DUR}s" --latency "${hdr[@]}" "$url" >"$out" 2>&1
    awk -v label="$label" -v note="load $l0->$(load1)" '
        /Requests\/sec/ {rps=$2}
        /requests in/ {n=$1}
        /Non-2xx/ {bad=$NF}
        /Socket errors/ {err=$0}
        /^ +Latency +[0-9]/ {mean=$2}
        /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
        END {printf "%-34s %10.0f req/s  requests %s non-2xx %d  mean %s p50 %s p99 %s  %s (%s)\n",
             label, rps, n, bad+0, mean, p50, p99, err, note}' "$out"
    if [ -n "$host" ]; then
        sent=$((sent + $(awk '/requests in/ {print $1}' "$out")))
    fi
}
wrk_rps_of() { awk '/Requests\/sec/ {print $2}' "$1"; }

echo "## warm-up"
DUR_SAVE=$DUR
DUR=2
wrk_run "portcullis raw /check warm-up" "$BENCH_TMP/w1" "$RAW_URL" "$HOST"
wrk_run "nginx warm-up" "$BENCH_TMP/w2" "$NGINX_URL"
DUR=$DUR_SAVE

echo "## HTTP/1.1 keep-alive, wrk (interleaved rounds)"
raw=()
svc=()
ngx=()
for r in $(seq 1 "$ROUNDS"); do
    wrk_run "portcullis raw /check r$r" "$BENCH_TMP/raw$r" "$RAW_URL" "$HOST"
    raw+=("$(wrk_rps_of "$BENCH_TMP/raw$r")")
    wrk_run "portcullis http_service r$r" "$BENCH_TMP/svc$r" "$SVC_URL" "$HOST"
    svc+=("$(wrk_rps_of "$BENCH_TMP/svc$r")")
    wrk_run "nginx static r$r" "$BENCH_TMP/ngx$r" "$NGINX_URL"
    ngx+=("$(wrk_rps_of "$BENCH_TMP/ngx$r")")
done

echo "## h2c on the HTTP port, h2load (interleaved rounds)"
h2c=()
ngh=()
for r in $(seq 1 "$ROUNDS"); do
    h2load_run "portcullis h2c http_service r$r" "$BENCH_TMP/h2c$r" -n "$N" -c "$C" -m "$M" -t 1 \
        -H ":authority: $HOST" "$SVC_URL"
    h2c+=("$(h2load_rps_of "$BENCH_TMP/h2c$r")")
    sent=$((sent + N))
    h2load_run "nghttpd static r$r" "$BENCH_TMP/ngh$r" -n "$N" -c "$C" -m "$M" -t 1 "$NG_URL"
    ngh+=("$(h2load_rps_of "$BENCH_TMP/ngh$r")")
done

$PY - "${raw[*]}" "${svc[*]}" "${ngx[*]}" "${h2c[*]}" "${ngh[*]}" <<'EOF'
import statistics, sys
names = ["portcullis raw /check (wrk)", "portcullis http_service (wrk)", "nginx static (wrk)",
         "portcullis h2c (h2load)", "nghttpd static (h2load)"]
vals = [[float(x) for x in a.split()] for a in sys.argv[1:]]
for n, v in zip(names, vals):
    print("%-32s best %8.0f  median %8.0f req/s" % (n, max(v), statistics.median(v)))
for i, base in ((0, 2), (1, 2), (3, 4)):
    print("ratio %-28s / %-24s best %.1f%%  median %.1f%%" % (
        names[i], names[base], 100 * max(vals[i]) / max(vals[base]),
        100 * statistics.median(vals[i]) / statistics.median(vals[base])))
EOF

# Half of the median peak: one lucky round would overstate it.
median_of() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
latency_at_half() {
    local label=$1 peak=$2 url=$3 proto=$4 m=$5
    local half per_client n
    half=$($PY -c "print(int(float('$peak') / 2))")
    per_client=$($PY -c "print(max(1, round($half / $C)))")
    n=$((per_client * C * LAT_SECS))
    echo "# $label: $half req/s = $C clients x --rps $per_client, $n requests"
    h2load_run "$label" "$BENCH_TMP/lat-$proto" $( [ "$proto" = h1 ] && echo --h1 ) -n "$n" -c "$C" -m "$m" -t 1 \
        --rps "$per_client" --log-file "$BENCH_TMP/lat-$proto.log" -H ":authority: $HOST" "$url"
    sent=$((sent + n))
    $PY "$BENCH_DIR/benchlib.py" log-stats "$BENCH_TMP/lat-$proto.log" "$label latency" 1
}
echo "## latency at half of the median peak (h2load --rps; first 1 s dropped)"
latency_at_half "http_service HTTP/1.1 @half" "$(median_of "${svc[@]}")" "$SVC_URL" h1 1
latency_at_half "http_service h2c @half" "$(median_of "${h2c[@]}")" "$SVC_URL" h2 "$M"

stop_mem_sampler
echo "## memory"
mem_report "$PC_PID" "$BENCH_TMP/rss.txt" "portcullis"

echo "## verdicts"
ok_after=$(metric_ok)
echo "requests counted by the clients: $sent; OK verdicts counted by /metrics: $((ok_after - ok_before)) (wrk may leave a few in flight at its deadline)"
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep '^auth_server_response_status'
if kill -0 "$PC_PID" 2>/dev/null; then
    echo "server still running; log lines at warn or above: $(wc -l <"$BENCH_TMP/serve.log")"
else
    echo "SERVER EXITED"
fi
head -5 "$BENCH_TMP/serve.log"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
