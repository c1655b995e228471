#!/usr/bin/env bash
# bench.sh — end-to-end performance run of staffgate on this machine.
#
#   scripts/bench.sh
#
# 1. builds the release server and the load generator (examples/loadgen.rs);
# 2. runs the criterion micro-benchmarks (benches/hot_paths.rs: QR data URL, bcrypt cost-10
#    verify, 10,000-row CSV parse) and node's `qrcode` toDataURL on the same URL as baseline
#    (scripts/bench/qr-node.js; skipped with a note when node/npm are missing);
# 3. creates a fresh database (dropped first), migrates, creates an admin, imports employees
#    from a generated CSV, starts the release server in the background on a local port;
# 4. measures the idle RSS, then runs loadgen: setup (employees get passwords through the
#    QR-token flow), logins spread over the employees (+ /healthz probe), logins with all
#    clients on one account, verify (one-time token redemption);
# 5. stops the server and writes bench-results/results.json and
#    bench-results/README-performance.md (every figure next to its same-run baseline).
#
# Idempotent: the database and bench-results/ are recreated on every run; the server is
# stopped on exit, whatever happens. All traffic goes to 127.0.0.1 only.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR            cargo's target directory [<repo>/target]
#   BENCH_DB                    database name, dropped and recreated [staffgate_bench]
#   BENCH_DB_URL_BASE           MySQL URL without the database [mysql://root@127.0.0.1:3306]
#   BENCH_PORT                  server port on 127.0.0.1 [18080]
#   BENCH_EMPLOYEES             employees prepared for sign-in and used by `logins` [200]
#   BENCH_VERIFY_COUNT          one-time tokens issued and redeemed by `verify` [2000]
#   BENCH_LOGIN_CONCURRENCY     concurrent sign-in clients [8]
#   BENCH_LOGIN_DURATION        measured seconds of sign-ins (after a 2 s warm-up) [20]
#   BENCH_VERIFY_CONCURRENCY    concurrent redemptions [16]
#   BENCH_NODE_ITERATIONS       node qrcode iterations [1000]
#   BENCH_SKIP_BUILD=1          reuse the binaries already built
#   BENCH_SKIP_CRITERION=1      reuse bench-results/criterion from a previous run
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

readonly DB=${BENCH_DB:-staffgate_bench}
readonly DB_URL_BASE=${BENCH_DB_URL_BASE:-mysql://root@127.0.0.1:3306}
readonly PORT=${BENCH_PORT:-18080}
readonly EMPLOYEES=${BENCH_EMPLOYEES:-200}
readonly VERIFY_COUNT=${BENCH_VERIFY_COUNT:-2000}
readonly LOGIN_CONCURRENCY=${BENCH_LOGIN_CONCURRENCY:-8}
readonly LOGIN_DURATION=${BENCH_LOGIN_DURATION:-20}
readonly VERIFY_CONCURRENCY=${BENCH_VERIFY_CONCURRENCY:-16}
readonly NODE_ITERATIONS=${BENCH_NODE_ITERATIONS:-1000}
readonly TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
readonly BIN=$TARGET_DIR/release/staffgate
readonly LOADGEN=$TARGET_DIR/release/examples/loadgen
readonly OUT=$ROOT/bench-results
readonly BASE_URL="http://127.0.0.1:$PORT"
readonly ADMIN_ID=BENCHADMIN
readonly PIDFILE=$OUT/.server.pid

log() { printf '\n==> bench: %s\n' "$*" >&2; }
note() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: ERROR: %s\n' "$*" >&2
    exit 1
}

for n in EMPLOYEES VERIFY_COUNT LOGIN_CONCURRENCY LOGIN_DURATION VERIFY_CONCURRENCY NODE_ITERATIONS PORT; do
    [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$n must be a positive integer, got '${!n}'"
done
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "BENCH_DB must be letters, digits and _ only"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to assemble the results"
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install -y curl)"
if [ -f "${HOME:-}/.cargo/env" ]; then
    # shellcheck source=/dev/null
    . "${HOME:-}/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (run scripts/setup-host.sh)"

