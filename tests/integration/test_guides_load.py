#!/usr/bin/python3
"""Every AuthConfig printed in Authorino's user guides loads unchanged.

tests/data/guides/authorino holds each guide's AuthConfigs as the guide
prints them (extracted by tools/extract-guide-authconfigs.py; the README
there names the Authorino commit); tests/data/guides/authorino-v1beta2 holds
the same guides as they were last printed with v1beta2 AuthConfigs. Each
AuthConfig is checked on its own with
`portcullis check`, the way the guide applies it (a guide often applies
successive versions of one AuthConfig under the same name), together with
the Secrets the guide creates (tests/data/guides/authorino/secrets): a user
checks an AuthConfig along with the resources it refers to. A guide whose
AuthConfigs live side by side (distinct names) is also checked as a whole.

Placeholders stay as printed: issuer URLs and service host names of a
cluster that is not there only make the jwt plugin warn that it cannot fetch
keys yet; they never stop a config from loading. (So that those fetches
stay on this machine, the test points libcurl's proxy variables at a closed
loopback port: no name is looked up, every fetch fails at once.)

Without its Secrets, an AuthConfig that names a Secret (credentialsRef,
sharedSecretRef, signingKeyRefs) fails to load with an error naming the
Secret, as Authorino refuses it too; an apiKey selector that matches no
Secret only warns, since matching Secrets may be created later. Both are
pinned below.

A short table lists what is expected not to load, each with the exact
errors it must fail with: AuthConfigs with OPA (`opa`) authorization, which
no shipped plugin provides yet (an `opa` plugin turns these into failures
here until they leave the table), and the few documents in which a guide
elides the spec (`authentication: [...]`), which no server could load.

The extractor itself is checked on a small guide of its own making, in a
throwaway git repository."""

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, clean_env, free_port,  # noqa: E402
                       plugin_args, write)

GUIDES = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides")
DATA = os.path.join(GUIDES, "authorino")
DATA_SETS = (("v1beta3", DATA), ("v1beta2", os.path.join(GUIDES, "authorino-v1beta2")))
EXTRACTOR = os.path.join(PC_SOURCE_DIR, "tools", "extract-guide-authconfigs.py")
SOURCE = re.compile(r"^# docs/user-guides/([\w.-]+)\.md:(\d+)$", re.M)
NAME = re.compile(r"^metadata:\n(?:[ \t]+.*\n)*?[ \t]+name:\s*(\S+)", re.M)
SUMMARY = re.compile(r"^(\d+) AuthConfigs? loaded from \d+ files?: (\d+) errors?, (\d+) warnings?$",
                     re.M)
ERROR = re.compile(r"^error: (.*)$", re.M)

# (guide, AuthConfig name) -> the evaluators that need the `opa`
# authorization method, each of which must be reported by path.
EXPECTED_OPA = {
    ("caching", "talker-api-protection"): ["spec.authorization.cached-authz.opa"],
    ("external-metadata", "talker-api-protection"): ["spec.authorization.geofence.opa"],
    ("keycloak-authorization-services", "talker-api-protection"):
        ["spec.authorization.uma.opa"],
    ("opa-authorization", "talker-api-protection"):
        ["spec.authorization.read-only-outside.opa"],
    ("resource-level-authorization-uma", "talker-api-protection"):
        ["spec.authorization.owned-resources.opa"],
    ("validating-webhook", "authconfig-validator"):
        ["spec.authorization.features.opa", "spec.authorization.metadata-cache-ttl.opa"],
}
OPA_ERROR = re.compile(r'^[^:]+:\d+: (\S+): no loaded plugin provides the authorization '
                       r'method "opa"$')

# Documents that elide their spec for the sake of the text, with the error
# each must get: at the line of the given key, with the path of what is
# wrong (`spec:` with only a comment under it is null, which has no line of
# its own).
NOT_A_MAP = ("authentication:",
             "spec.authentication: expected a map of evaluator names to evaluators")
ELIDED = {
    ("host-override", "dogs-api-protection"): NOT_A_MAP,
    ("host-override", "cats-api-protection"): NOT_A_MAP,
    ("host-override", "pets-api-protection"): NOT_A_MAP,
    ("observability", "my-api-protection"): ("spec:", "spec: expected an object"),
}

checks = Checks(limit=3000)
check = checks.check


_proxy = "http://127.0.0.1:%d" % free_port()
CHECK_ENV = clean_env({k: _proxy for k in ("ALL_PROXY", "all_proxy", "http_proxy",
                                           "HTTPS_PROXY", "https_proxy")})
for _k in ("NO_PROXY", "no_proxy"):
    CHECK_ENV.pop(_k, None)


