#!/bin/bash
# nginx's auth_request in front of an upstream, with Portcullis's HTTP port
# (Envoy http_service mode) as the authorization service: allowed requests
# reach the upstream with a success header from Portcullis, denied ones get
# 401/403 from nginx and never reach it.
#
# Env (set by ctest): PC_BIN, PC_PLUGIN_DIR. Needs /usr/sbin/nginx with
# http_auth_request_module (Debian's nginx has it); skips without it.
set -u
: "${PC_BIN:?}"
NGINX=${NGINX:-/usr/sbin/nginx}

source "$(dirname "$0")/lib/common.sh"

[ -x "$NGINX" ] || skip_all "$NGINX not found"
"$NGINX" -V 2>&1 | grep -q -- '--with-http_auth_request_module' ||
    skip_all "$NGINX was built without http_auth_request_module"

mkdir -p "$tmp/ac" "$tmp/nginx/logs" "$tmp/nginx/tmp"
api_key_authconfig "$tmp/ac/api.yaml" <<'EOF'
  authorization:
    no-admin:
      patternMatching:
        patterns:
          - selector: request.path
            operator: matches
            value: ^/(public|api)/
  response:
    success:
      headers:
        x-auth-user:
          plain:
            selector: auth.identity.metadata.name
        x-auth-path:
          plain:
            selector: request.path
EOF

if ! start_server "$tmp/ac" "${SMALL[@]}"; then
    bad "portcullis serve starts"; finish
fi
read -r NGX UP < <(free_ports 2)

user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path $tmp/nginx/tmp/proxy;
    fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
    scgi_temp_path $tmp/nginx/tmp/scgi;

    # The upstream: echoes what reached it.
    server {
        listen 127.0.0.1:$UP;
        location / {
            default_type text/plain;
            return 200 "upstream method=\$request_method uri=\$request_uri user=\$http_x_user authpath=\$http_x_auth_path\n";
        }
    }

    server {
        listen 127.0.0.1:$NGX;
        location / {
            auth_request /_portcullis;
            auth_request_set \$auth_user \$upstream_http_x_auth_user;
            auth_request_set \$auth_path \$upstream_http_x_auth_path;
            proxy_set_header X-User \$auth_user;
            proxy_set_header X-Auth-Path \$auth_path;
            proxy_pass http://127.0.0.1:$UP;
        }
        location = /_portcullis {
            internal;
            proxy_pass http://127.0.0.1:$HTTP\$request_uri;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host \$host;
        }
    }
}
EOF

"$NGINX" -p "$tmp/nginx" -c nginx.conf -e stderr >"$tmp/nginx.log" 2>&1 &
npid=$!
stop_at_exit "$npid"

# wait_up URL PID: URL answers before PID exits, within 10 s.
wait_up() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null -m 1 "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
if ! wait_up "http://127.0.0.1:$UP/" "$npid"; then
    bad "nginx starts" "$(tail -20 "$tmp/nginx.log")"; finish
fi
ok "portcullis and nginx started"

N="http://127.0.0.1:$NGX"
KEY='Authorization: APIKEY alice-secret-key'
req() { curl -s -m 10 -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}' "$@" >"$tmp/code" 2>/dev/null
        { cat "$tmp/code"; echo; cat "$tmp/hdr"; cat "$tmp/body"; } | tr -d '\r' >"$tmp/out"; }
code() { [ "$(cat "$tmp/code")" = "$1" ]; }
in_body() { grep -qF -- "$1" "$tmp/body"; }

req -H 'Host: api.test' -H "$KEY" "$N/api/items?id=7"
expect "allowed: 200 from the upstream" eval 'code 200 && in_body "upstream method=GET uri=/api/items?id=7"'
expect "allowed: Portcullis's success header reaches the upstream" in_body "user=alice-key"
expect "allowed: the original path with query reached request.path" \
    in_body "authpath=/api/items?id=7"

req -X POST -H 'Host: api.test' -H "$KEY" --data-binary 'payload' "$N/public/form"
expect "allowed POST with a body: 200 from the upstream" \
    eval 'code 200 && in_body "upstream method=POST uri=/public/form user=alice-key"'

req -H 'Host: api.test' "$N/api/items"
expect "no credentials: 401 from nginx, upstream not reached" \
    eval 'code 401 && ! in_body upstream'
req -H 'Host: api.test' -H 'Authorization: APIKEY wrong' "$N/api/items"
expect "wrong key: 401 from nginx" eval 'code 401 && ! in_body upstream'
req -H 'Host: api.test' -H "$KEY" "$N/admin/panel"
expect "path rule denies: 403 from nginx, upstream not reached" \
    eval 'code 403 && ! in_body upstream'
req -H 'Host: api.test' -H "$KEY" "$N/adminx?next=/api/x"
expect "the query is part of the path the rule sees: 403" code 403

# Many in a row over nginx's keep-alive connections to Portcullis.
okn=0
for i in $(seq 1 30); do
    c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Host: api.test' -H "$KEY" "$N/api/n$i")
    [ "$c" = 200 ] && okn=$((okn + 1))
done
expect "30 allowed requests in a row: all 200" [ "$okn" -eq 30 ]

expect "portcullis still running" kill -0 "$SERVER_PID"
expect "nginx still running" kill -0 "$npid"

if [ "$fail" -ne 0 ]; then echo "---- nginx log ----"; tail -20 "$tmp/nginx.log"; fi
finish
