#!/usr/bin/python3
"""The Lua evaluator under load. Reports figures; never passes or fails.

 (a) requests/s over gRPC of anonymous + a 5-line Lua role check next to
     anonymous + the equivalent patternMatching rule, in one run (h2load,
     pre-encoded requests, interleaved rounds; target >= 0.7x);
 (b) bench/bench_lua on one core: the Lua role check's cost per
     evaluation (target <= 2 us).

usage: bench/lua.py
env:   N (requests per h2load run, 100000), C (10), M (100), ROUNDS (3),
       ITERS (for (b), 200000), PC_BUILD (/tmp/build-bench),
       BENCH_PIN (1: server and bench_lua on core 1, h2load on core 0)
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PC_BUILD", "/tmp/build-bench")
os.environ.setdefault("PC_PY_PROTO_DIR", os.path.join(BUILD, "python"))
PC_BIN = os.environ.get("PC_BIN", os.path.join(BUILD, "bin", "portcullis"))
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR", os.path.join(BUILD, "lib", "portcullis", "plugins"))
BENCH_LUA = os.path.join(BUILD, "bench", "bench_lua")
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
from benchlib import free_port, load, load1  # noqa: E402

N = int(os.environ.get("N", "100000"))
C = int(os.environ.get("C", "10"))
M = int(os.environ.get("M", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
ITERS = int(os.environ.get("ITERS", "200000"))
from benchlib import PIN, PIN_SERVER  # noqa: E402

AUTHCONFIGS = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: anon, namespace: bench}
spec:
  hosts: [anon.bench]
  authentication:
    anon: {anonymous: {}}
  authorization:
    devs:
      patternMatching:
        patterns:
        - {selector: request.headers.x-role, operator: eq, value: dev}
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: lua, namespace: bench}
spec:
  hosts: [lua.bench]
  authentication:
    anon: {anonymous: {}}
  authorization:
    devs:
      lua:
        script: |
          function evaluate()
            local role = request.headers["x-role"]
            if role == "dev" or role == "admin" then return true end
            return false, "a developer role is required"
          end
"""


class Bench(benchlib.BenchServer):
    def __init__(self):
        benchlib.BenchServer.__init__(self, "pc-bench-lua-")

    def start_server(self):
        benchlib.BenchServer.start_server(self, AUTHCONFIGS)


def part_a(b):
    print("## (a) anonymous + Lua role check vs anonymous + pattern over gRPC, "
          "h2load -c %d -m %d -t 1, -n %d, %d interleaved rounds" % (C, M, N, ROUNDS))
    frames = {}
    for host in ("anon.bench", "lua.bench"):
        frames[host] = os.path.join(b.tmp, host + ".bin")
        benchlib.encode(frames[host], host, "/pets/42", "GET",
                        {"user-agent": "h2load", "x-role": "dev"})
        g, code, http = benchlib.sample_check("127.0.0.1:%d" % b.grpc_port, host, "/pets/42",
                                              "GET", {"x-role": "dev"})
        print("sample check %-10s grpc %s, CheckResponse.status.code %s%s"
              % (host, g, code, "" if code == 0 else " (NOT AN ALLOW, denied http %s)" % http))
    common = ["-c", str(C), "-m", str(M)]
    for host in frames:
        b.h2load(host + " warm-up", frames[host], N // 10, common)
    anon, lua = [], []
    for r in range(1, ROUNDS + 1):
        anon.append(b.h2load("anonymous+pattern r%d" % r, frames["anon.bench"], N, common).get("rps", 0))
        lua.append(b.h2load("anonymous+lua r%d" % r, frames["lua.bench"], N, common).get("rps", 0))
    print("anonymous+pattern  best %8.0f  median %8.0f req/s" % (max(anon), statistics.median(anon)))
    print("anonymous+lua      best %8.0f  median %8.0f req/s" % (max(lua), statistics.median(lua)))
    print("lua / anonymous: best/best %.2fx  median/median %.2fx  (target >= 0.7x)"
          % (max(lua) / max(anon), statistics.median(lua) / statistics.median(anon)))


def part_b():
    print("## (b) one core (%s): bench_lua" % ("pinned to core 1" if PIN else "not pinned"))
    env = dict(os.environ, PC_PLUGIN_DIR=PC_PLUGIN_DIR)
    p = subprocess.run(PIN_SERVER + [BENCH_LUA, str(ITERS)], capture_output=True, text=True,
                       env=env, timeout=600)
    sys.stdout.write(p.stdout)
    if p.returncode:
        print("bench_lua exited %d: %s" % (p.returncode, p.stderr[-1000:]))


def main():
    for tool in ("h2load", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("%s is required" % tool)
    print("# bench/lua.py  load %s  %d cores" % (load(), os.cpu_count()))
    b = Bench()
    try:
        b.start_server()
        part_a(b)
    finally:
        b.cleanup()
    part_b()


main()
