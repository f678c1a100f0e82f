//! Bar charts of the ratios as inline SVG, drawn on the server: the page needs no script and
//! loads nothing.

use maud::{html, Markup};
use vanthu_reports::Ratio;

use super::view::{fraction, percent};

/// Width of the whole chart, in pixels.
const WIDTH: i64 = 760;
/// Where the bars start: the labels sit left of it.
const BAR_X: i64 = 300;
/// Length of a 100% bar.
const BAR_LENGTH: i64 = 300;
/// Height of one row.
const ROW: i64 = 24;
/// Labels longer than this many characters are cut (the full name is in the title).
const LABEL_CHARS: usize = 40;

/// One bar: what it is for and its ratio.
pub struct Bar {
    /// The label left of the bar (a unit's name, "Tổng").
    pub label: String,
    /// The figure drawn.
    pub ratio: Ratio,
}

/// Length of the bar of `ratio`, in pixels; nothing when it has no denominator.
fn length(ratio: &Ratio) -> Option<i64> {
    ratio
        .percent
        .map(|p| p.tenths().clamp(0, 1000) * BAR_LENGTH / 1000)
}

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

/// A horizontal bar chart, one bar per entry, each with its percentage and fraction written
/// after it.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> Markup {
    let height = ROW * i64::try_from(bars.len()).unwrap_or(0) + 8;
    html! {
        svg id=(id) class="chart" width=(WIDTH) height=(height)
            viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label=(title) {
            title { (title) }
            @for (row, bar) in bars.iter().enumerate() {
                @let y = ROW * i64::try_from(row).unwrap_or(0) + 4;
                g data-label=(bar.label) {
                    title { (bar.label) ": " (percent(&bar.ratio)) " (" (fraction(&bar.ratio)) ")" }
                    text x=(BAR_X - 8) y=(y + 15) text-anchor="end" class="label" { (short(&bar.label)) }
                    rect class="track" x=(BAR_X) y=(y + 2) width=(BAR_LENGTH) height=(ROW - 6) {}
                    @if let Some(length) = length(&bar.ratio) {
                        rect class="bar" x=(BAR_X) y=(y + 2) width=(length) height=(ROW - 6) {}
                    }
                    text x=(BAR_X + BAR_LENGTH + 8) y=(y + 15) class="value" {
                        (percent(&bar.ratio)) " (" (fraction(&bar.ratio)) ")"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vanthu_reports::Percent;

    fn ratio(count: i64, of: i64) -> Ratio {
        Ratio {
            count,
            of,
            percent: Percent::of(count, of),
        }
    }

    #[test]
    fn bars_are_as_long_as_their_percentage_and_labels_are_escaped() {
        assert_eq!(length(&ratio(5_789, 6_324)), Some(274));
        assert_eq!(length(&ratio(3, 3)), Some(BAR_LENGTH));
        assert_eq!(length(&ratio(0, 0)), None);
        let svg = bars(
            "c",
            "Tỷ lệ",
            &[
                Bar {
                    label: "Xã <b>A</b> & B".into(),
                    ratio: ratio(1, 2),
                },
                Bar {
                    label: "Tổng".into(),
                    ratio: ratio(0, 0),
                },
            ],
        )
        .into_string();
        assert!(svg.contains("Xã &lt;b&gt;A&lt;/b&gt; &amp; B"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        // One bar for the half, none for the ratio without a denominator; a track each.
        assert_eq!(svg.matches("class=\"bar\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"track\"").count(), 2, "{svg}");
        assert!(svg.contains("width=\"150\""), "{svg}");
        assert!(svg.contains("50,0 % (1/2)"), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        let long = "Ủy ban nhân dân xã Đồng Cương huyện Yên Lạc tỉnh Vĩnh Phúc";
        let cut = short(long);
        assert_eq!(cut.chars().count(), LABEL_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(short("Tổng"), "Tổng");
    }
}
