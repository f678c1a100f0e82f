//! Print-ready register books (sổ đăng ký văn bản đến/đi) as Decree 30/2020 wants them kept:
//! printed from the system, signed and bound. A4 landscape, Vietnamese set in the font the
//! signature appearances embed, a cover, the Appendix IV columns as a table whose header is
//! repeated on every page, numbered pages, and a closing page with the signature lines for
//! binding. Pages are written as they fill, so a book of thousands of lines costs the memory
//! of one page. No database, no HTTP: the caller hands over the lines as text.

mod canvas;
mod text;

use std::io::Write;

use vanthu_pades::appearance::{lower_objects, AppearanceError, TextFont};
use vanthu_pdf::{
    filter::deflate, Dictionary, DocumentWriter, Object, ObjectId, PdfError, PdfString, Stream,
};

use canvas::Canvas;
use text::{clean, wrap};

/// A4 landscape, in points.
pub const PAGE_WIDTH: f32 = 841.89;
/// A4 landscape, in points.
pub const PAGE_HEIGHT: f32 = 595.28;
/// The left margin is the binding edge: 2 cm.
const MARGIN_LEFT: f32 = 56.69;
const MARGIN_RIGHT: f32 = 28.35;
const MARGIN_TOP: f32 = 34.0;
const MARGIN_BOTTOM: f32 = 42.0;
/// Size of the table's text; 9 pt keeps ten columns readable on a landscape page.
const CELL_SIZE: f32 = 9.0;
const LEADING: f32 = 10.8;
/// Inner padding of a cell.
const PAD: f32 = 3.0;
const RUNNING_HEAD_SIZE: f32 = 10.0;
const FOOTER_SIZE: f32 = 9.0;
/// Light grey behind the column titles.
const HEADER_GREY: f32 = 0.88;

/// Which register book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookKind {
    /// Sổ đăng ký văn bản đến.
    Incoming,
    /// Sổ đăng ký văn bản đi.
    Outgoing,
}

impl BookKind {
    /// The book's title as printed.
    pub fn title(self) -> &'static str {
        match self {
            BookKind::Incoming => "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN",
            BookKind::Outgoing => "SỔ ĐĂNG KÝ VĂN BẢN ĐI",
        }
    }

    fn documents(self) -> &'static str {
        match self {
            BookKind::Incoming => "văn bản đến",
            BookKind::Outgoing => "văn bản đi",
        }
    }
}

/// A column of the table: its title and its share of the table's width.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Title in the header row (Appendix IV wording).
    pub title: &'static str,
    /// Relative width; the table's width is shared in proportion.
    pub weight: f32,
}

/// What the cover and the closing page say about the book.
#[derive(Debug, Clone)]
pub struct BookHeading {
    /// Incoming or outgoing.
    pub kind: BookKind,
    /// The governing body (cơ quan chủ quản), printed above the unit when there is one.
    pub parent_unit: Option<String>,
    /// The unit whose book it is.
    pub unit: String,
    /// The register year.
    pub year: i32,
    /// Numbers of the first and last lines, for "Từ số … đến số …".
    pub numbers: Option<(String, String)>,
    /// Dates of the first and last lines, for "Từ ngày … đến ngày …".
    pub dates: Option<(String, String)>,
    /// The day it is printed, as it should read.
    pub printed_on: String,
}

/// Why a book could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The embedded font could not be prepared.
    #[error(transparent)]
    Font(#[from] AppearanceError),
    /// Writing the PDF failed (the output refused bytes).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// A line has more or fewer cells than the table has columns.
    #[error("line {line} has {cells} cells for {columns} columns")]
    Cells {
        /// 1-based line of the book.
        line: usize,
        /// Cells given.
        cells: usize,
        /// Columns of the table.
        columns: usize,
    },
}

