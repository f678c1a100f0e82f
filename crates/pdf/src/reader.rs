//! Lazy PDF reader over a random-access source: cross-reference tables and streams, hybrid
//! files, /Prev chains, object streams, revisions, and a bounded repair scan for broken files.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::sync::{Arc, Mutex};

use super::filter;
use super::object::{Dictionary, Object, ObjectId, PdfString, Stream};
use super::parser::Parser;
use super::{Limits, PdfError};

/// Random-access bytes: a slice, a vector or a file read piece by piece.
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// All the bytes when the source is already in memory, so ranges are read without a copy.
    fn as_bytes(&self) -> Option<&[u8]> {
        None
    }
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= <[u8]>::len(self) {
            return Ok(0);
        }
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
    fn as_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
    fn as_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl Source for File {
    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
    #[cfg(windows)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
}

impl<T: Source + ?Sized> Source for &T {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }
    fn as_bytes(&self) -> Option<&[u8]> {
        (**self).as_bytes()
    }
}

/// Reads as many bytes as available at `offset`, up to `len`.
pub fn read_range<S: Source + ?Sized>(src: &S, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let avail = src.len().saturating_sub(offset);
    let len = len.min(usize::try_from(avail).unwrap_or(usize::MAX));
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let n = src.read_at(offset + filled as u64, &mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Where the cross-reference says an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefEntry {
    /// Free (deleted) object.
    Free,
    /// A top-level object at a byte offset.
    InUse {
        /// Byte offset of `n g obj`.
        offset: u64,
        /// Generation number.
        gen: u16,
    },
    /// An object inside an object stream.
    Compressed {
        /// Object number of the object stream.
        stream: u32,
        /// Index inside the stream.
        index: u32,
    },
}

/// The form of a cross-reference section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    /// A classic `xref` table and `trailer`.
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
}

/// One incremental revision: a cross-reference section and what it defined.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Offset of the section (`xref` keyword or the stream object).
    pub xref_offset: u64,
    /// Offset just after this revision's `%%EOF` (and its end-of-line).
    pub end: u64,
    /// Table or stream.
    pub kind: XrefKind,
    /// The trailer dictionary (a stream section's dictionary).
    pub trailer: Dictionary,
    /// Objects this section marks in use (new or rewritten), with their entries.
    pub objects: Vec<(u32, XrefEntry)>,
    /// Objects this section marks free.
    pub freed: Vec<u32>,
}

/// A form field from the AcroForm tree.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its object id.
    pub id: ObjectId,
    /// Fully qualified name (`parent.child`).
    pub name: String,
    /// Field type (`/FT`, inherited): `Sig`, `Tx`, `Btn`, `Ch`.
    pub field_type: Option<Vec<u8>>,
    /// The field's value (`/V`, inherited as `/FT` is, §12.7.4.1): a signature field whose
    /// widget kid carries its own `/T` has its value on the parent.
    pub value: Option<Object>,
    /// The field dictionary.
    pub dict: Dictionary,
}

impl Field {
    /// True when the field has a value, its own or inherited (for a signature field: it is
    /// signed).
    pub fn has_value(&self) -> bool {
        self.value
            .as_ref()
            .is_some_and(|v| !matches!(v, Object::Null))
    }
}

struct ObjStm {
    offsets: Vec<(u32, usize)>,
    data: Vec<u8>,
}

/// A lazy reader; objects are parsed when asked for.
pub struct Reader<S: Source> {
    src: S,
    limits: Limits,
    xref: HashMap<u32, XrefEntry>,
    revisions: Vec<Revision>,
    trailer: Dictionary,
    startxref: u64,
    damaged: bool,
    objstm_cache: Mutex<HashMap<u32, Arc<ObjStm>>>,
}

const MAX_RESOLVE_DEPTH: usize = 8;
/// Decoded object streams kept at once, and the most decoded bytes they may hold.
const OBJSTM_CACHE_STREAMS: usize = 256;
const OBJSTM_CACHE_BYTES: usize = 64 << 20;

impl<S: Source> Reader<S> {
    /// Opens a source with default limits.
    pub fn new(src: S) -> Result<Self, PdfError> {
        Self::with_limits(src, Limits::default())
    }

    /// Opens a source; a broken cross-reference falls back to a bounded scan and marks the
    /// file damaged.
    pub fn with_limits(src: S, limits: Limits) -> Result<Self, PdfError> {
        let head = read_range(&src, 0, 1024)?;
        if find(&head, b"%PDF-").is_none() {
            return Err(PdfError::NotPdf);
        }
        let mut reader = Reader {
            src,
            limits,
            xref: HashMap::new(),
            revisions: Vec::new(),
            trailer: Dictionary::new(),
            startxref: 0,
            damaged: false,
            objstm_cache: Mutex::new(HashMap::new()),
        };
        match reader.load_xref_chain() {
            Ok(()) if reader.trailer.contains("Root") => {}
            Ok(())
            | Err(PdfError::Truncated { .. } | PdfError::Syntax { .. } | PdfError::Corrupt(_)) => {
                reader.repair()?;
            }
            Err(e) => return Err(e),
        }
        Ok(reader)
    }

    /// The underlying source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// Length of the file.
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    /// True for an empty source (never for an opened reader).
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// True when the cross-reference was broken and objects were found by scanning.
    pub fn is_damaged(&self) -> bool {
        self.damaged
    }

    /// True when the document has an /Encrypt dictionary.
    pub fn is_encrypted(&self) -> bool {
        self.trailer.contains("Encrypt")
    }

    /// The newest trailer.
    pub fn trailer(&self) -> &Dictionary {
        &self.trailer
    }

    /// Offset of the newest cross-reference section (the file's `startxref`).
    pub fn startxref(&self) -> u64 {
        self.startxref
    }

    /// Revisions, oldest first.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The kind of the newest cross-reference section.
    pub fn last_xref_kind(&self) -> XrefKind {
        self.revisions.last().map_or(XrefKind::Table, |r| r.kind)
    }

    /// The effective cross-reference entry of an object number.
    pub fn xref_entry(&self, num: u32) -> Option<XrefEntry> {
        self.xref.get(&num).copied()
    }

    /// All object numbers in use, ascending.
    pub fn object_numbers(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .xref
            .iter()
            .filter(|(_, e)| !matches!(e, XrefEntry::Free))
            .map(|(n, _)| *n)
            .collect();
        v.sort_unstable();
        v
    }

