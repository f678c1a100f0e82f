//! Hostile PDFs: every one must give an error or a result, never a panic, an endless loop or an
//! unbounded allocation. Each case goes through the PDF reader and through the same walk the
//! verifier does (cross-reference, catalog, pages, fields, every object and stream).
//!
//! Files found by fuzzing live in `fuzz/regressions/` and are replayed here too, so the normal
//! test run guards against their return without a nightly toolchain (inputs of the `diff`
//! target, named `diff-*`, are first turned into the signed file with a later revision they
//! describe).

#[path = "../fuzz/fuzz_targets/later_revision.rs"]
mod later_revision;

use std::io::Write;
use std::path::Path;

use flate2::write::DeflateEncoder;
use flate2::Compression;
use vanthu_pades::pdf::{self, Limits, PdfError, Reader};
use vanthu_pades::verify::{self, Report, Verdict, VerifyError, VerifyOptions};

const SIGNED: &[u8] = include_bytes!("fixtures/pyhanko-b-b.pdf");

/// Runs `bytes` through every entry point that reads untrusted PDFs: the reader's walk, and the
/// verifier (offline: hostile files must not make it fetch anything). Returns the verifier's
/// answer.
fn exercise(bytes: &[u8]) -> Result<Report, VerifyError> {
    pdf::parse_for_fuzz(bytes);
    if let Ok(reader) = Reader::new(bytes) {
        let _ = reader.catalog();
        let _ = reader.pages();
        let _ = reader.fields();
    }
    let options = VerifyOptions {
        offline: true,
        ..VerifyOptions::default()
    };
    verify::verify_bytes(bytes, &options)
}

/// The verifier read `bytes` as a file without any signature.
#[track_caller]
fn assert_unsigned(bytes: &[u8]) {
    match exercise(bytes) {
        Ok(report) => assert_eq!(report.verdict, Verdict::Unsigned, "{report:?}"),
        Err(e) => panic!("expected an unsigned file, got the error {e}"),
    }
}

/// The verifier refused `bytes` as unreadable.
#[track_caller]
fn assert_refused(bytes: &[u8]) -> VerifyError {
    match exercise(bytes) {
        Ok(report) => panic!("expected a refusal, got the verdict {:?}", report.verdict),
        Err(e) => e,
    }
}

/// Assembles a PDF from object bodies (numbered from 1) with a classic cross-reference table and
/// the given trailer entries; returns the bytes and the offset of the `xref` keyword.
fn classic(objects: &[&[u8]], trailer: &str) -> (Vec<u8>, usize) {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {trailer} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    (out, xref)
}

const CATALOG: &[u8] = b"<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &[u8] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const PAGE: &[u8] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>";

fn with_stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dict} >>\nstream\n").into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// `bytes` with the first `from` replaced by `to` of the same length, so no offset moves (the
/// files start with a binary comment, which a detour through UTF-8 text would garble).
fn patched(mut bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "a patch must keep every offset");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from:?} not in the file"));
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    bytes
}

/// Peak resident memory of this test process so far, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn valid_fixture_reads() {
    // The baseline the truncation test cuts up must itself be fine: one intact signature
    // (untrusted here, as no trust anchor is configured).
    let report = exercise(SIGNED).unwrap();
    assert_eq!(report.signatures.len(), 1);
    assert!(report.signatures[0].intact);
    let reader = Reader::new(SIGNED).unwrap();
    assert_eq!(reader.fields().unwrap().len(), 1);
}

#[test]
fn xref_prev_pointing_at_itself() {
    let content = with_stream("/Length 0", b"");
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &content];
    // /Prev is patched to the section's own offset once it is known.
    let (probe, xref) = classic(&objects, "/Prev 0000000000");
    let bytes = patched(probe, "/Prev 0000000000", &format!("/Prev {xref:010}"));
    assert!(matches!(
        Reader::new(bytes.as_slice()),
        Ok(reader) if reader.is_damaged()
    ));
    // The loop is caught; objects found by the repair scan cannot establish revisions.
    assert!(matches!(assert_refused(&bytes), VerifyError::Damaged));
}