/// Writes the book of `rows` (one cell of text per column) to `out` and returns it.
///
/// Page 1 is the cover (unnumbered); the table pages and the closing page are numbered
/// "Trang n/N" and the closing page states N, so a bound book can be checked for missing
/// leaves.
pub fn write_register<W: Write>(
    heading: &BookHeading,
    columns: &[Column],
    rows: impl IntoIterator<Item = Vec<String>>,
    out: W,
) -> Result<W, PrintError> {
    let mut book = Book::new(heading, columns, out)?;
    book.cover()?;
    let mut lines = 0;
    for row in rows {
        lines += 1;
        if row.len() != columns.len() {
            return Err(PrintError::Cells {
                line: lines,
                cells: row.len(),
                columns: columns.len(),
            });
        }
        book.row(&row)?;
    }
    if lines == 0 {
        book.row(&vec![String::new(); columns.len()])?;
    }
    book.closing(lines)?;
    book.finish()
}

/// The writer's state: the open page, the pages written, and the shared font.
struct Book<'a, W: Write> {
    pdf: DocumentWriter<W>,
    font: TextFont,
    heading: &'a BookHeading,
    /// Left edge and width of each column.
    cells: Vec<(f32, f32)>,
    /// The column titles, wrapped to their columns.
    titles: Vec<Vec<String>>,
    /// The title above the table of every page, wrapped to the page.
    running: Vec<String>,
    /// The height a table page has for lines under its header.
    table_room: f32,
    pages_id: ObjectId,
    font_id: ObjectId,
    /// The form XObject that shows the page count, drawn once every page is known.
    total_id: ObjectId,
    kids: Vec<ObjectId>,
    /// The table page being filled, and the height left above the bottom margin.
    page: Option<(Canvas, f32)>,
    /// Whether the open page holds a line already.
    page_has_rows: bool,
}

impl<'a, W: Write> Book<'a, W> {
    fn new(heading: &'a BookHeading, columns: &[Column], out: W) -> Result<Self, PrintError> {
        let mut pdf = DocumentWriter::new(out)?;
        let (pages_id, font_id, total_id) = (pdf.allocate(), pdf.allocate(), pdf.allocate());
        let width = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
        let total: f32 = columns.iter().map(|c| c.weight.max(0.1)).sum();
        let mut x = MARGIN_LEFT;
        let cells: Vec<(f32, f32)> = columns
            .iter()
            .map(|c| {
                let w = width * c.weight.max(0.1) / total;
                x += w;
                (x - w, w)
            })
            .collect();
        let font = TextFont::new()?;
        let titles: Vec<Vec<String>> = columns
            .iter()
            .zip(&cells)
            .map(|(col, (_, w))| wrap(&font, col.title, CELL_SIZE, w - 2.0 * PAD))
            .collect::<Result<_, _>>()?;
        let running = wrap(
            &font,
            &running_title(&font, heading),
            RUNNING_HEAD_SIZE,
            width,
        )?;
        let mut book = Self {
            pdf,
            font,
            heading,
            cells,
            titles,
            running,
            table_room: 0.0,
            pages_id,
            font_id,
            total_id,
            kids: Vec::new(),
            page: None,
            page_has_rows: false,
        };
        book.table_room = PAGE_HEIGHT
            - MARGIN_TOP
            - MARGIN_BOTTOM
            - book.running_height()
            - row_height(&book.titles);
        Ok(book)
    }

    fn running_title(&self) -> String {
        running_title(&self.font, self.heading)
    }

