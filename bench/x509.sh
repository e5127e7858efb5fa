#!/bin/bash
# x509 identity, in process on one core: the mTLS guide's AuthConfig with a
# certificate issued by the trusted CA (allowed), one through an
# intermediate sent with it, and one of an unknown CA (denied).
# usage: bench/x509.sh BUILD_DIR [iterations]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/x509.sh BUILD_DIR [iterations]}
iters=${2:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$here/../tests/fixtures/test_ca" "$here/../tests/data/guides/mtls.yaml" "$tmp" <<'PY'
import base64, json, os, sys, urllib.parse
sys.path.insert(0, sys.argv[1])
from test_ca import TestCA
guide, out = open(sys.argv[2]).read(), sys.argv[3]
root, other = TestCA("talker-api-ca"), TestCA("untrusted")
sub = root.intermediate("talker-api-sub-ca")
secret = ("apiVersion: v1\nkind: Secret\nmetadata: {name: talker-api-ca, labels: {app: talker-api}}\n"
          "data: {tls.crt: %s}\n---\n" % base64.b64encode(root.pem.encode()).decode())
open(os.path.join(out, "ac.yaml"), "w").write(secret + guide)
attrs = (("C", "PK"), ("O", "ACME Inc."))
for name, pem in (("allowed", root.issue("aisha", attrs)[0]),
                  ("chain", sub.issue("carol", attrs)[0] + sub.pem),
                  ("unknown-ca", other.issue("niko", attrs)[0])):
    req = {"attributes": {"source": {"certificate": urllib.parse.quote(pem, safe="")},
           "request": {"http": {"method": "GET", "path": "/hello",
                                "host": "talker-api.127.0.0.1.nip.io"}}}}
    open(os.path.join(out, name + ".json"), "w").write(json.dumps(req))
PY
for r in allowed chain unknown-ca; do
    PC_PLUGIN_DIR="$build/lib/portcullis/plugins" "$build/bench/bench_decide" \
        "$tmp/ac.yaml" "$tmp/$r.json" "$iters"
done
