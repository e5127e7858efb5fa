#!/usr/bin/python3
"""`portcullis serve` over gRPC, end to end: the Envoy ext_authz v3 and v2
Check, grpc.health.v1, unknown methods, grpc-timeout, TLS with ALPN h2,
mTLS (the client certificate's URI SAN as source.principal), SIGHUP reload
(good and broken files) and SIGTERM.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR (generated *_pb2
modules in $PC_BUILD_DIR/python), PC_SOURCE_DIR."""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import (Client, build_check_request, v3,  # noqa: E402
                             V3_CHECK)
from pcharness import (Checks, Server, SMALL, SLOW_TOKENREVIEW_AC,  # noqa: E402
                       api_key_authconfig, stalled_apiserver, write)
import grpc  # noqa: E402

API_KEY = "alice-secret-key"
PRINCIPAL = "spiffe://portcullis.test/ns/default/sa/client"

API_AC = api_key_authconfig("""\
  authorization:
    not-forbidden:
      patternMatching:
        patterns:
          - selector: request.path
            operator: neq
            value: /forbidden
  response:
    success:
      headers:
        x-user:
          plain:
            selector: auth.identity.metadata.name
        x-path:
          plain:
            selector: request.path
      dynamicMetadata:
        meta:
          json:
            properties:
              user:
                selector: auth.identity.metadata.name
              fixed:
                value: hello
""") + """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: mtls
  namespace: default
spec:
  hosts:
    - mtls.test
  authentication:
    anon:
      anonymous: {}
  authorization:
    client-cert:
      patternMatching:
        patterns:
          - selector: source.principal
            operator: eq
            value: %s
  response:
    success:
      headers:
        x-principal:
          plain:
            selector: source.principal
""" % PRINCIPAL

OTHER_AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: other
  namespace: default
spec:
  hosts:
    - other.test
  authentication:
    anon:
      anonymous: {}
  response:
    success:
      headers:
        x-served-by:
          plain:
            value: %s
