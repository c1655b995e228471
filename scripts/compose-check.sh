#!/usr/bin/env bash
# compose-check.sh — `docker-compose up` of the shipped docker-compose.yml and Dockerfile, on a
# machine that cannot reach a container registry, timed from `up` until /readyz answers.
#
#   scripts/compose-check.sh
#
# Nothing a user pulls is available here, so three images are made locally; the shipped files
# stay as users run them:
#   debian:bookworm    debootstrap + docker import; kept between runs (a cache, like a pull)
#   staffgate-check/mariadb:10.11
#                      scripts/compose-check/mariadb.Dockerfile, standing in for mysql:8.0
#                      (same MYSQL_* variables, `mysqladmin` for the health check); kept too
#   staffgate-check/staffgate:latest
#                      the shipped Dockerfile's `runtime` stage, with two lines changed: it
#                      starts from debian:bookworm instead of debian:bookworm-slim, and takes
#                      the release binary built on this host instead of the one the builder
#                      stage compiles in rust:1-bookworm. Removed at the end.
# scripts/compose-check/compose.override.yml swaps these images in (and drops the MySQL-only
# server option). Then: up, wait for /readyz, sign in as the demo admin through the API and
# the portal, `down -v`. Everything the run started is removed again, on failure too.
#
# Installs docker.io, docker-compose and debootstrap if missing and starts dockerd if it is
# not running (it is left running). Runs as root, or as a user with sudo.
#
# Environment:
#   STAFFGATE_PORT             host port to publish staffgate on (default: the first free
#                              from 18080)
#   STAFFGATE_COMPOSE_BINARY   a staffgate binary already built on this host to put in the
#                              image (scripts/test.sh passes the one its tests ran); default:
#                              cargo build --release
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

readonly BASE_IMAGE=debian:bookworm
readonly DB_IMAGE=staffgate-check/mariadb:10.11
readonly APP_IMAGE=staffgate-check/staffgate:latest
readonly PROJECT=staffgate-check
readonly OVERRIDE=scripts/compose-check/compose.override.yml
readonly DEMO_ADMIN=ADMIN0001
readonly DEMO_PASSWORD=ChangeMe-Demo-2026 # docker-compose.yml's default
readonly READY_LIMIT=180                  # seconds

SCRIPT_NAME=compose-check
# shellcheck source=scripts/lib/host.sh
. scripts/lib/host.sh

# ---- what a failure or the end must undo --------------------------------------------------
work=$(mktemp -d)
compose_started=0
compose() {
    as_root env STAFFGATE_PORT="$port" docker-compose -p "$PROJECT" \
        -f docker-compose.yml -f "$OVERRIDE" "$@"
}
cleanup() {
    local rc=$?
    if [ "$compose_started" -eq 1 ]; then
        if [ "$rc" -ne 0 ]; then
            log "failed; the containers' last log lines:"
            compose logs --no-color --tail 40 >&2 || true
        fi
        compose down -v --remove-orphans >&2 || true
    fi
    as_root docker image rm -f "$APP_IMAGE" >/dev/null 2>&1 || true
    as_root rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- tools --------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    # The packages must not start their daemons while installed (in a container they cannot).
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    log "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
    if [ "$made_policy" -eq 1 ]; then
        as_root rm -f /usr/sbin/policy-rc.d
    fi
fi

if ! as_root docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/dockerd.log)"
    as_root sh -c 'nohup dockerd --storage-driver=overlay2 >>/var/log/dockerd.log 2>&1 &'
    for _ in $(seq 1 150); do
        as_root docker info >/dev/null 2>&1 && break
        sleep 0.2
    done
    as_root docker info >/dev/null 2>&1 || die "dockerd did not start; see /var/log/dockerd.log"
fi

