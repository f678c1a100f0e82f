//! Interoperability and robustness checks of `vanthu sign` / `vanthu verify` with keys and
//! files made here at run time (never the development PKI): a root -> intermediate -> signer
//! chain from the openssl command line, hand-written PDFs with unusual page boxes and
//! rotations, legacy PKCS#12 files, RSA-PSS and encrypted keys, revoked certificates, and files
//! modified by pyHanko after signing. Appearances are judged from poppler's rendering
//! (pdftoppm) and text extraction (pdftotext).
//!
//! The verdicts are compared with pyHanko's where it is the judge. Tests ask for the tools they
//! need through `common::tools`: a missing one fails the test when VANTHU_REQUIRE_TOOLS=1 and
//! skips it otherwise.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::oracles;
use common::tools::{require, Tool};
use common::tsa::InProcessTsa;
use serde_json::Value;

fn vanthu<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args(args)
        .env_remove("VANTHU_P12_PASSWORD")
        .output()
        .expect("run vanthu")
}

/// A path as a command-line argument (temporary folders have UTF-8 names).
fn s(path: &Path) -> String {
    path.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A failed command: exit status 2 (every failure of `vanthu sign`), exactly one line on
/// stderr, and no file at `output`.
fn assert_clean_failure(out: &Output, output: &Path, what: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: expected exit status 2; stdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{what}: expected one line on stderr, got: {stderr:?}"
    );
    assert!(
        !output.exists(),
        "{what}: a failed run left {}",
        output.display()
    );
}

fn sh(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_success(&out, what);
}

fn openssl(dir: &Path, args: &[&str]) {
    sh(
        Command::new("openssl").current_dir(dir).args(args),
        &format!("openssl {}", args.join(" ")),
    );
}

/// A fresh PKI in a temporary folder: RSA root -> RSA intermediate -> signers, a TSA
/// certificate, and CRLs of both CAs (files `root.crl`, `int.crl` in `crls/`).
struct Pki {
    dir: tempfile::TempDir,
}

const EXTENSIONS: &str = "\
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:9/root.crl
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:9/int.crl
[tsa]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:9/int.crl
";

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("vanthu-qa-pki-")
            .tempdir()
            .expect("temporary folder");
        let d = dir.path();
        std::fs::write(d.join("ext.cnf"), EXTENSIONS).unwrap();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "root.key",
                "-out",
                "root.pem",
                "-days",
                "3650",
                "-subj",
                "/C=VN/O=QA/CN=QA Root",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let pki = Pki { dir };
        pki.issue(
            "int",
            &["-algorithm", "RSA"],
            "/C=VN/O=QA/CN=QA Intermediate",
            "root",
            "ca",
        );
        pki.issue(
            "signer",
            &["-algorithm", "RSA"],
            "/C=VN/O=QA/CN=QA Signer",
            "int",
            "leaf",
        );
        pki.issue(
            "seal",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "/C=VN/O=QA/CN=QA Seal",
            "int",
            "leaf",
        );
        pki.issue(
            "tsa",
            &["-algorithm", "RSA"],
            "/C=VN/O=QA/CN=QA TSA",
            "int",
            "tsa",
        );
        for ca in ["root", "int"] {
            pki.crl(ca, "crls", &[]);
        }
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Key `<name>.key` (genpkey arguments) and certificate `<name>.pem` issued by `issuer`.
    fn issue(&self, name: &str, keygen: &[&str], subject: &str, issuer: &str, section: &str) {
        let d = self.dir.path();
        let key = format!("{name}.key");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(keygen);
        args.extend_from_slice(&["-out", &key]);
        openssl(d, &args);
        let csr = format!("{name}.csr");
        openssl(
            d,
            &[
                "req", "-new", "-key", &key, "-out", &csr, "-subj", subject, "-utf8",
            ],
        );
        let cert = format!("{name}.pem");
        let ca_cert = format!("{issuer}.pem");
        let ca_key = format!("{issuer}.key");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "825",
                "-sha256",
                "-extfile",
                "ext.cnf",
                "-extensions",
                section,
            ],
        );
    }

    /// A CRL of `ca` in DER, as `<folder>/<ca>.crl`, listing the certificates `revoked`
    /// (names of certificates issued by [`Pki::issue`]).
    fn crl(&self, ca: &str, folder: &str, revoked: &[&str]) {
        let d = self.dir.path();
        std::fs::create_dir_all(d.join(folder)).unwrap();
        let db = d.join(format!("{folder}-{ca}-db"));
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("index.txt"), "").unwrap();
        std::fs::write(db.join("crlnumber"), "01\n").unwrap();
        let cnf = format!(
            "[ca]\ndefault_ca=c\n[c]\ndatabase={db}/index.txt\ncrlnumber={db}/crlnumber\n\
             certificate={dir}/{ca}.pem\nprivate_key={dir}/{ca}.key\ndefault_md=sha256\n\
             default_crl_days=30\n",
            db = db.display(),
            dir = d.display()
        );
        let cnf_path = format!("{folder}-{ca}-crl.cnf");
        std::fs::write(d.join(&cnf_path), cnf).unwrap();
        for name in revoked {
            let cert = format!("{name}.pem");
            openssl(d, &["ca", "-config", &cnf_path, "-revoke", &cert]);
        }
        let pem = format!("{folder}-{ca}.crl.pem");
        openssl(d, &["ca", "-config", &cnf_path, "-gencrl", "-out", &pem]);
        let der = format!("{folder}/{ca}.crl");
        openssl(d, &["crl", "-in", &pem, "-outform", "DER", "-out", &der]);
    }

    /// `vanthu sign` key arguments for a signer issued by [`Pki::new`].
    fn key_args(&self, name: &str) -> Vec<String> {
        vec![
            "--key".into(),
            self.p(&format!("{name}.key")),
            "--cert".into(),
            self.p(&format!("{name}.pem")),
            "--chain".into(),
            self.p("int.pem"),
        ]
    }
}

