//! Visible signature appearances as Decree 30/2020 Appendix I describes them.
//!
//! - [`official`]: the official's signature image (PNG with transparency) centred in the
//!   signature rectangle, with optional text lines under it.
//! - [`seal`]: the organisation's red seal at its real size, overlapping the left third of the
//!   official's signature image ([`seal_rect`] computes where).
//! - [`stamp`]: the no-image stamp for attachments and electronic copies, at the top right of
//!   page 1: number/notation (or copy type and copying organisation) and the signing time as
//!   ISO 8601 with the Vietnam offset, Times-like 10 pt black.
//! - [`field_text`]: a filled text field (number, date) in the same font, so Vietnamese shows.
//!
//! The result is an [`Appearance`]: a form XObject content stream with its fonts and images,
//! described independently of the PDF writer; [`Appearance::objects`] lowers it to a small
//! object graph that the signing flow writes in its incremental update.

mod font;
mod image;
mod object;
mod write;

use chrono::{DateTime, FixedOffset};

pub use font::{FontResource, TextFont};
pub use image::ImageResource;
pub use object::{Dict, Object, Value};
pub use write::lower_objects;

use object::{fmt_num, name, rect_array};

/// Font size of text in appearances: Appendix I asks for 10 pt.
pub const TEXT_SIZE: f32 = 10.0;

/// Smallest size text is shrunk to when a line does not fit the rectangle.
const MIN_TEXT_SIZE: f32 = 6.0;

/// Leading between text lines, as a multiple of the font size.
const LINE_SPACING: f32 = 1.2;

/// Inner padding of appearances, in points.
const PADDING: f32 = 2.0;

/// Distance of the copy/attachment stamp from the top and right edges of page 1, in points.
const STAMP_MARGIN: f32 = 20.0;

/// Errors building an appearance.
#[derive(Debug, thiserror::Error)]
pub enum AppearanceError {
    /// The image is not a PNG this code can read.
    #[error("the signature image is not a readable PNG: {0}")]
    Png(String),
    /// The image is too large to embed.
    #[error("the signature image is too large ({width} x {height} pixels)")]
    ImageTooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A character of the text has no glyph in the embedded font.
    #[error("the character {0:?} cannot be shown in the signature appearance")]
    UnsupportedCharacter(char),
    /// The embedded font could not be read or subset.
    #[error("the embedded font could not be prepared: {0}")]
    Font(String),
    /// The rectangle has no area or is not finite.
    #[error("the signature rectangle must have a positive width and height")]
    EmptyRect,
}

/// A rectangle in PDF user space (points), by lower-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Lower-left x.
    pub x: f32,
    /// Lower-left y.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl Rect {
    /// As a PDF rectangle `[llx lly urx ury]`.
    pub fn to_pdf(self) -> [f32; 4] {
        [self.x, self.y, self.x + self.width, self.y + self.height]
    }

    /// From a PDF rectangle `[x1 y1 x2 y2]` in any corner order.
    pub fn from_pdf(r: [f32; 4]) -> Self {
        let (x, y) = (r[0].min(r[2]), r[1].min(r[3]));
        Self {
            x,
            y,
            width: (r[2] - r[0]).abs(),
            height: (r[3] - r[1]).abs(),
        }
    }

    fn check(self) -> Result<Self, AppearanceError> {
        let finite = [self.x, self.y, self.width, self.height]
            .iter()
            .all(|v| v.is_finite());
        if finite && self.width > 0.0 && self.height > 0.0 {
            Ok(self)
        } else {
            Err(AppearanceError::EmptyRect)
        }
    }
}

/// A visible signature's appearance, independent of the PDF writer.
#[derive(Debug, Clone, PartialEq)]
pub struct Appearance {
    /// Where the signature widget goes on the page (its /Rect).
    pub rect: Rect,
    /// The form XObject's /BBox: `[0 0 width height]`.
    pub bbox: [f32; 4],
    /// The form XObject's content stream (uncompressed).
    pub content: Vec<u8>,
    /// Fonts the content uses, by resource name.
    pub fonts: Vec<FontResource>,
    /// Images the content uses, by resource name.
    pub images: Vec<ImageResource>,
    /// Where the signature image landed on the page, for placing a seal over it later.
    pub image_rect: Option<Rect>,
}

