//! Text made printable in the embedded font and wrapped to a column.

use unicode_normalization::UnicodeNormalization;
use vanthu_pades::appearance::{AppearanceError, TextFont};

/// `text` in NFC with control characters as spaces (line breaks kept) and characters the
/// font cannot show as `?`, so a stray character in a summary never stops a book printing.
pub(crate) fn clean(font: &TextFont, text: &str) -> String {
    text.nfc()
        .map(|c| match c {
            '\n' => '\n',
            c if c.is_control() || c.is_whitespace() => ' ',
            c if font.supports(c) => c,
            _ => '?',
        })
        .collect()
}

/// `text` broken into lines no wider than `width` at `size`: at spaces where it can, inside
/// a word that is wider than the column by itself, and at every line break it holds.
pub(crate) fn wrap(
    font: &TextFont,
    text: &str,
    size: f32,
    width: f32,
) -> Result<Vec<String>, AppearanceError> {
    let space = font.width(" ", size)?;
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0.0;
        for word in paragraph.split_whitespace() {
            let w = font.width(word, size)?;
            if !line.is_empty() && used + space + w <= width {
                line.push(' ');
                line.push_str(word);
                used += space + w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if w <= width {
                line.push_str(word);
                used = w;
                continue;
            }
            used = 0.0;
            for c in word.chars() {
                let cw = font.width(c.encode_utf8(&mut [0; 4]), size)?;
                if !line.is_empty() && used + cw > width {
                    lines.push(std::mem::take(&mut line));
                    used = 0.0;
                }
                line.push(c);
                used += cw;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_within_the_width_and_long_words_break() {
        let font = TextFont::new().unwrap();
        let lines = wrap(
            &font,
            "Về việc triển khai chữ ký số trong cơ quan nhà nước",
            9.0,
            80.0,
        )
        .unwrap();
        assert!(lines.len() > 1, "{lines:?}");
        for l in &lines {
            assert!(font.width(l, 9.0).unwrap() <= 80.0, "{l}");
        }
        assert_eq!(
            lines.join(" "),
            "Về việc triển khai chữ ký số trong cơ quan nhà nước"
        );
        let long = wrap(&font, &"Đ".repeat(40), 9.0, 50.0).unwrap();
        assert!(long.len() > 1 && long.iter().all(|l| font.width(l, 9.0).unwrap() <= 50.0));
        assert_eq!(wrap(&font, "a\nb", 9.0, 500.0).unwrap(), ["a", "b"]);
        assert!(wrap(&font, "", 9.0, 50.0).unwrap().is_empty());
    }

    #[test]
    fn what_the_font_cannot_show_becomes_a_question_mark() {
        let font = TextFont::new().unwrap();
        assert_eq!(clean(&font, "Số 1\t印 o\u{302}\u{301}"), "Số 1 ? ố");
    }
}
