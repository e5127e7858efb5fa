#!/bin/bash
# The container image without a container engine: runs the Dockerfile's
# build-stage steps (cmake --install, scripts/split-debug.sh,
# scripts/image-rootfs.sh) on this build through scripts/image-size.sh, then
# checks what they made: the size is under the target, every ELF file is
# stripped and linked to a separate debug file that holds its symbols, and
# the runtime root filesystem runs on its own — in a chroot (a private mount
# namespace with /proc) the server loads every plugin, serves as the
# image's numeric user on the shipped server.yaml, and `portcullis probe`
# (the HEALTHCHECK) answers from inside it.
set -u
. "$(dirname "$0")/lib/common.sh"
: "${PC_BIN:?}" "${PC_SOURCE_DIR:?}" "${PC_BUILD_DIR:?}"
cd "$PC_SOURCE_DIR"
work=$tmp/image
root=$work/rootfs
APP=/opt/portcullis

# The Dockerfile runs exactly these steps: if it changes, so must this.
df=$(tr -s ' \\\n' ' ' <Dockerfile)
missing=
for step in "cmake --install /build" \
            "scripts/split-debug.sh /opt/portcullis /debug/usr/lib/debug/opt/portcullis" \
            "scripts/image-rootfs.sh /opt/portcullis /rootfs configs/server.yaml" \
            "FROM scratch AS debug COPY --from=build /debug/ /" \
            "FROM scratch AS runtime COPY --from=build /rootfs/ /" \
            "USER 65532:65532" \
            'HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/opt/portcullis/bin/portcullis", "probe", "--addr", "127.0.0.1:8081", "/healthz"]'; do
    grep -qF "$step" <<<"$df" || missing="$missing
$step"
done
last=$(grep -E '^FROM ' Dockerfile | tail -n1)
if [ -z "$missing" ] && [ "$last" = "FROM scratch AS runtime" ]; then
    ok "the Dockerfile builds with the steps checked here; its last stage is the runtime"
else
    bad "the Dockerfile builds with the steps checked here; its last stage is the runtime" \
        "missing:$missing last: $last"
fi
# The HEALTHCHECK's address is the probe listener the shipped config opens.
if grep -qE '^ +health: 0\.0\.0\.0:8081' configs/server.yaml; then
    ok "configs/server.yaml opens the probe listener on :8081, where the HEALTHCHECK asks"
else
    bad "configs/server.yaml opens the probe listener on :8081, where the HEALTHCHECK asks"
fi

sanitized=
ldd "$PC_BIN" | grep -q 'libasan\|libubsan' && sanitized=1
if sh scripts/image-size.sh --workdir "$work" "$PC_BUILD_DIR" >"$tmp/size.txt" 2>&1; then
    size_ok=1
else
    size_ok=
fi
cat "$tmp/size.txt"
if [ -n "$sanitized" ]; then
    # A sanitizer build links its runtimes and is larger: not what ships.
    ok "image size: measured by the normal build (this one is sanitized)"
elif [ -n "$size_ok" ] && grep -q '^image size: .* target < 60 MB$' "$tmp/size.txt"; then
    ok "the runtime image is under the 60 MB target ($(sed -n 's/^image size: [0-9]* bytes (\(.*\));.*/\1/p' "$tmp/size.txt"))"
else
    bad "the runtime image is under the 60 MB target" "$(tail -3 "$tmp/size.txt")"
fi
if [ ! -x "$root$APP/bin/portcullis" ]; then
    bad "scripts/image-rootfs.sh assembled a root filesystem" "$(tail -5 "$tmp/size.txt")"
    finish
fi

