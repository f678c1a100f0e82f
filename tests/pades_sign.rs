//! `vanthu sign` judged by independent validators: pyHanko (bottom line, coverage, modification
//! level, DocMDP, time-stamp, LTV from the DSS alone), poppler `pdfsig` and `qpdf --check`.
//!
//! Covers every level with RSA and ECDSA keys, PKCS#12 and PEM, invisible and visible, classic
//! and compressed (object stream / xref stream) inputs, serial signatures (official certifies,
//! the clerk fills the number and date, the seal signs), extension of a signed file to B-LTA,
//! and bad input. A local `vanthu tsa` on 127.0.0.1:8180 (the port the development
//! certificates name for their CRLs) serves time-stamps and CRLs; tests using it run one at a
//! time, across processes (nextest runs each test in its own).
//!
//! Missing tools (see `common::tools`): the tests fail when VANTHU_REQUIRE_TOOLS=1, otherwise
//! print SKIPPED.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::oracles;
use common::tools::{require, Tool, Tools};
use lopdf::{dictionary, Document, Object, Stream};
use serde_json::Value;

const TSA_ADDR: &str = "127.0.0.1:8180";
const TSA_URL: &str = "http://127.0.0.1:8180/";
const P12_PASSWORD: &str = "vanthu-dev";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn certs() -> PathBuf {
    workspace().join("certs-dev")
}

fn cert(name: &str) -> String {
    certs().join(name).display().to_string()
}

/// The validators every interoperability test here consults.
const VALIDATORS: [Tool; 3] = [Tool::PyHanko, Tool::Pdfsig, Tool::Qpdf];
/// The validators, and poppler's text extraction for tests that read what a page shows.
const VALIDATORS_AND_TEXT: [Tool; 4] = [Tool::PyHanko, Tool::Pdfsig, Tool::Qpdf, Tool::Pdftotext];

/// The local time-stamp authority; killed when dropped. Holds the lock that serializes tests
/// needing port 8180.
struct Tsa {
    child: Option<Child>,
    lock: std::fs::File,
}

impl Tsa {
    fn start() -> Tsa {
        // A file lock, not a mutex: every test runs in its own process under nextest, and
        // other checkouts' test runs on this machine want the same port.
        let lock_path = std::env::temp_dir().join("vanthu-tests-tsa-8180.lock");
        let lock = std::fs::File::create(&lock_path)
            .unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
        // Another authority already on the port (a developer's) serves just as well.
        if TcpStream::connect(TSA_ADDR).is_ok() {
            return Tsa { child: None, lock };
        }
        let child = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .args(["tsa", "--listen", TSA_ADDR])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vanthu tsa");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(TSA_ADDR).is_err() {
            assert!(
                Instant::now() < deadline,
                "vanthu tsa did not listen on {TSA_ADDR}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Tsa {
            child: Some(child),
            lock,
        }
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Explicitly: a child forked meanwhile may hold a copy of the descriptor past a close.
        let _ = self.lock.unlock();
    }
}

