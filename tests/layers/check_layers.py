#!/usr/bin/python3
"""Check the engine's module layering from its #include lines.

Every directory under engine/ is one module. An #include "x.h" resolves
as the compiler does here: beside the including file first, then from
engine/ (the engine's include root). An edge A -> B means a file in A
includes a header in B. The check fails on any cycle between modules
and on any edge from a module to one declared above it in LAYERS (a
module may only include modules on its own layer or below, and modules
sharing a layer may not include each other).

Usage: check_layers.py [ENGINE_DIR]      check the tree (default: ../../engine)
       check_layers.py --self-test       prove the check catches what it must
       check_layers.py --graph [DIR]     print the module graph
"""
import os
import re
import sys
import tempfile

# Bottom first. A module may include only modules on lower rows.
LAYERS = [
    ("util",),                       # buffers, maps, log, clock
    ("doc",),                        # the request document (values in arenas)
    ("eval", "ydoc"),                # evaluation context; YAML/JSON with lines
    ("http", "metrics", "selector", "cel", "index", "request"),
    ("cache", "kube"),               # cache -> metrics, kube -> http
    ("plugin",),                     # loader and schema checks
    ("config",),                     # AuthConfig -> compiled form
    ("snapshot", "trace"),           # trace: spans, OTLP export
    ("pipeline",),
    ("server",),                     # submit, workers, readiness
    ("host",),                       # host.c: wires the services table
    ("controller",),
    ("cli",),
    ("main",),                       # engine/main.c
]

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def rank_table():
    return {m: i for i, row in enumerate(LAYERS) for m in row}


def module_of(engine, path):
    rel = os.path.relpath(path, engine)
    parts = rel.split(os.sep)
    return "main" if len(parts) == 1 else parts[0]


def scan(engine):
    """Return {(from, to): [(file, header), ...]} for edges between modules."""
    edges = {}
    for root, _dirs, files in os.walk(engine):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            src = module_of(engine, path)
            for hdr in INCLUDE.findall(text):
                for base in (root, engine):
                    cand = os.path.normpath(os.path.join(base, hdr))
                    if os.path.isfile(cand):
                        break
                else:
                    continue  # SDK or generated header: not a module
                if not cand.startswith(os.path.normpath(engine) + os.sep):
                    continue
                dst = module_of(engine, cand)
                if dst != src:
                    edges.setdefault((src, dst), []).append(
                        (os.path.relpath(path, engine), hdr))
    return edges


def find_cycle(nodes, edges):
    """Return one cycle as a list of modules, or None."""
    adj = {n: sorted({b for (a, b) in edges if a == n}) for n in nodes}
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in adj.get(n, ()):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(nodes):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def print_layers(out):
    out.write("declared layers, bottom first (a module includes only lower rows):\n")
    for i, row in enumerate(LAYERS):
        out.write("  %2d  %s\n" % (i, ", ".join(row)))


def check(engine, out=sys.stdout):
    """Return a list of problems (empty when the layering holds)."""
    edges = scan(engine)
    ranks = rank_table()
    nodes = {m for e in edges for m in e}
    for root, dirs, _files in os.walk(engine):
        if root == engine:
            nodes.update(dirs)
    problems = []
    for m in sorted(nodes):
        if m not in ranks:
            problems.append("module %s/ is not in the layer table" % m)
    cycle = find_cycle(nodes, edges)
    if cycle:
        problems.append("include cycle: " + " -> ".join(cycle))
        for a, b in zip(cycle, cycle[1:]):
            f, h = edges[(a, b)][0]
            problems.append("    %s -> %s: %s includes \"%s\"" % (a, b, f, h))
    for (a, b), uses in sorted(edges.items()):
        if a in ranks and b in ranks and ranks[a] <= ranks[b]:
            for f, h in uses:
                problems.append("upward edge %s -> %s: %s includes \"%s\""
                                % (a, b, f, h))
    return problems


def report(engine, out=sys.stdout):
    problems = check(engine, out)
    if problems:
        out.write("engine layering broken in %s:\n" % engine)
        for p in problems:
            out.write("  " + p + "\n")
        print_layers(out)
        return 1
    out.write("engine layering holds: %d modules, no cycles, no upward edges\n"
              % len(rank_table()))
    return 0


def self_test():
    """Build small trees and prove the check accepts and rejects them."""
    failures = 0

    def tree(files):
        d = tempfile.mkdtemp(prefix="pc-layers-")
        for rel, text in files.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        return d

    def expect(name, files, want):
        nonlocal failures
        d = tree(files)
        problems = check(d, open(os.devnull, "w"))
        got = [p for p in problems if want and want in p]
        ok = (not problems) if want is None else bool(got)
        print("self-test %-28s %s" % (name, "ok" if ok else "FAILED"))
        if not ok:
            failures += 1
            for p in problems:
                print("    " + p)

    good = {
        "util/buf.h": "",
        "util/buf.c": '#include "buf.h"\n',
        "cache/cache.c": '#include "util/buf.h"\n#include <stdio.h>\n',
        "config/a.c": '#include "cache/cache.h"\n#include "portcullis/host.h"\n',
        "cache/cache.h": '#include "util/buf.h"\n',
        "main.c": '#include "config/a.h"\n',
        "config/a.h": "",
    }
    expect("clean tree passes", good, None)
    cyc = dict(good)
    cyc["cache/cache.h"] = '#include "config/a.h"\n'
    expect("injected cycle is caught", cyc, "include cycle: ")
    up = dict(good)
    up["util/buf.c"] = '#include "buf.h"\n#include "cache/cache.h"\n'
    expect("upward edge is caught", up, "upward edge util -> cache")
    side = dict(good)
    side["kube/kube.h"] = ""
    side["cache/cache.c"] = '#include "kube/kube.h"\n'
    expect("same-layer edge is caught", side, "upward edge cache -> kube")
    unk = dict(good)
    unk["mystery/m.c"] = '#include "util/buf.h"\n'
    expect("unknown module is caught", unk, "module mystery/ is not in")
    rel = dict(good)
    rel["cache/x.c"] = '#include "../config/a.h"\n'
    expect("relative include resolves", rel, "upward edge cache -> config")
    # A copy of the real engine passes, and fails once one header of it
    # closes a cycle (util -> pipeline -> util).
    real = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "..", "..", "engine"))
    copy = {}
    for root, _dirs, files in os.walk(real):
        for name in files:
            if name.endswith((".c", ".h")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    copy[os.path.relpath(path, real)] = f.read()
    expect("real engine passes", copy, None)
    copy["util/buf.h"] += '\n#include "pipeline/pipeline.h"\n'
    expect("cycle injected in real engine", copy, "include cycle: ")
    return failures


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if len(argv) > 1 and argv[1] == "--self-test":
        return 1 if self_test() else 0
    if len(argv) > 1 and argv[1] == "--graph":
        engine = argv[2] if len(argv) > 2 else os.path.join(here, "..", "..", "engine")
        for (a, b), uses in sorted(scan(os.path.normpath(engine)).items()):
            print("%-10s -> %-10s %s" % (a, b, ", ".join(sorted({h for _f, h in uses}))))
        return 0
    engine = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..", "engine")
    return report(os.path.normpath(engine))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
