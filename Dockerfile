# Portcullis container image: build on Debian 12, run on a slim Debian 12.
# The image holds no AuthConfig: mount yours at /etc/portcullis/authconfigs
# (configs/kubernetes/ does it from a ConfigMap).
FROM debian:12 AS build
WORKDIR /src
# Packages first, so a source change does not invalidate the apt layer.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-only
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/opt/portcullis \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --strip

# The runtime packages: tests/integration/test_shipped_configs.sh checks that
# they provide every shared library the binary and its plugins load.
FROM debian:12-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libjson-c5 libyaml-0-2 libpcre2-8-0 liblua5.4-0 libnghttp2-14 libprotobuf-c1 libuv1 libjemalloc2 \
      libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --no-create-home portcullis
COPY --from=build /opt/portcullis /opt/portcullis
COPY configs/server.yaml /etc/portcullis/server.yaml
LABEL org.opencontainers.image.title="portcullis" \
      org.opencontainers.image.description="External authorization server for Envoy (Authorino AuthConfigs)"
USER 65532:65532
EXPOSE 50051 5001 8080
ENV PORTCULLIS_AUTHCONFIGS=/etc/portcullis/authconfigs
ENTRYPOINT ["/opt/portcullis/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/server.yaml"]
