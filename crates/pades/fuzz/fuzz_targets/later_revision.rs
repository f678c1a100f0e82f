//! Turns fuzzer bytes into a signed PDF with one more revision, for the `diff` fuzz target and
//! for the replay of its regressions in tests/hostile.rs.
//!
//! Input layout (missing bytes read as 0):
//! - byte 0: bit 0 picks the signed base (an approval signature with xref tables, or a DocMDP
//!   P=2 certification with xref streams); bits 1-2 the cross-reference section (1: an xref
//!   stream, 2: an empty `0 0` table that lists none of the objects written, else a table);
//!   bits 3-4 the trailer's /Root (1: repointed at the object number in byte 1, 2: at the
//!   first object written, else kept); bit 5 keeps /Info, bit 7 repoints it at the first
//!   object written instead; bit 6 keeps /ID.
//! - byte 1: the object number /Root may be repointed at.
//! - then up to 16 objects, each a number byte (mapped into 1..=size+8 of the base, so both
//!   the base's own objects and new ones are written) and a body: mostly the base's own
//!   object with a few entries removed, replaced or added, else a new dictionary, a stream or
//!   raw bytes. Values come from a small grammar whose names are those the difference
//!   analysis and the reader care about, with references into the same range.
//!
//! The update is always well formed (offsets, /Size, /Prev and /Length exact), so the fuzzer
//! spends its time in the analysis of what changed rather than in the cross-reference parser.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use vanthu_pades::pdf::{Dictionary, Object, ObjectId, PdfString, Reader, Stream};

/// Signed files the revision is appended to.
pub const BASES: [&[u8]; 2] = [
    include_bytes!("../../tests/fixtures/pyhanko-b-b.pdf"),
    include_bytes!("../../tests/fixtures/certified-p2-xref-stream.pdf"),
];

const MAX_OBJECTS: usize = 16;
const MAX_DEPTH: u8 = 4;
/// Object numbers beyond the base's /Size that objects and references may use.
const SPARE_NUMBERS: u32 = 8;

/// Names the difference analysis and the reader look at (keys and values alike).
const NAMES: &[&str] = &[
    "Type",
    "Catalog",
    "Pages",
    "Page",
    "Kids",
    "Count",
    "Parent",
    "Annots",
    "Annot",
    "Subtype",
    "Widget",
    "Text",
    "FT",
    "Sig",
    "Tx",
    "T",
    "V",
    "AP",
    "N",
    "AS",
    "Rect",
    "F",
    "Ff",
    "P",
    "DA",
    "MK",
    "Lock",
    "Fields",
    "AcroForm",
    "SigFlags",
    "NeedAppearances",
    "DR",
    "DSS",
    "Certs",
    "CRLs",
    "OCSPs",
    "VRI",
    "Cert",
    "Metadata",
    "XML",
    "OCProperties",
    "OCGs",
    "D",
    "ON",
    "OFF",
    "Contents",
    "Resources",
    "Font",
    "BaseFont",
    "Encoding",
    "Differences",
    "Perms",
    "DocMDP",
    "Reference",
    "TransformMethod",
    "TransformParams",
    "FieldMDP",
    "Action",
    "All",
    "Include",
    "Exclude",
    "Names",
    "Extensions",
    "DocTimeStamp",
    "Filter",
    "SubFilter",
    "ByteRange",
    "ObjStm",
    "XRef",
    "MediaBox",
    "Info",
    "Root",
];

/// The fuzzer's bytes, read front to back; zeros once they run out.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn exhausted(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.at.min(self.bytes.len());
        let end = (start + n).min(self.bytes.len());
        self.at = start + n;
        &self.bytes[start..end]
    }
}

/// What the appended revision needs to know about its base.
struct Base {
    bytes: &'static [u8],
    startxref: u64,
    size: u32,
    root: u32,
    /// /Info and /ID as the new trailer may carry them.
    trailer: BTreeMap<&'static str, String>,
    /// The current version of each of its objects.
    objects: BTreeMap<u32, Object>,
}

