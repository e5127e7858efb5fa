# Plumbing shared by the shell integration tests; sourced, not run.
#
# Sourcing it creates $tmp (removed at exit, with every process started
# here or handed to stop_at_exit stopped first) and the ok/bad counters.
# Provides: free_ports, start_server/stop_server, stop_at_exit,
# api_key_authconfig, ok, bad, expect, skip_all, finish.
#
# Env (set by ctest): PC_BIN (for start_server), PC_PLUGIN_DIR.

PC_PLUGIN_DIR=${PC_PLUGIN_DIR:-}
_pc_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
# Flags for a small server, sized for a 2-core test machine.
# shellcheck disable=SC2034  # used by the tests that source this file
SMALL=(--io-threads 2 --workers 4)

pass=0
fail=0
tmp=$(mktemp -d "/tmp/pc-$(basename "$0" .sh).XXXXXX")
SERVER_PID=
SERVER_LOG="$tmp/server.log"
GRPC='' HTTP='' ADMIN=''
_pc_exit_pids=()

# stop_pid PID: SIGTERM, then SIGKILL after 12 s (the server's grace
# period is 10 s). Returns 0 at once if PID is empty or already gone.
stop_pid() {
    local p=$1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 120); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
}

# stop_at_exit PID: stop PID (with stop_pid) when the test exits.
stop_at_exit() { _pc_exit_pids+=("$1"); }

_pc_cleanup() {
    local p
    for p in "${_pc_exit_pids[@]}"; do stop_pid "$p"; done
    stop_pid "$SERVER_PID"
    rm -rf "$tmp"
}
trap _pc_cleanup EXIT

# free_ports N: N distinct free loopback ports on one line, bound together
# (so none repeats) and released.
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])
EOF
}

# start_server AUTHCONFIGS [FLAGS...]: `portcullis serve` on three free
# loopback ports (set in GRPC, HTTP, ADMIN), its pid in SERVER_PID and its
# output in $SERVER_LOG, without the caller's Kubernetes settings. FLAGS
# follow the defaults; PC_PLUGIN_DIR is added unless FLAGS name plugin
# directories themselves. Waits up to 10 s for /readyz: returns 1 if it
# never answers 200 or the process exits first.
start_server() {
    : "${PC_BIN:?}"
    local ac=$1 f plugins=1
    shift
    for f in "$@"; do [ "$f" = --plugin-dir ] && plugins=0; done
    read -r GRPC HTTP ADMIN < <(free_ports 3)
    local args=(serve --grpc-addr "127.0.0.1:$GRPC" --http-addr "127.0.0.1:$HTTP"
                --admin-addr "127.0.0.1:$ADMIN" --authconfigs "$ac" --log-format text "$@")
    [ "$plugins" = 1 ] && [ -n "$PC_PLUGIN_DIR" ] && args+=(--plugin-dir "$PC_PLUGIN_DIR")
    env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT -u KUBECONFIG \
        "$PC_BIN" "${args[@]}" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz" |
                grep -q 200; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_server: SIGTERM, SIGKILL after 12 s; returns the server's exit
# status (137 if it had to be killed).
stop_server() {
    local p=$SERVER_PID
    [ -n "$p" ] || return 0
    SERVER_PID=
    stop_pid "$p"
    wait "$p" 2>/dev/null
}

# api_key_authconfig FILE: writes the shared API-key AuthConfig and its
# Secret (lib/api-key-authconfig.yaml) to FILE, with the test's own sections
# under spec, read from stdin, in place of its #RULES line.
api_key_authconfig() {
    cat >"$tmp/.rules"
    awk -v rules="$tmp/.rules" \
        '$0 == "#RULES" { while ((getline l < rules) > 0) print l; next } { print }' \
        "$_pc_lib/api-key-authconfig.yaml" >"$1"
}

ok() { pass=$((pass + 1)); echo "ok   - $1"; }

# bad WHAT [DETAIL]: a failure, with DETAIL indented below it.
bad() {
    fail=$((fail + 1)); echo "FAIL - $1"
    if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | sed 's/^/       /'; fi
    return 0
}

# expect WHAT COMMAND...: ok if COMMAND succeeds; otherwise bad, showing
# the start of $tmp/out, where the tests keep the last response.
expect() {
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what" "$(head -20 "$tmp/out" 2>/dev/null)"; fi
}

# skip_all REASON: the whole test cannot run here; exits 0.
skip_all() {
    echo "skip - $1"; echo "0 passed, 0 failed, 1 skipped"; exit 0
}

# finish: the closing "N passed, N failed" line, after the server log's
# tail if anything failed; exits 1 on any failure.
finish() {
    if [ "$fail" -ne 0 ] && [ -s "$SERVER_LOG" ]; then
        echo "---- server log ----"; tail -30 "$SERVER_LOG"
    fi
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
