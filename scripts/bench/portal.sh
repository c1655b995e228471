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
#    rows, 500 portal sessions of other admins; creates the admin HR0001; ANALYZE TABLE;
# 3. starts the release server (STAFFGATE_WORKERS=2) on 127.0.0.1, waits for /readyz, runs
#    portal_bench (one client, one keep-alive connection, every page round-robin, /readyz as
#    the same-run baseline) and stops the server;
# 4. runs `portal_bench --plans`, which fetches the same pages from an in-process server and
#    records the SQL its connections send (bind values written in), then EXPLAIN and ANALYZE
#    FORMAT=JSON of each of those statements; writes everything to docs/bench/portal-report.md;
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
sql <<'SQL'
SET SESSION foreign_key_checks = 0, unique_checks = 0;

-- Employees S000001 ... S010000 with ids 1 ... 10000. S000001-S000005 are HR admins (9.0).
-- Names: 40 common surnames x 40 given names (kanji, katakana reading); 40 % of staff in
-- nursing; 5 % retired, 1 % suspended; 10 % without a password (QR not yet used); 8 % still
-- on an initial password; 2 % locked now, 1 % with a lock that has run out.
INSERT INTO employees (id, employee_id, name, name_kana, department, email, permission_level,
                       status, password_hash, password_must_change, password_updated_at,
                       failed_login_count, locked_until, last_login_at, created_at, updated_at)
SELECT seq,
       CONCAT('S', LPAD(seq, 6, '0')),
       CONCAT(ELT(si, '佐藤','鈴木','高橋','田中','伊藤','渡辺','山本','中村','小林','加藤',
                      '吉田','山田','佐々木','山口','松本','井上','木村','林','斎藤','清水',
                      '山崎','森','池田','橋本','阿部','石川','山下','中島','石井','小川',
                      '前田','岡田','長谷川','藤田','後藤','近藤','村上','遠藤','青木','坂本'),
              ' ',
              ELT(gi, '翔太','大輔','健太','拓也','直樹','翼','亮','誠','剛','浩二',
                      '隆','蓮','悠斗','陽介','和也','達也','智也','雄一','修','学',
                      '美咲','陽菜','さくら','愛','花子','由美','恵子','裕子','真由美','直美',
                      '明美','千尋','彩','舞','結衣','美穂','香織','麻衣','奈々','久美子')),
       CONCAT(ELT(si, 'サトウ','スズキ','タカハシ','タナカ','イトウ','ワタナベ','ヤマモト','ナカムラ','コバヤシ','カトウ',
                      'ヨシダ','ヤマダ','ササキ','ヤマグチ','マツモト','イノウエ','キムラ','ハヤシ','サイトウ','シミズ',
                      'ヤマザキ','モリ','イケダ','ハシモト','アベ','イシカワ','ヤマシタ','ナカジマ','イシイ','オガワ',
                      'マエダ','オカダ','ハセガワ','フジタ','ゴトウ','コンドウ','ムラカミ','エンドウ','アオキ','サカモト'),
              ' ',
              ELT(gi, 'ショウタ','ダイスケ','ケンタ','タクヤ','ナオキ','ツバサ','リョウ','マコト','ツヨシ','コウジ',
                      'タカシ','レン','ユウト','ヨウスケ','カズヤ','タツヤ','トモヤ','ユウイチ','オサム','マナブ',
                      'ミサキ','ヒナ','サクラ','アイ','ハナコ','ユミ','ケイコ','ユウコ','マユミ','ナオミ',
                      'アケミ','チヒロ','アヤ','マイ','ユイ','ミホ','カオリ','マイ','ナナ','クミコ')),
       CASE WHEN seq <= 5 THEN '人事部'
            WHEN rd < 40 THEN '看護部'
            ELSE ELT(1 + rd % 19, '内科','外科','小児科','整形外科','循環器内科','脳神経外科',
                     '放射線科','薬剤部','臨床検査部','リハビリテーション科','事務部','医事課',
                     '栄養科','総務課','人事部','情報システム課','麻酔科','救急科','産婦人科') END,
       IF(rp % 5 = 0, NULL, CONCAT('s', LPAD(seq, 6, '0'), '@example-hospital.jp')),
       CASE WHEN seq <= 5 THEN 9.0 WHEN rp < 3 THEN 5.0 WHEN rp < 15 THEN 3.0 ELSE 1.0 END,
       status,
       IF(nopw, NULL, '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'),
       nopw OR initial,
       IF(nopw, NULL, UTC_TIMESTAMP(6) - INTERVAL (rt % 63072000) SECOND),
       IF(rl < 30 AND NOT nopw, 5, IF(rl < 60, 1, 0)),
       CASE WHEN nopw THEN NULL
            WHEN rl < 20 THEN UTC_TIMESTAMP(6) + INTERVAL (60 + rl * 30) MINUTE
            WHEN rl < 30 THEN UTC_TIMESTAMP(6) - INTERVAL (1 + rl) DAY END,
       CASE WHEN nopw OR (initial AND rt % 2 = 0) THEN NULL
            WHEN status = 'retired' THEN UTC_TIMESTAMP(6) - INTERVAL (400 + rt % 600) DAY
            ELSE UTC_TIMESTAMP(6) - INTERVAL (rt % 7776000) SECOND END,
       UTC_TIMESTAMP(6) - INTERVAL (700 + rt % 3000) DAY,
       UTC_TIMESTAMP(6) - INTERVAL (rt % 600) DAY
