#!/usr/bin/env bash
# Container entry point (see Dockerfile): wait for the database by retrying the
# migrations, optionally create/reset a demo admin, then run `staffgate "$@"`.
#
# Environment:
#   STAFFGATE_DEMO_ADMIN_PASSWORD  if set, create-admin ADMIN0001 with this password
#                                  (refused when STAFFGATE_ENV=production)
#   STAFFGATE_DEMO_ADMIN_ID        default ADMIN0001
#   STAFFGATE_DEMO_ADMIN_NAME      default デモ管理者
#   STAFFGATE_SKIP_MIGRATE=1       run the command without migrating first
set -euo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
    set -- serve
fi

if [ "${STAFFGATE_SKIP_MIGRATE:-0}" != 1 ]; then
    max_attempts=60
    attempt=1
    until out=$(staffgate migrate 2>&1); do
        if [ "$attempt" -ge "$max_attempts" ]; then
            printf '%s\n' "$out" >&2
            log "staffgate migrate failed $max_attempts times; giving up (is DATABASE_URL right and the database up?)"
            exit 1
        fi
        log "database not ready or migrate failed (attempt $attempt/$max_attempts): $(printf '%s' "$out" | tail -n 1)"
        attempt=$((attempt + 1))
        sleep 2
    done
    if [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
    fi
    log "migrations applied"
fi

if [ -n "${STAFFGATE_DEMO_ADMIN_PASSWORD:-}" ]; then
    if [ "${STAFFGATE_ENV:-development}" = production ]; then
        log "refusing to create a demo admin with a known password when STAFFGATE_ENV=production; unset STAFFGATE_DEMO_ADMIN_PASSWORD"
        exit 1
    fi
    admin_id=${STAFFGATE_DEMO_ADMIN_ID:-ADMIN0001}
    log "creating/resetting demo admin $admin_id"
    printf '%s' "$STAFFGATE_DEMO_ADMIN_PASSWORD" |
        staffgate create-admin "$admin_id" --name "${STAFFGATE_DEMO_ADMIN_NAME:-デモ管理者}" --password-stdin
fi
# The server has no use for it; keep it out of its environment.
unset STAFFGATE_DEMO_ADMIN_PASSWORD

exec staffgate "$@"