impl Base {
    /// Both bases, read once.
    fn all() -> &'static [Base; 2] {
        static READ: OnceLock<[Base; 2]> = OnceLock::new();
        READ.get_or_init(|| BASES.map(Base::read))
    }

    fn read(bytes: &'static [u8]) -> Base {
        let reader = Reader::new(bytes).expect("the fuzz bases are readable PDFs");
        let trailer = reader.trailer();
        let reference = |key: &str| trailer.get(key).and_then(Object::as_reference);
        let mut kept = BTreeMap::new();
        if let Some(info) = reference("Info") {
            kept.insert("Info", format!("{} {} R", info.num, info.gen));
        }
        if trailer.contains("ID") {
            // A fixed pair: the analysis never looks inside, only at its presence.
            kept.insert(
                "ID",
                "[<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]".into(),
            );
        }
        let objects = reader
            .object_numbers()
            .into_iter()
            .filter_map(|n| Some((n, reader.get_by_num(n).ok()?)))
            .collect();
        Base {
            bytes,
            objects,
            startxref: reader.startxref(),
            size: trailer
                .get("Size")
                .and_then(Object::as_int)
                .and_then(|s| u32::try_from(s).ok())
                .expect("the fuzz bases have a /Size"),
            root: reference("Root").expect("the fuzz bases have a /Root").num,
            trailer: kept,
        }
    }
}

/// One PDF object drawn from the input; references point into 1..=`range`.
fn object(input: &mut Input, depth: u8, range: u32) -> Object {
    let nested = depth < MAX_DEPTH;
    match input.byte() % 11 {
        0 => Object::Integer(i64::from(input.byte() as i8)),
        1 | 2 => reference(input, range),
        3 | 4 => name(input),
        5 => {
            let n = usize::from(input.byte() % 16);
            Object::String(PdfString::hex(input.take(n).to_vec()))
        }
        6 | 7 if nested => Object::Dictionary(dictionary(input, depth + 1, range)),
        8 if nested => Object::Array(
            (0..input.byte() % 6)
                .map(|_| object(input, depth + 1, range))
                .collect(),
        ),
        9 => [Object::Bool(true), Object::Bool(false), Object::Null][usize::from(input.byte() % 3)]
            .clone(),
        10 => Object::Real(f64::from(input.byte()) / 4.0),
        _ => reference(input, range),
    }
}

fn reference(input: &mut Input, range: u32) -> Object {
    Object::Reference(ObjectId::new(1 + u32::from(input.byte()) % range, 0))
}

fn name(input: &mut Input) -> Object {
    Object::name(NAMES[usize::from(input.byte()) % NAMES.len()])
}

fn key(input: &mut Input) -> &'static str {
    NAMES[usize::from(input.byte()) % NAMES.len()]
}

fn dictionary(input: &mut Input, depth: u8, range: u32) -> Dictionary {
    let mut d = Dictionary::new();
    for _ in 0..input.byte() % 8 {
        let k = key(input);
        d.set(k, object(input, depth, range));
    }
    d
}

/// The base's own object `old` with a few entries removed, replaced or added: a dictionary's
/// (or a stream dictionary's) keys, an array's elements.
fn edited(input: &mut Input, old: &Object, range: u32) -> Object {
    let mut new = old.clone();
    for _ in 0..1 + input.byte() % 4 {
        let remove = input.byte().is_multiple_of(3);
        let dict = match &mut new {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &mut s.dict,
            Object::Array(items) => {
                if remove && !items.is_empty() {
                    let at = usize::from(input.byte()) % items.len();
                    items.remove(at);
                } else {
                    items.push(object(input, 1, range));
                }
                continue;
            }
            _ => return object(input, 1, range),
        };
        let k = key(input);
        if remove {
            dict.remove(k);
        } else {
            dict.set(k, object(input, 1, range));
        }
    }
    new
}

