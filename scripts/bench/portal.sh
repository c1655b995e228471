#!/usr/bin/env bash
# portal.sh — latency of the HR portal's list pages at hospital-group scale, with the query
# plans behind them.
#
#   scripts/bench/portal.sh
#
# 1. builds the release server and examples/portal_bench.rs (in CARGO_TARGET_DIR, by default
#    /work/target-bench so a developer's target/ is left alone);
# 2. creates a fresh database (dropped first), migrates it and seeds it with SQL only
#    (MariaDB's sequence engine, no per-row client inserts): 10,000 employees, 1,000,000
#    login_history rows over the last three years, 3,000 one-time tokens, 3,000 admin_audit
#    rows, 500 portal sessions of other admins (scripts/bench/portal-seed.sql); creates the
#    admin HR0001; ANALYZE TABLE;
# 3. starts the release server (STAFFGATE_WORKERS=2) on 127.0.0.1, waits for /readyz, runs
#    portal_bench (one client, one keep-alive connection, every page round-robin, /readyz as
#    the same-run baseline) and stops the server;
# 4. runs `portal_bench --plans`, which fetches the same pages from an in-process server and
#    records the SQL its connections send (bind values written in), then EXPLAIN and ANALYZE
#    FORMAT=JSON of each of those statements; scripts/bench/portal_report.py writes everything
#    to docs/bench/portal-report.md;
# 5. drops the database (BENCH_PORTAL_KEEP_DB=1 keeps it for poking at).
#
# The server is stopped on every exit path. All traffic goes to 127.0.0.1 only. Shared steps
# live in scripts/bench/lib.sh.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR         cargo's target directory [/work/target-bench]
#   BENCH_PORTAL_DB          database name, dropped and recreated [staffgate_bench_portal]
#   BENCH_DB_URL_BASE        MySQL URL without the database [mysql://root@127.0.0.1:3306]
#   BENCH_PORTAL_PORT        server port on 127.0.0.1 [18090]
#   BENCH_PORTAL_REQUESTS    measured requests per page [200]
#   BENCH_PORTAL_WARMUP      warm-up requests per page [20]
#   BENCH_PORTAL_REPORT      where the report goes [docs/bench/portal-report.md]
#   BENCH_PORTAL_KEEP_DB=1   leave the database in place afterwards
#   BENCH_SKIP_BUILD=1       reuse the binaries already built
set -euo pipefail

BENCH_NAME="portal bench"
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

readonly DB=${BENCH_PORTAL_DB:-staffgate_bench_portal}
readonly PORT=${BENCH_PORTAL_PORT:-18090}
readonly REQUESTS=${BENCH_PORTAL_REQUESTS:-200}
readonly WARMUP=${BENCH_PORTAL_WARMUP:-20}
readonly REPORT=${BENCH_PORTAL_REPORT:-$DOCS/portal-report.md}
readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly BIN=$TARGET_DIR/release/staffgate
readonly BENCH=$TARGET_DIR/release/examples/portal_bench
readonly BASE_URL="http://127.0.0.1:$PORT"
readonly ADMIN_ID=HR0001
readonly EMPLOYEES=10000
readonly HISTORY_ROWS=1000000
# What the pages are asked for (employee S004321 exists: IDs are S000001 ... S010000).
readonly DETAIL_EMPLOYEE=S004321
readonly NAME_QUERY=佐藤
readonly KANA_QUERY=ヤマ
readonly ID_PREFIX=S0042
readonly DEEP_PAGE=150
readonly EVENT=password_login_failed
# A romaji name: looks like an ID, matches no ID and no (kanji / katakana) name.
readonly MISS_QUERY=tanaka

require_positive PORT REQUESTS WARMUP
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "BENCH_PORTAL_DB must be letters, digits and _ only"
require_tools "to run the benchmark and summarise the query plans" python3 curl mariadb
require_cargo

sql() { mariadb --default-character-set=utf8mb4 -D "$DB" "$@"; }

SERVER_PID=""
WORK=$(mktemp -d)
cleanup_on_exit "$DB" "${BENCH_PORTAL_KEEP_DB:-0}"

require_free_port BENCH_PORTAL_PORT
require_mariadb
machine_facts

# ---------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------
build_release portal_bench

# ---------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------
prepare_server "$DB"
export STAFFGATE_WORKERS=2
export RUST_LOG=${RUST_LOG:-warn}

staffgate migrate >&2 || die "staffgate migrate failed"

log "seeding $EMPLOYEES employees, $HISTORY_ROWS login_history rows, tokens, audit rows"
SEED_START=$(date +%s.%N)
sql <"$ROOT/scripts/bench/portal-seed.sql"
SEED_SECONDS=$(seconds_since "$SEED_START")
note "seeded in ${SEED_SECONDS} s"
# The seed is SQL only: migrate again to fill the employees' search keys, as a real
# database has them.
staffgate migrate >&2 || die "staffgate migrate (search keys) failed"

ADMIN_PASSWORD=$(bench_password)
printf '%s' "$ADMIN_PASSWORD" | staffgate create-admin "$ADMIN_ID" --name '人事 太郎' --password-stdin >&2 ||
    die "staffgate create-admin failed"

log "ANALYZE TABLE"
sql -e "ANALYZE TABLE employees, login_history, onetime_tokens, admin_audit, portal_sessions" >/dev/null

COUNTS=$(sql -N -B -e "SELECT CONCAT_WS(' ',
    (SELECT COUNT(*) FROM employees),
    (SELECT COUNT(*) FROM login_history),
    (SELECT COUNT(*) FROM onetime_tokens),
    (SELECT COUNT(*) FROM admin_audit),
    (SELECT ROUND((data_length + index_length) / 1048576) FROM information_schema.tables
      WHERE table_schema = DATABASE() AND table_name = 'login_history'))")