    /// The next free object number: above /Size and above every number in use.
    pub fn next_object_number(&self) -> u32 {
        let size = self
            .trailer
            .get_int("Size")
            .unwrap_or(0)
            .clamp(0, i64::from(u32::MAX)) as u32;
        let max = self.xref.keys().max().map_or(0, |m| m.saturating_add(1));
        size.max(max).max(1)
    }

    // ---- cross-reference loading ------------------------------------------------------------

    fn load_xref_chain(&mut self) -> Result<(), PdfError> {
        let len = self.src.len();
        let tail_len = 2048.min(len) as usize;
        let tail = read_range(&self.src, len - tail_len as u64, tail_len)?;
        let at = rfind(&tail, b"startxref").ok_or(PdfError::Corrupt("no startxref"))?;
        let mut p = Parser::new(&tail[at + 9..], &self.limits);
        let start = p
            .unsigned()
            .map_err(|_| PdfError::Corrupt("bad startxref"))?;
        self.startxref = start;
        let mut sections: Vec<Revision> = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(start);
        while let Some(off) = next {
            if !seen.insert(off) {
                return Err(PdfError::Corrupt("cross-reference /Prev loop"));
            }
            if sections.len() >= self.limits.max_xref_sections {
                return Err(PdfError::Limit("too many cross-reference sections"));
            }
            if off >= len {
                return Err(PdfError::Corrupt(
                    "cross-reference offset beyond the end of the file",
                ));
            }
            let section = self.read_section(off)?;
            next = previous_section(&section.trailer)?;
            sections.push(section);
        }
        // Effective entries: newest section wins.
        for s in &sections {
            for (num, e) in &s.objects {
                self.xref.entry(*num).or_insert(*e);
            }
            for num in &s.freed {
                self.xref.entry(*num).or_insert(XrefEntry::Free);
            }
            if self.xref.len() > self.limits.max_objects {
                return Err(PdfError::Limit("too many objects"));
            }
        }
        self.trailer = sections[0].trailer.clone();
        // /Prev normally points backwards. A forward /Prev is a linearized file's first-page
        // section pointing at its main section further on: both form one revision, which
        // ends at the later `%%EOF`.
        let mut revisions: Vec<Revision> = Vec::new();
        let mut merge_next = false;
        for s in sections {
            let forward = s
                .trailer
                .get_int("Prev")
                .and_then(|p| u64::try_from(p).ok())
                .is_some_and(|p| p > s.xref_offset);
            match revisions.last_mut() {
                Some(last) if merge_next => {
                    last.objects.extend(s.objects);
                    last.freed.extend(s.freed);
                    last.end = last.end.max(s.end);
                }
                _ => revisions.push(s),
            }
            merge_next = forward;
        }
        revisions.sort_by_key(|r| r.end);
        self.revisions = revisions;
        Ok(())
    }

    /// Parses with a window that grows (doubling, up to the limit) while the parse runs out.
    fn with_window<T>(
        &self,
        offset: u64,
        mut f: impl FnMut(&[u8], &Limits) -> Result<T, PdfError>,
    ) -> Result<T, PdfError> {
        let mut size = 4096usize;
        loop {
            let buf = read_range(&self.src, offset, size)?;
            match f(&buf, &self.limits) {
                Err(PdfError::Truncated { .. })
                    if buf.len() == size && size < self.limits.max_object_window =>
                {
                    size = (size * 4).min(self.limits.max_object_window);
                }
                Err(PdfError::Truncated { .. }) if buf.len() == size => {
                    return Err(PdfError::Limit("object larger than the read window"));
                }
                other => return other.map_err(|e| e.rebase(offset)),
            }
        }
    }

    fn read_section(&self, off: u64) -> Result<Revision, PdfError> {
        let probe = read_range(&self.src, off, 16)?;
        let trimmed = probe
            .iter()
            .position(|b| !super::object::is_whitespace(*b))
            .unwrap_or(0);
        if probe[trimmed..].starts_with(b"xref") {
            self.read_table(off)
        } else {
            self.read_xref_stream(off)
        }
    }

    fn read_table(&self, off: u64) -> Result<Revision, PdfError> {
        let remaining = self.src.len() - off;
        let (objects, freed, trailer, end_pos) = self.with_window(off, |buf, limits| {
            let mut p = Parser::new(buf, limits);
            if !p.eat_keyword(b"xref") {
                return Err(PdfError::Corrupt("expected 'xref'"));
            }
            let mut objects = Vec::new();
            let mut freed = Vec::new();
            loop {
                if p.eat_keyword(b"trailer") {
                    break;
                }
                let first = p.unsigned()?;
                let count = p.unsigned()?;
                if count.saturating_mul(18) > remaining
                    || first.saturating_add(count) > u64::from(u32::MAX)
                {
                    return Err(PdfError::Corrupt(
                        "cross-reference subsection larger than the file",
                    ));
                }
                if (objects.len() + freed.len()) as u64 + count > limits.max_objects as u64 {
                    return Err(PdfError::Limit("too many objects"));
                }
                for i in 0..count {
                    let offset = p.unsigned()?;
                    let gen = p.unsigned()?;
                    p.skip_ws();
                    let kind = p.word();
                    let num = (first + i) as u32;
                    match kind {
                        b"n" => objects.push((
                            num,
                            XrefEntry::InUse {
                                offset,
                                gen: u16::try_from(gen).unwrap_or(u16::MAX),
                            },
                        )),
                        b"f" => freed.push(num),
                        b"" if p.pos() >= buf.len() => {
                            return Err(PdfError::Truncated {
                                offset: p.pos() as u64,
                            })
                        }
                        _ => return Err(PdfError::Corrupt("bad cross-reference entry")),
                    }
                }
            }
            let trailer = match p.object()? {
                Object::Dictionary(d) => d,
                _ => return Err(PdfError::Corrupt("trailer is not a dictionary")),
            };
            Ok((objects, freed, trailer, p.pos()))
        })?;
        // Object 0 is the head of the free list; some writers mislabel it.
        let objects: Vec<_> = objects.into_iter().filter(|(n, _)| *n != 0).collect();
        let mut rev = Revision {
            xref_offset: off,
            end: 0,
            kind: XrefKind::Table,
            trailer,
            objects,
            freed,
        };
        if let Some(xs) = rev
            .trailer
            .get_int("XRefStm")
            .and_then(|v| u64::try_from(v).ok())
        {
            // Hybrid file: the stream lists what table-only readers must not see (object
            // streams); table entries keep precedence.
            if xs < self.src.len() && xs != off {
                let extra = self.read_xref_stream(xs)?;
                let known: HashSet<u32> = rev.objects.iter().map(|(n, _)| *n).collect();
                rev.objects.extend(
                    extra
                        .objects
                        .into_iter()
                        .filter(|(n, _)| !known.contains(n)),
                );
            }
        }
        rev.end = self.find_eof(off + end_pos as u64)?;
        Ok(rev)
    }

