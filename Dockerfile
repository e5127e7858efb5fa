# Portcullis container image: built on Debian 12, run FROM scratch with only
# what the server loads (scripts/image-rootfs.sh: the binary, its plugins,
# the shared libraries ldd finds for them, the CA bundle, passwd/group).
# Stripped; the debug information is a stage of its own:
#
#   docker build -t portcullis:dev .
#   docker build --target debug -o type=local,dest=portcullis-debug .
#
# The image holds no AuthConfig: mount yours at /etc/portcullis/authconfigs
# (configs/kubernetes/ does it from a ConfigMap). Its size is measured
# without a container engine by scripts/image-size.sh (docs/container-image.md).
FROM debian:12 AS build
WORKDIR /src
# Packages first, so a source change does not invalidate the apt layer.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-only
COPY . .
# tests/integration/test_image.sh runs these same scripts on a build and
# checks what they produce: keep the two in step.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/opt/portcullis \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build \
 && scripts/split-debug.sh /opt/portcullis /debug/usr/lib/debug/opt/portcullis \
 && scripts/image-rootfs.sh /opt/portcullis /rootfs configs/server.yaml >/rootfs.manifest

# The .debug files, laid out where gdb looks for them (/usr/lib/debug/...,
# and by build ID under /usr/lib/debug/opt/portcullis/.build-id).
FROM scratch AS debug
COPY --from=build /debug/ /

FROM scratch AS runtime
COPY --from=build /rootfs/ /
LABEL org.opencontainers.image.title="portcullis" \
      org.opencontainers.image.description="External authorization server for Envoy (Authorino AuthConfigs)"
USER 65532:65532
# gRPC, HTTP, metrics, probes, wristband discovery.
EXPOSE 50051 5001 8080 8081 8083
ENV PORTCULLIS_AUTHCONFIGS=/etc/portcullis/authconfigs
# No shell or HTTP client in the image: the server's own probe command.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/opt/portcullis/bin/portcullis", "probe", "--addr", "127.0.0.1:8081", "/healthz"]
ENTRYPOINT ["/opt/portcullis/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/server.yaml"]
