#!/usr/bin/python3
"""The request path under load: gRPC Check (anonymous + one pattern) next to
nghttpd serving a 64-byte file with the same h2load settings, in
interleaved rounds (req/s, and each server's CPU time per request from
/proc/PID/stat, which a shared machine disturbs less), and the share of
the server's CPU samples spent in malloc and free at peak (perf record). With PC_BUILD_BEFORE, a second
Portcullis build runs in the same rounds, so before and after are measured
side by side. Reports figures; never passes or fails.

usage: bench/request_path.py
env:   N (requests per round, 200000), C (10), M (100), ROUNDS (5),
       PC_BUILD (/tmp/build-bench), PC_BUILD_BEFORE (unset: one build only),
       BENCH_PIN (1: servers on core 1 with --io-threads 1, h2load on core 0;
       0: nothing pinned, the servers pick their own thread counts),
       PERF_SECS (length of each perf record, 4; 0 skips it),
       PERF_TOP (also print the N functions with the most samples, 0)

Every server gets the same core when pinned (nghttpd too). The malloc
share counts samples in the allocator: all of libjemalloc, and glibc's
malloc, free, calloc, realloc and their internals; the denominator is
every sample of the server process, kernel included.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
BUILD = os.environ.get("PC_BUILD", "/tmp/build-bench")
os.environ.setdefault("PC_PY_PROTO_DIR", os.path.join(BUILD, "python"))

import benchlib  # noqa: E402

N = int(os.environ.get("N", "200000"))
C = int(os.environ.get("C", "10"))
M = int(os.environ.get("M", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
BEFORE = os.environ.get("PC_BUILD_BEFORE", "")
PERF_SECS = float(os.environ.get("PERF_SECS", "4"))
PERF_TOP = int(os.environ.get("PERF_TOP", "0"))
HOST = "bench.example.com"

AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: bench, namespace: bench}
spec:
  hosts: [%s]
  authentication:
    anon: {anonymous: {}}
  authorization:
    only-get:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
""" % HOST

ALLOC_SYM = re.compile(r"^(malloc|free|cfree|calloc|realloc|_int_malloc|_int_free|"
                       r"_int_realloc|malloc_consolidate|unlink_chunk.*|tcache_.*|"
                       r"sysmalloc|systrim|__libc_(malloc|free|calloc|realloc)|"
                       r"arena_get2.*|__malloc_.*|_?je_.*)$")


def nghttpd(b):
    www = os.path.join(b.tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "static.txt"), "w") as f:
        f.write("a" * 64)
    b.ng_port = benchlib.free_port()
    b.ng = b.spawn(benchlib.PIN_SERVER + ["nghttpd", "--no-tls", "-d", www, str(b.ng_port)],
                   open(os.path.join(b.tmp, "nghttpd.log"), "w"))
    end = time.monotonic() + 10
    import socket
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", b.ng_port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nghttpd did not start")


def cpu_secs(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_request_us(t0, t1, res):
    return 1e6 * (t1 - t0) / res["done"] if res.get("done") else float("nan")


def h2load_static(b, label, n):
    cmd = benchlib.PIN_CLIENT + ["h2load", "-n", str(n), "-c", str(C), "-m", str(M), "-t", "1",
                                 "http://127.0.0.1:%d/static.txt" % b.ng_port]
    out = os.path.join(b.tmp, "h2load-%s.txt" % re.sub(r"\W+", "-", label))
    l0 = benchlib.load1()
    with open(out, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=600)
    return benchlib.h2load_summary(out, label, "load %s->%s" % (l0, benchlib.load1()))


def malloc_share(b, label, frame):
    """perf record of the server during one h2load run at peak."""
    data = os.path.join(b.tmp, "perf.data")
    # h2load runs longer than perf, which attaches once the load is on.
    cmd = benchlib.PIN_CLIENT + ["h2load", "-D", "%d" % (PERF_SECS + 2), "-c", str(C),
                                 "-m", str(M), "-t", "1", "-d", frame,
                                 "-H", "content-type: application/grpc", "-H", "te: trailers",
                                 "http://127.0.0.1:%d%s" % (b.grpc_port, benchlib.CHECK)]
    out = os.path.join(b.tmp, "h2load-perf.txt")
    gen = subprocess.Popen(cmd, stdout=open(out, "w"), stderr=subprocess.STDOUT)
    time.sleep(0.5)
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999",
                    "-p", str(b.server.pid), "-o", data, "--", "sleep", "%g" % PERF_SECS],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=PERF_SECS + 60)
    gen.wait(timeout=PERF_SECS + 60)
    benchlib.h2load_summary(out, label + " under perf")
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--stdio", "-q", "-F", "overhead,sample,dso,sym"],
                         capture_output=True, text=True)
    total = alloc = 0
    by = {}
    every = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+(\d+)\s+(\S+)\s+\[[^\]]+\]\s+(\S+)", line)
        if not m:
            continue
        n, dso, sym = int(m.group(2)), m.group(3), m.group(4)
        total += n
        every.append((n, os.path.basename(dso), sym))
        if "jemalloc" in dso or ("libc.so" in dso and ALLOC_SYM.match(sym)):
            alloc += n
            by[sym] = by.get(sym, 0) + n
    if not total:
        print("%-34s perf gave no samples: %s" % (label, rep.stderr.strip()[:200]))
        return None
    top = ", ".join("%s %.1f%%" % (k, 100.0 * v / total)
                    for k, v in sorted(by.items(), key=lambda kv: -kv[1])[:5])
    print("%-34s malloc+free %.1f%% of %d samples (%s)" % (label, 100.0 * alloc / total,
                                                           total, top))
    if PERF_TOP:
        dsos = {}
        for n, dso, _ in every:
            dsos[dso] = dsos.get(dso, 0) + n
        print("    by object: " + ", ".join("%s %.1f%%" % (d, 100.0 * n / total) for d, n in
                                          sorted(dsos.items(), key=lambda kv: -kv[1])[:10]))
    for n, dso, sym in sorted(every, reverse=True)[:PERF_TOP]:
        print("    %5.1f%%  %-28s %s" % (100.0 * n / total, dso[:28], sym))
    return 100.0 * alloc / total


