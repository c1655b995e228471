#!/usr/bin/env bash
# archive.sh — archiving 1,000,000 login_history rows: rows per second, and sign-in p99
# during the run as a ratio to sign-in p99 without it, measured in the same run.
#
#   scripts/bench/archive.sh
#
# 1. builds the release server and examples/archive_bench.rs (CARGO_TARGET_DIR, by default
#    /work/target-bench);
# 2. creates a fresh database (dropped first), migrates it, makes 50 staff who can sign in
#    (B0001 through create-admin, B0002-B0050 share its password hash) and seeds with SQL
#    1,000,000 login_history rows older than the retention period (3-4 years old) plus
#    200,000 younger ones, interleaved by id;
# 3. starts the release server (STAFFGATE_WORKERS=2, bcrypt cost 10) and runs archive_bench:
#    a baseline of open-loop sign-ins at BENCH_ARCHIVE_RATE per second, then the same load
#    while `staffgate archive-history --execute` runs, then the baseline again;
# 4. checks that exactly the old rows moved (counts and an id checksum over both tables)
#    and writes docs/bench/archive-report.md.
#
# The server is stopped and the database dropped on every exit path (BENCH_ARCHIVE_KEEP_DB=1
# keeps it). All traffic goes to 127.0.0.1. Shared steps live in scripts/bench/lib.sh.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR          cargo's target directory [/work/target-bench]
#   BENCH_ARCHIVE_DB          database name, dropped and recreated [staffgate_bench_archive]
#   BENCH_DB_URL_BASE         MySQL URL without the database [mysql://root@127.0.0.1:3306]
#   BENCH_ARCHIVE_PORT        server port on 127.0.0.1 [18091]
#   BENCH_ARCHIVE_RATE        sign-ins per second in every phase [10]
#   BENCH_ARCHIVE_SECONDS     length of each baseline [20]
#   BENCH_ARCHIVE_PAUSE_RATIO the run's --pause-ratio (its default) [1]
#   BENCH_ARCHIVE_ROWS        old rows to archive [1000000]
#   BENCH_ARCHIVE_REPORT      where the report goes [docs/bench/archive-report.md]
#   BENCH_ARCHIVE_KEEP_DB=1   leave the database in place afterwards
#   BENCH_SKIP_BUILD=1        reuse the binaries already built
set -euo pipefail

BENCH_NAME="archive bench"
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

readonly DB=${BENCH_ARCHIVE_DB:-staffgate_bench_archive}
readonly PORT=${BENCH_ARCHIVE_PORT:-18091}
readonly RATE=${BENCH_ARCHIVE_RATE:-10}
readonly SECONDS_BASE=${BENCH_ARCHIVE_SECONDS:-20}
readonly PAUSE=${BENCH_ARCHIVE_PAUSE_RATIO:-1}
readonly OLD_ROWS=${BENCH_ARCHIVE_ROWS:-1000000}
readonly YOUNG_ROWS=200000
readonly REPORT=${BENCH_ARCHIVE_REPORT:-$DOCS/archive-report.md}
readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly BIN=$TARGET_DIR/release/staffgate
readonly BENCH=$TARGET_DIR/release/examples/archive_bench
readonly BASE_URL="http://127.0.0.1:$PORT"
readonly STAFF=50

