//! The PDF layer of vanthu: a bounded, lazy reader over random-access sources, objects and
//! stream filters, an incremental-update writer, a front-to-back writer of new documents, and
//! the extraction of some pages into a new document. Nothing here loads a whole document (a 210 MB scan is read object by object),
//! and nothing here knows of signatures.

pub mod document;
pub mod extract;
pub mod filter;
pub mod object;
pub mod parser;
pub mod reader;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod writer;

pub use document::DocumentWriter;
pub use extract::extract;
pub use object::{Dictionary, Object, ObjectId, PdfString, Stream};
pub use reader::{Field, Reader, Revision, Source, XrefEntry, XrefKind};
pub use writer::{IncrementalUpdate, Placeholder, WrittenUpdate};

/// Why a PDF could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// Reading the underlying file failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The data ends in the middle of something.
    #[error("the file is truncated (at byte {offset})")]
    Truncated {
        /// Where the data ran out.
        offset: u64,
    },
    /// The syntax is wrong.
    #[error("PDF syntax error at byte {offset}: {what}")]
    Syntax {
        /// Where the error was found.
        offset: u64,
        /// What was expected or found.
        what: &'static str,
    },
    /// A safety limit was hit (nesting, sizes, counts, loops).
    #[error("the file exceeds a safety limit: {0}")]
    Limit(&'static str),
    /// The structure is inconsistent.
    #[error("the PDF structure is damaged: {0}")]
    Corrupt(&'static str),
    /// A feature this reader does not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(&'static str),
    /// The bytes are not a PDF at all.
    #[error("not a PDF file")]
    NotPdf,
    /// The document is encrypted.
    #[error("encrypted PDF files are not supported")]
    Encrypted,
}

impl PdfError {
    /// Shifts a slice-relative offset to a file offset.
    pub(crate) fn rebase(self, base: u64) -> Self {
        match self {
            PdfError::Truncated { offset } => PdfError::Truncated {
                offset: offset + base,
            },
            PdfError::Syntax { offset, what } => PdfError::Syntax {
                offset: offset + base,
                what,
            },
            other => other,
        }
    }
}

/// Safety limits for reading untrusted PDFs.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum nesting of arrays and dictionaries.
    pub max_depth: usize,
    /// Maximum bytes in one string or name.
    pub max_string: usize,
    /// Maximum items in one array or dictionary.
    pub max_collection: usize,
    /// Maximum bytes of one decoded stream.
    pub max_decoded_stream: usize,
    /// Maximum raw bytes of one stream read into memory.
    pub max_raw_stream: usize,
    /// Maximum bytes read to parse one non-stream object.
    pub max_object_window: usize,
    /// Maximum cross-reference sections followed through /Prev.
    pub max_xref_sections: usize,
    /// Maximum object numbers in the cross-reference.
    pub max_objects: usize,
    /// Maximum objects in one object stream.
    pub max_objstm_objects: usize,
    /// Maximum nodes visited in a page or field tree.
    pub max_tree_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_string: 16 << 20,
            max_collection: 1 << 20,
            max_decoded_stream: 64 << 20,
            max_raw_stream: 64 << 20,
            max_object_window: 16 << 20,
            max_xref_sections: 1024,
            max_objects: 8_000_000,
            max_objstm_objects: 100_000,
            max_tree_nodes: 1_000_000,
        }
    }
}

/// Exercises the reader on arbitrary bytes the way a verifier walks a file (cross-reference,
/// catalog, pages, fields, every object and stream), for fuzzing: it must return, never panic,
/// and stay within the limits whatever the input.
pub fn parse_for_fuzz(bytes: &[u8]) {
    let Ok(reader) = Reader::new(bytes) else {
        return;
    };
    let _ = reader.revisions().len();
    let _ = reader.catalog();
    let _ = reader.pages();
    let _ = reader.fields();
    for num in reader.object_numbers().into_iter().take(10_000) {
        if let Ok(Object::Stream(s)) = reader.get_by_num(num) {
            let _ = reader.decode_stream(&s);
        }
    }
}
