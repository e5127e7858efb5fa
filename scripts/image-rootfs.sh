#!/bin/sh
# Assembles the root filesystem of the runtime image: the server and its
# plugins from an installed (and stripped) prefix, exactly the shared
# libraries they load (ldd, followed through symlinks to the files), the
# dynamic loader, the CA bundle, a passwd/group naming the numeric user, and
# the server config. Nothing else: no shell, no package manager.
#
# Usage: scripts/image-rootfs.sh PREFIX ROOTFS [SERVER_YAML]
#
# PREFIX is an installed tree (bin/portcullis, lib/portcullis/plugins/);
# it lands in ROOTFS/opt/portcullis (the server finds its plugins relative
# to its own path). Prints one line per file put into ROOTFS, tab-separated:
#   path-in-image  size-in-bytes  Debian-package-or-"portcullis"/"generated"
# scripts/image-size.sh sums these lines. Runs on Debian 12, as the
# Dockerfile's build stage does (and as the test suite does, to check it).
set -eu
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 PREFIX ROOTFS [SERVER_YAML]" >&2; exit 2; }
prefix=${1%/}
root=${2%/}
server_yaml=${3:-$(dirname "$0")/../configs/server.yaml}
app=/opt/portcullis
# The user the image runs as (the Dockerfile's USER, the manifests'
# runAsUser): no name resolution is needed for it, passwd only names it.
uid=65532

fail() { echo "$0: $*" >&2; exit 1; }
[ -x "$prefix/bin/portcullis" ] || fail "$prefix/bin/portcullis: not an installed prefix"
[ -d "$prefix/lib/portcullis/plugins" ] || fail "$prefix/lib/portcullis/plugins: missing"
[ ! -e "$root" ] || [ -z "$(ls -A "$root")" ] || fail "$root: exists and is not empty"

size_of() { stat -c %s "$1"; }
emit() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }

# The package that installed a file, trying the path as ldd gives it, its
# target, and both sides of Debian 12's merged /usr.
package_of() {
    for p in "$1" "$(readlink -f "$1")"; do
        for q in "$p" "${p#/usr}" "/usr$p"; do
            pkg=$(dpkg -S "$q" 2>/dev/null | head -n1 | cut -d: -f1) || true
            [ -n "$pkg" ] && { echo "$pkg"; return; }
        done
    done
    echo "unpackaged"
}

# Merged /usr: /lib and /lib64 point into /usr, so a library has one copy
# whichever of its paths the loader or ldd names.
usr_path() {
    case "$1" in
        /usr/*) echo "$1" ;;
        *) echo "/usr$1" ;;
    esac
}

mkdir -p "$root/usr/lib" "$root/usr/lib64" "$root/etc/ssl/certs" \
         "$root/etc/portcullis/authconfigs" "$root$app/bin" "$root$app/lib/portcullis/plugins"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
mkdir -m 1777 "$root/tmp"

# Ours: the binary and every plugin.
install -m 0755 "$prefix/bin/portcullis" "$root$app/bin/portcullis"
emit "$app/bin/portcullis" "$(size_of "$prefix/bin/portcullis")" portcullis
elfs="$prefix/bin/portcullis"
for so in "$prefix"/lib/portcullis/plugins/*.so; do
    [ -f "$so" ] || continue
    dst="$app/lib/portcullis/plugins/$(basename "$so")"
    install -m 0644 "$so" "$root$dst"
    emit "$dst" "$(size_of "$so")" portcullis
    elfs="$elfs $so"
done

# What they load. glibc dlopens libgcc_s at thread cancellation and for
# backtraces without naming it, so it comes along by name.
libs=$(for f in $elfs; do
           ldd "$f" | awk '/=> not found/ {print "MISSING " $1} /=> \// {print $3}'
       done)
missing=$(echo "$libs" | awk '$1 == "MISSING" {print $2}' | sort -u | tr '\n' ' ')
[ -z "$missing" ] || fail "libraries not found: $missing"
libc=$(echo "$libs" | grep '/libc\.so\.6$' | head -n1)
[ -n "$libc" ] && [ -e "$(dirname "$libc")/libgcc_s.so.1" ] \
    || fail "libgcc_s.so.1 not found beside libc.so.6 (install libgcc-s1)"
libs="$libs
$(dirname "$libc")/libgcc_s.so.1"
for lib in $(echo "$libs" | sort -u); do
    dst=$(usr_path "$lib")
    [ ! -e "$root$dst" ] || continue
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$lib" "$root$dst"
    chmod 0644 "$root$dst"
    emit "$dst" "$(size_of "$root$dst")" "$(package_of "$lib")"
done

# The program interpreter, where the binary's PT_INTERP names it.
interp=$(readelf -l "$prefix/bin/portcullis" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || fail "no program interpreter in $prefix/bin/portcullis"
real=$(readlink -f "$interp")
dst=$(usr_path "$real")
if [ ! -e "$root$dst" ]; then
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$real" "$root$dst"
    chmod 0755 "$root$dst"
    emit "$dst" "$(size_of "$root$dst")" "$(package_of "$interp")"
fi
link=$(usr_path "$interp")
if [ "$link" != "$dst" ]; then
    mkdir -p "$root$(dirname "$link")"
    ln -sf "$dst" "$root$link"
fi

# Outbound TLS (libcurl: JWKS, TokenReview, metadata) trusts Debian's CA
# bundle at the path libcurl and OpenSSL were built to read.
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || fail "$ca: missing (install ca-certificates)"
cp -L "$ca" "$root$ca"
chmod 0644 "$root$ca"
emit "$ca" "$(size_of "$ca")" ca-certificates
mkdir -p "$root/usr/lib/ssl"
ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
ln -s "$ca" "$root/usr/lib/ssl/cert.pem"

# Names for the numeric user, and name resolution from files then DNS (the
# container runtime provides /etc/hosts and /etc/resolv.conf).
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nportcullis:x:%d:%d:portcullis:/nonexistent:/usr/sbin/nologin\n' \
    "$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\nportcullis:x:%d:\n' "$uid" >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
for f in /etc/passwd /etc/group /etc/nsswitch.conf; do
    chmod 0644 "$root$f"
    emit "$f" "$(size_of "$root$f")" generated
done

cp "$server_yaml" "$root/etc/portcullis/server.yaml"
chmod 0644 "$root/etc/portcullis/server.yaml"
emit /etc/portcullis/server.yaml "$(size_of "$root/etc/portcullis/server.yaml")" portcullis
