#!/usr/bin/env bash
# recovery.sh — how long a node takes to be ready after it is started, and to serve again after
# its database comes back, measured on a private MariaDB server this script may stop.
#
#   scripts/bench/recovery.sh
#
# 1. builds the release server (CARGO_TARGET_DIR, by default /work/target-bench);
# 2. starts a MariaDB server of its own (a fresh datadir under a temporary directory, port
#    BENCH_RECOVERY_DB_PORT on 127.0.0.1; the machine's MariaDB is not touched), migrates a
#    database on it and makes 20 staff who can sign in;
# 3. start-up: BENCH_RECOVERY_DRILLS times, from the start of `staffgate check` (the unit's
#    ExecStartPre) through `staffgate serve` to the first 200 from /readyz, then SIGTERM;
# 4. outage drills: with the server up and 4 clients signing in continuously, the database is
#    shut down for BENCH_RECOVERY_OUTAGE seconds and started again, BENCH_RECOVERY_DRILLS
#    times; each drill records every answer's status and latency, and the time from the
#    database answering again to the first 200 sign-in and to /readyz 200;
# 5. writes docs/bench/recovery-report.md (p50 and p99 over the drills; every status seen).
#
# Everything runs on 127.0.0.1 and is stopped and removed on every exit path. Shared steps
# live in scripts/bench/lib.sh.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR          cargo's target directory [/work/target-bench]
#   BENCH_RECOVERY_PORT       server port on 127.0.0.1 [18093]
#   BENCH_RECOVERY_DB_PORT    the private MariaDB's port on 127.0.0.1 [13393]
#   BENCH_RECOVERY_DRILLS     start-ups and outages to measure [5]
#   BENCH_RECOVERY_OUTAGE     seconds the database stays down in each drill [10]
#   BENCH_RECOVERY_REPORT     where the report goes [docs/bench/recovery-report.md]
#   BENCH_SKIP_BUILD=1        reuse the binary already built
set -euo pipefail

BENCH_NAME="recovery bench"
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

readonly PORT=${BENCH_RECOVERY_PORT:-18093}
readonly DB_PORT=${BENCH_RECOVERY_DB_PORT:-13393}
readonly DRILLS=${BENCH_RECOVERY_DRILLS:-5}
readonly OUTAGE=${BENCH_RECOVERY_OUTAGE:-10}
readonly REPORT=${BENCH_RECOVERY_REPORT:-$DOCS/recovery-report.md}
readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly BIN=$TARGET_DIR/release/staffgate
readonly BASE_URL="http://127.0.0.1:$PORT"
readonly DB=staffgate_recovery
readonly STAFF=20

require_positive PORT DB_PORT DRILLS OUTAGE
require_tools "to run the drills" python3 curl mariadb mariadb-admin
require_cargo
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
INSTALL_DB=$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)
[ -x "$MARIADBD" ] && [ -x "$INSTALL_DB" ] || die "mariadbd and mariadb-install-db are needed (Debian package mariadb-server)"

SERVER_PID=""
DB_PID=""
WORK=$(mktemp -d)
DATADIR=$WORK/mariadb
# The private server and its datadir go with everything else; the machine's MariaDB stays.
recovery_cleanup() {
    local rc=$?
    stop_server
    stop_mariadb
    rm -rf "$WORK"
    exit "$rc"
}
trap recovery_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
require_free_port BENCH_RECOVERY_PORT
machine_facts

build_release

db() { mariadb --protocol=TCP -h 127.0.0.1 -P "$DB_PORT" -u root "$@"; }

start_mariadb() {
    "$MARIADBD" --no-defaults --datadir="$DATADIR" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --socket="$WORK/mariadb.sock" --pid-file="$WORK/mariadb.pid" --user=root \
        --innodb-buffer-pool-size=128M --skip-log-bin >>"$WORK/mariadb.log" 2>&1 &
    DB_PID=$!
    for _ in $(seq 1 300); do
        mariadb-admin --protocol=TCP -h 127.0.0.1 -P "$DB_PORT" -u root ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    die "the private MariaDB did not start (see $WORK/mariadb.log)"
}

