//! PDF object model (ISO 32000-1 §7.3) and its serializer.

use std::fmt;
use std::io::Write;

/// An indirect object's identity: object number and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// Object number.
    pub num: u32,
    /// Generation number.
    pub gen: u16,
}

impl ObjectId {
    /// Builds an id from its two numbers.
    pub fn new(num: u32, gen: u16) -> Self {
        Self { num, gen }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} R", self.num, self.gen)
    }
}

/// A PDF string: raw bytes plus the notation it was (or will be) written in.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfString {
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// True for `<hex>` notation, false for `(literal)`.
    pub hex: bool,
}

impl PdfString {
    /// A literal string.
    pub fn literal(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            hex: false,
        }
    }

    /// A hexadecimal string.
    pub fn hex(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            hex: true,
        }
    }

    /// A text string (§7.9.2.2): ASCII as is, anything else as UTF-16BE with a byte order mark,
    /// so Vietnamese field values and reasons survive every reader.
    pub fn text(text: &str) -> Self {
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Self::literal(text.as_bytes());
        }
        let mut bytes = vec![0xfe, 0xff];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Self::hex(bytes)
    }

    /// Decodes a text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding treated as
    /// Latin-1, which agrees with it for every printable ASCII character).
    pub fn to_text(&self) -> String {
        let b = &self.bytes;
        if b.len() >= 2 && b[0] == 0xfe && b[1] == 0xff {
            let units: Vec<u16> = b[2..]
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else if b.starts_with(&[0xef, 0xbb, 0xbf]) {
            String::from_utf8_lossy(&b[3..]).into_owned()
        } else {
            b.iter().map(|&c| c as char).collect()
        }
    }
}

/// An ordered dictionary; key order is preserved so rewritten objects stay recognisable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dictionary {
    entries: Vec<(Vec<u8>, Object)>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Value under `key` (without the leading slash).
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.entries
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Mutable value under `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Object> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing value in place or appending a new entry.
    pub fn set(&mut self, key: &str, value: impl Into<Object>) {
        self.set_raw(key.as_bytes().to_vec(), value.into());
    }

    /// Sets a key given as raw name bytes.
    pub fn set_raw(&mut self, key: Vec<u8>, value: Object) {
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.entries.push((key, value));
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Object> {
        let i = self.entries.iter().position(|(k, _)| k == key.as_bytes())?;
        Some(self.entries.remove(i).1)
    }

    /// True when the key is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Object)> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name under `key`, if it is a name.
    pub fn get_name(&self, key: &str) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    /// The integer under `key`, if it is an integer.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }

    /// True when `/key` is the name `name`.
    pub fn name_is(&self, key: &str, name: &str) -> bool {
        self.get_name(key) == Some(name.as_bytes())
    }
}

/// A stream: its dictionary and its raw (still encoded) bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The stream dictionary; `/Length` is rewritten by the serializer.
    pub dict: Dictionary,
    /// Encoded data as stored in the file.
    pub data: Vec<u8>,
}

/// A PDF object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A string.
    String(PdfString),
    /// A name, without the slash, `#xx` escapes decoded.
    Name(Vec<u8>),
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dictionary(Dictionary),
    /// A stream (only as the direct value of an indirect object).
    Stream(Stream),
    /// An indirect reference.
    Reference(ObjectId),
}

impl Object {
    /// A name object from text.
    pub fn name(name: &str) -> Self {
        Object::Name(name.as_bytes().to_vec())
    }