impl Appearance {
    /// Lowers the appearance to PDF objects. Entry 0 is the appearance stream (the form
    /// XObject for the widget's /AP /N); the other entries are its fonts and images, referred
    /// to by [`Value::Ref`] indices into the returned list.
    pub fn objects(&self) -> Vec<Object> {
        let mut objects = vec![Object {
            dict: Dict::default(),
            stream: None,
        }];
        let mut fonts = Dict::default();
        for f in &self.fonts {
            let i = f.push_objects(&mut objects);
            fonts.0.push((f.name.clone(), Value::Ref(i)));
        }
        let mut xobjects = Dict::default();
        for im in &self.images {
            let i = im.push_objects(&mut objects);
            xobjects.0.push((im.name.clone(), Value::Ref(i)));
        }
        let mut resources = Dict::default();
        if !fonts.0.is_empty() {
            resources = resources.with("Font", Value::Dict(fonts));
        }
        if !xobjects.0.is_empty() {
            resources = resources.with("XObject", Value::Dict(xobjects));
        }
        objects[0] = Object {
            dict: Dict::default()
                .with("Type", name("XObject"))
                .with("Subtype", name("Form"))
                .with("BBox", rect_array(self.bbox))
                .with("Resources", Value::Dict(resources))
                .with("Filter", name("FlateDecode")),
            stream: Some(font::deflate(&self.content)),
        };
        objects
    }
}

/// The official's appearance: the signature image centred in `rect`, scaled to fit with its
/// proportions kept, and `lines` of text centred under it (10 pt, shrunk if too wide).
pub fn official(
    rect: Rect,
    image_png: &[u8],
    lines: &[String],
) -> Result<Appearance, AppearanceError> {
    let rect = rect.check()?;
    let image = ImageResource::from_png(image_png, "Im1")?;
    let mut font = TextFont::new()?;
    let mut content = Vec::new();

    let text_size = fitting_size(&font, lines, rect.width - 2.0 * PADDING)?;
    let text_height = lines.len() as f32 * text_size * LINE_SPACING;
    let mut baseline = PADDING
        + font.descent() * text_size
        + (lines.len() as f32 - 1.0) * text_size * LINE_SPACING;
    for line in lines {
        let width = font.width(line, text_size)?;
        let x = (rect.width - width) / 2.0;
        show_text(&mut content, &mut font, line, text_size, x, baseline)?;
        baseline -= text_size * LINE_SPACING;
    }

    let area = Rect {
        x: PADDING,
        y: PADDING + text_height,
        width: rect.width - 2.0 * PADDING,
        height: rect.height - 2.0 * PADDING - text_height,
    };
    let placed = fit(image.width as f32, image.height as f32, area);
    if let Some(p) = placed {
        draw_image(&mut content, &image.name, p);
    }
    let image_rect = placed.map(|p| Rect {
        x: rect.x + p.x,
        y: rect.y + p.y,
        ..p
    });
    finish(
        rect,
        content,
        font,
        lines.is_empty(),
        vec![image],
        image_rect,
    )
}

/// A visible signature without an image: `lines` (e.g. "Ký bởi / Signed by", the signer's
/// name, the signing time) left-aligned from the top of `rect` in the embedded font, 10 pt or
/// smaller so that every line fits.
pub fn text_only(rect: Rect, lines: &[String]) -> Result<Appearance, AppearanceError> {
    let rect = rect.check()?;
    let mut font = TextFont::new()?;
    let by_width = fitting_size(&font, lines, rect.width - 2.0 * PADDING)?;
    let rows = lines.len().max(1) as f32 * LINE_SPACING;
    let by_height = (rect.height - 2.0 * PADDING) / rows;
    // A rectangle too small even for the smallest readable size still gets every line, clipped
    // by the viewer to the widget, rather than an error.
    let size = by_width.min(by_height).max(1.0);
    let mut content = Vec::new();
    let mut baseline = rect.height - PADDING - font.ascent() * size;
    for line in lines {
        show_text(&mut content, &mut font, line, size, PADDING, baseline)?;
        baseline -= size * LINE_SPACING;
    }
    finish(rect, content, font, lines.is_empty(), Vec::new(), None)
}

