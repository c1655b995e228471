//! The details recorded with a history or audit entry (a JSON object), as a person reads them:
//! labelled fields in Japanese or English, times in JST, codes translated, internal references
//! left out. Never raw JSON, never a UTC timestamp.

mod second_factor;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::i18n::Lang;
use crate::services::clock::{format_jst, format_jst_seconds};

/// `detail` (as stored) in readable form: `label: value` pairs joined by ` · `; empty for none.
pub fn describe(detail: Option<&str>, lang: Lang) -> String {
    let Some(raw) = detail.map(str::trim).filter(|d| !d.is_empty()) else {
        return String::new();
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(fields)) => fields_text(&fields, lang),
        Ok(Value::Null) => String::new(),
        Ok(other) => scalar(&other, lang),
        Err(_) => raw.to_owned(),
    }
}

/// The client address recorded inside an audit entry's details, if any.
pub fn ip_in(detail: Option<&str>) -> Option<String> {
    let fields: Map<String, Value> = serde_json::from_str(detail?).ok()?;
    ["ip", "clientIp"]
        .iter()
        .find_map(|k| fields.get(*k)?.as_str().map(str::to_owned))
}

/// The order fields are read in: what happened and why first, who did it last; fields not
/// listed follow in name order.
const ORDER: [&str; 17] = [
    "from",
    "to",
    "fields",
    "reason",
    "tokenId",
    "replacedBy",
    "purpose",
    "validityHours",
    "expiresAt",
    "lockedUntil",
    "failedCount",
    "count",
    "channel",
    "via",
    "selection",
    "changes",
    "actor",
];

fn rank(key: &str) -> usize {
    ORDER
        .iter()
        .position(|k| *k == key)
        .map_or(ORDER.len() - 1, |i| {
            if key == "actor" { ORDER.len() } else { i }
        })
}

fn fields_text(fields: &Map<String, Value>, lang: Lang) -> String {
    let mut ordered: Vec<(&String, &Value)> = fields.iter().collect();
    ordered.sort_by_key(|(k, _)| rank(k));
    let parts: Vec<String> = ordered
        .into_iter()
        .filter_map(|(k, v)| field(k, v, lang))
        .collect();
    parts.join(" · ")
}

fn pick(lang: Lang, ja: &str, en: &str) -> String {
    lang.pick(ja, en).to_owned()
}

