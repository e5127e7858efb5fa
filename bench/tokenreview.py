#!/usr/bin/python3
"""kubernetesTokenReview under load, against the fake kube-apiserver
fixture (tests/fixtures/kube_apiserver). Reports figures; never passes or
fails.

 (a) requests/s of a cached TokenReview + one pattern rule through gRPC,
     next to the anonymous + pattern pipeline (h2load, pre-encoded requests,
     interleaved rounds);
 (b) while the API server takes 500 ms for every TokenReview: p50/p99 of
     checks with an already-cached token (h2load at a fixed rate) against
     checks with new tokens (python gRPC client threads), at two levels of
     new-token concurrency; the cached population is also measured without
     the fault, as the baseline;
 (c) TokenReviews sent for 10,000 checks of 100 distinct tokens within the
     TTL (fixture counters).

usage: bench/tokenreview.py
env:   N (requests per h2load run, 100000), C (10), M (100), ROUNDS (3),
       SLOW_SECS (length of each (b) phase, 6), NEW_THREADS ("8 64"),
       PARTS (which of a, b, c to run, "abc"),
       PC_BUILD (/tmp/build-bench), BENCH_PIN (1: server on core 1, h2load
       on core 0; the fixture and python clients are not pinned)
"""

import concurrent.futures
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, ".."))
BUILD = os.environ.get("PC_BUILD", "/tmp/build-bench")
os.environ.setdefault("PC_PY_PROTO_DIR", os.path.join(BUILD, "python"))
PC_BIN = os.environ.get("PC_BIN", os.path.join(BUILD, "bin", "portcullis"))
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR", os.path.join(BUILD, "lib", "portcullis", "plugins"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "fixtures", "kube_apiserver"))

import benchlib  # noqa: E402
from fake_apiserver import FixtureClient  # noqa: E402

