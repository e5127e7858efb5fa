#!/usr/bin/python3
"""`portcullis serve --request-max-bytes N` (request.maxBytes,
PORTCULLIS_REQUEST_MAX_BYTES) bounds the memory of one request: a raw HTTP
/check whose 100 KB body cannot fit a 64 KiB request is denied with 503,
a small one on the same server is allowed, and the same large request is
allowed under the default (32 MiB). Values below 65536 or that are not
numbers are refused at start with the flag's name, and in the config file
with its file, line and path."""

import http.client
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import PC_BIN, Checks, Server, clean_env, started, write  # noqa: E402

HOST = "mem.test"
checks = Checks(limit=None)
check = checks.check

AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: mem, namespace: default}
spec:
  hosts: [%s]
  authentication:
    anyone: {anonymous: {}}
""" % HOST

BODY_LIMIT = ["--max-http-request-body-size", "1048576"]


def status_of(srv, body):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    try:
        c.request("POST", "/check", body=body,
                  headers={"Host": HOST, "Content-Type": "text/plain"})
        resp = c.getresponse()
        resp.read()
        return resp.status
    except OSError as e:
        return repr(e)
    finally:
        c.close()


def refused(args, env=None):
    r = subprocess.run([PC_BIN, "serve"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30, env=clean_env(env))
    return r.returncode, r.stdout.decode(errors="replace")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-reqmem-")
    big = b"x" * 100000
    srv = started(Server(tmp, authconfig_text=AUTHCONFIG, name="small",
                         extra=BODY_LIMIT + ["--request-max-bytes", "65536"]), check, "small")
    if srv:
        with srv:
            check(status_of(srv, b"hello") == 200,
                  "--request-max-bytes 65536: a small request is allowed")
            st = status_of(srv, big)
            check(st == 503, "--request-max-bytes 65536: a 100 KB body is denied with 503", st)
            check(status_of(srv, b"hello") == 200, "the server still answers afterwards")
    srv = started(Server(tmp, authconfig_text=AUTHCONFIG, name="default", extra=BODY_LIMIT),
                  check, "default")
    if srv:
        with srv:
            st = status_of(srv, big)
            check(st == 200, "the default limit (32 MiB): the 100 KB body is allowed", st)

    for bad in ("100", "65535", "12x", "-1"):
        rc, out = refused(["--request-max-bytes", bad])
        check(rc == 2 and "--request-max-bytes must be a number of bytes, at least 65536" in out,
              "--request-max-bytes %s is refused (exit 2)" % bad, out[-300:])
    rc, out = refused([], {"PORTCULLIS_REQUEST_MAX_BYTES": "1k"})
    check(rc == 2 and "--request-max-bytes must be" in out,
          "PORTCULLIS_REQUEST_MAX_BYTES=1k is refused (exit 2)", out[-300:])
    cfg = write(os.path.join(tmp, "server.yaml"), "workers: 2\nrequest:\n  maxBytes: 10\n")
    rc, out = refused(["--config", cfg])
    check(rc != 0 and "server.yaml:3" in out and "request.maxBytes" in out,
          "request.maxBytes: 10 in the config file names file, line and path", out[-300:])
    cfg = write(os.path.join(tmp, "typo.yaml"), "request:\n  maxByte: 100000\n")
    rc, out = refused(["--config", cfg])
    check(rc != 0 and "typo.yaml:2" in out and "maxByte" in out,
          "a typo under request: is an error with its line", out[-300:])
    checks.finish()


if __name__ == "__main__":
    with checks.guard():
        main()
    checks.finish()