/// Where the organisation's seal goes: at `seal_size` (its real size, points), centred
/// vertically on the official's signature image and covering the left third of it.
pub fn seal_rect(official_image: Rect, seal_size: (f32, f32)) -> Rect {
    let (w, h) = seal_size;
    Rect {
        x: official_image.x + official_image.width / 3.0 - w,
        y: official_image.y + official_image.height / 2.0 - h / 2.0,
        width: w,
        height: h,
    }
}

/// The organisation's seal appearance: the seal image at its real size (from the PNG's pHYs
/// resolution), placed by [`seal_rect`] over the official's signature image.
pub fn seal(official_image: Rect, seal_png: &[u8]) -> Result<Appearance, AppearanceError> {
    official_image.check()?;
    let image = ImageResource::from_png(seal_png, "Im1")?;
    let rect = seal_rect(official_image, image.natural_size).check()?;
    let mut content = Vec::new();
    let placed = Rect {
        x: 0.0,
        y: 0.0,
        width: rect.width,
        height: rect.height,
    };
    draw_image(&mut content, &image.name, placed);
    finish(
        rect,
        content,
        TextFont::new()?,
        true,
        vec![image],
        Some(rect),
    )
}

/// What the no-image stamp of an attachment or an electronic copy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampLabel {
    /// An attachment in a separate file: the document's number and notation
    /// (e.g. `Số: 12/QĐ-UBND`), shown as given.
    Number(String),
    /// An electronic copy: the form of copy and the organisation making it.
    Copy {
        /// The form of copy.
        kind: CopyKind,
        /// Name of the copying organisation.
        organisation: String,
    },
}

/// Forms of copy (Decree 30/2020, article 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// Sao y: a full, exact copy.
    SaoY,
    /// Sao lục: a full copy made from a copy.
    SaoLuc,
    /// Trích sao: an extract.
    TrichSao,
}

impl CopyKind {
    /// The label printed on the copy.
    pub fn label(self) -> &'static str {
        match self {
            CopyKind::SaoY => "SAO Y",
            CopyKind::SaoLuc => "SAO LỤC",
            CopyKind::TrichSao => "TRÍCH SAO",
        }
    }
}

