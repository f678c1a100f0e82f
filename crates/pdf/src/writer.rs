//! Incremental updates (§7.5.6): new and replaced objects, a cross-reference section of the same
//! kind as the file's last one, and a trailer chained with /Prev. Earlier bytes never change.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use super::object::{write_dict, write_name, write_object, Dictionary, Object, ObjectId};
use super::reader::{Reader, Source, XrefKind};
use super::PdfError;

/// A whole PDF from the bodies of objects 1..=n (object 1 the catalog), with one classic
/// cross-reference table: for generated documents (the demo's, tests') whose bytes should
/// be exactly what they say.
pub fn whole_file<S: AsRef<str>>(objects: &[S]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{}\nendobj\n", i + 1, body.as_ref());
    }
    let xref = out.len();
    let size = objects.len() + 1;
    let _ = write!(out, "xref\n0 {size}\n0000000000 65535 f \n");
    for offset in offsets {
        let _ = writeln!(out, "{offset:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    );
    out
}

/// A value written at a fixed width, to be filled in once the update is laid out: for values
/// that depend on where bytes landed, which only the written update knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The dictionary's own value for the key, padded with spaces to this many bytes;
    /// [`WrittenUpdate::fill`] writes the final value over it.
    Padded(usize),
    /// A hex string `<00…>` holding this many bytes; [`WrittenUpdate::fill_hex`] writes them.
    HexString(usize),
}

/// Builder of one incremental update.
#[derive(Debug, Clone)]
pub struct IncrementalUpdate {
    base_len: u64,
    base_ends_with_eol: bool,
    prev: u64,
    kind: XrefKind,
    trailer: Dictionary,
    next_num: u32,
    objects: BTreeMap<u32, (ObjectId, Object)>,
    placeholders: HashMap<u32, Vec<(String, Placeholder)>>,
}

/// The serialized update and where its placeholders landed.
#[derive(Debug, Clone)]
pub struct WrittenUpdate {
    /// The bytes to append to the original file.
    pub bytes: Vec<u8>,
    /// Length of the original file (absolute offset of `bytes[0]`).
    pub base_len: u64,
    /// Absolute offsets and lengths of the placeholders by key name.
    pub placeholders: HashMap<String, (u64, usize)>,
    /// Absolute offsets of the written objects.
    pub object_offsets: BTreeMap<u32, u64>,
}

impl IncrementalUpdate {
    /// Starts an update on top of what `reader` read.
    pub fn new<S: Source>(reader: &Reader<S>) -> Result<Self, PdfError> {
        if reader.is_encrypted() {
            return Err(PdfError::Encrypted);
        }
        let last = super::reader::read_range(reader.source(), reader.len().saturating_sub(1), 1)?;
        let mut trailer = Dictionary::new();
        for key in ["Root", "Info", "ID"] {
            if let Some(v) = reader.trailer().get(key) {
                trailer.set(key, v.clone());
            }
        }
        if reader.is_damaged() {
            // A repaired file has no trustworthy chain to extend.
            return Err(PdfError::Corrupt(
                "the cross-reference is broken; repair the file before signing",
            ));
        }
        Ok(Self {
            base_len: reader.len(),
            base_ends_with_eol: matches!(last.first(), Some(b'\n' | b'\r')),
            prev: reader.startxref(),
            kind: reader.last_xref_kind(),
            trailer,
            next_num: reader.next_object_number(),
            objects: BTreeMap::new(),
            placeholders: HashMap::new(),
        })
    }

    /// Reserves a new object number.
    pub fn allocate(&mut self) -> ObjectId {
        let id = ObjectId::new(self.next_num, 0);
        self.next_num += 1;
        id
    }

    /// Adds a new object and returns its id.
    pub fn add(&mut self, obj: impl Into<Object>) -> ObjectId {
        let id = self.allocate();
        self.set(id, obj);
        id
    }

    /// Writes (or rewrites) the object `id` in this update.
    pub fn set(&mut self, id: ObjectId, obj: impl Into<Object>) {
        self.objects.insert(id.num, (id, obj.into()));
    }

    /// The object as this update will write it.
    pub fn get(&self, id: ObjectId) -> Option<&Object> {
        self.objects.get(&id.num).map(|(_, o)| o)
    }