/// A file with two cross-reference sections, the newer one's /Prev pointing at the older;
/// with `looping`, the older one's /Prev points back at the newer.
fn two_sections(looping: bool) -> Vec<u8> {
    let content = with_stream("/Length 0", b"");
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &content];
    // Fixed-width /Prev placeholders keep every offset valid when they are filled in.
    let first_trailer = if looping { "/Prev 0000000000" } else { "" };
    let (mut bytes, first) = classic(&objects, first_trailer);
    let second = bytes.len();
    bytes.extend_from_slice(
        format!("xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 5 /Root 1 0 R /Prev {first:010} >>\nstartxref\n{second}\n%%EOF\n")
            .as_bytes(),
    );
    if looping {
        patched(bytes, "/Prev 0000000000", &format!("/Prev {second:010}"))
    } else {
        bytes
    }
}

#[test]
fn xref_prev_chain_between_two_sections() {
    // The honest chain reads as an ordinary unsigned file of two revisions.
    let honest = two_sections(false);
    let reader = Reader::new(honest.as_slice()).unwrap();
    assert!(!reader.is_damaged());
    assert_eq!(reader.revisions().len(), 2);
    assert_unsigned(&honest);
    // Sections pointing at each other: the loop is caught and the file refused.
    assert!(matches!(
        assert_refused(&two_sections(true)),
        VerifyError::Damaged
    ));
    // With a budget of one section, even the honest chain is refused, not followed.
    let limits = Limits {
        max_xref_sections: 1,
        ..Limits::default()
    };
    assert!(matches!(
        Reader::with_limits(honest.as_slice(), limits),
        Err(PdfError::Limit(_))
    ));
}

#[test]
fn lying_stream_lengths() {
    for dict in [
        "/Length 1000000000000",
        "/Length -5",
        "/Length 0",
        "/Length 5 0 R",
        "/Length 4 0 R",
        "/Length 99999999999 0 R",
        "/Length /Zero",
        "/Length 3.5e400",
    ] {
        let content = with_stream(dict, b"BT /F1 12 Tf (endstream) Tj ET");
        let objects: [&[u8]; 5] = [CATALOG, PAGES, PAGE, &content, b"4 0 R"];
        let (bytes, _) = classic(&objects, "");
        // The stream is found by its endstream keyword whatever the length says.
        assert_unsigned(&bytes);
    }
}

/// A zlib stream inflating to `mib` MiB of zeros, built without compressing them all: one MiB is
/// deflated once and ends on a byte boundary (sync flush), its blocks only refer back to zeros,
/// so repeating it is a valid deflate stream of the whole.
fn zero_bomb(mib: usize) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    enc.flush().unwrap();
    let segment = enc.get_ref().clone();
    let mut out = vec![0x78, 0xda];
    for _ in 0..mib {
        out.extend_from_slice(&segment);
    }
    // A final, empty fixed-Huffman block, then Adler-32 of the zeros (a = 1, b = length).
    out.extend_from_slice(&[0x03, 0x00]);
    let b = ((mib as u64) << 20) % 65521;
    out.extend_from_slice(&((b << 16) as u32 | 1).to_be_bytes());
    out
}

#[test]
fn decompression_bombs_stay_within_the_stream_limit() {
    let bomb = zero_bomb(1024);
    // As page content, and also as an object stream and a cross-reference stream, which the
    // reader inflates on its own before any page is looked at.
    let content = with_stream(
        &format!("/Length {} /Filter /FlateDecode", bomb.len()),
        &bomb,
    );
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &content];
    let (bytes, _) = classic(&objects, "");
    assert_unsigned(&bytes);

    let objstm = with_stream(
        &format!(
            "/Type /ObjStm /N 1 /First 4 /Length {} /Filter /FlateDecode",
            bomb.len()
        ),
        &bomb,
    );
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &objstm];
    let (bytes, _) = classic(&objects, "");
    assert_unsigned(&bytes);

    let mut xref_stream = b"%PDF-1.7\n1 0 obj\n".to_vec();
    xref_stream.extend_from_slice(&with_stream(
        &format!(
            "/Type /XRef /Size 2 /W [1 4 2] /Root 1 0 R /Length {} /Filter /FlateDecode",
            bomb.len()
        ),
        &bomb,
    ));
    xref_stream.extend_from_slice(b"\nendobj\nstartxref\n9\n%%EOF\n");
    // Without its cross-reference stream there is no file to read.
    assert!(matches!(
        assert_refused(&xref_stream),
        VerifyError::Pdf(PdfError::Limit(_))
    ));

    if let Some(peak) = peak_rss() {
        // The default stream limit is 64 MiB; inflating the gigabyte would show here.
        assert!(peak < 600 << 20, "peak resident memory {} MiB", peak >> 20);
    }
}

