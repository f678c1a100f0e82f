//! Some pages of a document as a new document (for a trích sao, an extract): each page chosen
//! with what it draws (contents, resources, boxes, rotation), written front to back with the
//! [`DocumentWriter`], so a long scan is read and written object by object.
//!
//! What belongs to the whole document stays behind: the page's annotations and form fields
//! (signature fields included: the earlier signatures covered the whole file and do not cover
//! the extract), the outline, the structure tree, the document's metadata. An object a page
//! reaches that points back into the page tree (a page not taken, the tree itself, the
//! catalog) is written as null rather than drag the rest of the document along.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;

use super::document::DocumentWriter;
use super::object::{Dictionary, Object, ObjectId};
use super::reader::{Reader, Source};
use super::PdfError;

/// Page entries inherited from the page tree when the page lacks them (§7.7.3.4).
const INHERITED: [&str; 4] = ["Resources", "MediaBox", "CropBox", "Rotate"];

/// Page entries of the page's own that say what it shows and how (§7.7.3.3, Table 31).
const OWN: [&str; 6] = [
    "Contents", "BleedBox", "TrimBox", "ArtBox", "Group", "UserUnit",
];

/// Types of object that belong to the document's structure, never to what a page draws.
const STRUCTURAL: [&str; 3] = ["Page", "Pages", "Catalog"];

/// The copy of the source's object graph under way: source ids to the ids written.
struct Copier<'r, S: Source, W: Write> {
    reader: &'r Reader<S>,
    writer: DocumentWriter<W>,
    ids: HashMap<ObjectId, ObjectId>,
    left_behind: HashSet<ObjectId>,
    queue: VecDeque<(ObjectId, ObjectId)>,
}

impl<S: Source, W: Write> Copier<'_, S, W> {
    /// `object` with its references turned into references of the new document, the objects
    /// they name queued to be copied once each.
    fn remap(&mut self, object: &Object) -> Object {
        match object {
            Object::Reference(id) => {
                if self.left_behind.contains(id) {
                    return Object::Null;
                }
                let next = match self.ids.get(id) {
                    Some(new) => *new,
                    None => {
                        let new = self.writer.allocate();
                        self.ids.insert(*id, new);
                        self.queue.push_back((*id, new));
                        new
                    }
                };
                Object::Reference(next)
            }
            Object::Array(items) => Object::Array(items.iter().map(|o| self.remap(o)).collect()),
            Object::Dictionary(dict) => Object::Dictionary(self.remap_dict(dict)),
            Object::Stream(stream) => {
                let mut dict = stream.dict.clone();
                // Written again from the data by the serializer; an indirect length would
                // otherwise be copied for nothing.
                dict.remove("Length");
                Object::Stream(super::Stream {
                    dict: self.remap_dict(&dict),
                    data: stream.data.clone(),
                })
            }
            other => other.clone(),
        }
    }

    fn remap_dict(&mut self, dict: &Dictionary) -> Dictionary {
        let mut out = Dictionary::new();
        for (key, value) in dict.iter() {
            out.set_raw(key.to_vec(), self.remap(value));
        }
        out
    }

    /// Copies every object reached so far, and those they reach in turn.
    fn drain(&mut self) -> Result<(), PdfError> {
        while let Some((old, new)) = self.queue.pop_front() {
            let object = self.reader.get(old)?;
            let structural = match &object {
                Object::Dictionary(d) => STRUCTURAL.iter().any(|t| d.name_is("Type", t)),
                _ => false,
            };
            let copied = match structural {
                true => Object::Null,
                false => self.remap(&object),
            };
            self.writer.write(new, &copied)?;
        }
        Ok(())
    }
}

