//! Renders the three Appendix I appearances with poppler and checks what a reader sees: the
//! blue signature, the red seal over its left third, and the stamp's Vietnamese text; drawn
//! directly on a page, and as the widgets of real serial signatures.

#[path = "../../../tests/common/oracles.rs"]
mod oracles;
#[path = "../../../tests/common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::DateTime;
use vanthu_pades::appearance::{self, CopyKind, Rect, StampLabel};
use vanthu_pades::pdf::{Dictionary, IncrementalUpdate, Object, Reader, Stream};
use vanthu_pades::sign::{self, SignOptions, VisibleSignature};
use vanthu_pades::signer::{PemSigner, SignerOptions};

use tools::{require, Tool};

const SIGNATURE: &[u8] = include_bytes!("../assets/demo/signature.png");
const SEAL: &[u8] = include_bytes!("../assets/demo/seal.png");

/// A one-page A4 PDF with a classic cross-reference table.
fn base_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// Draws each appearance on page 1 at its /Rect, the way a viewer shows a widget.
fn render_pdf(appearances: &[appearance::Appearance]) -> Vec<u8> {
    let base = base_pdf();
    let reader = Reader::new(base.as_slice()).unwrap();
    let mut update = IncrementalUpdate::new(&reader).unwrap();
    let mut xobjects = Dictionary::new();
    let mut content = String::new();
    for (i, ap) in appearances.iter().enumerate() {
        let id = ap.add_to(&mut update);
        xobjects.set(&format!("Ap{i}"), id);
        content.push_str(&format!(
            "q 1 0 0 1 {} {} cm /Ap{i} Do Q\n",
            ap.rect.x, ap.rect.y
        ));
    }
    let mut content_dict = Dictionary::new();
    content_dict.set("Length", content.len() as i64);
    let contents = update.add(Stream {
        dict: content_dict,
        data: content.into_bytes(),
    });
    let mut resources = Dictionary::new();
    resources.set("XObject", xobjects);
    let (page_id, _) = (reader.pages().unwrap()[0], ());
    let mut page = reader.resolve_dict(&Object::Reference(page_id)).unwrap();
    page.set("Resources", resources);
    page.set("Contents", contents);
    update.set(page_id, page);
    let mut out = base.clone();
    out.extend_from_slice(&update.write().unwrap().bytes);
    out
}

