#!/usr/bin/python3
"""The jwt identity under load, against the fixture OIDC provider
(tests/fixtures/oidc_provider). Reports figures; never passes or fails.

 (a) requests/s over gRPC of jwt (RS256, cached verification) + one
     pattern rule next to anonymous + the same rule, in one run (h2load,
     pre-encoded requests, interleaved rounds; target >= 0.8x);
 (b) the engine on one core (bench/bench_jwt, pinned): anonymous, jwt
     cached, and jwt with a new RS256 token for every request, so each is
     parsed and its signature verified (target <= 50 us per verification).

usage: bench/jwt.py
env:   N (requests per h2load run, 100000), C (10), M (100), ROUNDS (3),
       TOKENS (distinct tokens for (b), 4000), ITERS (for (b), 100000),
       PC_BUILD (/tmp/build-bench), BENCH_PIN (1: server and bench_jwt on
       core 1, h2load on core 0)
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, ".."))
BUILD = os.environ.get("PC_BUILD", "/tmp/build-bench")
os.environ.setdefault("PC_PY_PROTO_DIR", os.path.join(BUILD, "python"))
PC_BIN = os.environ.get("PC_BIN", os.path.join(BUILD, "bin", "portcullis"))
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR", os.path.join(BUILD, "lib", "portcullis", "plugins"))
BENCH_JWT = os.path.join(BUILD, "bench", "bench_jwt")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "fixtures", "oidc_provider"))

import benchlib  # noqa: E402
from oidc_provider import OidcProvider  # noqa: E402
from benchlib import free_port, load, load1  # noqa: E402

N = int(os.environ.get("N", "100000"))
C = int(os.environ.get("C", "10"))
M = int(os.environ.get("M", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
TOKENS = int(os.environ.get("TOKENS", "4000"))
ITERS = int(os.environ.get("ITERS", "100000"))
from benchlib import PIN, PIN_SERVER  # noqa: E402
ANON_HOST = "anon.bench"
JWT_HOST = "jwt.bench"

AUTHCONFIGS = benchlib.ANON_AUTHCONFIG + """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: jwt, namespace: bench}
spec:
  hosts: [%(jwt)s]
  authentication:
    keycloak:
      jwt:
        issuerUrl: %(issuer)s
        ttl: 300
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
"""


class Bench(benchlib.BenchServer):
    def __init__(self):
        benchlib.BenchServer.__init__(self, "pc-bench-jwt-")
        self.op = OidcProvider(algs=["RS256"]).start()

    def cleanup(self):
        benchlib.BenchServer.cleanup(self)
        self.op.stop()

    def start_server(self):
        benchlib.BenchServer.start_server(
            self, AUTHCONFIGS % {"anon": ANON_HOST, "jwt": JWT_HOST, "issuer": self.op.issuer})


def part_a(b):
    print("## (a) jwt RS256 (cached) + pattern vs anonymous + pattern over gRPC, "
          "h2load -c %d -m %d -t 1, -n %d, %d interleaved rounds" % (C, M, N, ROUNDS))
    token = b.op.mint("RS256", exp_in=3600)
    anon_frame = os.path.join(b.tmp, "anon.bin")
    jwt_frame = os.path.join(b.tmp, "jwt.bin")
    benchlib.encode(anon_frame, ANON_HOST, "/pets/42", "GET", {"user-agent": "h2load"})
    benchlib.encode(jwt_frame, JWT_HOST, "/pets/42", "GET",
                    {"authorization": "Bearer " + token, "user-agent": "h2load"})
    for host, tok in ((ANON_HOST, None), (JWT_HOST, token)):
        g, code, http = benchlib.sample_check("127.0.0.1:%d" % b.grpc_port, host, "/pets/42",
                                              "GET", {"authorization": "Bearer " + tok}
                                              if tok else None)
        print("sample check %-10s grpc %s, CheckResponse.status.code %s%s"
              % (host, g, code, "" if code == 0 else " (NOT AN ALLOW, denied http %s)" % http))
    common = ["-c", str(C), "-m", str(M)]
    b.op.reset_counters()
    b.h2load("anonymous warm-up", anon_frame, N // 10, common)
    b.h2load("jwt warm-up", jwt_frame, N // 10, common)
    anon, jwt = [], []
    for r in range(1, ROUNDS + 1):
        anon.append(b.h2load("anonymous+pattern r%d" % r, anon_frame, N, common).get("rps", 0))
        jwt.append(b.h2load("jwt cached+pattern r%d" % r, jwt_frame, N, common).get("rps", 0))
    print("anonymous+pattern      best %8.0f  median %8.0f req/s" % (max(anon), statistics.median(anon)))
    print("jwt cached+pattern     best %8.0f  median %8.0f req/s" % (max(jwt), statistics.median(jwt)))
    print("jwt / anonymous: best/best %.2fx  median/median %.2fx  (target >= 0.8x)"
          % (max(jwt) / max(anon), statistics.median(jwt) / statistics.median(anon)))
    print("provider requests during the runs: %s" % b.op.get_counters())


def part_b(b):
    print("## (b) one core (%s): bench_jwt, %d distinct RS256 tokens for the uncached case"
          % ("pinned to core 1" if PIN else "not pinned", TOKENS))
    t0 = time.monotonic()
    path = os.path.join(b.tmp, "tokens.txt")
    with open(path, "w") as f:
        for i in range(TOKENS):
            f.write(b.op.mint("RS256", exp_in=3600, jti="bench-%d" % i) + "\n")
    print("minted in %.1f s" % (time.monotonic() - t0))
    env = dict(os.environ, PC_PLUGIN_DIR=PC_PLUGIN_DIR)
    p = subprocess.run(PIN_SERVER + [BENCH_JWT, b.op.jwks_url, path, str(ITERS)],
                       capture_output=True, text=True, env=env, timeout=600)
    sys.stdout.write(p.stdout)
    if p.returncode:
        print("bench_jwt exited %d: %s" % (p.returncode, p.stderr[-1000:]))
    # The floor on this machine right now: OpenSSL's own RSA-2048 verify.
    s = subprocess.run(PIN_SERVER + ["openssl", "speed", "-seconds", "2", "rsa2048"],
                       capture_output=True, text=True, timeout=120).stdout
    for line in s.splitlines():
        if line.startswith("rsa 2048 bits"):
            print("    reference: openssl speed rsa2048 verify %.1f us on the same core (load %s)"
                  % (float(line.split()[4].rstrip("s")) * 1e6, load1()))


def main():
    for tool in ("h2load", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("missing tool: " + tool)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench()
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                    if l.startswith("model name")), "?")
        print("# jwt identity benchmark")
        print("# %s  nproc=%d  cpu=%s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                        os.cpu_count(), cpu))
        print("# load at start: %s   pinning: %s" % (load(), "server core 1, h2load core 0"
                                                      if PIN else "off"))
        part_b(b)
        b.start_server()
        part_a(b)
        alive = b.server.poll() is None
        print("## server %s; log lines at warn or above: %d"
              % ("still running" if alive else "EXITED (%s)" % b.server.returncode,
                 len(open(b.serve_log).read().splitlines())))
        print("# load at end: %s" % load())
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