FROM (
    SELECT seq, si, gi, rd, rp, rl, rt,
           CASE WHEN seq > 5 AND seq % 20 = 7 THEN 'retired'
                WHEN seq > 5 AND seq % 100 = 13 THEN 'suspended'
                ELSE 'active' END AS status,
           (seq > 5 AND rp >= 90) AS nopw,
           (seq > 5 AND rp BETWEEN 82 AND 89) AS initial
    FROM (
        SELECT seq,
               1 + CRC32(CONCAT('surname', seq)) % 40 AS si,
               1 + CRC32(CONCAT('given', seq)) % 40 AS gi,
               CRC32(CONCAT('dept', seq)) % 100 AS rd,
               CRC32(CONCAT('pw', seq)) % 100 AS rp,
               IF(seq <= 5, 999, CRC32(CONCAT('lock', seq)) % 1000) AS rl,
               CRC32(CONCAT('time', seq)) AS rt
        FROM seq_1_to_10000
    ) r
) s;

-- 1,000,000 events over the last three years, one every ~95 s (ids in time order, as the
-- server writes them): 57 % password sign-ins, 25 % token refreshes, 7 % wrong passwords
-- (a tenth of them for unknown IDs), the rest QR, password changes, tokens, locks, unlocks.
INSERT INTO login_history (event, employee_ref, employee_code, actor_ref, client_ip,
                           user_agent, detail, created_at)
SELECT ev,
       IF(unknown, NULL, emp),
       IF(unknown, CONCAT('X', LPAD(seq % 99991, 6, '0')), CONCAT('S', LPAD(emp, 6, '0'))),
       IF(ev IN ('unlocked', 'token_issued', 'token_revoked', 'sheet_printed'), 1 + seq % 5, NULL),
       CONCAT('10.', seq % 4, '.', (seq DIV 7) % 256, '.', 1 + CRC32(seq) % 254),
       ELT(1 + seq % 4,
           'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
           'Mozilla/5.0 (Linux; Android 14; SH-53D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
           'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
           'VoiceDrive/2.3.1 (iPhone; iOS 17.5)'),
       CASE ev
           WHEN 'password_login_ok' THEN '{"channel":"api"}'
           WHEN 'password_login_failed' THEN IF(unknown, '{"reason":"unknown_id"}', '{"reason":"wrong_password"}')
           WHEN 'locked' THEN '{"failures":5,"minutes":15}'
           WHEN 'unlocked' THEN '{"reason":"本人確認のうえ解除"}'
           WHEN 'token_issued' THEN '{"validityHours":24,"purpose":"onboarding"}'
           WHEN 'refresh' THEN '{"device":"VoiceDrive"}'
           ELSE NULL END,
       created_at
