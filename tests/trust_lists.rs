//! Trust domains as configuration: two roots made here, one standing for the public root
//! (NEAC's National Root CA) and one for the government-service root (Ban Cơ yếu Chính phủ),
//! each a folder given with `--trust-list NAME=DIR`; `vanthu verify` and the server's
//! `/api/v1/verify` name the list a signer's chain ended in, in both report languages.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{status_json, TestEnv};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use serde_json::Value;

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A certificate for `name`, issued by `issuer` (self-signed when `None`): a CA that signs
/// certificates, or a signer's certificate for documents.
fn certificate(name: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut subject = X509NameBuilder::new().unwrap();
    subject.append_entry_by_nid(Nid::COUNTRYNAME, "VN").unwrap();
    subject.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
    let subject = subject.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(issuer.map_or(&subject, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
        .unwrap();
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())
        .unwrap();
    b.build()
}

/// A root in its own folder (the trust list), and a PDF signed by a signer it issued.
struct Domain {
    folder: PathBuf,
    signed: PathBuf,
}

fn vanthu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .args(args)
        .output()
        .expect("run vanthu")
}

fn domain(dir: &Path, name: &str, root_name: &str, signer_name: &str) -> Domain {
    let folder = dir.join(name);
    std::fs::create_dir(&folder).unwrap();
    let root_key = key();
    let root = certificate(root_name, &root_key, None);
    std::fs::write(folder.join("root.pem"), root.to_pem().unwrap()).unwrap();
    let signer_key = key();
    let signer = certificate(signer_name, &signer_key, Some((&root, &root_key)));
    let (key_file, cert_file) = (
        dir.join(format!("{name}-signer.key")),
        dir.join(format!("{name}-signer.pem")),
    );
    std::fs::write(&key_file, signer_key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_file, signer.to_pem().unwrap()).unwrap();
    let unsigned = dir.join(format!("{name}.pdf"));
    std::fs::write(&unsigned, common::one_page_pdf(name.as_bytes())).unwrap();
    let signed = dir.join(format!("{name}-signed.pdf"));
    let out = vanthu(&[
        "sign",
        unsigned.to_str().unwrap(),
        "-o",
        signed.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
        "--cert",
        cert_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "vanthu sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Domain { folder, signed }
}

/// The one signature of a report, with the report's summaries.
fn judged(report: &Value) -> (&Value, &str, &str) {
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report}");
    (
        &signatures[0],
        report["summary_en"].as_str().unwrap(),
        report["summary_vi"].as_str().unwrap(),
    )
}

#[test]
fn reports_name_the_trust_list_a_signers_chain_ended_in() {
    let env = TestEnv::new();
    let dir = env.dir.path();
    let public = domain(dir, "public", "Test National Root CA", "Nguyễn Văn An");
    let government = domain(
        dir,
        "government",
        "Test Government Root CA",
        "Trần Thị Bình",
    );
    let elsewhere = domain(dir, "elsewhere", "Test Unlisted Root CA", "Lê Văn Cường");
    let lists = [
        format!("public={}", public.folder.display()),
        format!("government={}", government.folder.display()),
    ];

    // `vanthu verify`.
    for (pdf, expected) in [
        (&public.signed, Some("public")),
        (&government.signed, Some("government")),
        (&elsewhere.signed, None),
    ] {
        let out = vanthu(&[
            "verify",
            pdf.to_str().unwrap(),
            "--trust-list",
            &lists[0],
            "--trust-list",
            &lists[1],
            "--offline",
            "--json",
        ]);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let (signature, en, vi) = judged(&report);
        assert_eq!(signature["trust_domain"].as_str(), expected, "{report}");
        match expected {
            Some(name) => {
                assert_eq!(signature["trusted"], true, "{report}");
                assert!(en.contains(&format!("trusted (trust list {name})")), "{en}");
                assert!(
                    vi.contains(&format!("chứng thư tin cậy (danh sách tin cậy {name})")),
                    "{vi}"
                );
            }
            None => {
                assert_eq!(signature["trusted"], false, "{report}");
                assert!(!en.contains("trust list"), "{en}");
            }
        }
    }
    // A list must be NAME=DIR, and its folder must hold certificates.
    let out = vanthu(&[
        "verify",
        public.signed.to_str().unwrap(),
        "--trust-list",
        "public",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = vanthu(&[
        "verify",
        public.signed.to_str().unwrap(),
        "--trust-list",
        &format!("public={}", empty.display()),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no certificates"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The server, configured the same way, says the same on /api/v1/verify.
    let server = env.serve_demo(&["--trust-list", &lists[0], "--trust-list", &lists[1]]);
    let clerk = server.demo_login("district.clerk");
    for (pdf, expected) in [
        (&public.signed, "public"),
        (&government.signed, "government"),
    ] {
        let response = server
            .request(reqwest::Method::POST, "/api/v1/verify", &clerk)
            .header("Content-Type", "application/pdf")
            .body(std::fs::read(pdf).unwrap())
            .send()
            .unwrap();
        let (status, report) = status_json(response);
        assert_eq!(status, 200, "{report}");
        let (signature, _, vi) = judged(&report);
        assert_eq!(signature["trust_domain"], expected, "{report}");
        assert!(
            vi.contains(&format!("danh sách tin cậy {expected}")),
            "{vi}"
        );
    }
}