# ---- images -------------------------------------------------------------------------------
if ! as_root docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "making $BASE_IMAGE with debootstrap (once; kept for later runs)"
    rootfs="$work/rootfs"
    as_root debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
    # The sources Debian's own image has: updates and security too.
    as_root rm -f "$rootfs/etc/apt/sources.list"
    as_root tee "$rootfs/etc/apt/sources.list.d/debian.sources" >/dev/null <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    as_root rm -rf "$rootfs/var/lib/apt/lists"/* "$rootfs/var/cache/apt"/*.bin
    as_root tar -C "$rootfs" -c . | as_root docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$rootfs"
fi

log "building $DB_IMAGE"
previous=$(as_root docker image inspect -f '{{.Id}}' "$DB_IMAGE" 2>/dev/null || true)
as_root docker build -t "$DB_IMAGE" -f scripts/compose-check/mariadb.Dockerfile scripts/compose-check >&2
if [ -n "$previous" ] && [ "$previous" != "$(as_root docker image inspect -f '{{.Id}}' "$DB_IMAGE")" ]; then
    as_root docker image rm "$previous" >/dev/null # its files changed; the old one is of no use
fi

binary=${STAFFGATE_COMPOSE_BINARY:-}
if [ -z "$binary" ]; then
    log "cargo build --release --bin staffgate"
    if [ -f "${HOME:-}/.cargo/env" ]; then
        # shellcheck source=/dev/null
        . "${HOME:-}/.cargo/env"
    fi
    cargo build --release --locked --bin staffgate >&2
    binary=target/release/staffgate
fi
[ -x "$binary" ] || die "$binary is not an executable"

# The runtime stage as shipped, but for two lines (each must be in the Dockerfile once): its
# base image, and the binary, which comes from the build context instead of the builder stage.
log "building $APP_IMAGE from the Dockerfile's runtime stage"
context="$work/context"
mkdir -p "$context/scripts"
cp "$binary" "$context/staffgate"
cp -a scripts/docker-entrypoint.sh "$context/scripts/"
cp -a data "$context/data"
runtime_from='FROM debian:bookworm-slim AS runtime'
binary_copy='COPY --from=builder /out/staffgate /usr/local/bin/staffgate'
for line in "$runtime_from" "$binary_copy"; do
    [ "$(grep -cxF "$line" Dockerfile)" -eq 1 ] || die "the Dockerfile should hold the line '$line' once"
done
sed -n "\\|^${runtime_from}\$|,\$p" Dockerfile |
    sed -e "s|^${runtime_from}\$|FROM ${BASE_IMAGE} AS runtime|" \
        -e "s|^${binary_copy}\$|COPY staffgate /usr/local/bin/staffgate|" >"$context/Dockerfile"
as_root docker build -t "$APP_IMAGE" "$context" >&2

# ---- up -----------------------------------------------------------------------------------
if [ -n "${STAFFGATE_PORT:-}" ]; then
    port=$STAFFGATE_PORT
else
    port=""
    for p in $(seq 18080 18180); do
        if [ -z "$(ss -ltnH "sport = :$p")" ]; then
            port=$p
            break
        fi
    done
    [ -n "$port" ] || die "no free port in 18080..18180; set STAFFGATE_PORT"
fi
base="http://127.0.0.1:$port"

compose down -v --remove-orphans >/dev/null 2>&1 || true # what a killed run left behind
log "docker-compose up -d (staffgate on port $port)"
compose_started=1
started=$(date +%s.%N)
compose up -d --no-build >&2
ready=""
while :; do
    if curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; then
        ready=$(date +%s.%N)
        break
    fi
    if awk -v s="$started" -v n="$(date +%s.%N)" -v l="$READY_LIMIT" 'BEGIN { exit !(n - s > l) }'; then
        die "/readyz did not answer within ${READY_LIMIT}s"
    fi
    sleep 0.2
done
seconds=$(awk -v s="$started" -v r="$ready" 'BEGIN { printf "%.1f", r - s }')

# ---- the demo admin signs in --------------------------------------------------------------
tokens=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"employeeId\":\"$DEMO_ADMIN\",\"password\":\"$DEMO_PASSWORD\"}" \
    "$base/api/v2/auth/authenticate") || die "API sign-in of $DEMO_ADMIN failed"
case "$tokens" in
    *'"accessToken":"'*) ;;
    *) die "API sign-in answered without an access token: $tokens" ;;
esac

jar="$work/cookies"
page=$(curl -fsS -c "$jar" "$base/admin/login")
csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$csrf" ] || die "no CSRF field on the portal sign-in page"
landed=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -c "$jar" \
    --data-urlencode "csrf=$csrf" --data-urlencode "employee_id=$DEMO_ADMIN" \
    --data-urlencode "password=$DEMO_PASSWORD" --data-urlencode "next=/admin" \
    "$base/admin/login")
# Admin two-factor sign-in is required: a new admin is taken to set up an authenticator app.
[ "$landed" = "303 $base/admin/mfa/enrol" ] ||
    die "portal sign-in answered '$landed', not a 303 to the authenticator setup"
enrol=$(curl -sS -b "$jar" "$base/admin/mfa/enrol")
case "$enrol" in
    *'id="totp-secret"'*) ;;
    *) die "the authenticator setup page did not show a key after signing in" ;;
esac

log "ok: ready ${seconds}s after up; $DEMO_ADMIN signed in through the API and the portal"
printf 'compose up -> /readyz: %ss\n' "$seconds"
