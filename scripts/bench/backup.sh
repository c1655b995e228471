#!/usr/bin/env bash
# backup.sh — `staffgate backup` and `staffgate restore` of a database with 1,000,000
# login_history rows, as ratios to a plain `mariadb-dump --single-transaction db > file` and a
# plain `mariadb db < file` of the same data, measured in the same run.
#
#   scripts/bench/backup.sh
#
# 1. builds the release server (CARGO_TARGET_DIR, by default /work/target-bench);
# 2. creates a fresh database (dropped first), migrates it, makes one admin and seeds with SQL
#    BENCH_BACKUP_ROWS login_history rows;
# 3. makes a backup key pair with `staffgate backup --keygen`;
# 4. BENCH_BACKUP_RUNS times, alternating which goes first: the plain dump and `staffgate
#    backup`; the plain import, `staffgate restore` and the plain import with --binary-mode (the
#    client mode restore uses), each into a freshly created database;
# 5. checks every restore's row counts (restore itself compares them with the manifest; the
#    script counts login_history again) and writes docs/bench/backup-report.md with the median
#    time of each command and the ratios.
#
# The plain tools and staffgate connect the same way (TCP, the user of BENCH_DB_URL_BASE). Both
# databases are dropped on every exit path (BENCH_BACKUP_KEEP_DB=1 keeps the source). Shared
# steps live in scripts/bench/lib.sh.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR          cargo's target directory [/work/target-bench]
#   BENCH_BACKUP_DB           source database, dropped and recreated [staffgate_bench_backup]
#   BENCH_DB_URL_BASE         MySQL URL without the database [mysql://root@127.0.0.1:3306]
#   BENCH_BACKUP_ROWS         login_history rows [1000000]
#   BENCH_BACKUP_RUNS         runs of each command; the median counts [4]
#   BENCH_BACKUP_REPORT       where the report goes [docs/bench/backup-report.md]
#   BENCH_BACKUP_KEEP_DB=1    leave the source database in place afterwards
#   BENCH_SKIP_BUILD=1        reuse the binary already built
set -euo pipefail

BENCH_NAME="backup bench"
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

readonly DB=${BENCH_BACKUP_DB:-staffgate_bench_backup}
readonly RESTORE_DB=${DB}_restore
readonly ROWS=${BENCH_BACKUP_ROWS:-1000000}
readonly RUNS=${BENCH_BACKUP_RUNS:-4}
readonly REPORT=${BENCH_BACKUP_REPORT:-$DOCS/backup-report.md}
readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly BIN=$TARGET_DIR/release/staffgate
# prepare_server wants a port; nothing listens on it here.
readonly PORT=18092
readonly BASE_URL="http://127.0.0.1:$PORT"

require_positive ROWS RUNS
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "BENCH_BACKUP_DB must be letters, digits and _ only"
[ "$ROWS" -le 10000000 ] || die "BENCH_BACKUP_ROWS is at most 10,000,000"
require_tools "to dump, import and compute the ratios" python3 mariadb mariadb-dump
require_cargo

SERVER_PID=""
WORK=$(mktemp -d)
cleanup_on_exit "$DB" "${BENCH_BACKUP_KEEP_DB:-0}"
backup_cleanup() {
    local rc=$?
    mariadb -e "DROP DATABASE IF EXISTS \`$RESTORE_DB\`" 2>/dev/null || true
    (exit "$rc")
    bench_cleanup
}
trap backup_cleanup EXIT
require_mariadb
machine_facts
# shellcheck disable=SC2119  # no examples to build
build_release

# The plain tools get the connection of DATABASE_URL the way staffgate does: an option file.
client_options() {
    python3 - "$DB_URL_BASE" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
print("[client]")
print(f'user="{urllib.parse.unquote(u.username or "")}"')
if u.password:
    print(f'password="{urllib.parse.unquote(u.password)}"')
print(f'host="{u.hostname or "127.0.0.1"}"')
print(f'port={u.port or 3306}')
PY
}
(umask 077 && client_options >"$WORK/client.cnf")
plain_dump() { mariadb-dump --defaults-extra-file="$WORK/client.cnf" --single-transaction "$DB" >"$WORK/plain.sql"; }
plain_import() { mariadb --defaults-extra-file="$WORK/client.cnf" "$RESTORE_DB" <"$WORK/plain.sql"; }
# What staffgate restore runs the client with: data is never read as a client command.
plain_import_binary() { mariadb --defaults-extra-file="$WORK/client.cnf" --binary-mode "$RESTORE_DB" <"$WORK/plain.sql"; }
q1() { mariadb -N -B -D "$1" -e "$2"; }

