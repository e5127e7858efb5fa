#!/bin/bash
# portcullis serve's settings: the server config file (checked, with file
# and line in errors), PORTCULLIS_* environment variables over the file,
# flags over the environment; and the CLI's answers to bad flags.
set -u
. "$(dirname "$0")/lib/common.sh"
: "${PC_BIN:?}"

mkdir -p "$tmp/ac"
cat >"$tmp/ac/a.yaml" <<'YAML'
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: a}
spec:
  hosts: [a.test]
YAML

# ---- a bad config file is refused with file and line ----
cat >"$tmp/bad.yaml" <<'YAML'
listeners:
  grpc: 127.0.0.1:1
workers: many
logs: {level: debug}
YAML
out=$("$PC_BIN" serve --config "$tmp/bad.yaml" --plugin-dir "$PC_PLUGIN_DIR" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q "bad.yaml:3: workers: expected an integer" <<<"$out"; then
    ok "a wrong type in the config file: exit 2 naming file, line and key"
else
    bad "a wrong type in the config file: exit 2 naming file, line and key" "rc=$rc $out"
fi
if grep -q "bad.yaml:4: logs: unknown field" <<<"$out"; then
    ok "an unknown key in the config file is reported with its line"
else
    bad "an unknown key in the config file is reported with its line" "$out"
fi

# ---- precedence: file < environment < flags ----
read -r p_file p_env p_flag p_http p_admin < <(free_ports 5)
cat >"$tmp/server.yaml" <<YAML
listeners:
  grpc: 127.0.0.1:$p_file
  http: 127.0.0.1:$p_http
  admin: 127.0.0.1:$p_admin
authconfigs: [$tmp/ac]
plugins: {dirs: [$PC_PLUGIN_DIR]}
log: {level: info, format: text}
YAML
listening() { # PORT: does the server's log say it listens on 127.0.0.1:PORT for grpc?
    grep -q "grpc=127.0.0.1:$1 " "$SERVER_LOG"
}
run_with() { # ENV-ASSIGNMENTS... -- FLAGS...
    local envs=() flags=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    flags=("$@")
    env "${envs[@]}" "$PC_BIN" serve --config "$tmp/server.yaml" "${flags[@]}" \
        >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null -m 1 "http://127.0.0.1:$p_admin/readyz" && break
        sleep 0.1
    done
}
run_with --
if listening "$p_file"; then ok "the file's listener is used"; else bad "the file's listener is used" "$(cat "$SERVER_LOG")"; fi
stop_server
run_with "PORTCULLIS_GRPC_ADDR=127.0.0.1:$p_env" --
if listening "$p_env"; then ok "PORTCULLIS_GRPC_ADDR wins over the file"; else bad "PORTCULLIS_GRPC_ADDR wins over the file" "$(cat "$SERVER_LOG")"; fi
stop_server
run_with "PORTCULLIS_GRPC_ADDR=127.0.0.1:$p_env" -- --grpc-addr "127.0.0.1:$p_flag"
if listening "$p_flag"; then ok "--grpc-addr wins over the environment"; else bad "--grpc-addr wins over the environment" "$(cat "$SERVER_LOG")"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: a.test' "http://127.0.0.1:$p_http/check")
if [ "$code" = 200 ]; then ok "AuthConfigs from the file's paths serve"; else bad "AuthConfigs from the file's paths serve" "$code"; fi
stop_server
if [ $? -eq 0 ]; then ok "SIGTERM: exit 0"; else bad "SIGTERM: exit 0"; fi

# ---- a port 0 disables a listener ----
read -r p_g p_a < <(free_ports 2)
"$PC_BIN" serve --authconfigs "$tmp/ac" --plugin-dir "$PC_PLUGIN_DIR" --grpc-addr "127.0.0.1:$p_g" \
    --http-addr 127.0.0.1:0 --admin-addr "127.0.0.1:$p_a" --log-format text >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$p_a/readyz" && break; sleep 0.1; done
if grep -q "http=off\|http=-\|http=disabled" "$SERVER_LOG" || ! grep -q "http=127" "$SERVER_LOG"; then
    ok "port 0 disables the HTTP listener"
else
    bad "port 0 disables the HTTP listener" "$(cat "$SERVER_LOG")"
fi
stop_server

# ---- bad flags ----
out=$("$PC_BIN" serve --workers 0 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "workers" <<<"$out"; then ok "--workers 0 refused"; else bad "--workers 0 refused" "$out"; fi
out=$("$PC_BIN" serve --tls-cert /nonexistent 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "go together" <<<"$out"; then ok "--tls-cert without --tls-key refused"; else bad "--tls-cert without --tls-key refused" "$out"; fi
out=$("$PC_BIN" serve --log-level loud 2>&1); rc=$?
if [ $rc -eq 2 ]; then ok "a bad --log-level refused"; else bad "a bad --log-level refused" "$out"; fi
read -r p_busy < <(free_ports 1)
"$PY" -c "
import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $p_busy)); s.listen(); time.sleep(8)" &
stop_at_exit $!
sleep 0.3
out=$(timeout 10 "$PC_BIN" serve --authconfigs "$tmp/ac" --plugin-dir "$PC_PLUGIN_DIR" \
      --grpc-addr "127.0.0.1:$p_busy" --http-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "address already in use" <<<"$out"; then
    ok "a busy port is refused with the reason"
else
    bad "a busy port is refused with the reason" "rc=$rc $out"
fi
finish
