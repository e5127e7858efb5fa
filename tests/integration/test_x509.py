#!/usr/bin/python3
"""x509 identity end to end: client certificates from a test CA
(tests/fixtures/test_ca) through `portcullis eval`, `portcullis check`, and
`portcullis serve` over gRPC (source.certificate as Envoy sends it) and over
the HTTP port with TLS client certificates; the AuthConfig of Authorino's
mTLS guide, with the decisions the guide prints."""

import base64
import datetime
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       plugin_args, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "test_ca"))
from test_ca import TestCA, der_of  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides", "mtls.yaml")
UNKNOWN = "x509: certificate signed by unknown authority"
CHALLENGE = 'Certificate realm="mtls"'

checks = Checks()
check = checks.check


def b64(s):
    return base64.b64encode(s.encode()).decode()


def secrets(root, other_ns, sub_only, stringdata_ca):
    """The guide's CA Secret (kubectl create secret tls: base64 data), one
    in another namespace, one holding only an intermediate, and one given
    as stringData."""
    return """\
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: talker-api-ca
  namespace: default
  labels: {authorino.kuadrant.io/managed-by: authorino, app: talker-api}
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: elsewhere-ca, namespace: other, labels: {app: talker-api}}
data: {tls.crt: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: sub-ca, namespace: default, labels: {app: sub-only}}
data: {tls.crt: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: plain-ca, namespace: default, labels: {app: talker-api}}
stringData:
  tls.crt: |
%s""" % (b64(root.pem), b64("not a key"), b64(other_ns.pem), b64(sub_only.pem),
         "".join("    " + ln + "\n" for ln in stringdata_ca.pem.splitlines()))


def authconfig(name="talker-api-protection", x509_extra="", selector="{app: talker-api}",
               host=HOST):
    return """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: %s, namespace: default}
spec:
  hosts: [%s]
  authentication:
    "mtls":
      x509:
        selector:
          matchLabels: %s
%s
  authorization:
    "acme":
      patternMatching:
        patterns:
        - selector: auth.identity.Organization
          operator: incl
          value: ACME Inc.
  response:
    success:
      headers:
        x-subject:
          json: {properties: {s: {selector: auth.identity}}}
""" % (name, host, selector, "".join("        " + x + "\n" for x in x509_extra.split("\n") if x))


def enc(pem_text):
    """URL-encoded PEM as Envoy puts it in source.certificate."""
    return urllib.parse.quote(pem_text, safe="")


