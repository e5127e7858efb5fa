#!/bin/bash
# Everything under configs/ works as shipped: the AuthConfigs and examples
# pass `portcullis check`, the example requests get the documented
# decisions, the Kubernetes ConfigMap holds a valid AuthConfig, and the
# server starts on configs/server.yaml.
set -u
. "$(dirname "$0")/lib/common.sh"
: "${PC_BIN:?}" "${PC_SOURCE_DIR:?}"
cd "$PC_SOURCE_DIR"
P=(--plugin-dir "$PC_PLUGIN_DIR")

# Each on its own: the example claims a host the shipped AuthConfig has too.
for dir in configs/authconfigs configs/examples; do
    out=$("$PC_BIN" check "${P[@]}" "$dir" 2>&1)
    if [ $? -eq 0 ] && grep -q "0 errors, 0 warnings" <<<"$out"; then
        ok "portcullis check $dir: clean"
    else
        bad "portcullis check $dir: clean" "$out"
    fi
done

decision() { # REQUEST-FILE PYTHON-CONDITION-ON-r
    "$PC_BIN" eval "${P[@]}" --authconfigs configs/authconfigs --request "$1" \
        --output json >"$tmp/out" 2>&1
    "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$tmp/out"
}
expect "talker-api-get.json: allowed (anonymous reader)" \
    decision configs/requests/talker-api-get.json 'r["allowed"] and r["code"] == 0'
expect "talker-api-post-apikey.json: allowed as api-key-1" \
    decision configs/requests/talker-api-post-apikey.json \
    'r["allowed"] and json.loads(r["headers"]["x-auth-data"]) == {"user": "api-key-1", "method": "POST"}'
sed 's/"authorization": "APIKEY [^"]*",//' configs/requests/talker-api-post-apikey.json >"$tmp/nokey.json"
expect "the same POST without its key: 401 with an APIKEY challenge" \
    decision "$tmp/nokey.json" \
    'not r["allowed"] and r["http_status"] == 401 and r["headers"]["www-authenticate"] == "APIKEY realm=\"api-key-users\""'

mkdir -p "$tmp/cm"
"$PY" - configs/kubernetes/authconfigs-configmap.yaml "$tmp/cm" <<'PYEOF'
import os, sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    for name, text in (doc or {}).get("data", {}).items():
        open(os.path.join(sys.argv[2], name), "w").write(text)
PYEOF
out=$("$PC_BIN" check "${P[@]}" "$tmp/cm" 2>&1)
if [ $? -eq 0 ] && grep -q "^1 AuthConfig loaded" <<<"$out"; then
    ok "the Kubernetes ConfigMap holds a valid AuthConfig"
else
    bad "the Kubernetes ConfigMap holds a valid AuthConfig" "$out"
fi

# The Kubernetes manifests (file mode, and controller mode with the CRD):
# kustomize puts every namespaced object (and the ClusterRoleBinding's
# subject) into the namespace it is given, and each pod passes Pod Security
# "restricted" and drains gently.
rm -rf "$tmp/k" && mkdir -p "$tmp/k" && cp -r configs/kubernetes/. "$tmp/k/"
sed -i 's/^namespace: .*/namespace: pc-test-ns/' "$tmp/k/kustomization.yaml" \
    "$tmp/k/controller/kustomization.yaml"
