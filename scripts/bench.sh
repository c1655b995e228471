#!/usr/bin/env bash
# bench.sh — end-to-end performance run of staffgate on this machine.
#
#   scripts/bench.sh
#
# 1. builds the release server and the load generator (examples/loadgen.rs);
# 2. runs the criterion micro-benchmarks (benches/hot_paths.rs: QR data URL, bcrypt cost-10
#    verify, 10,000-row CSV parse, one TOTP check) and node's `qrcode` toDataURL on the same URL as baseline
#    (scripts/bench/qr-node.js; skipped with a note when node/npm are missing);
# 3. creates a fresh database (dropped first), migrates, creates an admin, imports employees
#    from a generated CSV, starts the release server in the background on a local port;
# 4. measures the idle RSS, then runs loadgen: enrol-admin (the admin enrols an authenticator
#    app, since admin endpoints want a second factor under the default STAFFGATE_ADMIN_2FA=
#    required; its secret stays in this shell's environment, never in a file or the log), setup
#    (employees get passwords through the QR-token flow), logins spread over the employees
#    (+ /healthz probe), logins with all clients on one account, logins_2fa (the same employees
#    enrol an authenticator app, then sign in with password + code at the same concurrency and
#    duration), verify (one-time token redemption);
# 5. stops the server and writes bench-results/results.json and
#    bench-results/README-performance.md (every figure next to its same-run baseline).
#
# Idempotent: the database and bench-results/ are recreated on every run (the database is kept
# afterwards for poking at); the server is stopped on exit, whatever happens. All traffic goes
# to 127.0.0.1 only. Shared steps live in scripts/bench/lib.sh.
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

BENCH_NAME=bench
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"
cd "$ROOT"

readonly DB=${BENCH_DB:-staffgate_bench}
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

require_positive EMPLOYEES VERIFY_COUNT LOGIN_CONCURRENCY LOGIN_DURATION VERIFY_CONCURRENCY NODE_ITERATIONS PORT
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "BENCH_DB must be letters, digits and _ only"
require_tools "to assemble the results and reach the server" python3 curl
require_cargo

SERVER_PID=""
WORK=$(mktemp -d)
cleanup_on_exit "$DB" 1
require_free_port BENCH_PORT

rm -rf "$OUT/loadgen.jsonl" "$OUT/noise.jsonl" "$OUT/node-qr.json" "$OUT/server.log" "$OUT/results.json" \
    "$OUT/README-performance.md" "$OUT/machine.json" "$OUT/rss.json" "$OUT/server-checks.json"
mkdir -p "$OUT"
if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
    rm -rf "$OUT/criterion"
fi

require_mariadb
machine_facts
python3 - "$OUT/machine.json" <<'PY'
import json, os, sys
keys = ["CORES", "CPU_MODEL", "MARIADB_VERSION", "RUSTC_VERSION", "NODE_VERSION", "MEM_TOTAL",
        "KERNEL", "DATE_UTC", "GIT_REV"]
facts = {k.lower(): os.environ[k] for k in keys}
facts["git_dirty"] = "true" if os.environ.get("GIT_DIRTY") else "false"
json.dump(facts, open(sys.argv[1], "w"), indent=2)
PY

# ---------------------------------------------------------------------------------------
# Build, micro-benchmarks
# ---------------------------------------------------------------------------------------
build_release loadgen

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
prepare_server "$DB"
export STAFFGATE_IP_FAILURE_LIMIT=100000000
export RUST_LOG=${RUST_LOG:-info,actix_server=warn}
unset STAFFGATE_WORKERS
# The production default: admin endpoints refuse a token without a second factor.
unset STAFFGATE_ADMIN_2FA

staffgate migrate >&2 || die "staffgate migrate failed"

ADMIN_PASSWORD=$(bench_password)
printf '%s' "$ADMIN_PASSWORD" | staffgate create-admin "$ADMIN_ID" --name 'ベンチ 管理者' --password-stdin >&2 ||
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
staffgate import-employees "$WORK/employees.csv" >&2 || die "staffgate import-employees failed"

# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------
start_server "$OUT/server.log" /healthz

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

# The admin endpoints want a second factor: enrol the admin's authenticator app over the API.
# The secret goes only into this process's environment for the loadgen runs below.
log "loadgen enrol-admin: $ADMIN_ID enrols an authenticator app"
LOADGEN_ADMIN_TOTP_SECRET=$("$LOADGEN" enrol-admin) || die "enrol-admin failed"
[ -n "$LOADGEN_ADMIN_TOTP_SECRET" ] || die "enrol-admin printed no secret"
export LOADGEN_ADMIN_TOTP_SECRET

log "loadgen setup: $EMPLOYEES employees get a password through token -> setup session -> change-password"
run_loadgen setup --employees "$EMPLOYEES" --concurrency 4 || die "setup failed; nothing to measure"

# Anything else busy on the machine (another build, say) skews the figures: record it.
busy_snapshot() {
    local busy
    busy=$(machine_busy)
    printf '{"phase": "%s", "loadavg": "%s", "rustcProcesses": %s}\n' "$1" "${busy%;*}" "${busy#*;}" >>"$OUT/noise.jsonl"
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

# The same employees and clients with the second factor on: each enrols an authenticator app
# first (not measured); each sign-in is then the password (401 mfa_required) + POST /auth/mfa
# with the current step's code, or a recovery code when that step was already used.
busy_snapshot before_logins_2fa
log "loadgen logins --mfa: concurrency $LOGIN_CONCURRENCY for ${LOGIN_DURATION}s, password + authenticator code"
run_loadgen logins --mfa --concurrency "$LOGIN_CONCURRENCY" --duration "$LOGIN_DURATION" \
    --employees "$EMPLOYEES" --warmup 2 --idle-probe 1 || true

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
