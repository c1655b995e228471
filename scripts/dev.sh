#!/usr/bin/env bash
# dev.sh — one command to run staffgate locally with a demo admin.
#
#   scripts/dev.sh
#
# Sets the machine up (scripts/setup-host.sh), builds the release binary, applies the
# migrations, creates or resets the demo admin ADMIN0001 with a fresh random password,
# prints how to sign in, and runs the server in the foreground (Ctrl-C stops it).
#
# Environment: STAFFGATE_BIND (listen address, default 127.0.0.1:8080), and everything
# setup-host.sh and staffgate itself read (STAFFGATE_DB_PASSWORD, STAFFGATE_*).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

readonly ADMIN_ID=ADMIN0001
readonly ADMIN_NAME='デモ管理者'
readonly BIN=target/release/staffgate

log() { printf 'dev: %s\n' "$*" >&2; }
die() {
    printf 'dev: ERROR: %s\n' "$*" >&2
    exit 1
}

env_lines=$(bash scripts/setup-host.sh --print-env) || die "scripts/setup-host.sh failed"
eval "$env_lines"

if [ -f "${HOME:-}/.cargo/env" ]; then
    # shellcheck source=/dev/null
    . "${HOME:-}/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found after setup-host.sh"

log "cargo build --release --locked --bin staffgate"
cargo build --release --locked --bin staffgate

log "staffgate migrate"
"$BIN" migrate

# 16 random alphanumerics from /dev/urandom, with at least one lower, upper and digit.
random_password() {
    local raw
    while :; do
        raw=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
        raw=${raw:0:16}
        if [ "${#raw}" -eq 16 ] && [[ "$raw" =~ [a-z] && "$raw" =~ [A-Z] && "$raw" =~ [0-9] ]]; then
            printf '%s' "$raw"
            return 0
        fi
    done
}
pw=$(random_password)

log "staffgate create-admin $ADMIN_ID (creates it, or resets its password)"
printf '%s' "$pw" | "$BIN" create-admin "$ADMIN_ID" --name "$ADMIN_NAME" --password-stdin

# The address to open in a browser, from the listen address.
bind=${STAFFGATE_BIND:-127.0.0.1:8080}
case "$bind" in
    0.0.0.0:*) url_host=127.0.0.1 port=${bind##*:} ;;
    '[::]':*) url_host='[::1]' port=${bind##*:} ;;
    *:*) url_host=${bind%:*} port=${bind##*:} ;;
    *) url_host=$bind port=8080 ;;
esac
url="http://${url_host}:${port}"

line='=================================================================='
cat <<BOX

$line
  staffgate (development) — demo admin

  URL           $url
  Employee ID   $ADMIN_ID
  Password      $pw

  The password is new on every run of scripts/dev.sh.
  At the first sign-in the portal asks you to set up an authenticator
  app (admins sign in with two factors; STAFFGATE_ADMIN_2FA=optional
  turns that off for a demo).
  Stop the server with Ctrl-C.
$line

BOX

exec "$BIN" serve