class Pki:
    def __init__(self, tmp):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        day = datetime.timedelta(days=1)
        self.root = TestCA("talker-api-ca")
        self.untrusted = TestCA("untrusted")
        self.other_ns = TestCA("elsewhere-ca")
        self.plain = TestCA("plain-ca")
        self.sub = self.root.intermediate("talker-api-sub-ca")
        self.sub_only_root = TestCA("sub-only-root")
        self.sub_only = self.sub_only_root.intermediate("sub-only-ca")
        attrs = (("C", "PK"), ("L", "Islamabad"), ("O", "ACME Inc."), ("OU", "Engineering"))
        self.aisha = self.root.issue("aisha", attrs)
        self.john = self.root.issue("john", (("C", "UK"), ("L", "London")))
        self.niko = self.untrusted.issue("niko", (("C", "JP"), ("L", "Osaka")))
        self.expired = self.root.issue("old", (("O", "ACME Inc."),),
                                       not_before=now - 10 * day, not_after=now - day)
        self.future = self.root.issue("soon", (("O", "ACME Inc."),),
                                      not_before=now + day, not_after=now + 10 * day)
        self.server_only = self.root.issue("srv", (("O", "ACME Inc."),),
                                           eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
        self.via_sub = self.sub.issue("carol", (("O", "ACME Inc."),))
        self.other = self.other_ns.issue("olga", (("O", "ACME Inc."),))
        self.from_plain = self.plain.issue("pat", (("O", "ACME Inc."),))
        self.from_sub_only = self.sub_only.issue("sam", (("O", "ACME Inc."),))
        self.secrets = secrets(self.root, self.other_ns, self.sub_only, self.plain)
        self.dir = tmp

    def files(self, name, pair):
        crt = write(os.path.join(self.dir, name + ".crt"), pair[0])
        key = write(os.path.join(self.dir, name + ".key"), pair[1])
        return crt, key


def run_eval(tmp, ac_text, cert=None, headers=None, time_=None):
    ac = write(os.path.join(tmp, "eval.yaml"), ac_text)
    hdrs = {":authority": HOST, ":method": "GET", ":path": "/hello"}
    hdrs.update(headers or {})
    attrs = {"request": {"http": {"id": "1", "method": "GET", "headers": hdrs,
                                  "path": "/hello", "host": HOST, "scheme": "https",
                                  "protocol": "HTTP/1.1"}}}
    if time_ is not None:
        attrs["request"]["time"] = time_
    if cert is not None:
        attrs["source"] = {"certificate": cert}
    req = write(os.path.join(tmp, "request.json"), json.dumps({"attributes": attrs}))
    p = subprocess.run([PC_BIN, "eval", "--output", "json", "-a", ac, "-r", req] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out


def subject_of(out):
    try:
        return json.loads(out["headers"]["x-subject"])["s"]
    except (KeyError, TypeError, ValueError):
        return None


def denied(out, reason, status=401):
    return (out is not None and not out["allowed"] and out["http_status"] == status and
            out["reason"] == reason and
            (status != 401 or out["headers"].get("www-authenticate") == CHALLENGE))


def test_eval(pki, tmp):
    ac = pki.secrets + "---\n" + authconfig()
    p, out = run_eval(tmp, ac, enc(pki.aisha[0]))
    s = subject_of(out)
    check(out is not None and out["allowed"] and s is not None,
          "eval: aisha (trusted CA, O=ACME Inc.) is allowed", (p.stdout, p.stderr))
    want = {"Country": ["PK"], "Organization": ["ACME Inc."],
            "OrganizationalUnit": ["Engineering"], "Locality": ["Islamabad"],
            "Province": None, "StreetAddress": None, "PostalCode": None,
            "SerialNumber": "", "CommonName": "aisha",
            "Names": [{"Type": [2, 5, 4, 3], "Value": "aisha"},
                      {"Type": [2, 5, 4, 6], "Value": "PK"},
                      {"Type": [2, 5, 4, 7], "Value": "Islamabad"},
                      {"Type": [2, 5, 4, 10], "Value": "ACME Inc."},
                      {"Type": [2, 5, 4, 11], "Value": "Engineering"}],
            "ExtraNames": None}
    check(s == want, "eval: the identity is the subject in Authorino's shape", s)

    p, out = run_eval(tmp, ac, enc(pki.john[0]))
    check(denied(out, "Unauthorized", 403),
          "eval: john (trusted CA, no Organization) -> 403 as the guide prints", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.niko[0]))
    check(denied(out, UNKNOWN),
          "eval: niko (unknown CA) -> 401 %r, %s" % (UNKNOWN, CHALLENGE), p.stdout)
    p, out = run_eval(tmp, ac, None)
    check(denied(out, "client certificate is missing"),
          "eval: no certificate -> 401 client certificate is missing", p.stdout)
    p, out = run_eval(tmp, ac, "%ZZnot-a-cert")
    check(denied(out, "invalid client certificate"),
          "eval: a malformed escape -> 401 invalid client certificate", p.stdout)
    p, out = run_eval(tmp, ac, enc("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
    check(denied(out, "invalid client certificate"),
          "eval: PEM that is no certificate -> 401 invalid client certificate", p.stdout)

    p, out = run_eval(tmp, ac, enc(pki.expired[0]))
    check(out is not None and not out["allowed"] and out["http_status"] == 401 and
          out["reason"].startswith("x509: certificate has expired or is not yet valid: "
                                   "current time ") and " is after " in out["reason"],
          "eval: expired -> 401 x509: certificate has expired ... is after ...", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.future[0]))
    check(out is not None and not out["allowed"] and out["http_status"] == 401 and
          " is before " in out.get("reason", ""),
          "eval: not yet valid -> 401 x509: ... is before ...", p.stdout)
    # The request's time decides, not the clock: the expired certificate
    # was valid two days ago.
    two_days_ago = int(datetime.datetime.now().timestamp()) - 2 * 86400
    p, out = run_eval(tmp, ac, enc(pki.expired[0]), time_={"seconds": two_days_ago})
    check(out is not None and out["allowed"],
          "eval: validity is judged at request.time (expired now, valid then)", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.server_only[0]))
    check(denied(out, "x509: certificate specifies an incompatible key usage"),
          "eval: a serverAuth-only certificate -> 401 incompatible key usage", p.stdout)

    p, out = run_eval(tmp, ac, enc(pki.via_sub[0]))
    check(denied(out, UNKNOWN), "eval: leaf of an intermediate, sent alone -> 401 unknown "
          "authority", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.via_sub[0] + pki.sub.pem))
    check(out is not None and out["allowed"] and subject_of(out)["CommonName"] == "carol",
          "eval: leaf + intermediate chain to the trusted root -> allowed", p.stdout)
    p, out = run_eval(tmp, pki.secrets + "---\n" + authconfig(selector="{app: sub-only}"),
                      enc(pki.from_sub_only[0]))
    check(out is not None and out["allowed"],
          "eval: an intermediate in a CA Secret is a trust anchor (as Go's roots)", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.from_plain[0]))
    check(out is not None and out["allowed"], "eval: a CA from stringData is trusted", p.stdout)

    p, out = run_eval(tmp, ac, enc(pki.other[0]))
    check(denied(out, UNKNOWN),
          "eval: a CA Secret of another namespace is not trusted", p.stdout)
    p, out = run_eval(tmp, pki.secrets + "---\n" + authconfig(x509_extra="allNamespaces: true"),
                      enc(pki.other[0]))
    check(out is not None and out["allowed"],
          "eval: allNamespaces: true trusts it", p.stdout)
    p, out = run_eval(tmp, authconfig(), enc(pki.aisha[0]))
    check(denied(out, UNKNOWN), "eval: no CA Secret at all -> 401 unknown authority "
          "(the guide's revoked chain)", (p.stdout, p.stderr))