    /// Page 1: the cover, as a register book's cover reads.
    fn cover(&mut self) -> Result<(), PrintError> {
        let mut c = Canvas::default();
        let mid = PAGE_WIDTH / 2.0;
        let wide = PAGE_WIDTH - 2.0 * 90.0;
        let mut y = PAGE_HEIGHT - 80.0;
        if let Some(parent) = &self.heading.parent_unit {
            for line in wrap(
                &self.font,
                &clean(&self.font, parent).to_uppercase(),
                13.0,
                wide,
            )? {
                c.centered(&mut self.font, &line, 13.0, mid, y)?;
                y -= 17.0;
            }
        }
        let unit = clean(&self.font, &self.heading.unit).to_uppercase();
        for line in wrap(&self.font, &unit, 14.0, wide)? {
            c.centered(&mut self.font, &line, 14.0, mid, y)?;
            y -= 18.0;
        }
        c.line(mid - 60.0, y + 8.0, mid + 60.0, y + 8.0);
        let mut y = PAGE_HEIGHT / 2.0 + 50.0;
        c.centered(&mut self.font, self.heading.kind.title(), 28.0, mid, y)?;
        y -= 40.0;
        c.centered(
            &mut self.font,
            &format!("Năm: {}", self.heading.year),
            16.0,
            mid,
            y,
        )?;
        y -= 34.0;
        let (from, to) = self
            .heading
            .dates
            .clone()
            .unwrap_or_else(|| (dots(), dots()));
        c.centered(
            &mut self.font,
            &format!("Từ ngày {from} đến ngày {to}"),
            13.0,
            mid,
            y,
        )?;
        y -= 22.0;
        let (first, last) = self
            .heading
            .numbers
            .clone()
            .unwrap_or_else(|| (dots(), dots()));
        c.centered(
            &mut self.font,
            &format!("Từ số {first} đến số {last}"),
            13.0,
            mid,
            y,
        )?;
        y -= 22.0;
        c.centered(
            &mut self.font,
            &format!("Quyển số: {}", dots()),
            13.0,
            mid,
            y,
        )?;
        self.write_page(c, None)
    }

    /// Opens a table page: the running title and the column titles.
    fn open_page(&mut self) -> Result<(), PrintError> {
        let mut c = Canvas::default();
        let mut y = PAGE_HEIGHT - MARGIN_TOP - RUNNING_HEAD_SIZE;
        let wide = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
        for line in &self.running {
            c.centered(
                &mut self.font,
                line,
                RUNNING_HEAD_SIZE,
                MARGIN_LEFT + wide / 2.0,
                y,
            )?;
            y -= RUNNING_HEAD_SIZE * 1.3;
        }
        let top = PAGE_HEIGHT - MARGIN_TOP - self.running_height();
        let height = row_height(&self.titles);
        c.fill_rect(MARGIN_LEFT, top - height, wide, height, HEADER_GREY);
        let titles = self.titles.clone();
        self.draw_cells(&mut c, &titles, top, height)?;
        self.page = Some((c, self.table_room));
        self.page_has_rows = false;
        Ok(())
    }

    /// Height of the running title above the table, with the gap under it.
    fn running_height(&self) -> f32 {
        self.running.len() as f32 * RUNNING_HEAD_SIZE * 1.3 + 4.0
    }

    fn draw_cells(
        &mut self,
        c: &mut Canvas,
        lines: &[Vec<String>],
        top: f32,
        height: f32,
    ) -> Result<(), PrintError> {
        let baseline = top - PAD - self.font.ascent() * CELL_SIZE;
        for (cell, (x, w)) in lines.iter().zip(&self.cells) {
            c.stroke_rect(*x, top - height, *w, height);
            for (i, line) in cell.iter().enumerate() {
                c.text(
                    &mut self.font,
                    line,
                    CELL_SIZE,
                    x + PAD,
                    baseline - i as f32 * LEADING,
                )?;
            }
        }
        Ok(())
    }

