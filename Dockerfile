# syntax=docker/dockerfile:1
# The ssehub hub image. Build from the repository root:
#   docker build -t ssehub:local .
# Stage 1 compiles the dependencies against stub sources, so that layer is reused until
# Cargo.toml, Cargo.lock or loadtest/Cargo.toml change; stage 2 is distroless and non-root.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src

# 1. Dependencies only: manifests + lockfile, stub targets for everything the manifests name.
COPY Cargo.toml Cargo.lock ./
COPY loadtest/Cargo.toml loadtest/Cargo.toml
RUN mkdir -p src benches loadtest/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > loadtest/src/main.rs \
    && for bench in frame fanout registry tail store topics; do echo 'fn main() {}' > "benches/$bench.rs"; done \
    && cargo build --release --locked --package ssehub --bin ssehub \
    && rm -rf src benches loadtest/src \
              target/release/ssehub target/release/deps/ssehub-* target/release/deps/libssehub-* \
              target/release/.fingerprint/ssehub-*

# 2. The real sources (only what the binary needs; see .dockerignore).
COPY src src
COPY benches benches
COPY loadtest/src loadtest/src
RUN cargo build --release --locked --package ssehub --bin ssehub \
    && install -D -m 0755 target/release/ssehub /out/usr/local/bin/ssehub \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/usr/local/bin/ssehub /usr/local/bin/ssehub
# The embedded store's directory (unused with MongoDB); owned by the nonroot user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
# Keys (SSEHUB_PUBLISH_KEYS, SSEHUB_SUBSCRIBE_KEYS), SSEHUB_TOKEN_SECRET and MONGODB_URI
# come from the environment at run time; without keys the hub refuses to listen on 0.0.0.0.
ENV SSEHUB_LISTEN=0.0.0.0:8080 \
    SSEHUB_DATA_DIR=/data
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/ssehub", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ssehub"]