/// A small valid PDF (classic cross-reference table) whose pages have `media_box`.
fn pdf(media_box: &str, pages: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} /MediaBox {media_box} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    for i in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let content = format!("BT /F1 18 Tf 150 300 Td (QA page {}) Tj ET", i + 1);
        objects.push(
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            )
            .into_bytes(),
        );
    }
    serialize(&objects)
}

/// A PDF file (classic cross-reference table) of objects 1..=n, object 1 the catalog.
fn serialize(objects: &[Vec<u8>]) -> Vec<u8> {
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
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

const A4: &str = "[0 0 595 842]";

/// A 4x2 RGBA PNG, written by hand (stored deflate blocks) so no image tool is needed.
fn png() -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc(&body).to_be_bytes());
    }
    let (w, h) = (4u32, 2u32);
    // Each row: filter type 0, then opaque red pixels.
    let mut row = vec![0u8];
    for _ in 0..w {
        row.extend_from_slice(&[200, 0, 0, 255]);
    }
    let raw = row.repeat(h as usize);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// `vanthu verify --json --offline --trust <root>`: (exit code, report).
fn verify_json(file: &Path, root: &Path) -> (i32, Value) {
    let out = vanthu([
        "verify",
        &s(file),
        "--json",
        "--offline",
        "--trust",
        &s(root),
    ]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify {}: not JSON ({e}); stdout {} stderr {}",
            file.display(),
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report)
}

/// pyHanko's view of every regular signature: field, bottom line, modification level.
const PYHANKO_VALIDATE: &str = r#"
import sys, json
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko.keys import load_certs_from_pemder
path, root = sys.argv[1:3]
roots = list(load_certs_from_pemder([root]))
out = []
with open(path, 'rb') as f:
    for s in PdfFileReader(f).embedded_regular_signatures:
        vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode='soft-fail')
        st = validate_pdf_signature(s, signer_validation_context=vc)
        out.append({'field': s.field_name, 'bottom_line': bool(st.bottom_line),
                    'modification_level': st.modification_level.name if st.modification_level else None})
print(json.dumps(out))
"#;

fn pyhanko_validate(python: &Path, file: &Path, root: &Path) -> Vec<Value> {
    let out = Command::new(python)
        .args(["-c", PYHANKO_VALIDATE])
        .arg(file)
        .arg(root)
        .output()
        .expect("run pyHanko");
    assert_success(&out, "pyHanko validation");
    let v: Value = serde_json::from_slice(&out.stdout).expect("pyHanko JSON");
    v.as_array().expect("array").clone()
}

/// pyHanko's CLI signing with a PEM key of the test PKI.
fn pyhanko_sign(
    python: &Path,
    pki: &Pki,
    name: &str,
    field: &str,
    extra: &[&str],
    input: &Path,
    output: &Path,
) {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pyhanko", "sign", "addsig", "--field", field])
        .args(extra)
        .args(["pemder", "--key"])
        .arg(pki.path(&format!("{name}.key")))
        .arg("--cert")
        .arg(pki.path(&format!("{name}.pem")))
        .arg("--chain")
        .arg(pki.path("int.pem"))
        .arg("--no-pass")
        .arg(input)
        .arg(output);
    sh(&mut cmd, "pyHanko addsig");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Signs `input` into `output` with a signer of `pki` and extra arguments.
fn sign(pki: &Pki, signer: &str, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "sign".into(),
        input.display().to_string(),
        "-o".into(),
        output.display().to_string(),
    ];
    args.extend(pki.key_args(signer));
    args.extend(extra.iter().map(|s| s.to_string()));
    vanthu(&args)
}

/// Every `/Rect [a b c d]` written after byte `from`.
fn rects_after(bytes: &[u8], from: usize) -> Vec<[f64; 4]> {
    let hay = text(&bytes[from..]);
    hay.match_indices("/Rect")
        .filter_map(|(i, _)| {
            let rest = hay[i + 5..].trim_start().strip_prefix('[')?;
            let inner = &rest[..rest.find(']')?];
            let nums: Vec<f64> = inner
                .split_whitespace()
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            <[f64; 4]>::try_from(nums).ok()
        })
        .collect()
}

