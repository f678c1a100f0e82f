//! Attack classes and their legal counterparts, built in memory on a document signed by this
//! crate: each later revision is written with a cross-reference table and with a stream.
//! (tests/verify_attacks.rs runs the same classes on pyHanko-signed files, with pyHanko's
//! verdicts beside ours.)

use crate::pdf::{
    Dictionary, IncrementalUpdate, Object, ObjectId, PdfString, Reader, Stream, XrefKind,
};
use crate::sign::{sign_bytes, SignOptions};
use crate::signer::tests::{dev, rsa_signer};
use crate::trust::TrustAnchors;
use crate::verify::report::{ModificationLevel, ShownChange, Verdict};
use crate::verify::{verify_bytes, Report, VerifyOptions};

const KINDS: [XrefKind; 2] = [XrefKind::Table, XrefKind::Stream];

/// A one-page document: catalog 1, pages 2, page 3 (content 4, font 5, a text field widget
/// 11 in /Annots), form 10 with the field; and hidden, unused: catalog 6, pages 7, page 8 with
/// content 9 (what a Hide-and-Replace attack later points /Root at).
fn base() -> Vec<u8> {
    let content = "BT /F1 24 Tf 72 720 Td (Cong van so 1) Tj ET";
    let hidden = "BT /F1 24 Tf 72 720 Td (Van ban gia mao) Tj ET";
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm 10 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> /Annots [11 0 R] >>"
            .into(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
        "<< /Type /Catalog /Pages 7 0 R >>".into(),
        "<< /Type /Pages /Kids [8 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 7 0 R /MediaBox [0 0 595 842] /Contents 9 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .into(),
        format!(
            "<< /Length {} >>\nstream\n{hidden}\nendstream",
            hidden.len()
        ),
        "<< /Fields [11 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>".into(),
        "<< /FT /Tx /T (SoKyHieu) /Type /Annot /Subtype /Widget /Rect [72 600 300 630] \
         /P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) >>"
            .into(),
    ];
    crate::pdf::writer::whole_file(&objs)
}

fn signed(certify: bool) -> Vec<u8> {
    crate::verify::tests::sign(&base(), "Official", certify)
}

fn verify(pdf: &[u8]) -> Report {
    let options = VerifyOptions {
        anchors: TrustAnchors::from_path(&dev("root-ca.pem")).unwrap(),
        offline: true,
        now: None,
    };
    verify_bytes(pdf, &options).unwrap()
}

/// Appends one revision written by `edit`, with the given cross-reference kind.
fn update(
    pdf: &[u8],
    kind: XrefKind,
    edit: impl FnOnce(&Reader<&[u8]>, &mut IncrementalUpdate),
) -> Vec<u8> {
    let reader = Reader::new(pdf).unwrap();
    let mut up = IncrementalUpdate::new(&reader).unwrap();
    up.set_xref_kind(kind);
    edit(&reader, &mut up);
    let mut out = pdf.to_vec();
    out.extend_from_slice(&up.write().unwrap().bytes);
    out
}

fn id(num: u32) -> ObjectId {
    ObjectId::new(num, 0)
}

fn dict(reader: &Reader<&[u8]>, num: u32) -> Dictionary {
    reader.resolve_dict(&Object::Reference(id(num))).unwrap()
}

fn stream(text: &str) -> Object {
    Object::Stream(Stream {
        dict: Dictionary::new(),
        data: text.as_bytes().to_vec(),
    })
}

/// The first signature's judgement must be `modified` with a change at OTHER naming `rule`.
#[track_caller]
fn assert_caught(pdf: &[u8], rule: &str) {
    let report = verify(pdf);
    let first = &report.signatures[0];
    assert!(first.intact, "{}", report.to_json());
    assert_eq!(
        first.modification,
        ModificationLevel::Other,
        "{:?}",
        first.changes
    );
    assert_eq!(first.status, Verdict::Modified, "{:?}", first.changes);
    assert!(
        first
            .changes
            .iter()
            .any(|c| c.starts_with(&format!("OTHER: {rule}"))),
        "expected {rule}: {:?}",
        first.changes
    );
}