require_positive PORT RATE SECONDS_BASE OLD_ROWS
[[ "$PAUSE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_ARCHIVE_PAUSE_RATIO must be a number, got '$PAUSE'"
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "BENCH_ARCHIVE_DB must be letters, digits and _ only"
[ "$OLD_ROWS" -le 10000000 ] || die "BENCH_ARCHIVE_ROWS is at most 10,000,000"
require_tools "to run the benchmark and compute the ratios" python3 curl mariadb
require_cargo

sql() { mariadb --default-character-set=utf8mb4 -D "$DB" "$@"; }
q1() { sql -N -B -e "$1"; }

SERVER_PID=""
WORK=$(mktemp -d)
cleanup_on_exit "$DB" "${BENCH_ARCHIVE_KEEP_DB:-0}"
require_free_port BENCH_ARCHIVE_PORT
require_mariadb
machine_facts

build_release archive_bench

# ---------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------
prepare_server "$DB"
export STAFFGATE_WORKERS=2
# The measured run is the CLI's; the server must not start one of its own.
export STAFFGATE_ARCHIVE_SCHEDULE=off
export RUST_LOG=${RUST_LOG:-warn}
unset STAFFGATE_HISTORY_RETENTION_DAYS
staffgate migrate >&2 || die "staffgate migrate failed"

PASSWORD=$(bench_password)
printf '%s' "$PASSWORD" | staffgate create-admin B0001 --name 'ベンチ 職員' --password-stdin >&2 ||
    die "staffgate create-admin failed"

log "seeding $STAFF staff, $OLD_ROWS old and $YOUNG_ROWS young login_history rows"
SEED_START=$(date +%s.%N)
sql <<SQL
INSERT INTO employees (employee_id, name, name_kana, department, permission_level, status,
                       password_hash, password_must_change, password_updated_at, created_at, updated_at)
SELECT CONCAT('B', LPAD(seq, 4, '0')), CONCAT('職員 ', seq), '', '看護部', 1.0, 'active',
       b.password_hash, FALSE, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
FROM seq_2_to_$STAFF JOIN employees b ON b.employee_id = 'B0001';

-- Old rows (1100 to ~1500 days ago) and young rows (within the last 1090 days) alternate in blocks of
-- 1,000 ids, so the archive cannot just take a prefix of the id range.
INSERT INTO login_history (event, employee_ref, employee_code, actor_ref, client_ip,
                           user_agent, detail, created_at)
SELECT ELT(1 + seq % 4, 'password_login_ok', 'refresh', 'password_login_ok', 'password_login_failed'),
       1 + seq % $STAFF, CONCAT('B', LPAD(1 + seq % $STAFF, 4, '0')), NULL,
       CONCAT('10.', seq % 4, '.', (seq DIV 7) % 256, '.', 1 + seq % 254),
       'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
       '{"channel":"api"}',
       IF(young,
          UTC_TIMESTAMP(6) - INTERVAL ((seq * 79) % 94176000) SECOND,
          UTC_TIMESTAMP(6) - INTERVAL 1100 DAY - INTERVAL (seq * 29) SECOND)
FROM (SELECT seq, (seq DIV 1000) % 6 = 5 AS young FROM seq_1_to_$((OLD_ROWS + YOUNG_ROWS))) s;
SQL
SEED_SECONDS=$(seconds_since "$SEED_START")
sql -e "ANALYZE TABLE login_history, login_history_archive" >/dev/null
CUTOFF="UTC_TIMESTAMP(6) - INTERVAL 1095 DAY"
N_OLD=$(q1 "SELECT COUNT(*) FROM login_history WHERE created_at < $CUTOFF")
N_ALL=$(q1 "SELECT COUNT(*) FROM login_history")
SUM_BEFORE=$(q1 "SELECT SUM(id) FROM login_history")
note "seeded in ${SEED_SECONDS} s: $N_ALL rows, $N_OLD older than 1095 days"
[ "$N_OLD" -eq "$OLD_ROWS" ] || die "expected $OLD_ROWS old rows, found $N_OLD"

# ---------------------------------------------------------------------------------------
# Server and measurement
# ---------------------------------------------------------------------------------------
start_server "$WORK/server.log" /readyz

export ARCHIVE_BENCH_PASSWORD=$PASSWORD
bench() { "$BENCH" --base-url "$BASE_URL" --rate "$RATE" --employees "$STAFF" "$@"; }
LOAD_BEFORE=$(machine_busy)
LOAD_BEFORE=${LOAD_BEFORE%;*}
log "baseline: $RATE sign-ins/s for $SECONDS_BASE s"
bench baseline --seconds "$SECONDS_BASE" >"$WORK/baseline.json" || die "baseline sign-ins failed"
cat "$WORK/baseline.json" >&2
log "the same load while staffgate archive-history --execute runs"
bench during -- sh -c "cd '$WORK' && exec '$BIN' archive-history --execute --pause-ratio $PAUSE >'$WORK/archive.log' 2>&1" \
    >"$WORK/during.json" || {
    tail -n 20 "$WORK/archive.log" >&2
    die "sign-ins or the archive run failed during the run"
}
cat "$WORK/during.json" >&2
tail -n 1 "$WORK/archive.log" >&2
log "baseline again"
bench baseline --seconds "$SECONDS_BASE" >"$WORK/after.json" || die "second baseline failed"
cat "$WORK/after.json" >&2
LOAD_AFTER=$(machine_busy)
LOAD_AFTER=${LOAD_AFTER%;*}
stop_server

# ---------------------------------------------------------------------------------------
# Checks and report
# ---------------------------------------------------------------------------------------
N_ARCHIVE=$(q1 "SELECT COUNT(*) FROM login_history_archive")
N_LEFT_OLD=$(q1 "SELECT COUNT(*) FROM login_history WHERE created_at < $CUTOFF")
N_BOTH=$(q1 "SELECT COUNT(*) FROM login_history h JOIN login_history_archive a ON a.id = h.id")
SUM_SEEDED_AFTER=$(q1 "SELECT (SELECT COALESCE(SUM(id), 0) FROM login_history WHERE id <= $N_ALL) + (SELECT SUM(id) FROM login_history_archive)")
RUN=$(q1 "SELECT CONCAT_WS(' ', status, rows_archived, batches, duration_ms) FROM history_archive_runs ORDER BY id DESC LIMIT 1")
read -r RUN_STATUS RUN_ROWS RUN_BATCHES RUN_MS <<<"$RUN"
note "archive: $N_ARCHIVE rows, old rows left $N_LEFT_OLD, in both tables $N_BOTH; run $RUN"
[ "$RUN_STATUS" = done ] || die "the run ended as $RUN_STATUS"
[ "$N_ARCHIVE" -eq "$OLD_ROWS" ] && [ "$N_LEFT_OLD" -eq 0 ] && [ "$N_BOTH" -eq 0 ] &&
    [ "$SUM_SEEDED_AFTER" = "$SUM_BEFORE" ] || die "rows lost or duplicated (id sums $SUM_BEFORE / $SUM_SEEDED_AFTER)"

export WORK REPORT CORES CPU_MODEL MARIADB_VERSION BUFFER_POOL FLUSH_AT_COMMIT DATE_UTC GIT_REV \
    RATE SECONDS_BASE OLD_ROWS YOUNG_ROWS SEED_SECONDS RUN_ROWS RUN_BATCHES RUN_MS LOAD_BEFORE LOAD_AFTER
python3 - <<'PY'
import json, os
env = os.environ
w = env["WORK"]
base, during, after = (json.load(open(f"{w}/{n}.json")) for n in ("baseline", "during", "after"))
rows, ms = int(env["RUN_ROWS"]), int(env["RUN_MS"])
rate = rows / (ms / 1000)
ratio = during["p99Ms"] / base["p99Ms"]
ratio_after = during["p99Ms"] / after["p99Ms"]
yes = lambda ok: "**yes**" if ok else "**no**"
lines = [
    "# Archive benchmark report",
    "",
    f"Run on {env['DATE_UTC']}, commit {env['GIT_REV']}: {env['CORES']} cores ({env['CPU_MODEL']}), "
    f"MariaDB {env['MARIADB_VERSION']} (buffer pool {env['BUFFER_POOL']}, "
    f"innodb_flush_log_at_trx_commit={env['FLUSH_AT_COMMIT']}) on the same machine, release build, "
    f"bcrypt cost 10, 2 HTTP workers; the load generator on the same cores. Load average before / "
    f"after: {env['LOAD_BEFORE']} / {env['LOAD_AFTER']} (the machine is shared).",
    "",
    f"Data: {int(env['OLD_ROWS']):,} login_history rows older than 1095 days and "
    f"{int(env['YOUNG_ROWS']):,} younger ones, interleaved by id (seeded in {env['SEED_SECONDS']} s). "
    f"Sign-ins: open loop, {env['RATE']} correct-password sign-ins per second over 50 staff, "
    f"latency from the moment each was due; baselines of {env['SECONDS_BASE']} s before and after.",
    "",
    "| measurement | result | baseline (same run) | ratio | target | met |",
    "|---|---|---|---|---|---|",
    f"| archive rows per second | {rate:,.0f}/s ({rows:,} rows, {env['RUN_BATCHES']} batches, {ms/1000:.1f} s) | none (absolute target) | {rate/20000:.2f} of target | >= 20,000/s | {yes(rate >= 20000)} |",
    f"| sign-in p99 during the run | {during['p99Ms']:.1f} ms | {base['p99Ms']:.1f} ms before the run | {ratio:.2f}x | <= 1.5x | {yes(ratio <= 1.5)} |",
    f"| (check) the same against the baseline after the run | | {after['p99Ms']:.1f} ms | {ratio_after:.2f}x | | |",
    "",
    "| phase | sign-ins | errors | p50 | p90 | p99 | max |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for name, r in (("before", base), ("during the archive run", during), ("after", after)):
    lines.append(f"| {name} | {r['signIns']} | {r['errors']} | {r['p50Ms']:.1f} ms | {r['p90Ms']:.1f} ms | {r['p99Ms']:.1f} ms | {r['maxMs']:.1f} ms |")
lines += [
    "",
    "Checked after the run: the archive holds exactly the old rows, none is left in login_history, "
    "no id is in both tables, and the sum of the seeded ids over both tables is unchanged.",
    "",
    "Reproduce: `scripts/bench/archive.sh` (about 3 minutes after the release build).",
]
open(env["REPORT"], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