#[test]
fn legacy_rc2_pkcs12_signs() {
    if require("legacy_rc2_pkcs12_signs", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-legacy",
            "-inkey",
            "signer.key",
            "-in",
            "signer.pem",
            "-certfile",
            "int.pem",
            "-out",
            "legacy.p12",
            "-passout",
            "pass:mật-khẩu",
        ],
    );
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let output = d.join("out.pdf");
    let run = |password: &str, output: &Path| {
        Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(output)
            .arg("--p12")
            .arg(pki.path("legacy.p12"))
            .env("VANTHU_P12_PASSWORD", password)
            .output()
            .unwrap()
    };
    let wrong = d.join("wrong.pdf");
    assert_clean_failure(
        &run("sai", &wrong),
        &wrong,
        "legacy PKCS#12, wrong password",
    );
    // The openssl command line confirms the file is what the test claims: certificates under
    // RC2-40 and the key under 3DES, unreadable without OpenSSL 3's legacy provider.
    let info = |legacy: bool| {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(d)
            .args(["pkcs12", "-info", "-noout", "-in", "legacy.p12"])
            .args(["-passin", "pass:mật-khẩu"]);
        if legacy {
            cmd.arg("-legacy");
        }
        cmd.output().expect("openssl pkcs12 -info")
    };
    let legacy_info = info(true);
    assert_success(&legacy_info, "openssl pkcs12 -info -legacy");
    let described = text(&legacy_info.stderr);
    assert!(
        described.contains("PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC")
            && described.contains("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"),
        "not a legacy PKCS#12: {described}"
    );
    let default_info = info(false);
    assert!(
        !default_info.status.success() && text(&default_info.stderr).contains("RC2-40-CBC"),
        "the default provider reads the file, so it tests no legacy path: {}",
        text(&default_info.stderr)
    );

    let out = run("mật-khẩu", &output);
    assert_success(&out, "legacy (RC2-40) PKCS#12 with the right password");
    let (code, report) = verify_json(&output, &pki.path("root.pem"));
    assert_eq!(report["verdict"], "valid", "{report:#}");
    assert_eq!(code, 0);
    assert_eq!(report["signatures"][0]["signer"], "QA Signer", "{report:#}");
    // The signature carries exactly the certificates openssl finds in the file.
    let from_p12 = Command::new("openssl")
        .current_dir(d)
        .args(["pkcs12", "-nokeys", "-legacy", "-in", "legacy.p12"])
        .args(["-passin", "pass:mật-khẩu"])
        .output()
        .expect("openssl pkcs12 -nokeys");
    assert_success(&from_p12, "openssl pkcs12 -nokeys -legacy");
    let signed = std::fs::read(&output).unwrap();
    let cms = write(d, "signature.der", &signature_contents(&signed));
    let from_signature = Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
        .arg(&cms)
        .output()
        .expect("openssl pkcs7 -print_certs");
    assert_success(&from_signature, "openssl pkcs7 -print_certs");
    let in_p12 = certificates_in(&from_p12.stdout);
    assert_eq!(
        in_p12.len(),
        2,
        "the signer's certificate and the intermediate"
    );
    assert_eq!(
        certificates_in(&from_signature.stdout),
        in_p12,
        "the signature's certificates are not the PKCS#12 file's"
    );
}

/// The DER of the last signature's /Contents (its hex string, without the zero padding).
fn signature_contents(pdf: &[u8]) -> Vec<u8> {
    let all = text(pdf);
    let start = all.rfind("/Contents <").expect("a signature /Contents") + "/Contents <".len();
    let end = start + all[start..].find('>').expect("the end of /Contents");
    let der = hex::decode(&all[start..end]).expect("hex /Contents");
    // An outer SEQUENCE with a long-form length: 0x30 0x8n, then n length bytes.
    assert_eq!(der[0], 0x30, "not a DER SEQUENCE");
    let n = usize::from(der[1] & 0x7f);
    assert!(der[1] & 0x80 != 0 && n <= 4, "unexpected DER length form");
    let len = der[2..2 + n]
        .iter()
        .fold(0usize, |a, b| a << 8 | usize::from(*b));
    der[..2 + n + len].to_vec()
}

/// The certificates of a PEM bundle, as sorted DER.
fn certificates_in(pem: &[u8]) -> Vec<Vec<u8>> {
    let mut ders: Vec<Vec<u8>> = openssl::x509::X509::stack_from_pem(pem)
        .expect("PEM certificates")
        .iter()
        .map(|c| c.to_der().unwrap())
        .collect();
    ders.sort();
    ders
}

#[test]
fn rsa_pss_key_signs() {
    let Some(tools) = require("rsa_pss_key_signs", &[Tool::Openssl, Tool::PyHanko]) else {
        return;
    };
    let pki = Pki::new();
    pki.issue(
        "pss",
        &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
        "/C=VN/O=QA/CN=QA RSA-PSS Signer",
        "int",
        "leaf",
    );
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let output = d.join("out.pdf");
    let out = sign(&pki, "pss", &input, &output, &[]);
    assert_success(&out, "signing with an RSA-PSS (id-RSASSA-PSS) key");
    let (code, report) = verify_json(&output, &pki.path("root.pem"));
    assert_eq!(report["verdict"], "valid", "{report:#}");
    assert_eq!(code, 0);
    let sigs = pyhanko_validate(tools.python(), &output, &pki.path("root.pem"));
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["bottom_line"], true, "pyHanko: {sigs:?}");
}