read -r N_EMPLOYEES N_HISTORY N_TOKENS N_AUDIT HISTORY_MIB <<<"$COUNTS"
note "employees $N_EMPLOYEES, login_history $N_HISTORY ($HISTORY_MIB MiB), tokens $N_TOKENS, audit $N_AUDIT"

# The last page of the unfiltered employee list (50 a page).
LAST_PAGE=$(((N_EMPLOYEES + 49) / 50))

# The last full calendar month in JST, as the pages get it.
MONTH_FIRST_THIS=$(TZ=Asia/Tokyo date +%Y-%m-01)
MONTH_FROM=$(date -d "$MONTH_FIRST_THIS -1 month" +%Y-%m-%d)
MONTH_TO=$(date -d "$MONTH_FIRST_THIS -1 day" +%Y-%m-%d)
# What portal_bench asks the pages for, in both of its runs.
PAGE_ARGS=(--employee "$DETAIL_EMPLOYEE" --name-query "$NAME_QUERY" --kana-query "$KANA_QUERY"
    --id-prefix "$ID_PREFIX" --miss-query "$MISS_QUERY" --deep-page "$DEEP_PAGE"
    --last-page "$LAST_PAGE" --event "$EVENT" --month-from "$MONTH_FROM" --month-to "$MONTH_TO")

# ---------------------------------------------------------------------------------------
# Server and measurement
# ---------------------------------------------------------------------------------------
start_server "$WORK/server.log" /readyz

# Anything else busy on the machine (another build, say) skews the figures: record it.
IFS=';' read -r LOAD_BEFORE RUSTC_BUSY <<<"$(machine_busy)"
log "portal_bench: $WARMUP warm-up + $REQUESTS measured requests per page"
BENCH_BASE_URL=$BASE_URL BENCH_ADMIN_ID=$ADMIN_ID BENCH_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    "$BENCH" --requests "$REQUESTS" --warmup "$WARMUP" "${PAGE_ARGS[@]}" \
    --json "$WORK/timings.json" >"$WORK/timings.md" || {
    tail -n 30 "$WORK/server.log" >&2
    die "portal_bench failed"
}
IFS=';' read -r LOAD_AFTER RUSTC_BUSY_AFTER <<<"$(machine_busy)"
cat "$WORK/timings.md" >&2
stop_server
SERVER_ERRORS=$(grep -c -E ' (ERROR|WARN) ' "$WORK/server.log" || true)
PANICS=$(grep -c 'panicked' "$WORK/server.log" || true)

# ---------------------------------------------------------------------------------------
# Query plans of the SQL each page really runs, recorded by portal_bench --plans
# ---------------------------------------------------------------------------------------
log "recording each page's SQL (in-process server), then EXPLAIN / ANALYZE of every statement"
# From the empty $WORK, like the CLI: the in-process server reads its settings as `serve` does.
(cd "$WORK" && BENCH_ADMIN_ID=$ADMIN_ID BENCH_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    "$BENCH" --plans "$WORK/queries.tsv" "${PAGE_ARGS[@]}") || die "recording the pages' SQL failed"

# For each query: EXPLAIN (tabular) and ANALYZE FORMAT=JSON (rows really read, time). The
# writes are analysed inside a transaction that is rolled back.
: >"$WORK/plans.jsonl"
while IFS=$'\t' read -r page what query; do
    explain=$(sql -t -e "EXPLAIN $query" 2>&1) || die "EXPLAIN failed for: $query"$'\n'"$explain"
    if [[ "$query" =~ ^(UPDATE|INSERT|DELETE) ]]; then
        analyze=$(sql -N -B -r -e "START TRANSACTION; ANALYZE FORMAT=JSON $query; ROLLBACK" 2>&1) ||
            die "ANALYZE failed for: $query"
    else
        # Twice: the second run is the warm one the pages see.
        sql -N -B -r -e "ANALYZE FORMAT=JSON $query" >/dev/null 2>&1 || true
        analyze=$(sql -N -B -r -e "ANALYZE FORMAT=JSON $query" 2>&1) ||
            die "ANALYZE failed for: $query"$'\n'"$analyze"
    fi
    python3 - "$page" "$what" "$query" "$explain" "$analyze" >>"$WORK/plans.jsonl" <<'PY'
import json, sys
page, what, query, explain, analyze = sys.argv[1:]
print(json.dumps({"page": page, "what": what, "query": query, "explain": explain,
                  "analyze": json.loads(analyze)}, ensure_ascii=False))
PY
done <"$WORK/queries.tsv"

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
log "writing $REPORT"
export CORES CPU_MODEL MEM_TOTAL MARIADB_VERSION BUFFER_POOL FLUSH_AT_COMMIT RUSTC_VERSION DATE_UTC \
    GIT_REV GIT_DIRTY N_EMPLOYEES N_HISTORY N_TOKENS N_AUDIT HISTORY_MIB SEED_SECONDS LOAD_BEFORE \
    LOAD_AFTER RUSTC_BUSY RUSTC_BUSY_AFTER SERVER_ERRORS PANICS MONTH_FROM MONTH_TO REQUESTS WARMUP
python3 "$ROOT/scripts/bench/portal_report.py" "$WORK/timings.md" "$WORK/timings.json" "$WORK/plans.jsonl" "$REPORT"
note "report: $REPORT"
cat "$WORK/timings.md"