# Stripped, each with a .gnu_debuglink naming its debug file and that
# file's CRC-32, and the debug file holding the DWARF.
out=$("$PY" - "$work/opt/portcullis" "$work/debug/usr/lib/debug/opt/portcullis" <<'PYEOF'
import os, struct, subprocess, sys, zlib
prefix, debug = sys.argv[1:]
problems, n = [], 0
def sections(path):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    return {l.split("]", 1)[1].split()[0] for l in out.splitlines() if "]" in l and l.strip().startswith("[")} - {"Name"}
def dump(path, name):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    for l in out.splitlines():
        f = l.split("]", 1)[1].split() if "]" in l and l.strip().startswith("[") else []
        if f and f[0] == name:  # Name Type Address Off Size
            off, size = int(f[3], 16), int(f[4], 16)
            with open(path, "rb") as fh:
                fh.seek(off)
                return fh.read(size)
    return b""
for d, _, files in os.walk(prefix):
    for f in files:
        p = os.path.join(d, f)
        with open(p, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        n += 1
        rel = os.path.relpath(p, prefix)
        s = sections(p)
        for bad in (".symtab", ".debug_info", ".debug_line", ".debug_str"):
            if bad in s:
                problems.append(rel + ": still has " + bad)
        if ".gnu_debuglink" not in s:
            problems.append(rel + ": no .gnu_debuglink")
            continue
        link = dump(p, ".gnu_debuglink")
        name = link.split(b"\0", 1)[0].decode()
        crc = struct.unpack("<I", link[-4:])[0]
        dbg = os.path.join(debug, rel + ".debug")
        if name != os.path.basename(dbg) or not os.path.isfile(dbg):
            problems.append(rel + ": links " + name + ", no " + dbg)
            continue
        if zlib.crc32(open(dbg, "rb").read()) != crc:
            problems.append(rel + ": CRC of " + name + " does not match")
        if not {".debug_info", ".debug_line", ".symtab"} <= sections(dbg):
            problems.append(rel + ".debug: no DWARF or symbols")
print("%d ELF files" % n)
print("\n".join(problems))
sys.exit(1 if problems or n < 2 else 0)
PYEOF
)
if [ $? -eq 0 ]; then
    ok "every binary and plugin is stripped and linked to its debug file ($(head -1 <<<"$out"))"
else
    bad "every binary and plugin is stripped and linked to its debug file" "$out"
fi
if command -v gdb >/dev/null; then
    where=$(gdb -nx -batch -ex "set debug-file-directory $work/debug/usr/lib/debug/opt/portcullis" \
                -ex "file $work/opt/portcullis/bin/portcullis" -ex "info line cmd_probe" 2>&1)
    if grep -q 'engine/cli/probe.c' <<<"$where"; then
        ok "gdb finds the stripped binary's source lines by build ID in the debug stage"
    else
        bad "gdb finds the stripped binary's source lines by build ID in the debug stage" "$where"
    fi
fi

# The runtime loader, given only the image's library directory, resolves
# every library of the binary and of each plugin inside the image.
ld=$(ls "$root"/usr/lib/*/ld-linux*.so.* 2>/dev/null | head -n1)
libdir=$(dirname "$ld")
outside=
for f in "$root$APP/bin/portcullis" "$root$APP"/lib/portcullis/plugins/*.so; do
    while read -r line; do
        case "$line" in
            *"=> $root"/*|"$root"/*|linux-vdso*|"") ;;
            *) outside="$outside
$(basename "$f"): $line" ;;
        esac
    done < <("$ld" --inhibit-cache --library-path "$libdir" --list "$f" 2>&1 | sed 's/ (0x[0-9a-f]*)$//')
done
if [ -n "$ld" ] && [ -z "$outside" ]; then
    ok "every library the binary and plugins load is in the image (its loader, its library directory)"
else
    bad "every library the binary and plugins load is in the image (its loader, its library directory)" \
        "${outside:-no loader in $root/usr/lib}"
fi
# Nothing but the server, its plugins, libraries and a few files in /etc.
extra=$(cd "$root" && find . -type f | sed 's|^\.||' | grep -vE "^$APP/(bin/portcullis|lib/portcullis/plugins/[a-z0-9_]+\.so)$|^/usr/lib/[a-z0-9_-]+/[^/]+\.so(\.[0-9]+)*$|^/etc/(passwd|group|nsswitch\.conf|ssl/certs/ca-certificates\.crt|portcullis/server\.yaml)$")
if [ -z "$extra" ] && [ ! -e "$root/bin/sh" ] && [ ! -e "$root/usr/bin" ]; then
    ok "the image holds no shell, no tools and no AuthConfig"
else
    bad "the image holds no shell, no tools and no AuthConfig" "$extra"
fi
if grep -qx 'portcullis:x:65532:65532:portcullis:/nonexistent:/usr/sbin/nologin' "$root/etc/passwd"; then
    ok "/etc/passwd names the numeric user 65532"
else
    bad "/etc/passwd names the numeric user 65532" "$(cat "$root/etc/passwd")"
fi

# Run it from inside. As root a chroot as uid 65532; otherwise a user
# namespace where this user is root.
if [ "$(id -u)" -eq 0 ]; then
    NS=(unshare --mount) AS=(--userspec=65532:65532) who="uid 65532"
else
    NS=(unshare --map-root-user --mount) AS=() who="this user, mapped to root"
fi
inroot() { # COMMAND... inside the image's root, /proc mounted, the mount private
    "${NS[@]}" sh -c 'mount --rbind /proc "$0/proc" && exec chroot "$@"' \
        "$root" "${AS[@]}" "$root" "$@"
}
mkdir -p "$root/proc"
if ! "${NS[@]}" true 2>/dev/null; then
    echo "skip - running the image's root: no mount namespace here (needs root or user namespaces)"
    finish
fi
out=$(inroot $APP/bin/portcullis plugins 2>&1)
n=$(grep -c "($APP/lib/portcullis/plugins/" <<<"$out")
want=$(ls "$root$APP"/lib/portcullis/plugins/*.so | wc -l)
if [ "$n" -ge "$want" ] && ! grep -qi 'refused\|error' <<<"$out"; then
    ok "in the image's root ($who): portcullis plugins loads all $want plugins"
else
    bad "in the image's root ($who): portcullis plugins loads all $want plugins" "$out"
fi

# The image's command, as the Dockerfile gives it, on loopback ports, with
# an AuthConfig where the ConfigMap would be mounted.
cp configs/authconfigs/talker-api.yaml "$root/etc/portcullis/authconfigs/"
read -r g h m p < <(free_ports 4)
# One process from here to the server (each step execs the next), so
# SERVER_PID is the server itself.
env PORTCULLIS_AUTHCONFIGS=/etc/portcullis/authconfigs \
    "${NS[@]}" sh -c 'mount --rbind /proc "$0/proc" && exec chroot "$@"' \
    "$root" "${AS[@]}" "$root" $APP/bin/portcullis serve --config /etc/portcullis/server.yaml \
    --grpc-addr "127.0.0.1:$g" --http-addr "127.0.0.1:$h" --metrics-addr "127.0.0.1:$m" \
    --health-probe-addr "127.0.0.1:$p" --io-threads 2 --workers 4 >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
up=
for _ in $(seq 1 100); do
    curl -sf -o /dev/null -m 1 "http://127.0.0.1:$p/readyz" && { up=1; break; }
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -n "$up" ]; then
    ok "in the image's root: serve --config /etc/portcullis/server.yaml is ready"
else
    bad "in the image's root: serve --config /etc/portcullis/server.yaml is ready" "$(tail -5 "$SERVER_LOG")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: talker-api.127.0.0.1.nip.io' \
       "http://127.0.0.1:$h/hello")
[ "$code" = 200 ] && ok "in the image's root: the mounted AuthConfig serves GET /hello" \
    || bad "in the image's root: the mounted AuthConfig serves GET /hello" "$code"
if [ -r "/proc/$SERVER_PID/status" ]; then
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$SERVER_PID/status")
    if [ -z "${AS[*]}" ] || [ "$uid" = 65532 ]; then
        ok "in the image's root: the server runs as $who"
    else
        bad "in the image's root: the server runs as $who" "uid $uid"
    fi
fi
out=$(inroot $APP/bin/portcullis probe --addr "127.0.0.1:$p" /healthz 2>&1)
[ $? -eq 0 ] && ok "in the image's root: the HEALTHCHECK command (portcullis probe) exits 0" \
    || bad "in the image's root: the HEALTHCHECK command (portcullis probe) exits 0" "$out"
stop_server
rc=$?
out=$(inroot $APP/bin/portcullis probe --addr "127.0.0.1:$p" --timeout 1000 2>&1)
[ $? -eq 1 ] && ok "... and exits 1 once the server has stopped" \
    || bad "... and exits 1 once the server has stopped" "$out"
[ "$rc" -eq 0 ] && ok "in the image's root: SIGTERM drains and exits 0" \
    || bad "in the image's root: SIGTERM drains and exits 0" "exit $rc"
finish