    fn read_xref_stream(&self, off: u64) -> Result<Revision, PdfError> {
        let (id, stream, end) = self.load_at(off, None, 0)?;
        let Object::Stream(stream) = stream else {
            return Err(PdfError::Corrupt(
                "cross-reference offset points at neither a table nor a stream",
            ));
        };
        let _ = id;
        if !stream.dict.name_is("Type", "XRef") {
            return Err(PdfError::Corrupt(
                "cross-reference stream without /Type /XRef",
            ));
        }
        let data = filter::decode(&stream.dict, &stream.data, self.limits.max_decoded_stream)?;
        let w: Vec<usize> = stream
            .dict
            .get("W")
            .and_then(Object::as_array)
            .ok_or(PdfError::Corrupt("cross-reference stream without /W"))?
            .iter()
            .map(|o| {
                o.as_int()
                    .and_then(|v| usize::try_from(v).ok())
                    .filter(|v| *v <= 8)
            })
            .collect::<Option<_>>()
            .ok_or(PdfError::Corrupt("bad /W"))?;
        if w.len() != 3 {
            return Err(PdfError::Corrupt("bad /W"));
        }
        let entry_len: usize = w.iter().sum();
        if entry_len == 0 {
            return Err(PdfError::Corrupt("bad /W"));
        }
        let size = stream.dict.get_int("Size").unwrap_or(0).max(0);
        let index: Vec<i64> = match stream.dict.get("Index").and_then(Object::as_array) {
            Some(a) => a.iter().filter_map(Object::as_int).collect(),
            None => vec![0, size],
        };
        let mut objects = Vec::new();
        let mut freed = Vec::new();
        let mut pos = 0usize;
        for pair in index.chunks_exact(2) {
            let (first, count) = (pair[0], pair[1]);
            if first < 0 || count < 0 || first.saturating_add(count) > i64::from(u32::MAX) {
                return Err(PdfError::Corrupt("bad /Index"));
            }
            for i in 0..count {
                if pos + entry_len > data.len() {
                    break;
                }
                let field = |k: usize, start: usize| -> u64 {
                    data[start..start + w[k]]
                        .iter()
                        .fold(0u64, |acc, b| acc << 8 | u64::from(*b))
                };
                let t = if w[0] == 0 { 1 } else { field(0, pos) };
                let f2 = field(1, pos + w[0]);
                let f3 = field(2, pos + w[0] + w[1]);
                pos += entry_len;
                let num = (first + i) as u32;
                match t {
                    0 => freed.push(num),
                    1 => objects.push((
                        num,
                        XrefEntry::InUse {
                            offset: f2,
                            gen: f3.min(u64::from(u16::MAX)) as u16,
                        },
                    )),
                    2 => objects.push((
                        num,
                        XrefEntry::Compressed {
                            stream: u32::try_from(f2)
                                .map_err(|_| PdfError::Corrupt("bad object stream number"))?,
                            index: u32::try_from(f3)
                                .map_err(|_| PdfError::Corrupt("bad object stream index"))?,
                        },
                    )),
                    // §7.5.8.3: unknown types are treated as null references.
                    _ => {}
                }
                if objects.len() + freed.len() > self.limits.max_objects {
                    return Err(PdfError::Limit("too many objects"));
                }
            }
        }
        let objects = objects.into_iter().filter(|(n, _)| *n != 0).collect();
        Ok(Revision {
            xref_offset: off,
            end: self.find_eof(end)?,
            kind: XrefKind::Stream,
            trailer: stream.dict,
            objects,
            freed,
        })
    }