for variant in "file mode::ServiceAccount ClusterRoleBinding Deployment Service ConfigMap PodDisruptionBudget" \
               "controller mode:controller:CustomResourceDefinition ClusterRole ClusterRoleBinding ServiceAccount Deployment Service PodDisruptionBudget"; do
    label=${variant%%:*}; rest=${variant#*:}; sub=${rest%%:*}; kinds=${rest#*:}
    if kubectl kustomize "$tmp/k/$sub" >"$tmp/rendered.yaml" 2>"$tmp/kerr"; then
        ok "kubectl kustomize renders configs/kubernetes/$sub ($label)"
    else
        bad "kubectl kustomize renders configs/kubernetes/$sub ($label)" "$(cat "$tmp/kerr")"
        continue
    fi
    out=$("$PY" - "$tmp/rendered.yaml" "$kinds" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
problems = []
kinds = {d["kind"] for d in docs}
CLUSTER_SCOPED = ("ClusterRoleBinding", "ClusterRole", "CustomResourceDefinition")
for need in sys.argv[2].split():
    if need not in kinds:
        problems.append("no " + need)
for d in docs:
    name = d["kind"] + "/" + d["metadata"]["name"]
    if d["kind"] not in CLUSTER_SCOPED and d["metadata"].get("namespace") != "pc-test-ns":
        problems.append(name + ": namespace not set by kustomize")
    if d["kind"] == "ClusterRoleBinding":
        for s in d["subjects"]:
            if s.get("namespace") != "pc-test-ns":
                problems.append(name + ": subject namespace " + str(s.get("namespace")))
    if d["kind"] != "Deployment":
        continue
    pod = d["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        where = name + " container " + c["name"]
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(where + ": seccompProfile " + str(seccomp))
        if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            problems.append(where + ": runAsNonRoot not set")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            problems.append(where + ": runs as root")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(where + ": allowPrivilegeEscalation not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(where + ": capabilities not dropped")
        if sc.get("capabilities", {}).get("add"):
            problems.append(where + ": adds capabilities")
        if not sc.get("readOnlyRootFilesystem"):
            problems.append(where + ": root filesystem writable")
        # The image has no shell and no /bin/sleep: the delay is
        # Kubernetes' sleep action, and the drain fits in the grace period.
        delay = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        if not 1 <= delay or delay + 10 >= pod.get("terminationGracePeriodSeconds", 30):
            problems.append(where + ": no preStop sleep, or it and the 10 s drain exceed "
                            "terminationGracePeriodSeconds")
        if "exec" in c.get("lifecycle", {}).get("preStop", {}):
            problems.append(where + ": a preStop exec (the image has no shell or tools)")
        def mib(q):
            units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
            return float(q[:-2]) * units[q[-2:]] if q[-2:] in units else float(q) / 2**20
        res = c.get("resources", {})
        req, lim = res.get("requests", {}).get("memory"), res.get("limits", {}).get("memory")
        # The measured idle RSS is 14 MB: a request under 32 Mi starves it.
        if not req or not lim or mib(req) < 32 or mib(lim) < mib(req) + 256:
            problems.append(where + ": memory request (>= 32Mi) and a limit leaving the "
                            "frontend's 256 MiB budget over it expected, got %s/%s" % (req, lim))
        # The args keep the default addresses: probes on :8081, metrics :8080.
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if ports.get(port, port) != 8081:
                problems.append(where + ": " + probe + " not on the health probe port 8081")
        if ports.get("admin") != 8080:
            problems.append(where + ": no metrics port 8080")
for d in docs:
    if d["kind"] != "CustomResourceDefinition":
        continue
    v = d["spec"]["versions"][0]
    cols = [c["name"] for c in v.get("additionalPrinterColumns", [])]
    if v["name"] != "v1beta3" or "status" not in v.get("subresources", {}) or cols[:2] != ["Ready", "Hosts"]:
        problems.append("CRD: v1beta3 with a status subresource and READY/HOSTS columns expected")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PYEOF
)
    if [ $? -eq 0 ]; then
        ok "$label manifests take their namespace from kustomize and pass Pod Security restricted"
    else
        bad "$label manifests take their namespace from kustomize and pass Pod Security restricted" "$out"
    fi
done

# The Dockerfile's runtime stage (its libraries, size, user, HEALTHCHECK)
# is checked by test_image.sh.

read -r g h m a < <(free_ports 4)
"$PC_BIN" serve --config configs/server.yaml "${P[@]}" --grpc-addr "127.0.0.1:$g" \
    --http-addr "127.0.0.1:$h" --metrics-addr "127.0.0.1:$m" --health-probe-addr "127.0.0.1:$a" \
    >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ready=
for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$a/readyz" && { ready=1; break; }
    sleep 0.1
done
if [ -n "$ready" ] && grep -q '"msg":"listening grpc=127.0.0.1:'"$g" "$SERVER_LOG"; then
    ok "serve --config configs/server.yaml starts, logs JSON lines and says where it listens"
else
    bad "serve --config configs/server.yaml starts, logs JSON lines and says where it listens" \
        "$(cat "$SERVER_LOG")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: talker-api.127.0.0.1.nip.io' \
       "http://127.0.0.1:$h/hello")
if [ "$code" = 200 ]; then ok "the shipped AuthConfig serves GET /hello"; else bad "the shipped AuthConfig serves GET /hello" "$code"; fi
stop_server
finish