FROM (
    SELECT seq, emp, created_at,
           CASE WHEN r < 550 THEN 'password_login_ok'
                WHEN r < 800 THEN 'refresh'
                WHEN r < 870 THEN 'password_login_failed'
                WHEN r < 880 THEN 'qr_login'
                WHEN r < 900 THEN 'logout'
                WHEN r < 920 THEN 'password_changed'
                WHEN r < 935 THEN 'token_issued'
                WHEN r < 945 THEN 'token_used'
                WHEN r < 950 THEN 'token_revoked'
                WHEN r < 960 THEN 'sheet_printed'
                WHEN r < 965 THEN 'locked'
                WHEN r < 970 THEN 'unlocked'
                WHEN r < 975 THEN 'token_rejected'
                WHEN r < 978 THEN 'refresh_reuse_detected'
                WHEN r < 980 THEN 'portal_denied'
                ELSE 'password_login_ok' END AS ev,
           (r BETWEEN 800 AND 869 AND seq % 10 = 0) AS unknown
    FROM (
        SELECT seq,
               CRC32(CONCAT('event', seq)) % 1000 AS r,
               1 + CRC32(CONCAT('employee', seq)) % 10000 AS emp,
               UTC_TIMESTAMP(6) - INTERVAL ((1000000 - seq) * 94608000
                                            + CRC32(CONCAT('jitter', seq)) % 60000000) MICROSECOND
                   AS created_at
        FROM seq_1_to_1000000
    ) r
) e;

-- 3,000 one-time tokens over ~700 days: most used, some revoked or run out; the newest 100
-- are still open (issued within the last ~16 hours, valid 24 or 72 hours).
INSERT INTO onetime_tokens (employee_ref, token_hash, purpose, issued_by, issued_at,
                            expires_at, used_at, revoked_at, used_ip)
SELECT emp, UNHEX(SHA2(CONCAT('bench-token-', seq), 256)),
       IF(seq % 10 = 0, 'reissue', 'onboarding'), 1 + seq % 5, issued_at,
       issued_at + INTERVAL IF(seq % 3 = 0, 72, 24) HOUR,
       IF(seq <= 2900 AND r < 85, issued_at + INTERVAL (10 + r * 3) MINUTE, NULL),
       IF(seq <= 2900 AND r BETWEEN 85 AND 94, issued_at + INTERVAL 2 HOUR, NULL),
       IF(seq <= 2900 AND r < 85, CONCAT('10.1.', seq % 256, '.', 1 + r), NULL)
FROM (
    SELECT seq,
           1 + CRC32(CONCAT('token', seq)) % 10000 AS emp,
           CRC32(CONCAT('use', seq)) % 100 AS r,
           IF(seq <= 2900,
              UTC_TIMESTAMP(6) - INTERVAL ((2900 - seq) * 20000 + 86400 * 4) SECOND,
              UTC_TIMESTAMP(6) - INTERVAL ((3000 - seq) * 10) MINUTE) AS issued_at
    FROM seq_1_to_3000
) t;

-- Portal sessions of other HR staff: 20 live, 480 ended by their idle timeout (so the
-- session lookups every portal request makes are planned against a realistic table).
INSERT INTO portal_sessions (session_key_hash, session_ref, state, employee_ref, client_ip,
                             user_agent, created_at, last_seen_at, expires_at)
SELECT UNHEX(SHA2(CONCAT('bench-session-', seq), 256)), LEFT(MD5(CONCAT('ref', seq)), 32),
       '{}', 1 + seq % 5, CONCAT('10.9.1.', 1 + seq % 250),
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
       last_seen - INTERVAL 2 HOUR, last_seen, last_seen + INTERVAL 30 MINUTE
