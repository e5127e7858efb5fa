#!/usr/bin/python3
r"""Pull every `kind: AuthConfig` document out of Authorino's user guides.

Reads docs/user-guides/*.md from an Authorino git repository at a given
revision, finds the fenced code blocks (``` ... ```), and in each takes the
bodies of shell heredocs (`kubectl apply -f - <<EOF ... EOF`) or, for a
block with no heredoc whose language is yaml/yml, the block itself. Those
are split into YAML documents at `---` lines. The AuthConfig documents are
written to OUT/<guide>.yaml and the Secret documents (which the guides'
AuthConfigs refer to) to OUT/secrets/<guide>.yaml: one file per guide,
documents in the order the guide prints them, each preceded by a comment
naming the guide line it starts on. Guides with none get no file; the
.yaml files already in OUT and OUT/secrets are removed first, so a guide
that is gone leaves nothing behind.

A document is kept exactly as printed, except that the body of a heredoc
with an unquoted delimiter is what the shell hands to kubectl: there `\\`,
`\$` and `\`` lose their backslash and `\<newline>` joins lines (a guide
that prints `\\\.` in a CEL string means `\\.`). A parameter expansion,
command substitution or backquote in such a heredoc is an error: its value
would depend on the reader's shell.

usage: extract-guide-authconfigs.py [--rev REV] AUTHORINO_GIT_DIR OUT_DIR
"""

import argparse
import os
import re
import subprocess
import sys

GUIDES = "docs/user-guides"
FENCE = re.compile(r"^(\s*)(```|~~~)\s*([\w+-]*)")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
DOC_SEP = re.compile(r"^---\s*$")
KIND = re.compile(r"^kind:\s*['\"]?(\w+)['\"]?\s*(#.*)?$", re.M)
KEPT = {"AuthConfig": "", "Secret": "secrets"}  # kind -> subdirectory of OUT


def git(gitdir, *args):
    return subprocess.run(["git", "-C", gitdir] + list(args), check=True,
                          capture_output=True, text=True).stdout


def code_blocks(text):
    """(language, [(line number, line)]) for each fenced block, the lines
    with the fence's indentation taken off."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            line = lines[i]
            cut = min(indent, len(line) - len(line.lstrip(" ")))
            body.append((i + 1, line[cut:]))
            i += 1
        i += 1
        yield lang, body


def yaml_texts(lang, body):
    """The YAML a block feeds to a command: its heredoc bodies, else the
    block itself when it is a YAML block."""
    found = False
    i = 0
    while i < len(body):
        m = HEREDOC.search(body[i][1])
        if not m:
            i += 1
            continue
        found = True
        end = m.group(2)
        i += 1
        start = i
        while i < len(body) and body[i][1].strip() != end:
            i += 1
        lines = body[start:i]
        if m.group(1) == "" :
            lines = shell_unescape(lines)
        if "<<-" in body[start - 1][1]:
            lines = [(n, line.lstrip("\t")) for n, line in lines]
        yield lines
        i += 1
    if not found and lang in ("yaml", "yml"):
        yield body


EXPANSION = re.compile(r"\$[A-Za-z0-9_{(@*#?!$-]|`")


def shell_unescape(lines):
    """A heredoc body as bash reads it when its delimiter is unquoted."""
    text = "\n".join(line for _, line in lines)
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "\\$`\n":
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        if EXPANSION.match(text, i):
            n = lines[0][0] + text.count("\n", 0, i)
            raise SystemExit("line %d: shell expansion %r in a heredoc" % (n, text[i:i + 2]))
        out.append(c)
        i += 1
    # Line numbers follow the printed lines; a joined line keeps its first.
    result, n = [], lines[0][0] if lines else 0
    for piece in "".join(out).split("\n"):
        result.append((n, piece))
        n += 1
    return result


def documents(lines):
    doc = []
    for n, line in lines:
        if DOC_SEP.match(line):
            if doc:
                yield doc
            doc = []
        else:
            doc.append((n, line))
    if doc:
        yield doc


def kept_documents(text):
    """(kind, first line number, document text) for each AuthConfig or
    Secret document."""
    for lang, body in code_blocks(text):
        for lines in yaml_texts(lang, body):
            for doc in documents(lines):
                while doc and not doc[-1][1].strip():
                    doc.pop()
                while doc and not doc[0][1].strip():
                    doc.pop(0)
                src = "\n".join(line for _, line in doc) + "\n"
                m = KIND.search(src)
                if doc and m and m.group(1) in KEPT:
                    yield m.group(1), doc[0][0], src


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("gitdir")
    ap.add_argument("out")
    a = ap.parse_args()
    commit = git(a.gitdir, "rev-parse", a.rev + "^{commit}").strip()
    names = [p for p in git(a.gitdir, "ls-tree", "--name-only", commit, GUIDES + "/").split()
             if p.endswith(".md")]
    for sub in KEPT.values():
        d = os.path.join(a.out, sub)
        for f in os.listdir(d) if os.path.isdir(d) else ():
            if f.endswith(".yaml"):
                os.remove(os.path.join(d, f))
    total = dict.fromkeys(KEPT, 0)
    for path in sorted(names):
        guide = os.path.basename(path)[:-3]
        try:
            found = list(kept_documents(git(a.gitdir, "show", "%s:%s" % (commit, path))))
        except SystemExit as e:
            raise SystemExit("%s: %s" % (path, e))
        counts = []
        for kind, sub in KEPT.items():
            docs = [(n, src) for k, n, src in found if k == kind]
            if not docs:
                continue
            os.makedirs(os.path.join(a.out, sub), exist_ok=True)
            with open(os.path.join(a.out, sub, guide + ".yaml"), "w") as f:
                for n, src in docs:
                    f.write("---\n# %s:%d\n%s" % (path, n, src))
            total[kind] += len(docs)
            counts.append("%d %s" % (len(docs), kind))
        if counts:
            print("%s: %s" % (guide, ", ".join(counts)))
    print("%s from Authorino %s" % (", ".join("%d %s" % (v, k) for k, v in total.items()),
                                    commit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