def run_check(paths):
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + list(paths), capture_output=True,
                       text=True, env=CHECK_ENV, timeout=60)
    out = p.stdout + p.stderr
    m = SUMMARY.search(out)
    summary = tuple(int(x) for x in m.groups()) if m else None
    return p.returncode, summary, ERROR.findall(out), out


def guide_documents(path):
    """(guide, line, name, text) for each document of an extracted file."""
    with open(path) as f:
        text = f.read()
    docs = []
    for part in re.split(r"^---\n", text, flags=re.M):
        if not part.strip():
            continue
        src = SOURCE.search(part)
        name = NAME.search(part)
        docs.append((src.group(1), int(src.group(2)), name.group(1) if name else None, part))
    return docs


def secrets_for(data, guide):
    path = os.path.join(data, "secrets", guide + ".yaml")
    return [path] if os.path.exists(path) else []


def test_loads_alone(tmp, data, label, doc, seen):
    guide, line, name, text = doc
    key = (guide, name)
    seen.add(key)
    path = write(os.path.join(tmp, "%s-%d.yaml" % (guide, line)), text)
    rc, summary, errors, out = run_check([path] + secrets_for(data, guide))
    what = "%s %s.md:%d (%s)" % (label, guide, line, name)
    if key in EXPECTED_OPA:
        paths = [m.group(1) if m else None for m in (OPA_ERROR.match(e) for e in errors)]
        check(rc == 1 and summary is not None and summary[0] == 0
              and sorted(paths) == sorted(EXPECTED_OPA[key]),
              "%s: refused for its opa evaluators only, each named by path (%s)"
              % (what, ", ".join(EXPECTED_OPA[key])), out)
    elif key in ELIDED:
        at, msg = ELIDED[key]
        lines = [i + 1 for i, t in enumerate(text.split("\n")) if t.strip().startswith(at)]
        want = "%s:%d: %s" % (path, lines[0] if lines else 0, msg)
        check(rc == 1 and summary is not None and summary[0] == 0 and errors == [want],
              "%s: the guide elides the spec; refused at its `%s` line with \"%s\""
              % (what, at, msg), out)
    else:
        check(rc == 0 and summary is not None and summary[:2] == (1, 0) and not errors,
              "%s: loads unchanged" % what, out)


def test_guides(tmp, label, data):
    files = sorted(f for f in os.listdir(data) if f.endswith(".yaml"))
    check(len(files) >= 25, "%s: the guides' AuthConfigs are there (%d guides)"
          % (label, len(files)))
    seen = set()
    total = 0
    for f in files:
        docs = guide_documents(os.path.join(data, f))
        check(docs and all(d[0] + ".yaml" == f and d[2] for d in docs),
              "%s %s: every document names its guide line and has a name" % (label, f))
        for doc in docs:
            test_loads_alone(tmp, data, label, doc, seen)
        total += len(docs)
        names = [d[2] for d in docs]
        expected = [n for n in names if (f[:-5], n) in EXPECTED_OPA or (f[:-5], n) in ELIDED]
        if len(docs) > 1 and len(set(names)) == len(names) and not expected:
            rc, summary, errors, out = run_check([os.path.join(data, f)]
                                                 + secrets_for(data, f[:-5]))
            check(rc == 0 and summary is not None and summary[:2] == (len(docs), 0),
                  "%s %s: its %d AuthConfigs load side by side" % (label, f, len(docs)), out)
    check(total >= 40, "%s: %d AuthConfigs checked" % (label, total))
    return seen


def test_missing_secrets(tmp):
    # Named Secret references are errors that name the Secret and the path.
    guide = os.path.join(DATA, "oauth2-token-introspection.yaml")
    rc, summary, errors, out = run_check([guide])
    want = {"spec.authentication.keycloak.oauth2Introspection: credentialsRef: Secret "
            "default/oauth2-token-introspection-credentials-keycloak not found",
            "spec.authentication.a12n-server.oauth2Introspection: credentialsRef: Secret "
            "default/oauth2-token-introspection-credentials-a12n-server not found"}
    got = {re.sub(r"^[^:]+:\d+: ", "", e) for e in errors}
    check(rc == 1 and summary is not None and summary[0] == 0 and got == want,
          "without its Secrets, oauth2-token-introspection is refused, naming each Secret",
          out)
    # An apiKey selector that matches nothing loads, with a warning.
    guide = os.path.join(DATA, "api-key-authentication.yaml")
    rc, summary, errors, out = run_check([guide])
    check(rc == 0 and summary is not None and summary[:2] == (1, 0)
          and "no Secret with an api_key matches the selector" in out,
          "without its Secrets, api-key-authentication loads and warns that no key matches",
          out)


