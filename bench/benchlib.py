#!/usr/bin/python3
"""Helpers for the load benchmarks: gRPC-framed CheckRequests for h2load,
a sample Check through a real gRPC client, and h2load output parsing.

    benchlib.py encode OUT HOST PATH [METHOD] [name=value ...]
        writes one gRPC message frame (5-byte prefix + CheckRequest) to OUT
    benchlib.py check ADDR HOST PATH [METHOD] [name=value ...]
        one Check through python3-grpcio; prints grpc status and verdict
    benchlib.py h2load-summary FILE LABEL [NOTE]
        one line from h2load's output: req/s, outcomes, status codes, mean
    benchlib.py log-stats FILE LABEL [SKIP_SECONDS]
        mean/p50/p90/p99/max from h2load --log-file (first SKIP_SECONDS of
        requests dropped as warm-up)

Figures only: nothing here passes or fails.
"""

import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "pyclient"))


def _headers(args):
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        out[k] = v
    return out


def _split_method(rest):
    if rest and "=" not in rest[0]:
        return rest[0], rest[1:]
    return "GET", rest


def check_request(host, path, method="GET", headers=None):
    from extauthz_client import build_check_request
    return build_check_request(host, path, method=method, headers=headers,
                               source=("127.0.0.1", 40000))


def grpc_frame(msg_bytes):
    return struct.pack(">BI", 0, len(msg_bytes)) + msg_bytes


def encode(out, host, path, method="GET", headers=None):
    data = grpc_frame(check_request(host, path, method, headers).SerializeToString())
    with open(out, "wb") as f:
        f.write(data)
    return len(data)


def sample_check(addr, host, path, method="GET", headers=None):
    """(grpc status name, CheckResponse.status.code, http status or None)."""
    import grpc
    from extauthz_client import Client
    with Client(addr, timeout=10) as c:
        try:
            resp = c.check(check_request(host, path, method, headers))
        except grpc.RpcError as e:
            return e.code().name, None, None
        http = None
        if resp.HasField("denied_response"):
            http = resp.denied_response.status.code
        return "OK", resp.status.code, http


_NUM = r"([0-9.]+)"


def parse_h2load(text):
    r = {}
    m = re.search(r"finished in " + _NUM + r"(m?s), " + _NUM + " req/s", text)
    if m:
        secs = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        r["secs"], r["rps"] = secs, float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        for i, k in enumerate(("total", "started", "done", "succeeded", "failed",
                               "errored", "timeout")):
            r[k] = int(m.group(i + 1))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        r["2xx"], r["3xx"], r["4xx"], r["5xx"] = (int(x) for x in m.groups())
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if m:
        r["mean"] = m.group(3)
    return r


def h2load_summary(path, label, note=""):
    with open(path, errors="replace") as f:
        text = f.read()
    r = parse_h2load(text)
    if "rps" not in r:
        tail = " | ".join(text.strip().splitlines()[-3:])
        print("%-34s h2load gave no figure: %s" % (label, tail))
        return r
    print("%-34s %10.0f req/s  done %d ok %d failed %d errored %d  2xx %d non-2xx %d  mean %s  (%s)"
          % (label, r["rps"], r.get("done", 0), r.get("succeeded", 0), r.get("failed", 0),
             r.get("errored", 0), r.get("2xx", 0),
             r.get("3xx", 0) + r.get("4xx", 0) + r.get("5xx", 0), r.get("mean", "?"), note))
    return r


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def latency_stats(samples_us):
    s = sorted(samples_us)
    if not s:
        return {"n": 0}
    return {"n": len(s), "mean": sum(s) / len(s), "p50": percentile(s, 50),
            "p90": percentile(s, 90), "p99": percentile(s, 99), "max": s[-1]}


def fmt_stats(label, st, unit="us"):
    if st.get("n", 0) == 0:
        return "%-34s no samples" % label
    div = 1000.0 if unit == "ms" else 1.0
    return ("%-34s n=%d  mean %.3f %s  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f"
            % (label, st["n"], st["mean"] / div, unit, st["p50"] / div, st["p90"] / div,
               st["p99"] / div, st["max"] / div))


def log_stats(path, label, skip_seconds=0.0):
    rows = []
    statuses = {}
    # h2load writes one log per thread into the same file; each line is
    # start(us since epoch) \t status \t duration(us).
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            start, status, dur = int(parts[0]), int(parts[1]), int(parts[2])
            rows.append((start, dur))
            statuses[status] = statuses.get(status, 0) + 1
    if not rows:
        print("%-34s empty log" % label)
        return {}
    t0 = min(r[0] for r in rows)
    kept = [d for s, d in rows if s - t0 >= skip_seconds * 1e6]
    st = latency_stats(kept)
    print(fmt_stats(label, st, "ms") + "  statuses %s" % statuses)
    return st



