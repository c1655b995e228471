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
# docs/bench/sheets-report.md together with the machine it ran on. Shared steps live in
# scripts/bench/lib.sh.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR       cargo's target directory [/work/target-bench]
#   BENCH_DB_URL_BASE      MySQL URL without a database, allowed to create one
#                          [mysql://root@127.0.0.1:3306]
#   BENCH_SHEETS           sheets in the batch [500]
#   BENCH_SHEETS_REPORT    where the report goes [docs/bench/sheets-report.md]
#   BENCH_SKIP_BUILD=1     reuse the binary already built
set -euo pipefail

BENCH_NAME="sheets bench"
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

readonly TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
readonly SHEETS=${BENCH_SHEETS:-500}
readonly REPORT=${BENCH_SHEETS_REPORT:-$DOCS/sheets-report.md}
readonly BIN=$TARGET_DIR/release/staffgate
readonly BENCH=$TARGET_DIR/release/examples/sheets_bench

require_positive SHEETS
require_cargo
require_mariadb
machine_facts
build_release sheets_bench

table=$("$BENCH" --db-url-base "$DB_URL_BASE" --sheets "$SHEETS" --json "$TARGET_DIR/sheets-bench.json")
{
    printf '# Account sheet printing benchmark\n\n'
    printf 'Run %s at commit %s on Linux %s (%s cores, MariaDB %s).\n\n' \
        "$DATE_UTC" "$GIT_REV" "$KERNEL" "$CORES" "$MARIADB_VERSION"
    printf '%s\n' "$table"
    printf '\nRaw figures: %s\n' "$(tr -d '\n ' <"$TARGET_DIR/sheets-bench.json")"
} >"$REPORT"
printf '%s\n' "$table"
note "report written to $REPORT"
