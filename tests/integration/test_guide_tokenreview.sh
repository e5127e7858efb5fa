#!/bin/bash
# Runs the "Trying it without a cluster" walkthrough of
# docs/user-guides/kubernetes-tokenreview.md exactly as written, and checks
# its output against the answers the guide shows.
set -u
. "$(dirname "$0")/lib/common.sh"
: "${PC_BIN:?}" "${PC_SOURCE_DIR:?}" "${PC_BUILD_DIR:?}"
guide="$PC_SOURCE_DIR/docs/user-guides/kubernetes-tokenreview.md"

# The block between the walkthrough markers, without its fences.
awk '/<!-- walkthrough:begin -->/{on=1; next} /<!-- walkthrough:end -->/{on=0}
     on && !/^```/' "$guide" >"$tmp/walkthrough.sh"
if [ "$(wc -l <"$tmp/walkthrough.sh")" -gt 10 ]; then
    ok "the guide has a walkthrough block"
else
    bad "the guide has a walkthrough block"; finish
fi

# Run it from a scratch copy of the paths it names, with the build's
# binary and plugins standing in for build/bin/portcullis.
work="$tmp/repo"
mkdir -p "$work/build/bin" "$work/configs"
cp -r "$PC_SOURCE_DIR/tests" "$work/tests"
cp -r "$PC_SOURCE_DIR/configs/examples" "$work/configs/examples"
cat >"$work/build/bin/portcullis" <<WRAP
#!/bin/sh
exec "$PC_BIN" "\$@" --plugin-dir "$PC_PLUGIN_DIR"
WRAP
chmod +x "$work/build/bin/portcullis"
# The walkthrough's fixture folder is /tmp/kube; keep it private to this run.
sed -i "s|/tmp/kube|$tmp/kube|g" "$tmp/walkthrough.sh"
(cd "$work" && PATH=/usr/bin:/bin timeout 60 bash -m "$tmp/walkthrough.sh") >"$tmp/out" 2>&1
rc=$?
pkill -f "$tmp/kube" 2>/dev/null

if [ $rc -eq 0 ]; then ok "the walkthrough runs to its end"; else bad "the walkthrough runs to its end" "rc=$rc $(tail -20 "$tmp/out")"; fi
if grep -q "condition met" "$tmp/out" && grep -Eq '^talker-api-protection +true +2/2' "$tmp/out"; then
    ok "kubectl apply, kubectl wait --for=condition=Ready, kubectl get authconfigs: READY true, HOSTS 2/2"
else
    bad "kubectl apply, kubectl wait --for=condition=Ready, kubectl get authconfigs: READY true, HOSTS 2/2" "$(cat "$tmp/out")"
fi
statuses=$(grep -E '^HTTP/1.1 [0-9]+' "$tmp/out" | tr -d '\r')
if [ "$(sed -n 1p <<<"$statuses")" = "HTTP/1.1 200 OK" ]; then
    ok "valid token: HTTP/1.1 200 OK, as the guide shows"
else
    bad "valid token: HTTP/1.1 200 OK, as the guide shows" "$(cat "$tmp/out")"
fi
if [ "$(sed -n 2p <<<"$statuses")" = "HTTP/1.1 401 Unauthorized" ] &&
   tr -d '\r' <"$tmp/out" | grep -qx 'www-authenticate: Bearer realm="authorized-service-accounts"' &&
   tr -d '\r' <"$tmp/out" | grep -qx 'x-ext-auth-reason: Not authenticated'; then
    ok "expired token: 401 with the guide's www-authenticate and x-ext-auth-reason"
else
    bad "expired token: 401 with the guide's www-authenticate and x-ext-auth-reason" "$(cat "$tmp/out")"
fi
finish