# ---------------------------------------------------------------------------------------
# The server process: stopped on every exit path.
# ---------------------------------------------------------------------------------------
SERVER_PID=""
WORK=$(mktemp -d)
# shellcheck source=scripts/bench/lib.sh
. "$ROOT/scripts/bench/lib.sh"
cleanup() {
    local rc=$?
    stop_server
    rm -f "$PIDFILE"
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A server left over from an interrupted run (recorded in the pidfile, and really ours).
if [ -f "$PIDFILE" ]; then
    old=$(cat "$PIDFILE" 2>/dev/null || true)
    if [[ "$old" =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$old/exe" 2>/dev/null)" = "$(readlink -f "$BIN")" ]; then
        note "stopping a server left over from a previous run (pid $old)"
        kill -TERM "$old" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$old" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$PIDFILE"
fi
if curl -fsS -o /dev/null --max-time 1 "$BASE_URL/healthz" 2>/dev/null; then
    die "something already answers on $BASE_URL; set BENCH_PORT to a free port"
fi

rm -rf "$OUT/loadgen.jsonl" "$OUT/noise.jsonl" "$OUT/node-qr.json" "$OUT/server.log" "$OUT/results.json" \
    "$OUT/README-performance.md" "$OUT/machine.json" "$OUT/rss.json" "$OUT/server-checks.json"
mkdir -p "$OUT"
if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
    rm -rf "$OUT/criterion"
fi

# ---------------------------------------------------------------------------------------
# MariaDB must answer (scripts/setup-host.sh installs and starts it when it does not).
# ---------------------------------------------------------------------------------------
if ! mariadb-admin ping >/dev/null 2>&1; then
    log "MariaDB is not answering: scripts/setup-host.sh"
    bash scripts/setup-host.sh
fi
mariadb-admin ping >/dev/null 2>&1 || die "MariaDB does not answer"

# ---------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------
CORES=$(nproc)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
CPU_MODEL=${CPU_MODEL:-unknown}
MARIADB_VERSION=$(mariadb -N -B -e 'SELECT VERSION()' 2>/dev/null || echo unknown)
RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
NODE_VERSION=$(node --version 2>/dev/null || echo missing)
MEM_TOTAL=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
KERNEL=$(uname -r)
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git status --porcelain 2>/dev/null | grep -q . && echo true || echo false)
export CORES CPU_MODEL MARIADB_VERSION RUSTC_VERSION NODE_VERSION MEM_TOTAL KERNEL DATE_UTC GIT_REV GIT_DIRTY
python3 - "$OUT/machine.json" <<'PY'
import json, os, sys
keys = ["CORES", "CPU_MODEL", "MARIADB_VERSION", "RUSTC_VERSION", "NODE_VERSION", "MEM_TOTAL",
        "KERNEL", "DATE_UTC", "GIT_REV", "GIT_DIRTY"]
json.dump({k.lower(): os.environ[k] for k in keys}, open(sys.argv[1], "w"), indent=2)
PY
note "$CORES cores, $CPU_MODEL, MariaDB $MARIADB_VERSION, $RUSTC_VERSION, node $NODE_VERSION"

# ---------------------------------------------------------------------------------------
# Build, micro-benchmarks
# ---------------------------------------------------------------------------------------
export CARGO_TARGET_DIR=$TARGET_DIR
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release --bin staffgate --example loadgen (target dir $TARGET_DIR)"
    cargo build --release --locked --bin staffgate --example loadgen
fi
[ -x "$BIN" ] || die "$BIN is missing"
[ -x "$LOADGEN" ] || die "$LOADGEN is missing"

if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
    log "cargo bench --bench hot_paths (criterion)"
    CRITERION_HOME="$OUT/criterion" cargo bench --locked --bench hot_paths -- --noplot 2>&1 |
        tee "$OUT/criterion.log" >&2
fi
[ -f "$OUT/criterion/bcrypt/verify_cost10/new/estimates.json" ] ||
    die "criterion results missing under $OUT/criterion"

log "node qrcode toDataURL baseline (scripts/bench/qr-node.js)"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    if (
        cd scripts/bench
        if [ ! -f node_modules/qrcode/package.json ]; then
            if [ -f package-lock.json ]; then
                npm ci --no-audit --no-fund --loglevel=error >&2
            else
                npm install --no-audit --no-fund --loglevel=error >&2
            fi
        fi
        node qr-node.js --iterations "$NODE_ITERATIONS" --warmup 200 >"$OUT/node-qr.json"
    ); then
        cat "$OUT/node-qr.json" >&2
    else
        note "node QR benchmark failed; the QR ratio is left out"
        rm -f "$OUT/node-qr.json"
    fi
else
    note "node/npm not installed: skipping the node QR baseline (apt-get install -y nodejs npm)"
fi

# ---------------------------------------------------------------------------------------
# Database, admin, employees
# ---------------------------------------------------------------------------------------
export DATABASE_URL="$DB_URL_BASE/$DB"
log "fresh database $DB"
mariadb -e "DROP DATABASE IF EXISTS \`$DB\`; CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
    die "cannot create the database $DB (as the local MariaDB root)"

# The server and the CLI run from an empty directory so a developer's .env cannot leak in.
export STAFFGATE_ENV=development
export STAFFGATE_BIND="127.0.0.1:$PORT"
export STAFFGATE_PUBLIC_URL="$BASE_URL"
export STAFFGATE_BCRYPT_COST=10
export STAFFGATE_IP_FAILURE_LIMIT=100000000
export RUST_LOG=${RUST_LOG:-info,actix_server=warn}
unset STAFFGATE_HASHING_THREADS STAFFGATE_WORKERS

(cd "$WORK" && "$BIN" migrate) >&2 || die "staffgate migrate failed"

ADMIN_PASSWORD="Bench-$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | head -c 20)-9a"
printf '%s' "$ADMIN_PASSWORD" | (cd "$WORK" && "$BIN" create-admin "$ADMIN_ID" --name 'ベンチ 管理者' --password-stdin) >&2 ||
    die "staffgate create-admin failed"

TOTAL_EMPLOYEES=$((EMPLOYEES > VERIFY_COUNT ? EMPLOYEES : VERIFY_COUNT))
log "importing $TOTAL_EMPLOYEES employees (E000000 ...)"
python3 - "$WORK/employees.csv" "$TOTAL_EMPLOYEES" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
family = ["佐藤 サトウ", "鈴木 スズキ", "髙橋 タカハシ", "田中 タナカ", "伊藤 イトウ", "渡辺 ワタナベ"]
given = ["花子 ハナコ", "太郎 タロウ", "美咲 ミサキ", "健太 ケンタ", "陽菜 ヒナ"]
depts = ["看護部", "外科", "内科", "薬剤部", "放射線科", "事務部"]
with open(path, "w", encoding="utf-8") as f:
    f.write("employee_id,name,name_kana,department,email,permission_level\n")
    for i in range(n):
        fk, fr = family[i % len(family)].split()
        gk, gr = given[(i // len(family)) % len(given)].split()
        email = "" if i % 5 == 0 else f"e{i:06}@example-hospital.jp"
        f.write(f"E{i:06},{fk} {gk},{fr} {gr},{depts[i % len(depts)]},{email},1.0\n")
PY
(cd "$WORK" && "$BIN" import-employees "$WORK/employees.csv") >&2 || die "staffgate import-employees failed"

# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------
log "starting the server on $BASE_URL"
(cd "$WORK" && exec "$BIN" serve) >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
echo "$SERVER_PID" >"$PIDFILE"
for i in $(seq 1 300); do
    if curl -fsS -o /dev/null --max-time 1 "$BASE_URL/healthz" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || {
        tail -n 30 "$OUT/server.log" >&2
        die "the server exited during start-up"
    }
    [ "$i" -lt 300 ] || die "the server did not answer /healthz within 30 s"
    sleep 0.1
done
note "server up (pid $SERVER_PID)"

sleep 2
read_status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }
IDLE_RSS_KB=$(read_status VmRSS)
IDLE_THREADS=$(read_status Threads)
note "idle RSS ${IDLE_RSS_KB} kB, $IDLE_THREADS threads"

# ---------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------
export LOADGEN_BASE_URL=$BASE_URL
export LOADGEN_ADMIN_ID=$ADMIN_ID
export LOADGEN_ADMIN_PASSWORD=$ADMIN_PASSWORD
: >"$OUT/loadgen.jsonl"
run_loadgen() {
    note "loadgen $*"
    if ! "$LOADGEN" "$@" | tee -a "$OUT/loadgen.jsonl"; then
        note "loadgen $1 exited non-zero (see above)"
        return 1
    fi
}

log "loadgen setup: $EMPLOYEES employees get a password through token -> setup session -> change-password"
run_loadgen setup --employees "$EMPLOYEES" --concurrency 4 || die "setup failed; nothing to measure"

# Anything else busy on the machine (another build, say) skews the figures: record it.
busy_snapshot() {
    local rustc_count
    rustc_count=$(pgrep -c -x rustc 2>/dev/null) || true
    printf '{"phase": "%s", "loadavg": "%s", "rustcProcesses": %s}\n' "$1" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "${rustc_count:-0}" >>"$OUT/noise.jsonl"
}
: >"$OUT/noise.jsonl"
busy_snapshot before_logins

log "loadgen logins: concurrency $LOGIN_CONCURRENCY for ${LOGIN_DURATION}s, /healthz every 10 ms"
run_loadgen logins --concurrency "$LOGIN_CONCURRENCY" --duration "$LOGIN_DURATION" \
    --employees "$EMPLOYEES" --warmup 2 --idle-probe 3 || true

# The same clients all on one account (a retrying partner app, a shared ward terminal):
# correct passwords must neither lock the account nor meet the rate limit.
busy_snapshot before_logins_one_account
log "loadgen logins: concurrency $LOGIN_CONCURRENCY for ${LOGIN_DURATION}s, all on one account"
run_loadgen logins --concurrency "$LOGIN_CONCURRENCY" --duration "$LOGIN_DURATION" \
    --employees 1 --warmup 2 --idle-probe 1 --phase logins_one_account || true

busy_snapshot before_verify
log "loadgen verify: $VERIFY_COUNT tokens, concurrency $VERIFY_CONCURRENCY"
run_loadgen verify --count "$VERIFY_COUNT" --concurrency "$VERIFY_CONCURRENCY" || true

busy_snapshot after_verify
PEAK_RSS_KB=$(read_status VmHWM)
AFTER_RSS_KB=$(read_status VmRSS)
curl -fsS --max-time 5 "$BASE_URL/metrics" >"$OUT/metrics-after.txt" 2>/dev/null || true
stop_server

PANICS=$(grep -c 'panicked' "$OUT/server.log" || true)
ERROR_LINES=$(grep -c ' ERROR ' "$OUT/server.log" || true)
cat >"$OUT/rss.json" <<JSON
{"idleRssKb": ${IDLE_RSS_KB:-0}, "idleThreads": ${IDLE_THREADS:-0}, "peakRssKb": ${PEAK_RSS_KB:-0}, "afterLoadRssKb": ${AFTER_RSS_KB:-0}}
JSON
cat >"$OUT/server-checks.json" <<JSON
{"panics": ${PANICS:-0}, "errorLogLines": ${ERROR_LINES:-0}}
JSON

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
log "writing $OUT/results.json and $OUT/README-performance.md"
BENCH_PARAMS="employees=$EMPLOYEES verify_count=$VERIFY_COUNT login_concurrency=$LOGIN_CONCURRENCY login_duration=$LOGIN_DURATION verify_concurrency=$VERIFY_CONCURRENCY" \
    python3 "$ROOT/scripts/bench/report.py" "$OUT"
cat "$OUT/README-performance.md"
