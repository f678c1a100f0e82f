//! The kinds of file vanthu accepts, each recognised by its first bytes, so that an upload is
//! what its media type says it is.
//!
//! Documents are PDF; attachments may also be the office and image files that agencies
//! exchange beside them. A table of container signatures is all the check needs: whether a
//! ZIP holds a valid Word or Excel file is the reader's concern, while refusing a page of
//! HTML sent as `application/pdf` is ours.

/// A kind of file vanthu handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    /// The media type, as recorded and served back.
    pub media_type: &'static str,
    /// What a clerk calls it, for messages: "a PDF", "a PNG image".
    pub name: &'static str,
    signature: Signature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    /// The file begins with one of these.
    Prefix(&'static [&'static [u8]]),
    /// The file holds `magic` within its first `within` bytes.
    Within { magic: &'static [u8], within: usize },
}

/// What the first bytes of a file say about its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// The file is of the kind.
    Matches,
    /// It is not.
    Differs,
    /// More bytes are needed to tell.
    NeedMore,
}

/// ZIP local file header: Office Open XML and OpenDocument files are ZIP containers.
const ZIP: &[&[u8]] = &[b"PK\x03\x04"];
/// Compound File Binary: Word, Excel and PowerPoint files before 2007.
const CFB: &[&[u8]] = &[b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"];

impl FileKind {
    /// PDF (ISO 32000-2, 7.5.2). Readers accept the `%PDF-` header anywhere in the first
    /// 1024 bytes, so some producers put other bytes first; the check allows as much.
    pub const PDF: FileKind = FileKind {
        media_type: "application/pdf",
        name: "a PDF",
        signature: Signature::Within {
            magic: b"%PDF-",
            within: 1024,
        },
    };

    /// Every kind `POST /api/v1/files` accepts.
    pub const ACCEPTED: [FileKind; 12] = [
        FileKind::PDF,
        FileKind::zip(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "a Word document (.docx)",
        ),
        FileKind::cfb("application/msword", "a Word document (.doc)"),
        FileKind::zip(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "an Excel workbook (.xlsx)",
        ),
        FileKind::cfb("application/vnd.ms-excel", "an Excel workbook (.xls)"),
        FileKind::zip(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "a PowerPoint presentation (.pptx)",
        ),
        FileKind::cfb(
            "application/vnd.ms-powerpoint",
            "a PowerPoint presentation (.ppt)",
        ),
        FileKind::zip(
            "application/vnd.oasis.opendocument.text",
            "an OpenDocument text (.odt)",
        ),
        FileKind::zip(
            "application/vnd.oasis.opendocument.spreadsheet",
            "an OpenDocument spreadsheet (.ods)",
        ),
        FileKind::prefix("image/png", "a PNG image", &[b"\x89PNG\r\n\x1a\n"]),
        FileKind::prefix("image/jpeg", "a JPEG image", &[b"\xFF\xD8\xFF"]),
        FileKind::prefix("image/tiff", "a TIFF image", &[b"II*\0", b"MM\0*"]),
    ];

    /// The kinds of [`FileKind::ACCEPTED`] in words, for messages.
    pub const ACCEPTED_IN_WORDS: &'static str = "a PDF, a Word, Excel or PowerPoint file, an \
        OpenDocument text or spreadsheet, or a PNG, JPEG or TIFF image";

    const fn prefix(
        media_type: &'static str,
        name: &'static str,
        prefixes: &'static [&'static [u8]],
    ) -> FileKind {
        FileKind {
            media_type,
            name,
            signature: Signature::Prefix(prefixes),
        }
    }

    const fn zip(media_type: &'static str, name: &'static str) -> FileKind {
        FileKind::prefix(media_type, name, ZIP)
    }

    const fn cfb(media_type: &'static str, name: &'static str) -> FileKind {
        FileKind::prefix(media_type, name, CFB)
    }

    /// The accepted kind a `Content-Type` essence (`type/subtype`, any case) names.
    pub fn for_media_type(essence: &str) -> Option<FileKind> {
        Self::ACCEPTED
            .into_iter()
            .find(|kind| kind.media_type.eq_ignore_ascii_case(essence))
    }

    /// How many leading bytes are enough to judge a file.
    pub(crate) fn head_len(&self) -> usize {
        match self.signature {
            Signature::Prefix(prefixes) => prefixes.iter().map(|p| p.len()).max().unwrap_or(0),
            Signature::Within { within, .. } => within,
        }
    }

    /// Judges a file by its first bytes; `complete` says `head` is the whole file.
    pub(crate) fn judge(&self, head: &[u8], complete: bool) -> Judgement {
        let decided = match self.signature {
            Signature::Prefix(prefixes) => {
                if prefixes.iter().any(|p| head.starts_with(p)) {
                    Some(true)
                } else if prefixes.iter().all(|p| !p.starts_with(head)) {
                    Some(false)
                } else {
                    None
                }
            }
            Signature::Within { magic, within } => {
                let window = &head[..head.len().min(within)];
                if window.windows(magic.len()).any(|w| w == magic) {
                    Some(true)
                } else if head.len() >= within {
                    Some(false)
                } else {
                    None
                }
            }
        };
        match decided {
            Some(true) => Judgement::Matches,
            Some(false) => Judgement::Differs,
            None if complete => Judgement::Differs,
            None => Judgement::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(kind: FileKind, bytes: &[u8]) -> Judgement {
        kind.judge(bytes, true)
    }

    #[test]
    fn pdf_headers_are_found_within_the_first_kilobyte() {
        let pdf = FileKind::PDF;
        assert_eq!(judge(pdf, b"%PDF-1.7\n"), Judgement::Matches);
        let mut late = vec![b' '; 1019];
        late.extend_from_slice(b"%PDF-1.4");
        assert_eq!(judge(pdf, &late), Judgement::Matches, "header at byte 1019");
        let mut too_late = vec![b' '; 1020];
        too_late.extend_from_slice(b"%PDF-1.4");
        assert_eq!(
            judge(pdf, &too_late),
            Judgement::Differs,
            "header past 1024"
        );
        assert_eq!(judge(pdf, b"<html>"), Judgement::Differs);
        assert_eq!(judge(pdf, b""), Judgement::Differs);
        // Cut short while it may still come: undecided until the file ends.
        assert_eq!(pdf.judge(b"\r\n%PD", false), Judgement::NeedMore);
        assert_eq!(pdf.judge(b"\r\n%PD", true), Judgement::Differs);
    }

    #[test]
    fn other_kinds_are_told_by_their_container_signature() {
        let kind = |t| FileKind::for_media_type(t).unwrap();
        let docx = kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        assert_eq!(judge(docx, b"PK\x03\x04\x14\0"), Judgement::Matches);
        assert_eq!(judge(docx, b"PK\x05\x06"), Judgement::Differs);
        assert_eq!(docx.judge(b"PK", false), Judgement::NeedMore);
        assert_eq!(
            judge(
                kind("APPLICATION/MSWORD"),
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0"
            ),
            Judgement::Matches
        );
        let tiff = kind("image/tiff");
        assert_eq!(judge(tiff, b"II*\0\x08"), Judgement::Matches);
        assert_eq!(judge(tiff, b"MM\0*\0"), Judgement::Matches);
        assert_eq!(judge(tiff, b"MM*\0"), Judgement::Differs);
        assert_eq!(judge(kind("image/png"), b"GIF89a"), Judgement::Differs);
        assert_eq!(
            judge(kind("image/jpeg"), b"\xFF\xD8\xFF\xE0"),
            Judgement::Matches
        );
        for refused in [
            "text/html",
            "image/svg+xml",
            "application/octet-stream",
            "application/zip",
        ] {
            assert_eq!(FileKind::for_media_type(refused), None, "{refused}");
        }
        assert!(FileKind::ACCEPTED.iter().all(|k| k.head_len() > 0));
    }
}