/// One field as `label: value`, or None when it says nothing to a person (internal ids, false
/// flags, shown elsewhere).
fn field(key: &str, v: &Value, lang: Lang) -> Option<String> {
    let n = v.as_i64();
    let s = v.as_str();
    let yes = v.as_bool() == Some(true);
    let labelled = |ja: &str, en: &str, value: String| format!("{}: {value}", pick(lang, ja, en));
    let count = |ja: &str, en: &str| n.map(|n| labelled(ja, en, format!("{n}")));
    if let Some(text) = second_factor::field(key, v, lang) {
        return text;
    }
    let text = match key {
        // Internal references and what another column already shows.
        "family" | "ip" | "clientIp" | "serials" | "run" => return None,
        "tokenId" => format!("{} #{}", pick(lang, "QRコード", "QR code"), scalar(v, lang)),
        "replacedBy" => match lang {
            Lang::Ja => format!("新しいQRコード #{} に置き換え", scalar(v, lang)),
            Lang::En => format!("replaced by QR code #{}", scalar(v, lang)),
        },
        "purpose" => labelled("用途", "purpose", purpose(s?, lang)),
        "validityHours" => labelled(
            "有効期間",
            "valid for",
            format!("{}{}", scalar(v, lang), pick(lang, " 時間", " hours")),
        ),
        "expiresAt" => labelled("有効期限", "expires", time(s?, false)?),
        "lockedUntil" => labelled("ロック解除予定", "locked until", time(s?, true)?),
        "at" => labelled("時刻", "at", time(s?, true)?),
        "cutoff" => labelled("対象", "older than", time(s?, false)?),
        "actor" => labelled("操作者", "by", actor(s?, lang)),
        "reason" => labelled("理由", "reason", reason(s?, lang)),
        "channel" => labelled("経路", "via", channel(s?, lang)),
        "via" => labelled(
            "経路",
            "via",
            match s? {
                "setup_session" => pick(
                    lang,
                    "QRコードからの初回登録",
                    "first sign-in from a QR code",
                ),
                "session" => pick(lang, "サインイン後の変更", "signed-in change"),
                other => other.to_owned(),
            },
        ),
        "session" if s == Some("setup") => {
            pick(lang, "初回登録の手続きを開始", "first sign-in started")
        }
        "mustChange" if yes => pick(lang, "パスワードの変更が必要", "password change required"),
        "expired" if yes => pick(lang, "パスワードの有効期限切れ", "password expired"),
        "mustChange" | "expired" => return None,
        "wasLocked" => pick(
            lang,
            if yes {
                "ロック中でした"
            } else {
                "ロックされていませんでした"
            },
            if yes { "was locked" } else { "was not locked" },
        ),
        "permissionLevel" => labelled("権限レベル", "permission level", scalar(v, lang)),
        "failedCount" => count("失敗回数", "failed attempts")?,
        "attemptsCleared" => count("消去した失敗記録", "failed attempts cleared")?,
        "count" => count("件数", "count")?,
        "revoked" | "revokedTokens" => count("無効にした数", "revoked")?,
        "sessionsRevoked" | "sessions" => count("終了したセッション", "sessions ended")?,
        "initialPasswords" => count("新しい初期パスワード", "new initial passwords")?,
        "retryAfter" => labelled(
            "再試行まで",
            "retry after",
            format!("{}{}", scalar(v, lang), pick(lang, " 秒", " s")),
        ),
        "waitedMs" | "durationMs" => {
            let secs = v.as_f64()? / 1000.0;
            let (ja, en) = if key == "waitedMs" {
                ("待ち時間", "waited")
            } else {
                ("所要時間", "took")
            };
            labelled(ja, en, format!("{secs:.1}{}", pick(lang, " 秒", " s")))
        }
        "encoding" => labelled("文字コード", "encoding", scalar(v, lang)),
        "rows" => count("行数", "rows")?,
        "created" => count("新規", "new")?,
        "updated" => count("更新", "updated")?,
        "unchanged" => count("変更なし", "unchanged")?,
        "selection" => labelled("対象", "for", scalar(v, lang)),
        "employeeId" => labelled("職員番号", "employee ID", scalar(v, lang)),
        "from" | "to" if status_name(s?, lang).is_some() => {
            let (ja, en) = if key == "from" {
                ("変更前", "from")
            } else {
                ("変更後", "to")
            };
            labelled(ja, en, status_name(s?, lang)?)
        }
        "employee" | "event" | "from" | "to" | "source" if v.is_null() || s == Some("") => {
            return None;
        }
        "employee" => labelled("職員番号", "employee ID", scalar(v, lang)),
        "event" => labelled("種類", "event", scalar(v, lang)),
        "from" => labelled("開始日", "from", scalar(v, lang)),
        "to" => labelled("終了日", "to", scalar(v, lang)),
        "source" => labelled(
            "対象",
            "source",
            match s? {
                "archive" => pick(lang, "アーカイブ", "archive"),
                _ => pick(lang, "現在の履歴", "current history"),
            },
        ),
        "trigger" => labelled(
            "起動",
            "started by",
            match s? {
                "schedule" => pick(lang, "毎月の自動実行", "monthly schedule"),
                "cli" => pick(lang, "コマンド", "command line"),
                "portal" => pick(lang, "管理画面", "portal"),
                other => other.to_owned(),
            },
        ),
        "status" => labelled(
            "状態",
            "status",
            match s? {
                "active" => pick(lang, "在職", "active"),
                "suspended" => pick(lang, "停止中", "suspended"),
                "retired" => pick(lang, "退職", "retired"),
                "completed" | "ok" => pick(lang, "完了", "completed"),
                "failed" => pick(lang, "失敗", "failed"),
                "interrupted" => pick(lang, "中断", "interrupted"),
                other => other.to_owned(),
            },
        ),
        "olderThanDays" => labelled(
            "保存期間",
            "retention",
            format!("{}{}", scalar(v, lang), pick(lang, " 日", " days")),
        ),
        "archived" => count("移した件数", "moved")?,
        "alreadyArchived" => count("移動済み", "already archived")?,
        "batches" => count("回数", "batches")?,
        "rowsPerSecond" => labelled(
            "速度",
            "rate",
            format!("{}{}", scalar(v, lang), pick(lang, " 件/秒", " rows/s")),
        ),
        "changes" => changes(v.as_object()?, lang),
        "fields" => fields_changed(v.as_object()?, lang),
        "qrCodesRevoked" => count("無効にしたQRコード", "QR codes revoked")?,
        "appSessionsEnded" => count("終了したアプリのサインイン", "app sign-ins ended")?,
        other => format!("{other}: {}", scalar(v, lang)),
    };
    Some(text)
}

/// A value without JSON quoting; objects and lists flattened.
fn scalar(v: &Value, lang: Lang) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Bool(b) => pick(
            lang,
            if *b { "はい" } else { "いいえ" },
            if *b { "yes" } else { "no" },
        ),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| scalar(i, lang))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(fields) => fields_text(fields, lang),
    }
}

