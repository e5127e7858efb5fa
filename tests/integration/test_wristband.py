#!/usr/bin/python3
"""`wristband` responses end to end: `portcullis serve` over gRPC
(python3-grpcio) and raw HTTP, the wristband discovery listener
(PORTCULLIS_OIDC_HTTP_ADDR on loopback, and --oidc-http-port) read with
http.client, signatures checked with python3-cryptography against the
served key set, and the
edge-authentication guide: a wristband issued by one AuthConfig accepted by
another AuthConfig's `jwt` identity pointed at the issuer. Also every
algorithm (ES256/384/512, RS256/384/512), claims, config errors, and a
listener that shrugs off bad and idle clients."""

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       free_port, grpc_client, plugin_args, started, write)

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides",
                     "edge-authentication-architecture-festival-wristbands.yaml")
GUIDE_ISSUER = "http://authorino-authorino-oidc.authorino.svc.cluster.local:8083"
KEYCLOAK = "http://keycloak.keycloak.svc.cluster.local:8080/realms/kuadrant"
API_KEY = "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx"
HOST = "wb.127.0.0.1.nip.io"

checks = Checks(limit=None)
check = checks.check
OIDC_PORT = free_port()
os.environ["PORTCULLIS_OIDC_HTTP_ADDR"] = "127.0.0.1:%d" % OIDC_PORT
BASE = "http://127.0.0.1:%d" % OIDC_PORT



def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64int(s):
    return int.from_bytes(b64d(s), "big")


def pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def secret(name, pem, ns="default"):
    body = "\n".join("    " + line for line in pem.strip().splitlines())
    return ("---\napiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\n"
            "stringData:\n  key.pem: |\n%s\n" % (name, ns, body))


