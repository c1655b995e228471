# Shared by the benchmark scripts (sourced, not run): stopping the server they started and
# cleaning up on every exit path.
#
# Expects SERVER_PID (empty when no server runs), WORK (a scratch directory), TARGET_DIR and
# BIN (the release server), and `log`, `note` and `die` functions for messages.

# Stops the server gracefully (SIGTERM, up to 10 s), then forcibly; idempotent.
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
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

# Builds the release server and the example $1 (unless BENCH_SKIP_BUILD=1); both must exist.
build_release() {
    export CARGO_TARGET_DIR=$TARGET_DIR
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        log "cargo build --release --bin staffgate --example $1 (target dir $TARGET_DIR)"
        cargo build --release --locked --bin staffgate --example "$1"
    fi
    [ -x "$BIN" ] || die "$BIN is missing"
    [ -x "$TARGET_DIR/release/examples/$1" ] || die "$TARGET_DIR/release/examples/$1 is missing"
}

# Drops and creates the database $1 as the local MariaDB root.
fresh_database() {
    log "fresh database $1"
    mariadb -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
        die "cannot create the database $1 (as the local MariaDB root)"
}
