#!/bin/bash
# `portcullis serve` over HTTP, with curl: Authorino's raw /check (GET and
# POST, Host picks the AuthConfig, the 8192-byte body cap), Envoy's
# http_service mode (any method, the original path and query reach
# request.path), HTTP/2 with prior knowledge, and the admin port's
# /healthz, /readyz and /metrics.
#
# Env (set by ctest): PC_BIN, PC_PLUGIN_DIR.
set -u
: "${PC_BIN:?}"

source "$(dirname "$0")/lib/common.sh"

mkdir -p "$tmp/ac"
api_key_authconfig "$tmp/ac/api.yaml" <<'EOF'
  authorization:
    not-admin:
      patternMatching:
        patterns:
          - selector: request.method
            operator: neq
            value: DELETE
  response:
    success:
      headers:
        x-user:
          plain:
            selector: auth.identity.metadata.name
        x-path:
          plain:
            selector: request.path
EOF
cat >"$tmp/ac/paths.yaml" <<'EOF'
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: paths
  namespace: default
spec:
  hosts:
    - paths.test
  authentication:
    anon:
      anonymous: {}
  authorization:
    only-item-7:
      patternMatching:
        patterns:
          - selector: request.path
            operator: eq
            value: /items/7?q=1&r=two
  response:
    success:
      headers:
        x-method:
          plain:
            selector: request.method
    unauthorized:
      message:
        value: not on this path
      body:
        value: '{"error":"forbidden"}'
      headers:
        x-deny-why:
          value: path
EOF

if ! start_server "$tmp/ac" "${SMALL[@]}"; then
    bad "portcullis serve starts"; finish
fi

U="http://127.0.0.1:$HTTP"
KEY='Authorization: APIKEY alice-secret-key'
# req ARGS...: curl with headers+body in $tmp/out, status in $tmp/code.
req() { curl -s -m 10 -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}' "$@" >"$tmp/code" 2>/dev/null
        { cat "$tmp/code"; echo; cat "$tmp/hdr"; cat "$tmp/body"; } | tr -d '\r' >"$tmp/out"; }
