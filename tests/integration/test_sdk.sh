#!/bin/bash
# The plugin SDK end to end, as a third party uses it: install the SDK to a
# temporary prefix, build the two examples out of tree against it (CMake
# package and pkg-config), then use their evaluator types in AuthConfigs
# exactly like built-ins and run requests through `portcullis eval`.
#
# Env (set by ctest): PC_BIN, PC_BUILD_DIR, PC_SOURCE_DIR, PC_PLUGIN_DIR.
set -u

: "${PC_BIN:?}" "${PC_BUILD_DIR:?}" "${PC_SOURCE_DIR:?}" "${PC_PLUGIN_DIR:?}"

source "$(dirname "$0")/lib/common.sh"

# ---- 1. install the SDK and build the examples against it only ----

if cmake --install "$PC_BUILD_DIR" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
    ok "cmake --install to a temporary prefix"
else
    bad "cmake --install to a temporary prefix" "$(tail -5 "$tmp/install.log")"
    finish
fi
for f in include/portcullis/portcullis.h lib/pkgconfig/portcullis-sdk.pc \
         lib/cmake/PortcullisSDK/PortcullisSDKConfig.cmake \
         lib/cmake/PortcullisSDK/PortcullisSDKConfigVersion.cmake; do
    if [ -f "$tmp/prefix/$f" ]; then ok "installed $f"; else bad "installed $f"; fi
done

# The install tree must not leak the source tree's include path.
for ex in hmac_identity http_authz; do
    # A copy, so nothing can reach back into the source tree by a relative path.
    cp -r "$PC_SOURCE_DIR/sdk/examples/$ex" "$tmp/src-$ex"
    if cmake -S "$tmp/src-$ex" -B "$tmp/build-$ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
            >"$tmp/$ex.log" 2>&1 &&
       cmake --build "$tmp/build-$ex" >>"$tmp/$ex.log" 2>&1 &&
       [ -f "$tmp/build-$ex/$ex.so" ]; then
        ok "example $ex builds with find_package(PortcullisSDK)"
    else
        bad "example $ex builds with find_package(PortcullisSDK)" "$(tail -15 "$tmp/$ex.log")"
    fi
done

# An SDK of another major must not satisfy find_package(PortcullisSDK 1.0).
mkdir -p "$tmp/src-v2"
cat >"$tmp/src-v2/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(v2 C)
find_package(PortcullisSDK 2.0 REQUIRED)
EOF
if cmake -S "$tmp/src-v2" -B "$tmp/build-v2" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/v2.log" 2>&1; then
    bad "find_package(PortcullisSDK 2.0) is refused by a 1.x SDK"
else
    ok "find_package(PortcullisSDK 2.0) is refused by a 1.x SDK"
fi

# pkg-config: the same plugin from a plain compiler line.
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
pc_cflags=$(pkg-config --cflags portcullis-sdk 2>&1 | sed "s/ *$//")
pc_dir=$(pkg-config --variable=pluginsdir portcullis-sdk 2>&1)
if [ "$pc_cflags" = "-I$tmp/prefix/include" ] && [ "$pc_dir" = "$tmp/prefix/lib/portcullis/plugins" ]; then
    ok "pkg-config names the installed include and plugin directories"
else
    bad "pkg-config names the installed include and plugin directories" "cflags=$pc_cflags pluginsdir=$pc_dir"
fi
mkdir -p "$tmp/pkgconfig-build"
# shellcheck disable=SC2086
if gcc -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -Wl,--no-undefined \
        $pc_cflags -o "$tmp/pkgconfig-build/hmac_identity.so" \
        "$tmp/src-hmac_identity/hmac_identity.c" 2>"$tmp/pkgconfig.log" &&
   "$PC_BIN" plugins --plugin-dir "$tmp/pkgconfig-build" 2>&1 | grep -q hmacSignature; then
    ok "a plugin built with pkg-config flags loads"
else
    bad "a plugin built with pkg-config flags loads" "$(cat "$tmp/pkgconfig.log")"
fi

if [ ! -f "$tmp/build-hmac_identity/hmac_identity.so" ] || [ ! -f "$tmp/build-http_authz/http_authz.so" ]; then
    finish
fi

