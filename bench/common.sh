# Shared helpers for the load benchmarks (sourced, not run).
# Everything listens on 127.0.0.1 only; every process started here is
# remembered by pid and stopped on exit, and the scratch folder is removed.

PC_BUILD=${PC_BUILD:-/tmp/build-bench}
PC_BIN=${PC_BIN:-$PC_BUILD/bin/portcullis}
PC_PLUGIN_DIR=${PC_PLUGIN_DIR:-$PC_BUILD/lib/portcullis/plugins}
export PC_PY_PROTO_DIR=${PC_PY_PROTO_DIR:-$PC_BUILD/python}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

# The load generator and the server each get a core of their own when the
# machine has two or more; BENCH_PIN=0 turns pinning off.
BENCH_PIN=${BENCH_PIN:-1}
if [ "$BENCH_PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER="taskset -c 1"
    PIN_CLIENT="taskset -c 0"
else
    PIN_SERVER=""
    PIN_CLIENT=""
fi

BENCH_PIDS=()
BENCH_TMP=$(mktemp -d /tmp/pc-bench-XXXXXX)

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${BENCH_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "missing tool: $t" >&2; exit 2; }
    done
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

load1() { cut -d' ' -f1 /proc/loadavg; }

bench_header() {
    echo "# $1"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg)   pinning: ${PIN_SERVER:-off} (server) / ${PIN_CLIENT:-off} (client)"
}

# wait_http URL [seconds]: until the URL answers 200.
wait_http() {
    local url=$1 end=$((SECONDS + ${2:-15}))
    while [ $SECONDS -lt $end ]; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")" = 200 ] && return 0
        sleep 0.1
    done
    echo "not ready: $url" >&2
    return 1
}

# wait_port PORT [seconds]: until something accepts on 127.0.0.1:PORT.
wait_port() {
    local end=$((SECONDS + ${2:-15}))
    while [ $SECONDS -lt $end ]; do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

# start_portcullis ACDIR [extra serve flags...]: sets PC_PID, GRPC_PORT,
# HTTP_PORT, ADMIN_PORT; log in $BENCH_TMP/serve.log.
start_portcullis() {
    local acdir=$1
    shift
    GRPC_PORT=$(free_port)
    HTTP_PORT=$(free_port)
    ADMIN_PORT=$(free_port)
    $PIN_SERVER "$PC_BIN" serve --plugin-dir "$PC_PLUGIN_DIR" \
        --grpc-addr "127.0.0.1:$GRPC_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
        --admin-addr "127.0.0.1:$ADMIN_PORT" --authconfigs "$acdir" \
        --log-level warn --log-format text "$@" \
        >"$BENCH_TMP/serve.log" 2>&1 &
    PC_PID=$!
    BENCH_PIDS+=("$PC_PID")
    wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 15 || { cat "$BENCH_TMP/serve.log" >&2; exit 1; }
}

# start_nghttpd FILE_CONTENT_BYTES: sets NGHTTPD_PORT, NGHTTPD_PID and
# STATIC_PATH (a small static file).
start_nghttpd() {
    mkdir -p "$BENCH_TMP/www"
    head -c "${1:-64}" /dev/zero | tr '\0' 'a' >"$BENCH_TMP/www/static.txt"
    STATIC_PATH=/static.txt
    NGHTTPD_PORT=$(free_port)
    $PIN_SERVER nghttpd --no-tls -d "$BENCH_TMP/www" "$NGHTTPD_PORT" >/dev/null 2>&1 &
    NGHTTPD_PID=$!
    BENCH_PIDS+=("$NGHTTPD_PID")
    wait_port "$NGHTTPD_PORT"
}

# mem_sampler PID OUTFILE: samples VmRSS (kB) every 200 ms into OUTFILE
# until the process goes away or the sampler is killed.
mem_sampler() {
    local pid=$1 out=$2
    (
        while [ -r "/proc/$pid/status" ]; do
            awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" >>"$out" 2>/dev/null
            sleep 0.2
        done
    ) &
    MEM_SAMPLER_PID=$!
    BENCH_PIDS+=("$MEM_SAMPLER_PID")
}

stop_mem_sampler() {
    kill "$MEM_SAMPLER_PID" 2>/dev/null
    wait "$MEM_SAMPLER_PID" 2>/dev/null
}

# mem_report PID SAMPLEFILE LABEL: one line with VmHWM, VmRSS now and the
# highest sampled VmRSS.
mem_report() {
    local pid=$1 samples=$2 label=$3
    local hwm rss peak
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    peak=$(sort -n "$samples" 2>/dev/null | tail -1)
    printf '%-28s VmHWM %6s kB  VmRSS now %6s kB  sampled RSS max %6s kB (%s samples)\n' \
        "$label" "$hwm" "$rss" "${peak:-?}" "$(wc -l <"$samples" 2>/dev/null || echo 0)"
}

# h2load_run LABEL OUTFILE h2load-args...: runs h2load on the client core,
# keeps its output and prints one summary line.
h2load_run() {
    local label=$1 out=$2
    shift 2
    local l0
    l0=$(load1)
    # A hung server must not hang the benchmark.
    timeout "${BENCH_CMD_TIMEOUT:-300}" $PIN_CLIENT h2load "$@" >"$out" 2>&1
    $PY "$BENCH_DIR/benchlib.py" h2load-summary "$out" "$label" "load $l0->$(load1)"
}

# h2load_rps_of OUTFILE: the req/s figure of an h2load run.
h2load_rps_of() {
    awk '/^finished in/ {gsub(",", "", $4); print $4}' "$1"
}