/// A one-page document with two empty text fields for the clerk (number and date) and the
/// official's empty signature field.
fn make_input(dir: &Path) -> PathBuf {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = b"BT /F1 14 Tf 72 760 Td (UY BAN NHAN DAN HUYEN DEMO) Tj ET\nBT /F1 12 Tf 72 700 Td (Cong van so:) Tj ET".to_vec();
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));
    let page_id = doc.new_object_id();
    let number_id = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx",
        "T" => Object::string_literal("so_ky_hieu"), "F" => 4,
        "Rect" => vec![160.into(), 690.into(), 360.into(), 712.into()],
        "P" => page_id, "DA" => Object::string_literal("/Helv 11 Tf 0 g"),
    });
    let date_id = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx",
        "T" => Object::string_literal("ngay_ban_hanh"), "F" => 4,
        "Rect" => vec![380.into(), 690.into(), 540.into(), 712.into()],
        "P" => page_id, "DA" => Object::string_literal("/Helv 11 Tf 0 g"),
    });
    // The official's and the seal's signature fields, prepared empty by the drafting template
    // (a certified document admits no new visible fields).
    let sig_field_id = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig",
        "T" => Object::string_literal("ChuKyLanhDao"), "F" => 4,
        "Rect" => vec![340.into(), 560.into(), 520.into(), 650.into()],
        "P" => page_id,
    });
    let seal_field_id = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig",
        "T" => Object::string_literal("ConDau"), "F" => 4,
        "Rect" => vec![300.into(), 565.into(), 400.into(), 645.into()],
        "P" => page_id,
    });
    doc.objects.insert(
        page_id,
        Object::Dictionary(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
            "Annots" => vec![number_id.into(), date_id.into(), sig_field_id.into(), seal_field_id.into()],
        }),
    );
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
        ),
    );
    let helv_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let form_id = doc.add_object(dictionary! {
        "Fields" => vec![number_id.into(), date_id.into(), sig_field_id.into(), seal_field_id.into()],
        "DA" => Object::string_literal("/Helv 11 Tf 0 g"),
        "DR" => dictionary! { "Font" => dictionary! { "Helv" => helv_id } },
    });
    let catalog_id = doc.add_object(
        dictionary! { "Type" => "Catalog", "Pages" => pages_id, "AcroForm" => form_id },
    );
    doc.trailer.set("Root", catalog_id);
    let path = dir.join("input.pdf");
    doc.save(&path).expect("write input PDF");
    path
}

/// The same document rewritten by qpdf with object streams and a cross-reference stream.
fn make_compressed_input(dir: &Path) -> PathBuf {
    let plain = make_input(dir);
    let out = dir.join("input-objstm.pdf");
    let status = Command::new("qpdf")
        .arg("--object-streams=generate")
        .arg(&plain)
        .arg(&out)
        .status()
        .expect("run qpdf");
    assert!(status.success(), "qpdf could not rewrite the input");
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        bytes.windows(7).any(|w| w == b"/ObjStm"),
        "qpdf made no object stream"
    );
    out
}

fn vanthu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args(args)
        .env("VANTHU_P12_PASSWORD", P12_PASSWORD)
        .output()
        .expect("run vanthu")
}