"""



checks = Checks()
check = checks.check


def headers_of(opts):
    return {o.header.key: o.header.value for o in opts}


def authz(key=API_KEY):
    return {"authorization": "APIKEY " + key}


def test_checks(srv):
    with Client(srv.grpc, timeout=5) as c:
        r = c.check(build_check_request("api.test", "/v1/items?x=1", headers=authz()))
        h = headers_of(r.ok_response.headers)
        check(r.status.code == 0 and r.WhichOneof("http_response") == "ok_response",
              "allow: status OK with ok_response", r)
        check(h.get("x-user") == "alice-key" and h.get("x-path") == "/v1/items?x=1",
              "allow: success headers (request.path keeps the query)", h)
        check(all(o.append_action == 2 and not o.HasField("append")
                  for o in r.ok_response.headers),
              "allow: headers carry append_action OVERWRITE_IF_EXISTS_OR_ADD, no append", r)
        meta = r.dynamic_metadata.fields.get("meta")
        check(meta is not None and
              meta.struct_value.fields["user"].string_value == "alice-key" and
              meta.struct_value.fields["fixed"].string_value == "hello",
              "allow: dynamic_metadata Struct", r.dynamic_metadata)

        r = c.check(build_check_request("api.test", "/v1/items"))
        h = headers_of(r.denied_response.headers)
        check(r.status.code == 16 and r.denied_response.status.code == 401,
              "deny 401: UNAUTHENTICATED and HTTP 401", r)
        check(h.get("www-authenticate") == 'APIKEY realm="friends"' and
              h.get("x-ext-auth-reason", "") != "",
              "deny 401: www-authenticate and x-ext-auth-reason", h)

        r = c.check(build_check_request("api.test", "/v1/items", headers=authz("wrong")))
        check(r.status.code == 16 and r.denied_response.status.code == 401,
              "deny 401: a wrong API key", r)

        r = c.check(build_check_request("api.test", "/forbidden", headers=authz()))
        h = headers_of(r.denied_response.headers)
        check(r.status.code == 7 and r.denied_response.status.code == 403 and
              "x-ext-auth-reason" in h,
              "deny 403: PERMISSION_DENIED, HTTP 403, x-ext-auth-reason", r)

        r = c.check(build_check_request("nobody.test", "/"))
        h = headers_of(r.denied_response.headers)
        check(r.status.code == 5 and r.denied_response.status.code == 404 and
              h.get("x-ext-auth-reason") == "Service not found",
              "unknown host: NOT_FOUND, 404, Service not found", r)

        r = c.check(v3.CheckRequest())
        check(r.status.code == 3 and r.denied_response.status.code == 400,
              "missing http attributes: INVALID_ARGUMENT, 400", r)

        r = c.check(build_check_request("nobody.test", "/",
                                        context_extensions={"host": "other.test"}))
        check(r.status.code == 0 and
              headers_of(r.ok_response.headers).get("x-served-by") == "v1",
              "context_extensions host overrides the request host", r)
        r = c.check(build_check_request("other.test", "/",
                                        context_extensions={"host": "nobody.test"}))
        check(r.status.code == 5, "context_extensions host wins over a known host", r)

        r = c.check(build_check_request("api.test", "/v2path", headers=authz(), v2=True),
                    v2=True)
        h = headers_of(r.ok_response.headers)
        check(r.status.code == 0 and h.get("x-user") == "alice-key" and
              h.get("x-path") == "/v2path",
              "v2 path: allow with headers", r)
        r = c.check(build_check_request("api.test", "/v2path", v2=True), v2=True)
        check(r.status.code == 16 and r.denied_response.status.code == 401,
              "v2 path: deny 401", r)

        try:
            st = c.health()
        except grpc.RpcError as e:
            st = e
        check(st == "SERVING", "grpc.health.v1 Check: SERVING", st)

        raw = c.channel.unary_unary("/envoy.service.auth.v3.Authorization/Nope",
                                    request_serializer=None, response_deserializer=None)
        try:
            raw(b"", timeout=5)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        check(code == grpc.StatusCode.UNIMPLEMENTED, "unknown method: UNIMPLEMENTED", code)
        raw = c.channel.unary_unary("/no.Such/Service",
                                    request_serializer=None, response_deserializer=None)
        try:
            raw(b"", timeout=5)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        check(code == grpc.StatusCode.UNIMPLEMENTED, "unknown service: UNIMPLEMENTED", code)

        # The connection still serves after the errors above.
        r = c.check(build_check_request("api.test", "/", headers=authz()))
        check(r.status.code == 0, "channel still serves after error replies", r)


def nghttp_check(port, body_file, timeout_hdr):
    """One Check over h2c with an explicit grpc-timeout; returns (seconds,
    CheckResponse or None, grpc-status or None). nghttp -v writes each
    received DATA payload to stdout just before its "recv DATA frame
    <length=N" log line, so the message is the N bytes ahead of it."""
    cmd = ["nghttp", "-v", "-H", ":method: POST",
           "-H", "content-type: application/grpc", "-H", "te: trailers",
           "-H", "grpc-timeout: " + timeout_hdr, "-d", body_file,
           "http://127.0.0.1:%d%s" % (port, V3_CHECK)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    took = time.monotonic() - t0
    out = p.stdout
    data = b""
    for m in re.finditer(rb"\[ *[0-9.]+\] recv DATA frame <length=(\d+), flags=0x[0-9a-f]+, "
                         rb"stream_id=13>", out):
        n = int(m.group(1))
        data += out[m.start() - n:m.start()]
    resp = None
    if len(data) >= 5 and data[0] == 0:
        n = struct.unpack(">I", data[1:5])[0]
        try:
            resp = v3.CheckResponse.FromString(data[5:5 + n])
        except Exception:
            resp = None
    status = None
    for line in out.split(b"\n"):
        if b"recv (stream_id=" in line and b"grpc-status:" in line:
            status = line.split(b"grpc-status:")[1].strip().decode()
    return took, resp, status


def timed_out(resp, status):
    """The deadline's two valid outcomes: the pipeline's own verdict
    (grpc-status 0, CheckResponse UNAVAILABLE with HTTP 503, as Authorino
    does) or the stream's timer (grpc-status DEADLINE_EXCEEDED)."""
    if status == "0":
        return (resp is not None and resp.status.code == 14 and
                resp.denied_response.status.code == 503)
    return status == "4" and resp is None


def test_grpc_timeout(srv, tmp):
    req = build_check_request("slow.test", "/", headers={"authorization": "Bearer t"})
    b = req.SerializeToString()
    body = os.path.join(tmp, "slow.bin")
    with open(body, "wb") as f:
        f.write(b"\0" + struct.pack(">I", len(b)) + b)
    took, resp, status = nghttp_check(srv.grpc_port, body, "300m")
    check(0.25 <= took < 2.5 and timed_out(resp, status),
          "grpc-timeout 300m: UNAVAILABLE/503 or DEADLINE_EXCEEDED after about 300 ms",
          (took, resp, status))
    took, resp, status = nghttp_check(srv.grpc_port, body, "1200m")
    check(1.1 <= took < 3.5 and timed_out(resp, status),
          "grpc-timeout 1200m: the longer deadline is the one applied", (took, resp, status))
    took, resp, status = nghttp_check(srv.grpc_port, body, "1S")
    check(0.9 <= took < 3.0 and timed_out(resp, status),
          "grpc-timeout 1S (seconds unit)", (took, resp, status))
    with Client(srv.grpc, timeout=5) as c:
        r = c.check(build_check_request("api.test", "/", headers=authz()))
        check(r.status.code == 0, "a normal check after timed-out ones", r)


def test_sighup(srv, acdir):
    other = os.path.join(acdir, "other.yaml")

    def served_by():
        with Client(srv.grpc, timeout=5) as c:
            r = c.check(build_check_request("other.test", "/"))
            return r.status.code, headers_of(r.ok_response.headers).get("x-served-by")

    check(served_by() == (0, "v1"), "before SIGHUP: the first rule", served_by())
    write(other, OTHER_AC % "v2")
    srv.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 10
    got = None
    while time.monotonic() < end:
        got = served_by()
        if got == (0, "v2"):
            break
        time.sleep(0.1)
    check(got == (0, "v2"), "SIGHUP: the changed AuthConfig applies", got)

    nlog = srv.logtext().count("previous AuthConfigs keep serving")
    write(other, "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
                 "metadata: {name: other\nspec: [[[\n")
    srv.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 10
    while time.monotonic() < end and srv.logtext().count("previous AuthConfigs keep serving") == nlog:
        time.sleep(0.1)
    check(srv.logtext().count("previous AuthConfigs keep serving") > nlog,
          "SIGHUP with a broken file: its previous AuthConfigs keep serving (logged)", srv.logtext()[-800:])
    check(srv.proc.poll() is None, "SIGHUP with a broken file: the server lives on")
    check(served_by() == (0, "v2"), "SIGHUP with a broken file: the old rules keep serving",
          served_by())
    with Client(srv.grpc, timeout=5) as c:
        r = c.check(build_check_request("api.test", "/", headers=authz()))
    check(r.status.code == 0, "SIGHUP with a broken file: other AuthConfigs still serve", r)


def test_sigterm(srv):
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(12)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    check(rc == 0 and took < 10.5, "SIGTERM: exits 0 within the grace period (10 s)",
          (rc, took))


def openssl(*args):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], p.stderr))


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1/localhost and a client
    certificate whose first URI SAN is PRINCIPAL."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=portcullis test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name, subj, ext):
        key, csr, crt = (os.path.join(d, name + s) for s in (".key", ".csr", ".pem"))
        extf = write(os.path.join(d, name + ".ext"), ext)
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", csr, "-subj", subj)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", extf)
        return crt, key

    srv = leaf("server", "/CN=localhost",
               "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
               "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    cli = leaf("client", "/CN=client",
               "subjectAltName=URI:%s,DNS:client.test\n"
               "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n" % PRINCIPAL)
    return ca, srv, cli