/// Writes to `out` a new PDF of the pages `pages` (numbered from 1, ascending, each once) of
/// the document `reader` reads, and returns `out`.
pub fn extract<S: Source, W: Write>(
    reader: &Reader<S>,
    pages: &[usize],
    out: W,
) -> Result<W, PdfError> {
    let all = reader.pages()?;
    if pages.is_empty() {
        return Err(PdfError::Corrupt("no page to extract"));
    }
    if pages.windows(2).any(|w| w[0] >= w[1]) {
        return Err(PdfError::Corrupt(
            "the pages to extract are not ascending, each once",
        ));
    }
    if pages[0] == 0 || pages[pages.len() - 1] > all.len() {
        return Err(PdfError::Corrupt(
            "a page to extract is not in the document",
        ));
    }
    let chosen: Vec<ObjectId> = pages.iter().map(|n| all[n - 1]).collect();
    let mut copier = Copier {
        reader,
        writer: DocumentWriter::new(out)?,
        ids: HashMap::new(),
        left_behind: all.iter().copied().collect(),
        queue: VecDeque::new(),
    };
    let catalog = copier.writer.allocate();
    let tree = copier.writer.allocate();
    let mut kids = Vec::with_capacity(chosen.len());
    for old in &chosen {
        let new = copier.writer.allocate();
        copier.left_behind.remove(old);
        copier.ids.insert(*old, new);
        kids.push(new);
    }
    for (old, new) in chosen.iter().zip(&kids) {
        let source = reader.resolve_dict(&Object::Reference(*old))?;
        let mut page = Dictionary::new();
        page.set("Type", Object::name("Page"));
        page.set("Parent", tree);
        for key in INHERITED {
            if let Some(value) = reader.page_attribute(*old, key)? {
                page.set(key, copier.remap(&value));
            }
        }
        if !page.contains("MediaBox") {
            return Err(PdfError::Corrupt("a page has no /MediaBox"));
        }
        for key in OWN {
            if let Some(value) = source.get(key) {
                page.set(key, copier.remap(value));
            }
        }
        copier.writer.write(*new, &page.into())?;
        copier.drain()?;
    }
    let mut node = Dictionary::new();
    node.set("Type", Object::name("Pages"));
    node.set(
        "Kids",
        kids.into_iter().map(Object::from).collect::<Vec<_>>(),
    );
    node.set("Count", chosen.len() as i64);
    copier.writer.write(tree, &node.into())?;
    let mut root = Dictionary::new();
    root.set("Type", Object::name("Catalog"));
    root.set("Pages", tree);
    copier.writer.write(catalog, &root.into())?;
    copier.writer.finish(catalog, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::quirks::qpdf_clean;
    use crate::writer::whole_file;

    /// Three pages sharing a font and inheriting their box and resources from the tree; page 2
    /// carries a signature field (in the AcroForm and as its annotation) and a link back to
    /// page 3; page 3 is rotated and its contents is an array.
    fn three_pages() -> Vec<u8> {
        let objs = [
            "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [8 0 R] /SigFlags 3 >> >>",
            "<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 /MediaBox [0 0 595 842] \
             /Resources << /Font << /F1 6 0 R >> >> >>",
            "<< /Type /Page /Parent 2 0 R /Contents 7 0 R >>",
            "<< /Type /Page /Parent 2 0 R /Contents 9 0 R /Annots [8 0 R 10 0 R] >>",
            "<< /Type /Page /Parent 2 0 R /Contents [11 0 R 12 0 R] /Rotate 90 \
             /Resources << /Font << /F1 6 0 R >> /XObject << /X1 13 0 R >> >> >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            "<< /Length 34 >>\nstream\nBT /F1 12 Tf 72 760 Td (ONE) Tj ET\nendstream",
            "<< /FT /Sig /T (old_signature) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] \
             /P 4 0 R >>",
            "<< /Length 34 >>\nstream\nBT /F1 12 Tf 72 760 Td (TWO) Tj ET\nendstream",
            "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Dest [5 0 R /Fit] >>",
            "<< /Length 22 >>\nstream\nBT /F1 12 Tf 72 760 Td\nendstream",
            "<< /Length 13 >>\nstream\n(THREE) Tj ET\nendstream",
            // A form XObject whose /Ref (wrongly) points at the page tree.
            "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length 0 /Ref 2 0 R >>\n\
             stream\n\nendstream",
        ];
        whole_file(&objs)
    }

    fn content(reader: &Reader<&[u8]>, page: ObjectId) -> Vec<u8> {
        let page = reader.resolve_dict(&Object::Reference(page)).unwrap();
        let parts = match reader.resolve(page.get("Contents").unwrap()).unwrap() {
            Object::Array(parts) => parts,
            stream => vec![stream],
        };
        let mut out = Vec::new();
        for part in parts {
            let Object::Stream(s) = reader.resolve(&part).unwrap() else {
                panic!("contents is not a stream")
            };
            out.extend(reader.decode_stream(&s).unwrap());
        }
        out
    }

    #[test]
    fn the_chosen_pages_are_copied_with_what_they_draw_and_nothing_else() {
        let source = three_pages();
        let reader = Reader::new(source.as_slice()).unwrap();
        let extract = extract(&reader, &[1, 3], Vec::new()).unwrap();
        assert_ne!(qpdf_clean(&extract), Some(false), "qpdf --check");
        let out = Reader::new(extract.as_slice()).unwrap();
        let pages = out.pages().unwrap();
        assert_eq!(pages.len(), 2);
        assert!(content(&out, pages[0]).ends_with(b"(ONE) Tj ET"));
        assert!(content(&out, pages[1]).ends_with(b"(THREE) Tj ET"));
        let third = out.resolve_dict(&Object::Reference(pages[1])).unwrap();
        assert_eq!(third.get_int("Rotate"), Some(90));
        for page in &pages {
            let media = out.page_attribute(*page, "MediaBox").unwrap().unwrap();
            assert_eq!(media.as_array().unwrap().len(), 4);
            let resources = out.page_attribute(*page, "Resources").unwrap().unwrap();
            assert!(resources.as_dict().unwrap().contains("Font"));
        }
        // No form, no annotation, no page left behind, nothing of the tree copied twice.
        assert!(out.acroform().unwrap().is_none());
        assert!(out.fields().unwrap().is_empty());
        let text = String::from_utf8_lossy(&extract);
        for absent in ["/Annots", "old_signature", "(TWO)", "/AcroForm"] {
            assert!(!text.contains(absent), "{absent}");
        }
        assert_eq!(text.matches("/Type /Pages").count(), 1);
        // The font both pages use is one object.
        assert_eq!(text.matches("/BaseFont /Helvetica").count(), 1);
    }

    #[test]
    fn pages_from_object_streams_are_extracted() {
        let source = crate::testing::hybrid_pdf();
        let reader = Reader::new(source.as_slice()).unwrap();
        let extract = extract(&reader, &[1], Vec::new()).unwrap();
        assert_ne!(qpdf_clean(&extract), Some(false), "qpdf --check");
        assert_eq!(
            Reader::new(extract.as_slice())
                .unwrap()
                .pages()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_selection_outside_the_document_or_out_of_order_is_refused() {
        let source = three_pages();
        let reader = Reader::new(source.as_slice()).unwrap();
        for bad in [&[][..], &[0], &[4], &[2, 1], &[1, 1], &[1, 2, 3, 4]] {
            assert!(extract(&reader, bad, Vec::new()).is_err(), "{bad:?}");
        }
    }
}
