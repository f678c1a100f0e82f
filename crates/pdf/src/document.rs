//! A new document written front to back (§7.5): each object goes to the output as soon as it
//! is complete, so a long document (a register book of thousands of lines) never sits in
//! memory whole. Only the byte offsets for the cross-reference table are kept.

use std::io::Write;

use super::object::{write_dict, write_object, Dictionary, Object, ObjectId};
use super::PdfError;

/// Writer of one new PDF to `W`.
///
/// Object numbers are handed out by [`allocate`](Self::allocate) and may be written in any
/// order, so an object can refer to one written later (a page to its fonts, finished once
/// every page is known).
#[derive(Debug)]
pub struct DocumentWriter<W: Write> {
    out: W,
    written: u64,
    /// Offset of each object by number minus one; `None` until it is written.
    offsets: Vec<Option<u64>>,
}

impl<W: Write> DocumentWriter<W> {
    /// Starts a PDF 1.7 file with its binary-marker comment.
    pub fn new(out: W) -> Result<Self, PdfError> {
        let mut writer = Self {
            out,
            written: 0,
            offsets: Vec::new(),
        };
        writer.put(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), PdfError> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// A fresh object number, to be written later with [`write`](Self::write).
    pub fn allocate(&mut self) -> ObjectId {
        self.offsets.push(None);
        ObjectId::new(self.offsets.len() as u32, 0)
    }

    /// Writes `object` as `id` (allocated here, written once).
    pub fn write(&mut self, id: ObjectId, object: &Object) -> Result<(), PdfError> {
        let slot = usize::try_from(id.num)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|i| *i < self.offsets.len() && id.gen == 0)
            .ok_or(PdfError::Corrupt(
                "object number not allocated by this writer",
            ))?;
        if self.offsets[slot].is_some() {
            return Err(PdfError::Corrupt("object written twice"));
        }
        self.offsets[slot] = Some(self.written);
        let mut bytes = format!("{} 0 obj\n", id.num).into_bytes();
        write_object(object, &mut bytes);
        bytes.extend_from_slice(b"\nendobj\n");
        self.put(&bytes)
    }

    /// Allocates a number for `object` and writes it at once.
    pub fn add(&mut self, object: &Object) -> Result<ObjectId, PdfError> {
        let id = self.allocate();
        self.write(id, object)?;
        Ok(id)
    }

    /// Writes the cross-reference table and the trailer naming `root` (and `info`, when
    /// given) and returns the output. Every allocated object must have been written.
    pub fn finish(mut self, root: ObjectId, info: Option<ObjectId>) -> Result<W, PdfError> {
        let xref_at = self.written;
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f\r\n").into_bytes();
        for offset in &self.offsets {
            let offset =
                offset.ok_or(PdfError::Corrupt("an allocated object was never written"))?;
            table.extend_from_slice(format!("{offset:010} 00000 n\r\n").as_bytes());
        }
        let mut trailer = Dictionary::new();
        trailer.set("Size", size as i64);
        trailer.set("Root", root);
        if let Some(info) = info {
            trailer.set("Info", info);
        }
        table.extend_from_slice(b"trailer\n");
        write_dict(&trailer, &mut table);
        table.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
        self.put(&table)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Reader;

    #[test]
    fn forward_references_resolve_in_the_written_file() {
        let mut w = DocumentWriter::new(Vec::new()).unwrap();
        let catalog = w.allocate();
        let pages = w.allocate();
        let mut page = Dictionary::new();
        page.set("Type", Object::name("Page"));
        page.set("Parent", pages);
        page.set("MediaBox", vec![0.into(), 0.into(), 842.into(), 595.into()]);
        let page = w.add(&page.into()).unwrap();
        let mut tree = Dictionary::new();
        tree.set("Type", Object::name("Pages"));
        tree.set("Kids", vec![Object::from(page)]);
        tree.set("Count", 1);
        w.write(pages, &tree.into()).unwrap();
        let mut root = Dictionary::new();
        root.set("Type", Object::name("Catalog"));
        root.set("Pages", pages);
        w.write(catalog, &root.into()).unwrap();
        let bytes = w.finish(catalog, None).unwrap();
        let reader = Reader::new(bytes.as_slice()).unwrap();
        assert_eq!(reader.pages().unwrap().len(), 1);
        assert_ne!(crate::testing::quirks::qpdf_clean(&bytes), Some(false));
    }

    #[test]
    fn unwritten_and_foreign_objects_are_refused() {
        let mut w = DocumentWriter::new(Vec::new()).unwrap();
        let id = w.allocate();
        assert!(w.write(ObjectId::new(7, 0), &Object::Null).is_err());
        w.write(id, &Object::Null).unwrap();
        assert!(w.write(id, &Object::Null).is_err());
        let missing = w.allocate();
        assert!(w.finish(missing, None).is_err());
    }
}