    /// The integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// Numeric value of an integer or real.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The name bytes.
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The string.
    pub fn as_string(&self) -> Option<&PdfString> {
        match self {
            Object::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array items.
    pub fn as_array(&self) -> Option<&Vec<Object>> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The dictionary, also of a stream.
    pub fn as_dict(&self) -> Option<&Dictionary> {
        match self {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    /// Mutable dictionary, also of a stream.
    pub fn as_dict_mut(&mut self) -> Option<&mut Dictionary> {
        match self {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(&mut s.dict),
            _ => None,
        }
    }

    /// The stream.
    pub fn as_stream(&self) -> Option<&Stream> {
        match self {
            Object::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The referenced id.
    pub fn as_reference(&self) -> Option<ObjectId> {
        match self {
            Object::Reference(r) => Some(*r),
            _ => None,
        }
    }

    /// Serializes the object in PDF syntax.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_object(self, &mut out);
        out
    }
}

impl From<bool> for Object {
    fn from(v: bool) -> Self {
        Object::Bool(v)
    }
}
impl From<i64> for Object {
    fn from(v: i64) -> Self {
        Object::Integer(v)
    }
}
impl From<i32> for Object {
    fn from(v: i32) -> Self {
        Object::Integer(v.into())
    }
}
impl From<u32> for Object {
    fn from(v: u32) -> Self {
        Object::Integer(v.into())
    }
}
impl From<f64> for Object {
    fn from(v: f64) -> Self {
        Object::Real(v)
    }
}
impl From<PdfString> for Object {
    fn from(v: PdfString) -> Self {
        Object::String(v)
    }
}
impl From<Vec<Object>> for Object {
    fn from(v: Vec<Object>) -> Self {
        Object::Array(v)
    }
}
impl From<Dictionary> for Object {
    fn from(v: Dictionary) -> Self {
        Object::Dictionary(v)
    }
}
impl From<Stream> for Object {
    fn from(v: Stream) -> Self {
        Object::Stream(v)
    }
}
impl From<ObjectId> for Object {
    fn from(v: ObjectId) -> Self {
        Object::Reference(v)
    }
}

/// True for PDF white-space characters (§7.2.2).
pub fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0c | 0)
}

/// True for PDF delimiter characters (§7.2.2).
pub fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// Writes a name with `#xx` escapes for bytes that may not appear literally.
pub fn write_name(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in name {
        if b == b'#' || !(0x21..=0x7e).contains(&b) || is_delimiter(b) {
            let _ = write!(out, "#{b:02X}");
        } else {
            out.push(b);
        }
    }
}

fn write_real(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    // PDF forbids exponent notation; four decimals are finer than any device unit.
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    out.extend_from_slice(if s.is_empty() || s == "-" || s == "-0" {
        b"0"
    } else {
        s.as_bytes()
    });
}

fn write_string(s: &PdfString, out: &mut Vec<u8>) {
    if s.hex {
        out.push(b'<');
        for b in &s.bytes {
            let _ = write!(out, "{b:02X}");
        }
        out.push(b'>');
        return;
    }
    out.push(b'(');
    for &b in &s.bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
}

/// Writes a dictionary's `<< ... >>`.
pub fn write_dict(d: &Dictionary, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in d.iter() {
        write_name(k, out);
        out.push(b' ');
        write_object(v, out);
    }
    out.extend_from_slice(b">>");
}

/// Serializes any object; streams get a correct `/Length`.
pub fn write_object(obj: &Object, out: &mut Vec<u8>) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(true) => out.extend_from_slice(b"true"),
        Object::Bool(false) => out.extend_from_slice(b"false"),
        Object::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Real(r) => write_real(*r, out),
        Object::String(s) => write_string(s, out),
        Object::Name(n) => write_name(n, out),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(item, out);
            }
            out.push(b']');
        }
        Object::Dictionary(d) => write_dict(d, out),
        Object::Stream(s) => {
            let mut dict = s.dict.clone();
            dict.set("Length", Object::Integer(s.data.len() as i64));
            write_dict(&dict, out);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&s.data);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Reference(id) => {
            let _ = write!(out, "{} {} R", id.num, id.gen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_nested_objects() {
        let mut d = Dictionary::new();
        d.set("Type", Object::name("Sig"));
        d.set(
            "A",
            vec![Object::Integer(1), Object::Real(0.5), Object::Null],
        );
        d.set("S", PdfString::literal(b"a(b)\\".to_vec()));
        d.set("R", ObjectId::new(3, 0));
        d.set("N", Object::Name(b"A B#".to_vec()));
        assert_eq!(
            Object::Dictionary(d).to_bytes(),
            b"<</Type /Sig/A [1 0.5 null]/S (a\\(b\\)\\\\)/R 3 0 R/N /A#20B#23>>".to_vec()
        );
    }

    #[test]
    fn text_strings_round_trip() {
        let s = PdfString::text("Hà Nội");
        assert!(s.hex);
        assert_eq!(s.to_text(), "Hà Nội");
        assert_eq!(PdfString::text("plain").bytes, b"plain");
    }

    #[test]
    fn reals_never_use_exponents() {
        assert_eq!(Object::Real(1e-9).to_bytes(), b"0");
        assert_eq!(Object::Real(-2.5).to_bytes(), b"-2.5");
        assert_eq!(Object::Real(100.0).to_bytes(), b"100");
    }

    #[test]
    fn set_replaces_in_place() {
        let mut d = Dictionary::new();
        d.set("A", 1);
        d.set("B", 2);
        d.set("A", 3);
        let keys: Vec<_> = d.iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(keys, vec![b"A".to_vec(), b"B".to_vec()]);
        assert_eq!(d.get_int("A"), Some(3));
    }
}