# Seconds (three decimals) that the command "$@" took.
timed() {
    local start
    start=$(date +%s.%N)
    "$@" >>"$WORK/commands.log" 2>&1 || {
        tail -n 20 "$WORK/commands.log" >&2
        die "$* failed"
    }
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$start" "$(date +%s.%N)"
}

# ---------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------
prepare_server "$DB"
export RUST_LOG=${RUST_LOG:-warn}
staffgate migrate >&2 || die "staffgate migrate failed"
printf '%s' "$(bench_password)" | staffgate create-admin B0001 --name 'ベンチ 職員' --password-stdin >&2 ||
    die "staffgate create-admin failed"

log "seeding $ROWS login_history rows"
SEED_START=$(date +%s.%N)
mariadb --default-character-set=utf8mb4 -D "$DB" <<SQL
INSERT INTO login_history (event, employee_ref, employee_code, actor_ref, client_ip,
                           user_agent, detail, created_at)
SELECT ELT(1 + seq % 4, 'password_login_ok', 'refresh', 'password_login_ok', 'password_login_failed'),
       1, 'B0001', NULL,
       CONCAT('10.', seq % 4, '.', (seq DIV 7) % 256, '.', 1 + seq % 254),
       'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
       '{"channel":"api"}',
       UTC_TIMESTAMP(6) - INTERVAL ((seq * 79) % 94176000) SECOND
FROM seq_1_to_$ROWS;
SQL
SEED_SECONDS=$(seconds_since "$SEED_START")
N_HISTORY=$(q1 "$DB" "SELECT COUNT(*) FROM login_history")
note "seeded in ${SEED_SECONDS} s: $N_HISTORY login_history rows"

staffgate backup --keygen "$WORK/backup.key" >"$WORK/keygen.txt" || die "staffgate backup --keygen failed"
STAFFGATE_BACKUP_RECIPIENT=$(sed -n 's/^STAFFGATE_BACKUP_RECIPIENT=//p' "$WORK/keygen.txt")
export STAFFGATE_BACKUP_RECIPIENT
[[ "$STAFFGATE_BACKUP_RECIPIENT" == age1* ]] || die "no public key from --keygen"

# ---------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------
staffgate_backup() { staffgate backup -o "$WORK/backups/run$RUN"; }
staffgate_restore() {
    DATABASE_URL="$DB_URL_BASE/$RESTORE_DB" staffgate restore "$WORK/backups/run$RUN" --identity "$WORK/backup.key"
}
fresh_restore_db() { fresh_database "$RESTORE_DB" 2>/dev/null; }
check_restored() {
    local n
    n=$(q1 "$RESTORE_DB" "SELECT COUNT(*) FROM login_history")
    [ "$n" -eq "$N_HISTORY" ] || die "$1: $n login_history rows restored, $N_HISTORY expected"
}

LOAD_BEFORE=$(machine_busy)
declare -A took
: >"$WORK/times.tsv"
for RUN in $(seq 1 "$RUNS"); do
    log "run $RUN of $RUNS"
    if [ $((RUN % 2)) -eq 1 ]; then
        t_plain_dump=$(timed plain_dump)
        t_backup=$(timed staffgate_backup)
    else
        t_backup=$(timed staffgate_backup)
        t_plain_dump=$(timed plain_dump)
    fi
    imports=(plain_import staffgate_restore plain_import_binary)
    [ $((RUN % 2)) -eq 1 ] || imports=(staffgate_restore plain_import_binary plain_import)
    for what in "${imports[@]}"; do
        fresh_restore_db
        took[$what]=$(timed "$what")
        check_restored "$what"
    done
    note "dump $t_plain_dump s, backup $t_backup s, import ${took[plain_import]} s, restore ${took[staffgate_restore]} s, import --binary-mode ${took[plain_import_binary]} s"
    printf '%s\t%s\t%s\t%s\t%s\n' "$t_plain_dump" "$t_backup" "${took[plain_import]}" \
        "${took[staffgate_restore]}" "${took[plain_import_binary]}" >>"$WORK/times.tsv"