code() { [ "$(cat "$tmp/code")" = "$1" ]; }
has() { grep -qi -- "^$1\$" "$tmp/out"; }
body() { [ "$(cat "$tmp/body")" = "$1" ]; }
metric() { curl -s -m 5 "http://127.0.0.1:$ADMIN/metrics" |
           awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'; }

ok_before=$(metric 'auth_server_response_status{status="OK"}')
unauth_before=$(metric 'auth_server_response_status{status="UNAUTHENTICATED"}')
denied_before=$(metric 'auth_server_response_status{status="PERMISSION_DENIED"}')

# ---- raw /check ----
req -H 'Host: api.test' -H "$KEY" "$U/check"
expect "raw GET /check: 200 with success headers (path is /check)" \
    eval 'code 200 && has "x-user: alice-key" && has "x-path: /check"'
req -X POST -H 'Host: api.test' -H "$KEY" --data-binary 'a=1&b=2' "$U/check?x=1"
expect "raw POST /check with a body: 200 with success headers" \
    eval 'code 200 && has "x-user: alice-key" && has "x-path: /check"'
req -H 'Host: api.test' "$U/check/"
expect "raw GET /check/ without a key: 401, www-authenticate, x-ext-auth-reason" \
    eval 'code 401 && has "www-authenticate: APIKEY realm=\"friends\"" && grep -qi "^x-ext-auth-reason: ." "$tmp/out"'
req -H 'Host: paths.test' "$U/check"
expect "raw /check denied by a rule: 403, custom headers and body" \
    eval 'code 403 && has "x-deny-why: path" && has "x-ext-auth-reason: not on this path" && body "{\"error\":\"forbidden\"}"'
req -H 'Host: nobody.test' "$U/check"
expect "raw /check for an unknown Host: 404 Service not found" \
    eval 'code 404 && has "x-ext-auth-reason: Service not found"'
head -c 8192 /dev/zero | tr '\0' a >"$tmp/8192"
head -c 8193 /dev/zero | tr '\0' a >"$tmp/8193"
head -c 100000 /dev/zero | tr '\0' a >"$tmp/100000"
req -X POST -H 'Host: api.test' -H "$KEY" --data-binary @"$tmp/8192" "$U/check"
expect "raw POST /check with an 8192-byte body: accepted (200)" code 200
req -X POST -H 'Host: api.test' -H "$KEY" --data-binary @"$tmp/8193" "$U/check"
expect "raw POST /check with an 8193-byte body: 413" code 413
req -X POST -H 'Host: api.test' -H "$KEY" --data-binary @"$tmp/100000" "$U/check"
expect "raw POST /check with a 100000-byte body: 413" code 413
req -X POST -H 'Host: api.test' -H "$KEY" -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/100000" "$U/check"
expect "raw POST /check with a chunked 100000-byte body: 413" code 413

# ---- Envoy http_service mode ----
for m in GET DELETE PATCH PUT OPTIONS POST; do
    req -X "$m" -H 'Host: paths.test' "$U/items/7?q=1&r=two"
    expect "http_service $m /items/7?q=1&r=two: path with query matches (200)" \
        eval "code 200 && has 'x-method: $m'"
done
req -H 'Host: paths.test' "$U/items/7?q=1"
expect "http_service: another query is another path (403 with body)" \
    eval 'code 403 && has "x-deny-why: path" && body "{\"error\":\"forbidden\"}"'
req -H 'Host: paths.test' "$U/items/7"
expect "http_service: no query, no match (403)" code 403
req -X DELETE -H 'Host: api.test' -H "$KEY" "$U/v1/things/1"
expect "http_service DELETE on api.test: the method rule denies (403)" code 403
req -X PUT -H 'Host: api.test' -H "$KEY" "$U/v1/things/1?a=b"
expect "http_service PUT on api.test: 200 and x-path is the original path" \
    eval 'code 200 && has "x-path: /v1/things/1?a=b"'
req -X HEAD -H 'Host: api.test' "$U/v1"
expect "http_service HEAD without a key: 401" code 401
req -X POST -H 'Host: api.test' -H "$KEY" -H 'Content-Length: 0' "$U/check-not"
expect "http_service: /check-not is not the raw endpoint" \
    eval 'code 200 && has "x-path: /check-not"'

# ---- HTTP/2 with prior knowledge on the HTTP port ----
req --http2-prior-knowledge -H 'Host: api.test' -H "$KEY" "$U/h2/path?z=1"
expect "h2c prior knowledge: http_service 200 with the original path" \
    eval 'grep -q "^HTTP/2 200" "$tmp/out" && has "x-path: /h2/path?z=1" && has "x-user: alice-key"'
req --http2-prior-knowledge -H 'Host: api.test' "$U/check"
expect "h2c prior knowledge: raw /check without a key is 401" \
    eval 'code 401 && has "www-authenticate: APIKEY realm=\"friends\""'
req --http2-prior-knowledge -X DELETE -H 'Host: paths.test' "$U/items/7?q=1&r=two"
expect "h2c prior knowledge: DELETE with query allowed" code 200
req --http2-prior-knowledge -X POST -H 'Host: api.test' -H "$KEY" --data-binary @"$tmp/8193" "$U/check"
expect "h2c prior knowledge: raw /check with an 8193-byte body: 413" code 413
req --http2 -H 'Host: api.test' -H "$KEY" "$U/upgrade"
expect "HTTP/1.1 Upgrade: h2c offer still answered (200)" code 200

# ---- admin ----
req "http://127.0.0.1:$ADMIN/healthz"
expect "admin /healthz: 200" code 200
req "http://127.0.0.1:$ADMIN/readyz"
expect "admin /readyz: 200" code 200
req "http://127.0.0.1:$ADMIN/metrics"
expect "admin /metrics: 200" code 200
for m in auth_server_response_status auth_server_authconfig_total \
         auth_server_authconfig_response_status auth_server_authconfig_duration_seconds; do
    expect "metrics: $m present" grep -q "^$m" "$tmp/out"
done
expect "metrics: per-AuthConfig counter for default/paths" \
    grep -q '^auth_server_authconfig_total{namespace="default",authconfig="paths"} [1-9]' "$tmp/out"
ok_after=$(metric 'auth_server_response_status{status="OK"}')
unauth_after=$(metric 'auth_server_response_status{status="UNAUTHENTICATED"}')
denied_after=$(metric 'auth_server_response_status{status="PERMISSION_DENIED"}')
# 200s above: 3 raw + 6 + 1 + 1 http_service + 2 h2 + 1 upgrade = 14.
expect "metrics: OK responses counted (+14)" [ $((ok_after - ok_before)) -eq 14 ]
# 401s: /check/, HEAD and h2 /check without a key; 403s: four rule denials.
expect "metrics: UNAUTHENTICATED responses counted (+3)" [ $((unauth_after - unauth_before)) -eq 3 ]
expect "metrics: PERMISSION_DENIED responses counted (+4)" [ $((denied_after - denied_before)) -eq 4 ]
req -H 'Host: api.test' -H "$KEY" "$U/check"
expect "metrics: one more allowed check counts one" \
    [ "$(metric 'auth_server_response_status{status="OK"}')" -eq $((ok_after + 1)) ]
req "http://127.0.0.1:$ADMIN/nope"
expect "admin: unknown path is 404" code 404

expect "server still running" kill -0 "$SERVER_PID"
stop_server
rc=$?
expect "SIGTERM: exit 0" [ "$rc" = 0 ]

finish