/// An RFC 3339 time in JST (to the second where events cluster).
fn time(raw: &str, seconds: bool) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc);
    Some(if seconds {
        format_jst_seconds(t)
    } else {
        format_jst(t)
    })
}

/// Who did it, as recorded: an employee ID, or the command line.
pub fn actor(label: &str, lang: Lang) -> String {
    match label {
        "cli" => pick(
            lang,
            "コマンドライン（サーバー管理者）",
            "command line (server operator)",
        ),
        other => other.to_owned(),
    }
}

fn channel(raw: &str, lang: Lang) -> String {
    match raw {
        "portal" => pick(lang, "管理画面", "portal"),
        "api" => pick(lang, "API（アプリ）", "API (app)"),
        other => other.to_owned(),
    }
}

fn purpose(raw: &str, lang: Lang) -> String {
    match raw {
        "onboarding" => pick(lang, "初回登録", "first sign-in"),
        "password_reset" => pick(lang, "パスワード再設定", "password reset"),
        other => other.to_owned(),
    }
}

/// The machine's reason codes in words; a reason an admin typed is shown as typed.
fn reason(raw: &str, lang: Lang) -> String {
    let (ja, en) = match raw {
        "reissued" => ("新しいQRコードの発行", "a new QR code was issued"),
        "revoked_by_admin" => ("管理者が無効化", "revoked by an administrator"),
        "locked" => ("アカウントがロック中", "the account is locked"),
        "rate_limited" => ("試行回数の上限", "too many attempts"),
        "too_many_in_flight" => ("同時のサインインが多すぎる", "too many sign-ins at once"),
        "unknown_employee" => ("登録のない職員番号", "no such employee ID"),
        "wrong_password" => ("パスワードの誤り", "wrong password"),
        "wrong_current_password" => ("現在のパスワードの誤り", "wrong current password"),
        "disabled" => ("利用停止中のアカウント", "the account is disabled"),
        "used" => ("使用済みのQRコード", "the QR code was already used"),
        "expired" => ("期限切れのQRコード", "the QR code had expired"),
        "revoked" => ("無効にされたQRコード", "the QR code had been revoked"),
        "sign_out" => ("本人がサインアウト", "signed out"),
        "ended_one" => ("ほかの端末の1セッションを終了", "one other session ended"),
        "ended_others" => (
            "ほかの端末のセッションをすべて終了",
            "all other sessions ended",
        ),
        "password_changed" => ("パスワードが変更された", "the password was changed"),
        other => return other.to_owned(),
    };
    pick(lang, ja, en)
}

fn status_name(raw: &str, lang: Lang) -> Option<String> {
    let (ja, en) = match raw {
        "active" => ("在職", "active"),
        "suspended" => ("停止中", "suspended"),
        "retired" => ("退職", "retired"),
        _ => return None,
    };
    Some(pick(lang, ja, en))
}