done
LOAD_AFTER=$(machine_busy)

PLAIN_BYTES=$(stat -c %s "$WORK/plain.sql")
BACKUP_BYTES=$(stat -c %s "$WORK"/backups/run1/*.sql.zst.age)
MANIFEST_ROWS=$(python3 -c "import json,glob,sys; m=json.load(open(glob.glob(sys.argv[1])[0])); print(m['tables']['login_history'])" "$WORK/backups/run1/*.json")
[ "$MANIFEST_ROWS" -eq "$N_HISTORY" ] || die "the manifest counts $MANIFEST_ROWS login_history rows, $N_HISTORY expected"

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
export WORK REPORT CORES CPU_MODEL MARIADB_VERSION BUFFER_POOL FLUSH_AT_COMMIT DATE_UTC GIT_REV \
    GIT_DIRTY ROWS RUNS SEED_SECONDS PLAIN_BYTES BACKUP_BYTES LOAD_BEFORE LOAD_AFTER N_HISTORY
python3 - <<'PY'
import os
env = os.environ
runs = [list(map(float, l.split("\t"))) for l in open(f"{env['WORK']}/times.tsv") if l.strip()]
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
dump, backup, imp, restore, imp_binary = (median([r[i] for r in runs]) for i in range(5))
all_runs = lambda i: " / ".join(f"{r[i]:.1f}" for r in runs)
mib = lambda b: int(b) / 1048576
rows = int(env["N_HISTORY"])
lines = [
    "# Backup and restore benchmark report",
    "",
    f"Run on {env['DATE_UTC']}, commit {env['GIT_REV']}{env['GIT_DIRTY']}: {env['CORES']} cores "
    f"({env['CPU_MODEL']}), MariaDB {env['MARIADB_VERSION']} (buffer pool {env['BUFFER_POOL']}, "
    f"innodb_flush_log_at_trx_commit={env['FLUSH_AT_COMMIT']}) on the same machine, release build. "
    f"Load average and running rustc processes before / after: {env['LOAD_BEFORE']} / "
    f"{env['LOAD_AFTER']} (the machine is shared).",
    "",
    f"Data: {rows:,} login_history rows (seeded with SQL in {env['SEED_SECONDS']} s) plus a "
    f"migrated schema with one admin. Each command ran {env['RUNS']} times (alternating which "
    f"went first); the median counts. Every import and restore went into a "
    f"freshly created database and was counted afterwards.",
    "",
    "| measurement | staffgate | plain baseline (same run) | ratio |",
    "|---|---|---|---|",
    f"| backup: dump, zstd, age, manifest | `staffgate backup` {backup:.1f} s | `mariadb-dump --single-transaction db > file` {dump:.1f} s | {backup / dump:.2f}x |",
    f"| restore: checksum, decrypt, decompress, import, row counts | `staffgate restore` {restore:.1f} s | `mariadb db < file` {imp:.1f} s | {restore / imp:.2f}x |",
    f"| (for comparison) restore against `mariadb --binary-mode db < file`, the client mode staffgate uses | | {imp_binary:.1f} s | {restore / imp_binary:.2f}x |",
    f"| size on disk | {mib(env['BACKUP_BYTES']):.1f} MiB, encrypted | {mib(env['PLAIN_BYTES']):.1f} MiB of plain SQL | {int(env['BACKUP_BYTES']) / int(env['PLAIN_BYTES']):.2f}x |",
    "",
    "| command | every run (s) |",
    "|---|---|",
    f"| plain dump | {all_runs(0)} |",
    f"| staffgate backup | {all_runs(1)} |",
    f"| plain import | {all_runs(2)} |",
    f"| staffgate restore | {all_runs(3)} |",
    f"| plain import, --binary-mode | {all_runs(4)} |",
    "",
    f"Restore time is the recovery time objective for a database of this size: {restore:.0f} s "
    f"for {rows:,} history rows on this machine, almost all of it MariaDB executing the "
    f"INSERT statements.",
    "",
    "Reproduce: `scripts/bench/backup.sh` (a few minutes after the release build).",
]
open(env["REPORT"], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
note "report written to $REPORT"
