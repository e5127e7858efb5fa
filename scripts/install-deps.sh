#!/bin/sh
# Installs the Debian 12 packages Portcullis needs to build, run and test.
# Usage: scripts/install-deps.sh [--build-only]
set -eu

BUILD_PKGS="build-essential cmake pkg-config git
  libjson-c-dev libyaml-dev libpcre2-dev libnghttp2-dev
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libuv1-dev
  libcurl4-openssl-dev libssl-dev openssl ca-certificates liblua5.4-dev
  libjemalloc-dev"
TEST_PKGS="libcunit1-dev clang libclang-rt-14-dev
  python3 python3-grpcio python3-protobuf protobuf-compiler python3-cryptography
  python3-yaml python3-h2 jq nginx curl nghttp2-client nghttp2-server wrk procps
  prometheus valgrind linux-perf"

pkgs="$BUILD_PKGS"
[ "${1:-}" = "--build-only" ] || pkgs="$pkgs $TEST_PKGS"
# kubectl: Debian's kubernetes-client, unless a kubectl is installed already
# (another package of it would conflict).
[ "${1:-}" = "--build-only" ] || command -v kubectl >/dev/null 2>&1 \
  || pkgs="$pkgs kubernetes-client"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
