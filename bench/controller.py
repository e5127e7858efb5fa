#!/usr/bin/python3
"""Controller mode at scale, against the fake kube-apiserver on loopback:

  (a) N AuthConfigs (default 10,000) and N apiKey Secrets in the API: time
      from `portcullis serve --watch-authconfigs` to /readyz 200 (listed,
      compiled, installed), with and without status writes;
  (b) one AuthConfig changed among N: time from the API's answer to the
      change until the new host is served, while a client keeps checking an
      untouched host (every answer must stay 200);
  (c) the server's RSS with N AuthConfigs and N Secrets.

    /usr/bin/python3 bench/controller.py [--count N] [--build DIR]

Figures only: nothing here passes or fails.
"""

import argparse
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "kube_apiserver"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from fake_apiserver import FakeApiServer  # noqa: E402
from pcharness import free_ports  # noqa: E402

AC_PATH = "/apis/authorino.kuadrant.io/v1beta3/namespaces/%s/authconfigs"


def authconfig(i):
    ns = "ns%d" % (i % 100)
    return ns, {
        "apiVersion": "authorino.kuadrant.io/v1beta3", "kind": "AuthConfig",
        "metadata": {"name": "ac-%d" % i, "namespace": ns},
        "spec": {
            "hosts": ["svc-%d.example.com" % i, "svc-%d.internal" % i],
            "authentication": {"keys": {
                "apiKey": {"selector": {"matchLabels": {"app": "svc-%d" % i}}},
                "credentials": {"authorizationHeader": {"prefix": "APIKEY"}}}},
            "authorization": {"only-get": {"patternMatching": {"patterns": [
                {"selector": "request.method", "operator": "eq", "value": "GET"}]}}},
        },
    }


def secret(i):
    ns = "ns%d" % (i % 100)
    return ns, {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "key-%d" % i, "namespace": ns, "labels": {
                    "authorino.kuadrant.io/managed-by": "authorino", "app": "svc-%d" % i}},
                "stringData": {"api_key": "key-%d" % i}}


class Api:
    def __init__(self, api):
        self.ctx = ssl.create_default_context(cafile=api.ca_file)
        self.port = api.port
        with open(os.path.join(api.state_dir, "admin-token")) as f:
            self.token = f.read().strip()
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx)
            try:
                # One write for headers and body: no delayed-ACK stall per call.
                self.conn.request(method, path,
                                  body=json.dumps(body).encode() if body else None,
                                  headers={"Authorization": "Bearer " + self.token,
                                           "Content-Type": ctype})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
        raise RuntimeError("API call failed")


def check(port, host, key=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        h = {"Host": host}
        if key:
            h["Authorization"] = "APIKEY " + key
        c.request("GET", "/check", headers=h)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def serve(build, tmp, api, extra):
    g, h, a = free_ports(3)
    log = open(os.path.join(tmp, "serve.log"), "w")
    cmd = [os.path.join(build, "bin", "portcullis"), "serve", "--watch-authconfigs",
           "--kubeconfig", api.kubeconfig_path, "--plugin-dir",
           os.path.join(build, "lib", "portcullis", "plugins"),
           "--grpc-addr", "127.0.0.1:%d" % g, "--http-addr", "127.0.0.1:%d" % h,
           "--admin-addr", "127.0.0.1:%d" % a, "--log-level", "warn"] + extra
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", a, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if p.poll() is not None:
            raise RuntimeError("serve exited: see %s" % log.name)
        time.sleep(0.02)
    return p, h, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-secrets", action="store_true",
                    help="AuthConfigs only (their apiKey identities find no key)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pc-bench-controller-")
    api = FakeApiServer(os.path.join(tmp, "api"), quiet=True)
    api.start()
    try:
        cl = Api(api)
        t0 = time.monotonic()
        for i in range(args.count):
            if not args.no_secrets:
                ns, obj = secret(i)
                cl.call("POST", "/api/v1/namespaces/%s/secrets" % ns, obj)
            ns, obj = authconfig(i)
            st, body = cl.call("POST", AC_PATH % ns, obj)
            if st != 201:
                raise RuntimeError("create: %d %s" % (st, body[:200]))
        print("created %d AuthConfigs and %d Secrets in the API in %.1f s" % (
            args.count, args.count, time.monotonic() - t0))

        p, port, took = serve(args.build, tmp, api, ["--no-status-updates"])
        print("(a) ready with %d AuthConfigs + Secrets, no status writes: %.2f s" % (
            args.count, took))
        print("(c) RSS with %d AuthConfigs and %d Secrets: %.1f MB" % (
            args.count, args.count, rss_kb(p.pid) / 1024.0))
        ok = check(port, "svc-7.example.com", "key-7")
        print("    spot check svc-7 with its key: HTTP %d" % ok)

        # (b) one change while a client keeps checking another host.
        stop = threading.Event()
        answers = {}

        def client():
            while not stop.is_set():
                s = check(port, "svc-1.example.com", "key-1")
                answers[s] = answers.get(s, 0) + 1
        t = threading.Thread(target=client)
        t.start()
        lat = []
        for round_ in range(5):
            ns, obj = authconfig(42)
            new_host = "changed-%d.example.com" % round_
            obj["spec"]["hosts"] = [new_host]
            st, body = cl.call("PATCH", AC_PATH % ns + "/ac-42",
                               {"spec": {"hosts": [new_host]}}, "application/merge-patch+json")
            t1 = time.monotonic()
            # Served once it is no longer "Service not found".
            while check(port, new_host, "key-42") == 404:
                if time.monotonic() - t1 > 10:
                    break
            lat.append((time.monotonic() - t1) * 1000)
        stop.set()
        t.join()
        print("(b) one AuthConfig changed among %d: served after %s ms (5 changes); "
              "meanwhile an untouched host answered %s" % (
                  args.count, ", ".join("%.0f" % x for x in lat), answers))
        p.terminate()
        p.wait()

        p, port, took = serve(args.build, tmp, api, [])
        print("(a') ready with status writes on (first start: %d statuses to write): %.2f s" % (
            args.count, took))
        p.terminate()
        p.wait()
    finally:
        api.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