fn sign(args: &[&str]) {
    let out = vanthu(&[&["sign"], args].concat());
    assert!(
        out.status.success(),
        "vanthu sign {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pyhanko(tools: &Tools, file: &Path) -> Value {
    oracles::pyhanko_report(tools, file, &certs().join("root-ca.pem"))
}

/// poppler's verdict, signature by signature: the same signatures as `vanthu verify` finds,
/// `expected_signatures` of them (document time-stamps aside), each valid for poppler.
fn assert_pdfsig_valid(file: &Path, expected_signatures: usize) {
    let out = vanthu(&[
        "verify",
        p(file),
        "--json",
        "--offline",
        "--trust",
        &cert("root-ca.pem"),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    oracles::assert_pdfsig_agrees(file, &report);
    let signatures = report["signatures"].as_array().unwrap();
    let regular = signatures
        .iter()
        .filter(|s| s["kind"] != "document_timestamp")
        .count();
    assert_eq!(
        regular,
        expected_signatures,
        "{}: {report:#}",
        file.display()
    );
}

fn assert_qpdf_clean(file: &Path) {
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(file)
        .output()
        .expect("run qpdf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("No syntax or stream encoding errors found"),
        "qpdf --check {}:\n{text}{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn signature<'a>(report: &'a Value, field: &str) -> &'a Value {
    report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == field)
        .unwrap_or_else(|| panic!("no signature {field} in {report}"))
}

fn assert_sound(sig: &Value) {
    for key in ["bottom_line", "intact", "valid", "trusted", "docmdp_ok"] {
        assert_eq!(sig[key], true, "{key} in {sig}");
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_level_with_rsa_and_ecdsa_passes_pyhanko_pdfsig_and_qpdf() {
    let Some(tools) = require("every_level_with_rsa_and_ecdsa", &VALIDATORS) else {
        return;
    };
    let _tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let plain = make_input(dir.path());
    let compressed = make_compressed_input(dir.path());
    let image = workspace().join("crates/pades/assets/demo/signature.png");
    let (signer_rsa_p12, ec_key, ec_cert, chain) = (
        cert("signer-rsa.p12"),
        cert("signer-ec.key"),
        cert("signer-ec.pem"),
        cert("issuing-ca.pem"),
    );
    let (ec384_p12, seal_p12) = (cert("signer-ec384.p12"), cert("seal.p12"));
    let cases: Vec<(&str, &Path, Vec<&str>, bool)> = vec![
        ("B-B", &plain, vec!["--p12", &signer_rsa_p12], false),
        (
            "B-B",
            &compressed,
            vec!["--key", &ec_key, "--cert", &ec_cert, "--chain", &chain],
            false,
        ),
        (
            "B-T",
            &plain,
            vec!["--key", &ec_key, "--cert", &ec_cert, "--chain", &chain],
            true,
        ),
        (
            "B-T",
            &compressed,
            vec!["--p12", &signer_rsa_p12, "--pss"],
            false,
        ),
        ("B-LT", &plain, vec!["--p12", &ec384_p12], true),
        ("B-LT", &compressed, vec!["--p12", &seal_p12], false),
        ("B-LTA", &plain, vec!["--p12", &signer_rsa_p12], false),
        (
            "B-LTA",
            &compressed,
            vec!["--key", &ec_key, "--cert", &ec_cert, "--chain", &chain],
            true,
        ),
    ];
    for (i, (level, input, key_args, visible)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("case{i}-{level}.pdf"));
        let mut args = vec![
            p(input),
            "-o",
            p(&out),
            "--level",
            level,
            "--tsa",
            TSA_URL,
            "--reason",
            "Ký ban hành",
        ];
        args.extend(key_args.iter().copied());
        if *visible {
            args.extend(["--visible", "1:340,560,180,90", "--image", p(&image)]);
        }
        sign(&args);
        let what = format!("case {i} ({level}, {}, visible {visible})", input.display());
        let report = pyhanko(&tools, &out);
        let sig = signature(&report, "Signature1");
        assert_sound(sig);
        let timestamped = *level != "B-B";
        assert_eq!(
            sig["timestamp_ok"],
            if timestamped {
                Value::Bool(true)
            } else {
                Value::Null
            },
            "{what}: {sig}"
        );
        match *level {
            "B-B" | "B-T" => {
                assert_eq!(sig["coverage"], "ENTIRE_FILE", "{what}");
                assert_eq!(sig["ltv"], false, "{what}: no DSS yet, LTV must not pass");
            }
            _ => {
                assert_eq!(sig["coverage"], "ENTIRE_REVISION", "{what}");
                assert_eq!(sig["modification_level"], "LTA_UPDATES", "{what}: {sig}");
                assert_eq!(sig["ltv"], true, "{what}: {sig}");
            }
        }
        let timestamps = report["timestamps"].as_array().unwrap();
        if *level == "B-LTA" {
            assert_eq!(timestamps.len(), 1, "{what}: {report}");
            assert_eq!(timestamps[0]["valid"], true, "{what}: {report}");
            assert_eq!(timestamps[0]["trusted"], true, "{what}: {report}");
            assert_eq!(timestamps[0]["ltv"], true, "{what}: {report}");
        } else {
            assert!(timestamps.is_empty(), "{what}: {report}");
        }
        assert_pdfsig_valid(&out, 1);
        assert_qpdf_clean(&out);
        // Incremental: the input is a byte-for-byte prefix of the output.
        let (a, b) = (std::fs::read(input).unwrap(), std::fs::read(&out).unwrap());
        assert!(b.starts_with(&a), "{what}: the original bytes changed");
    }
}

#[test]
fn official_certifies_clerk_fills_seal_signs_and_all_stay_valid() {
    let Some(tools) = require(
        "official_certifies_clerk_fills_seal_signs",
        &VALIDATORS_AND_TEXT,
    ) else {
        return;
    };
    let _tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let image = workspace().join("crates/pades/assets/demo/signature.png");
    let official = dir.path().join("official.pdf");
    sign(&[
        p(&input),
        "-o",
        p(&official),
        "--p12",
        &cert("signer-rsa.p12"),
        "--level",
        "B-T",
        "--tsa",
        TSA_URL,
        "--certify",
        "--field",
        "ChuKyLanhDao",
        "--visible",
        "1:340,560,180,90",
        "--image",
        p(&image),
    ]);
    let filled = dir.path().join("filled.pdf");
    vanthu_pades::sign::fill_fields(
        &official,
        &filled,
        &[
            ("so_ky_hieu".to_string(), "123/QĐ-UBND".to_string()),
            ("ngay_ban_hanh".to_string(), "22/11/2026".to_string()),
        ],
    )
    .expect("fill the clerk's fields");
    // The filled number is drawn in the embedded font: the exact Vietnamese text shows.
    let shown = pdftotext(&filled);
    assert!(shown.contains("123/QĐ-UBND"), "{shown}");
    let report = pyhanko(&tools, &filled);
    let sig = signature(&report, "ChuKyLanhDao");
    assert_sound(sig);
    assert_eq!(sig["modification_level"], "FORM_FILLING", "{sig}");

    let sealed = dir.path().join("sealed.pdf");
    let seal_image = workspace().join("crates/pades/assets/demo/seal.png");
    sign(&[
        p(&filled),
        "-o",
        p(&sealed),
        "--p12",
        &cert("seal.p12"),
        "--level",
        "B-LT",
        "--tsa",
        TSA_URL,
        "--field",
        "ConDau",
        "--visible",
        "1:300,565,100,80",
        "--image",
        p(&seal_image),
    ]);
    let report = pyhanko(&tools, &sealed);
    let first = signature(&report, "ChuKyLanhDao");
    assert_sound(first);
    assert_eq!(first["modification_level"], "FORM_FILLING", "{first}");
    assert_eq!(
        first["ltv"], true,
        "the seal's DSS also covers the official: {first}"
    );
    let second = signature(&report, "ConDau");
    assert_sound(second);
    assert_eq!(second["modification_level"], "LTA_UPDATES", "{second}");
    assert_pdfsig_valid(&sealed, 2);
    assert_qpdf_clean(&sealed);

    // A new visible field on the certified document is refused, and nothing is written.
    let refused = dir.path().join("refused.pdf");
    let out = vanthu(&[
        "sign",
        p(&sealed),
        "-o",
        p(&refused),
        "--p12",
        &cert("signer-ec.p12"),
        "--visible",
        "1:50,50,100,50",
        "--image",
        p(&seal_image),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!refused.exists());
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("certified"), "{stderr}");

    // A second certification is refused, and nothing is written.
    let again = dir.path().join("again.pdf");
    let out = vanthu(&[
        "sign",
        p(&sealed),
        "-o",
        p(&again),
        "--p12",
        &cert("signer-ec.p12"),
        "--certify",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!again.exists());
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("certif"), "{stderr}");
}

#[test]
fn signed_files_are_extended_to_b_lt_and_b_lta() {
    let Some(tools) = require("signed_files_are_extended", &VALIDATORS) else {
        return;
    };
    let _tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let input = make_compressed_input(dir.path());
    let bt = dir.path().join("bt.pdf");
    sign(&[
        p(&input),
        "-o",
        p(&bt),
        "--p12",
        &cert("signer-ec.p12"),
        "--level",
        "B-T",
        "--tsa",
        TSA_URL,
    ]);
    assert_eq!(signature(&pyhanko(&tools, &bt), "Signature1")["ltv"], false);
    let lta = dir.path().join("lta.pdf");
    sign(&[
        p(&bt),
        "-o",
        p(&lta),
        "--extend",
        "--level",
        "B-LTA",
        "--tsa",
        TSA_URL,
    ]);
    let report = pyhanko(&tools, &lta);
    let sig = signature(&report, "Signature1");
    assert_sound(sig);
    assert_eq!(sig["ltv"], true, "{sig}");
    assert_eq!(report["timestamps"][0]["valid"], true, "{report}");
    assert_eq!(report["timestamps"][0]["ltv"], true, "{report}");
    assert_pdfsig_valid(&lta, 1);
    assert_qpdf_clean(&lta);

    // A B-B signature extended to B-LT gets its proof of time from a document time-stamp.
    let bb = dir.path().join("bb.pdf");
    sign(&[p(&input), "-o", p(&bb), "--p12", &cert("signer-rsa.p12")]);
    let lt = dir.path().join("lt.pdf");
    sign(&[
        p(&bb),
        "-o",
        p(&lt),
        "--extend",
        "--level",
        "B-LT",
        "--tsa",
        TSA_URL,
    ]);
    let report = pyhanko(&tools, &lt);
    let sig = signature(&report, "Signature1");
    assert_sound(sig);
    assert_eq!(sig["ltv"], true, "{sig}");
    assert_eq!(report["timestamps"][0]["valid"], true, "{report}");
    assert_eq!(report["timestamps"][0]["ltv"], true, "{report}");
    assert_qpdf_clean(&lt);
}

#[test]
fn attachment_stamp_without_image_passes() {
    let Some(tools) = require(
        "attachment_stamp_without_image_passes",
        &VALIDATORS_AND_TEXT,
    ) else {
        return;
    };
    let _tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let out = dir.path().join("stamped.pdf");
    sign(&[
        p(&input),
        "-o",
        p(&out),
        "--p12",
        &cert("seal.p12"),
        "--level",
        "B-T",
        "--tsa",
        TSA_URL,
        "--stamp",
        "Số: 12/QĐ-UBND",
    ]);
    let report = pyhanko(&tools, &out);
    let sig = signature(&report, "Signature1");
    assert_sound(sig);
    assert_eq!(sig["timestamp_ok"], true, "{sig}");
    assert_pdfsig_valid(&out, 1);
    assert_qpdf_clean(&out);
    // The stamp's text is on the page, extractable with the Vietnamese letters intact.
    let shown = pdftotext(&out);
    assert!(shown.contains("12/QĐ-UBND"), "{shown}");
}

/// The text poppler extracts from every page.
fn pdftotext(file: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(file)
        .arg("-")
        .output()
        .expect("run pdftotext (poppler-utils)");
    assert!(out.status.success(), "pdftotext {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-page document with the page's MediaBox and /Rotate as given.
fn make_one_page(dir: &Path, name: &str, media_box: [i64; 4], rotate: i64) -> PathBuf {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, b"q Q".to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => media_box.iter().map(|v| Object::Integer(*v)).collect::<Vec<_>>(),
        "Rotate" => rotate,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
        ),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let path = dir.join(name);
    doc.save(&path).expect("write input PDF");
    path
}

/// The /Rect of the signature widget in the signed file.
fn signature_widget_rect(file: &Path) -> Vec<f32> {
    let doc = Document::load(file).expect("lopdf reads the signed file");
    doc.objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .find(|d| d.get(b"FT").and_then(Object::as_name).ok() == Some(&b"Sig"[..]))
        .and_then(|d| d.get(b"Rect").ok())
        .and_then(|r| r.as_array().ok())
        .expect("a signature widget with a /Rect")
        .iter()
        .map(|v| v.as_float().expect("a number"))
        .collect()
}

#[test]
fn visible_signatures_land_on_offset_and_turned_pages() {
    let Some(tools) = require(
        "visible_signatures_land_on_offset_and_turned_pages",
        &VALIDATORS_AND_TEXT,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The page spans x 100..712, y 200..992 in user space.
    let input = make_one_page(dir.path(), "offset.pdf", [100, 200, 712, 992], 0);
    let out = dir.path().join("signed.pdf");
    // No --image: the signer's name and time as text. X,Y count from the page's corner.
    sign(&[
        p(&input),
        "-o",
        p(&out),
        "--p12",
        &cert("signer-rsa.p12"),
        "--visible",
        "1:300,100,180,60",
    ]);
    assert_eq!(
        signature_widget_rect(&out),
        vec![400.0, 300.0, 580.0, 360.0]
    );
    let report = pyhanko(&tools, &out);
    assert_sound(signature(&report, "Signature1"));
    assert_pdfsig_valid(&out, 1);
    assert_qpdf_clean(&out);
    let shown = pdftotext(&out);
    for expected in ["Ký bởi / Signed by", "Nguyễn Văn An", "+07:00"] {
        assert!(shown.contains(expected), "{expected:?} not in {shown:?}");
    }

    // A page shown turned a quarter: the rectangle is given as shown (842 x 595) and the
    // appearance is turned against the page, which validators accept as any other.
    let turned = make_one_page(dir.path(), "turned.pdf", [0, 0, 595, 842], 90);
    let out = dir.path().join("turned-signed.pdf");
    let image = workspace().join("crates/pades/assets/demo/signature.png");
    sign(&[
        p(&turned),
        "-o",
        p(&out),
        "--p12",
        &cert("signer-ec.p12"),
        "--visible",
        "1:600,20,200,80",
        "--image",
        p(&image),
    ]);
    // Shown lower-left 600,20 is user space 595-20-80, 600; shown width runs up user y.
    assert_eq!(
        signature_widget_rect(&out),
        vec![495.0, 600.0, 575.0, 800.0]
    );
    assert_sound(signature(&pyhanko(&tools, &out), "Signature1"));
    assert_pdfsig_valid(&out, 1);
    assert_qpdf_clean(&out);
}

#[test]
fn off_page_rectangles_and_output_onto_the_input_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let original = std::fs::read(&input).unwrap();
    let p12 = cert("signer-rsa.p12");
    // `fresh`: an output that did not exist before and must not exist after.
    let one_line_failure = |args: &[&str], fresh: Option<&Path>, wanted: &str| {
        let o = vanthu(&[&["sign"], args].concat());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains(".vanthu-"), "{args:?}: {stderr}");
        if let Some(output) = fresh {
            assert!(!output.exists(), "{args:?} left {}", output.display());
        }
    };
    let out = dir.path().join("out.pdf");
    for (spec, wanted) in [
        ("1:500,10,100,50", "595 x 842 points"),
        ("1:-1,10,100,50", "595 x 842 points"),
        ("1:10,800,100,50", "595 x 842 points"),
        ("1:1e38,1e38,1e38,1e38", "595 x 842 points"),
        ("1:10,10,0,50", "positive width and height"),
        ("1:10,10,100,-5", "positive width and height"),
        ("0:10,10,100,50", "numbered from 1"),
        ("2:10,10,100,50", "has 1 pages"),
    ] {
        one_line_failure(
            &[p(&input), "-o", p(&out), "--p12", &p12, "--visible", spec],
            Some(&out),
            wanted,
        );
    }
    let link = dir.path().join("link.pdf");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let dotted = dir.path().join("sub/../input.pdf");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for same in [&input, &link, &dotted] {
        one_line_failure(
            &[p(&input), "-o", p(same), "--p12", &p12],
            None,
            "is the input file",
        );
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "the input changed"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".vanthu-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let missing = dir.path().join("no/such/folder/out.pdf");
    one_line_failure(
        &[p(&input), "-o", p(&missing), "--p12", &p12],
        Some(&missing),
        "no/such/folder",
    );
}

#[test]
fn a_time_stamp_authority_without_time_stamping_usage_does_not_start() {
    // The seal's certificate (no timeStamping extended key usage) posing as a TSA.
    let out = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args(["tsa", "--listen", "127.0.0.1:0"])
        .args(["--cert", &cert("seal.pem"), "--key", &cert("seal.key")])
        .args(["--chain", &cert("chain.pem")])
        .output()
        .expect("run vanthu tsa");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("timeStamping"), "{stderr}");
}

#[test]
fn time_stamp_authority_reports_the_port_it_bound() {
    let mut tsa = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args(["tsa", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vanthu tsa");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(tsa.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = tsa.kill();
    let _ = tsa.wait();
    let port: u16 = line
        .trim_end()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert_ne!(port, 0, "{line}");
}

#[test]
fn digest_is_chosen_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let out = dir.path().join("sha512.pdf");
    sign(&[
        p(&input),
        "-o",
        p(&out),
        "--p12",
        &cert("signer-ec.p12"),
        "--digest",
        "sha512",
    ]);
    let o = vanthu(&["verify", p(&out), "--json", "--trust", &cert("root-ca.pem")]);
    let report: Value = serde_json::from_slice(&o.stdout).expect("a JSON report");
    assert_eq!(report["verdict"], "valid", "{report}");
    assert_eq!(
        report["signatures"][0]["digest_algorithm"], "sha512",
        "{report}"
    );
}

#[test]
fn an_unset_password_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let out = dir.path().join("out.pdf");
    let o = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args([
            "sign",
            p(&input),
            "-o",
            p(&out),
            "--p12",
            &cert("signer-rsa.p12"),
        ])
        .args(["--p12-password-env", "VANTHU_TEST_UNSET_PASSWORD"])
        .env_remove("VANTHU_TEST_UNSET_PASSWORD")
        .output()
        .expect("run vanthu");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("VANTHU_TEST_UNSET_PASSWORD"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_closed_stdout_does_not_fail_a_signature() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path());
    let out = dir.path().join("out.pdf");
    // As in `vanthu sign … | head -0`: the reader is gone before the outcome is printed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args([
            "sign",
            p(&input),
            "-o",
            p(&out),
            "--p12",
            &cert("signer-rsa.p12"),
        ])
        .env("VANTHU_P12_PASSWORD", P12_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vanthu");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.exists());
}

#[test]
fn a_batch_signs_every_good_input_and_names_each_bad_one() {
    let Some(_tools) = require(
        "a_batch_signs_every_good_input_and_names_each_bad_one",
        &[Tool::Pdfsig],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let template = make_input(dir.path());
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let mut files: Vec<PathBuf> = (1..=6)
        .map(|i| {
            let file = inputs.join(format!("cong-van-{i}.pdf"));
            std::fs::copy(&template, &file).unwrap();
            file
        })
        .collect();
    let not_pdf = inputs.join("note.pdf");
    std::fs::write(&not_pdf, b"this is not a PDF").unwrap();
    let missing = inputs.join("missing.pdf");
    files.insert(2, not_pdf);
    files.insert(5, missing);
    let signed = dir.path().join("signed");
    std::fs::create_dir(&signed).unwrap();
    let args: Vec<&str> = files.iter().map(|f| p(f)).collect();
    let p12 = cert("signer-rsa.p12");
    let o = vanthu(
        &[
            &["sign"],
            &args[..],
            &["--out-dir", p(&signed), "--p12", &p12, "--jobs", "3"],
        ]
        .concat(),
    );

    // Each bad input is one line naming it; the exit status says not all went well.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].contains("note.pdf"), "{stderr}");
    assert!(errors[1].contains("missing.pdf"), "{stderr}");
    // The good ones are reported in the order given and are complete, valid signed files.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let reported: Vec<&str> = stdout.lines().collect();
    let good: Vec<&PathBuf> = files.iter().filter(|f| p(f).contains("cong-van")).collect();
    assert_eq!(reported.len(), good.len(), "{stdout}");
    for (line, input) in reported.iter().zip(&good) {
        let output = signed.join(input.file_name().unwrap());
        assert!(
            line.starts_with(&format!("signed {}", output.display())),
            "{line}"
        );
        assert_pdfsig_valid(&output, 1);
    }
    // Nothing else in the folder: no output for a bad input, no temporary file.
    let mut written: Vec<String> = std::fs::read_dir(&signed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let expected: Vec<String> = (1..=6).map(|i| format!("cong-van-{i}.pdf")).collect();
    assert_eq!(written, expected);

    // What cannot go well is refused before anything is signed.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let twin = dir.path().join("cong-van-1.pdf");
    std::fs::copy(&template, &twin).unwrap();
    let out_file = dir.path().join("out.pdf");
    let gone = dir.path().join("no-such-folder");
    for (args, wanted) in [
        (
            vec![p(&files[0]), p(&twin), "--out-dir", p(&other)],
            "would both be written",
        ),
        (
            vec![p(&files[0]), p(&files[1]), "-o", p(&out_file)],
            "--out-dir",
        ),
        (vec![p(&files[0]), "--out-dir", p(&gone)], "no such folder"),
    ] {
        let o = vanthu(&[&["sign"], &args[..], &["--p12", &p12]].concat());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
    assert!(!out_file.exists());
}

#[test]
fn bad_input_gives_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let not_pdf = dir.path().join("note.pdf");
    std::fs::write(&not_pdf, b"this is not a PDF").unwrap();
    let input = make_input(dir.path());
    let out = dir.path().join("out.pdf");
    let missing = dir.path().join("missing.pdf");
    let key = cert("signer-rsa.key");
    let crt = cert("signer-rsa.pem");
    let p12 = cert("signer-rsa.p12");
    let long_stamp = "Số 12/QĐ-UBND ".repeat(200);
    let cases: Vec<Vec<&str>> = vec![
        vec![p(&input), "-o", p(&out), "--p12", &p12, "--stamp", " "],
        vec![
            p(&input),
            "-o",
            p(&out),
            "--p12",
            &p12,
            "--stamp",
            &long_stamp,
        ],
        vec![p(&not_pdf), "-o", p(&out), "--key", &key, "--cert", &crt],
        vec![p(&missing), "-o", p(&out), "--key", &key, "--cert", &crt],
        vec![p(&input), "-o", p(&out), "--key", &crt, "--cert", &crt],
        vec![
            p(&input),
            "-o",
            p(&out),
            "--p12",
            &p12,
            "--p12-password-env",
            "VANTHU_TEST_NO_SUCH_VAR",
        ],
        vec![
            p(&input),
            "-o",
            p(&out),
            "--key",
            &key,
            "--cert",
            &crt,
            "--level",
            "B-T",
        ],
        vec![
            p(&input),
            "-o",
            p(&out),
            "--key",
            &key,
            "--cert",
            &crt,
            "--level",
            "B-Z",
        ],
        vec![
            p(&input),
            "-o",
            p(&out),
            "--key",
            &key,
            "--cert",
            &crt,
            "--field",
            "so_ky_hieu",
        ],
        vec![p(&input), "-o", p(&out)],
    ];
    for args in cases {
        let o = vanthu(&[&["sign"], &args[..]].concat());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
        assert!(!out.exists(), "{args:?} left an output file");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".vanthu-"))
            .collect();
        assert!(leftovers.is_empty(), "{args:?} left a temporary file");
    }
}