/// Renders page 1 at 72 dpi (1 px = 1 pt) into a binary PPM and returns (width, height, rgb).
fn rasterise(pdf: &Path) -> (usize, usize, Vec<u8>) {
    let prefix = pdf.with_extension("");
    let status = Command::new("pdftoppm")
        .args(["-r", "72", "-singlefile"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let ppm = std::fs::read(prefix.with_extension("ppm")).unwrap();
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&ppm[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, ppm[pos + 1..].to_vec())
}

/// Counts pixels in the PDF-space rectangle whose colour satisfies `pred`.
fn count(img: &(usize, usize, Vec<u8>), r: Rect, pred: impl Fn(u8, u8, u8) -> bool) -> usize {
    let (w, h, data) = img;
    let mut n = 0;
    let (x0, x1) = (r.x.max(0.0) as usize, ((r.x + r.width) as usize).min(*w));
    let (top, bottom) = (
        h - ((r.y + r.height) as usize).min(*h),
        h - (r.y.max(0.0) as usize),
    );
    for y in top..bottom {
        for x in x0..x1 {
            let p = &data[(y * w + x) * 3..][..3];
            if pred(p[0], p[1], p[2]) {
                n += 1;
            }
        }
    }
    n
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("appearance_render");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn appendix_i_appearances_render_and_extract() {
    if require(
        "appendix_i_appearances_render_and_extract",
        &[Tool::Pdftoppm, Tool::Pdftotext],
    )
    .is_none()
    {
        return;
    }
    let time = DateTime::parse_from_rfc3339("2026-11-22T03:15:00Z").unwrap();
    let official = appearance::official(
        Rect {
            x: 330.0,
            y: 300.0,
            width: 200.0,
            height: 100.0,
        },
        SIGNATURE,
        &["Nguyễn Văn Đức".to_owned()],
    )
    .unwrap();
    let signature_image = official.image_rect.unwrap();
    let seal = appearance::seal(signature_image, SEAL).unwrap();
    let page = Rect {
        x: 0.0,
        y: 0.0,
        width: 595.0,
        height: 842.0,
    };
    let copy = appearance::stamp(
        page,
        &StampLabel::Copy {
            kind: CopyKind::SaoLuc,
            organisation: "Văn phòng Ủy ban nhân dân huyện Yên Lạc".to_owned(),
        },
        time,
    )
    .unwrap();
    let pdf = render_pdf(&[official.clone(), seal.clone(), copy.clone()]);
    let path = out_dir().join("appendix_i.pdf");
    std::fs::write(&path, &pdf).unwrap();

    let text = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    for expected in [
        "Nguyễn Văn Đức",
        "SAO LỤC",
        "Văn phòng Ủy ban nhân dân huyện Yên Lạc",
        "2026-11-22T10:15:00+07:00",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }

    let img = rasterise(&path);
    let blue = |r: u8, g: u8, b: u8| b > 120 && r < 100 && g < 120;
    let red = |r: u8, g: u8, b: u8| r > 150 && g < 90 && b < 90;
    let dark = |r: u8, g: u8, b: u8| r < 80 && g < 80 && b < 80;
    // The right two thirds of the signature image are not under the seal: blue ink shows.
    let right = Rect {
        x: signature_image.x + signature_image.width / 3.0,
        width: signature_image.width * 2.0 / 3.0,
        ..signature_image
    };
    assert!(count(&img, right, blue) > 100, "no signature ink");
    // The seal is red and reaches the left third of the signature, not beyond it.
    assert!(count(&img, seal.rect, red) > 1000, "no seal");
    let overlap = Rect {
        width: signature_image.width / 3.0,
        ..signature_image
    };
    assert!(
        count(&img, overlap, red) > 100,
        "seal does not cover the left third"
    );
    assert_eq!(
        count(&img, right, red),
        0,
        "seal spills past the left third"
    );
    // The stamp's black text is in the top right corner and only there.
    assert!(count(&img, copy.rect, dark) > 200, "no stamp text");
    assert!(copy.rect.x > 595.0 / 2.0 && copy.rect.y > 842.0 * 0.85);
}

fn dev_signer(name: &str) -> PemSigner {
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-dev");
    PemSigner::from_files(
        &certs.join(format!("{name}.key")),
        &certs.join(format!("{name}.pem")),
        Some(&certs.join("chain.pem")),
        SignerOptions::default(),
    )
    .unwrap()
}

/// The official signs with a visible signature, the organisation adds its seal over it, then
/// signs the copy stamp: three serial signatures whose appearances show and whose text
/// extracts, and poppler still finds every signature valid.
#[test]
fn signed_appearances_render_and_stay_valid() {
    if require(
        "signed_appearances_render_and_stay_valid",
        &[Tool::Pdftoppm, Tool::Pdftotext, Tool::Pdfsig],
    )
    .is_none()
    {
        return;
    }
    let time = DateTime::parse_from_rfc3339("2026-11-22T15:15:00+07:00").unwrap();
    let official = appearance::official(
        Rect {
            x: 330.0,
            y: 300.0,
            width: 200.0,
            height: 100.0,
        },
        SIGNATURE,
        &["Chủ tịch Nguyễn Văn An".to_owned()],
    )
    .unwrap();
    let seal = appearance::seal(official.image_rect.unwrap(), SEAL).unwrap();
    let page = Rect {
        x: 0.0,
        y: 0.0,
        width: 595.0,
        height: 842.0,
    };
    let copy =
        appearance::stamp(page, &StampLabel::Number("Số: 125/QĐ-UBND".into()), time).unwrap();

    let mut pdf = base_pdf();
    for (field, signer, ap) in [
        ("Official", "signer-rsa", &official),
        ("Seal", "seal", &seal),
        ("Copy", "seal", &copy),
    ] {
        let opts = SignOptions {
            field_name: Some(field.to_owned()),
            visible: Some(VisibleSignature {
                page: 1,
                appearance: ap.clone(),
            }),
            signing_time: Some(time),
            ..SignOptions::default()
        };
        pdf = sign::sign_bytes(&pdf, &dev_signer(signer), &opts)
            .unwrap()
            .0;
    }
    let path = out_dir().join("signed_appearances.pdf");
    std::fs::write(&path, &pdf).unwrap();

    let text = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for expected in [
        "Chủ tịch Nguyễn Văn An",
        "Số: 125/QĐ-UBND",
        "2026-11-22T15:15:00+07:00",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    let img = rasterise(&path);
    let blue = |r: u8, g: u8, b: u8| b > 120 && r < 100 && g < 120;
    let red = |r: u8, g: u8, b: u8| r > 150 && g < 90 && b < 90;
    let dark = |r: u8, g: u8, b: u8| r < 80 && g < 80 && b < 80;
    assert!(
        count(&img, official.image_rect.unwrap(), blue) > 100,
        "signature image not shown"
    );
    assert!(count(&img, seal.rect, red) > 1000, "seal not shown");
    assert!(count(&img, copy.rect, dark) > 100, "stamp text not shown");

    // poppler, signature by signature, agrees with the verifier's report on the same file.
    let options = vanthu_pades::verify::VerifyOptions {
        offline: true,
        ..Default::default()
    };
    let report = vanthu_pades::verify::verify_bytes(&pdf, &options).unwrap();
    let report = serde_json::to_value(&report).unwrap();
    let fields: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["Official", "Seal", "Copy"]);
    oracles::assert_pdfsig_agrees(&path, &report);
}
