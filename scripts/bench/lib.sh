# Shared by the benchmark scripts (sourced, not run): messages, the toolchain and MariaDB
# checks, the release build, a fresh database, the server they start and stop, and cleaning up
# on every exit path.
#
# Set before sourcing: BENCH_NAME (prefix of every message). Used by the functions: SERVER_PID
# (empty when no server runs), WORK (a scratch directory), TARGET_DIR and BIN (the release
# server), PORT and BASE_URL (where it answers). BENCH_DB_URL_BASE is the MySQL URL without a
# database [mysql://root@127.0.0.1:3306].

# shellcheck disable=SC2034  # ROOT, DOCS and DB_URL_BASE are read by the scripts that source this file
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DOCS=$ROOT/docs/bench
DB_URL_BASE=${BENCH_DB_URL_BASE:-mysql://root@127.0.0.1:3306}

log() { printf '\n==> %s: %s\n' "$BENCH_NAME" "$*" >&2; }
note() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
    printf '%s: ERROR: %s\n' "$BENCH_NAME" "$*" >&2
    exit 1
}

# Dies unless every named variable holds a positive integer.
require_positive() {
    local n
    for n in "$@"; do
        [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, got '${!n}'"
    done
}

# Dies unless every named command is installed; $1 says what for.
require_tools() {
    local why=$1 t
    shift
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || die "$t is needed ($why)"
    done
}

# Puts cargo on PATH (rustup's env file) and dies when there is none.
require_cargo() {
    if [ -f "${HOME:-}/.cargo/env" ]; then
        # shellcheck source=/dev/null
        . "${HOME:-}/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found (run scripts/setup-host.sh)"
}

# MariaDB must answer; scripts/setup-host.sh installs and starts it when it does not.
require_mariadb() {
    if ! mariadb-admin ping >/dev/null 2>&1; then
        log "MariaDB is not answering: scripts/setup-host.sh"
        bash "$ROOT/scripts/setup-host.sh"
    fi
    mariadb-admin ping >/dev/null 2>&1 || die "MariaDB does not answer"
}

# Dies when something already answers on BASE_URL; $1 names the variable that moves the port.
require_free_port() {
    if curl -fsS -o /dev/null --max-time 1 "$BASE_URL/healthz" 2>/dev/null; then
        die "something already answers on $BASE_URL; set $1 to a free port"
    fi
}

# Exports what the reports say about the machine: CORES CPU_MODEL MEM_TOTAL KERNEL
# MARIADB_VERSION BUFFER_POOL FLUSH_AT_COMMIT RUSTC_VERSION NODE_VERSION DATE_UTC GIT_REV
# GIT_DIRTY (", uncommitted changes" or empty).
machine_facts() {
    CORES=$(nproc)
    CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    CPU_MODEL=${CPU_MODEL:-unknown}
    MEM_TOTAL=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
    KERNEL=$(uname -r)
    MARIADB_VERSION=$(mariadb -N -B -e 'SELECT VERSION()' 2>/dev/null || echo unknown)
    BUFFER_POOL=$(mariadb -N -B -e 'SELECT CONCAT(ROUND(@@innodb_buffer_pool_size/1048576), " MiB")' 2>/dev/null || echo unknown)
    FLUSH_AT_COMMIT=$(mariadb -N -B -e 'SELECT @@innodb_flush_log_at_trx_commit' 2>/dev/null || echo unknown)
    RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
    NODE_VERSION=$(node --version 2>/dev/null || echo missing)
    DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    GIT_DIRTY=$(git -C "$ROOT" --no-optional-locks status --porcelain 2>/dev/null | grep -q . && echo ", uncommitted changes" || true)
    export CORES CPU_MODEL MEM_TOTAL KERNEL MARIADB_VERSION BUFFER_POOL FLUSH_AT_COMMIT \
        RUSTC_VERSION NODE_VERSION DATE_UTC GIT_REV GIT_DIRTY
    note "$CORES cores, $CPU_MODEL, MariaDB $MARIADB_VERSION, $RUSTC_VERSION"
}

# Load average and running rustc processes, "load;rustc": anything else busy on the machine
# (another build, say) skews the figures, so the reports record it.
machine_busy() {
    local rustc_count
    rustc_count=$(pgrep -c -x rustc 2>/dev/null) || true
    printf '%s;%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "${rustc_count:-0}"
}

# Seconds since $1 (a `date +%s.%N` value), whole.
seconds_since() {
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$(date +%s.%N)"
}

# A password for a benchmark admin: random, and it passes the password policy.
bench_password() {
    printf 'Bench-%s-9a' "$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | head -c 20)"
}

# Builds the release server and the examples named as arguments (unless BENCH_SKIP_BUILD=1);
# all of them must exist afterwards.
build_release() {
    export CARGO_TARGET_DIR=$TARGET_DIR
    local args=(--bin staffgate) e
    for e in "$@"; do
        args+=(--example "$e")
    done
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        log "cargo build --release ${args[*]} (target dir $TARGET_DIR)"
        cargo build --release --locked "${args[@]}"
    fi
    [ -x "$BIN" ] || die "$BIN is missing"
    for e in "$@"; do
        [ -x "$TARGET_DIR/release/examples/$e" ] || die "$TARGET_DIR/release/examples/$e is missing"
    done
}

# Drops and creates the database $1 as the local MariaDB root.
fresh_database() {
    log "fresh database $1"
    mariadb -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
        die "cannot create the database $1 (as the local MariaDB root)"
}

# A fresh database $1 and the environment the server and the CLI read: development settings on
# 127.0.0.1:$PORT, bcrypt cost 10 (the production floor), hashing threads by core count.
prepare_server() {
    fresh_database "$1"
    export DATABASE_URL="$DB_URL_BASE/$1"
    export STAFFGATE_ENV=development
    export STAFFGATE_BIND="127.0.0.1:$PORT"
    export STAFFGATE_PUBLIC_URL="$BASE_URL"
    export STAFFGATE_BCRYPT_COST=10
    unset STAFFGATE_HASHING_THREADS
}

# Runs the staffgate CLI from the empty $WORK, so a developer's .env cannot leak in.
staffgate() {
    (cd "$WORK" && "$BIN" "$@")
}

# Starts `staffgate serve` in the background (output to $1) and waits up to 30 s for $2
# (/healthz or /readyz) to answer; sets SERVER_PID.
start_server() {
    local logfile=$1 probe=$2 i
    log "starting the server on $BASE_URL"
    (cd "$WORK" && exec "$BIN" serve) >"$logfile" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 1 "$BASE_URL$probe" 2>/dev/null && break
        kill -0 "$SERVER_PID" 2>/dev/null || {
            tail -n 30 "$logfile" >&2
            die "the server exited during start-up"
        }
        [ "$i" -lt 300 ] || die "the server did not answer $probe within 30 s"
        sleep 0.1
    done
    note "server up (pid $SERVER_PID)"
}

# Stops the server gracefully (SIGTERM, up to 10 s), then forcibly; idempotent.
stop_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        note "stopping the server (pid $SERVER_PID)"
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            note "server did not stop within 10 s; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# Installs the exit path: stop the server, drop the database $1 unless $2 is 1, remove $WORK.
cleanup_on_exit() {
    CLEANUP_DB=$1
    CLEANUP_KEEP=$2
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_cleanup() {
    local rc=$?
    stop_server
    if [ "$CLEANUP_KEEP" != 1 ]; then
        mariadb -e "DROP DATABASE IF EXISTS \`$CLEANUP_DB\`" 2>/dev/null || true
    else
        note "database $CLEANUP_DB kept"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