def https_check(port, ctx, host, path="/check"):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()


def test_tls(tmp, acdir):
    pki = os.path.join(tmp, "pki")
    os.makedirs(pki)
    ca, (scrt, skey), (ccrt, ckey) = make_pki(pki)
    with Server(tmp, acdir, extra=SMALL + ["--tls-cert", scrt, "--tls-key", skey,
                                           "--tls-client-ca", ca], name="tls") as srv:
        if not srv.ready():
            check(False, "TLS server starts", srv.logtext()[-1500:])
            return
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                alpn = t.selected_alpn_protocol()
        check(alpn == "h2", "TLS gRPC port: ALPN selects h2", alpn)

        with Client(srv.grpc, tls={"ca": ca, "server_name": "localhost"}, timeout=5) as c:
            r = c.check(build_check_request("api.test", "/", headers=authz()))
            check(r.status.code == 0 and headers_of(r.ok_response.headers).get("x-user") ==
                  "alice-key", "TLS: allow over gRPC with server TLS", r)
            r = c.check(build_check_request("api.test", "/"))
            check(r.status.code == 16, "TLS: deny over gRPC with server TLS", r)
            check(c.health() == "SERVING", "TLS: health SERVING")

        tls = {"ca": ca, "cert": ccrt, "key": ckey, "server_name": "localhost"}
        with Client(srv.grpc, tls=tls, timeout=5) as c:
            # Over gRPC the principal is Envoy's word about its downstream:
            # the CheckRequest's source.principal is what the rule sees.
            r = c.check(build_check_request("mtls.test", "/", principal=PRINCIPAL))
            check(r.status.code == 0 and headers_of(r.ok_response.headers).get(
                  "x-principal") == PRINCIPAL,
                  "mTLS gRPC: source.principal from the CheckRequest", r)
            r = c.check(build_check_request("mtls.test", "/", principal="spiffe://x/other"))
            check(r.status.code == 7, "mTLS gRPC: another principal is denied 403", r)

        # A client certificate from another CA is refused in the handshake.
        bad = os.path.join(tmp, "badpki")
        os.makedirs(bad)
        _, _, (bcrt, bkey) = make_pki(bad)
        bctx = ssl.create_default_context(cafile=ca)
        bctx.load_cert_chain(bcrt, bkey)
        try:
            st, _ = https_check(srv.http_port, bctx, "mtls.test")
        except (ssl.SSLError, OSError) as e:
            st = "refused: %s" % type(e).__name__
        check(isinstance(st, str), "mTLS: a client certificate from an unknown CA is refused",
              st)

        # On the HTTP port the TLS peer itself is the client: its URI SAN is
        # source.principal.
        mctx = ssl.create_default_context(cafile=ca)
        mctx.load_cert_chain(ccrt, ckey)
        st, h = https_check(srv.http_port, mctx, "mtls.test")
        check(st == 200 and h.get("x-principal") == PRINCIPAL,
              "mTLS HTTP /check: the client certificate's URI SAN is source.principal", (st, h))
        st, h = https_check(srv.http_port, mctx, "mtls.test", "/some/path?q=1")
        check(st == 200 and h.get("x-principal") == PRINCIPAL,
              "mTLS HTTP http_service mode: URI SAN is source.principal", (st, h))
        st, h = https_check(srv.http_port, ssl.create_default_context(cafile=ca), "mtls.test")
        check(st == 403, "TLS HTTP without a client certificate: the rule denies 403", (st, h))
        h2ctx = ssl.create_default_context(cafile=ca)
        h2ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", srv.http_port), timeout=5) as s:
            with h2ctx.wrap_socket(s, server_hostname="localhost") as t:
                alpn = t.selected_alpn_protocol()
        check(alpn == "h2", "TLS HTTP port: ALPN selects h2 when offered", alpn)


def main():
    tmp = tempfile.mkdtemp(prefix="pc-test-grpc.")
    hang, kc = stalled_apiserver(tmp)
    srv = None
    try:
        with checks.guard():
            acdir = os.path.join(tmp, "ac")
            os.makedirs(acdir)
            write(os.path.join(acdir, "api.yaml"), API_AC)
            write(os.path.join(acdir, "other.yaml"), OTHER_AC % "v1")
            write(os.path.join(acdir, "slow.yaml"), SLOW_TOKENREVIEW_AC)
            srv = Server(tmp, acdir, extra=SMALL + ["--kubeconfig", kc], name="srv")
            if not srv.ready():
                check(False, "portcullis serve starts", srv.logtail(2000))
            else:
                test_checks(srv)
                if shutil.which("nghttp"):
                    test_grpc_timeout(srv, tmp)
                else:
                    print("skip - grpc-timeout: nghttp (nghttp2-client) is not installed")
                test_tls(tmp, acdir)
                test_sighup(srv, acdir)
                test_sigterm(srv)
    finally:
        if srv is not None:
            srv.stop()
            if checks.failures:
                print("---- server log (tail) ----\n" + srv.logtail())
        hang.close()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