def xfcc(cert_pem):
    return ('By=spiffe://cluster.local/ns/default/sa/talker;Hash=abc;Subject="CN=x,O=a\\"b";'
            'Cert="%s";URI=spiffe://x,By=spiffe://other;Cert="%s"' %
            (enc(cert_pem), enc("garbage")))


def test_sources(pki, tmp):
    ac = pki.secrets + "---\n" + authconfig(x509_extra="source:\n  xfccHeader: "
                                            "X-Forwarded-Client-Cert")
    p, out = run_eval(tmp, ac, enc(pki.niko[0]),
                      headers={"x-forwarded-client-cert": xfcc(pki.aisha[0])})
    check(out is not None and out["allowed"] and subject_of(out)["CommonName"] == "aisha",
          "xfccHeader: Cert of the first element is used, not source.certificate",
          (p.stdout, p.stderr))
    p, out = run_eval(tmp, ac, None, headers={"x-forwarded-client-cert": xfcc(pki.niko[0])})
    check(denied(out, UNKNOWN), "xfccHeader: an unknown CA's certificate -> 401", p.stdout)
    p, out = run_eval(tmp, ac, enc(pki.aisha[0]))
    check(denied(out, "header X-Forwarded-Client-Cert not found in request"),
          "xfccHeader: no such header -> 401, source.certificate not consulted", p.stdout)
    p, out = run_eval(tmp, ac, None, headers={"x-forwarded-client-cert": 'By=x;Cert="unclosed'})
    check(out is not None and not out["allowed"] and out["http_status"] == 401 and
          out["reason"].startswith("failed to extract XFCC header"),
          "xfccHeader: a malformed header -> 401", p.stdout)

    ac = pki.secrets + "---\n" + authconfig(x509_extra="source:\n  clientCertHeader: Client-Cert")
    rfc9440 = ":" + base64.b64encode(der_of(pki.aisha[0])).decode() + ":"
    p, out = run_eval(tmp, ac, None, headers={"client-cert": rfc9440})
    check(out is not None and out["allowed"] and subject_of(out)["CommonName"] == "aisha",
          "clientCertHeader: RFC 9440 :base64 DER: is accepted", (p.stdout, p.stderr))
    p, out = run_eval(tmp, ac, None, headers={"client-cert": enc(pki.aisha[0])})
    check(out is not None and out["allowed"],
          "clientCertHeader: a URL-encoded PEM is accepted too", p.stdout)
    p, out = run_eval(tmp, ac, None, headers={"client-cert": ":!!!:"})
    check(out is not None and not out["allowed"] and
          "failed to base64 decode" in out.get("reason", ""),
          "clientCertHeader: bad base64 -> 401", p.stdout)


