//! Kana as staffgate keeps it: full-width katakana, whether it was typed in hiragana or in
//! half-width katakana (as older HR systems export it).

/// U+FF61 ..= U+FF9D, the half-width forms, in code point order.
const HALF_WIDTH: &str = "。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

/// The kana that take a dakuten (゛) and are followed by their voiced form in Unicode.
const VOICED_NEXT: &str = "カキクケコサシスセソタチツテトハヒフヘホ";

/// The kana that take a handakuten (゜); their semi-voiced form is two code points on.
const SEMI_VOICED_NEXT_BUT_ONE: &str = "ハヒフヘホ";

/// Hiragana and half-width katakana become full-width katakana; a half-width (or combining)
/// dakuten or handakuten joins the kana before it (`ｶﾞ` → `ガ`, `ﾊﾟ` → `パ`), and one that
/// joins nothing becomes the full-width mark. Everything else is kept as it is.
pub fn to_full_width_katakana(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{FF9E}' | '\u{3099}' => join_mark(&mut out, voiced, '゛'),
            '\u{FF9F}' | '\u{309A}' => join_mark(&mut out, semi_voiced, '゜'),
            _ => out.push(katakana(c)),
        }
    }
    out
}

fn katakana(c: char) -> char {
    match c {
        // ぁ..ゖ and ゝゞ sit 0x60 below ァ..ヶ and ヽヾ.
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        '\u{FF61}'..='\u{FF9D}' => HALF_WIDTH
            .chars()
            .nth((c as u32 - 0xFF61) as usize)
            .unwrap_or(c),
        _ => c,
    }
}

/// Replaces the last character with its marked form, or adds the standalone mark.
fn join_mark(out: &mut String, marked: fn(char) -> Option<char>, standalone: char) {
    match out.chars().next_back().and_then(marked) {
        Some(joined) => {
            out.pop();
            out.push(joined);
        }
        None => out.push(standalone),
    }
}

fn voiced(c: char) -> Option<char> {
    match c {
        'ウ' => Some('ヴ'),
        'ワ' => Some('ヷ'),
        'ヰ' => Some('ヸ'),
        'ヱ' => Some('ヹ'),
        'ヲ' => Some('ヺ'),
        'ヽ' => Some('ヾ'),
        _ if VOICED_NEXT.contains(c) => char::from_u32(c as u32 + 1),
        _ => None,
    }
}

fn semi_voiced(c: char) -> Option<char> {
    if SEMI_VOICED_NEXT_BUT_ONE.contains(c) {
        char::from_u32(c as u32 + 2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::to_full_width_katakana as k;

    #[test]
    fn hiragana_and_half_width_katakana_read_the_same_as_katakana() {
        assert_eq!(k("かんご はなこ"), "カンゴ ハナコ");
        assert_eq!(k("ｶﾝｺﾞ ﾊﾅｺ"), "カンゴ ハナコ");
        assert_eq!(k("カンゴ ハナコ"), "カンゴ ハナコ");
    }

    #[test]
    fn half_width_marks_join_the_kana_before_them() {
        assert_eq!(k("ｶﾞ"), "ガ");
        assert_eq!(k("ﾊﾟ"), "パ");
        assert_eq!(k("ﾊﾞ"), "バ");
        assert_eq!(k("ﾄﾞｳﾞｧｰﾙ"), "ドヴァール");
        assert_eq!(k("ｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞ"), "ザジズゼゾダヂヅデド");
        assert_eq!(k("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟﾎﾞ"), "パピプペポボ");
        assert_eq!(k("ﾜﾞｦﾞ"), "ヷヺ");
    }

    #[test]
    fn combining_marks_join_too_and_a_mark_that_joins_nothing_stands_alone() {
        assert_eq!(k("か\u{3099}は\u{309A}"), "ガパ");
        assert_eq!(k("ｱﾞ"), "ア゛");
        assert_eq!(k("ｶﾟ"), "カ゜");
        assert_eq!(k("ﾞ"), "゛");
    }

    #[test]
    fn small_kana_long_vowels_and_punctuation_keep_their_meaning() {
        assert_eq!(k("ｷｬｯﾁｰ･ｼｮｰ"), "キャッチー・ショー");
        assert_eq!(k("きゃっちー"), "キャッチー");
        assert_eq!(k("ゔゝゞ"), "ヴヽヾ");
        assert_eq!(k("｢ｱ｣｡､"), "「ア」。、");
    }

    #[test]
    fn every_half_width_form_has_its_full_width_kana() {
        assert_eq!(super::HALF_WIDTH.chars().count(), 0xFF9D - 0xFF61 + 1);
        assert_eq!(
            k("ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ"),
            "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
        );
    }

    #[test]
    fn latin_kanji_and_spaces_are_left_alone() {
        assert_eq!(k("Yamada 山田　ﾀﾛｳ"), "Yamada 山田　タロウ");
        assert_eq!(k(""), "");
    }
}
