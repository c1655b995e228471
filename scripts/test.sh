#!/usr/bin/env bash
# test.sh — one command to run all checks and tests (also what CI runs, via .ci/run).
#
#   scripts/test.sh
#
# Sets the machine up (scripts/setup-host.sh: MariaDB, fonts, Chromium + chromedriver for the
# browser tests, and the MariaDB user the test harness uses), then: cargo fmt --check,
# cargo clippy -D warnings, cargo test, and scripts/compose-check.sh (docker compose up of the
# shipped files; installs Docker and starts dockerd when missing).
#
# Environment:
#   STAFFGATE_TEST_THREADS     parallel tests (default 4; each test has its own database)
#   STAFFGATE_EXTRA_PACKAGES   extra Debian packages for the tests, passed to setup-host.sh
#   STAFFGATE_DB_PASSWORD      see setup-host.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Debian packages the test suite needs beyond the base set: Chromium and its WebDriver for
# the browser tests, poppler and zbar for checking PDFs, prometheus for promtool (the alert
# rules and the /metrics scrape are checked with it; systemd-analyze, for the unit file, comes
# with systemd), nginx to run deploy/nginx/staffgate.conf in front of the server. Callers can
# add more.
export STAFFGATE_EXTRA_PACKAGES="chromium chromium-driver poppler-utils zbar-tools prometheus nginx ${STAFFGATE_EXTRA_PACKAGES:-}"
threads=${STAFFGATE_TEST_THREADS:-4}
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || {
    printf 'test: ERROR: STAFFGATE_TEST_THREADS must be a positive integer, got %s\n' "$threads" >&2
    exit 2
}
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

log() { printf '\n==> %s\n' "$*" >&2; }

summary=()
current=""
step_start=0
all_start=$SECONDS

begin() {
    current=$1
    step_start=$SECONDS
    log "$1"
}
end() {
    summary+=("$(printf '  %-8s %5ds  ok' "$current" $((SECONDS - step_start)))")
    current=""
}
print_summary() {
    local rc=$?
    if [ -n "$current" ]; then
        summary+=("$(printf '  %-8s %5ds  FAILED (exit %d)' "$current" $((SECONDS - step_start)) "$rc")")
    fi
    {
        printf '\n---- scripts/test.sh timing ----\n'
        if [ "${#summary[@]}" -gt 0 ]; then
            printf '%s\n' "${summary[@]}"
        fi
        printf '  %-8s %5ds  %s\n' total $((SECONDS - all_start)) "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)"
    } >&2
}
trap print_summary EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installing the prometheus package (for promtool) also enables and starts a Prometheus server
# on :9090, and the nginx package a web server on :80. The tests run their own nginx on free
# ports and need neither: a service this run installed is stopped and disabled again.
servers_packaged=(prometheus nginx)
stop_new_server() {
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        as_root systemctl disable --now "$1.service" >&2
    elif [ -x "/etc/init.d/$1" ]; then
        as_root "/etc/init.d/$1" stop >&2 || true
        as_root update-rc.d "$1" disable >&2 || true
    fi
}

begin setup
installed_before=()
for server in "${servers_packaged[@]}"; do
    installed_before+=("$(dpkg-query -W -f='${db:Status-Status}' "$server" 2>/dev/null || true)")
done
env_lines=$(bash scripts/setup-host.sh --print-env)
eval "$env_lines"
for i in "${!servers_packaged[@]}"; do
    if [ "${installed_before[$i]}" != installed ]; then
        log "stopping the ${servers_packaged[$i]} server that installing its package started"
        stop_new_server "${servers_packaged[$i]}"
    fi
done
if [ -f "${HOME:-}/.cargo/env" ]; then
    # shellcheck source=/dev/null
    . "${HOME:-}/.cargo/env"
fi
end

begin fmt
cargo fmt --all -- --check
end

begin clippy
cargo clippy --all-targets --locked -- -D warnings
end

begin test
cargo test --locked -- --test-threads="$threads"
end

# docker compose up of the shipped files, with the binary the tests just ran (a debug build:
# no release build needed here).
begin compose
STAFFGATE_COMPOSE_BINARY="${CARGO_TARGET_DIR:-target}/debug/staffgate" bash scripts/compose-check.sh
end
