//! The embedded Times-like font: glyph lookup, metrics, and a subset written as a Type0
//! (CIDFontType2, Identity-H) font with /W widths and a /ToUnicode map.

use std::collections::BTreeMap;

use subsetter::GlyphRemapper;
use unicode_normalization::UnicodeNormalization;

use super::object::{name, real, Dict, Object, Value};
use super::AppearanceError;
use crate::memo::Memo;

/// Liberation Serif Regular 2.1.5 (SIL OFL 1.1, see assets/fonts/LICENSE-OFL.txt): metric
/// compatible with Times New Roman, which Decree 30/2020 asks for, and it covers Vietnamese
/// with precomposed glyphs, so no shaping engine is needed.
const LIBERATION_SERIF: &[u8] = include_bytes!("../../assets/fonts/LiberationSerif-Regular.ttf");

/// PostScript name of the embedded face, used after the subset tag in /BaseFont.
const POSTSCRIPT_NAME: &str = "LiberationSerif";

/// Text set in the embedded font, collecting the glyphs it uses so only those are embedded.
///
/// Public so that other printed output (the register books of `vanthu-print`) sets its text
/// in the same face, subset and embedded the same way.
pub struct TextFont {
    face: ttf_parser::Face<'static>,
    remapper: GlyphRemapper,
    /// New glyph id (the CID) -> the text it stands for, for /ToUnicode.
    unicode: BTreeMap<u16, String>,
}

impl TextFont {
    /// The embedded face, with only the ten digits used yet.
    ///
    /// The digits take the first glyph ids whatever the text, so texts that differ only in
    /// their digits (a signing time, a number, a date) subset to the same font program, which
    /// [`FontResource::push_objects`] then compresses once for the process.
    pub fn new() -> Result<Self, AppearanceError> {
        let face = ttf_parser::Face::parse(LIBERATION_SERIF, 0)
            .map_err(|e| AppearanceError::Font(e.to_string()))?;
        let mut font = Self {
            face,
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        };
        font.encode("0123456789")?;
        Ok(font)
    }

    /// Encodes `text` as 2-byte CIDs for an Identity-H string, registering its glyphs.
    ///
    /// Text is NFC-normalised first: Vietnamese typed on some systems arrives decomposed
    /// (base letter + combining marks), and the font carries the precomposed letters.
    pub fn encode(&mut self, text: &str) -> Result<Vec<u8>, AppearanceError> {
        let mut out = Vec::new();
        for c in text.nfc() {
            let gid = self
                .face
                .glyph_index(c)
                .ok_or(AppearanceError::UnsupportedCharacter(c))?;
            let cid = self.remapper.remap(gid.0);
            self.unicode.entry(cid).or_insert_with(|| c.to_string());
            out.extend_from_slice(&cid.to_be_bytes());
        }
        Ok(out)
    }

    /// [`encode`](Self::encode) as the hex digits of a content stream's `<…> Tj` string.
    pub fn encode_hex(&mut self, text: &str) -> Result<String, AppearanceError> {
        Ok(self
            .encode(text)?
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect())
    }

    /// Width of `text` in points at `size` (no kerning, like the Tj operator draws it).
    pub fn width(&self, text: &str, size: f32) -> Result<f32, AppearanceError> {
        let mut units = 0u32;
        for c in text.nfc() {
            let gid = self
                .face
                .glyph_index(c)
                .ok_or(AppearanceError::UnsupportedCharacter(c))?;
            units += u32::from(self.face.glyph_hor_advance(gid).unwrap_or(0));
        }
        Ok(units as f32 * size / f32::from(self.face.units_per_em()))
    }

    /// Distance from the baseline to the top of the tallest glyphs, per point of size.
    pub fn ascent(&self) -> f32 {
        f32::from(self.face.ascender()) / f32::from(self.face.units_per_em())
    }

    /// Distance from the baseline down to the lowest descenders (positive), per point of size.
    pub fn descent(&self) -> f32 {
        -f32::from(self.face.descender()) / f32::from(self.face.units_per_em())
    }