FROM (
    SELECT seq, IF(seq <= 20, UTC_TIMESTAMP(6) - INTERVAL seq MINUTE,
                   UTC_TIMESTAMP(6) - INTERVAL seq HOUR) AS last_seen
    FROM seq_1_to_500
) s;

-- 3,000 admin actions over three years.
INSERT INTO admin_audit (action, actor_ref, actor_label, client_ip, detail, created_at)
SELECT ELT(1 + CRC32(CONCAT('action', seq)) % 10,
           'sheets_printed', 'sheets_printed', 'sheets_printed', 'sheets_printed',
           'employees_imported', 'employees_imported', 'employees_imported',
           'policy_changed', 'history_archived', 'admin_created'),
       1 + seq % 5,
       CONCAT('人事部 管理者', 1 + seq % 5, '（S', LPAD(1 + seq % 5, 6, '0'), '）'),
       CONCAT('10.9.0.', 1 + seq % 5),
       CONCAT('{"count":', 1 + CRC32(seq) % 300, '}'),
       UTC_TIMESTAMP(6) - INTERVAL ((3000 - seq) * 31536 + CRC32(seq) % 3600) SECOND
FROM seq_1_to_3000;
SQL
SEED_SECONDS=$(seconds_since "$SEED_START")
note "seeded in ${SEED_SECONDS} s"

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
python3 - "$WORK/timings.md" "$WORK/timings.json" "$WORK/plans.jsonl" "$REPORT" <<'PY'
import json, os, sys

timings_md, timings_json, plans_path, report = sys.argv[1:]
env = os.environ
timings = json.load(open(timings_json, encoding="utf-8"))
plans = [json.loads(line) for line in open(plans_path, encoding="utf-8")]

BIG = 1000  # rows read from one table before a full scan or a sort is worth a flag


def tables(node, out, into_subqueries=True):
    """Every table access in an ANALYZE FORMAT=JSON document, in plan order."""
    if isinstance(node, dict):
        t = node.get("table")
        if isinstance(t, dict) and "table_name" in t:
            out.append(t)
        for k, v in node.items():
            if into_subqueries or k != "materialized":
                tables(v, out, into_subqueries)
    elif isinstance(node, list):
        for v in node:
            tables(v, out, into_subqueries)
    return out


def filesorts(node, out):
    if isinstance(node, dict):
        if isinstance(node.get("filesort"), dict):
            out.append(node["filesort"])
        for v in node.values():
            filesorts(v, out)
    elif isinstance(node, list):
        for v in node:
            filesorts(v, out)
    return out


def qtime(doc):
    return doc.get("query_block", {}).get("r_total_time_ms")


def rows_read(t):
    """Rows the table access produced over all its loops (before the WHERE filter)."""
    return (t.get("r_rows") or 0) * (t.get("r_loops") or 1)


summary = []
for p in plans:
    doc = p["analyze"]
    ts = tables(doc, [])
    flags = []
    uses = []
    for t in ts:
        name, access, key = t.get("table_name"), t.get("access_type"), t.get("key")
        read = rows_read(t)
        uses.append(f"{name}: {access}" + (f" {key}" if key else ""))
        if access == "ALL" and read > BIG:
            flags.append(f"full table scan of {name} ({read:,.0f} rows)")
        elif access == "index" and read > BIG:
            flags.append(f"full index scan of {name} ({read:,.0f} rows)")
    for fs in filesorts(doc, []):
        # What the sort was fed: the tables joined under it (not the derived tables' insides).
        sorted_rows = max((rows_read(t) * (t.get("r_filtered") or 100) / 100
                           for t in tables(fs, [], into_subqueries=False)), default=0)
        if sorted_rows > BIG:
            flags.append(f"filesort of {sorted_rows:,.0f} rows")
    summary.append((p, uses, ts, flags, qtime(doc)))

