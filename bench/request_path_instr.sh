#!/bin/bash
# Instructions per gRPC Check for the whole server (every thread, every
# library): `portcullis serve` under callgrind, 2,000 warm-up checks, the
# counters zeroed, N checks by h2load (-c 10 -m 100), then a dump. The
# AuthConfig and the request are request_path.py's (anonymous + one
# pattern, a 230-byte CheckRequest). Reports figures; never passes or fails.
#
# usage: bench/request_path_instr.sh [BUILD_DIR...]   (default: PC_BUILD)
# env:   N (checks counted, 20000), PC_BUILD (/tmp/build-bench)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
N=${N:-20000}
for t in valgrind callgrind_control callgrind_annotate h2load curl; do
    command -v "$t" >/dev/null || { echo "missing tool: $t"; exit 1; }
done
[ $# -gt 0 ] || set -- "${PC_BUILD:-/tmp/build-bench}"

free_port() {
    /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

count() {
    local build=$1 tmp gp hp ap vp out total
    tmp=$(mktemp -d /tmp/pc-instr-rp.XXXXXX)
    mkdir -p "$tmp/ac"
    cat > "$tmp/ac/bench.yaml" <<'Y'
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: bench, namespace: bench}
spec:
  hosts: [bench.example.com]
  authentication:
    anon: {anonymous: {}}
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
Y
    PC_PY_PROTO_DIR=$build/python /usr/bin/python3 "$HERE/benchlib.py" encode "$tmp/check.bin" \
        bench.example.com /pets/42 GET user-agent=h2load 'accept=*/*' >/dev/null
    gp=$(free_port); hp=$(free_port); ap=$(free_port)
    out=$tmp/callgrind.out
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$build/bin/portcullis" serve --plugin-dir "$build/lib/portcullis/plugins" \
        --grpc-addr 127.0.0.1:$gp --http-addr 127.0.0.1:$hp --admin-addr 127.0.0.1:$ap \
        --authconfigs "$tmp/ac" --log-level warn --log-format text --io-threads 1 \
        > "$tmp/serve.log" 2>&1 &
    vp=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$ap/readyz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    local h2="h2load -t 1 -c 10 -m 100 -d $tmp/check.bin -H content-type:application/grpc
              -H te:trailers http://127.0.0.1:$gp/envoy.service.auth.v3.Authorization/Check"
    $h2 -n 2000 > "$tmp/warm.txt"
    callgrind_control -z $vp >/dev/null 2>&1
    $h2 -n "$N" > "$tmp/run.txt"
    callgrind_control -d $vp >/dev/null 2>&1
    kill $vp; wait $vp 2>/dev/null
    total=$(callgrind_annotate "$out".1 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
    printf '%-40s %s; %s instructions, %d per check\n' "$build" \
        "$(grep -o '[0-9]* succeeded' "$tmp/run.txt")" "$total" $((total / N))
    rm -rf "$tmp"
}

echo "# instructions per gRPC Check, whole server under callgrind, h2load -n $N -c 10 -m 100"
for b in "$@"; do count "$b"; done
