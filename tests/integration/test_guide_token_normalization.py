#!/usr/bin/python3
"""Authorino's token-normalization guide end to end: `jwt` with an
`overrides` that reads auth.identity.realm_access.roles, `apiKey` with a
`defaults` of ["admin"], and an authorization that applies `when` the
method is DELETE. Over the HTTP port as the guide prints, and over gRPC;
the OIDC provider is the fixture in tests/fixtures/oidc_provider."""

import http.client
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import Checks, PC_SOURCE_DIR, Server  # noqa: E402
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "oidc_provider"))
from oidc_provider import OidcProvider  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
API_KEY = "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx"
GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides", "token-normalization.yaml")

checks = Checks()
check = checks.check


def http_call(srv, method, authorization):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=30)
    try:
        c.request(method, "/hello", headers={"Host": HOST, "Authorization": authorization})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-tn-")
    op = OidcProvider().start()
    srv = None
    try:
        with checks.guard():
            with open(GUIDE) as f:
                text = f.read().replace("@ISSUER@", op.issuer)
            srv = Server(tmp, authconfig_text=text, name="guide",
                         extra=["--io-threads", "2", "--workers", "2"])
            if not check(srv.ready(), "serve: the guide's AuthConfig loads", srv.logtail()):
                return
            jane = op.mint(sub="jane", realm_access={"roles": ["member", "admin"]})
            john = op.mint(sub="john", realm_access={"roles": ["member"]})
            for who, method, auth, want in (
                    ("Jane (admin, from Keycloak roles)", "DELETE", "Bearer " + jane, 200),
                    ("John (member)", "DELETE", "Bearer " + john, 403),
                    ("John (member)", "GET", "Bearer " + john, 200),
                    ("the API key (default roles [admin])", "DELETE", "APIKEY " + API_KEY, 200),
                    ("a wrong API key", "DELETE", "APIKEY nope", 401)):
                st = http_call(srv, method, auth)
                check(st == want, "http: %s %s /hello -> %d" % (who, method, want), st)

            sys.path.insert(0, os.path.join(HERE, "pyclient"))
            if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
                os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"],
                                                             "python")
            from extauthz_client import Client, build_check_request
            with Client(srv.grpc, timeout=30) as c:
                for who, tok, want in (("Jane", jane, 0), ("John", john, 7)):
                    r = c.check(build_check_request(HOST, "/hello", method="DELETE", headers={
                        "authorization": "Bearer " + tok}))
                    check(r.status.code == want, "grpc: %s DELETE -> code %d" % (who, want),
                          r.status)
    finally:
        if srv:
            srv.stop()
        op.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