/// The analysis of everything `attacked` appends to `signed` must be OTHER, naming `rule`,
/// and no verdict on the file may be `valid`.
#[track_caller]
fn assert_replaced(signed: &[u8], attacked: &[u8], rule: &str) {
    let old = Reader::new(signed).unwrap();
    let new = Reader::new(attacked).unwrap();
    let usage = super::Usage::of(&new);
    let out = super::analyse(
        &old,
        &new,
        &usage,
        signed.len() as u64,
        super::Constraints::default(),
    );
    assert_eq!(out.level, ModificationLevel::Other, "{:?}", out.changes);
    assert!(
        out.changes
            .iter()
            .any(|c| c.starts_with(&format!("OTHER: {rule}"))),
        "expected {rule}: {:?}",
        out.changes
    );
    assert_ne!(verify(attacked).verdict, Verdict::Valid);
}

#[track_caller]
fn assert_allowed(pdf: &[u8], level: ModificationLevel) -> Report {
    let report = verify(pdf);
    let first = &report.signatures[0];
    assert_eq!(first.modification, level, "{:?}", first.changes);
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    report
}

#[test]
fn a_new_root_with_its_own_page_tree_is_another_document() {
    for certify in [false, true] {
        let pdf = signed(certify);
        for kind in KINDS {
            let attacked = update(&pdf, kind, |_, up| {
                let content = up.add(stream("BT /F1 24 Tf 72 720 Td (Gia mao) Tj ET"));
                let pages = up.allocate();
                let mut page = Dictionary::new();
                page.set("Type", Object::name("Page"));
                page.set("Parent", Object::Reference(pages));
                page.set("Contents", Object::Reference(content));
                let page = up.add(page);
                let mut tree = Dictionary::new();
                tree.set("Type", Object::name("Pages"));
                tree.set("Kids", vec![Object::Reference(page)]);
                tree.set("Count", 1);
                up.set(pages, tree);
                let mut catalog = Dictionary::new();
                catalog.set("Type", Object::name("Catalog"));
                catalog.set("Pages", Object::Reference(pages));
                let catalog = up.add(catalog);
                up.set_trailer("Root", Object::Reference(catalog));
            });
            assert_replaced(&pdf, &attacked, "TrailerRule");
        }
    }
}

#[test]
fn hide_and_replace_through_an_empty_update_is_caught() {
    for certify in [false, true] {
        let pdf = signed(certify);
        for kind in KINDS {
            let attacked = update(&pdf, kind, |_, up| {
                up.set_trailer("Root", Object::Reference(id(6)));
            });
            assert_replaced(&pdf, &attacked, "TrailerRule");
        }
    }
}

#[test]
fn page_objects_listed_as_validation_data_stay_page_objects() {
    let pdf = signed(true);
    for kind in KINDS {
        // Under /Certs, the content stream; under /VRI, the font; through /Metadata, the
        // content again: each overwritten.
        let certs = update(&pdf, kind, |r, up| {
            let mut dss = Dictionary::new();
            dss.set("Certs", vec![Object::Reference(id(4))]);
            let dss = up.add(dss);
            let mut catalog = dict(r, 1);
            catalog.set("DSS", Object::Reference(dss));
            up.set(id(1), catalog);
            up.set(id(4), stream("BT /F1 24 Tf 72 720 Td (Gia mao) Tj ET"));
        });
        assert_caught(&certs, "PageContentRule: object 4");

        let vri = update(&pdf, kind, |r, up| {
            let mut entry = Dictionary::new();
            entry.set("Cert", vec![Object::Reference(id(5))]);
            let mut vri = Dictionary::new();
            vri.set("0123ABCD", entry);
            let mut dss = Dictionary::new();
            dss.set("VRI", vri);
            let dss = up.add(dss);
            let mut catalog = dict(r, 1);
            catalog.set("DSS", Object::Reference(dss));
            up.set(id(1), catalog);
            let mut font = dict(r, 5);
            font.set("BaseFont", Object::name("Symbol"));
            up.set(id(5), font);
        });
        assert_caught(&vri, "PageContentRule: object 5");

        let metadata = update(&pdf, kind, |r, up| {
            let mut catalog = dict(r, 1);
            catalog.set("Metadata", Object::Reference(id(4)));
            up.set(id(1), catalog);
            up.set(id(4), stream("BT /F1 24 Tf 72 720 Td (Gia mao) Tj ET"));
        });
        assert_caught(&metadata, "PageContentRule: object 4");
    }
}

