//! The seal's enveloped XML Signature: what vanthu signs verifies here and in Debian's
//! `xmlsec1 --verify`, the independent judge; a changed byte is refused with the reason.

mod common;

#[path = "../../../tests/common/tools.rs"]
mod tools;

use std::process::Command;

use common::*;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use tools::Tool;
use vanthu_interchange::*;

fn signed() -> String {
    sign(&package().to_xml().unwrap(), &seal()).unwrap()
}

fn verdict(xml: &str) -> Verdict {
    verify(xml.as_bytes(), &Limits::default(), &[root()])
        .unwrap()
        .verdict
}

/// `xmlsec1 --verify` with the development root as the only trusted certificate: (success,
/// what it printed).
fn xmlsec1(dir: &std::path::Path, xml: &str) -> (bool, String) {
    let file = dir.join("package.edxml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(workspace().join("certs-dev/root-ca.pem"))
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_signed_package_verifies_and_reads_as_before() {
    let xml = signed();
    assert!(xml.contains("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
    let report = verify(xml.as_bytes(), &Limits::default(), &[root()]).unwrap();
    assert_eq!(report.verdict, Verdict::Valid);
    assert_eq!(
        (report.method, report.digest, report.weak),
        (Some("RSA-SHA256"), Some("SHA-256"), false)
    );
    assert!(
        report
            .signer_subject()
            .unwrap()
            .contains("CN=UBND huyện Demo"),
        "{:?}",
        report.signer_subject()
    );
    assert!(report.is_acceptable());
    // The signature changes nothing the reader sees.
    assert_eq!(read_document(xml.as_bytes()).value, package());
    // Without trust anchors the check says intact, not trusted.
    let unchecked = verify(xml.as_bytes(), &Limits::default(), &[]).unwrap();
    assert_eq!(unchecked.verdict, Verdict::IntactUnchecked);
    assert!(!unchecked.is_acceptable());
    // Status packages are signed alike.
    let inspection = inspect(xml.as_bytes(), &Limits::default(), &[root()]).unwrap();
    assert!(matches!(inspection.message, Message::Document(_)));
    assert!(sign(&xml, &seal())
        .unwrap_err()
        .to_string()
        .contains("already signed"));
}

#[test]
fn unsigned_and_tampered_packages_are_refused_with_the_reason() {
    let unsigned = package().to_xml().unwrap();
    assert_eq!(verdict(&unsigned), Verdict::Missing);
    let xml = signed();
    let changed = [
        (
            xml.replacen("Về việc triển khai", "Về việc triển khaj", 1),
            "changed after it was signed",
        ),
        (
            xml.replacen("<edXML:CodeNumber>123<", "<edXML:CodeNumber>124<", 1),
            "changed after it was signed",
        ),
        // One byte of the attachment's base64.
        (
            {
                let at = xml.find("<ContentTransferEncoded>").unwrap() + 30;
                let mut bytes = xml.clone().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                String::from_utf8(bytes).unwrap()
            },
            "changed after it was signed",
        ),
        (
            xml.replacen(
                "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
                "",
                1,
            ),
            "signature value does not match",
        ),
        (
            xml.replacen("xmldsig-more#rsa-sha256", "xmldsig-more#rsa-md5", 1),
            "signature method 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5' is not supported",
        ),
        (
            xml.replacen("<Reference URI=\"\">", "<Reference URI=\"#header\">", 1),
            "does not cover the whole package",
        ),
    ];
    for (tampered, reason) in changed {
        match verdict(&tampered) {
            Verdict::Broken(why) => {
                assert!(why.contains(reason), "expected '{reason}', got '{why}'")
            }
            other => panic!("expected broken ({reason}), got {other:?}"),
        }
    }
}

/// A self-signed RSA certificate: a seal no interchange root vouches for.
fn stranger() -> Seal {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Cơ quan lạ").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    Seal::new(key, vec![b.build()]).unwrap()
}

#[test]
fn a_signature_from_an_unknown_agency_is_untrusted() {
    let xml = sign(&package().to_xml().unwrap(), &stranger()).unwrap();
    match verdict(&xml) {
        Verdict::Untrusted(why) => assert!(why.contains("unknown agency"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Keys that cannot make edXML signatures are refused up front.
    let ec = PKey::private_key_from_pem(
        &std::fs::read(workspace().join("certs-dev/signer-ec.key")).unwrap(),
    )
    .unwrap();
    let cert = openssl::x509::X509::from_pem(
        &std::fs::read(workspace().join("certs-dev/signer-ec.pem")).unwrap(),
    )
    .unwrap();
    assert!(Seal::new(ec, vec![cert])
        .unwrap_err()
        .to_string()
        .contains("RSA"));
    let seal_cert = seal().certificate().clone();
    let other_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    assert!(Seal::new(other_key, vec![seal_cert])
        .unwrap_err()
        .to_string()
        .contains("does not belong"));
}

/// Re-signs the package the way an older sender does (RSA-SHA1 over inclusive C14N with a
/// SHA-1 digest), with xmlsec1, to check that such packages are read and called weak.
#[test]
fn rsa_sha1_from_older_senders_is_read_and_reported_weak() {
    let Some(_tools) = tools::require("rsa_sha1_from_older_senders", &[Tool::Xmlsec1]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let template = package().to_xml().unwrap().replacen(
        "</edXML:edXMLHeader>",
        "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>\
         <CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\
         <SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>\
         <Reference URI=\"\"><Transforms><Transform \
         Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></Transforms>\
         <DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/><DigestValue/>\
         </Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>\
         </edXML:edXMLHeader>",
        1,
    );
    let file = dir.path().join("template.xml");
    std::fs::write(&file, template).unwrap();
    let certs = workspace().join("certs-dev");
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!(
            "{},{}",
            certs.join("seal.key").display(),
            certs.join("seal.pem").display()
        ))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = verify(&out.stdout, &Limits::default(), &[root()]).unwrap();
    // The issuing CA is not in KeyInfo, so the path cannot be built: intact, untrusted.
    assert!(
        matches!(report.verdict, Verdict::Untrusted(_)),
        "{:?}",
        report.verdict
    );
    assert_eq!(
        (report.method, report.digest, report.weak),
        (Some("RSA-SHA1"), Some("SHA-1"), true)
    );
    let mut issuing = Vec::new();
    for name in ["root-ca.pem", "issuing-ca.pem"] {
        issuing.push(
            openssl::x509::X509::from_pem(&std::fs::read(certs.join(name)).unwrap()).unwrap(),
        );
    }
    let report = verify(&out.stdout, &Limits::default(), &issuing).unwrap();
    assert_eq!(report.verdict, Verdict::Valid);
    assert!(report.weak);
}

#[test]
fn xmlsec1_accepts_what_vanthu_signs_and_refuses_a_changed_byte() {
    let Some(_tools) = tools::require("xmlsec1_judges_packages", &[Tool::Xmlsec1]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A document package with a 1 MB attachment and Vietnamese text long enough to cross
    // libxml2's output buffer boundaries, and a status package.
    let mut p = package();
    p.header.content = Some("Nội dung văn bản điện tử có dấu tiếng Việt. ".repeat(40));
    p.attachments[0].data = (0..1_048_576u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let big = sign(&p.to_xml().unwrap(), &seal()).unwrap();
    let status = StatusPackage {
        from: Organ::new(code("000.00.12.H56"), "Sở Nội vụ tỉnh Vĩnh Phúc"),
        response_for: ResponseFor {
            organ_id: code("000.00.31.H56"),
            code: None,
            promulgation_date: None,
            document_id: p.header.document_id.clone(),
        },
        status: vanthu_routing::InterchangeStatus::Accepted,
        description: Some("Đã vào sổ văn bản đến".into()),
        timestamp: chrono::DateTime::parse_from_rfc3339("2026-12-02T11:00:00+07:00").unwrap(),
        staff: None,
    };
    let status = sign(&status.to_xml().unwrap(), &seal()).unwrap();
    for xml in [signed(), big.clone(), status] {
        let (ok, said) = xmlsec1(dir.path(), &xml);
        assert!(ok, "xmlsec1 refused a package vanthu signed: {said}");
        assert!(said.contains("OK"), "{said}");
        assert_eq!(verdict(&xml), Verdict::Valid);
    }
    // A changed byte in the attachment: both refuse, vanthu with the reason.
    let at = big.find("<ContentTransferEncoded>").unwrap() + 500_000;
    let mut bytes = big.into_bytes();
    bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
    let tampered = String::from_utf8(bytes).unwrap();
    let (ok, said) = xmlsec1(dir.path(), &tampered);
    assert!(!ok, "xmlsec1 accepted a changed package: {said}");
    assert!(
        matches!(verdict(&tampered), Verdict::Broken(why) if why.contains("changed after it was signed"))
    );
}