def run_check(tmp, text):
    path = write(os.path.join(tmp, "check.yaml"), text)
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + [path], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_config(pki, tmp):
    base = "spec.authentication.mtls.x509"
    for what, extra, want in (
            ("misspelt field", "allNamespace: true", base + ".allNamespace: unknown field"),
            ("two sources", "source: {xfccHeader: a, clientCertHeader: b}", "use one of"),
            ("unknown source", "source: {header: a}", base + ".source.header: unknown field")):
        rc, out = run_check(tmp, pki.secrets + "---\n" + authconfig(x509_extra=extra))
        check(rc == 1 and want in out and "check.yaml:" in out,
              "check: %s is an error naming %s" % (what, want), (rc, out))
    # source.expression: CEL through the host's value-or-selector compiler;
    # refused with a clear message while the host has no CEL there.
    ac = pki.secrets + "---\n" + authconfig(x509_extra="source: {expression: source.certificate}")
    rc, out = run_check(tmp, ac)
    if rc == 0:
        p, res = run_eval(tmp, ac, enc(pki.aisha[0]))
        check(res is not None and res["allowed"],
              "source.expression: source.certificate resolves through CEL", p.stdout)
    else:
        check(rc == 1 and "source.expression" in out and "not supported yet" in out,
              "check: source.expression refused with 'not supported yet'", out)
    rc, out = run_check(tmp, pki.secrets + "---\n" + authconfig())
    check(rc == 0, "check: the guide's AuthConfig loads", (rc, out))


def test_guide_file(pki, tmp):
    """tests/data/guides/mtls.yaml is the guide's AuthConfig, unchanged."""
    with open(GUIDE) as f:
        guide = f.read()
    ac = pki.secrets + "---\n" + guide
    for who, pair, allowed, status in (("aisha", pki.aisha, True, 200),
                                       ("john", pki.john, False, 403),
                                       ("niko", pki.niko, False, 401)):
        p, out = run_eval(tmp, ac, enc(pair[0]))
        check(out is not None and out["allowed"] == allowed and out["http_status"] == status,
              "guide file: %s -> %d" % (who, status), (p.stdout, p.stderr))


