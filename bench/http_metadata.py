#!/usr/bin/python3
"""Cached `http` metadata under load, against the metadata service fixture
(tests/fixtures/metadata_service). Reports figures; never passes or fails.

 (a) requests/s of anonymous + a cached `http` metadata call + one pattern
     on its answer, next to anonymous + one pattern, through gRPC (h2load,
     pre-encoded requests, interleaved rounds in one run; target >= 0.8x);
 (b) 1,000 concurrent checks (one gRPC channel, 1,000 requests in flight)
     for one key the cache has never seen, while the service takes 500 ms
     per answer: calls that reached the service (target 1).

usage: bench/http_metadata.py
env:   N (requests per h2load run, 100000), C (10), M (100), ROUNDS (3),
       PC_BUILD (/tmp/build-bench), BENCH_PIN (1: server on core 1, h2load
       on core 0; the fixture is not pinned)
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "fixtures", "metadata_service"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "pyclient"))

import benchlib  # noqa: E402
from benchlib import load, load1  # noqa: E402
from metadata_service import control  # noqa: E402

N = int(os.environ.get("N", "100000"))
C = int(os.environ.get("C", "10"))
M = int(os.environ.get("M", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
from benchlib import PIN  # noqa: E402
ANON_HOST = "anon.bench"
META_HOST = "meta.bench"

AUTHCONFIGS = benchlib.ANON_AUTHCONFIG + """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: meta, namespace: bench}
spec:
  hosts: [%(meta)s]
  authentication:
    anon: {anonymous: {}}
  metadata:
    owner:
      http:
        url: "%(url)s/owners/{request.headers.x-tenant}"
        headers:
          Accept: {value: application/json}
      cache:
        key: {selector: request.headers.x-tenant}
        ttl: 300
  authorization:
    known-tenant:
      patternMatching:
        patterns:
        - {selector: auth.metadata.owner.method, operator: eq, value: GET}
"""


class Bench(benchlib.BenchServer):
    def __init__(self):
        benchlib.BenchServer.__init__(self, "pc-bench-meta-")

    def start_fixture(self):
        port_file = os.path.join(self.tmp, "meta.port")
        self.spawn([sys.executable, os.path.join(SRC, "tests", "fixtures", "metadata_service",
                                                 "metadata_service.py"),
                    "--port", "0", "--port-file", port_file, "--quiet", "--exit-with-parent"],
                   open(os.path.join(self.tmp, "fixture.log"), "w"))
        end = time.monotonic() + 15
        while not os.path.exists(port_file) and time.monotonic() < end:
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%d" % int(open(port_file).read())

    def start_server(self):
        benchlib.BenchServer.start_server(
            self, AUTHCONFIGS % {"anon": ANON_HOST, "meta": META_HOST, "url": self.url})


def part_a(b):
    print("## (a) cached http metadata + pattern vs anonymous + pattern, h2load -c %d -m %d "
          "-t 1, -n %d, %d interleaved rounds" % (C, M, N, ROUNDS))
    anon_frame = os.path.join(b.tmp, "anon.bin")
    meta_frame = os.path.join(b.tmp, "meta.bin")
    hdrs = {"user-agent": "h2load", "x-tenant": "acme"}
    benchlib.encode(anon_frame, ANON_HOST, "/pets/42", "GET", hdrs)
    benchlib.encode(meta_frame, META_HOST, "/pets/42", "GET", hdrs)
    addr = "127.0.0.1:%d" % b.grpc_port
    control(b.url, "reset", {})
    for host in (ANON_HOST, META_HOST):
        g, code, http = benchlib.sample_check(addr, host, "/pets/42", "GET", hdrs)
        print("sample check %-10s grpc %s, CheckResponse.status.code %s%s"
              % (host, g, code, "" if code == 0 else " (NOT AN ALLOW, denied http %s)" % http))
    common = ["-c", str(C), "-m", str(M)]
    b.h2load("anonymous warm-up", anon_frame, N // 10, common)
    b.h2load("metadata warm-up", meta_frame, N // 10, common)
    anon, meta = [], []
    for r in range(1, ROUNDS + 1):
        anon.append(b.h2load("anonymous+pattern r%d" % r, anon_frame, N, common).get("rps", 0))
        meta.append(b.h2load("cached metadata+pattern r%d" % r, meta_frame, N, common)
                    .get("rps", 0))
    print("anonymous+pattern              best %8.0f  median %8.0f req/s"
          % (max(anon), statistics.median(anon)))
    print("cached http metadata+pattern   best %8.0f  median %8.0f req/s"
          % (max(meta), statistics.median(meta)))
    print("metadata / anonymous: best/best %.2fx  median/median %.2fx  (target >= 0.8x)"
          % (max(meta) / max(anon), statistics.median(meta) / statistics.median(anon)))
    print("calls that reached the metadata service (one key, cached 300 s): %d"
          % control(b.url, "counters", None, "GET")["requests"])


def part_b(b):
    from extauthz_client import Client, build_check_request
    print("## (b) 1,000 concurrent checks of one uncached key, service delay 500 ms")
    control(b.url, "reset", {})
    control(b.url, "fault", {"delay_ms": 500})
    req = build_check_request(META_HOST, "/pets/42", headers={"x-tenant": "herd"})
    with Client("127.0.0.1:%d" % b.grpc_port, timeout=60) as c:
        t0 = time.monotonic()
        futs = [c._check_v3.future(req, timeout=60) for _ in range(1000)]
        codes = [f.result().status.code for f in futs]
        took = time.monotonic() - t0
    control(b.url, "fault", None, "DELETE")
    print("1000 checks in %.2f s: verdicts %s; calls that reached the service: %d (target 1)"
          % (took, {k: codes.count(k) for k in set(codes)},
             control(b.url, "counters", None, "GET")["requests"]))


def main():
    for tool in ("h2load", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("missing tool: " + tool)
    b = Bench()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                    if l.startswith("model name")), "?")
        print("# http metadata benchmark")
        print("# %s  nproc=%d  cpu=%s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                        os.cpu_count(), cpu))
        print("# load at start: %s   pinning: %s" % (load(), "server core 1, h2load core 0"
                                                      if PIN else "off"))
        b.start_fixture()
        b.start_server()
        part_a(b)
        part_b(b)
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
