# Portcullis container image: build on Debian 12, run on a slim Debian 12.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh --build-only \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/opt/portcullis \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build

FROM debian:12-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libjson-c5 libyaml-0-2 libpcre2-8-0 libnghttp2-14 libprotobuf-c1 libuv1 \
      libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --no-create-home portcullis
COPY --from=build /opt/portcullis /opt/portcullis
COPY configs/server.yaml /etc/portcullis/server.yaml
COPY configs/authconfigs /etc/portcullis/authconfigs
USER 65532
EXPOSE 50051 5001 8080
ENV PORTCULLIS_AUTHCONFIGS=/etc/portcullis/authconfigs
ENTRYPOINT ["/opt/portcullis/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/server.yaml"]