def oidc_get(path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", OIDC_PORT, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        c.close()


def verify(token, jwks):
    """The signature of token under the JWK its kid names; raises on failure."""
    h, p, s = token.split(".")
    head = json.loads(b64d(h))
    jwk = next(k for k in jwks["keys"] if k["kid"] == head["kid"])
    data, sig = (h + "." + p).encode(), b64d(s)
    alg = head["alg"]
    md = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("ES"):
        crv = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        pub = ec.EllipticCurvePublicNumbers(b64int(jwk["x"]), b64int(jwk["y"]),
                                            crv[jwk["crv"]]).public_key()
        n = len(sig) // 2
        pub.verify(encode_dss_signature(int.from_bytes(sig[:n], "big"),
                                        int.from_bytes(sig[n:], "big")), data, ec.ECDSA(md))
    else:
        pub = rsa.RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key()
        pub.verify(sig, data, padding.PKCS1v15(), md)
    return head, json.loads(b64d(p))


def start(tmp, text, name):
    srv = started(Server(tmp, authconfig_text=text, name=name), check, name)
    if not srv:
        return None
    # The listener binds once the server is ready.
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", OIDC_PORT), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return srv


def test_guide(tmp):
    """The guide's resources, with the issuer's host made the loopback
    listener and Keycloak (not part of this test) pointed at a closed port."""
    ec_ = grpc_client()
    text = open(GUIDE).read()
    p = subprocess.run([PC_BIN, "check", GUIDE] + plugin_args(), capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    check(p.returncode == 0, "guide: the AuthConfigs load unchanged (check)",
          p.stdout + p.stderr)
    text = text.replace(GUIDE_ISSUER, BASE).replace(
        KEYCLOAK, "http://127.0.0.1:%d/realms/kuadrant" % free_port())
    srv = start(tmp, text, "guide")
    if not srv:
        return
    try:
        st, ctype, body = oidc_get("/edge/edge-auth/wristband/.well-known/openid-configuration")
        disc = json.loads(body) if st == 200 else {}
        issuer = BASE + "/edge/edge-auth/wristband"
        check(st == 200 and ctype == "application/json" and disc.get("issuer") == issuer and
              disc.get("jwks_uri") == issuer + "/.well-known/openid-connect/certs" and
              "ES256" in disc.get("id_token_signing_alg_values_supported", []),
              "guide: discovery document served", (st, body))
        st, _, body = oidc_get("/edge/edge-auth/wristband/.well-known/openid-connect/certs")
        jwks = json.loads(body) if st == 200 else {"keys": []}
        k = jwks["keys"][0] if jwks["keys"] else {}
        check(st == 200 and k.get("kty") == "EC" and k.get("crv") == "P-256" and
              k.get("kid") == "wristband-signing-key" and k.get("alg") == "ES256" and
              "d" not in k, "guide: key set holds the public key only", body)

        with ec_.Client(srv.grpc, timeout=10) as c:
            r = c.check(ec_.build_check_request(
                "edge.127.0.0.1.nip.io", "/auth",
                headers={"authorization": "APIKEY " + API_KEY}))
            tok = r.dynamic_metadata.fields.get("wristband")
            tok = tok.string_value if tok is not None else ""
            check(r.status.code == 0 and tok.count(".") == 2,
                  "guide: the edge issues a wristband as dynamic metadata", r)
            try:
                head, claims = verify(tok, jwks)
                ok = True
            except Exception as e:  # noqa: BLE001
                head, claims, ok = {}, {}, e
            check(ok is True, "guide: the wristband verifies against the served key set", ok)
            check(head == {"alg": "ES256", "kid": "wristband-signing-key", "typ": "JWT"},
                  "guide: JOSE header", head)
            now = time.time()
            check(claims.get("iss") == issuer and abs(claims.get("iat", 0) - now) < 5 and
                  claims.get("exp") == claims.get("iat", 0) + 300 and
                  claims.get("username") == "alice" and
                  len(claims.get("sub", "")) == 64 and
                  all(ch in "0123456789abcdef" for ch in claims.get("sub", "")),
                  "guide: iss, iat, exp = iat + 300, sub (sha256 hex), custom claim", claims)
            r2 = c.check(ec_.build_check_request(
                "edge.127.0.0.1.nip.io", "/auth",
                headers={"authorization": "APIKEY " + API_KEY}))
            claims2 = json.loads(b64d(r2.dynamic_metadata.fields["wristband"]
                                      .string_value.split(".")[1]))
            check(claims2.get("sub") == claims.get("sub"),
                  "guide: the same identity gives the same sub", (claims, claims2))

            # The internal AuthConfig trusts the edge's issuer.
            r = c.check(ec_.build_check_request(
                "talker-api.127.0.0.1.nip.io", "/hello",
                headers={"authorization": "Bearer " + tok}))
            check(r.status.code == 0, "guide: the wristband is accepted by the jwt identity "
                  "of talker-api-protection (HTTP/1.1 200 OK)", (r.status, srv.logtail()))
            r = c.check(ec_.build_check_request(
                "talker-api.127.0.0.1.nip.io", "/hello",
                headers={"authorization": "APIKEY " + API_KEY}))
            check(r.status.code == 16 and r.denied_response.status.code == 401,
                  "guide: the API key itself is refused inside (HTTP/1.1 401 Unauthorized)",
                  r)
            h, p, s = tok.split(".")
            forged = json.loads(b64d(p))
            forged["username"] = "mallory"
            fp = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
            r = c.check(ec_.build_check_request(
                "talker-api.127.0.0.1.nip.io", "/hello",
                headers={"authorization": "Bearer %s.%s.%s" % (h, fp, s)}))
            check(r.status.code == 16, "guide: a tampered wristband is refused", r.status)
            r = c.check(ec_.build_check_request("edge.127.0.0.1.nip.io", "/auth",
                                                headers={"authorization": "APIKEY wrong"}))
            check(r.status.code == 16 and "wristband" not in r.dynamic_metadata.fields,
                  "guide: no wristband for a refused API key", r)
    finally:
        srv.stop()
    check(API_KEY not in srv.logtext() and "BEGIN EC PRIVATE KEY" not in srv.logtext(),
          "guide: neither the API key nor the signing key is logged")


def test_algorithms(tmp):
    ec_ = grpc_client()
    keys = {
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "ES512": ec.generate_private_key(ec.SECP521R1()),
        "RS256": rsa.generate_private_key(65537, 2048),
    }
    keys["RS384"] = keys["RS512"] = keys["RS256"]
    text = ""
    for alg, key in keys.items():
        name = alg.lower()
        text += secret("key-" + name, pem_of(key))
        text += """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: ac-%s, namespace: default}
spec:
  hosts: [%s.%s]
  authentication:
    anon: {anonymous: {}}
  response:
    success:
      headers:
        x-wristband:
          wristband:
            issuer: %s/default/ac-%s/x-wristband
            tokenDuration: 60
            customClaims:
              aud: {value: internal}
              path: {selector: request.path}
              n: {value: 1.5}
              nested: {value: {b: [1, true, null], a: "<&>"}}
            signingKeyRefs:
            - {name: key-%s, algorithm: %s}
            - {name: key-es256, algorithm: ES256}
""" % (name, name, HOST, BASE, name, name, alg)
    # An AuthConfig that trusts its own wristbands: one shown back to it is
    # not re-issued (Authorino skips an OIDC identity of the same issuer).
    text += """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: self, namespace: default}
spec:
  hosts: [self.%s]
  authentication:
    own:
      jwt: {issuerUrl: %s/default/self/wb}
    anon:
      priority: 1
      anonymous: {}
  response:
    success:
      headers:
        wb:
          wristband:
            issuer: %s/default/self/wb
            signingKeyRefs: [{name: key-es256, algorithm: ES256}]
""" % (HOST, BASE, BASE)
    srv = start(tmp, text, "algs")
    if not srv:
        return
    try:
        with ec_.Client(srv.grpc, timeout=10) as c:
            for alg in keys:
                name = alg.lower()
                st, _, body = oidc_get("/default/ac-%s/x-wristband/.well-known/openid-connect/"
                                       "certs" % name)
                jwks = json.loads(body) if st == 200 else {"keys": []}
                check(len(jwks["keys"]) == 2, "%s: both signing keys published" % alg, body)
                r = c.check(ec_.build_check_request("%s.%s" % (name, HOST), "/p?q=1"))
                hdrs = {o.header.key.lower(): o.header.value
                        for o in r.ok_response.headers}
                tok = hdrs.get("x-wristband", "")
                try:
                    head, claims = verify(tok, jwks)
                    ok = True
                except Exception as e:  # noqa: BLE001
                    head, claims, ok = {}, {}, e
                check(ok is True and head.get("alg") == alg and
                      head.get("kid") == "key-" + name,
                      "%s: the header wristband is signed with the first key" % alg,
                      (ok, head))
                check(claims.get("aud") == "internal" and claims.get("path") == "/p?q=1" and
                      claims.get("n") == 1.5 and
                      claims.get("nested") == {"a": "<&>", "b": [1, True, None]} and
                      claims.get("exp") == claims.get("iat", 0) + 60,
                      "%s: custom claims (values, selectors) and tokenDuration" % alg, claims)
            # sub is the SHA-256 of the identity as Go's encoding/json writes it.
            r = c.check(ec_.build_check_request("es256." + HOST, "/"))
            tok = {o.header.key.lower(): o.header.value
                   for o in r.ok_response.headers}["x-wristband"]
            claims = json.loads(b64d(tok.split(".")[1]))
            want = hashlib.sha256(b'{"anonymous":true}').hexdigest()
            check(claims.get("sub") == want,
                  "sub = sha256 of the identity JSON ({\"anonymous\":true})", claims)
            payload = b64d(tok.split(".")[1]).decode()
            check('"\\u003c\\u0026\\u003e"' in payload and
                  payload.index('"aud"') < payload.index('"exp"') < payload.index('"iat"'),
                  "claims JSON as Go writes it (sorted keys, HTML-safe escapes)", payload)

            r = c.check(ec_.build_check_request("self." + HOST, "/"))
            first = {o.header.key.lower(): o.header.value
                     for o in r.ok_response.headers}.get("wb", "")
            r = c.check(ec_.build_check_request("self." + HOST, "/",
                                                headers={"authorization": "Bearer " + first}))
            again = {o.header.key.lower(): o.header.value for o in r.ok_response.headers}
            check(first.count(".") == 2 and r.status.code == 0 and "wb" not in again,
                  "a wristband shown to its own issuer is accepted and not re-issued",
                  (first[:20], r.status, again))

        # Raw HTTP /check: the wristband is a response header there too.
        hc = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
        hc.request("GET", "/check/x", headers={"Host": "rs256." + HOST})
        resp = hc.getresponse()
        resp.read()
        hc.close()
        tok = resp.getheader("x-wristband") or ""
        check(resp.status == 200 and json.loads(b64d(tok.split(".")[0]))["alg"] == "RS256",
              "raw HTTP check carries the wristband header", (resp.status, tok[:40]))

        # The listener: unknown paths, methods, garbage and idle clients.
        st, _, _ = oidc_get("/default/ac-es256/nope/.well-known/openid-configuration")
        check(st == 404, "unknown wristband -> 404", st)
        st, _, _ = oidc_get("/default/ac-es256/x-wristband/other")
        check(st == 404, "unknown document -> 404", st)
        st, _, _ = oidc_get("/default/ac-es256/x-wristband/.well-known/openid-configuration",
                            "POST")
        check(st == 405, "POST -> 405", st)
        s = socket.create_connection(("127.0.0.1", OIDC_PORT), 2)
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        got = s.recv(100)
        s.close()
        check(got.startswith(b"HTTP/1.1 400"), "garbage -> 400", got)
        idle = socket.create_connection(("127.0.0.1", OIDC_PORT), 2)
        t0 = time.monotonic()
        st, _, _ = oidc_get("/default/ac-es256/x-wristband/.well-known/openid-configuration")
        took = time.monotonic() - t0
        idle.close()
        check(st == 200 and took < 2.0,
              "an idle client delays others by at most the read timeout (%.2fs)" % took, st)
        big = socket.create_connection(("127.0.0.1", OIDC_PORT), 2)
        big.sendall(b"GET /" + b"a" * 9000)
        got = big.recv(100)
        big.close()
        check(got.startswith(b"HTTP/1.1 400"), "an oversized request -> 400", got)

        # `check` and `eval` create instances too, but never take the port.
        ac = write(os.path.join(tmp, "algs.yaml"), text)
        p = subprocess.run([PC_BIN, "check", ac] + plugin_args(), capture_output=True,
                           text=True, env=clean_env(), timeout=60)
        check(p.returncode == 0 and "cannot listen" not in p.stdout + p.stderr,
              "check runs while the server holds the discovery port", p.stdout + p.stderr)
    finally:
        srv.stop()


def test_config_errors(tmp):
    ec_key = pem_of(ec.generate_private_key(ec.SECP256R1()))
    small = pem_of(rsa.generate_private_key(65537, 1024))
    base = secret("k", ec_key) + secret("small", small) + secret("nokey", "x").replace(
        "key.pem", "other")

    def ac(body):
        return ("apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
                "metadata: {name: bad, namespace: default}\nspec:\n  hosts: [bad]\n"
                "  response:\n    success:\n      headers:\n        wb:\n          wristband:\n"
                + body + base)
    iss = "            issuer: http://x/default/bad/wb\n"
    cases = (
        ("missing Secret", iss + "            signingKeyRefs: [{name: nope, algorithm: ES256}]\n",
         "Secret default/nope not found"),
        ("no key.pem", iss + "            signingKeyRefs: [{name: nokey, algorithm: ES256}]\n",
         "has no key key.pem"),
        ("EC key for RS256", iss + "            signingKeyRefs: [{name: k, algorithm: RS256}]\n",
         "RSA key"),
        ("EC P-256 for ES384", iss + "            signingKeyRefs: [{name: k, algorithm: ES384}]\n",
         "P-384"),
        ("RSA 1024", iss + "            signingKeyRefs: [{name: small, algorithm: RS256}]\n",
         "2048"),
        ("bad algorithm", iss + "            signingKeyRefs: [{name: k, algorithm: HS256}]\n",
         "algorithm"),
        ("no keys", iss + "            signingKeyRefs: []\n", "at least one"),
        ("no issuer", "            signingKeyRefs: [{name: k, algorithm: ES256}]\n", "issuer"),
        ("issuer not a URL", "            issuer: edge\n"
         "            signingKeyRefs: [{name: k, algorithm: ES256}]\n", "http://"),
        ("typo", iss + "            tokenDuraton: 5\n"
         "            signingKeyRefs: [{name: k, algorithm: ES256}]\n", "tokenDuraton"),
        ("bad claim", iss + "            customClaims: {a: {valu: 1}}\n"
         "            signingKeyRefs: [{name: k, algorithm: ES256}]\n", "customClaims"),
    )
    for what, body, needle in cases:
        f = write(os.path.join(tmp, "bad.yaml"), ac(body))
        p = subprocess.run([PC_BIN, "check", f] + plugin_args(), capture_output=True,
                           text=True, env=clean_env(), timeout=60)
        out = p.stdout + p.stderr
        check(p.returncode == 1 and needle in out and "wristband" in out,
              "config error (%s)" % what, (p.returncode, out))
        check("BEGIN" not in out, "config error (%s) shows no key material" % what)

def with_env(env, make):
    """make() with os.environ changed by env (a None value unsets)."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        return make()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_oidc_port(tmp):
    """Authorino's --oidc-http-port (and OIDC_HTTP_PORT) set the discovery
    listener's port; PORTCULLIS_OIDC_HTTP_ADDR's host stays (loopback here)."""
    key = pem_of(ec.generate_private_key(ec.SECP256R1()))
    text = secret("port-key", key, ns="ops") + """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: porty, namespace: ops}
spec:
  hosts: [porty.%s]
  authentication:
    anon: {anonymous: {}}
  response:
    success:
      headers:
        x-wb:
          wristband:
            issuer: http://127.0.0.1:8083/ops/porty/x-wb
            signingKeyRefs: [{name: port-key, algorithm: ES256}]
""" % HOST
    path = "/ops/porty/x-wb/.well-known/openid-configuration"

    def fetch(port):
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", path)
                r = c.getresponse()
                return r.status, r.read()
            except OSError:
                time.sleep(0.05)
            finally:
                c.close()
        return None, b""

    def closed(port):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return False
        except OSError:
            return True

    def holding(make):
        """make(ports) while three loopback ports stay bound, so the
        server's own free ports cannot be these; released once it runs (its
        discovery listener binds only when it is ready)."""
        socks = [socket.socket() for _ in range(3)]
        try:
            for x in socks:
                x.bind(("127.0.0.1", 0))
            return make([x.getsockname()[1] for x in socks])
        finally:
            for x in socks:
                x.close()

    ports = []

    def make_flagged(p):
        ports[:] = p
        return with_env({"PORTCULLIS_OIDC_HTTP_ADDR": "127.0.0.1:%d" % p[2],
                         "OIDC_HTTP_PORT": str(p[1])},
                        lambda: Server(tmp, authconfig_text=text, name="oidc-port",
                                       extra=["--oidc-http-port=%d" % p[0]]))
    srv = holding(make_flagged)
    flag_port, env_port, ours_port = ports
    if started(srv, check, "--oidc-http-port"):
        try:
            st, body = fetch(flag_port)
            doc = json.loads(body) if st == 200 else {}
            check(st == 200 and doc.get("issuer") == "http://127.0.0.1:8083/ops/porty/x-wb" and
                  doc.get("jwks_uri", "").endswith("/ops/porty/x-wb/.well-known/openid-connect/certs"),
                  "--oidc-http-port: the discovery document on that port", (st, body))
            c = http.client.HTTPConnection("127.0.0.1", flag_port, timeout=2)
            c.request("GET", "/ops/porty/x-wb/.well-known/openid-connect/certs")
            r = c.getresponse()
            keys = json.loads(r.read()).get("keys", []) if r.status == 200 else []
            c.close()
            check(len(keys) == 1 and keys[0].get("crv") == "P-256",
                  "--oidc-http-port: the key set on that port", keys)
            check(closed(ours_port) and closed(env_port),
                  "--oidc-http-port wins over PORTCULLIS_OIDC_HTTP_ADDR's port and OIDC_HTTP_PORT")
            check("wristband discovery listening on 127.0.0.1:%d" % flag_port in srv.logtext(),
                  "--oidc-http-port keeps PORTCULLIS_OIDC_HTTP_ADDR's host", srv.logtail())
        finally:
            srv.stop()

    # The environment form: PORTCULLIS_OIDC_HTTP_ADDR (ours) wins over it.
    def make_env(p):
        ports[:] = p
        return with_env({"PORTCULLIS_OIDC_HTTP_ADDR": "127.0.0.1:%d" % p[2],
                         "OIDC_HTTP_PORT": str(p[1])},
                        lambda: Server(tmp, authconfig_text=text, name="oidc-env"))
    srv = holding(make_env)
    _, env_port, ours_port = ports
    if started(srv, check, "OIDC_HTTP_PORT"):
        try:
            st, _ = fetch(ours_port)
            check(st == 200 and closed(env_port),
                  "OIDC_HTTP_PORT yields to PORTCULLIS_OIDC_HTTP_ADDR", st)
        finally:
            srv.stop()

    for env, flags, says in (({}, ["--oidc-http-port=abc"], "--oidc-http-port"),
                             ({}, ["--oidc-http-port=70000"], "--oidc-http-port"),
                             ({}, ["--oidc-http-port="], "--oidc-http-port"),
                             ({"OIDC_HTTP_PORT": "-1"}, [], "OIDC_HTTP_PORT (--oidc-http-port)"),
                             ({"OIDC_HTTP_PORT": "8083x"}, [], "OIDC_HTTP_PORT")):
        ac = write(os.path.join(tmp, "oidc-bad.yaml"), text)
        p = subprocess.run([PC_BIN, "serve", "--authconfigs", ac, "--grpc-addr", "127.0.0.1:0",
                            "--http-addr", "127.0.0.1:0", "--admin-addr",
                            "127.0.0.1:%d" % free_port()] + flags + plugin_args(),
                           capture_output=True, text=True, timeout=30,
                           env=clean_env(env))
        out = p.stdout + p.stderr
        check(p.returncode == 2 and says in out and "want a port number" in out,
              "a bad port (%s): exit 2 naming it" % (flags or env), (p.returncode, out))


def main():
    tmp = tempfile.mkdtemp(prefix="pc-wristband-")
    for t in (test_guide, test_algorithms, test_config_errors, test_oidc_port):
        with checks.guard(t.__name__):
            t(tmp)
    __import__("shutil").rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