    /// Adds one line of the book, on a new page when it does not fit; a line taller than a
    /// whole page continues on the next one, under the repeated header.
    fn row(&mut self, row: &[String]) -> Result<(), PrintError> {
        let mut rest: Vec<Vec<String>> = row
            .iter()
            .zip(&self.cells)
            .map(|(text, (_, w))| {
                wrap(
                    &self.font,
                    &clean(&self.font, text),
                    CELL_SIZE,
                    w - 2.0 * PAD,
                )
            })
            .collect::<Result<_, _>>()?;
        loop {
            let room = match &self.page {
                Some((_, room)) => *room,
                None => {
                    self.open_page()?;
                    continue;
                }
            };
            let height = row_height(&rest);
            if height <= room {
                return self.draw_row_part(&rest, height);
            }
            // Rather a fresh page than a line cut in two, unless it is taller than a page.
            if self.page_has_rows && height <= self.table_room {
                self.close_page()?;
                continue;
            }
            let fit = ((room - 2.0 * PAD) / LEADING).floor().max(0.0) as usize;
            if fit == 0 && self.page_has_rows {
                self.close_page()?;
                continue;
            }
            let now: Vec<Vec<String>> = rest
                .iter_mut()
                .map(|cell| cell.drain(..fit.max(1).min(cell.len())).collect())
                .collect();
            self.draw_row_part(&now, row_height(&now))?;
            self.close_page()?;
        }
    }

    fn draw_row_part(&mut self, lines: &[Vec<String>], height: f32) -> Result<(), PrintError> {
        let Some((mut c, room)) = self.page.take() else {
            return Ok(());
        };
        let top = room + MARGIN_BOTTOM;
        self.draw_cells(&mut c, lines, top, height)?;
        self.page = Some((c, room - height));
        self.page_has_rows = true;
        Ok(())
    }

    fn close_page(&mut self) -> Result<(), PrintError> {
        if let Some((c, _)) = self.page.take() {
            let number = self.kids.len() as u32;
            self.write_page(c, Some(number))?;
        }
        Ok(())
    }

    /// The last page: how many pages and lines the book has, and the signature lines of
    /// whoever keeps it and the head of the organisation, for binding.
    fn closing(&mut self, lines: usize) -> Result<(), PrintError> {
        self.close_page()?;
        let number = self.kids.len() as u32;
        let mut c = Canvas::default();
        let mid = PAGE_WIDTH / 2.0;
        let mut y = PAGE_HEIGHT - 110.0;
        let title = self.running_title();
        c.centered(&mut self.font, &title, 12.0, mid, y)?;
        y -= 50.0;
        let statement = format!(
            "Sổ này có {number} trang (không kể bìa), đánh số từ trang 01 đến trang {number:02}, ghi {lines} {}.",
            self.heading.kind.documents()
        );
        c.centered(&mut self.font, &statement, 13.0, mid, y)?;
        y -= 22.0;
        let printed = format!(
            "In từ hệ thống quản lý văn bản ngày {}.",
            clean(&self.font, &self.heading.printed_on)
        );
        c.centered(&mut self.font, &printed, 12.0, mid, y)?;
        y -= 60.0;
        let (left, right) = (PAGE_WIDTH * 0.28, PAGE_WIDTH * 0.70);
        c.centered(
            &mut self.font,
            "......., ngày ..... tháng ..... năm ......",
            12.0,
            right,
            y + 22.0,
        )?;
        c.centered(&mut self.font, "NGƯỜI LẬP SỔ", 12.0, left, y)?;
        c.centered(
            &mut self.font,
            "THỦ TRƯỞNG CƠ QUAN, TỔ CHỨC",
            12.0,
            right,
            y,
        )?;
        y -= 16.0;
        c.centered(&mut self.font, "(Ký, ghi rõ họ tên)", 11.0, left, y)?;
        c.centered(&mut self.font, "(Ký tên, đóng dấu)", 11.0, right, y)?;
        self.write_page(c, Some(number))
    }

    /// Writes a page; `number` puts "Trang n/N" at its foot.
    fn write_page(&mut self, mut c: Canvas, number: Option<u32>) -> Result<(), PrintError> {
        if let Some(n) = number {
            let label = format!("Trang {n}/");
            let w = self.font.width(&label, FOOTER_SIZE)?;
            let (x, y) = (PAGE_WIDTH / 2.0 - w, MARGIN_BOTTOM / 2.0);
            c.text(&mut self.font, &label, FOOTER_SIZE, x, y)?;
            c.form(x + w, y, "Tot");
        }
        let contents = self
            .pdf
            .add(&flate_stream(Dictionary::new(), c.into_bytes()))?;
        let mut page = Dictionary::new();
        page.set("Type", Object::name("Page"));
        page.set("Parent", self.pages_id);
        page.set(
            "MediaBox",
            vec![
                0.into(),
                0.into(),
                f64::from(PAGE_WIDTH).into(),
                f64::from(PAGE_HEIGHT).into(),
            ],
        );
        page.set("Resources", self.resources());
        page.set("Contents", contents);
        let id = self.pdf.add(&page.into())?;
        self.kids.push(id);
        Ok(())
    }