stop_mariadb() {
    if [ -n "${DB_PID:-}" ] && kill -0 "$DB_PID" 2>/dev/null; then
        kill -TERM "$DB_PID" 2>/dev/null || true
        wait "$DB_PID" 2>/dev/null || true
    fi
    DB_PID=""
}

log "a private MariaDB on 127.0.0.1:$DB_PORT"
"$INSTALL_DB" --no-defaults --datadir="$DATADIR" --skip-test-db --user=root \
    --auth-root-authentication-method=normal >"$WORK/install.log" 2>&1 || die "mariadb-install-db failed"
start_mariadb
db -e "CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

export DATABASE_URL="mysql://root@127.0.0.1:$DB_PORT/$DB"
export STAFFGATE_ENV=development
export STAFFGATE_BIND="127.0.0.1:$PORT"
export STAFFGATE_PUBLIC_URL="$BASE_URL"
export STAFFGATE_BCRYPT_COST=10
export STAFFGATE_WORKERS=2
export RUST_LOG=${RUST_LOG:-warn}
staffgate migrate >&2 || die "staffgate migrate failed"
PASSWORD=$(bench_password)
printf '%s' "$PASSWORD" | staffgate create-admin R0001 --name '復旧 職員' --password-stdin >&2 ||
    die "staffgate create-admin failed"
db -D "$DB" -e "
INSERT INTO employees (employee_id, name, name_kana, department, permission_level, status,
                       password_hash, password_must_change, password_updated_at, created_at, updated_at)
SELECT CONCAT('R', LPAD(seq, 4, '0')), CONCAT('職員 ', seq), '', '看護部', 1.0, 'active',
       b.password_hash, FALSE, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
FROM seq_2_to_$STAFF JOIN employees b ON b.employee_id = 'R0001'"

# ---------------------------------------------------------------------------------------
# Start-up: check, then serve, until /readyz says 200
# ---------------------------------------------------------------------------------------
log "start-up to ready, $DRILLS times"
: >"$WORK/startup.txt"
for i in $(seq 1 "$DRILLS"); do
    t0=$(date +%s%N)
    staffgate check >"$WORK/check.log" 2>&1 || {
        cat "$WORK/check.log" >&2
        die "staffgate check failed"
    }
    t_check=$(date +%s%N)
    (cd "$WORK" && exec "$BIN" serve) >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    until curl -fsS -o /dev/null --max-time 1 "$BASE_URL/readyz" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up (see $WORK/server.log)"
        sleep 0.01
    done
    t_ready=$(date +%s%N)
    printf '%s %s\n' $(((t_check - t0) / 1000000)) $(((t_ready - t0) / 1000000)) >>"$WORK/startup.txt"
    note "start-up $i: check $(((t_check - t0) / 1000000)) ms, ready after $(((t_ready - t0) / 1000000)) ms"
    [ "$i" -eq "$DRILLS" ] || stop_server
done

# ---------------------------------------------------------------------------------------
# Outages under load
# ---------------------------------------------------------------------------------------
export RECOVERY_BASE_URL=$BASE_URL RECOVERY_PASSWORD=$PASSWORD RECOVERY_STAFF=$STAFF
for i in $(seq 1 "$DRILLS"); do
    log "drill $i: database down for $OUTAGE s under sign-ins"
    python3 "$ROOT/scripts/bench/recovery_load.py" "$WORK/drill-$i.json" &
    load_pid=$!
    sleep 3
    date +%s%N >"$WORK/down-$i"
    stop_mariadb
    sleep "$OUTAGE"
    start_mariadb
    date +%s%N >"$WORK/back-$i"
    # The load ends itself 10 s after the database is back.
    touch "$WORK/back-$i.flag"
    wait "$load_pid" || die "the load of drill $i failed"
done