#[test]
fn visible_signature_without_image() {
    if require("visible_signature_without_image", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let bytes = pdf(A4, 1);
    let input = write(d, "in.pdf", &bytes);
    let output = d.join("out.pdf");
    let out = sign(
        &pki,
        "signer",
        &input,
        &output,
        &["--visible", "1:350,80,180,80"],
    );
    assert_success(&out, "--visible without --image");
    let signed = std::fs::read(&output).unwrap();
    let rects = rects_after(&signed, bytes.len());
    assert!(
        rects.iter().any(|r| r[2] - r[0] > 1.0 && r[3] - r[1] > 1.0),
        "no visible widget rectangle in the update: {rects:?}"
    );
    let (_, report) = verify_json(&output, &pki.path("root.pem"));
    assert_eq!(report["verdict"], "valid", "{report:#}");
}

#[test]
fn off_page_visible_rectangles_are_refused() {
    if require("off_page_visible_rectangles_are_refused", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let image = write(d, "sig.png", &png());
    let image = image.display().to_string();
    for (i, spec) in [
        "1:100000,100000,50000,50000",
        "1:-500,-500,100,50",
        "1:1e38,1e38,1e38,1e38",
        "1:600,10,100,50",
    ]
    .into_iter()
    .enumerate()
    {
        let output = d.join(format!("out{i}.pdf"));
        let out = sign(
            &pki,
            "signer",
            &input,
            &output,
            &["--visible", spec, "--image", &image],
        );
        assert_clean_failure(&out, &output, &format!("--visible {spec} on an A4 page"));
    }
}

#[test]
fn visible_rectangle_lands_on_a_page_with_offset_media_box() {
    if require(
        "visible_rectangle_lands_on_a_page_with_offset_media_box",
        &[Tool::Openssl],
    )
    .is_none()
    {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    // The page spans x 100..712, y 200..992 in user space.
    let bytes = pdf("[100 200 712 992]", 1);
    let input = write(d, "in.pdf", &bytes);
    let image = write(d, "sig.png", &png());
    let output = d.join("out.pdf");
    let out = sign(
        &pki,
        "signer",
        &input,
        &output,
        &[
            "--visible",
            "1:300,100,180,80",
            "--image",
            &image.display().to_string(),
        ],
    );
    // X,Y count from the page's lower-left corner (100, 200): the rectangle is on the page.
    assert_success(&out, "a rectangle on a page with an offset MediaBox");
    let signed = std::fs::read(&output).unwrap();
    let rects = rects_after(&signed, bytes.len());
    let widgets: Vec<&[f64; 4]> = rects.iter().filter(|r| r[2] - r[0] > 1.0).collect();
    assert_eq!(
        widgets,
        [&[400.0, 300.0, 580.0, 380.0]],
        "the visible signature must sit at page corner + (300, 100), 180 x 80"
    );
}

#[test]
fn output_equal_to_input_is_refused() {
    if require("output_equal_to_input_is_refused", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let bytes = pdf(A4, 1);
    let input = write(d, "same.pdf", &bytes);
    let out = sign(&pki, "signer", &input, &input, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "signing onto the input itself: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr).trim_end().lines().count(), 1);
    assert_eq!(std::fs::read(&input).unwrap(), bytes, "the input changed");
}

#[test]
fn hostile_cli_inputs_fail_cleanly() {
    if require("hostile_cli_inputs_fail_cleanly", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let good = write(d, "good.pdf", &pdf(A4, 2));
    let zero = write(d, "zero.pdf", b"");
    let text_file = write(d, "text.pdf", b"hello, not a PDF\n");
    let truncated = write(d, "trunc.pdf", &pdf(A4, 2)[..300]);
    let folder = d.join("folder.pdf");
    std::fs::create_dir(&folder).unwrap();
    let missing = d.join("missing.pdf");
    let image = write(d, "sig.png", &png()).display().to_string();

    for (i, input) in [&missing, &zero, &text_file, &truncated, &folder]
        .iter()
        .enumerate()
    {
        let output = d.join(format!("o{i}.pdf"));
        let out = sign(&pki, "signer", input, &output, &[]);
        assert_clean_failure(&out, &output, &format!("sign {}", input.display()));
        let out = vanthu(["verify", &s(input), "--json"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "verify {}: exit code",
            input.display()
        );
        assert_eq!(
            text(&out.stderr).trim_end().lines().count(),
            1,
            "verify {}: {}",
            input.display(),
            text(&out.stderr)
        );
    }
    for (i, extra) in [
        vec!["--visible", "3:10,10,100,50", "--image", &image],
        vec!["--visible", "0:10,10,100,50", "--image", &image],
    ]
    .iter()
    .enumerate()
    {
        let output = d.join(format!("p{i}.pdf"));
        let out = sign(&pki, "signer", &good, &output, extra);
        assert_clean_failure(&out, &output, &format!("{extra:?}"));
    }
    let output = d.join("no/such/folder/out.pdf");
    let out = sign(&pki, "signer", &good, &output, &[]);
    assert_clean_failure(&out, &output, "output in a missing folder");
    let unsigned = vanthu(["verify", &s(&good)]);
    assert_eq!(
        unsigned.status.code(),
        Some(1),
        "an unsigned file is not valid"
    );
}

#[test]
fn missing_output_folder_message_shows_no_temporary_name() {
    if require(
        "missing_output_folder_message_shows_no_temporary_name",
        &[Tool::Openssl],
    )
    .is_none()
    {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let good = write(d, "good.pdf", &pdf(A4, 1));
    let output = d.join("no/such/folder/out.pdf");
    let out = sign(&pki, "signer", &good, &output, &[]);
    let stderr = text(&out.stderr);
    assert_clean_failure(&out, &output, "output in a missing folder");
    assert!(
        !stderr.contains(".vanthu-sign-"),
        "the message shows an internal temporary file name: {stderr}"
    );
}

#[test]
fn a_new_visible_field_on_a_certified_file_is_refused() {
    let test = "a_new_visible_field_on_a_certified_file_is_refused";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let certified = d.join("certified.pdf");
    assert_success(
        &sign(&pki, "signer", &input, &certified, &["--certify"]),
        "certification signature",
    );
    let before = std::fs::read(&certified).unwrap();
    let image = write(d, "seal.png", &png()).display().to_string();
    let output = d.join("sealed.pdf");
    let out = sign(
        &pki,
        "seal",
        &certified,
        &output,
        &["--visible", "1:300,100,120,120", "--image", &image],
    );
    // A new widget after a P=2 certification is a change pyHanko (and vanthu verify) count
    // against the certification (see the next test): refused before anything is written.
    assert_clean_failure(&out, &output, "new visible field on a certified file");
    assert!(
        text(&out.stderr).contains("certified"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&certified).unwrap(),
        before,
        "the input changed"
    );
}

#[test]
fn verify_flags_new_visible_field_after_certification_like_pyhanko() {
    let test = "verify_flags_new_visible_field_after_certification_like_pyhanko";
    let Some(tools) = require(test, &[Tool::Openssl, Tool::PyHanko]) else {
        return;
    };
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let certified = d.join("certified.pdf");
    pyhanko_sign(
        tools.python(),
        &pki,
        "signer",
        "Official",
        &["--certify"],
        &input,
        &certified,
    );
    let output = d.join("two.pdf");
    pyhanko_sign(
        tools.python(),
        &pki,
        "seal",
        "1/300,300,450,360/Seal",
        &[],
        &certified,
        &output,
    );
    let root = pki.path("root.pem");
    let sigs = pyhanko_validate(tools.python(), &output, &root);
    let official = sigs.iter().find(|s| s["field"] == "Official").unwrap();
    assert_eq!(
        official["bottom_line"], false,
        "pyHanko's judgement changed: {sigs:?}"
    );
    let (code, report) = verify_json(&output, &root);
    assert_eq!(
        report["verdict"], "modified",
        "pyHanko: the certification signature no longer vouches (OTHER); vanthu: {report:#}"
    );
    assert_eq!(code, 1);
}

/// Adds a /Text annotation to page 1 in an incremental update (pyHanko's writer).
const ADD_ANNOTATION: &str = r#"
import sys
from io import BytesIO
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import NameObject as N
src, dst = sys.argv[1:3]
w = IncrementalPdfFileWriter(open(src, 'rb'))
page = w.root['/Pages']['/Kids'][0].get_object()
annot = generic.DictionaryObject({N('/Type'): N('/Annot'), N('/Subtype'): N('/Text'),
    N('/Rect'): generic.ArrayObject([generic.NumberObject(x) for x in (10, 10, 30, 30)]),
    N('/Contents'): generic.TextStringObject('ghi chú')})
ref = w.add_object(annot)
annots = page.get('/Annots')
if annots is None:
    page['/Annots'] = generic.ArrayObject([ref])
else:
    annots = annots.get_object()
    annots.append(ref)
    if isinstance(page.raw_get('/Annots'), generic.IndirectObject):
        w.update_container(annots)
w.update_container(page)
out = BytesIO()
w.write(out)
open(dst, 'wb').write(out.getvalue())
"#;

#[test]
fn verify_flags_annotation_after_approval_signature_like_pyhanko() {
    let test = "verify_flags_annotation_after_approval_signature_like_pyhanko";
    let Some(tools) = require(test, &[Tool::Openssl, Tool::PyHanko]) else {
        return;
    };
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let signed = d.join("signed.pdf");
    assert_success(
        &sign(&pki, "signer", &input, &signed, &[]),
        "approval signature",
    );
    let annotated = d.join("annotated.pdf");
    sh(
        Command::new(tools.python())
            .args(["-c", ADD_ANNOTATION])
            .arg(&signed)
            .arg(&annotated),
        "add an annotation with pyHanko",
    );
    let root = pki.path("root.pem");
    let sigs = pyhanko_validate(tools.python(), &annotated, &root);
    assert_eq!(
        sigs[0]["bottom_line"], false,
        "pyHanko's judgement changed: {sigs:?}"
    );
    let (code, report) = verify_json(&annotated, &root);
    assert_eq!(
        report["verdict"], "modified",
        "pyHanko: {sigs:?}; vanthu: {report:#}"
    );
    assert_eq!(code, 1);
}

/// `vanthu tsa` with the test PKI's TSA certificate on a free port; killed when dropped.
struct Tsa {
    child: Child,
    url: String,
}

impl Tsa {
    fn start(pki: &Pki) -> Tsa {
        Tsa::start_as(pki, "tsa").expect("vanthu tsa refused the TSA certificate")
    }

    /// An authority signing with `<name>.key` / `<name>.pem`; `None` when `vanthu tsa` exits
    /// instead of listening.
    fn start_as(pki: &Pki, name: &str) -> Option<Tsa> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .args(["tsa", "--listen", &addr, "--cert"])
            .arg(pki.path(&format!("{name}.pem")))
            .arg("--key")
            .arg(pki.path(&format!("{name}.key")))
            .arg("--chain")
            .arg(pki.path("int.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vanthu tsa");
        let mut tsa = Tsa {
            child,
            url: format!("http://{addr}/"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&addr).is_err() {
            if tsa.child.try_wait().expect("wait").is_some() {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "vanthu tsa did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(tsa)
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn extending_a_bb_signature_to_blt_reaches_blt() {
    if require(
        "extending_a_bb_signature_to_blt_reaches_blt",
        &[Tool::Openssl],
    )
    .is_none()
    {
        return;
    }
    let pki = Pki::new();
    let tsa = Tsa::start(&pki);
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let signed = d.join("bb.pdf");
    assert_success(&sign(&pki, "signer", &input, &signed, &[]), "B-B signature");
    let extended = d.join("lt.pdf");
    let out = vanthu([
        "sign",
        &s(&signed),
        "-o",
        &s(&extended),
        "--extend",
        "--level",
        "B-LT",
        "--tsa",
        &tsa.url,
        "--revocation",
        &pki.p("crls"),
    ]);
    assert_success(&out, "extend B-B to B-LT");
    let (_, report) = verify_json(&extended, &pki.path("root.pem"));
    // The document time-stamp gives the B-B signature its proof of time, and the DSS after it
    // the validation data: B-LT, and not B-LTA, since no time-stamp covers that DSS.
    let level = &report["signatures"][0]["level"];
    assert_eq!(
        level,
        "B-LT",
        "`--extend --level B-LT` said {:?} but the verifier finds level {level}: {report:#}",
        text(&out.stdout).trim()
    );
    assert_eq!(
        report["signatures"][1]["kind"], "document_timestamp",
        "{report:#}"
    );
    assert_eq!(report["verdict"], "valid", "{report:#}");
}

#[test]
fn extending_to_blta_makes_a_time_stamp_from_another_ca_verifiable_from_the_file() {
    let test = "extending_to_blta_makes_a_time_stamp_from_another_ca_verifiable_from_the_file";
    let Some(tools) = require(test, &[Tool::Openssl, Tool::PyHanko]) else {
        return;
    };
    let pki = Pki::new();
    // The authority's certificate comes from a CA of its own, as with a real provider: the
    // signer's revocation data says nothing about it.
    pki.issue(
        "tsa-ca",
        &["-algorithm", "RSA"],
        "/C=VN/O=QA/CN=QA TSA CA",
        "root",
        "ca",
    );
    pki.issue(
        "tsa2",
        &["-algorithm", "RSA"],
        "/C=VN/O=QA/CN=QA TSA 2",
        "tsa-ca",
        "tsa",
    );
    pki.crl("tsa-ca", "crls", &[]);
    let tsa = InProcessTsa::start(
        &pki.path("tsa2.pem"),
        &pki.path("tsa2.key"),
        Some(&pki.path("tsa-ca.pem")),
    );
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let bb = d.join("bb.pdf");
    assert_success(&sign(&pki, "signer", &input, &bb, &[]), "B-B signature");
    let lta = d.join("lta.pdf");
    let out = vanthu([
        "sign",
        &s(&bb),
        "-o",
        &s(&lta),
        "--extend",
        "--level",
        "B-LTA",
        "--tsa",
        &tsa.url,
        "--revocation",
        &pki.p("crls"),
    ]);
    assert_success(&out, "extend B-B to B-LTA");
    // pyHanko, hard-fail and from the file alone: the signature and the document time-stamp
    // are both trusted, so the time-stamp authority's chain and revocation data are inside.
    let report = oracles::pyhanko_report(&tools, &lta, &pki.path("root.pem"));
    assert_eq!(report["signatures"][0]["ltv"], true, "{report:#}");
    let timestamps = report["timestamps"].as_array().unwrap();
    assert_eq!(timestamps.len(), 1, "{report:#}");
    assert_eq!(timestamps[0]["valid"], true, "{report:#}");
    assert_eq!(timestamps[0]["trusted"], true, "{report:#}");
    assert_eq!(timestamps[0]["ltv"], true, "{report:#}");
}

#[test]
fn signing_at_blt_with_a_revoked_certificate_is_refused() {
    let test = "signing_at_blt_with_a_revoked_certificate_is_refused";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    pki.crl("root", "revoked-crls", &[]);
    pki.crl("int", "revoked-crls", &["signer"]);
    let tsa = Tsa::start(&pki);
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let output = d.join("out.pdf");
    let crls = pki.p("revoked-crls");
    let out = sign(
        &pki,
        "signer",
        &input,
        &output,
        &["--level", "B-LT", "--tsa", &tsa.url, "--revocation", &crls],
    );
    // The signer holds a CRL saying the key is revoked: a signature every validator rejects
    // must not be produced.
    assert_clean_failure(&out, &output, "B-LT with a revoked signing certificate");
}

#[test]
fn visible_signature_into_a_prepared_field_with_a_separate_widget() {
    let test = "visible_signature_into_a_prepared_field_with_a_separate_widget";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    // An empty signature field whose widget is a kid (not merged), as some form tools write,
    // and an AcroForm held directly in the catalog.
    let content = "BT /F1 18 Tf 100 700 Td (Prepared field) Tj ET";
    let objects: Vec<Vec<u8>> = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Annots [7 0 R] >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        "<< /FT /Sig /T (KyChinh) /Kids [7 0 R] >>".to_string(),
        "<< /Type /Annot /Subtype /Widget /Parent 6 0 R /Rect [300 100 480 180] /P 3 0 R /F 4 >>".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let bytes = serialize(&objects);
    let input = write(d, "prepared.pdf", &bytes);
    let image = write(d, "sig.png", &png()).display().to_string();
    let output = d.join("out.pdf");
    let out = sign(
        &pki,
        "signer",
        &input,
        &output,
        &[
            "--field",
            "KyChinh",
            "--visible",
            "1:300,100,180,80",
            "--image",
            &image,
        ],
    );
    assert_success(
        &out,
        "visible signature into a prepared field with a kid widget",
    );
    let signed = std::fs::read(&output).unwrap();
    let update = text(&signed[bytes.len()..]);
    let widget = update
        .find("7 0 obj")
        .map(|i| &update[i..i + update[i..].find("endobj").unwrap_or(0)])
        .unwrap_or_else(|| {
            panic!("--visible was asked for but the widget (7 0 R) was not updated")
        });
    assert!(
        widget.contains("/AP"),
        "the widget got no appearance: {widget}"
    );
    assert!(
        update.contains("/SigFlags 3"),
        "the AcroForm does not say that signatures exist (/SigFlags 3)"
    );
    let (_, report) = verify_json(&output, &pki.path("root.pem"));
    assert_eq!(report["verdict"], "valid", "{report:#}");
}

#[test]
fn filled_vietnamese_number_shows_its_diacritics() {
    let test = "filled_vietnamese_number_shows_its_diacritics";
    if require(test, &[Tool::Openssl, Tool::Pdftotext]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let content = "BT /F1 18 Tf 100 700 Td (Form) Tj ET";
    let objects: Vec<Vec<u8>> = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /DA (/Helv 0 Tf 0 g) >> >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Annots [6 0 R] >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        "<< /FT /Tx /T (so_ky_hieu) /Type /Annot /Subtype /Widget /Rect [72 600 400 624] /P 3 0 R /F 4 >>".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let input = write(d, "form.pdf", &serialize(&objects));
    let signed = d.join("signed.pdf");
    assert_success(
        &sign(&pki, "signer", &input, &signed, &[]),
        "official signature",
    );
    let filled = d.join("filled.pdf");
    let number = "Số: 125/QĐ-UBND";
    vanthu_pades::sign::fill_fields(
        &signed,
        &filled,
        &[("so_ky_hieu".to_string(), number.to_string())],
    )
    .expect("fill the number");
    let (_, report) = verify_json(&filled, &pki.path("root.pem"));
    assert_eq!(report["verdict"], "valid", "{report:#}");
    assert_eq!(report["signatures"][0]["modification"], "FORM_FILLING");
    let out = Command::new("pdftotext")
        .arg(&filled)
        .arg("-")
        .output()
        .expect("pdftotext");
    assert_success(&out, "pdftotext");
    let shown = text(&out.stdout);
    assert!(
        shown.contains(number),
        "the filled field shows {shown:?}, not {number:?}"
    );
}

#[test]
fn encrypted_pem_key_fails_with_one_line_and_no_prompt() {
    use std::os::unix::process::CommandExt;

    let test = "encrypted_pem_key_fails_with_one_line_and_no_prompt";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "signer.key",
            "-aes256",
            "-passout",
            "pass:x",
            "-out",
            "enc.key",
        ],
    );
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let output = d.join("out.pdf");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vanthu"));
    cmd.arg("sign")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--key")
        .arg(pki.path("enc.key"))
        .arg("--cert")
        .arg(pki.path("signer.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid() is async-signal-safe; the child gets no controlling terminal, so a
    // pass-phrase prompt cannot block on /dev/tty while the test runs from a terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("run vanthu sign");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vanthu sign with an encrypted key did not finish (waiting for a pass phrase?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(
        !text(&out.stderr).to_lowercase().contains("pass phrase"),
        "OpenSSL prompted for a pass phrase: {}",
        text(&out.stderr)
    );
    assert_clean_failure(&out, &output, "encrypted PEM key");
}

#[test]
fn signature_with_damaged_contents_is_not_reported_as_unsigned() {
    let test = "signature_with_damaged_contents_is_not_reported_as_unsigned";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let signed = d.join("signed.pdf");
    assert_success(&sign(&pki, "signer", &input, &signed, &[]), "signature");
    let mut bytes = std::fs::read(&signed).unwrap();
    let start = text(&bytes).rfind("/Contents <").expect("hex /Contents") + "/Contents <".len();
    // One character of the hex string is no longer a hex digit.
    bytes[start + 10] = b'Z';
    let damaged = write(d, "damaged.pdf", &bytes);
    let out = vanthu([
        "verify",
        &s(&damaged),
        "--json",
        "--offline",
        "--trust",
        &pki.p("root.pem"),
    ]);
    // The file reads; its one signature is there and broken: invalid (exit 1), not unsigned
    // and not unreadable (exit 2).
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {:?}, stderr {}",
            out.status.code(),
            text(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(
        report["verdict"], "invalid",
        "the file has a signature field with a signature dictionary: {report:#}"
    );
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report:#}");
    assert_eq!(signatures[0]["intact"], false, "{report:#}");
    assert_eq!(signatures[0]["indication"], "TOTAL-FAILED", "{report:#}");
}

/// Bounding box (width, height) of the strongly red pixels of page 1 rendered by pdftoppm.
fn red_box(file: &Path, dir: &Path) -> Option<(usize, usize)> {
    let prefix = dir.join("render");
    sh(
        Command::new("pdftoppm")
            .args(["-r", "36", "-f", "1", "-l", "1", "-singlefile"])
            .arg(file)
            .arg(&prefix),
        "pdftoppm",
    );
    let ppm = std::fs::read(prefix.with_extension("ppm")).expect("rendered page");
    // "P6\n<w> <h>\n255\n" then RGB bytes (pdftoppm writes no comments).
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
        fields.push(text(&ppm[start..pos]));
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &ppm[pos + 1..];
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            let p = &pixels[(y * w + x) * 3..(y * w + x) * 3 + 3];
            if p[0] > 150 && p[1] < 80 && p[2] < 80 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    (x0 <= x1).then(|| (x1 - x0 + 1, y1 - y0 + 1))
}

#[test]
fn visible_signature_stays_upright_on_a_rotated_page() {
    let test = "visible_signature_stays_upright_on_a_rotated_page";
    if require(test, &[Tool::Openssl, Tool::Pdftoppm]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let image = write(d, "sig.png", &png()).display().to_string();
    let spec = ["--visible", "1:100,100,200,80", "--image", &image];
    // The same wide red image on an upright page and on a page shown turned by /Rotate 90.
    let upright = write(d, "upright.pdf", &pdf(A4, 1));
    let content = "BT /F1 18 Tf 150 300 Td (Rotated page) Tj ET";
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Rotate 90 /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>"
            .to_vec(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()).into_bytes(),
    ];
    let rotated = write(d, "rotated.pdf", &serialize(&objects));
    let mut boxes = Vec::new();
    for input in [&upright, &rotated] {
        let output = input.with_extension("signed.pdf");
        assert_success(
            &sign(&pki, "signer", input, &output, &spec),
            "visible signature",
        );
        let shown = red_box(&output, d)
            .unwrap_or_else(|| panic!("{}: the signature image is not shown", output.display()));
        boxes.push(shown);
    }
    let (upright_box, rotated_box) = (boxes[0], boxes[1]);
    assert!(
        upright_box.0 > upright_box.1,
        "the wide image is not wide on an upright page: {upright_box:?}"
    );
    assert!(
        rotated_box.0 > rotated_box.1,
        "on a /Rotate 90 page the signature is shown sideways ({rotated_box:?} px, upright \
         {upright_box:?}): the appearance must counter the page rotation"
    );
}

#[test]
fn closed_stdout_is_not_a_panic() {
    if require("closed_stdout_is_not_a_panic", &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 3));
    let signed = d.join("signed.pdf");
    assert_success(&sign(&pki, "signer", &input, &signed, &[]), "signature");
    // As in `vanthu verify FILE | head -1`: the reader goes away before the report is printed.
    for (args, expected) in [
        (
            vec![
                "verify".to_string(),
                s(&signed),
                "--offline".into(),
                "--trust".into(),
                pki.p("root.pem"),
            ],
            0,
        ),
        // Without the QA root the signer is not trusted.
        (
            vec![
                "verify".to_string(),
                s(&signed),
                "--offline".into(),
                "--json".into(),
            ],
            1,
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vanthu");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{args:?} with a closed stdout panicked: {stderr}"
        );
        // The exit status still carries the verdict.
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn timestamp_nonce_with_leading_zero_byte_is_valid_der() {
    use vanthu_pades::signer::DigestAlgorithm;
    use vanthu_pades::tsa::{build_request, check_response};

    let test = "timestamp_nonce_with_leading_zero_byte_is_valid_der";
    if require(test, &[Tool::Openssl]).is_none() {
        return;
    }
    let pki = Pki::new();
    let tsa = Tsa::start(&pki);
    let d = pki.dir.path();
    let digest = DigestAlgorithm::Sha256;
    let imprint = digest.digest(b"nonce test");
    // One random nonce in 512 looks like this: a zero byte, then a byte below 0x80. Its
    // INTEGER must drop the zero (DER is minimal), or strict TSAs refuse the request.
    for nonce in [[0u8, 0x12, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0, 0, 1]] {
        let request = build_request(digest, &imprint, &nonce).expect("request");
        let query = write(d, "query.tsq", &request);
        sh(
            Command::new("openssl")
                .args(["ts", "-query", "-text", "-in"])
                .arg(&query),
            &format!("openssl reads the request with nonce {nonce:02x?}"),
        );
        let response = reqwest::blocking::Client::new()
            .post(&tsa.url)
            .header("Content-Type", "application/timestamp-query")
            .body(request)
            .send()
            .and_then(|r| r.bytes())
            .expect("ask vanthu tsa");
        check_response(&response, digest, &imprint, &nonce).unwrap_or_else(|e| {
            panic!("vanthu tsa refused the request with nonce {nonce:02x?}: {e}")
        });
    }
}

#[test]
fn time_stamps_from_a_certificate_without_time_stamping_usage_are_refused() {
    let test = "time_stamps_from_a_certificate_without_time_stamping_usage_are_refused";
    let Some(tools) = require(test, &[Tool::Openssl, Tool::PyHanko]) else {
        return;
    };
    let pki = Pki::new();
    let d = pki.dir.path();
    let input = write(d, "in.pdf", &pdf(A4, 1));
    let root = pki.path("root.pem");
    let chain = pki.path("int.pem");
    // The seal's certificate (digitalSignature, no extended key usage) handing out tokens,
    // and, as the control, the TSA certificate through the same responder.
    let rogue = InProcessTsa::start(&pki.path("seal.pem"), &pki.path("seal.key"), Some(&chain));
    let proper = InProcessTsa::start(&pki.path("tsa.pem"), &pki.path("tsa.key"), Some(&chain));

    // The signer refuses the token, for a signature time-stamp ...
    let accepted = d.join("bt-proper.pdf");
    let out = sign(
        &pki,
        "signer",
        &input,
        &accepted,
        &["--level", "B-T", "--tsa", &proper.url],
    );
    assert_success(&out, "B-T with a token from the TSA certificate");
    let output = d.join("bt.pdf");
    let out = sign(
        &pki,
        "signer",
        &input,
        &output,
        &["--level", "B-T", "--tsa", &rogue.url],
    );
    assert_clean_failure(&out, &output, "B-T with a token from a non-TSA certificate");
    assert!(
        text(&out.stderr).contains("timeStamping"),
        "{}",
        text(&out.stderr)
    );
    // ... and for a document time-stamp.
    let bb = d.join("bb.pdf");
    assert_success(&sign(&pki, "signer", &input, &bb, &[]), "B-B signature");
    let extended = d.join("lta.pdf");
    let out = vanthu([
        "sign",
        &s(&bb),
        "-o",
        &s(&extended),
        "--extend",
        "--level",
        "B-LTA",
        "--tsa",
        &rogue.url,
        "--revocation",
        &pki.p("crls"),
    ]);
    assert_clean_failure(
        &out,
        &extended,
        "a document time-stamp from a non-TSA certificate",
    );
    assert!(
        text(&out.stderr).contains("timeStamping"),
        "{}",
        text(&out.stderr)
    );

    // The verifier refuses such a token in a file signed elsewhere: pyHanko embeds it.
    let judged = |tsa: &InProcessTsa, name: &str| {
        let file = d.join(name);
        let extra = ["--use-pades", "--timestamp-url", tsa.url.as_str()];
        pyhanko_sign(
            tools.python(),
            &pki,
            "signer",
            "Signature1",
            &extra,
            &input,
            &file,
        );
        verify_json(&file, &root)
    };
    let (code, report) = judged(&proper, "pyhanko-proper.pdf");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("valid")),
        "{report:#}"
    );
    assert_eq!(report["signatures"][0]["level"], "B-T", "{report:#}");
    let (code, report) = judged(&rogue, "pyhanko-rogue.pdf");
    let sig = &report["signatures"][0];
    assert_eq!(sig["intact"], true, "{report:#}");
    assert!(
        sig["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("timeStamping")),
        "the verifier did not name the missing usage: {report:#}"
    );
    assert_eq!(
        sig["level"], "B-B",
        "a refused token proves no time: {report:#}"
    );
    assert_eq!(
        (code, report["verdict"].as_str()),
        (1, Some("untrusted")),
        "{report:#}"
    );
}