    fn resources(&self) -> Dictionary {
        let mut fonts = Dictionary::new();
        fonts.set("F1", self.font_id);
        let mut forms = Dictionary::new();
        forms.set("Tot", self.total_id);
        let mut resources = Dictionary::new();
        resources.set("Font", fonts);
        resources.set("XObject", forms);
        resources
    }

    /// Writes the page count, the page tree, the font subset and the catalog.
    fn finish(mut self) -> Result<W, PrintError> {
        let numbered = self.kids.len().saturating_sub(1);
        let mut total = Canvas::default();
        total.text(&mut self.font, &numbered.to_string(), FOOTER_SIZE, 0.0, 0.0)?;
        let mut form = Dictionary::new();
        form.set("Type", Object::name("XObject"));
        form.set("Subtype", Object::name("Form"));
        form.set("BBox", vec![0.into(), (-4).into(), 60.into(), 12.into()]);
        let mut fonts = Dictionary::new();
        fonts.set("F1", self.font_id);
        let mut resources = Dictionary::new();
        resources.set("Font", fonts);
        form.set("Resources", resources);
        self.pdf
            .write(self.total_id, &flate_stream(form, total.into_bytes()))?;

        let mut pages = Dictionary::new();
        pages.set("Type", Object::name("Pages"));
        pages.set("Count", self.kids.len() as i64);
        pages.set(
            "Kids",
            self.kids
                .iter()
                .map(|id| Object::from(*id))
                .collect::<Vec<_>>(),
        );
        self.pdf.write(self.pages_id, &pages.into())?;

        let resource = self.font.into_resource("F1")?;
        let mut objects = Vec::new();
        let type0 = resource.push_objects(&mut objects);
        let ids: Vec<ObjectId> = (0..objects.len())
            .map(|i| {
                if i == type0 {
                    self.font_id
                } else {
                    self.pdf.allocate()
                }
            })
            .collect();
        for (object, id) in lower_objects(&objects, &ids).iter().zip(&ids) {
            self.pdf.write(*id, object)?;
        }

        let mut info = Dictionary::new();
        info.set(
            "Title",
            PdfString::text(&format!(
                "{} — {} — {}",
                self.heading.kind.title(),
                self.heading.unit,
                self.heading.year
            )),
        );
        info.set("Producer", PdfString::text("vanthu"));
        let info = self.pdf.add(&info.into())?;
        let mut catalog = Dictionary::new();
        catalog.set("Type", Object::name("Catalog"));
        catalog.set("Pages", self.pages_id);
        let root = self.pdf.add(&catalog.into())?;
        Ok(self.pdf.finish(root, Some(info))?)
    }
}

/// "UNIT — SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — NĂM 2026", atop every table page.
fn running_title(font: &TextFont, heading: &BookHeading) -> String {
    format!(
        "{} — {} — NĂM {}",
        clean(font, &heading.unit),
        heading.kind.title(),
        heading.year
    )
}

fn flate_stream(mut dict: Dictionary, content: Vec<u8>) -> Object {
    dict.set("Filter", Object::name("FlateDecode"));
    Object::Stream(Stream {
        dict,
        data: deflate(&content),
    })
}

fn row_height(cells: &[Vec<String>]) -> f32 {
    let lines = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
    lines as f32 * LEADING + 2.0 * PAD
}

/// A blank to be filled by hand.
fn dots() -> String {
    "..........".to_owned()
}

#[cfg(test)]
mod tests;
