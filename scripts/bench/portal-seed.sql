-- The data set of scripts/bench/portal.sh, seeded with SQL only (MariaDB's sequence engine).

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