# The installed server finds the built-ins relative to its own prefix.
if "$tmp/prefix/bin/portcullis" plugins 2>&1 | grep -q "$tmp/prefix/lib/portcullis/plugins/identity_anonymous.so"; then
    ok "installed portcullis lists its built-in plugins"
else
    bad "installed portcullis lists its built-in plugins" "$("$tmp/prefix/bin/portcullis" plugins 2>&1)"
fi

PLUGIN_ARGS=(--plugin-dir "$PC_PLUGIN_DIR" --plugin-dir "$tmp/build-hmac_identity"
             --plugin-dir "$tmp/build-http_authz")

listing=$("$PC_BIN" plugins "${PLUGIN_ARGS[@]}" 2>&1)
if grep -Eq "^authentication +hmacSignature" <<<"$listing" &&
   grep -Eq "^authorization +externalDecision" <<<"$listing"; then
    ok "portcullis plugins lists both example types"
else
    bad "portcullis plugins lists both example types" "$listing"
fi

# ---- 2. the decision service for externalDecision ----

cat >"$tmp/decider.py" <<'EOF'
# Grants /allowed to anyone, /signed-only to keyId k1; 500 on /broken;
# 403 with a reason on /forbidden; every other path is {"allow": false}.
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        q = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps(q, sort_keys=True) + "\n")
        path, ident = q.get("path"), q.get("identity") or {}
        if path == "/broken":
            return self.reply(500, {"error": "boom"})
        if path == "/forbidden":
            return self.reply(403, {"reason": "forbidden by policy"})
        allow = path == "/allowed" or (path == "/signed-only" and ident.get("keyId") == "k1")
        body = {"allow": allow}
        if not allow:
            body["reason"] = "not on the list"
        self.reply(200, body)

    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def log_message(self, *a):
        pass

s = HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
EOF
"$PY" "$tmp/decider.py" "$tmp/port.tmp" "$tmp/decider.log" &
stop_at_exit $!
for _ in $(seq 50); do
    [ -s "$tmp/port.tmp" ] && break
    sleep 0.1
done
port=$(cat "$tmp/port.tmp" 2>/dev/null)
if [ -z "$port" ]; then
    bad "decision service started"
    finish
fi
# A port nothing listens on, for the fail-closed case.
dead_port=$(free_ports 1)

# ---- 3. AuthConfigs using the example types like built-ins ----

cat >"$tmp/authconfigs.yaml" <<EOF
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: signed
  namespace: sdk
spec:
  hosts:
  - signed.sdk.test
  authentication:
    signed:
      hmacSignature:
        keys:
          k1: s3cret
          k2: other-secret
        maxSkewSeconds: 300
  response:
    success:
      headers:
        x-key-id:
          plain:
            selector: auth.identity.keyId
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: decided
  namespace: sdk
spec:
  hosts:
  - decided.sdk.test
  authentication:
    signed:
      hmacSignature:
        keys:
          k1: s3cret
          k2: other-secret
  authorization:
    service:
      externalDecision:
        url: http://127.0.0.1:$port/decide
        ttl: 60
  response:
    success:
      headers:
        x-decision:
          json:
            properties:
              allow:
                selector: auth.authorization.service.allow
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: unreachable
  namespace: sdk
spec:
  hosts:
  - unreachable.sdk.test
  authentication:
    anyone:
      anonymous: {}
  authorization:
    service:
      externalDecision:
        url: http://127.0.0.1:$dead_port/decide
        ttl: 0
EOF

if "$PC_BIN" check "${PLUGIN_ARGS[@]}" "$tmp/authconfigs.yaml" >"$tmp/check.out" 2>&1; then
    ok "portcullis check accepts AuthConfigs using the example types"
else
    bad "portcullis check accepts AuthConfigs using the example types" "$(cat "$tmp/check.out")"
fi