/// The body of object `num`: mostly an edit of the base's own version, else a new
/// dictionary, a stream or raw bytes (whatever the parser makes of them).
fn body(input: &mut Input, base: &Base, num: u32, range: u32) -> Vec<u8> {
    match (input.byte() % 6, base.objects.get(&num)) {
        (0..=2, Some(old)) => edited(input, old, range).to_bytes(),
        (3, _) => {
            let dict = dictionary(input, 1, range);
            let n = usize::from(input.byte() % 64);
            let data = input.take(n).to_vec();
            Object::Stream(Stream { dict, data }).to_bytes()
        }
        (4, _) => {
            let n = usize::from(input.byte() % 32);
            input.take(n).to_vec()
        }
        _ => Object::Dictionary(dictionary(input, 1, range)).to_bytes(),
    }
}

/// The signed base with one more revision drawn from `data`.
pub fn build(data: &[u8]) -> Vec<u8> {
    let mut input = Input { bytes: data, at: 0 };
    let flags = input.byte();
    let target = input.byte();
    let base = &Base::all()[usize::from(flags & 1)];
    let range = base.size + SPARE_NUMBERS;

    let mut objects = BTreeMap::new();
    let mut first = None;
    while !input.exhausted() && objects.len() < MAX_OBJECTS {
        let num = 1 + u32::from(input.byte()) % range;
        first.get_or_insert(num);
        objects.insert(num, body(&mut input, base, num, range));
    }

    let mut out = base.bytes.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = BTreeMap::new();
    for (num, body) in &objects {
        offsets.insert(*num, out.len() as u64);
        out.extend(format!("{num} 0 obj\n").as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }

    let mut trailer = String::new();
    let root = match (flags >> 3) & 3 {
        1 => 1 + u32::from(target) % range,
        2 => first.unwrap_or(base.root),
        _ => base.root,
    };
    trailer += &format!("/Root {root} 0 R ");
    if flags & 0x80 != 0 {
        trailer += &format!("/Info {} 0 R ", first.unwrap_or(base.root));
    } else if let Some(info) = base.trailer.get("Info").filter(|_| flags & 0x20 != 0) {
        trailer += &format!("/Info {info} ");
    }
    if let Some(id) = base.trailer.get("ID").filter(|_| flags & 0x40 != 0) {
        trailer += &format!("/ID {id} ");
    }
    let mut size = objects
        .keys()
        .next_back()
        .map_or(base.size, |n| base.size.max(n + 1));
    let section = out.len() as u64;
    let xref = (flags >> 1) & 3;
    if xref == 1 {
        // An xref stream that lists the objects and itself.
        let own = size;
        size += 1;
        offsets.insert(own, section);
        let mut rows = Vec::new();
        let mut index = String::new();
        for (num, offset) in &offsets {
            index += &format!("{num} 1 ");
            rows.push(1u8);
            rows.extend(&(*offset as u32).to_be_bytes());
            rows.extend([0, 0]);
        }
        let dict = format!(
            "<< /Type /XRef /W [1 4 2] /Index [{index}] {trailer}/Size {size} /Prev {} \
             /Length {} >>",
            base.startxref,
            rows.len()
        );
        out.extend(format!("{own} 0 obj\n{dict}\nstream\n").as_bytes());
        out.extend(&rows);
        out.extend(b"\nendstream\nendobj\n");
    } else {
        out.extend(b"xref\n");
        if xref == 2 {
            // Empty: a subsection of no entries, whatever objects were written above.
            out.extend(b"0 0\n");
        } else {
            out.extend(b"0 1\n0000000000 65535 f \n");
            for (num, offset) in &offsets {
                out.extend(format!("{num} 1\n{offset:010} 00000 n \n").as_bytes());
            }
        }
        let dict = format!("<< {trailer}/Size {size} /Prev {} >>", base.startxref);
        out.extend(format!("trailer\n{dict}\n").as_bytes());
    }
    out.extend(format!("startxref\n{section}\n%%EOF\n").as_bytes());
    out
}
