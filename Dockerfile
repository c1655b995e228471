# staffgate container image.
#   docker build -t staffgate .
#   docker compose up --build         # with a MySQL 8 database, see docker-compose.yml
# Builds with BuildKit and with the classic builder alike (no `# syntax=` line, no COPY
# --chmod: git keeps the entry point executable). scripts/compose-check.sh builds the
# `runtime` stage around a binary built on the host.

# ---- build -------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmariadb-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependency cache: build the dependencies against a dummy main, so that a change to the
# sources alone does not rebuild every crate. Only a cache: if this step cannot build
# (the manifest names a target file that is not copied here), the real build below
# still does everything.
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && (cargo build --release --locked --bin staffgate \
     || echo "dependency pre-build failed; the full build below does it") \
 && rm -rf src

COPY . .
# COPY keeps the context's modification times, which can be older than the dummy build.
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin staffgate \
 && install -D -m 0755 target/release/staffgate /out/staffgate

# ---- run ---------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmariadb3 ca-certificates fonts-ipaexfont-gothic tini curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system staffgate \
 && useradd --system --gid staffgate --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin staffgate

COPY --from=builder /out/staffgate /usr/local/bin/staffgate
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY data /app/data

WORKDIR /app
USER staffgate

ENV STAFFGATE_BIND=0.0.0.0:8080 \
    STAFFGATE_SHEET_FONT=/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["serve"]