#[test]
fn decoded_streams_are_capped_by_the_configured_limit() {
    let bomb = zero_bomb(8);
    let content = with_stream(
        &format!("/Length {} /Filter /FlateDecode", bomb.len()),
        &bomb,
    );
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &content];
    let (bytes, _) = classic(&objects, "");
    let limits = Limits {
        max_decoded_stream: 1 << 20,
        ..Limits::default()
    };
    let reader = Reader::with_limits(bytes.as_slice(), limits).unwrap();
    let pdf::Object::Stream(stream) = reader.get_by_num(4).unwrap() else {
        panic!("object 4 is the content stream")
    };
    assert!(matches!(
        reader.decode_stream(&stream),
        Err(PdfError::Limit(_))
    ));
    // The bomb itself is sound: under a generous limit it inflates to exactly 8 MiB of zeros.
    let generous = Limits {
        max_decoded_stream: 16 << 20,
        ..Limits::default()
    };
    let reader = Reader::with_limits(bytes.as_slice(), generous).unwrap();
    let pdf::Object::Stream(stream) = reader.get_by_num(4).unwrap() else {
        panic!("object 4 is the content stream")
    };
    let data = reader.decode_stream(&stream).unwrap();
    assert_eq!(data.len(), 8 << 20);
    assert!(data.iter().all(|b| *b == 0));
}

#[test]
fn deep_nesting() {
    for open in ["[", "<<", "<< /A ", "[<<"] {
        let nested = open.repeat(100_000);
        let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, nested.as_bytes()];
        let (bytes, _) = classic(&objects, "");
        // An object no page refers to: the file is read all the same.
        assert_unsigned(&bytes);
        // In the trailer itself, which is parsed before anything else: no trailer, no file.
        let (bytes, _) = classic(&[CATALOG, PAGES, PAGE], &format!("/X {nested}"));
        assert_refused(&bytes);
    }
}

#[test]
fn deeply_nested_object_is_a_limit_error() {
    let nested = "[".repeat(100_000);
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, nested.as_bytes()];
    let (bytes, _) = classic(&objects, "");
    let reader = Reader::new(bytes.as_slice()).unwrap();
    assert!(reader.get_by_num(4).is_err());
}

#[test]
fn huge_object_numbers() {
    let content = with_stream("/Length 0", b"");
    let objects: [&[u8]; 4] = [CATALOG, PAGES, PAGE, &content];
    let (bytes, _) = classic(&objects, "");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let variants = [
        text.replace("xref\n0 5", "xref\n4294967290 5"),
        text.replace("xref\n0 5", "xref\n0 4294967295"),
        text.replace("/Size 5", "/Size 4294967295"),
        text.replace("/Size 5", "/Size 99999999999999999999"),
        text.replace("/Root 1 0 R", "/Root 4294967295 65535 R"),
        text.replace("/Root 1 0 R", "/Root 18446744073709551616 0 R"),
        text.replace(
            "/Kids [3 0 R]",
            "/Kids [3 0 R 2147483647 0 R 4294967296 0 R]",
        ),
        text.replace("1 0 obj", "4294967295 0 obj"),
        text.replacen("startxref\n", "startxref\n9999999999999", 1),
        text.replacen("startxref\n", "startxref\n-", 1),
    ];
    for v in &variants {
        assert_refused(v.as_bytes());
    }
    // A cross-reference stream claiming billions of entries in a tiny body.
    let mut xs = b"%PDF-1.7\n1 0 obj\n".to_vec();
    xs.extend_from_slice(&with_stream(
        "/Type /XRef /Size 4294967295 /Index [0 4294967295] /W [1 4 2] /Root 1 0 R /Length 7",
        &[1, 0, 0, 0, 9, 0, 0],
    ));
    xs.extend_from_slice(b"\nendobj\nstartxref\n9\n%%EOF\n");
    assert_refused(&xs);
    // And /W widths that would make each entry gigabytes long.
    let wide = String::from_utf8_lossy(&xs).replace("/W [1 4 2]", "/W [1 2147483647 2147483647]");
    assert_refused(wide.as_bytes());
}

