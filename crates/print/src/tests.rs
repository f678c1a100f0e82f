use vanthu_pdf::testing::quirks::qpdf_clean;
use vanthu_pdf::Reader;

use super::*;

const COLUMNS: [Column; 3] = [
    Column {
        title: "Số đến",
        weight: 1.0,
    },
    Column {
        title: "Tên loại và trích yếu nội dung",
        weight: 4.0,
    },
    Column {
        title: "Ghi chú",
        weight: 1.0,
    },
];

fn heading() -> BookHeading {
    BookHeading {
        kind: BookKind::Incoming,
        parent_unit: Some("Ủy ban nhân dân tỉnh Vĩnh Phúc".into()),
        unit: "Ủy ban nhân dân huyện Yên Lạc".into(),
        year: 2026,
        numbers: Some(("1".into(), "300".into())),
        dates: Some(("02/01/2026".into(), "30/12/2026".into())),
        printed_on: "02/12/2026".into(),
    }
}

fn rows(n: usize, summary: &str) -> Vec<Vec<String>> {
    (1..=n)
        .map(|i| {
            vec![
                i.to_string(),
                format!("Công văn: {summary} {i}"),
                "đã đăng ký".into(),
            ]
        })
        .collect()
}

#[test]
fn a_long_book_spreads_over_numbered_landscape_pages() {
    let pdf = write_register(
        &heading(),
        &COLUMNS,
        rows(300, "Về việc chữ ký số"),
        Vec::new(),
    )
    .unwrap();
    assert_ne!(qpdf_clean(&pdf), Some(false));
    let reader = Reader::new(pdf.as_slice()).unwrap();
    let pages = reader.pages().unwrap();
    // A cover, at least 300 lines / ~38 a page, and the closing page.
    assert!(pages.len() >= 9, "{}", pages.len());
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 841.89"), "A4 landscape");
}

#[test]
fn a_line_taller_than_a_page_continues_on_the_next() {
    let tall = "Nội dung dài ".repeat(1500);
    let few = write_register(&heading(), &COLUMNS, rows(1, "ngắn"), Vec::new()).unwrap();
    let many = write_register(&heading(), &COLUMNS, rows(1, &tall), Vec::new()).unwrap();
    let count = |pdf: &[u8]| Reader::new(pdf).unwrap().pages().unwrap().len();
    assert_eq!(count(&few), 3);
    assert!(count(&many) > 3, "{}", count(&many));
    assert_ne!(qpdf_clean(&many), Some(false));
}

#[test]
fn an_empty_book_still_has_its_table_and_closing_page() {
    let pdf = write_register(&heading(), &COLUMNS, Vec::<Vec<String>>::new(), Vec::new()).unwrap();
    assert_eq!(
        Reader::new(pdf.as_slice()).unwrap().pages().unwrap().len(),
        3
    );
}

#[test]
fn a_line_with_the_wrong_number_of_cells_is_refused() {
    let err =
        write_register(&heading(), &COLUMNS, vec![vec!["1".to_owned()]], Vec::new()).unwrap_err();
    assert!(
        matches!(
            err,
            PrintError::Cells {
                line: 1,
                cells: 1,
                columns: 3
            }
        ),
        "{err}"
    );
}

/// Records how the book reaches its output: the largest single write and the total.
#[derive(Default)]
struct Meter {
    largest: usize,
    total: usize,
}

impl std::io::Write for Meter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.largest = self.largest.max(data.len());
        self.total += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_book_of_thousands_of_lines_reaches_its_output_page_by_page() {
    let meter = write_register(
        &heading(),
        &COLUMNS,
        rows(5000, "Về việc triển khai chữ ký số trong cơ quan nhà nước"),
        Meter::default(),
    )
    .unwrap();
    // Hundreds of pages, none of them (nor the font, nor the page tree) written in one piece
    // anywhere near the whole.
    assert!(meter.total > 250_000, "{}", meter.total);
    assert!(
        meter.largest < 64 * 1024,
        "{} of {}",
        meter.largest,
        meter.total
    );
}