#[test]
fn a_widget_of_no_field_is_an_annotation() {
    let pdf = signed(false);
    for kind in KINDS {
        let attacked = update(&pdf, kind, |r, up| {
            let ap = up.add(stream("1 1 1 rg 0 0 595 842 re f"));
            let mut n = Dictionary::new();
            n.set("N", Object::Reference(ap));
            let mut widget = Dictionary::new();
            widget.set("Type", Object::name("Annot"));
            widget.set("Subtype", Object::name("Widget"));
            widget.set("FT", Object::name("Sig"));
            widget.set("Rect", vec![0.into(), 0.into(), 595.into(), 842.into()]);
            widget.set("AP", n);
            let widget = up.add(widget);
            let mut page = dict(r, 3);
            let mut annots = page
                .get("Annots")
                .and_then(Object::as_array)
                .cloned()
                .unwrap();
            annots.push(Object::Reference(widget));
            page.set("Annots", annots);
            up.set(id(3), page);
        });
        let report = verify(&attacked);
        let first = &report.signatures[0];
        assert_eq!(
            first.modification,
            ModificationLevel::Annotations,
            "{:?}",
            first.changes
        );
        assert_eq!(first.status, Verdict::Modified);
        assert!(
            first.changes[0].contains("belongs to no form field"),
            "{:?}",
            first.changes
        );
        assert_eq!(
            first.visible_changes,
            vec![ShownChange::AnnotationAdded { page: Some(1) }]
        );
    }
}

