//! Search that finds Vietnamese text typed with or without diacritics.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Folds text for matching: lower case, diacritics removed, `đ` as `d`, runs of white space
/// as one space. "Quyết định số 5" and "quyet dinh  so 5" fold alike.
///
/// Clerks search with whatever keyboard they have, and many type without the Vietnamese
/// input method; stored text and queries are both folded, so either way matches. `đ` is a
/// letter of its own, not `d` with a mark, so decomposition alone would keep it.
pub fn fold_for_search(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diacritics_case_and_spacing_fold_away() {
        assert_eq!(fold_for_search("Quyết định số 5"), "quyet dinh so 5");
        assert_eq!(fold_for_search("  ĐỒNG   Cương\t"), "dong cuong");
        assert_eq!(fold_for_search("123/UBND-VP"), "123/ubnd-vp");
        assert_eq!(
            fold_for_search("Ủy ban nhân dân"),
            fold_for_search("uy ban nhan dan")
        );
        // Decomposed input (combining marks typed separately) folds the same way.
        assert_eq!(fold_for_search("Vie\u{0323}\u{0302}t"), "viet");
        assert_eq!(fold_for_search(""), "");
    }
}