log "writing $REPORT"
python3 - "$WORK" "$DRILLS" "$OUTAGE" "$REPORT" <<'PY'
import json, os, sys

work, drills, outage, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, round(p / 100 * (len(v) - 1))))
    return v[k]

startup = [tuple(map(int, l.split())) for l in open(f"{work}/startup.txt")]
rows, recover_signin, recover_ready, statuses, worst_outage = [], [], [], {}, 0.0
for i in range(1, drills + 1):
    d = json.load(open(f"{work}/drill-{i}.json"))
    down = int(open(f"{work}/down-{i}").read()) / 1e9
    back = int(open(f"{work}/back-{i}").read()) / 1e9
    first_ok = min((a["t"] + a["ms"] / 1000 for a in d["answers"]
                    if a["path"] == "signin" and a["status"] == 200 and a["t"] >= back), default=None)
    first_ready = min((a["t"] + a["ms"] / 1000 for a in d["answers"]
                       if a["path"] == "readyz" and a["status"] == 200 and a["t"] >= back), default=None)
    during = [a for a in d["answers"] if down <= a["t"] < back]
    for a in d["answers"]:
        statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
    slowest = max((a["ms"] for a in during), default=0)
    worst_outage = max(worst_outage, slowest)
    s_ok = (first_ok - back) * 1000 if first_ok else float("nan")
    s_ready = (first_ready - back) * 1000 if first_ready else float("nan")
    recover_signin.append(s_ok)
    recover_ready.append(s_ready)
    rows.append(f"| {i} | {len(during)} | {', '.join(f'{k} x {v}' for k, v in sorted(d['by_status_during'].items()))} | {slowest:.0f} | {s_ok:.0f} | {s_ready:.0f} |")

facts = {k: os.environ.get(k, "?") for k in
         ["DATE_UTC", "GIT_REV", "GIT_DIRTY", "CORES", "CPU_MODEL", "MARIADB_VERSION", "RUSTC_VERSION"]}
check_ms = [c for c, _ in startup]
ready_ms = [r for _, r in startup]
out = f"""# Start-up and recovery after a database outage

Run {facts['DATE_UTC']}, commit {facts['GIT_REV']}{facts['GIT_DIRTY']}; {facts['CORES']} cores
({facts['CPU_MODEL']}), MariaDB {facts['MARIADB_VERSION']} (a private server the script stops), {facts['RUSTC_VERSION']},
release build, 2 workers, bcrypt cost 10. Produced by `scripts/bench/recovery.sh`.

## Start-up to ready ({drills} starts)

From the start of `staffgate check` (the unit's `ExecStartPre`) to the first 200 from `/readyz`.

| | p50 | p99 (max of {drills}) |
|---|---:|---:|
| `staffgate check` | {pct(check_ms, 50)} ms | {pct(check_ms, 99)} ms |
| check + serve, to ready | {pct(ready_ms, 50)} ms | {pct(ready_ms, 99)} ms |

## Database down for {outage} s under sign-ins ({drills} drills)

Four clients sign in continuously (20 accounts, correct passwords) and a fifth asks `/readyz`
every 100 ms; the database is shut down, left down {outage} s and started again.
"Recovered" is the time from the database answering again to the first 200.

| drill | answers while down | statuses while down | slowest answer while down (ms) | recovered: sign-in (ms) | recovered: /readyz (ms) |
|---:|---:|---|---:|---:|---:|
""" + "\n".join(rows) + f"""

Recovery p50 / p99 (max of {drills}): sign-in {pct(recover_signin, 50):.0f} / {pct(recover_signin, 99):.0f} ms,
/readyz {pct(recover_ready, 50):.0f} / {pct(recover_ready, 99):.0f} ms. Every status over all drills:
{', '.join(f'{k} x {v}' for k, v in sorted(statuses.items()))}. The slowest answer while the
database was down took {worst_outage:.0f} ms (the pool's connection timeout is 5 s).
"""
open(report, "w").write(out)
print(out)
PY