# mkreq NAME HOST METHOD PATH SIGN(key:secret|-) DATE_OFFSET_S [SIGNED_PATH]
# Writes $tmp/NAME.json, a CheckRequest in Envoy's proto3 JSON.
mkreq() {
    "$PY" - "$tmp/$1.json" "$2" "$3" "$4" "$5" "$6" "${7:-$4}" <<'EOF'
import base64, hashlib, hmac, json, sys, time
from email.utils import formatdate
out, host, method, path, sign, offset, signed_path = sys.argv[1:]
date = formatdate(time.time() + int(offset), usegmt=True)
headers = {":authority": host, ":method": method, ":path": path, "date": date}
if sign != "-":
    kid, secret = sign.split(":", 1)
    msg = "%s\n%s\n%s" % (method, signed_path, date)
    mac = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()
    headers["x-signature"] = "keyId=%s,signature=%s" % (kid, base64.b64encode(mac).decode())
req = {"attributes": {"request": {"http": {
    "id": "sdk-" + out.rsplit("/", 1)[-1], "method": method, "headers": headers,
    "path": path, "host": host, "scheme": "http", "protocol": "HTTP/1.1"}}}}
json.dump(req, open(out, "w"), indent=2)
EOF
}

# expect_decision NAME PYTHON-CONDITION-ON-r
# Runs $tmp/NAME.json through portcullis eval and checks the JSON decision.
expect_decision() {
    local name=$1 cond=$2 out
    out=$("$PC_BIN" eval --authconfigs "$tmp/authconfigs.yaml" --request "$tmp/$name.json" \
              "${PLUGIN_ARGS[@]}" --output json --explain 2>"$tmp/$name.err")
    if "$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$out" "$cond" 2>>"$tmp/$name.err"; then
        ok "$name"
    else
        bad "$name: want $cond" "$out
$(cat "$tmp/$name.err")"
    fi
}

# ---- 4. hmacSignature ----

mkreq signed-valid signed.sdk.test GET /hello k1:s3cret 0
expect_decision signed-valid 'r["allowed"] and r["headers"].get("x-key-id") == "k1"'

mkreq signed-second-key signed.sdk.test POST /orders k2:other-secret -20
expect_decision signed-second-key 'r["allowed"] and r["headers"].get("x-key-id") == "k2"'

mkreq signed-within-skew signed.sdk.test GET /hello k1:s3cret 240
expect_decision signed-within-skew 'r["allowed"]'

mkreq unsigned signed.sdk.test GET /hello - 0
expect_decision unsigned 'not r["allowed"] and r["http_status"] == 401 and r["code"] == 16 and "x-signature" in r["reason"]'

mkreq skewed-past signed.sdk.test GET /hello k1:s3cret -3600
expect_decision skewed-past 'not r["allowed"] and r["http_status"] == 401 and "server clock" in r["reason"]'

mkreq skewed-future signed.sdk.test GET /hello k1:s3cret 900
expect_decision skewed-future 'not r["allowed"] and "server clock" in r["reason"]'

mkreq wrong-secret signed.sdk.test GET /hello k1:guess 0
expect_decision wrong-secret 'not r["allowed"] and r["reason"] == "invalid signature"'

mkreq unknown-key signed.sdk.test GET /hello k9:s3cret 0
expect_decision unknown-key 'not r["allowed"] and r["reason"] == "invalid signature"'

mkreq other-path signed.sdk.test GET /admin k1:s3cret 0 /hello
expect_decision other-path 'not r["allowed"] and r["reason"] == "invalid signature"'

mkreq signed-explain signed.sdk.test GET /hello k1:s3cret 0
expect_decision signed-explain 'any(e["type"] == "hmacSignature" and e["outcome"] for e in r["explain"])'

