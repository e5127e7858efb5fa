#!/bin/bash
# `portcullis cel`: one expression against the Authorization JSON of a
# CheckRequest, its value as JSON, errors with the column and the exit status.
#
# Env (set by ctest): PC_BIN, PC_SOURCE_DIR.
set -u
: "${PC_BIN:?}" "${PC_SOURCE_DIR:?}"

source "$(dirname "$0")/lib/common.sh"

req="$PC_SOURCE_DIR/tests/data/plugins/identity_api_key/allow-data.request.json"
printf '{"identity":{"name":"john","groups":["dev","ops"]}}' >"$tmp/auth.json"

# cel_case WHAT WANT_STATUS WANT_STDOUT WANT_STDERR_PART ARGS...
cel_case() {
    local what=$1 status=$2 out=$3 err=$4; shift 4
    "$PC_BIN" cel "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$status" ]; then
        bad "$what: exit $rc, want $status" "$(cat "$tmp/out" "$tmp/err")"
    elif [ -n "$out" ] && [ "$(cat "$tmp/out")" != "$out" ]; then
        bad "$what: stdout" "got $(cat "$tmp/out"), want $out"
    elif [ -n "$err" ] && ! grep -qF -- "$err" "$tmp/err"; then
        bad "$what: stderr" "got $(cat "$tmp/err"), want ...$err..."
    else
        ok "$what"
    fi
}

cel_case "a predicate" 0 true "" \
    "request.method == 'GET' && request.url_path.startsWith('/hello')" --request "$req"
cel_case "a header, lowered" 0 '"apikey ndybzreuzf4zqdqsqspmhkrhrieotcrx"' "" \
    "request.headers['authorization'].lowerAscii()" -r "$req"
cel_case "auth from --auth" 0 '"Hello, john"' "" "'Hello, ' + auth.identity.name" -r "$req" --auth "$tmp/auth.json"
cel_case "a map value" 0 '{"user":"john","groups":["DEV","OPS"]}' "" \
    "{'user': auth.identity.name, 'groups': auth.identity.groups.map(g, g.upperAscii())}" \
    -r "$req" -A "$tmp/auth.json"
cel_case "the request from standard input" 0 '"GET"' "" "request.method" -r - <"$req"
cel_case "a syntax error names the column" 2 "" "CEL: unexpected end of expression at line 1, column 18" \
    "request.method ==" -r "$req"
cel_case "an unknown variable is refused" 2 "" "undeclared reference to 'requets' at line 1, column 1" \
    "requets.method" -r "$req"
cel_case "a missing key is an evaluation error" 1 "" "no such key: nope at line 1, column 16" \
    "request.headers['nope'] == 'x'" -r "$req"
cel_case "without auth, auth is an error" 1 "" "no such attribute: auth" "auth.identity.name" -r "$req"
printf 'not json' >"$tmp/bad.json"
cel_case "a request that is not JSON" 2 "" "not a JSON CheckRequest" "true" -r "$tmp/bad.json"
cel_case "no request" 2 "" "usage: portcullis cel" "true"
finish