/// The signing time as Appendix I prints it: ISO 8601 in Vietnam time,
/// e.g. `2026-11-22T10:15:00+07:00`.
pub fn vietnam_time(time: DateTime<FixedOffset>) -> String {
    let ict = FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset");
    time.with_timezone(&ict)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The no-image stamp at the top right of page 1 (whose visible box is `page_box`): the
/// label's lines and the signing time, Times-like 10 pt black, right-aligned.
pub fn stamp(
    page_box: Rect,
    label: &StampLabel,
    signing_time: DateTime<FixedOffset>,
) -> Result<Appearance, AppearanceError> {
    let page_box = page_box.check()?;
    let mut lines: Vec<String> = match label {
        StampLabel::Number(n) => vec![n.clone()],
        StampLabel::Copy { kind, organisation } => {
            vec![kind.label().to_owned(), organisation.clone()]
        }
    };
    lines.push(vietnam_time(signing_time));
    let mut font = TextFont::new()?;
    let max_width = page_box.width / 2.0;
    let size = fitting_size(&font, &lines, max_width - 2.0 * PADDING)?;
    let mut widest: f32 = 0.0;
    for line in &lines {
        widest = widest.max(font.width(line, size)?);
    }
    let width = widest + 2.0 * PADDING;
    let height = lines.len() as f32 * size * LINE_SPACING + 2.0 * PADDING;
    let rect = Rect {
        x: page_box.x + page_box.width - STAMP_MARGIN - width,
        y: page_box.y + page_box.height - STAMP_MARGIN - height,
        width,
        height,
    };
    let mut content = Vec::new();
    let mut baseline = height - PADDING - font.ascent() * size;
    for line in &lines {
        let x = width - PADDING - font.width(line, size)?;
        show_text(&mut content, &mut font, line, size, x, baseline)?;
        baseline -= size * LINE_SPACING;
    }
    finish(rect, content, font, false, Vec::new(), None)
}

/// The appearance of a filled text field (the clerk's number and date written into the form
/// after the official signed): `value` on one line in the embedded font, so Vietnamese shows,
/// 10 pt or smaller to fit a `width` x `height` widget, vertically centred.
pub fn field_text(width: f32, height: f32, value: &str) -> Result<Appearance, AppearanceError> {
    let rect = Rect {
        x: 0.0,
        y: 0.0,
        width,
        height,
    }
    .check()?;
    let mut font = TextFont::new()?;
    let line_height = font.ascent() + font.descent();
    let by_height = ((height - 2.0 * PADDING) / line_height).clamp(1.0, TEXT_SIZE);
    let by_width = fitting_size(&font, &[value.to_owned()], width - 2.0 * PADDING)?;
    let size = by_height.min(by_width);
    let baseline = (height - line_height * size) / 2.0 + font.descent() * size;
    let mut content = b"/Tx BMC\n".to_vec();
    if !value.is_empty() {
        show_text(&mut content, &mut font, value, size, PADDING, baseline)?;
    }
    content.extend_from_slice(b"EMC\n");
    finish(rect, content, font, value.is_empty(), Vec::new(), None)
}

/// Largest size up to [`TEXT_SIZE`] at which every line fits `width`.
fn fitting_size(font: &TextFont, lines: &[String], width: f32) -> Result<f32, AppearanceError> {
    let mut widest: f32 = 0.0;
    for line in lines {
        widest = widest.max(font.width(line, TEXT_SIZE)?);
    }
    Ok(if widest <= width || widest == 0.0 {
        TEXT_SIZE
    } else {
        (TEXT_SIZE * width / widest).max(MIN_TEXT_SIZE)
    })
}

/// The largest rectangle of the image's proportions inside `area`, centred; `None` when the
/// area has no room.
fn fit(img_w: f32, img_h: f32, area: Rect) -> Option<Rect> {
    if area.width <= 0.0 || area.height <= 0.0 || img_w <= 0.0 || img_h <= 0.0 {
        return None;
    }
    let scale = (area.width / img_w).min(area.height / img_h);
    let (w, h) = (img_w * scale, img_h * scale);
    Some(Rect {
        x: area.x + (area.width - w) / 2.0,
        y: area.y + (area.height - h) / 2.0,
        width: w,
        height: h,
    })
}

fn draw_image(content: &mut Vec<u8>, name: &str, at: Rect) {
    content.extend_from_slice(
        format!(
            "q {} 0 0 {} {} {} cm /{} Do Q\n",
            fmt_num(at.width),
            fmt_num(at.height),
            fmt_num(at.x),
            fmt_num(at.y),
            name
        )
        .as_bytes(),
    );
}

fn show_text(
    content: &mut Vec<u8>,
    font: &mut TextFont,
    text: &str,
    size: f32,
    x: f32,
    y: f32,
) -> Result<(), AppearanceError> {
    let hex = font.encode_hex(text)?;
    content.extend_from_slice(
        format!(
            "BT 0 g /F1 {} Tf 1 0 0 1 {} {} Tm <{}> Tj ET\n",
            fmt_num(size),
            fmt_num(x),
            fmt_num(y),
            hex
        )
        .as_bytes(),
    );
    Ok(())
}

fn finish(
    rect: Rect,
    content: Vec<u8>,
    font: TextFont,
    no_text: bool,
    images: Vec<ImageResource>,
    image_rect: Option<Rect>,
) -> Result<Appearance, AppearanceError> {
    let fonts = if no_text {
        Vec::new()
    } else {
        vec![font.into_resource("F1")?]
    };
    Ok(Appearance {
        rect,
        bbox: [0.0, 0.0, rect.width, rect.height],
        content,
        fonts,
        images,
        image_rect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &[u8] = include_bytes!("../../assets/demo/signature.png");
    const SEAL: &[u8] = include_bytes!("../../assets/demo/seal.png");
    const A4: Rect = Rect {
        x: 0.0,
        y: 0.0,
        width: 595.0,
        height: 842.0,
    };

    #[test]
    fn time_is_printed_in_vietnam_time() {
        let utc = DateTime::parse_from_rfc3339("2026-11-22T03:15:00Z").unwrap();
        assert_eq!(vietnam_time(utc), "2026-11-22T10:15:00+07:00");
    }

    #[test]
    fn official_image_is_centred_with_its_proportions() {
        let rect = Rect {
            x: 300.0,
            y: 100.0,
            width: 200.0,
            height: 120.0,
        };
        let ap = official(rect, SIGNATURE, &["Nguyễn Văn Đức".to_owned()]).unwrap();
        let img = ap.image_rect.unwrap();
        // 600 x 240 px: 5:2, limited by the 196 pt usable width.
        assert!((img.width / img.height - 2.5).abs() < 1e-3);
        let centre_x = img.x + img.width / 2.0;
        assert!((centre_x - 400.0).abs() < 0.01);
        assert!(img.y >= rect.y + TEXT_SIZE, "image above the text line");
        assert!(img.y + img.height <= rect.y + rect.height);
        assert_eq!(ap.fonts.len(), 1);
        assert_eq!(ap.images[0].name, "Im1");
        let content = String::from_utf8(ap.content.clone()).unwrap();
        assert!(content.contains("/Im1 Do"));
        assert!(content.contains("/F1 10 Tf"));
    }

    #[test]
    fn official_without_text_embeds_no_font() {
        let rect = Rect {
            x: 0.0,
            y: 0.0,
            width: 150.0,
            height: 60.0,
        };
        let ap = official(rect, SIGNATURE, &[]).unwrap();
        assert!(ap.fonts.is_empty());
        let objects = ap.objects();
        let resources = objects[0].dict.get("Resources").unwrap();
        let Value::Dict(res) = resources else {
            panic!("resources is a dictionary")
        };
        assert!(res.get("Font").is_none());
        assert!(res.get("XObject").is_some());
    }

    #[test]
    fn seal_covers_the_left_third_of_the_signature() {
        let img = Rect {
            x: 350.0,
            y: 150.0,
            width: 150.0,
            height: 60.0,
        };
        let ap = seal(img, SEAL).unwrap();
        let r = ap.rect;
        // Real size: 36 mm = 102 pt.
        assert!((r.width - 102.0).abs() < 0.5);
        assert!((r.x + r.width - (img.x + img.width / 3.0)).abs() < 0.01);
        assert!((r.y + r.height / 2.0 - (img.y + img.height / 2.0)).abs() < 0.01);
        assert!(ap.fonts.is_empty());
    }

    #[test]
    fn stamp_sits_top_right_of_the_page() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T10:15:00+07:00").unwrap();
        let label = StampLabel::Copy {
            kind: CopyKind::SaoY,
            organisation: "Văn phòng Ủy ban nhân dân tỉnh Vĩnh Phúc".to_owned(),
        };
        let ap = stamp(A4, &label, time).unwrap();
        let r = ap.rect;
        assert!((r.x + r.width - (595.0 - STAMP_MARGIN)).abs() < 0.01);
        assert!((r.y + r.height - (842.0 - STAMP_MARGIN)).abs() < 0.01);
        // Three lines of 10 pt text.
        assert!((r.height - (3.0 * 12.0 + 2.0 * PADDING)).abs() < 0.01);
        assert!(ap.images.is_empty());
        let cmap = String::from_utf8(ap.fonts[0].to_unicode.clone()).unwrap();
        // Ụ (U+1EE4) of "SAO LỤC" is not used here, but Ủ (U+1EE6) of "Ủy" is.
        assert!(cmap.contains("<1EE6>"));
    }

    #[test]
    fn objects_reference_only_entries_of_the_list() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T10:15:00+07:00").unwrap();
        let rect = Rect {
            x: 10.0,
            y: 10.0,
            width: 180.0,
            height: 90.0,
        };
        let mut ap = official(rect, SIGNATURE, &["Trần Thị Hằng".to_owned()]).unwrap();
        ap.fonts.extend(
            stamp(A4, &StampLabel::Number("Số: 7/UBND".into()), time)
                .unwrap()
                .fonts,
        );
        let objects = ap.objects();
        fn refs(v: &Value, out: &mut Vec<usize>) {
            match v {
                Value::Ref(i) => out.push(*i),
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                Value::Dict(d) => d.0.iter().for_each(|(_, v)| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        for o in &objects {
            o.dict.0.iter().for_each(|(_, v)| refs(v, &mut all));
        }
        assert!(all.iter().all(|i| *i > 0 && *i < objects.len()));
        // Every object but the appearance stream itself is referenced.
        for i in 1..objects.len() {
            assert!(all.contains(&i), "object {i} unreferenced");
        }
    }

    #[test]
    fn field_text_fits_its_widget() {
        let ap = field_text(120.0, 14.0, "Số: 125/QĐ-UBND ngày 22/11/2026").unwrap();
        assert_eq!(ap.bbox, [0.0, 0.0, 120.0, 14.0]);
        let content = String::from_utf8(ap.content.clone()).unwrap();
        assert!(content.starts_with("/Tx BMC") && content.ends_with("EMC\n"));
        // The text is wider than 116 pt at 10 pt, so it is shrunk.
        assert!(!content.contains("/F1 10 Tf"), "{content}");
        let cmap = String::from_utf8(ap.fonts[0].to_unicode.clone()).unwrap();
        assert!(cmap.contains("<0110>"), "Đ is mapped back");
        // An empty value draws nothing and needs no font.
        assert!(field_text(120.0, 14.0, "").unwrap().fonts.is_empty());
    }

    #[test]
    fn text_only_signature_shows_every_line_in_the_embedded_font() {
        let rect = Rect {
            x: 350.0,
            y: 80.0,
            width: 180.0,
            height: 30.0,
        };
        let lines = [
            "Ký bởi / Signed by".to_owned(),
            "Nguyễn Văn Đức".to_owned(),
            "2026-11-22T10:15:00+07:00".to_owned(),
        ];
        let ap = text_only(rect, &lines).unwrap();
        assert_eq!(ap.rect, rect);
        assert!(ap.images.is_empty() && ap.image_rect.is_none());
        let content = String::from_utf8(ap.content.clone()).unwrap();
        assert_eq!(content.matches(" Tj ET").count(), 3);
        // Three lines do not fit 26 pt at 10 pt (3 x 12 pt leading): shrunk.
        assert!(!content.contains("/F1 10 Tf"), "{content}");
        let cmap = String::from_utf8(ap.fonts[0].to_unicode.clone()).unwrap();
        assert!(
            cmap.contains("<0110>") && cmap.contains("<00FD>"),
            "Đ and ý mapped"
        );
    }

    #[test]
    fn empty_or_invalid_rects_are_refused() {
        let bad = Rect {
            x: 0.0,
            y: 0.0,
            width: 0.0,
            height: 10.0,
        };
        assert!(matches!(
            official(bad, SIGNATURE, &[]),
            Err(AppearanceError::EmptyRect)
        ));
        let nan = Rect { x: f32::NAN, ..A4 };
        assert!(stamp(nan, &StampLabel::Number("1".into()), Default::default()).is_err());
    }
}
