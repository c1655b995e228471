#!/usr/bin/env bash
# sheets.sh — how long a 500-sheet print batch takes compared with its bcrypt floor, how big
# the PDF is, and the per-sheet cost of QR + layout + PDF.
#
#   scripts/bench/sheets.sh
#
# Builds examples/sheets_bench.rs in release mode (in CARGO_TARGET_DIR, by default
# /work/target-bench so a developer's target/ is left alone) and runs it: it creates a fresh
# database, seeds the employees, measures (see the example's header for what and how), drops
# the database, and prints a markdown table that is also written to
# scripts/bench/sheets-report.md together with the machine it ran on.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR       cargo's target directory [/work/target-bench]
#   BENCH_DB_URL_BASE      MySQL URL without a database, allowed to create one
#                          [mysql://root@127.0.0.1:3306]
#   BENCH_SHEETS           sheets in the batch [500]
#   BENCH_SHEETS_REPORT    where the report goes [scripts/bench/sheets-report.md]
#   BENCH_SKIP_BUILD=1     reuse the binary already built
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly DB_URL_BASE=${BENCH_DB_URL_BASE:-mysql://root@127.0.0.1:3306}
readonly SHEETS=${BENCH_SHEETS:-500}
readonly REPORT=${BENCH_SHEETS_REPORT:-$ROOT/scripts/bench/sheets-report.md}
readonly BENCH=$TARGET_DIR/release/examples/sheets_bench

die() {
    printf 'sheets bench: ERROR: %s\n' "$*" >&2
    exit 1
}
[[ "$SHEETS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SHEETS must be a positive integer, got '$SHEETS'"
if [ -f "${HOME:-}/.cargo/env" ]; then
    # shellcheck source=/dev/null
    . "${HOME:-}/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (run scripts/setup-host.sh)"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    printf '==> sheets bench: building (release)\n' >&2
    CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --example sheets_bench
fi
[ -x "$BENCH" ] || die "$BENCH not built"

table=$("$BENCH" --db-url-base "$DB_URL_BASE" --sheets "$SHEETS" --json "$TARGET_DIR/sheets-bench.json")
{
    printf '# Account sheet printing benchmark\n\n'
    printf 'Run %s at commit %s on %s (%s cores, %s).\n\n' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$(uname -sr)" "$(nproc)" "$(mariadb --version 2>/dev/null | sed 's/.*Distrib \([^,]*\),.*/MariaDB \1/' || echo 'database ?')"
    printf '%s\n' "$table"
    printf '\nRaw figures: %s\n' "$(tr -d '\n ' <"$TARGET_DIR/sheets-bench.json")"
} >"$REPORT"
printf '%s\n' "$table"
printf 'sheets bench: report written to %s\n' "$REPORT" >&2
