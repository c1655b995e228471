//! How the history's second-factor details read: the second step, enrolment, resets and
//! their rollback.

use serde_json::Value;

use super::{pick, scalar};
use crate::i18n::Lang;

/// The label for one second-factor field: `None` when the key is not one of them, `Some(None)`
/// when the field says nothing to a person.
pub(super) fn field(key: &str, v: &Value, lang: Lang) -> Option<Option<String>> {
    let n = v.as_i64();
    let s = v.as_str().unwrap_or_default();
    let yes = v.as_bool() == Some(true);
    let labelled = |ja: &str, en: &str, value: String| format!("{}: {value}", pick(lang, ja, en));
    let count = |ja: &str, en: &str| n.map(|n| labelled(ja, en, format!("{n}")));
    let text = match key {
        "method" => Some(labelled(
            "方法",
            "with",
            match s {
                "totp" => pick(lang, "認証アプリのコード", "authenticator code"),
                "recovery_code" => pick(lang, "リカバリーコード", "recovery code"),
                "passkey" => pick(lang, "パスキー", "passkey"),
                other => other.to_owned(),
            },
        )),
        "secondFactor" => Some(labelled(
            "二要素認証",
            "second factor",
            match s {
                "pending" => pick(lang, "確認待ち", "pending"),
                "none" => pick(lang, "未設定", "none"),
                other => other.to_owned(),
            },
        )),
        "reset" => Some(match lang {
            Lang::Ja => format!("リセット記録 #{}", scalar(v, lang)),
            Lang::En => format!("reset log #{}", scalar(v, lang)),
        }),
        "totp" => Some(labelled(
            "認証アプリ",
            "authenticator app",
            pick(
                lang,
                if yes { "あり" } else { "なし" },
                if yes { "yes" } else { "no" },
            ),
        )),
        "recoveryCodes" => count("リカバリーコード", "recovery codes"),
        "recoveryCodesLeft" => count("残りのリカバリーコード", "recovery codes left"),
        "passkeys" => count("パスキー", "passkeys"),
        "passkeysLeft" => count("残りのパスキー", "passkeys left"),
        "sessionsEnded" => count("終了したサインイン", "sessions ended"),
        "secondStepCleared" => yes.then(|| {
            pick(
                lang,
                "二段階目の一時停止も解除",
                "second-step lock cleared too",
            )
        }),
        "replacedNewEnrolment" => yes.then(|| {
            pick(
                lang,
                "リセット後の新しい設定を置き換え",
                "replaced the set-up made after the reset",
            )
        }),
        "label" => Some(labelled("名前", "name", scalar(v, lang))),
        _ => return None,
    };
    Some(text)
}