    /// Offset after the `%%EOF` (and one end-of-line) that follows `from`, the end of a
    /// section's trailer or stream. A section ends with `startxref N` and `%%EOF`; writers
    /// that leave the marker out (qpdf reads such files without a warning) end it after the
    /// number, not at the next revision's marker.
    fn find_eof(&self, from: u64) -> Result<u64, PdfError> {
        let window = read_range(&self.src, from, 4096)?;
        let ws = |at: usize| {
            window[at..]
                .iter()
                .position(|b| !super::object::is_whitespace(*b))
                .map_or(window.len(), |n| at + n)
        };
        let at = ws(0);
        if window[at..].starts_with(b"startxref") {
            let digits = ws(at + 9);
            let number_end = window[digits..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(window.len(), |n| digits + n);
            let marker = ws(number_end);
            if number_end > digits && !window[marker..].starts_with(b"%%EOF") {
                let mut end = number_end;
                if window.get(end) == Some(&b'\r') {
                    end += 1;
                }
                if window.get(end) == Some(&b'\n') {
                    end += 1;
                }
                return Ok(from + end as u64);
            }
        }
        match find(&window, b"%%EOF") {
            Some(i) => {
                let mut end = i + 5;
                if window.get(end) == Some(&b'\r') {
                    end += 1;
                }
                if window.get(end) == Some(&b'\n') {
                    end += 1;
                }
                Ok(from + end as u64)
            }
            None => Ok(from),
        }
    }

    /// Bounded linear scan for `n g obj` headers and a trailer when the cross-reference is
    /// unusable; the result is marked damaged.
    fn repair(&mut self) -> Result<(), PdfError> {
        self.damaged = true;
        self.xref.clear();
        let len = self.src.len();
        let chunk = 1 << 20;
        let overlap = 64u64;
        let mut pos = 0u64;
        let mut last_trailer: Option<Dictionary> = None;
        let mut trailers: Vec<u64> = Vec::new();
        let mut catalog: Option<ObjectId> = None;
        while pos < len {
            let buf = read_range(&self.src, pos, chunk)?;
            if buf.is_empty() {
                break;
            }
            let mut i = 0;
            while let Some(k) = find(&buf[i..], b"obj") {
                let at = i + k;
                i = at + 3;
                if buf.get(at + 3).is_some_and(|b| {
                    !super::object::is_whitespace(*b) && !super::object::is_delimiter(*b)
                }) {
                    continue;
                }
                if let Some((start, num, gen)) = object_header_before(&buf, at) {
                    if self.xref.len() < self.limits.max_objects {
                        self.xref.insert(
                            num,
                            XrefEntry::InUse {
                                offset: pos + start as u64,
                                gen,
                            },
                        );
                    }
                }
            }
            let mut j = 0;
            while let Some(k) = find(&buf[j..], b"trailer") {
                let at = j + k;
                j = at + 7;
                let abs = pos + at as u64 + 7;
                if trailers.last().is_none_or(|t| *t < abs) {
                    trailers.push(abs);
                }
            }
            if buf.len() < chunk {
                break;
            }
            pos += (buf.len() as u64).saturating_sub(overlap).max(1);
        }
        // The newest usable trailer wins; only the last few are parsed, so a file stuffed
        // with the keyword costs no more than a handful of parses.
        for at in trailers.iter().rev().take(8) {
            if let Ok(Object::Dictionary(d)) =
                self.with_window(*at, |b, l| Parser::new(b, l).object())
            {
                if d.contains("Root") {
                    last_trailer = Some(d);
                    break;
                }
            }
        }
        if last_trailer.is_none() {
            // Cross-reference streams carry the trailer keys; so does a catalog we can find.
            for num in self.object_numbers().into_iter().take(100_000) {
                let Ok(obj) = self.get_by_num(num) else {
                    continue;
                };
                match obj.as_dict() {
                    Some(d) if d.name_is("Type", "XRef") && d.contains("Root") => {
                        let mut t = d.clone();
                        for k in [
                            "W",
                            "Index",
                            "Filter",
                            "DecodeParms",
                            "Length",
                            "Prev",
                            "Type",
                        ] {
                            t.remove(k);
                        }
                        last_trailer = Some(t);
                    }
                    Some(d) if d.name_is("Type", "Catalog") => {
                        catalog = Some(ObjectId::new(num, 0))
                    }
                    _ => {}
                }
            }
        }
        let trailer = match (last_trailer, catalog) {
            (Some(t), _) => t,
            (None, Some(root)) => {
                let mut t = Dictionary::new();
                t.set("Root", root);
                t
            }
            (None, None) => {
                return Err(PdfError::Corrupt("no cross-reference and no catalog found"))
            }
        };
        self.trailer = trailer.clone();
        self.trailer.remove("Prev");
        self.trailer.remove("XRefStm");
        let objects = self.xref.iter().map(|(n, e)| (*n, *e)).collect();
        self.revisions = vec![Revision {
            xref_offset: 0,
            end: len,
            kind: XrefKind::Table,
            trailer,
            objects,
            freed: Vec::new(),
        }];
        Ok(())
    }

    // ---- object access ------------------------------------------------------------------------

    /// Loads the object `n g obj` at `offset`; returns the id found, the object, and the offset
    /// just after `endobj` (or the object's end when `endobj` is missing).
    fn load_at(
        &self,
        offset: u64,
        expect: Option<ObjectId>,
        depth: usize,
    ) -> Result<(ObjectId, Object, u64), PdfError> {
        let (head, end_in_window) = self.with_window(offset, |buf, limits| {
            let mut p = Parser::new(buf, limits);
            let head = p.indirect_head()?;
            let end = p.pos();
            Ok((head, end))
        })?;
        if let Some(want) = expect {
            if head.id.num != want.num {
                return Err(PdfError::Corrupt(
                    "cross-reference points at the wrong object",
                ));
            }
        }
        let Some(data_rel) = head.stream_data_at else {
            let end = offset + end_in_window as u64;
            let end = self.after_keyword(end, b"endobj")?.unwrap_or(end);
            return Ok((head.id, head.object, end));
        };
        let Object::Dictionary(dict) = head.object else {
            return Err(PdfError::Corrupt("stream without dictionary"));
        };
        let data_start = offset + data_rel as u64;
        let declared = match dict.get("Length") {
            Some(Object::Integer(n)) => u64::try_from(*n).ok(),
            Some(Object::Reference(r)) if depth < MAX_RESOLVE_DEPTH && *r != head.id => self
                .get_inner(*r, depth + 1)
                .ok()
                .and_then(|o| o.as_int())
                .and_then(|n| u64::try_from(n).ok()),
            _ => None,
        };
        let len = match declared {
            Some(n)
                if data_start.saturating_add(n) <= self.src.len()
                    && self.ends_stream(data_start + n)? =>
            {
                n
            }
            // A lying or missing /Length: find `endstream` instead (bounded).
            _ => self.scan_endstream(data_start)?,
        };
        if len > self.limits.max_raw_stream as u64 {
            return Err(PdfError::Limit("stream larger than the read limit"));
        }
        let data = read_range(&self.src, data_start, len as usize)?;
        let after = self
            .after_keyword(data_start + len, b"endstream")?
            .unwrap_or(data_start + len);
        let after = self.after_keyword(after, b"endobj")?.unwrap_or(after);
        Ok((head.id, Object::Stream(Stream { dict, data }), after))
    }

    /// True when `endstream` follows `at` after optional white space.
    fn ends_stream(&self, at: u64) -> Result<bool, PdfError> {
        let b = read_range(&self.src, at, 32)?;
        let i = b
            .iter()
            .position(|c| !super::object::is_whitespace(*c))
            .unwrap_or(b.len());
        Ok(b[i..].starts_with(b"endstream"))
    }

    fn after_keyword(&self, at: u64, kw: &[u8]) -> Result<Option<u64>, PdfError> {
        let b = read_range(&self.src, at, 64)?;
        let i = b
            .iter()
            .position(|c| !super::object::is_whitespace(*c))
            .unwrap_or(b.len());
        Ok(b[i..].starts_with(kw).then(|| at + (i + kw.len()) as u64))
    }

    fn scan_endstream(&self, data_start: u64) -> Result<u64, PdfError> {
        let chunk = 1 << 16;
        let mut pos = data_start;
        let limit = data_start.saturating_add(self.limits.max_raw_stream as u64);
        while pos < self.src.len() && pos < limit {
            let buf = read_range(&self.src, pos, chunk)?;
            if let Some(i) = find(&buf, b"endstream") {
                let mut end = pos + i as u64;
                // The end-of-line before `endstream` is not data.
                let before = read_range(&self.src, end.saturating_sub(2).max(data_start), 2)?;
                if before.ends_with(b"\r\n") && end >= data_start + 2 {
                    end -= 2;
                } else if (before.ends_with(b"\n") || before.ends_with(b"\r")) && end > data_start {
                    end -= 1;
                }
                return Ok(end - data_start);
            }
            if buf.len() < chunk {
                break;
            }
            pos += (buf.len() - 16) as u64;
        }
        Err(PdfError::Corrupt("stream without endstream"))
    }

    /// The object with this id (null when free or absent, §7.3.10).
    pub fn get(&self, id: ObjectId) -> Result<Object, PdfError> {
        self.get_inner(id, 0)
    }

    /// The object with this number, whatever its generation.
    pub fn get_by_num(&self, num: u32) -> Result<Object, PdfError> {
        self.get_inner(ObjectId::new(num, 0), 0)
    }

    /// The object with this number, except that a stream comes back with its dictionary only
    /// (no data): for walks of the object graph that look at structure, never at content, so
    /// a large scan is not read into memory to learn what refers to what.
    pub fn get_shallow(&self, num: u32) -> Result<Object, PdfError> {
        let Some(XrefEntry::InUse { offset, .. }) = self.xref.get(&num) else {
            return self.get_by_num(num);
        };
        if *offset >= self.src.len() {
            return Err(PdfError::Corrupt(
                "object offset beyond the end of the file",
            ));
        }
        let head = self.with_window(*offset, |buf, limits| {
            Parser::new(buf, limits).indirect_head()
        })?;
        if head.id.num != num {
            return Err(PdfError::Corrupt(
                "cross-reference points at the wrong object",
            ));
        }
        Ok(match (head.stream_data_at, head.object) {
            (Some(_), Object::Dictionary(dict)) => Object::Stream(Stream {
                dict,
                data: Vec::new(),
            }),
            (Some(_), _) => return Err(PdfError::Corrupt("stream without dictionary")),
            (None, object) => object,
        })
    }

    fn get_inner(&self, id: ObjectId, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(PdfError::Limit("references nested too deeply"));
        }
        match self.xref.get(&id.num) {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::InUse { offset, .. }) => {
                if *offset >= self.src.len() {
                    return Err(PdfError::Corrupt(
                        "object offset beyond the end of the file",
                    ));
                }
                Ok(self.load_at(*offset, Some(id), depth)?.1)
            }
            Some(XrefEntry::Compressed { stream, index }) => {
                self.get_compressed(id, *stream, *index, depth)
            }
        }
    }

    fn get_compressed(
        &self,
        id: ObjectId,
        stream: u32,
        index: u32,
        depth: usize,
    ) -> Result<Object, PdfError> {
        let cached = self
            .objstm_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&stream).cloned());
        let objstm = match cached {
            Some(o) => o,
            None => {
                let o = Arc::new(self.load_objstm(stream, depth)?);
                if let Ok(mut c) = self.objstm_cache.lock() {
                    // Walks of the whole object graph jump between object streams; keep many,
                    // but bound the memory they hold.
                    let held: usize = c.values().map(|o| o.data.len()).sum();
                    if c.len() >= OBJSTM_CACHE_STREAMS || held > OBJSTM_CACHE_BYTES {
                        c.clear();
                    }
                    c.insert(stream, o.clone());
                }
                o
            }
        };
        let (num, off) = objstm
            .offsets
            .get(index as usize)
            .copied()
            .or_else(|| objstm.offsets.iter().find(|(n, _)| *n == id.num).copied())
            .ok_or(PdfError::Corrupt("object missing from its object stream"))?;
        if num != id.num {
            return Err(PdfError::Corrupt(
                "object stream index points at the wrong object",
            ));
        }
        // The object ends where the next one starts; copying only that keeps reading every
        // object of a large stream linear.
        let end = objstm
            .offsets
            .iter()
            .map(|(_, o)| *o)
            .filter(|o| *o > off)
            .min()
            .unwrap_or(objstm.data.len());
        let data = objstm
            .data
            .get(off..end)
            .ok_or(PdfError::Corrupt("object stream offset"))?;
        let mut padded = data.to_vec();
        padded.push(b' ');
        Parser::new(&padded, &self.limits).object()
    }

    fn load_objstm(&self, num: u32, depth: usize) -> Result<ObjStm, PdfError> {
        let Some(XrefEntry::InUse { offset, .. }) = self.xref.get(&num) else {
            return Err(PdfError::Corrupt("object stream is not a top-level object"));
        };
        let (_, obj, _) = self.load_at(*offset, Some(ObjectId::new(num, 0)), depth + 1)?;
        let Object::Stream(s) = obj else {
            return Err(PdfError::Corrupt("object stream is not a stream"));
        };
        let n = s
            .dict
            .get_int("N")
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(PdfError::Corrupt("object stream /N"))?;
        let first = s
            .dict
            .get_int("First")
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(PdfError::Corrupt("object stream /First"))?;
        if n > self.limits.max_objstm_objects {
            return Err(PdfError::Limit("object stream holds too many objects"));
        }
        let data = filter::decode(&s.dict, &s.data, self.limits.max_decoded_stream)?;
        if first > data.len() {
            return Err(PdfError::Corrupt("object stream /First beyond its data"));
        }
        let mut header = data[..first].to_vec();
        header.push(b' ');
        let mut p = Parser::new(&header, &self.limits);
        let mut offsets = Vec::with_capacity(n.min(header.len() / 4 + 1));
        for _ in 0..n {
            let (Ok(obj), Ok(off)) = (p.unsigned(), p.unsigned()) else {
                break;
            };
            let obj = u32::try_from(obj).map_err(|_| PdfError::Corrupt("object stream header"))?;
            let off = usize::try_from(off)
                .ok()
                .and_then(|o| o.checked_add(first))
                .filter(|o| *o <= data.len());
            offsets.push((obj, off.ok_or(PdfError::Corrupt("object stream header"))?));
        }
        Ok(ObjStm { offsets, data })
    }

    /// Follows references (bounded) to a direct object.
    pub fn resolve(&self, obj: &Object) -> Result<Object, PdfError> {
        let mut cur = obj.clone();
        for _ in 0..MAX_RESOLVE_DEPTH {
            match cur {
                Object::Reference(id) => cur = self.get(id)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::Limit("references nested too deeply"))
    }

    /// Resolves to a dictionary (a stream's dictionary included).
    pub fn resolve_dict(&self, obj: &Object) -> Result<Dictionary, PdfError> {
        match self.resolve(obj)? {
            Object::Dictionary(d) => Ok(d),
            Object::Stream(s) => Ok(s.dict),
            _ => Err(PdfError::Corrupt("expected a dictionary")),
        }
    }

    /// The decoded data of a stream, within the decompression cap.
    pub fn decode_stream(&self, s: &Stream) -> Result<Vec<u8>, PdfError> {
        let mut dict = s.dict.clone();
        for key in ["Filter", "DecodeParms"] {
            if let Some(v) = dict.get(key).cloned() {
                dict.set(key, self.resolve(&v)?);
            }
        }
        filter::decode(&dict, &s.data, self.limits.max_decoded_stream)
    }

    // ---- document structure -------------------------------------------------------------------

    /// The catalog's id and dictionary.
    pub fn catalog(&self) -> Result<(ObjectId, Dictionary), PdfError> {
        let id = self
            .trailer
            .get("Root")
            .and_then(Object::as_reference)
            .ok_or(PdfError::Corrupt("trailer has no /Root reference"))?;
        match self.get(id)? {
            Object::Dictionary(d) => Ok((id, d)),
            _ => Err(PdfError::Corrupt("/Root is not a dictionary")),
        }
    }

    /// Page object ids in document order (page tree walk with loop guard).
    pub fn pages(&self) -> Result<Vec<ObjectId>, PdfError> {
        let (_, catalog) = self.catalog()?;
        let root = catalog
            .get("Pages")
            .and_then(Object::as_reference)
            .ok_or(PdfError::Corrupt("catalog has no /Pages reference"))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        // Explicit stack in reverse order keeps document order without recursion.
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                return Err(PdfError::Corrupt("page tree loop"));
            }
            if seen.len() > self.limits.max_tree_nodes {
                return Err(PdfError::Limit("page tree too large"));
            }
            let node = self.resolve_dict(&Object::Reference(id))?;
            let is_pages = node.name_is("Type", "Pages")
                || (!node.name_is("Type", "Page") && node.contains("Kids"));
            if is_pages {
                let kids = match node.get("Kids") {
                    Some(k) => self.resolve(k)?,
                    None => Object::Array(Vec::new()),
                };
                let kids = kids
                    .as_array()
                    .ok_or(PdfError::Corrupt("/Kids is not an array"))?;
                for kid in kids.iter().rev() {
                    if let Some(r) = kid.as_reference() {
                        stack.push(r);
                    }
                }
            } else {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// An inherited page attribute (§7.7.3.4: Resources, MediaBox, CropBox, Rotate).
    pub fn page_attribute(&self, page: ObjectId, key: &str) -> Result<Option<Object>, PdfError> {
        let mut cur = Some(page);
        let mut hops = 0;
        while let Some(id) = cur {
            hops += 1;
            if hops > 64 {
                return Err(PdfError::Corrupt("page tree parent chain too long"));
            }
            let d = self.resolve_dict(&Object::Reference(id))?;
            if let Some(v) = d.get(key) {
                return Ok(Some(self.resolve(v)?));
            }
            cur = d.get("Parent").and_then(Object::as_reference);
        }
        Ok(None)
    }

    /// The AcroForm dictionary and its id when indirect.
    pub fn acroform(&self) -> Result<Option<(Option<ObjectId>, Dictionary)>, PdfError> {
        let (_, catalog) = self.catalog()?;
        match catalog.get("AcroForm") {
            None => Ok(None),
            Some(Object::Reference(r)) => match self.get(*r)? {
                Object::Dictionary(d) => Ok(Some((Some(*r), d))),
                Object::Null => Ok(None),
                _ => Err(PdfError::Corrupt("/AcroForm is not a dictionary")),
            },
            Some(Object::Dictionary(d)) => Ok(Some((None, d.clone()))),
            Some(_) => Err(PdfError::Corrupt("/AcroForm is not a dictionary")),
        }
    }

    /// Terminal form fields (walk of /Fields and /Kids with loop guard).
    pub fn fields(&self) -> Result<Vec<Field>, PdfError> {
        Ok(self.form_fields()?.0)
    }

    /// Terminal form fields, and the number of every object the walk read to find them: the
    /// catalog, the AcroForm, the /Fields and /Kids arrays, field and widget dictionaries, and
    /// the object streams holding any of them. An earlier revision whose next revision
    /// rewrote or freed none of these (and kept the catalog) has the same fields.
    pub fn form_fields(&self) -> Result<(Vec<Field>, HashSet<u32>), PdfError> {
        let mut read = HashSet::new();
        let fields = self.walk_fields(&mut read)?;
        Ok((fields, read))
    }

    /// Follows references like [`Reader::resolve`], noting each object read in `read`.
    fn resolve_noting(&self, obj: &Object, read: &mut HashSet<u32>) -> Result<Object, PdfError> {
        let mut cur = obj.clone();
        for _ in 0..MAX_RESOLVE_DEPTH {
            match cur {
                Object::Reference(id) => {
                    read.insert(id.num);
                    if let Some(XrefEntry::Compressed { stream, .. }) = self.xref_entry(id.num) {
                        read.insert(stream);
                    }
                    cur = self.get(id)?;
                }
                other => return Ok(other),
            }
        }
        Err(PdfError::Limit("references nested too deeply"))
    }

    fn walk_fields(&self, read: &mut HashSet<u32>) -> Result<Vec<Field>, PdfError> {
        if let Some(root) = self.trailer.get("Root") {
            self.resolve_noting(root, read)?;
        }
        let (_, catalog) = self.catalog()?;
        let form = match catalog.get("AcroForm") {
            None => return Ok(Vec::new()),
            Some(f) => match self.resolve_noting(f, read)? {
                Object::Dictionary(d) => d,
                Object::Null => return Ok(Vec::new()),
                _ => return Err(PdfError::Corrupt("/AcroForm is not a dictionary")),
            },
        };
        let roots = match form.get("Fields") {
            Some(f) => self.resolve_noting(f, read)?,
            None => return Ok(Vec::new()),
        };
        let roots = roots.as_array().cloned().unwrap_or_default();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        // (node, parent's full name, inherited /FT, inherited /V)
        type Pending = (ObjectId, String, Option<Vec<u8>>, Option<Object>);
        let mut stack: Vec<Pending> = roots
            .iter()
            .rev()
            .filter_map(Object::as_reference)
            .map(|r| (r, String::new(), None, None))
            .collect();
        let dict_at = |id: ObjectId, read: &mut HashSet<u32>| -> Option<Dictionary> {
            match self.resolve_noting(&Object::Reference(id), read).ok()? {
                Object::Dictionary(d) => Some(d),
                Object::Stream(s) => Some(s.dict),
                _ => None,
            }
        };
        while let Some((id, parent_name, parent_ft, parent_value)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if seen.len() > self.limits.max_tree_nodes {
                return Err(PdfError::Limit("field tree too large"));
            }
            let Some(d) = dict_at(id, read) else {
                continue;
            };
            let partial = d
                .get("T")
                .and_then(Object::as_string)
                .map(PdfString::to_text);
            let name = match (&partial, parent_name.is_empty()) {
                (Some(p), true) => p.clone(),
                (Some(p), false) => format!("{parent_name}.{p}"),
                (None, _) => parent_name.clone(),
            };
            let ft = d.get_name("FT").map(<[u8]>::to_vec).or(parent_ft);
            let value = d.get("V").cloned().or(parent_value);
            let kids: Vec<ObjectId> = match d.get("Kids") {
                Some(k) => self
                    .resolve_noting(k, read)?
                    .as_array()
                    .map(|a| a.iter().filter_map(Object::as_reference).collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            // Kids with /T are sub-fields; kids without are the field's widgets.
            let mut sub_fields = Vec::new();
            for k in &kids {
                if dict_at(*k, read).is_some_and(|kd| kd.contains("T")) {
                    sub_fields.push(*k);
                }
            }
            if sub_fields.is_empty() {
                if partial.is_some() {
                    out.push(Field {
                        id,
                        name,
                        field_type: ft,
                        value,
                        dict: d,
                    });
                }
            } else {
                for k in sub_fields.into_iter().rev() {
                    stack.push((k, name.clone(), ft.clone(), value.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Copies the byte range `[offset, offset+len)` of the source into `sink`, in chunks.
    pub fn copy_range(
        &self,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        const CHUNK: usize = 1 << 20;
        let end = offset.saturating_add(len).min(self.src.len());
        if let Some(bytes) = self.src.as_bytes() {
            // In memory: hand out the source's own bytes instead of copying them.
            let start = usize::try_from(offset.min(end)).unwrap_or(bytes.len());
            let stop = usize::try_from(end).unwrap_or(bytes.len()).min(bytes.len());
            for chunk in bytes[start.min(stop)..stop].chunks(CHUNK) {
                sink(chunk)?;
            }
            return Ok(());
        }
        let mut buf = vec![0u8; (end.saturating_sub(offset) as usize).min(CHUNK)];
        let mut pos = offset;
        while pos < end {
            let want = ((end - pos) as usize).min(buf.len());
            let n = self.src.read_at(pos, &mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "source shrank while reading",
                ));
            }
            sink(&buf[..n])?;
            pos += n as u64;
        }
        Ok(())
    }
}

/// The offset of the section before the one whose trailer is `trailer`. `/Prev 0` means none:
/// some writers put it in a file's first section, and qpdf reads it so (offset 0 holds the
/// header, never a cross-reference section). Any other `/Prev` that is not an offset is a
/// broken cross-reference.
fn previous_section(trailer: &Dictionary) -> Result<Option<u64>, PdfError> {
    match trailer.get("Prev") {
        None => Ok(None),
        Some(prev) => match prev.as_int().map(u64::try_from) {
            Some(Ok(0)) => Ok(None),
            Some(Ok(offset)) => Ok(Some(offset)),
            _ => Err(PdfError::Corrupt("/Prev is not a file offset")),
        },
    }
}

/// Finds `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Finds the last `needle` in `hay`.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// For `obj` at `at`, finds a preceding `num gen` header at a line or token start.
fn object_header_before(buf: &[u8], at: usize) -> Option<(usize, u32, u16)> {
    let mut i = at;
    let ws = |b: u8| super::object::is_whitespace(b);
    let skip_ws_back = |i: &mut usize| {
        while *i > 0 && ws(buf[*i - 1]) {
            *i -= 1;
        }
    };
    let digits_back = |i: &mut usize| -> Option<(usize, usize)> {
        let end = *i;
        while *i > 0 && buf[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        (*i < end).then_some((*i, end))
    };
    skip_ws_back(&mut i);
    if i == at {
        return None;
    }
    let (gs, ge) = digits_back(&mut i)?;
    let before_gen = i;
    skip_ws_back(&mut i);
    if i == before_gen {
        return None;
    }
    let (ns, ne) = digits_back(&mut i)?;
    if ns > 0 && !ws(buf[ns - 1]) && !super::object::is_delimiter(buf[ns - 1]) {
        return None;
    }
    let num = std::str::from_utf8(&buf[ns..ne]).ok()?.parse().ok()?;
    let gen = std::str::from_utf8(&buf[gs..ge]).ok()?.parse().ok()?;
    Some((ns, num, gen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{hybrid_pdf, quirks, simple_pdf};

    #[test]
    fn reads_classic_file() {
        let pdf = simple_pdf();
        let r = Reader::new(pdf.as_slice()).unwrap();
        assert!(!r.is_damaged());
        assert_eq!(r.revisions().len(), 1);
        assert_eq!(r.revisions()[0].end, pdf.len() as u64);
        assert_eq!(r.pages().unwrap(), vec![ObjectId::new(3, 0)]);
        let Object::Stream(s) = r.get(ObjectId::new(4, 0)).unwrap() else {
            panic!("not a stream")
        };
        assert_eq!(s.data, b"BT ET q");
        assert_eq!(r.next_object_number(), 5);
    }

    #[test]
    fn broken_xref_is_repaired_and_flagged() {
        let mut pdf = simple_pdf();
        let at = rfind(&pdf, b"startxref").unwrap();
        pdf.truncate(at);
        pdf.extend_from_slice(b"startxref\n999999\n%%EOF\n");
        let r = Reader::new(pdf.as_slice()).unwrap();
        assert!(r.is_damaged());
        assert_eq!(r.pages().unwrap().len(), 1);
    }

    #[test]
    fn prev_loop_does_not_hang() {
        let mut pdf = simple_pdf();
        let xref = find(&pdf, b"xref\n0").unwrap();
        let t = find(&pdf, b"/Root 1 0 R").unwrap();
        pdf.splice(t..t, format!("/Prev {xref} ").into_bytes());
        let r = Reader::new(pdf.as_slice()).unwrap();
        assert!(r.is_damaged());
    }

    #[test]
    fn not_a_pdf() {
        assert!(matches!(
            Reader::new(&b"hello world"[..]),
            Err(PdfError::NotPdf)
        ));
    }

    #[test]
    fn truncated_files_never_panic() {
        let pdf = simple_pdf();
        for cut in (0..pdf.len()).step_by(7) {
            crate::parse_for_fuzz(&pdf[..cut]);
        }
    }

    #[test]
    fn page_tree_loop_is_an_error() {
        let pdf = String::from_utf8_lossy(&simple_pdf()).replace("/Kids [3 0 R]", "/Kids [2 0 R]");
        let r = Reader::new(pdf.as_bytes()).unwrap();
        assert!(r.pages().is_err());
    }

    /// Deterministic mutations (byte flips, truncations, splices) of a valid file must never
    /// panic or hang.
    #[test]
    fn mutated_files_never_panic() {
        let pdf = simple_pdf();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut m = pdf.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[at] = next() as u8,
                    1 => m.truncate(at.max(1)),
                    _ => {
                        let junk: &[u8] = [
                            &b"<<"[..],
                            b"[",
                            b"999999999 0 R",
                            b"stream\n",
                            b"/Length 99999",
                        ][(next() % 5) as usize];
                        m.splice(at..at, junk.iter().copied());
                    }
                }
            }
            crate::parse_for_fuzz(&m);
        }
    }

    #[test]
    fn lying_length_falls_back_to_endstream() {
        let pdf = String::from_utf8_lossy(&simple_pdf()).replace("/Length 7 ", "/Length 9999999 ");
        // The longer number also shifts later offsets: the repair scan finds the objects, and
        // the stream still ends at its `endstream`.
        let r = Reader::new(pdf.as_bytes()).unwrap();
        let Object::Stream(s) = r.get(ObjectId::new(4, 0)).unwrap() else {
            panic!("not a stream")
        };
        assert_eq!(s.data, b"BT ET q");
    }

    #[test]
    fn decompression_bomb_is_refused() {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 8 << 20]).unwrap();
        let bomb = e.finish().unwrap();
        let limits = Limits {
            max_decoded_stream: 1 << 20,
            ..Limits::default()
        };
        let mut pdf = simple_pdf();
        let at = find(&pdf, b"xref\n0").unwrap();
        let mut obj = format!(
            "9 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            bomb.len()
        )
        .into_bytes();
        obj.extend_from_slice(&bomb);
        obj.extend_from_slice(b"\nendstream\nendobj\n");
        pdf.splice(at..at, obj);
        // The xref offsets moved: the repair scan finds the objects again.
        let r = Reader::with_limits(pdf.as_slice(), limits).unwrap();
        let Object::Stream(s) = r.get(ObjectId::new(9, 0)).unwrap() else {
            panic!("not a stream")
        };
        assert!(matches!(r.decode_stream(&s), Err(PdfError::Limit(_))));
    }

    #[test]
    fn deep_nesting_and_huge_numbers_are_errors_not_crashes() {
        let deep = format!(
            "%PDF-1.7\n1 0 obj\n{}\nendobj\ntrailer\n<< /Root 1 0 R >>\n",
            "[".repeat(100_000)
        );
        if let Ok(r) = Reader::new(deep.as_bytes()) {
            assert!(r.get(ObjectId::new(1, 0)).is_err());
        }
        let huge = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 4294967295 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R /Size 4294967295 >>\n";
        let r = Reader::new(huge.as_bytes()).unwrap();
        assert!(r.pages().is_err() || r.pages().unwrap().is_empty());
    }

    #[test]
    fn hybrid_file_reads_objects_from_its_xref_stream() {
        let pdf = hybrid_pdf();
        let r = Reader::new(pdf.as_slice()).unwrap();
        assert!(!r.is_damaged());
        assert_eq!(r.last_xref_kind(), XrefKind::Table);
        assert_eq!(r.pages().unwrap(), vec![ObjectId::new(3, 0)]);
        assert_eq!(
            r.xref_entry(3),
            Some(XrefEntry::Compressed {
                stream: 4,
                index: 0
            })
        );
        assert_eq!(r.revisions().len(), 1);
        assert_eq!(r.revisions()[0].end, pdf.len() as u64);
    }

    #[test]
    fn linearized_sections_form_one_revision() {
        // A first-page section near the start whose /Prev points forward to the main section.
        let simple = simple_pdf();
        let body_start = find(&simple, b"1 0 obj").unwrap();
        let main_xref = find(&simple, b"xref\n0").unwrap();
        let mut out = simple[..body_start].to_vec();
        let first = out.len();
        let head = |prev: usize| {
            format!("xref\n0 0\ntrailer\n<< /Size 5 /Root 1 0 R /Prev {prev:010} >>\nstartxref\n0\n%%EOF\n")
        };
        let shift = head(0).len();
        out.extend_from_slice(head(main_xref + shift).as_bytes());
        // Objects and the main table, with offsets shifted by the inserted section.
        let text = String::from_utf8(simple[body_start..].to_vec()).unwrap();
        let mut fixed = String::new();
        for line in text.split_inclusive('\n') {
            match line.strip_suffix(" 00000 n \n") {
                Some(off) => fixed.push_str(&format!(
                    "{:010} 00000 n \n",
                    off.parse::<usize>().unwrap() + shift
                )),
                None => fixed.push_str(line),
            }
        }
        let at = fixed.rfind("startxref\n").unwrap();
        fixed.truncate(at);
        fixed.push_str(&format!("startxref\n{first}\n%%EOF\n"));
        out.extend_from_slice(fixed.as_bytes());
        let r = Reader::new(out.as_slice()).unwrap();
        assert!(!r.is_damaged());
        assert_eq!(r.pages().unwrap().len(), 1);
        assert_eq!(r.revisions().len(), 1);
        assert_eq!(r.revisions()[0].end, out.len() as u64);
    }

    #[test]
    fn quirks_qpdf_reads_are_read_normally_and_damage_stays_damage() {
        for (quirk, pdf) in quirks::readable() {
            let Some(clean) = quirks::qpdf_clean(&pdf) else {
                return;
            };
            assert!(clean, "qpdf warns about {quirk}");
            let r = Reader::new(pdf.as_slice()).unwrap();
            assert!(!r.is_damaged(), "{quirk} read as damaged");
            assert_eq!(r.pages().unwrap().len(), 1, "{quirk}");
            assert_eq!(r.revisions().len(), 1, "{quirk}");
        }
        for (quirk, pdf) in quirks::damaged() {
            assert_eq!(quirks::qpdf_clean(&pdf), Some(false), "qpdf reads {quirk}");
            let r = Reader::new(pdf.as_slice()).unwrap();
            assert!(r.is_damaged(), "{quirk} not flagged");
        }
    }
}