def main():
    for tool in ["h2load", "nghttpd"] + (["perf"] if PERF_SECS > 0 else []) + \
            (["taskset"] if benchlib.PIN else []):
        if not shutil.which(tool):
            raise SystemExit("missing tool: " + tool)
    builds = [("after", BUILD)] + ([("before", BEFORE)] if BEFORE else [])
    servers = {}
    ng = benchlib.BenchServer("pc-bench-ng-")
    try:
        print("# request path: gRPC Check vs nghttpd, h2load -n %d -c %d -m %d -t 1, "
              "%d interleaved rounds" % (N, C, M, ROUNDS))
        print("# %s  nproc=%d  load %s  pinning: %s" % (
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.cpu_count(),
            benchlib.load(), "servers core 1 (--io-threads 1), h2load core 0"
            if benchlib.PIN else "off"))
        frame = None
        for name, build in builds:
            b = benchlib.BenchServer("pc-bench-rp-%s-" % name)
            servers[name] = b
            b.start_server(AUTHCONFIG, build=build)
            print("# %s: %s" % (name, os.path.join(build, "bin", "portcullis")))
            if frame is None:
                frame = os.path.join(b.tmp, "check.bin")
                print("# request frame: %d bytes" % benchlib.encode(
                    frame, HOST, "/pets/42", "GET", {"user-agent": "h2load", "accept": "*/*"}))
            g, code, http = benchlib.sample_check("127.0.0.1:%d" % b.grpc_port, HOST,
                                                  "/pets/42", "GET")
            print("# %s sample check: grpc %s, status.code %s" % (name, g, code))
        nghttpd(ng)
        common = ["-c", str(C), "-m", str(M)]
        for name, b in servers.items():
            b.h2load("%s warm-up" % name, frame, N // 10, common)
        h2load_static(ng, "nghttpd warm-up", N // 10)
        rates = {name: [] for name in servers}
        rates["nghttpd"] = []
        cpu = {k: [] for k in rates}
        for r in range(1, ROUNDS + 1):
            for name, b in servers.items():
                t0 = cpu_secs(b.server.pid)
                res = b.h2load("portcullis %s r%d" % (name, r), frame, N, common)
                rates[name].append(res.get("rps", 0))
                cpu[name].append(per_request_us(t0, cpu_secs(b.server.pid), res))
            t0 = cpu_secs(ng.ng.pid)
            res = h2load_static(ng, "nghttpd r%d" % r, N)
            rates["nghttpd"].append(res.get("rps", 0))
            cpu["nghttpd"].append(per_request_us(t0, cpu_secs(ng.ng.pid), res))
        med = {k: statistics.median(v) for k, v in rates.items()}
        for k, v in rates.items():
            print("%-10s req/s: median %8.0f  best %8.0f   server CPU per request: median %.2f us"
                  " (%s)" % (k, med[k], max(v), statistics.median(cpu[k]),
                             " ".join("%.2f" % x for x in cpu[k])))
        for name in servers:
            ratios = [a / n for a, n in zip(rates[name], rates["nghttpd"]) if n]
            print("%s / nghttpd: req/s median of per-round ratios %.2f (%s); median/median %.2f;"
                  " nghttpd's CPU per request / %s's: %.2f"
                  % (name, statistics.median(ratios), " ".join("%.2f" % x for x in ratios),
                     med[name] / med["nghttpd"], name,
                     statistics.median(cpu["nghttpd"]) / statistics.median(cpu[name])))
        if BEFORE:
            ratios = [a / b_ for a, b_ in zip(rates["after"], rates["before"]) if b_]
            print("after / before: req/s median of per-round ratios %.2f; CPU per request %.2f"
                  % (statistics.median(ratios),
                     statistics.median(cpu["after"]) / statistics.median(cpu["before"])))
        if PERF_SECS > 0:
            print("## malloc+free share of server CPU samples at peak (perf record -e cpu-clock -F 1999, %g s)"
                  % PERF_SECS)
            for name, b in servers.items():
                malloc_share(b, "portcullis %s" % name, frame)
        for name, b in servers.items():
            st = open("/proc/%d/status" % b.server.pid).read() if b.server.poll() is None else ""
            mem = " ".join(re.findall(r"^(VmHWM:\s+\d+ kB|VmRSS:\s+\d+ kB)", st, re.M))
            print("# %s server %s %s" % (name, "still running" if b.server.poll() is None
                                         else "EXITED (%s)" % b.server.returncode, mem))
        print("# load at end: %s" % benchlib.load())
    finally:
        for b in list(servers.values()) + [ng]:
            b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
