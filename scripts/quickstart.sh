#!/bin/sh
# Installs what Portcullis needs, builds it and starts the server on the
# shipped defaults (configs/server.yaml): gRPC on :50051, HTTP on :5001,
# metrics on :8080, probes on :8081, AuthConfigs from configs/authconfigs/.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTCULLIS_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "portcullis: example decision for configs/requests/talker-api-get.json:"
./build/bin/portcullis eval --authconfigs configs/authconfigs \
    --request configs/requests/talker-api-get.json || true
exec ./build/bin/portcullis serve --config configs/server.yaml --log-format text "$@"
