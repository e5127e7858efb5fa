#!/bin/bash
# Everything under configs/ works as shipped: the AuthConfigs and examples
# pass `portcullis check`, the example requests get the documented
# decisions, the Kubernetes ConfigMap holds a valid AuthConfig, and the
# server starts on configs/server.yaml.
set -u
. "$(dirname "$0")/lib/common.sh"
: "${PC_BIN:?}" "${PC_SOURCE_DIR:?}"
cd "$PC_SOURCE_DIR"
P=(--plugin-dir "$PC_PLUGIN_DIR")

# Each on its own: the example claims a host the shipped AuthConfig has too.
for dir in configs/authconfigs configs/examples; do
    out=$("$PC_BIN" check "${P[@]}" "$dir" 2>&1)
    if [ $? -eq 0 ] && grep -q "0 errors, 0 warnings" <<<"$out"; then
        ok "portcullis check $dir: clean"
    else
        bad "portcullis check $dir: clean" "$out"
    fi
done

decision() { # REQUEST-FILE PYTHON-CONDITION-ON-r
    "$PC_BIN" eval "${P[@]}" --authconfigs configs/authconfigs --request "$1" \
        --output json >"$tmp/out" 2>&1
    "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$tmp/out"
}
expect "talker-api-get.json: allowed (anonymous reader)" \
    decision configs/requests/talker-api-get.json 'r["allowed"] and r["code"] == 0'
expect "talker-api-post-apikey.json: allowed as api-key-1" \
    decision configs/requests/talker-api-post-apikey.json \
    'r["allowed"] and json.loads(r["headers"]["x-auth-data"]) == {"user": "api-key-1", "method": "POST"}'
sed 's/"authorization": "APIKEY [^"]*",//' configs/requests/talker-api-post-apikey.json >"$tmp/nokey.json"
expect "the same POST without its key: 401 with an APIKEY challenge" \
    decision "$tmp/nokey.json" \
    'not r["allowed"] and r["http_status"] == 401 and r["headers"]["www-authenticate"] == "APIKEY realm=\"api-key-users\""'

mkdir -p "$tmp/cm"
"$PY" - configs/kubernetes/authconfigs-configmap.yaml "$tmp/cm" <<'PYEOF'
import os, sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    for name, text in (doc or {}).get("data", {}).items():
        open(os.path.join(sys.argv[2], name), "w").write(text)
PYEOF
out=$("$PC_BIN" check "${P[@]}" "$tmp/cm" 2>&1)
if [ $? -eq 0 ] && grep -q "^1 AuthConfig loaded" <<<"$out"; then
    ok "the Kubernetes ConfigMap holds a valid AuthConfig"
else
    bad "the Kubernetes ConfigMap holds a valid AuthConfig" "$out"
fi

read -r g h a < <(free_ports 3)
"$PC_BIN" serve --config configs/server.yaml "${P[@]}" --grpc-addr "127.0.0.1:$g" \
    --http-addr "127.0.0.1:$h" --admin-addr "127.0.0.1:$a" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ready=
for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$a/readyz" && { ready=1; break; }
    sleep 0.1
done
if [ -n "$ready" ] && grep -q '"msg":"listening grpc=127.0.0.1:'"$g" "$SERVER_LOG"; then
    ok "serve --config configs/server.yaml starts, logs JSON lines and says where it listens"
else
    bad "serve --config configs/server.yaml starts, logs JSON lines and says where it listens" \
        "$(cat "$SERVER_LOG")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: talker-api.127.0.0.1.nip.io' \
       "http://127.0.0.1:$h/hello")
if [ "$code" = 200 ]; then ok "the shipped AuthConfig serves GET /hello"; else bad "the shipped AuthConfig serves GET /hello" "$code"; fi
stop_server
finish
