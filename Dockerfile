# Dockerfile: builds simhub and its agents (secagent, the reference security agent; fleet, the
# replay and load tool) on Debian 12 (bookworm) and ships them in a slim runtime image with the
# fixtures (the demo hub and the shipped recordings). Never bakes secrets or a database into the
# image: /data is a volume, and the demo keys it loads are the published, well-known ones from
# fixtures/demo/ (docs/fixtures.md).
#
#   docker build -t simhub .
#   docker run --rm -p 127.0.0.1:8883:8883 -p 127.0.0.1:443:443 -p 127.0.0.1:1883:1883 simhub
#
# Or use docker-compose.yml, which also gives the hub its network alias simhub.azure-devices.net
# and runs the reference agent (secagent) against it.

# --- build stage ------------------------------------------------------------------------------
FROM debian:bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake make gcc libc6-dev pkg-config \
      libwebsockets-dev libcjson-dev libsqlite3-dev libssl-dev libmosquitto-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# Tests and benchmarks are not part of the image (the `check` package is not even installed).
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DSIMHUB_TESTS=OFF -DSIMHUB_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target simhub secagent fleet \
 && install -m 0755 /build/simhub/simhub /usr/local/bin/simhub \
 && install -m 0755 /build/agents/secagent/secagent /usr/local/bin/secagent \
 && install -m 0755 /build/agents/fleet/fleet /usr/local/bin/fleet

# --- runtime stage ----------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libwebsockets17 libcjson1 libsqlite3-0 libssl3 libmosquitto1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --home-dir /data --shell /usr/sbin/nologin simhub \
 && mkdir -p /data /usr/share/simhub/fixtures \
 && chown simhub:simhub /data

COPY --from=build /usr/local/bin/simhub /usr/local/bin/secagent /usr/local/bin/fleet /usr/local/bin/
# demo/ (the hub the default command serves) and recordings/ (journals `fleet replay` plays).
COPY fixtures/ /usr/share/simhub/fixtures/

# The database, the local CA and the server certificate live here; keep it on a volume.
VOLUME ["/data"]
WORKDIR /data
USER simhub

# MQTT over TLS, HTTPS + MQTT over WebSocket, plain MQTT (debugging).
EXPOSE 8883 443 1883

ENTRYPOINT ["simhub"]
# --bind 0.0.0.0: a container's loopback is unreachable from outside it. Publish the ports on
# 127.0.0.1 only (as docker-compose.yml does), since the demo keys are public.
CMD ["serve", "--fixtures", "/usr/share/simhub/fixtures/demo", "--db", "/data/simhub.db", \
     "--hostname", "simhub.azure-devices.net", "--bind", "0.0.0.0"]