def grpc_tests(pki, tmp):
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    from extauthz_client import Client, build_check_request

    srv_ca = TestCA("portcullis-server-ca")
    scrt, skey = pki.files("server", srv_ca.issue(
        "localhost", eku=(ExtendedKeyUsageOID.SERVER_AUTH,), san_dns=("localhost",),
        san_ip=("127.0.0.1",)))
    sca = write(os.path.join(tmp, "server-ca.crt"), srv_ca.pem)
    # The TLS layer accepts both CAs, so the x509 identity is what decides.
    bundle = write(os.path.join(tmp, "client-cas.crt"), pki.root.pem + pki.untrusted.pem)
    srv = Server(tmp, authconfig_text=pki.secrets + "---\n" + authconfig(),
                 extra=["--io-threads", "2", "--workers", "2", "--tls-cert", scrt,
                        "--tls-key", skey, "--tls-client-ca", bundle], name="serve")
    if not srv.ready():
        srv.stop()
        check(False, "serve: portcullis serve starts with TLS", srv.logtail())
        return
    try:
        with Client(srv.grpc, tls={"ca": sca, "server_name": "localhost"}, timeout=10) as c:
            def grpc(cert):
                req = build_check_request(HOST, "/hello")
                if cert is not None:
                    req.attributes.source.certificate = cert
                return c.check(req)

            def hdrs(r):
                return {o.header.key.lower(): o.header.value for o in
                        r.denied_response.headers}
            r = grpc(enc(pki.aisha[0]))
            ok_h = {o.header.key: o.header.value for o in r.ok_response.headers}
            check(r.status.code == 0 and json.loads(ok_h.get("x-subject", "{}"))
                  .get("s", {}).get("CommonName") == "aisha",
                  "grpc: aisha's source.certificate -> OK with her subject", r)
            r = grpc(enc(pki.john[0]))
            check(r.status.code == 7 and r.denied_response.status.code == 403,
                  "grpc: john -> PERMISSION_DENIED 403", r)
            r = grpc(enc(pki.niko[0]))
            h = hdrs(r)
            check(r.status.code == 16 and r.denied_response.status.code == 401 and
                  h.get("x-ext-auth-reason") == UNKNOWN and
                  h.get("www-authenticate") == CHALLENGE,
                  "grpc: niko -> UNAUTHENTICATED 401, reason and challenge", r)
            r = grpc(enc(pki.expired[0]))
            check(r.status.code == 16 and "has expired" in hdrs(r).get("x-ext-auth-reason", ""),
                  "grpc: expired -> UNAUTHENTICATED", r)
            r = grpc(None)
            check(r.status.code == 16 and hdrs(r).get("x-ext-auth-reason") ==
                  "client certificate is missing", "grpc: no certificate -> UNAUTHENTICATED", r)
            r = grpc(enc(pki.via_sub[0] + pki.sub.pem))
            check(r.status.code == 0, "grpc: leaf + intermediate -> OK", r)
            # A verified certificate is reused, but never past its notAfter.
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            short = pki.root.issue("brief", (("O", "ACME Inc."),),
                                   not_after=now + datetime.timedelta(seconds=3))
            codes = [grpc(enc(short[0])).status.code for _ in range(3)]
            time.sleep(max(0.0, (now + datetime.timedelta(seconds=3.8) -
                                 datetime.datetime.now(datetime.timezone.utc)).total_seconds()))
            r = grpc(enc(short[0]))
            check(codes == [0, 0, 0] and r.status.code == 16 and
                  "has expired" in hdrs(r).get("x-ext-auth-reason", ""),
                  "grpc: a cached verification ends at the certificate's notAfter",
                  (codes, r.status, srv.logtail(600)))

        # The HTTP port: the client's own TLS certificate is the
        # source.certificate of the request.
        def https(pair):
            ctx = ssl.create_default_context(cafile=sca)
            if pair is not None:
                ctx.load_cert_chain(*pki.files("c", pair))
            conn = http.client.HTTPSConnection("127.0.0.1", srv.http_port, context=ctx,
                                               timeout=10)
            try:
                conn.request("POST", "/check", body="{}",
                             headers={"Host": HOST, "Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}
            finally:
                conn.close()
        st, h = https(pki.aisha)
        check(st == 200 and json.loads(h.get("x-subject", "{}")).get("s", {})
              .get("Organization") == ["ACME Inc."],
              "https: aisha's TLS client certificate -> 200 (guide step 8)", (st, h))
        st, h = https(pki.john)
        check(st == 403, "https: john -> 403", (st, h))
        st, h = https(pki.niko)
        check(st == 401 and h.get("x-ext-auth-reason") == UNKNOWN and
              h.get("www-authenticate") == CHALLENGE,
              "https: niko (CA trusted by TLS, not by the AuthConfig) -> 401 as the guide "
              "prints", (st, h))
        st, h = https(None)
        check(st == 401 and h.get("x-ext-auth-reason") == "client certificate is missing",
              "https: no client certificate -> 401", (st, h))
    finally:
        rc = srv.stop()
        check(rc == 0, "serve: clean exit", srv.logtail())
        text = srv.logtext()
        check("BEGIN CERTIFICATE" not in text and "PRIVATE KEY" not in text,
              "serve: no certificate or key in the log")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-x509-")
    try:
        with checks.guard():
            pki = Pki(tmp)
            test_eval(pki, tmp)
            test_sources(pki, tmp)
            test_config(pki, tmp)
            test_guide_file(pki, tmp)
            grpc_tests(pki, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