# ---- a server under h2load, shared by the benchmark scripts ----------------

BUILD = os.environ.get("PC_BUILD", "/tmp/build-bench")
PC_BIN = os.environ.get("PC_BIN", os.path.join(BUILD, "bin", "portcullis"))
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR",
                               os.path.join(BUILD, "lib", "portcullis", "plugins"))
PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) >= 2
PIN_SERVER = ["taskset", "-c", "1"] if PIN else []
PIN_CLIENT = ["taskset", "-c", "0"] if PIN else []
CHECK = "/envoy.service.auth.v3.Authorization/Check"
# The baseline every pipeline benchmark compares with: anonymous + one
# pattern, at host %(anon)s, followed by the AuthConfig under test.
ANON_AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: anon, namespace: bench}
spec:
  hosts: [%(anon)s]
  authentication:
    anon: {anonymous: {}}
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
---
"""


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def load1():
    return load().split()[0]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class BenchServer:
    """A scratch directory, the processes a benchmark starts (killed by
    cleanup), `portcullis serve` on free loopback ports (pinned to core 1
    unless BENCH_PIN=0) and h2load rounds against its gRPC port (core 0)."""

    def __init__(self, prefix):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.server = None

    def spawn(self, cmd, log):
        import subprocess
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def cleanup(self):
        import shutil
        import subprocess
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_server(self, authconfigs, extra=(), build=None):
        """Serves the AuthConfig text `authconfigs`; returns when /readyz
        answers 200 (exits with the server's log otherwise). `build`: another
        build directory's binary and plugins instead of PC_BUILD's."""
        import time
        import urllib.request
        acdir = os.path.join(self.tmp, "ac")
        os.makedirs(acdir, exist_ok=True)
        with open(os.path.join(acdir, "bench.yaml"), "w") as f:
            f.write(authconfigs)
        self.grpc_port, self.http_port, self.admin_port = free_port(), free_port(), free_port()
        pc_bin, plugin_dir = PC_BIN, PC_PLUGIN_DIR
        if build:
            pc_bin = os.path.join(build, "bin", "portcullis")
            plugin_dir = os.path.join(build, "lib", "portcullis", "plugins")
        cmd = PIN_SERVER + [
            pc_bin, "serve", "--plugin-dir", plugin_dir,
            "--grpc-addr", "127.0.0.1:%d" % self.grpc_port,
            "--http-addr", "127.0.0.1:%d" % self.http_port,
            "--admin-addr", "127.0.0.1:%d" % self.admin_port,
            "--authconfigs", acdir, "--log-level", "warn", "--log-format", "text"]
        cmd += list(extra)
        if PIN:
            cmd += ["--io-threads", "1"]
        self.serve_log = os.path.join(self.tmp, "serve.log")
        self.server = self.spawn(cmd, open(self.serve_log, "w"))
        end = time.monotonic() + 15
        while time.monotonic() < end and self.server.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.admin_port,
                                            timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("portcullis did not become ready:\n" +
                         open(self.serve_log).read()[-2000:])

    def h2load(self, label, frame, n, extra=(), log_file=None):
        """One h2load run of gRPC Checks (frame: a file from `encode`);
        the one-line summary of h2load_summary."""
        import subprocess
        cmd = PIN_CLIENT + ["h2load", "-n", str(n), "-t", "1", "-d", frame,
                            "-H", "content-type: application/grpc", "-H", "te: trailers"]
        cmd += list(extra)
        if log_file:
            cmd += ["--log-file", log_file]
        cmd.append("http://127.0.0.1:%d%s" % (self.grpc_port, CHECK))
        out = os.path.join(self.tmp, "h2load-%s.txt" % re.sub(r"\W+", "-", label))
        l0 = load1()
        with open(out, "w") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=600)
        return h2load_summary(out, label, "load %s->%s" % (l0, load1()))


def main(argv):
    if len(argv) >= 4 and argv[0] == "encode":
        method, rest = _split_method(argv[4:])
        n = encode(argv[1], argv[2], argv[3], method, _headers(rest))
        print("%d bytes" % n)
        return 0
    if len(argv) >= 4 and argv[0] == "check":
        method, rest = _split_method(argv[4:])
        g, code, http = sample_check(argv[1], argv[2], argv[3], method, _headers(rest))
        verdict = "allow" if g == "OK" and code == 0 else "NOT-ALLOW"
        print("sample check: grpc-status %s, CheckResponse.status.code %s, denied http %s -> %s"
              % (g, code, http, verdict))
        return 0
    if len(argv) >= 3 and argv[0] == "h2load-summary":
        h2load_summary(argv[1], argv[2], argv[3] if len(argv) > 3 else "")
        return 0
    if len(argv) >= 3 and argv[0] == "log-stats":
        log_stats(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 0.0)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