    /// Writes a dictionary whose listed keys are fixed-width placeholders.
    pub fn set_with_placeholders(
        &mut self,
        id: ObjectId,
        dict: Dictionary,
        specs: &[(&str, Placeholder)],
    ) {
        self.set(id, dict);
        self.placeholders.insert(
            id.num,
            specs.iter().map(|(k, s)| ((*k).to_string(), *s)).collect(),
        );
    }

    /// Sets a trailer entry other than the ones the writer manages (/Size, /Prev, and for a
    /// stream section its own keys).
    pub fn set_trailer(&mut self, key: &str, value: impl Into<Object>) {
        self.trailer.set(key, value);
    }

    /// Writes the cross-reference section as a table or a stream instead of the kind the
    /// file's last section has.
    pub fn set_xref_kind(&mut self, kind: XrefKind) {
        self.kind = kind;
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Serializes objects, cross-reference section and trailer.
    pub fn write(&self) -> Result<WrittenUpdate, PdfError> {
        let mut out = Vec::new();
        if !self.base_ends_with_eol {
            out.push(b'\n');
        }
        let mut placeholders = HashMap::new();
        let mut offsets = BTreeMap::new();
        for (num, (id, obj)) in &self.objects {
            offsets.insert(*num, self.base_len + out.len() as u64);
            let _ = writeln!(out, "{} {} obj", id.num, id.gen);
            match (obj, self.placeholders.get(num)) {
                (Object::Dictionary(d), Some(specs)) => {
                    self.write_placeholder_dict(d, specs, &mut out, &mut placeholders)?;
                }
                _ => write_object(obj, &mut out),
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let size = self.next_num;
        match self.kind {
            XrefKind::Table => {
                let xref_at = self.base_len + out.len() as u64;
                out.extend_from_slice(b"xref\n");
                for run in runs(&offsets.keys().copied().collect::<Vec<_>>()) {
                    let _ = writeln!(out, "{} {}", run.0, run.1);
                    for num in run.0..run.0 + run.1 {
                        let gen = self.objects[&num].0.gen;
                        let _ = write!(out, "{:010} {:05} n\r\n", offsets[&num], gen);
                    }
                }
                let mut trailer = self.trailer.clone();
                trailer.set("Size", i64::from(size));
                trailer.set("Prev", self.prev as i64);
                out.extend_from_slice(b"trailer\n");
                write_dict(&trailer, &mut out);
                let _ = write!(out, "\nstartxref\n{xref_at}\n%%EOF\n");
            }
            XrefKind::Stream => {
                let xref_num = size;
                let xref_at = self.base_len + out.len() as u64;
                let mut all = offsets.clone();
                all.insert(xref_num, xref_at);
                let width = bytes_needed(xref_at);
                let mut data = Vec::new();
                let mut index = Vec::new();
                for run in runs(&all.keys().copied().collect::<Vec<_>>()) {
                    index.push(Object::Integer(i64::from(run.0)));
                    index.push(Object::Integer(i64::from(run.1)));
                    for num in run.0..run.0 + run.1 {
                        let gen = self.objects.get(&num).map_or(0, |(id, _)| id.gen);
                        data.push(1u8);
                        data.extend_from_slice(&all[&num].to_be_bytes()[8 - width..]);
                        data.extend_from_slice(&gen.to_be_bytes());
                    }
                }
                let mut dict = self.trailer.clone();
                dict.set("Type", Object::name("XRef"));
                dict.set("Size", i64::from(xref_num) + 1);
                dict.set("Prev", self.prev as i64);
                dict.set("Index", index);
                dict.set(
                    "W",
                    vec![
                        Object::Integer(1),
                        Object::Integer(width as i64),
                        Object::Integer(2),
                    ],
                );
                let _ = writeln!(out, "{xref_num} 0 obj");
                write_object(
                    &Object::Stream(super::object::Stream { dict, data }),
                    &mut out,
                );
                let _ = write!(out, "\nendobj\nstartxref\n{xref_at}\n%%EOF\n");
            }
        }
        Ok(WrittenUpdate {
            bytes: out,
            base_len: self.base_len,
            placeholders,
            object_offsets: offsets,
        })
    }

    fn write_placeholder_dict(
        &self,
        d: &Dictionary,
        specs: &[(String, Placeholder)],
        out: &mut Vec<u8>,
        map: &mut HashMap<String, (u64, usize)>,
    ) -> Result<(), PdfError> {
        out.extend_from_slice(b"<<");
        for (k, v) in d.iter() {
            write_name(k, out);
            out.push(b' ');
            let at = self.base_len + out.len() as u64;
            match specs.iter().find(|(name, _)| name.as_bytes() == k) {
                Some((name, Placeholder::Padded(width))) => {
                    let start = out.len();
                    write_object(v, out);
                    if out.len() - start > *width {
                        return Err(PdfError::Limit("a value does not fit its placeholder"));
                    }
                    out.resize(start + width, b' ');
                    map.insert(name.clone(), (at, *width));
                }
                Some((name, Placeholder::HexString(n))) => {
                    map.insert(name.clone(), (at, 2 * n + 2));
                    out.push(b'<');
                    out.extend(std::iter::repeat_n(b'0', 2 * n));
                    out.push(b'>');
                }
                None => write_object(v, out),
            }
        }
        out.extend_from_slice(b">>");
        Ok(())
    }
}

impl WrittenUpdate {
    /// Total length of the updated file.
    pub fn total_len(&self) -> u64 {
        self.base_len + self.bytes.len() as u64
    }

    /// Where the placeholder for `key` landed: its absolute offset and its length.
    pub fn placeholder(&self, key: &str) -> Result<(u64, usize), PdfError> {
        self.placeholders
            .get(key)
            .copied()
            .ok_or(PdfError::Unsupported("the update has no such placeholder"))
    }

    /// The update's bytes before and after the placeholder for `key`.
    pub fn around(&self, key: &str) -> Result<(&[u8], &[u8]), PdfError> {
        let (at, len) = self.placeholder(key)?;
        let start = (at - self.base_len) as usize;
        Ok((&self.bytes[..start], &self.bytes[start + len..]))
    }

    /// Writes `value` over the [`Placeholder::Padded`] for `key`, padded with spaces.
    pub fn fill(&mut self, key: &str, value: &Object) -> Result<(), PdfError> {
        let (at, len) = self.placeholder(key)?;
        let text = value.to_bytes();
        if text.len() > len {
            return Err(PdfError::Limit("a value does not fit its placeholder"));
        }
        let start = (at - self.base_len) as usize;
        self.bytes[start..start + text.len()].copy_from_slice(&text);
        self.bytes[start + text.len()..start + len].fill(b' ');
        Ok(())
    }

    /// Writes `data` hex-encoded into the [`Placeholder::HexString`] for `key`; the rest of
    /// it stays zeros.
    pub fn fill_hex(&mut self, key: &str, data: &[u8]) -> Result<(), PdfError> {
        let (at, len) = self.placeholder(key)?;
        if data.len() * 2 > len - 2 {
            return Err(PdfError::Limit("the data does not fit its placeholder"));
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let start = (at - self.base_len) as usize + 1;
        let out = &mut self.bytes[start..start + 2 * data.len()];
        for (pair, b) in out.chunks_exact_mut(2).zip(data) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0x0f)];
        }
        Ok(())
    }
}

/// Consecutive runs `(first, count)` of sorted numbers.
fn runs(nums: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &n in nums {
        match out.last_mut() {
            Some((first, count)) if *first + *count == n => *count += 1,
            _ => out.push((n, 1)),
        }
    }
    out
}

fn bytes_needed(v: u64) -> usize {
    (((64 - v.leading_zeros()) as usize).div_ceil(8)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::PdfString;

    fn simple() -> Vec<u8> {
        crate::testing::simple_pdf()
    }

    #[test]
    fn update_is_readable_and_keeps_prefix() {
        let base = simple();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let (root_id, mut catalog) = reader.catalog().unwrap();
        let mut info = Dictionary::new();
        info.set("Title", PdfString::text("Công văn"));
        let info_id = up.add(info);
        catalog.set("Test", info_id);
        up.set(root_id, catalog);
        let written = up.write().unwrap();
        let mut file = base.clone();
        file.extend_from_slice(&written.bytes);
        let r2 = Reader::new(file.as_slice()).unwrap();
        assert!(!r2.is_damaged());
        assert_eq!(r2.revisions().len(), 2);
        assert_eq!(r2.revisions()[0].end, base.len() as u64);
        let (_, cat2) = r2.catalog().unwrap();
        let title = r2.resolve_dict(cat2.get("Test").unwrap()).unwrap();
        assert_eq!(
            title.get("Title").unwrap().as_string().unwrap().to_text(),
            "Công văn"
        );
    }

    #[test]
    fn placeholders_are_filled_after_layout() {
        let base = simple();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let id = up.allocate();
        let mut dict = Dictionary::new();
        dict.set("Where", vec![Object::Integer(0)]);
        dict.set("Data", Object::Null);
        up.set_with_placeholders(
            id,
            dict,
            &[
                ("Where", Placeholder::Padded(24)),
                ("Data", Placeholder::HexString(4)),
            ],
        );
        let mut w = up.write().unwrap();
        let (data_at, data_len) = w.placeholder("Data").unwrap();
        assert_eq!(data_len, 10);
        // A value that depends on where the hex string landed, written in front of it.
        let whereabouts = vec![
            Object::Integer(data_at as i64),
            Object::Integer(data_len as i64),
        ];
        w.fill("Where", &Object::Array(whereabouts)).unwrap();
        w.fill_hex("Data", &[0xde, 0xad]).unwrap();
        let (before, after) = w.around("Data").unwrap();
        assert_eq!(before.len() + data_len + after.len(), w.bytes.len());
        let mut file = base.clone();
        file.extend_from_slice(&w.bytes);
        assert_eq!(&file[data_at as usize..][..data_len], b"<DEAD0000>");
        let r2 = Reader::new(file.as_slice()).unwrap();
        let d = r2.resolve_dict(&Object::Reference(id)).unwrap();
        assert_eq!(
            d.get("Data").unwrap().as_string().unwrap().bytes,
            vec![0xde, 0xad, 0, 0]
        );
        let read_back: Vec<i64> = d
            .get("Where")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Object::as_int)
            .collect();
        assert_eq!(read_back, vec![data_at as i64, data_len as i64]);

        // Too long for the placeholder, or no such placeholder: errors, nothing written.
        let kept = w.bytes.clone();
        assert!(w.fill_hex("Data", &[1, 2, 3, 4, 5]).is_err());
        assert!(w
            .fill("Where", &Object::Array(vec![Object::Integer(i64::MAX); 3]))
            .is_err());
        assert!(w.fill("Nowhere", &Object::Null).is_err());
        assert!(w.around("Nowhere").is_err());
        assert_eq!(w.bytes, kept);
    }

    #[test]
    fn a_padded_value_wider_than_its_placeholder_is_refused() {
        let base = simple();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let id = up.allocate();
        let mut dict = Dictionary::new();
        dict.set("Where", vec![Object::Integer(1234567)]);
        up.set_with_placeholders(id, dict, &[("Where", Placeholder::Padded(4))]);
        assert!(matches!(up.write(), Err(PdfError::Limit(_))));
    }

    #[test]
    fn xref_stream_update_on_stream_file() {
        // Base file whose last section is an xref stream.
        let mut out = b"%PDF-1.7\n".to_vec();
        let o1 = out.len();
        out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        let o2 = out.len();
        out.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n");
        let o3 = out.len();
        let mut data = Vec::new();
        for (t, off) in [(0u8, 0u64), (1, o1 as u64), (1, o2 as u64), (1, o3 as u64)] {
            data.push(t);
            data.extend_from_slice(&(off as u32).to_be_bytes());
            data.extend_from_slice(&[0, 0]);
        }
        out.extend_from_slice(
            format!(
                "3 0 obj\n<< /Type /XRef /Size 4 /W [1 4 2] /Root 1 0 R /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{o3}\n%%EOF\n").as_bytes());
        let reader = Reader::new(out.as_slice()).unwrap();
        assert!(!reader.is_damaged());
        assert_eq!(reader.last_xref_kind(), XrefKind::Stream);
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let id = up.add(Dictionary::new());
        let w = up.write().unwrap();
        let mut file = out.clone();
        file.extend_from_slice(&w.bytes);
        let r2 = Reader::new(file.as_slice()).unwrap();
        assert!(!r2.is_damaged());
        assert_eq!(r2.revisions().len(), 2);
        assert_eq!(r2.last_xref_kind(), XrefKind::Stream);
        assert!(r2.get(id).unwrap().as_dict().is_some());
    }
}