#[test]
fn an_object_stream_rewritten_under_old_objects_is_caught() {
    // Before signing, the font (object 5) moves into object stream 12. The attack rewrites
    // only the stream: the font changes without its number appearing in the new
    // cross-reference section.
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let compressed = with_object_stream(&base(), 12, 5, font);
    let opts = SignOptions {
        field_name: Some("Official".into()),
        ..SignOptions::default()
    };
    let pdf = sign_bytes(&compressed, &rsa_signer(), &opts).unwrap().0;
    assert_allowed(&pdf, ModificationLevel::None);
    let attacked = update(&pdf, XrefKind::Stream, |_, up| {
        up.set(
            id(12),
            objstm(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>"),
        );
    });
    assert_caught(&attacked, "PageContentRule: object 5");
}

/// Appends a revision that moves object `num` into a new object stream `stream` (a
/// cross-reference stream with a compressed entry, which the incremental writer never
/// writes).
fn with_object_stream(pdf: &[u8], stream: u32, num: u32, body: &str) -> Vec<u8> {
    let reader = Reader::new(pdf).unwrap();
    let (prev, size) = (
        reader.startxref(),
        reader.next_object_number().max(stream + 1),
    );
    let mut out = pdf.to_vec();
    let stm_at = out.len();
    out.extend_from_slice(format!("{stream} 0 obj\n").as_bytes());
    crate::pdf::object::write_object(&objstm(num, body), &mut out);
    out.extend_from_slice(b"\nendobj\n");
    let xref_at = out.len();
    let xref_num = size;
    // Entries, /W [1 4 2]: the object stream, the compressed object, the xref stream.
    let mut data = Vec::new();
    let mut entry = |kind: u8, a: u64, b: u16| {
        data.push(kind);
        data.extend_from_slice(&(a as u32).to_be_bytes());
        data.extend_from_slice(&b.to_be_bytes());
    };
    entry(2, u64::from(stream), 0);
    entry(1, stm_at as u64, 0);
    entry(1, xref_at as u64, 0);
    let mut d = Dictionary::new();
    d.set("Type", Object::name("XRef"));
    d.set("Size", i64::from(xref_num) + 1);
    d.set("Root", Object::Reference(id(1)));
    d.set("Prev", prev as i64);
    d.set("W", vec![1.into(), 4.into(), 2.into()]);
    d.set(
        "Index",
        vec![
            i64::from(num).into(),
            1.into(),
            i64::from(stream).into(),
            1.into(),
            i64::from(xref_num).into(),
            1.into(),
        ],
    );
    out.extend_from_slice(format!("{xref_num} 0 obj\n").as_bytes());
    crate::pdf::object::write_object(&Object::Stream(Stream { dict: d, data }), &mut out);
    out.extend_from_slice(format!("\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

fn objstm(num: u32, body: &str) -> Object {
    let header = format!("{num} 0 ");
    let mut d = Dictionary::new();
    d.set("Type", Object::name("ObjStm"));
    d.set("N", 1);
    d.set("First", header.len() as i64);
    Object::Stream(Stream {
        dict: d,
        data: format!("{header}{body}").into_bytes(),
    })
}

#[test]
fn validation_data_and_form_filling_stay_valid_and_say_what_shows() {
    let pdf = signed(true);
    for kind in KINDS {
        let dss = update(&pdf, kind, |r, up| {
            let cert = up.add(stream("not really a certificate, just data"));
            let mut dss = Dictionary::new();
            dss.set("Certs", vec![Object::Reference(cert)]);
            let dss = up.add(dss);
            let mut catalog = dict(r, 1);
            catalog.set("DSS", Object::Reference(dss));
            up.set(id(1), catalog);
        });
        let report = assert_allowed(&dss, ModificationLevel::LtaUpdates);
        assert!(report.signatures[0].visible_changes.is_empty());

        let filled = update(&pdf, kind, |r, up| {
            let ap = up.add(stream("BT /F1 12 Tf 2 8 Td (123/UBND-VP) Tj ET"));
            let mut n = Dictionary::new();
            n.set("N", Object::Reference(ap));
            let mut field = dict(r, 11);
            field.set("V", Object::String(PdfString::literal("123/UBND-VP")));
            field.set("AP", n);
            up.set(id(11), field);
        });
        let report = assert_allowed(&filled, ModificationLevel::FormFilling);
        let first = &report.signatures[0];
        assert_eq!(
            first.visible_changes,
            vec![ShownChange::FieldFilled {
                field: "SoKyHieu".into()
            }]
        );
        assert!(report.summary_en.contains("Warning: the page now shows what the signer did not sign: field \"SoKyHieu\" was filled in"), "{}", report.summary_en);
        assert!(
            report.summary_vi.contains("Cảnh báo"),
            "{}",
            report.summary_vi
        );

        // A value without a new appearance: the page still shows the signed (empty) field.
        let stale = update(&pdf, kind, |r, up| {
            let mut field = dict(r, 11);
            field.set("V", Object::String(PdfString::literal("999/UBND-VP")));
            up.set(id(11), field);
        });
        let report = assert_allowed(&stale, ModificationLevel::FormFilling);
        assert!(
            report.signatures[0]
                .visible_changes
                .contains(&ShownChange::AppearanceMismatch {
                    field: "SoKyHieu".into()
                }),
            "{:?}",
            report.signatures[0].visible_changes
        );
    }
}

#[test]
fn serial_signatures_and_identical_rewrites_stay_valid() {
    let pdf = signed(false);
    for kind in KINDS {
        let rewritten = update(&pdf, kind, |r, up| {
            up.set(id(3), dict(r, 3));
            up.set(id(5), dict(r, 5));
        });
        assert_allowed(&rewritten, ModificationLevel::None);
    }
    let opts = SignOptions {
        field_name: Some("Seal".into()),
        ..SignOptions::default()
    };
    let second = sign_bytes(&pdf, &rsa_signer(), &opts).unwrap().0;
    let report = assert_allowed(&second, ModificationLevel::FormFilling);
    assert!(
        report.signatures[0].visible_changes.is_empty(),
        "{:?}",
        report.signatures[0].visible_changes
    );
}

#[test]
fn the_form_removed_after_signing_is_other() {
    let pdf = signed(false);
    for kind in KINDS {
        let removed = update(&pdf, kind, |r, up| {
            let mut catalog = dict(r, 1);
            catalog.remove("AcroForm");
            up.set(id(1), catalog);
        });
        assert_replaced(
            &pdf,
            &removed,
            "FormUpdatingRule: the form (/AcroForm) was removed",
        );
    }
}

#[test]
fn every_rule_is_documented_with_its_name() {
    let doc = include_str!("../../../../../docs/verification.md");
    for rule in super::RULES {
        assert!(
            doc.contains(&format!("| `{}` |", rule.name())),
            "docs/verification.md does not list {}",
            rule.name()
        );
    }
}
