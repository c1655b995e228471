//! The folded form the employee search compares: a name written 髙橋 or 高橋, kana typed in
//! hiragana, half-width or with spaces all fold to the same key, for the stored employee and
//! for what is typed into the search box alike.

use super::kana;

/// Between the folded fields of a stored key. A query never contains it (control characters
/// are dropped from a query), so no match can run from one field into the next.
const SEPARATOR: char = '\u{1F}';

/// Name variants (異体字) that the search treats as the same character, each with the
/// common form it folds to.
const VARIANTS: &[(char, char)] = &[
    ('髙', '高'),
    ('﨑', '崎'),
    ('嵜', '崎'),
    ('邊', '辺'),
    ('邉', '辺'),
    ('齋', '斉'),
    ('齊', '斉'),
    ('斎', '斉'),
    ('濱', '浜'),
    ('濵', '浜'),
    ('澤', '沢'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('𠮷', '吉'),
    ('德', '徳'),
    ('廣', '広'),
    ('國', '国'),
    ('龍', '竜'),
    ('櫻', '桜'),
    ('眞', '真'),
    ('惠', '恵'),
    ('冨', '富'),
    ('實', '実'),
    ('槇', '槙'),
    ('藪', '薮'),
    ('檜', '桧'),
];

/// The stored key of an employee: each field folded, in this order, separated.
pub fn employee_key(name: &str, name_kana: &str, department: &str) -> String {
    [name, name_kana, department]
        .iter()
        .map(|field| fold(field))
        .collect::<Vec<_>>()
        .join(&SEPARATOR.to_string())
}

/// A search box entry folded like the stored keys, so that a stored key contains it exactly
/// when the employee should be found (empty: nothing to search for).
pub fn query_key(query: &str) -> String {
    fold(query)
}

/// Kana to full-width katakana, full-width Latin letters and digits to ASCII, lower case,
/// name variants to their common form; spaces and control characters dropped.
fn fold(text: &str) -> String {
    kana::to_full_width_katakana(text)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => VARIANTS
                .iter()
                .find(|(variant, _)| *variant == c)
                .map_or(c, |(_, common)| *common),
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(query: &str, name: &str, kana: &str, department: &str) -> bool {
        let q = query_key(query);
        !q.is_empty() && employee_key(name, kana, department).contains(&q)
    }

    #[test]
    fn name_variants_find_each_other() {
        for (a, b) in [
            ("高橋", "髙橋"),
            ("山崎", "山﨑"),
            ("山崎", "山嵜"),
            ("渡辺", "渡邊"),
            ("渡辺", "渡邉"),
            ("斉藤", "齋藤"),
            ("斎藤", "齊藤"),
            ("浜田", "濱田"),
            ("浜田", "濵田"),
            ("沢田", "澤田"),
            ("島田", "嶋田"),
            ("島田", "嶌田"),
            ("吉田", "𠮷田"),
            ("徳永", "德永"),
            ("広瀬", "廣瀬"),
            ("国分", "國分"),
            ("竜也", "龍也"),
        ] {
            assert!(finds(a, b, "", ""), "{a} finds {b}");
            assert!(finds(b, a, "", ""), "{b} finds {a}");
        }
    }

    #[test]
    fn kana_is_found_however_it_is_typed() {
        let kana = "ワタナベ サキ";
        for query in [
            "さき",
            "ｻｷ",
            "サキ",
            "わたなべ",
            "ﾜﾀﾅﾍﾞ",
            "わたなべさき",
            "ワタナベ　サキ",
        ] {
            assert!(finds(query, "渡邊 咲", kana, "看護部"), "{query}");
        }
        assert!(
            !finds("わたなへ", "渡邊 咲", kana, "看護部"),
            "a dakuten counts"
        );
    }

    #[test]
    fn latin_letters_ignore_case_and_width() {
        assert!(finds("icu", "山田", "", "ICU"));
        assert!(finds("ＩＣＵ", "山田", "", "icu"));
    }

    #[test]
    fn a_query_does_not_match_across_fields() {
        assert!(!finds("太郎ヤマダ", "山田 太郎", "ヤマダ タロウ", ""));
        assert!(!finds("\u{1F}", "山田", "ヤマダ", ""));
    }

    #[test]
    fn spaces_alone_search_for_nothing() {
        assert_eq!(query_key(" 　 "), "");
    }
}