/// A listing change: `field: old → new` for each field changed.
fn fields_changed(fields: &Map<String, Value>, lang: Lang) -> String {
    fields
        .iter()
        .map(|(name, change)| {
            let label = match name.as_str() {
                "name" => pick(lang, "氏名", "name"),
                "nameKana" => pick(lang, "カナ", "kana"),
                "department" => pick(lang, "部署", "department"),
                "email" => pick(lang, "メール", "e-mail"),
                "permissionLevel" => pick(lang, "権限レベル", "permission level"),
                other => other.to_owned(),
            };
            let side = |k: &str| change.get(k).map(|v| scalar(v, lang)).unwrap_or_default();
            format!("{label}: {} → {}", side("old"), side("new"))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A policy change: `name old -> new` for each setting changed.
fn changes(fields: &Map<String, Value>, lang: Lang) -> String {
    fields
        .iter()
        .map(|(name, change)| {
            let flag = matches!(
                name.as_str(),
                "password_expiry_enabled" | "password_long_exempt"
            );
            let shown = |v: &Value| match (flag, v.as_str()) {
                (true, Some("1")) => scalar(&Value::Bool(true), lang),
                (true, Some("0")) => scalar(&Value::Bool(false), lang),
                _ => scalar(v, lang),
            };
            let old = change.get("old").map(shown).unwrap_or_default();
            let new = change.get("new").map(shown).unwrap_or_default();
            format!("{}: {old} → {new}", setting(name, lang))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn setting(name: &str, lang: Lang) -> String {
    let (ja, en) = match name {
        "password_expiry_enabled" => ("有効期限を使う", "expiry on"),
        "password_warn_days" => ("事前のお知らせ（日）", "warning (days)"),
        "password_expire_days" => ("有効期限（日）", "expires after (days)"),
        "password_long_exempt" => ("長いパスワードは期限なし", "long passwords never expire"),
        "password_long_length" => ("期限なしとする長さ（文字）", "length that never expires"),
        other => return other.to_owned(),
    };
    pick(lang, ja, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ja(detail: &str) -> String {
        describe(Some(detail), Lang::Ja)
    }

    #[test]
    fn an_issued_token_reads_as_labelled_fields_in_jst() {
        let d = r#"{"tokenId":2,"purpose":"onboarding","validityHours":72,"expiresAt":"2026-04-04T00:00:00.123456789+00:00","actor":"HR0001"}"#;
        assert_eq!(
            ja(d),
            "QRコード #2 · 用途: 初回登録 · 有効期間: 72 時間 · 有効期限: 2026-04-04 09:00 · 操作者: HR0001"
        );
        assert_eq!(
            describe(Some(d), Lang::En),
            "QR code #2 · purpose: first sign-in · valid for: 72 hours · expires: 2026-04-04 09:00 · by: HR0001"
        );
    }

    #[test]
    fn no_json_and_no_utc_reach_the_reader() {
        for d in [
            r#"{"count":1,"reason":"reissued","replacedBy":3}"#,
            r#"{"reason":"locked","lockedUntil":"2026-04-01T00:15:30.5+00:00"}"#,
            r#"{"revoked":2,"at":"2026-04-01T00:00:00+00:00","family":"abc"}"#,
            r#"{"channel":"portal","mustChange":false,"expired":true}"#,
            r#"{"changes":{"password_expire_days":{"old":"90","new":"60"}},"ip":"10.0.0.1"}"#,
            r#"{"reason":"本人に電話で確認","actor":"cli","wasLocked":true,"failedCount":5,"attemptsCleared":5}"#,
        ] {
            let text = ja(d);
            for raw in ['{', '}', '"', 'T', '+'] {
                assert!(!text.contains(raw), "{raw} in {text}");
            }
            assert!(
                !text.contains("abc") && !text.contains("10.0.0.1"),
                "{text}"
            );
        }
        assert_eq!(
            ja(r#"{"reason":"locked","lockedUntil":"2026-04-01T00:15:30.5+00:00"}"#),
            "理由: アカウントがロック中 · ロック解除予定: 2026-04-01 09:15:30"
        );
        assert_eq!(
            ja(r#"{"count":1,"reason":"reissued","replacedBy":3}"#),
            "理由: 新しいQRコードの発行 · 新しいQRコード #3 に置き換え · 件数: 1"
        );
        assert_eq!(
            ja(r#"{"changes":{"password_expire_days":{"old":"90","new":"60"}}}"#),
            "有効期限（日）: 90 → 60"
        );
        assert_eq!(
            ja(r#"{"reason":"本人に電話で確認","actor":"cli"}"#),
            "理由: 本人に電話で確認 · 操作者: コマンドライン（サーバー管理者）"
        );
    }

    #[test]
    fn second_factor_events_read_in_japanese() {
        let d = r#"{"reset":4,"reason":"端末紛失","actor":"cli","totp":true,"recoveryCodes":10,"passkeys":0,"sessionsEnded":1}"#;
        let text = ja(d);
        assert!(text.contains("リセット記録 #4"), "{text}");
        assert!(text.contains("リカバリーコード: 10"), "{text}");
        assert!(text.contains("認証アプリ: あり"), "{text}");
        assert!(
            !text.contains("totp") && !text.contains("sessionsEnded"),
            "{text}"
        );
        let text = ja(r#"{"method":"recovery_code","recoveryCodesLeft":8}"#);
        assert_eq!(text, "方法: リカバリーコード · 残りのリカバリーコード: 8");
    }

    #[test]
    fn empty_and_unreadable_details_pass_through() {
        assert_eq!(describe(None, Lang::Ja), "");
        assert_eq!(ja(""), "");
        assert_eq!(ja("null"), "");
        assert_eq!(ja("not json"), "not json");
        assert_eq!(ja(r#"{"novel":"x"}"#), "novel: x");
    }

    #[test]
    fn the_address_inside_an_audit_entry_is_found() {
        assert_eq!(
            ip_in(Some(r#"{"ip":"10.1.2.3"}"#)).as_deref(),
            Some("10.1.2.3")
        );
        assert_eq!(
            ip_in(Some(r#"{"clientIp":"10.1.2.4"}"#)).as_deref(),
            Some("10.1.2.4")
        );
        assert_eq!(ip_in(Some(r#"{"count":1}"#)), None);
        assert_eq!(ip_in(None), None);
    }
}