# Secrets never reach the output.
if grep -rq "s3cret" "$tmp"/*.err 2>/dev/null; then
    bad "no secret in any stderr"
else
    ok "no secret in any stderr"
fi

# ---- 5. externalDecision ----

: >"$tmp/decider.log"
mkreq decided-allowed decided.sdk.test GET /allowed k2:other-secret 0
expect_decision decided-allowed 'r["allowed"] and r["headers"].get("x-decision") == "{\"allow\":true}"'

if "$PY" - "$tmp/decider.log" <<'EOF'
import json, sys
q = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if q == [{"method": "GET", "path": "/allowed", "identity": {"keyId": "k2"}}] else 1)
EOF
then
    ok "the decision service got {method, path, identity} once"
else
    bad "the decision service got {method, path, identity} once" "$(cat "$tmp/decider.log")"
fi

mkreq decided-identity decided.sdk.test GET /signed-only k1:s3cret 0
expect_decision decided-identity 'r["allowed"]'

mkreq decided-identity-other decided.sdk.test GET /signed-only k2:other-secret 0
expect_decision decided-identity-other 'not r["allowed"] and r["http_status"] == 403 and r["code"] == 7 and r["reason"] == "not on the list"'

mkreq decided-forbidden decided.sdk.test DELETE /forbidden k1:s3cret 0
expect_decision decided-forbidden 'not r["allowed"] and r["http_status"] == 403 and r["reason"] == "forbidden by policy"'

mkreq decided-broken decided.sdk.test GET /broken k1:s3cret 0
expect_decision decided-broken 'not r["allowed"] and any(e["type"] == "externalDecision" and "500" in e.get("reason", "") for e in r["explain"])'

mkreq decided-unsigned decided.sdk.test GET /allowed - 0
expect_decision decided-unsigned 'not r["allowed"] and r["http_status"] == 401'

mkreq unreachable unreachable.sdk.test GET /allowed - 0
expect_decision unreachable 'not r["allowed"] and any(e["type"] == "externalDecision" and "unreachable" in e.get("reason", "") for e in r["explain"])'

# ---- 6. bad configs are reported by the plugin's create and schema ----

cat >"$tmp/bad.yaml" <<'EOF'
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: bad
  namespace: sdk
spec:
  hosts:
  - bad.sdk.test
  authentication:
    nokeys:
      hmacSignature:
        keys: {}
  authorization:
    nourl:
      externalDecision:
        url: ftp://example.com/
EOF
bad_out=$("$PC_BIN" check "${PLUGIN_ARGS[@]}" "$tmp/bad.yaml" 2>&1)
bad_rc=$?
if [ $bad_rc -ne 0 ] && grep -q "bad.yaml:.*spec.authentication.nokeys.*keys must map" <<<"$bad_out"; then
    ok "hmacSignature without keys is refused with file, line and path"
else
    bad "hmacSignature without keys is refused with file, line and path" "$bad_out"
fi
if grep -q "bad.yaml:.*spec.authorization.nourl" <<<"$bad_out"; then
    ok "externalDecision with a non-HTTP url is refused"
else
    bad "externalDecision with a non-HTTP url is refused" "$bad_out"
fi

# ---- 7. through the running server: real requests, cached decisions ----

# A server that never gets ready shows in the next check, with its log.
start_server "$tmp/authconfigs.yaml" "${PLUGIN_ARGS[@]}"
signed_curl() { # METHOD PATH KEYID:SECRET -> HTTP status
    local hdrs
    hdrs=$("$PY" - "$1" "$2" "$3" <<'EOF'
import base64, hashlib, hmac, sys, time
from email.utils import formatdate
method, path, sign = sys.argv[1:]
date = formatdate(time.time(), usegmt=True)
kid, secret = sign.split(":", 1)
mac = hmac.new(secret.encode(), ("%s\n%s\n%s" % (method, path, date)).encode(), hashlib.sha256).digest()
print("date: " + date)
print("x-signature: keyId=%s,signature=%s" % (kid, base64.b64encode(mac).decode()))
EOF
)
    local -a args=()
    while IFS= read -r h; do args+=(-H "$h"); done <<<"$hdrs"
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Host: decided.sdk.test" "${args[@]}" \
        "http://127.0.0.1:$HTTP$2"
}
: >"$tmp/decider.log"
first=$(signed_curl GET /allowed k1:s3cret)
second=$(signed_curl GET /allowed k1:s3cret)
denied=$(signed_curl GET /nope k1:s3cret)
calls=$(wc -l <"$tmp/decider.log")
if [ "$first" = 200 ] && [ "$second" = 200 ] && [ "$denied" = 403 ]; then
    ok "the server decides real requests with both example plugins"
else
    bad "the server decides real requests with both example plugins" \
        "statuses $first $second $denied; $(cat "$SERVER_LOG")"
fi
if [ "$calls" = 2 ]; then
    ok "a repeated request is answered from the plugin's cache (2 calls for 3 checks)"
else
    bad "a repeated request is answered from the plugin's cache (2 calls for 3 checks)" \
        "$(cat "$tmp/decider.log")"
fi
stop_server

finish