N = int(os.environ.get("N", "100000"))
C = int(os.environ.get("C", "10"))
M = int(os.environ.get("M", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SLOW_SECS = float(os.environ.get("SLOW_SECS", "6"))
NEW_THREADS = [int(x) for x in os.environ.get("NEW_THREADS", "8 64").split()]
PARTS = os.environ.get("PARTS", "abc")
from benchlib import PIN  # noqa: E402
AUD = "bench-api"
ANON_HOST = "anon.bench"
TR_HOST = "tr.bench"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

AUTHCONFIGS = benchlib.ANON_AUTHCONFIG + """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: tr, namespace: bench}
spec:
  hosts: [%(tr)s]
  authentication:
    k8s:
      kubernetesTokenReview:
        audiences: [%(aud)s]
        ttl: 300
        timeout: 5000
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
"""


load, load1, free_port = benchlib.load, benchlib.load1, benchlib.free_port


def proc_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Bench(benchlib.BenchServer):
    def __init__(self):
        benchlib.BenchServer.__init__(self, "pc-bench-tr-")

    def start_fixture(self):
        state = os.path.join(self.tmp, "api")
        self.fixture = self.spawn(
            [sys.executable, os.path.join(SRC, "tests", "fixtures", "kube_apiserver",
                                          "fake_apiserver.py"),
             "--port", "0", "--state-dir", state, "--api-audiences", AUD + ",https://kubernetes.default.svc.cluster.local",
             "--quiet", "--exit-with-parent"],
            open(os.path.join(self.tmp, "fixture.log"), "w"))
        self.api = FixtureClient(state, timeout=30)

    def start_server(self):
        benchlib.BenchServer.start_server(
            self, AUTHCONFIGS % {"anon": ANON_HOST, "tr": TR_HOST, "aud": AUD},
            ["--kubeconfig", self.api.kubeconfig_path])

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin_port,
                                    timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r'auth_server_response_status\{status="(\w+)"\} (\d+)', line)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out


def bearer(tok):
    return {"authorization": "Bearer " + tok}


def check_grpc(client, host, token):
    import grpc
    req = benchlib.check_request(host, "/pets/42", "GET", bearer(token) if token else None)
    t0 = time.perf_counter()
    try:
        resp = client.check(req, timeout=10)
        code = resp.status.code
    except grpc.RpcError as e:
        code = "rpc-" + e.code().name
    return code, (time.perf_counter() - t0) * 1e6


def part_a(b, token):
    print("## (a) cached TokenReview + pattern vs anonymous + pattern, h2load -c %d -m %d -t 1, "
          "-n %d, %d interleaved rounds" % (C, M, N, ROUNDS))
    anon_frame = os.path.join(b.tmp, "anon.bin")
    tr_frame = os.path.join(b.tmp, "tr.bin")
    benchlib.encode(anon_frame, ANON_HOST, "/pets/42", "GET", {"user-agent": "h2load"})
    benchlib.encode(tr_frame, TR_HOST, "/pets/42", "GET",
                    dict(bearer(token), **{"user-agent": "h2load"}))
    for host, tok in ((ANON_HOST, None), (TR_HOST, token)):
        g, code, http = benchlib.sample_check("127.0.0.1:%d" % b.grpc_port, host, "/pets/42",
                                              "GET", bearer(tok) if tok else None)
        print("sample check %-10s grpc %s, CheckResponse.status.code %s%s"
              % (host, g, code, "" if code == 0 else " (NOT AN ALLOW, denied http %s)" % http))
    b.api.reset_counters()
    m0 = b.metrics()
    common = ["-c", str(C), "-m", str(M)]
    b.h2load("anonymous warm-up", anon_frame, N // 10, common)
    b.h2load("tokenreview warm-up", tr_frame, N // 10, common)
    anon, tr = [], []
    for r in range(1, ROUNDS + 1):
        anon.append(b.h2load("anonymous+pattern r%d" % r, anon_frame, N, common).get("rps", 0))
        tr.append(b.h2load("cached tokenreview+pattern r%d" % r, tr_frame, N, common).get("rps", 0))
    m1 = b.metrics()
    sent = 2 * (N // 10) + ROUNDS * 2 * N
    print("anonymous+pattern           best %8.0f  median %8.0f req/s" % (max(anon), statistics.median(anon)))
    print("cached tokenreview+pattern  best %8.0f  median %8.0f req/s" % (max(tr), statistics.median(tr)))
    print("tokenreview / anonymous: best/best %.1f%%  median/median %.1f%%  (target: within 10%%)"
          % (100 * max(tr) / max(anon), 100 * statistics.median(tr) / statistics.median(anon)))
    print("OK verdicts by /metrics: %d of %d sent; other statuses: %s; TokenReviews sent: %d"
          % (m1.get("OK", 0) - m0.get("OK", 0), sent,
             {k: v - m0.get(k, 0) for k, v in m1.items() if k != "OK" and v != m0.get(k, 0)},
             b.api.counters()["tokenreviews"]))


def new_token_load(b, tokens, threads, secs):
    """Checks with never-seen tokens from `threads` threads for `secs`:
    returns (latencies us, verdict counts)."""
    from extauthz_client import Client
    lat, verdicts = [], {}
    lock = threading.Lock()
    it = iter(tokens)
    stop = time.monotonic() + secs
    client = Client("127.0.0.1:%d" % b.grpc_port, timeout=10)

    def worker():
        while time.monotonic() < stop:
            with lock:
                tok = next(it, None)
            if tok is None:
                return
            code, us = check_grpc(client, TR_HOST, tok)
            with lock:
                lat.append(us)
                verdicts[code] = verdicts.get(code, 0) + 1

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    client.close()
    return lat, verdicts


def part_b(b, token):
    rate, clients = 500, 4
    n = int(rate * clients * SLOW_SECS)
    print("## (b) API server delay 500 ms for every TokenReview; cached population: h2load "
          "-c %d --rps %d (%d req/s) for %.0f s; new tokens: python gRPC client threads"
          % (clients, rate, rate * clients, SLOW_SECS))
    tr_frame = os.path.join(b.tmp, "tr.bin")
    args = ["-c", str(clients), "-m", "10", "--rps", str(rate)]
    base_log = os.path.join(b.tmp, "cached-baseline.log")
    b.h2load("cached, no fault (baseline)", tr_frame, n, args, base_log)
    benchlib.log_stats(base_log, "  cached baseline latency", 1)
    for threads in NEW_THREADS:
        # A new-token thread does at most one check per 0.5 s; with more
        # threads than the server's 32 workers the rate stays near 64/s.
        # Threads stop early if the tokens run out (the count is reported).
        need = int(min(threads, 32) * (SLOW_SECS + 1) / 0.5) + threads
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
            tokens = list(ex.map(lambda i: b.api.mint(
                namespace="default", name="bench-new-%d" % (i % 50), audiences=[AUD],
                jti=True, expiration_seconds=3600), range(need)))
        mint_s = time.monotonic() - t0
        b.api.set_fault("tokenreviews", delay_ms=500)
        b.api.reset_counters()
        log = os.path.join(b.tmp, "cached-slow-%d.log" % threads)
        result = {}
        bg = threading.Thread(target=lambda: result.update(
            v=new_token_load(b, tokens, threads, SLOW_SECS + 1)))
        bg.start()
        time.sleep(0.5)
        b.h2load("cached during slow API, %d new" % threads, tr_frame, n, args, log)
        bg.join()
        b.api.clear_faults()
        lat, verdicts = result["v"]
        print("  %d new-token threads (%d tokens minted in %.1f s); TokenReviews sent %d; "
              "new-token verdicts %s"
              % (threads, need, mint_s, b.api.counters()["tokenreviews"], verdicts))
        benchlib.log_stats(log, "  cached latency, %d new in flight" % threads, 1)
        print(benchlib.fmt_stats("  new-token latency, %d threads" % threads,
                                 benchlib.latency_stats(lat), "ms"))


def part_c(b):
    print("## (c) 10,000 checks of 100 distinct tokens within the TTL (300 s), 8 client threads, "
          "shuffled")
    from extauthz_client import Client
    tokens = [b.api.token_request("default", "bench-c-%d" % i, [AUD], 3600) for i in range(100)]
    order = [t for t in tokens for _ in range(100)]
    random.Random(7).shuffle(order)
    b.api.reset_counters()
    verdicts = {}
    lock = threading.Lock()
    client = Client("127.0.0.1:%d" % b.grpc_port, timeout=10)

    def one(tok):
        code, _ = check_grpc(client, TR_HOST, tok)
        with lock:
            verdicts[code] = verdicts.get(code, 0) + 1

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(one, order))
    took = time.monotonic() - t0
    client.close()
    print("checks %d in %.1f s; verdicts %s; TokenReviews sent: %d (target 100)"
          % (len(order), took, verdicts, b.api.counters()["tokenreviews"]))


def main():
    for tool in ("h2load", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("missing tool: " + tool)
    b = Bench()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                    if l.startswith("model name")), "?")
        print("# kubernetesTokenReview benchmark")
        print("# %s  nproc=%d  cpu=%s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                        os.cpu_count(), cpu))
        print("# load at start: %s   pinning: %s" % (load(), "server core 1, h2load core 0"
                                                      if PIN else "off"))
        b.start_fixture()
        b.start_server()
        token = b.api.token_request("default", "bench-client", [AUD], 3600)
        rss0 = proc_kb(b.server.pid, "VmRSS")
        for part, fn in (("a", part_a), ("b", part_b)):
            if part in PARTS:
                fn(b, token)
        if "c" in PARTS:
            part_c(b)
        print("## memory: VmRSS at start %d kB, now %d kB, VmHWM %d kB"
              % (rss0, proc_kb(b.server.pid, "VmRSS"), proc_kb(b.server.pid, "VmHWM")))
        alive = b.server.poll() is None
        log = open(b.serve_log).read()
        print("## server %s; log lines at warn or above: %d; tokens in the log: %d"
              % ("still running" if alive else "EXITED (%s)" % b.server.returncode,
                 len(log.splitlines()), len(JWT_RE.findall(log))))
        for line in log.splitlines()[:5]:
            print("   " + JWT_RE.sub("<token>", line))
        print("# load at end: %s" % load())
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