    /// Whether the face has a glyph for `c` (after NFC normalisation of its text).
    pub fn supports(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    fn to_pdf_units(&self, v: i16) -> f32 {
        (f32::from(v) * 1000.0 / f32::from(self.face.units_per_em())).round()
    }

    /// Subsets the font to the glyphs used so far and describes it as PDF objects.
    pub fn into_resource(self, resource_name: &str) -> Result<FontResource, AppearanceError> {
        let subset = subset_program(&self.remapper)?;
        let upem = f32::from(self.face.units_per_em());
        let widths: Vec<u16> = self
            .remapper
            .remapped_gids()
            .take(usize::from(self.remapper.num_gids()))
            .map(|gid| {
                let adv = self
                    .face
                    .glyph_hor_advance(ttf_parser::GlyphId(gid))
                    .unwrap_or(0);
                (f32::from(adv) * 1000.0 / upem).round() as u16
            })
            .collect();
        let bbox = self.face.global_bounding_box();
        Ok(FontResource {
            name: resource_name.to_owned(),
            base_font: format!("{}+{}", subset_tag(&widths, &self.unicode), POSTSCRIPT_NAME),
            widths,
            ascent: self.to_pdf_units(self.face.ascender()),
            descent: self.to_pdf_units(self.face.descender()),
            cap_height: self.to_pdf_units(self.face.capital_height().unwrap_or(662)),
            bbox: [
                self.to_pdf_units(bbox.x_min),
                self.to_pdf_units(bbox.y_min),
                self.to_pdf_units(bbox.x_max),
                self.to_pdf_units(bbox.y_max),
            ],
            italic_angle: self.face.italic_angle(),
            font_file: subset,
            to_unicode: to_unicode_cmap(&self.unicode),
        })
    }
}

/// The six capital letters that mark a subset font's /BaseFont (ISO 32000-1, 9.6.4), derived
/// from the subset's content so the same text gives the same name.
fn subset_tag(widths: &[u16], unicode: &BTreeMap<u16, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for w in widths {
        w.to_be_bytes().into_iter().for_each(&mut feed);
    }
    for s in unicode.values() {
        s.bytes().for_each(&mut feed);
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
        .collect()
}

/// A /ToUnicode CMap mapping each CID to its text (UTF-16BE), so copy and search and
/// `pdftotext` give back the Vietnamese.
fn to_unicode_cmap(unicode: &BTreeMap<u16, String>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = unicode.iter().collect();
    // A bfchar block holds at most 100 entries (Adobe Technical Note 5411).
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, text) in chunk {
            let utf16: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
            s.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

/// A subset of the embedded font, described completely enough for any PDF writer.
#[derive(Debug, Clone, PartialEq)]
pub struct FontResource {
    /// Name under which the appearance's /Resources /Font lists it (e.g. `F1`).
    pub name: String,
    /// /BaseFont: subset tag + PostScript name.
    pub base_font: String,
    /// Advance width (1/1000 em) of each CID, starting at CID 0.
    pub widths: Vec<u16>,
    /// Font descriptor /Ascent.
    pub ascent: f32,
    /// Font descriptor /Descent (negative).
    pub descent: f32,
    /// Font descriptor /CapHeight.
    pub cap_height: f32,
    /// Font descriptor /FontBBox.
    pub bbox: [f32; 4],
    /// Font descriptor /ItalicAngle.
    pub italic_angle: f32,
    /// The subset TrueType program (uncompressed), for /FontFile2.
    pub font_file: Vec<u8>,
    /// The /ToUnicode CMap (uncompressed).
    pub to_unicode: Vec<u8>,
}

impl FontResource {
    /// Appends the font's objects (Type0 font, CIDFont, descriptor, font file, ToUnicode) to
    /// `objects` and returns the index of the Type0 font dictionary.
    pub fn push_objects(&self, objects: &mut Vec<Object>) -> usize {
        let font_file = objects.len();
        objects.push(Object {
            dict: Dict::default()
                .with("Length1", Value::Integer(self.font_file.len() as i64))
                .with("Filter", name("FlateDecode")),
            stream: Some(deflated_font_program(&self.font_file)),
        });
        let descriptor = objects.len();
        objects.push(Object {
            dict: Dict::default()
                .with("Type", name("FontDescriptor"))
                .with("FontName", name(&self.base_font))
                // Nonsymbolic (32) + Serif (2): the font uses the standard Latin character set.
                .with("Flags", Value::Integer(34))
                .with("FontBBox", super::object::rect_array(self.bbox))
                .with("ItalicAngle", real(self.italic_angle))
                .with("Ascent", real(self.ascent))
                .with("Descent", real(self.descent))
                .with("CapHeight", real(self.cap_height))
                .with("StemV", Value::Integer(80))
                .with("FontFile2", Value::Ref(font_file)),
            stream: None,
        });
        let cid_font = objects.len();
        objects.push(Object {
            dict: Dict::default()
                .with("Type", name("Font"))
                .with("Subtype", name("CIDFontType2"))
                .with("BaseFont", name(&self.base_font))
                .with(
                    "CIDSystemInfo",
                    Value::Dict(
                        Dict::default()
                            .with("Registry", Value::String(b"Adobe".to_vec()))
                            .with("Ordering", Value::String(b"Identity".to_vec()))
                            .with("Supplement", Value::Integer(0)),
                    ),
                )
                .with("FontDescriptor", Value::Ref(descriptor))
                .with(
                    "W",
                    Value::Array(vec![
                        Value::Integer(0),
                        Value::Array(
                            self.widths
                                .iter()
                                .map(|w| Value::Integer(i64::from(*w)))
                                .collect(),
                        ),
                    ]),
                )
                .with("CIDToGIDMap", name("Identity")),
            stream: None,
        });
        let to_unicode = objects.len();
        objects.push(Object {
            dict: Dict::default().with("Filter", name("FlateDecode")),
            stream: Some(deflate(&self.to_unicode)),
        });
        let type0 = objects.len();
        objects.push(Object {
            dict: Dict::default()
                .with("Type", name("Font"))
                .with("Subtype", name("Type0"))
                .with("BaseFont", name(&self.base_font))
                .with("Encoding", name("Identity-H"))
                .with("DescendantFonts", Value::Array(vec![Value::Ref(cid_font)]))
                .with("ToUnicode", Value::Ref(to_unicode)),
            stream: None,
        });
        type0
    }
}

/// zlib-compresses `data` for a /FlateDecode stream.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    crate::pdf::filter::deflate(data)
}

/// The subset of the face holding the glyphs `remapper` took, in its order, from a
/// process-wide cache keyed by that order: subsetting is deterministic, and an official's
/// appearances take the same glyphs signature after signature.
fn subset_program(remapper: &GlyphRemapper) -> Result<Vec<u8>, AppearanceError> {
    static SUBSETS: Memo<Vec<u16>, Vec<u8>> = Memo::new(MAX_CACHED_FONT_PROGRAMS);
    let glyphs: Vec<u16> = remapper
        .remapped_gids()
        .take(usize::from(remapper.num_gids()))
        .collect();
    SUBSETS.get_or_try(&glyphs, || {
        subsetter::subset(LIBERATION_SERIF, 0, remapper)
            .map_err(|e| AppearanceError::Font(e.to_string()))
    })
}

/// Most font subsets [`subset_program`], and compressed programs [`deflated_font_program`],
/// keep; each starts over when full.
const MAX_CACHED_FONT_PROGRAMS: usize = 256;

/// The compressed /FontFile2 of a subset, from a process-wide cache keyed by the subset's
/// SHA-256.
///
/// Compressing the subset is most of the cost of a visible signature, and an official's
/// appearances keep the same glyphs signature after signature (their name, position and the
/// digits of the time, see [`TextFont::new`]). Compression is deterministic, so a hit gives
/// the same bytes as compressing again.
fn deflated_font_program(program: &[u8]) -> Vec<u8> {
    static COMPRESSED: Memo<[u8; 32], Vec<u8>> = Memo::new(MAX_CACHED_FONT_PROGRAMS);
    let key = openssl::sha::sha256(program);
    COMPRESSED.get_or(&key, || deflate(program))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_maps_to_glyphs_and_back() {
        let mut font = TextFont::new().unwrap();
        let text = "Số: 12/QĐ-UBND – Trích sao ỦY BAN NHÂN DÂN";
        let cids = font.encode(text).unwrap();
        assert_eq!(cids.len(), text.chars().count() * 2);
        let res = font.into_resource("F1").unwrap();
        let cmap = String::from_utf8(res.to_unicode.clone()).unwrap();
        // Đ (U+0110) and ố (U+1ED1) must be mapped back to their code points.
        assert!(cmap.contains("<0110>"), "{cmap}");
        assert!(cmap.contains("<1ED1>"), "{cmap}");
        // The subset is far smaller than the 390 KB face and still parses as a font.
        assert!(res.font_file.len() < 60_000, "{}", res.font_file.len());
        assert!(ttf_parser::Face::parse(&res.font_file, 0).is_ok());
        assert_eq!(res.base_font.len(), 6 + 1 + POSTSCRIPT_NAME.len());
    }

    #[test]
    fn decomposed_input_is_normalised() {
        let mut font = TextFont::new().unwrap();
        // "ố" typed as o + circumflex + acute.
        let cids = font.encode("o\u{302}\u{301}").unwrap();
        assert_eq!(cids.len(), 2);
    }

    #[test]
    fn characters_outside_the_font_are_refused() {
        let mut font = TextFont::new().unwrap();
        assert!(matches!(
            font.encode("印"),
            Err(AppearanceError::UnsupportedCharacter('印'))
        ));
    }

    #[test]
    fn widths_follow_times_metrics() {
        let font = TextFont::new().unwrap();
        // Times "M" is 889/1000 em wide; Liberation Serif keeps the metrics.
        let w = font.width("M", 10.0).unwrap();
        assert!((w - 8.89).abs() < 0.01, "{w}");
    }
}