out = []
w = out.append
w("# Portal list pages: latency and query plans")
w("")
w("Generated by `scripts/bench/portal.sh`; do not edit by hand, rerun the script.")
w("")
w(f"- Run: {env['DATE_UTC']}, commit {env['GIT_REV']}{env.get('GIT_DIRTY', '')}")
w(f"- Machine: {env['CORES']} cores ({env['CPU_MODEL']}), {env['MEM_TOTAL']} RAM; "
  f"MariaDB {env['MARIADB_VERSION']} on the same machine (innodb_buffer_pool_size "
  f"{env['BUFFER_POOL']}, innodb_flush_log_at_trx_commit={env['FLUSH_AT_COMMIT']}); {env['RUSTC_VERSION']}")
w(f"- Server: release build, `STAFFGATE_WORKERS=2`; the benchmark client shares the same cores. "
  f"Load average before / after: {env['LOAD_BEFORE']} / {env['LOAD_AFTER']}; rustc processes "
  f"running before / after: {env.get('RUSTC_BUSY') or 0} / {env.get('RUSTC_BUSY_AFTER') or 0}")
w(f"- Data: {int(env['N_EMPLOYEES']):,} employees, {int(env['N_HISTORY']):,} login_history rows "
  f"({env['HISTORY_MIB']} MiB with indexes) over three years, {int(env['N_TOKENS']):,} one-time tokens, "
  f"{int(env['N_AUDIT']):,} admin_audit rows; seeded with SQL in {env['SEED_SECONDS']} s, then ANALYZE TABLE")
w(f"- One month = {env['MONTH_FROM']} to {env['MONTH_TO']} (JST)")
w(f"- Server log: {env['SERVER_ERRORS']} ERROR/WARN lines, {env['PANICS']} panics")
w("")
w("## Latency per page")
w("")
w("Client-measured: from sending the request to the last byte of the body, one request at a "
  "time over one keep-alive connection on 127.0.0.1, so the figures are the server's time plus a "
  "loopback round trip (an upper bound of the server-side time; the server exposes no timing of "
  "its own). Every page also pays the portal's per-request session work (load the session, look "
  "up the admin, slide the idle timeout: one UPDATE and its commit); `/admin/password` shows that "
  "floor.")
w("")
w(open(timings_md, encoding="utf-8").read().rstrip())
w("")
w("## Which index each query uses")
w("")
w("The statements are the ones the server sent while it served each page (recorded by "
  "`portal_bench --plans` from its Diesel connections, bind values written in as literals); "
  "statements every portal page runs are listed once, under \"every portal page\".")
w("")
w("From `ANALYZE FORMAT=JSON` (the query really run, second of two runs): the access per table, "
  "the rows it read, and the statement's execution time inside MariaDB (a `const` lookup is done "
  "while the statement is planned, so it shows as 0). Flags: a full scan or a sort of more than "
  f"{BIG:,} rows.")
w("")
w("| page | query | access (table: type key) | rows read | SQL ms | flag |")
w("|---|---|---|---:|---:|---|")
for p, uses, ts, flags, t in summary:
    read = " + ".join(
        "1 (const)" if x.get("access_type") in ("const", "system") else f"{rows_read(x):,.0f}"
        for x in ts) or "-"
    tm = f"{t:.2f}" if isinstance(t, (int, float)) else "-"
    w(f"| {p['page']} | `{p['what']}` | {'; '.join(uses) or '-'} | {read} | {tm} | "
      f"{'**' + '; '.join(flags) + '**' if flags else 'ok'} |")
w("")
w("## EXPLAIN output")
w("")
for p, uses, ts, flags, t in summary:
    w(f"### {p['page']}: `{p['what']}`")
    w("")
    w("```sql")
    w(p["query"])
    w("```")
    w("")
    w("```text")
    w(p["explain"].rstrip())
    w("```")
    w("")
open(report, "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
note "report: $REPORT"
cat "$WORK/timings.md"