#[test]
fn self_referencing_objects() {
    // A catalog that is only a reference to itself is no catalog.
    let (bytes, _) = classic(&[b"1 0 R"], "");
    assert_refused(&bytes);
    // A catalog that is its own page tree, and pages whose kid is the page tree root again:
    // the walks stop at the repeat.
    let (bytes, _) = classic(&[b"<< /Type /Catalog /Pages 1 0 R >>"], "");
    assert_unsigned(&bytes);
    let pages = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>";
    let objects: [&[u8]; 3] = [CATALOG, pages, PAGE];
    let (bytes, _) = classic(&objects, "");
    assert_unsigned(&bytes);
}

#[test]
fn truncation_at_every_tenth_of_a_signed_file() {
    for tenth in 0..10 {
        let cut = SIGNED.len() * tenth / 10;
        // A cut file is never reported as validly signed: it is unreadable, or its signature
        // does not cover what is left.
        for len in [cut, cut + 1] {
            if let Ok(report) = exercise(&SIGNED[..len]) {
                assert!(
                    report.signatures.iter().all(|s| !s.intact),
                    "truncated at {len} of {} yet intact",
                    SIGNED.len()
                );
            }
        }
    }
    // Everything but the final newline of %%EOF: the /ByteRange reaches past the end of what
    // is left, so the signature cannot be intact.
    let report = exercise(&SIGNED[..SIGNED.len() - 1]).expect("the file still reads");
    assert_eq!(report.verdict, Verdict::Invalid, "{report:?}");
    assert_eq!(report.signatures.len(), 1);
    assert!(!report.signatures[0].intact);
}

#[test]
fn not_a_pdf() {
    assert!(matches!(Reader::new(&b""[..]), Err(PdfError::NotPdf)));
    assert!(matches!(Reader::new(&b"GIF89a"[..]), Err(PdfError::NotPdf)));
    assert!(exercise(b"GIF89a").is_err());
    assert_refused(b"%PDF-");
    assert_refused(b"%PDF-1.7\nstartxref\n0\n%%EOF");
}

#[test]
fn fuzz_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let is_diff = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("diff-"));
        if is_diff {
            // A later revision on a signed base: the base's signatures are still found.
            let report = exercise(&later_revision::build(&bytes))
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            assert!(!report.signatures.is_empty(), "{}", path.display());
        } else if let Ok(report) = exercise(&bytes) {
            // Whatever the answer, these inputs hold no valid signature.
            assert_ne!(report.verdict, Verdict::Valid, "{}", path.display());
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no regression inputs in {}", dir.display());
}

/// The `diff` fuzz target's inputs describe well-formed updates: every base, cross-reference
/// kind and /Root choice gives a file whose new revision the reader finds without repairing
/// anything, and with /Root kept the verifier still finds the signature.
#[test]
fn fuzzed_later_revisions_are_well_formed() {
    for base in 0..2u8 {
        let revisions = Reader::new(later_revision::BASES[usize::from(base)])
            .unwrap()
            .revisions()
            .len();
        for xref in 0..3u8 {
            for root in 0..4u8 {
                let flags = base | xref << 1 | root << 3 | 0b110_0000;
                // One object, number 3 of the base, overwritten with a new dictionary `<< /Type
                // /Catalog >>` (body kind 5, one entry: key "Type", then a name, "Catalog").
                let input = [flags, 5, 2, 5, 1, 0, 3, 1];
                let file = later_revision::build(&input);
                let reader = Reader::new(&file[..]).unwrap();
                assert!(!reader.is_damaged(), "flags {flags:#010b}");
                assert_eq!(
                    reader.revisions().len(),
                    revisions + 1,
                    "flags {flags:#010b}"
                );
                let report = exercise(&file);
                if root == 0 || root == 3 {
                    let report = report.expect("a report");
                    assert!(!report.signatures.is_empty(), "flags {flags:#010b}");
                }
                if xref != 2 {
                    assert_eq!(
                        reader
                            .get_by_num(3)
                            .unwrap()
                            .as_dict()
                            .and_then(|d| d.get_name("Type")),
                        Some(&b"Catalog"[..]),
                        "flags {flags:#010b}"
                    );
                }
            }
        }
    }
}