GUIDE_MD = r'''# A guide

```sh
kubectl -n myapp apply -f -<<EOF
apiVersion: v1
kind: Secret
metadata:
  name: key
stringData:
  api_key: abc
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: first
spec:
  hosts:
  - a.io
  authorization:
    "cel":
      when:
      - predicate: |
          request.path.matches("^/a\\\.b\\\d$")
      patternMatching:
        patterns:
        - predicate: "true"
EOF
# authconfig.authorino.kuadrant.io/first created
```

1. An indented block, quoted delimiter (kept as printed):

   ```sh
   cat <<'EOF' | kubectl apply -f -
   apiVersion: authorino.kuadrant.io/v1beta3
   kind: AuthConfig
   metadata:
     name: second
   spec:
     hosts: ["b\\\.io"]
   EOF
   ```

```yaml
apiVersion: authorino.kuadrant.io/v1beta3
kind: "AuthConfig"
metadata:
  name: third
```

```sh
kubectl apply -f https://example.invalid/kind-AuthConfig.yaml
```

```yaml
kind: Deployment
```
'''

EXPECTED_AUTHCONFIGS = r'''---
# docs/user-guides/a-guide.md:12
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: first
spec:
  hosts:
  - a.io
  authorization:
    "cel":
      when:
      - predicate: |
          request.path.matches("^/a\\.b\\d$")
      patternMatching:
        patterns:
        - predicate: "true"
---
# docs/user-guides/a-guide.md:35
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: second
spec:
  hosts: ["b\\\.io"]
---
# docs/user-guides/a-guide.md:45
apiVersion: authorino.kuadrant.io/v1beta3
kind: "AuthConfig"
metadata:
  name: third
'''

EXPECTED_SECRETS = '''---
# docs/user-guides/a-guide.md:5
apiVersion: v1
kind: Secret
metadata:
  name: key
stringData:
  api_key: abc
'''


def test_extractor(tmp):
    repo = os.path.join(tmp, "authorino")
    os.makedirs(os.path.join(repo, "docs", "user-guides"))
    write(os.path.join(repo, "docs", "user-guides", "a-guide.md"), GUIDE_MD)
    write(os.path.join(repo, "docs", "user-guides", "no-config.md"), "```sh\nls\n```\n")
    env = clean_env({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                     "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null"})
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "guides"]):
        subprocess.run(["git", "-C", repo] + cmd, check=True, env=env, timeout=30)
    out = os.path.join(tmp, "out")
    p = subprocess.run(["/usr/bin/python3", EXTRACTOR, repo, out], capture_output=True,
                       text=True, env=env, timeout=60)
    check(p.returncode == 0, "extractor runs", p.stdout + p.stderr)

    def read(*parts):
        path = os.path.join(out, *parts)
        return open(path).read() if os.path.exists(path) else None
    got = read("a-guide.yaml")
    check(got == EXPECTED_AUTHCONFIGS, "extractor: the AuthConfigs of heredocs (an unquoted one "
          "unescaped as the shell does), indented blocks and YAML blocks", got)
    check(read("secrets", "a-guide.yaml") == EXPECTED_SECRETS,
          "extractor: the guide's Secrets go to secrets/", read("secrets", "a-guide.yaml"))
    check(sorted(os.listdir(out)) == ["a-guide.yaml", "secrets"],
          "extractor: a guide with no AuthConfig gets no file", os.listdir(out))

    # A shell expansion would make the document depend on the reader's shell.
    write(os.path.join(repo, "docs", "user-guides", "a-guide.md"),
          "```sh\nkubectl apply -f - <<EOF\nkind: AuthConfig\nspec: {hosts: [$HOST]}\nEOF\n```\n")
    subprocess.run(["git", "-C", repo, "commit", "-qam", "expansion"], check=True, env=env,
                   timeout=30)
    p = subprocess.run(["/usr/bin/python3", EXTRACTOR, repo, os.path.join(tmp, "out2")],
                       capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode != 0 and "a-guide.md: line 4: shell expansion '$H'" in p.stderr,
          "extractor: a shell expansion in a heredoc is an error naming the guide line",
          p.stdout + p.stderr)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with checks.guard():
            seen = set()
            for label, data in DATA_SETS:
                seen |= test_guides(tmp, label, data)
            stale = sorted((set(EXPECTED_OPA) | set(ELIDED)) - seen)
            check(not stale, "every expected failure is a document of the guides", stale)
            test_missing_secrets(tmp)
            test_extractor(tmp)
    checks.finish()


if __name__ == "__main__":
    main()
