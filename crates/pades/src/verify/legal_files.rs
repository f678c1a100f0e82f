//! Legal files that other tools produce and the verifier must not call tampered: BER, SHA-1
//! time-stamps, CMS without signed attributes, duplicate unsigned attributes, differently
//! encoded names, nested signature fields, other algorithms, cross-reference quirks. Every
//! input is generated here (openssl CLI, the openssl crate, small byte-level builders).

use super::tests::sign;
use super::*;
use crate::byte_range;
use crate::pdf::testing::simple_pdf;
use crate::pdf::{IncrementalUpdate, PdfString};
use crate::sign::{sign_bytes, SignOptions};
use crate::signer::tests::{dev, rsa_signer};

use ::cms::cert::IssuerAndSerialNumber;
use ::cms::content_info::{CmsVersion, ContentInfo};
use ::cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use spki::AlgorithmIdentifierOwned;

/// Bytes reserved for the CMS in the builder's /Contents: room for a chain and a token.
const RESERVED: usize = 24_000;

fn trusted() -> VerifyOptions {
    VerifyOptions {
        anchors: TrustAnchors::from_path(&dev("root-ca.pem")).unwrap(),
        offline: true,
        now: None,
    }
}

/// How the signature field is laid out in the signing revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldShape {
    /// One dictionary that is both the field and its widget (what most signers write).
    Merged,
    /// A field holding /FT and /V whose only widget kid carries its own /T.
    KidWithName,
}

/// What the byte-level signer writes.
struct Spec<'a> {
    sub_filter: &'a str,
    document_timestamp: bool,
    shape: FieldShape,
    /// How the signing revision ends, inside the signed range.
    end: RevisionEnd,
}

/// The last bytes of a revision, as writers differ there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RevisionEnd {
    /// `startxref N` and `%%EOF`.
    Eof,
    /// `startxref N` and no `%%EOF` marker.
    NoEof,
    /// `%%EOF` and this many NUL bytes of padding.
    Padded(usize),
}

impl Spec<'static> {
    fn pades() -> Self {
        Self {
            sub_filter: "ETSI.CAdES.detached",
            document_timestamp: false,
            shape: FieldShape::Merged,
            end: RevisionEnd::Eof,
        }
    }

    fn pkcs7() -> Self {
        Self {
            sub_filter: "adbe.pkcs7.detached",
            ..Self::pades()
        }
    }

    fn document_timestamp() -> Self {
        Self {
            sub_filter: "ETSI.RFC3161",
            document_timestamp: true,
            ..Self::pades()
        }
    }
}

/// Appends a signing revision to `base` (an invisible signature field on the first page) whose
/// /Contents is what `make_cms` returns for the bytes the /ByteRange covers.
fn sign_raw(base: &[u8], spec: &Spec<'_>, make_cms: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let reader = Reader::new(base).unwrap();
    let mut update = IncrementalUpdate::new(&reader).unwrap();
    let (root_id, mut catalog) = reader.catalog().unwrap();
    let page_id = reader.pages().unwrap()[0];
    let mut page = reader.resolve_dict(&Object::Reference(page_id)).unwrap();
    let n = reader.fields().unwrap().len();

    let sig_id = update.allocate();
    let mut sig = Dictionary::new();
    let kind = if spec.document_timestamp {
        "DocTimeStamp"
    } else {
        "Sig"
    };
    sig.set("Type", Object::name(kind));
    sig.set("Filter", Object::name("Adobe.PPKLite"));
    sig.set("SubFilter", Object::name(spec.sub_filter));
    if !spec.document_timestamp {
        sig.set("M", PdfString::literal("D:20260101090000+07'00'"));
    }
    byte_range::reserve(&mut update, sig_id, sig, RESERVED);

    let mut widget = Dictionary::new();
    widget.set("Type", Object::name("Annot"));
    widget.set("Subtype", Object::name("Widget"));
    widget.set("Rect", vec![Object::from(0), 0.into(), 0.into(), 0.into()]);
    widget.set("F", 132);
    widget.set("P", page_id);
    let (field_id, widget_id) = match spec.shape {
        FieldShape::Merged => {
            widget.set("FT", Object::name("Sig"));
            widget.set("T", PdfString::text(&format!("Signature{}", n + 1)));
            widget.set("V", sig_id);
            let id = update.add(widget);
            (id, id)
        }
        FieldShape::KidWithName => {
            let field_id = update.allocate();
            let widget_id = update.allocate();
            widget.set("T", PdfString::text("Widget"));
            widget.set("Parent", field_id);
            update.set(widget_id, widget);
            let mut field = Dictionary::new();
            field.set("FT", Object::name("Sig"));
            field.set("T", PdfString::text(&format!("Signature{}", n + 1)));
            field.set("V", sig_id);
            field.set("Kids", vec![Object::Reference(widget_id)]);
            update.set(field_id, field);
            (field_id, widget_id)
        }
    };
    let mut annots = page
        .get("Annots")
        .and_then(|a| reader.resolve(a).ok())
        .and_then(|a| a.as_array().cloned())
        .unwrap_or_default();
    annots.push(Object::Reference(widget_id));
    page.set("Annots", annots);
    update.set(page_id, page);

    let mut form = catalog
        .get("AcroForm")
        .and_then(|f| reader.resolve_dict(f).ok())
        .unwrap_or_default();
    let mut fields = form
        .get("Fields")
        .and_then(|f| reader.resolve(f).ok())
        .and_then(|f| f.as_array().cloned())
        .unwrap_or_default();
    fields.push(Object::Reference(field_id));
    form.set("Fields", fields);
    form.set("SigFlags", 3);
    catalog.set("AcroForm", form);
    update.set(root_id, catalog);

    let mut written = update.write().unwrap();
    match spec.end {
        RevisionEnd::Eof => {}
        RevisionEnd::NoEof => {
            assert!(written.bytes.ends_with(b"%%EOF\n"));
            let len = written.bytes.len() - 6;
            written.bytes.truncate(len);
        }
        RevisionEnd::Padded(n) => written.bytes.extend(std::iter::repeat_n(0u8, n)),
    }
    byte_range::patch_byte_range(&mut written).unwrap();
    let (before, after) = byte_range::signed_parts(&written).unwrap();
    let mut signed = base.to_vec();
    signed.extend_from_slice(before);
    signed.extend_from_slice(after);
    let der = make_cms(&signed);
    byte_range::patch_contents(&mut written, &der).unwrap();
    let mut out = base.to_vec();
    out.extend_from_slice(&written.bytes);
    out
}

/// A PAdES B-B signature by the development signer, as `vanthu sign` makes it.
fn pades_cms(signed: &[u8]) -> Vec<u8> {
    let signer = rsa_signer();
    cms::build_signed_data(&signer, &DigestAlgorithm::Sha256.digest(signed)).unwrap()
}

/// Runs the openssl command line in `dir`; `None` (test skipped) when it is not installed,
/// unless VANTHU_REQUIRE_TOOLS=1 says it must be.
fn openssl_cli(dir: &std::path::Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = match std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            assert!(
                std::env::var("VANTHU_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "openssl command missing"
            );
            eprintln!("SKIPPED: openssl command not found");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// An RFC 3161 token from `openssl ts -reply`, acting as the development TSA: the imprint of
/// `data` made with `imprint` and the token signed with `signer_digest` (OpenSSL names such
/// as `sha1`, `sha256`).
fn openssl_ts_token(data: &[u8], imprint: &str, signer_digest: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dev(name).to_str().unwrap().to_string();
    std::fs::write(dir.path().join("data.bin"), data).unwrap();
    std::fs::write(dir.path().join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.path().join("ts.cnf"),
        format!(
            "[tsa]\ndefault_tsa = dev\n[dev]\nserial = serial\nsigner_cert = {}\n\
             certs = {}\nsigner_key = {}\nsigner_digest = {signer_digest}\n\
             default_policy = 0.4.0.2023.1.1\ndigests = sha1, sha256, sha384, sha512\n\
             accuracy = secs:1\ness_cert_id_alg = sha256\n",
            path("tsa.pem"),
            path("issuing-ca.pem"),
            path("tsa.key"),
        ),
    )
    .unwrap();
    let md = format!("-{imprint}");
    openssl_cli(
        dir.path(),
        &[
            "ts", "-query", "-data", "data.bin", &md, "-cert", "-out", "q.tsq",
        ],
    )?;
    openssl_cli(
        dir.path(),
        &[
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            "q.tsq",
            "-token_out",
            "-out",
            "token.der",
        ],
    )?;
    Some(std::fs::read(dir.path().join("token.der")).unwrap())
}

/// A PAdES signature by the development signer carrying `token` for its signature value, or
/// `None` when `token` cannot be made (openssl missing).
fn pades_with_token(token: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    let mut made = true;
    let pdf = sign_raw(&simple_pdf(), &Spec::pades(), |signed| {
        let cms = pades_cms(signed);
        match token(&cms::signature_value(&cms).unwrap()) {
            Some(t) => cms::add_signature_timestamp(&cms, &t).unwrap(),
            None => {
                made = false;
                cms
            }
        }
    });
    made.then_some(pdf)
}

/// One DER TLV with a one-byte tag.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// `cms_der` (DER, one SignerInfo) with its unsigned attributes replaced by `attributes`, each
/// a complete Attribute encoding, written as they are: the byte-level form lets a test put in
/// what typed encoders refuse (duplicates, BER).
fn with_unsigned_attributes(cms_der: &[u8], attributes: &[Vec<u8>]) -> Vec<u8> {
    let (ci, _) = cms::read_tlv(cms_der).unwrap();
    let ci_parts = cms::read_all(ci.content).unwrap();
    let (sd, _) = cms::read_tlv(ci_parts[1].content).unwrap();
    let mut sd_fields = cms::read_all(sd.content).unwrap();
    let infos = sd_fields.pop().unwrap();
    assert_eq!(infos.tag, 0x31);
    let (info, _) = cms::read_tlv(infos.content).unwrap();
    let mut info_content: Vec<u8> = cms::read_all(info.content)
        .unwrap()
        .into_iter()
        .filter(|f| f.tag != 0xa1)
        .flat_map(|f| f.raw.to_vec())
        .collect();
    info_content.extend(tlv(0xa1, &attributes.concat()));
    let mut sd_content: Vec<u8> = sd_fields.iter().flat_map(|f| f.raw.to_vec()).collect();
    sd_content.extend(tlv(0x31, &tlv(0x30, &info_content)));
    let mut ci_content = ci_parts[0].raw.to_vec();
    ci_content.extend(tlv(0xa0, &tlv(0x30, &sd_content)));
    tlv(0x30, &ci_content)
}

/// An Attribute with `oid` (dotted) and these values, each a complete encoding.
fn attribute(oid: &str, values: &[&[u8]]) -> Vec<u8> {
    let oid = der::oid::ObjectIdentifier::new_unwrap(oid)
        .to_der()
        .unwrap();
    let mut content = oid;
    content.extend(tlv(0x31, &values.concat()));
    tlv(0x30, &content)
}

const SIGNATURE_TIME_STAMP: &str = "1.2.840.113549.1.9.16.2.14";

/// Length of the BER value at the front of `b` (definite or indefinite).
fn ber_span(b: &[u8]) -> usize {
    match b[1] {
        0x80 => {
            let mut pos = 2;
            while b[pos..pos + 2] != [0, 0] {
                pos += ber_span(&b[pos..]);
            }
            pos + 2
        }
        n if n < 0x80 => 2 + usize::from(n),
        n => {
            let k = usize::from(n & 0x7f);
            2 + k
                + b[2..2 + k]
                    .iter()
                    .fold(0, |a, x| (a << 8) | usize::from(*x))
        }
    }
}

/// A TSTInfo for a SHA-256 imprint, as an RFC 3161 authority writes it.
fn tst_info(imprint: &[u8]) -> Vec<u8> {
    use x509_tsp::{MessageImprint, TspVersion, TstInfo};
    TstInfo {
        version: TspVersion::V1,
        policy: crate::tsa::DEFAULT_POLICY,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: HashAlgorithm::Sha256.oid(),
                parameters: None,
            },
            hashed_message: OctetString::new(imprint).unwrap(),
        },
        serial_number: der::asn1::Int::new(&[0x01, 0x23]).unwrap(),
        gen_time: der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
            Utc::now().timestamp() as u64,
        ))
        .unwrap(),
        accuracy: None,
        ordering: false,
        nonce: None,
        tsa: None,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

/// A time-stamp token over `imprint` that `openssl cms -sign -stream` signs as the development
/// TSA: BER with indefinite lengths and the TSTInfo as a fragmented OCTET STRING.
fn streamed_token(imprint: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dev(name).to_str().unwrap().to_string();
    std::fs::write(dir.path().join("tst.der"), tst_info(imprint)).unwrap();
    openssl_cli(
        dir.path(),
        &[
            "cms",
            "-sign",
            "-binary",
            "-stream",
            "-nodetach",
            "-econtent_type",
            "1.2.840.113549.1.9.16.1.4",
            "-in",
            "tst.der",
            "-signer",
            &path("tsa.pem"),
            "-inkey",
            &path("tsa.key"),
            "-certfile",
            &path("issuing-ca.pem"),
            "-outform",
            "DER",
            "-out",
            "token.der",
        ],
    )?;
    let token = std::fs::read(dir.path().join("token.der")).unwrap();
    assert_eq!(&token[..2], [0x30, 0x80], "not BER");
    assert!(
        token.windows(2).any(|w| w == [0x24, 0x80]),
        "not fragmented"
    );
    Some(token)
}

fn read_dev(name: &str) -> Vec<u8> {
    std::fs::read(dev(name)).unwrap()
}

fn issuing_ca() -> (X509, PKey<Private>) {
    (
        X509::from_pem(&read_dev("issuing-ca.pem")).unwrap(),
        PKey::private_key_from_pem(&read_dev("issuing-ca.key")).unwrap(),
    )
}

/// A document-signing certificate for `key`, issued by the development issuing CA (which
/// chains to the trusted development root).
fn issue(key: &PKey<Private>, common_name: &str) -> X509 {
    let (ca, ca_key) = issuing_ca();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "VN").unwrap();
    name.append_entry_by_text("CN", common_name).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial: [u8; 12] = rand::random();
    let serial = openssl::bn::BigNum::from_slice(&serial).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let usage = openssl::x509::extension::KeyUsage::new()
        .critical()
        .digital_signature()
        .non_repudiation()
        .build()
        .unwrap();
    b.append_extension(usage).unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    b.build()
}

fn algorithm(oid: &str, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: der::oid::ObjectIdentifier::new_unwrap(oid),
        parameters,
    }
}

/// What [`signed_data`] puts in a detached SignedData.
struct CmsSpec<'a> {
    /// The signer's certificate.
    cert: &'a X509,
    /// Certificates after the signer's (the development issuing CA unless said otherwise).
    chain: Vec<X509>,
    /// The message digest and its identifier.
    digest: (AlgorithmIdentifierOwned, HashAlgorithm),
    signature_algorithm: AlgorithmIdentifierOwned,
    /// The PAdES signed attributes, or none at all (the signature then covers the content).
    attributes: bool,
    /// The issuer Name (DER) in the SignerInfo, when not the certificate's own bytes.
    sid_issuer: Option<Vec<u8>>,
}

impl<'a> CmsSpec<'a> {
    fn new(
        cert: &'a X509,
        digest: (AlgorithmIdentifierOwned, HashAlgorithm),
        signature_algorithm: AlgorithmIdentifierOwned,
    ) -> Self {
        Self {
            cert,
            chain: vec![issuing_ca().0],
            digest,
            signature_algorithm,
            attributes: true,
            sid_issuer: None,
        }
    }
}

/// A detached SignedData over `content` as `spec` says, the signature value computed by
/// `sign` over the DER signed attributes (or the content).
fn signed_data(spec: &CmsSpec<'_>, sign: impl Fn(&[u8]) -> Vec<u8>, content: &[u8]) -> Vec<u8> {
    let cert_der = spec.cert.to_der().unwrap();
    let attrs = cms::pades_signed_attributes(
        &cert_der,
        DigestAlgorithm::Sha256,
        &spec.digest.1.digest(content),
        cms::ID_DATA,
    )
    .unwrap();
    let signature = if spec.attributes {
        sign(&attrs.to_der().unwrap())
    } else {
        sign(content)
    };
    let leaf = x509_cert::Certificate::from_der(&cert_der).unwrap();
    let issuer = match &spec.sid_issuer {
        Some(name) => x509_cert::name::Name::from_der(name).unwrap(),
        None => leaf.tbs_certificate.issuer.clone(),
    };
    let mut certificates = vec![::cms::cert::CertificateChoices::Certificate(leaf.clone())];
    for c in &spec.chain {
        let c = x509_cert::Certificate::from_der(&c.to_der().unwrap()).unwrap();
        certificates.push(::cms::cert::CertificateChoices::Certificate(c));
    }
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: spec.digest.0.clone(),
        signed_attrs: spec.attributes.then_some(attrs),
        signature_algorithm: spec.signature_algorithm.clone(),
        signature: OctetString::new(signature).unwrap(),
        unsigned_attrs: None,
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![spec.digest.0.clone()]).unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: cms::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(certificates).unwrap()),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![info]).unwrap(),
    };
    ContentInfo {
        content_type: cms::ID_SIGNED_DATA,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// Signs `data` with `key`: hashed with `md`, or pure (EdDSA) without one; PSS salts as long
/// as the digest.
fn raw_signature(
    key: &PKey<Private>,
    md: Option<MessageDigest>,
    pss: bool,
    data: &[u8],
) -> Vec<u8> {
    let mut s = match md {
        Some(md) => openssl::sign::Signer::new(md, key).unwrap(),
        None => openssl::sign::Signer::new_without_digest(key).unwrap(),
    };
    if pss {
        s.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
        s.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
            .unwrap();
        s.set_rsa_mgf1_md(md.unwrap()).unwrap();
    }
    s.sign_oneshot_to_vec(data).unwrap()
}

fn ec_key(curve: openssl::nid::Nid) -> PKey<Private> {
    let group = openssl::ec::EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap()
}

fn report_of(pdf: &[u8]) -> Report {
    verify_bytes(pdf, &trusted()).unwrap()
}

/// Each signature's line in a summary (the first line is the verdict).
fn signature_lines(summary: &str) -> Vec<&str> {
    summary.lines().skip(1).collect()
}

/// Every warning the English summary quotes must be in the Vietnamese one, translated.
fn assert_summaries_carry_the_same_warnings(report: &Report) -> usize {
    let en = signature_lines(&report.summary_en);
    let vi = signature_lines(&report.summary_vi);
    assert_eq!(en.len(), report.signatures.len(), "{}", report.summary_en);
    assert_eq!(vi.len(), report.signatures.len(), "{}", report.summary_vi);
    assert_eq!(
        report
            .signatures
            .iter()
            .map(|s| s.problems.len())
            .sum::<usize>(),
        report
            .signatures
            .iter()
            .map(|s| s.problems_vi.len())
            .sum::<usize>()
    );
    let mut quoted = 0;
    for (i, sig) in report.signatures.iter().enumerate() {
        for (k, warning) in sig.problems.iter().enumerate() {
            if !en[i].contains(warning.as_str()) {
                continue;
            }
            quoted += 1;
            let translated = &sig.problems_vi[k];
            assert_ne!(translated, warning, "not translated");
            assert!(
                vi[i].contains(translated.as_str()),
                "the Vietnamese summary lacks {translated:?} (English: {warning:?}):\n{}",
                report.summary_vi
            );
        }
    }
    quoted
}

/// The report on `pdf`, which must be valid with its first signature intact and trusted.
#[track_caller]
fn valid_and_trusted(pdf: &[u8], case: &dyn std::fmt::Display) -> Report {
    let report = report_of(pdf);
    let s = &report.signatures[0];
    assert_eq!(
        report.verdict,
        Verdict::Valid,
        "{case}: {}",
        report.to_json()
    );
    assert_eq!((s.intact, s.trusted), (true, true), "{case}");
    report
}

#[test]
fn vietnamese_summary_carries_every_warning_of_the_english_one() {
    let signed = sign(&simple_pdf(), "Signature1", false);
    let mut tampered = signed.clone();
    let at = tampered.windows(5).position(|w| w == b"BT ET").unwrap();
    tampered[at] = b'X';
    let reader = Reader::new(signed.as_slice()).unwrap();
    let (prev, size) = (
        reader.startxref(),
        reader.trailer().get_int("Size").unwrap(),
    );
    let mut changed = signed.clone();
    let obj = changed.len();
    changed.extend_from_slice(b"4 0 obj\n<< /Length 5 >>\nstream\nQ q Q\nendstream\nendobj\n");
    let xref = changed.len();
    changed.extend_from_slice(
        format!(
            "xref\n4 1\n{obj:010} 00000 n \ntrailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let untrusted = verify_bytes(
        &signed,
        &VerifyOptions {
            offline: true,
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    let cases = [
        (report_of(&signed), Verdict::Valid),
        (untrusted, Verdict::Untrusted),
        (report_of(&tampered), Verdict::Invalid),
        (report_of(&changed), Verdict::Modified),
    ];
    for (report, verdict) in cases {
        assert_eq!(report.verdict, verdict, "{}", report.to_json());
        let quoted = assert_summaries_carry_the_same_warnings(&report);
        assert!(quoted > 0, "no warning quoted: {}", report.summary_en);
    }
    // The soft-fail note of a valid signature, named in the issue.
    let valid = report_of(&signed);
    assert!(
        valid.summary_en.contains("checked soft-fail"),
        "{}",
        valid.summary_en
    );
    assert!(
        valid.summary_vi.contains("soft-fail"),
        "{}",
        valid.summary_vi
    );
}

#[test]
fn summaries_show_time_stamp_times_in_indochina_time() {
    let signed = sign_bytes(
        &simple_pdf(),
        &rsa_signer(),
        &SignOptions {
            field_name: Some("Signature1".into()),
            level: crate::sign::Level::BT,
            tsa_url: Some(crate::tsa::tests::spawn_http_tsa()),
            ..SignOptions::default()
        },
    )
    .unwrap()
    .0;
    let report = report_of(&signed);
    let utc = report.signatures[0].timestamp_time.clone().unwrap();
    assert!(utc.ends_with('Z'), "{utc}");
    let local = DateTime::parse_from_rfc3339(&utc)
        .unwrap()
        .with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    for summary in [&report.summary_en, &report.summary_vi] {
        assert!(summary.contains(&local), "{local} missing from {summary}");
        assert!(!summary.contains(&utc), "{summary}");
    }
}

/// A key and the algorithms a signature made with it names.
struct AlgorithmCase {
    name: &'static str,
    key: PKey<Private>,
    /// The message digest and its identifier.
    digest: (AlgorithmIdentifierOwned, HashAlgorithm),
    signature_algorithm: AlgorithmIdentifierOwned,
    /// The hash inside the signature (none for EdDSA) and whether it is RSASSA-PSS.
    md: Option<MessageDigest>,
    pss: bool,
}

#[test]
fn eddsa_sha3_and_brainpool_signatures_verify() {
    use openssl::nid::Nid;
    let digest = |h: HashAlgorithm| (algorithm(&h.oid().to_string(), None), h);
    let rsa = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let pss_params = |h: HashAlgorithm| {
        let id = algorithm(&h.oid().to_string(), None);
        Any::encode_from(&cms::RsaPssParams {
            hash: Some(id.clone()),
            mask_gen: Some(algorithm(
                "1.2.840.113549.1.1.8",
                Some(Any::encode_from(&id).unwrap()),
            )),
            salt_length: Some(h.output_len() as u32),
            trailer_field: None,
        })
        .unwrap()
    };
    let shake256_len = algorithm(
        "2.16.840.1.101.3.4.2.18",
        Some(Any::encode_from(&512u32).unwrap()),
    );
    let cases = [
        AlgorithmCase {
            name: "Ed25519",
            key: PKey::generate_ed25519().unwrap(),
            digest: digest(HashAlgorithm::Sha512),
            signature_algorithm: algorithm("1.3.101.112", None),
            md: None,
            pss: false,
        },
        AlgorithmCase {
            name: "Ed448 (id-shake256-len, RFC 8419)",
            key: PKey::generate_ed448().unwrap(),
            digest: (shake256_len, HashAlgorithm::Shake256),
            signature_algorithm: algorithm("1.3.101.113", None),
            md: None,
            pss: false,
        },
        AlgorithmCase {
            name: "Ed448 (id-shake256, RFC 8702)",
            key: PKey::generate_ed448().unwrap(),
            digest: digest(HashAlgorithm::Shake256),
            signature_algorithm: algorithm("1.3.101.113", None),
            md: None,
            pss: false,
        },
        AlgorithmCase {
            name: "RSA PKCS#1 v1.5 with SHA3-256",
            key: rsa.clone(),
            digest: digest(HashAlgorithm::Sha3_256),
            signature_algorithm: algorithm("2.16.840.1.101.3.4.3.14", None),
            md: Some(MessageDigest::sha3_256()),
            pss: false,
        },
        AlgorithmCase {
            name: "RSA PKCS#1 v1.5 with SHA3-384 over a SHA-256 digest",
            key: rsa.clone(),
            digest: digest(HashAlgorithm::Sha256),
            signature_algorithm: algorithm("2.16.840.1.101.3.4.3.15", None),
            md: Some(MessageDigest::sha3_384()),
            pss: false,
        },
        AlgorithmCase {
            name: "RSASSA-PSS with SHA3-512",
            key: rsa.clone(),
            digest: digest(HashAlgorithm::Sha3_512),
            signature_algorithm: algorithm(
                "1.2.840.113549.1.1.10",
                Some(pss_params(HashAlgorithm::Sha3_512)),
            ),
            md: Some(MessageDigest::sha3_512()),
            pss: true,
        },
        AlgorithmCase {
            name: "ECDSA P-256 with SHA3-256",
            key: ec_key(Nid::X9_62_PRIME256V1),
            digest: digest(HashAlgorithm::Sha3_256),
            signature_algorithm: algorithm("2.16.840.1.101.3.4.3.10", None),
            md: Some(MessageDigest::sha3_256()),
            pss: false,
        },
        AlgorithmCase {
            name: "ECDSA P-384 with SHA3-384",
            key: ec_key(Nid::SECP384R1),
            digest: digest(HashAlgorithm::Sha3_384),
            signature_algorithm: algorithm("2.16.840.1.101.3.4.3.11", None),
            md: Some(MessageDigest::sha3_384()),
            pss: false,
        },
        AlgorithmCase {
            name: "ECDSA brainpoolP256r1 with SHA-256",
            key: ec_key(Nid::BRAINPOOL_P256R1),
            digest: digest(HashAlgorithm::Sha256),
            signature_algorithm: algorithm("1.2.840.10045.4.3.2", None),
            md: Some(MessageDigest::sha256()),
            pss: false,
        },
        AlgorithmCase {
            name: "ECDSA brainpoolP384r1 with SHA-384",
            key: ec_key(Nid::BRAINPOOL_P384R1),
            digest: digest(HashAlgorithm::Sha384),
            signature_algorithm: algorithm("1.2.840.10045.4.3.3", None),
            md: Some(MessageDigest::sha384()),
            pss: false,
        },
        AlgorithmCase {
            name: "ECDSA brainpoolP512r1 with SHA3-512",
            key: ec_key(Nid::BRAINPOOL_P512R1),
            digest: digest(HashAlgorithm::Sha3_512),
            signature_algorithm: algorithm("2.16.840.1.101.3.4.3.12", None),
            md: Some(MessageDigest::sha3_512()),
            pss: false,
        },
    ];
    for AlgorithmCase {
        name: case,
        key,
        digest,
        signature_algorithm,
        md,
        pss,
    } in cases
    {
        let cert = issue(&key, case);
        let spec = CmsSpec::new(&cert, digest.clone(), signature_algorithm);
        let pdf = sign_raw(&simple_pdf(), &Spec::pades(), |content| {
            signed_data(&spec, |attrs| raw_signature(&key, md, pss, attrs), content)
        });
        let report = valid_and_trusted(&pdf, &case);
        let s = &report.signatures[0];
        assert_eq!(
            s.digest_algorithm.as_deref(),
            Some(digest.1.name()),
            "{case}"
        );
        assert_eq!(s.level, Some(PadesLevel::BB), "{case}");

        // The same signature over other bytes is caught, so the check is real.
        let mut changed = pdf.clone();
        let at = changed.windows(5).position(|w| w == b"BT ET").unwrap();
        changed[at] = b'X';
        assert_eq!(report_of(&changed).verdict, Verdict::Invalid, "{case}");
    }
}

/// The findings of a signature whose time-stamp is refused by the algorithm policy: intact,
/// no proof of time, INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE naming the algorithm.
fn assert_policy_result_not_tampering(report: &Report, algorithm: &str) {
    let s = &report.signatures[0];
    let json = report.to_json();
    assert!(s.intact, "{json}");
    assert_eq!(s.status, Verdict::Untrusted, "{json}");
    assert_eq!(
        (s.indication, s.sub_indication),
        (
            Indication::Indeterminate,
            Some(SubIndication::CryptoConstraintsFailure)
        ),
        "{json}"
    );
    assert!(s.problems[0].contains(algorithm), "{json}");
    assert!(!s.problems.iter().any(|p| p.contains("changed")), "{json}");
    assert!(
        !report.summary_en.contains("BROKEN"),
        "{}",
        report.summary_en
    );
}

#[test]
fn sha1_in_a_time_stamp_is_a_policy_result_not_tampering() {
    // The control: the same authority and tool with SHA-256 give a trusted B-T signature.
    let Some(good) = pades_with_token(|value| openssl_ts_token(value, "sha256", "sha256")) else {
        return;
    };
    let report = report_of(&good);
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert_eq!(report.signatures[0].level, Some(PadesLevel::BT));

    // SHA-1 message imprint; SHA-1 token signature.
    for (imprint, signer_digest) in [("sha1", "sha256"), ("sha256", "sha1")] {
        let pdf =
            pades_with_token(|value| openssl_ts_token(value, imprint, signer_digest)).unwrap();
        let report = report_of(&pdf);
        assert_policy_result_not_tampering(&report, "SHA-1");
        let s = &report.signatures[0];
        // No trusted proof of time from that token: judged now, at B-B.
        assert_eq!(s.timestamp_time, None, "{imprint}/{signer_digest}");
        assert_eq!(s.level, Some(PadesLevel::BB), "{imprint}/{signer_digest}");
    }

    // A SHA-1 token over something else is still caught: SHA-1 is checked, only not trusted.
    let pdf = pades_with_token(|_| openssl_ts_token(b"other bytes", "sha1", "sha256")).unwrap();
    let s = &report_of(&pdf).signatures[0];
    assert_eq!(s.sub_indication, Some(SubIndication::HashFailure));

    // A document time-stamp with a SHA-1 imprint and token signature.
    let mut made = true;
    let pdf = sign_raw(&simple_pdf(), &Spec::document_timestamp(), |signed| {
        openssl_ts_token(signed, "sha1", "sha1").unwrap_or_else(|| {
            made = false;
            Vec::new()
        })
    });
    if made {
        let report = report_of(&pdf);
        assert_eq!(report.signatures[0].kind, SignatureKind::DocumentTimestamp);
        assert_policy_result_not_tampering(&report, "SHA-1");
    }
}

#[test]
fn ber_time_stamps_and_cms_decode() {
    // A signature time-stamp streamed by OpenSSL inside a DER signature.
    let mut made = true;
    let pdf = sign_raw(&simple_pdf(), &Spec::pades(), |signed| {
        let cms = pades_cms(signed);
        let value = cms::signature_value(&cms).unwrap();
        match streamed_token(&HashAlgorithm::Sha256.digest(&value)) {
            Some(token) => {
                with_unsigned_attributes(&cms, &[attribute(SIGNATURE_TIME_STAMP, &[&token])])
            }
            None => {
                made = false;
                cms
            }
        }
    });
    if !made {
        return;
    }
    let report = report_of(&pdf);
    let s = &report.signatures[0];
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert_eq!(s.level, Some(PadesLevel::BT), "{}", report.to_json());
    assert!(s.timestamp_time.is_some());

    // A document time-stamp streamed the same way.
    let pdf = sign_raw(&simple_pdf(), &Spec::document_timestamp(), |signed| {
        streamed_token(&HashAlgorithm::Sha256.digest(signed)).unwrap()
    });
    let report = report_of(&pdf);
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert_eq!(report.signatures[0].kind, SignatureKind::DocumentTimestamp);

    // A whole signature streamed by `openssl cms -sign -stream` (ISO 32000 adbe.pkcs7.detached):
    // indefinite lengths throughout; the streamed copy of the content is cut out, since a PDF
    // signature is detached.
    let pdf = sign_raw(&simple_pdf(), &Spec::pkcs7(), |signed| {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dev(name).to_str().unwrap().to_string();
        std::fs::write(dir.path().join("signed.bin"), signed).unwrap();
        openssl_cli(
            dir.path(),
            &[
                "cms",
                "-sign",
                "-binary",
                "-stream",
                "-in",
                "signed.bin",
                "-signer",
                &path("signer-rsa.pem"),
                "-inkey",
                &path("signer-rsa.key"),
                "-certfile",
                &path("issuing-ca.pem"),
                "-outform",
                "DER",
                "-out",
                "sig.der",
            ],
        )
        .unwrap();
        let mut ber = std::fs::read(dir.path().join("sig.der")).unwrap();
        let id_data = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
        ];
        let at = ber
            .windows(id_data.len())
            .position(|w| w == id_data)
            .unwrap()
            + id_data.len();
        assert_eq!(ber[at], 0xa0, "eContent");
        let span = ber_span(&ber[at..]);
        ber.drain(at..at + span);
        assert_eq!(&ber[..2], [0x30, 0x80], "not BER");
        ber
    });
    let report = report_of(&pdf);
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert!(report.signatures[0].intact);
}

/// A token from the development authority over the digest of `signature_value`.
fn dev_token(signature_value: &[u8]) -> Vec<u8> {
    let imprint = DigestAlgorithm::Sha256.digest(signature_value);
    let nonce = [7u8; 8];
    let request = crate::tsa::build_request(DigestAlgorithm::Sha256, &imprint, &nonce).unwrap();
    let response = crate::tsa::tests::dev_authority().respond(&request);
    crate::tsa::check_response(&response, DigestAlgorithm::Sha256, &imprint, &nonce).unwrap()
}

#[test]
fn duplicate_unsigned_attribute_values_do_not_break_the_signature() {
    // RevocationValues ::= SEQUENCE { crlVals [0] SEQUENCE OF CertificateList, ... }
    let crl = read_dev("issuing-ca.crl");
    let crl = openssl::x509::X509Crl::from_pem(&crl)
        .map(|c| c.to_der().unwrap())
        .unwrap_or(crl);
    let revocation_values = tlv(0x30, &tlv(0xa0, &tlv(0x30, &crl)));
    const REVOCATION_VALUES: &str = "1.2.840.113549.1.9.16.2.24";
    // Each case builds the unsigned attributes from a token and a RevocationValues value.
    type Attributes = fn(&[u8], &[u8]) -> Vec<Vec<u8>>;
    let cases: [(&str, Attributes); 4] = [
        (
            "one token attribute holding the same token twice",
            |t, _| vec![attribute(SIGNATURE_TIME_STAMP, &[t, t])],
        ),
        ("the token attribute twice", |t, _| {
            vec![
                attribute(SIGNATURE_TIME_STAMP, &[t]),
                attribute(SIGNATURE_TIME_STAMP, &[t]),
            ]
        }),
        ("a revocation-values attribute twice", |t, r| {
            vec![
                attribute(SIGNATURE_TIME_STAMP, &[t]),
                attribute(REVOCATION_VALUES, &[r]),
                attribute(REVOCATION_VALUES, &[r]),
            ]
        }),
        (
            "a revocation-values attribute holding one value twice",
            |t, r| {
                vec![
                    attribute(REVOCATION_VALUES, &[r, r]),
                    attribute(SIGNATURE_TIME_STAMP, &[t]),
                ]
            },
        ),
    ];
    for (case, attributes) in cases {
        let pdf = sign_raw(&simple_pdf(), &Spec::pades(), |signed| {
            let cms = pades_cms(signed);
            let token = dev_token(&cms::signature_value(&cms).unwrap());
            with_unsigned_attributes(&cms, &attributes(&token, &revocation_values))
        });
        let report = report_of(&pdf);
        assert_eq!(
            report.verdict,
            Verdict::Valid,
            "{case}: {}",
            report.to_json()
        );
        assert_eq!(report.signatures[0].level, Some(PadesLevel::BT), "{case}");
    }
}

#[test]
fn cms_without_signed_attributes_verifies_over_the_document() {
    let path = |name: &str| dev(name).to_str().unwrap().to_string();
    let mut pdfs = Vec::new();
    // `openssl cms -sign -noattr`: RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA.
    for (cert, key, options) in [
        ("signer-rsa.pem", "signer-rsa.key", &[][..]),
        (
            "signer-rsa.pem",
            "signer-rsa.key",
            &["-keyopt", "rsa_padding_mode:pss"][..],
        ),
        ("signer-ec.pem", "signer-ec.key", &[][..]),
    ] {
        let mut made = true;
        let pdf = sign_raw(&simple_pdf(), &Spec::pkcs7(), |signed| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("signed.bin"), signed).unwrap();
            let mut args = vec![
                "cms".to_string(),
                "-sign".into(),
                "-noattr".into(),
                "-binary".into(),
                "-in".into(),
                "signed.bin".into(),
                "-signer".into(),
                path(cert),
                "-inkey".into(),
                path(key),
                "-certfile".into(),
                path("issuing-ca.pem"),
                "-outform".into(),
                "DER".into(),
                "-out".into(),
                "sig.der".into(),
            ];
            args.extend(options.iter().map(|o| o.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if openssl_cli(dir.path(), &args).is_none() {
                made = false;
                return Vec::new();
            }
            std::fs::read(dir.path().join("sig.der")).unwrap()
        });
        if !made {
            return;
        }
        pdfs.push((format!("{key} {options:?}"), pdf));
    }
    // Ed25519 signs the document bytes themselves (RFC 8419 pure mode).
    let key = PKey::generate_ed25519().unwrap();
    let cert = issue(&key, "Ed25519 without signed attributes");
    let spec = CmsSpec {
        attributes: false,
        ..CmsSpec::new(
            &cert,
            (
                algorithm("2.16.840.1.101.3.4.2.3", None),
                HashAlgorithm::Sha512,
            ),
            algorithm("1.3.101.112", None),
        )
    };
    let pdf = sign_raw(&simple_pdf(), &Spec::pkcs7(), |content| {
        signed_data(
            &spec,
            |data| raw_signature(&key, None, false, data),
            content,
        )
    });
    pdfs.push(("Ed25519".into(), pdf));

    for (case, pdf) in pdfs {
        let parsed = {
            let reader = Reader::new(pdf.as_slice()).unwrap();
            let field = reader.fields().unwrap().remove(0);
            let sig = reader.resolve_dict(field.dict.get("V").unwrap()).unwrap();
            let contents = sig
                .get("Contents")
                .unwrap()
                .as_string()
                .unwrap()
                .bytes
                .clone();
            ParsedSignedData::parse(&contents).unwrap()
        };
        assert!(parsed.signer.signed_attrs_der.is_none(), "{case}");
        let report = valid_and_trusted(&pdf, &case);
        let s = &report.signatures[0];
        // Not PAdES, and the report says so in both languages.
        assert_eq!(s.level, None, "{case}");
        assert!(s.problems[0].contains("not a PAdES signature"), "{case}");
        assert!(assert_summaries_carry_the_same_warnings(&report) > 0);

        let mut changed = pdf.clone();
        let at = changed.windows(5).position(|w| w == b"BT ET").unwrap();
        changed[at] = b'X';
        let report = report_of(&changed);
        assert_eq!(report.verdict, Verdict::Invalid, "{case}");
        assert_eq!(
            report.signatures[0].sub_indication,
            Some(SubIndication::SigCryptoFailure),
            "{case}"
        );
    }
}

/// A name built entry by entry with the given string types.
fn x509_name(entries: &[(&str, &str, openssl::asn1::Asn1Type)]) -> openssl::x509::X509Name {
    let mut b = openssl::x509::X509NameBuilder::new().unwrap();
    for (field, value, ty) in entries {
        b.append_entry_by_text_with_type(field, value, *ty).unwrap();
    }
    b.build()
}

#[test]
fn names_compare_by_rfc_5280_rules_for_signer_and_path() {
    use openssl::asn1::{Asn1Time, Asn1Type};
    use openssl::x509::extension::{BasicConstraints, KeyUsage};
    let (utf8, printable) = (Asn1Type::UTF8STRING, Asn1Type::PRINTABLESTRING);
    // A root whose name is UTF8String throughout.
    let ca_key = ec_key(openssl::nid::Nid::X9_62_PRIME256V1);
    let ca_name = x509_name(&[
        ("C", "VN", utf8),
        ("O", "Sở Nội vụ", utf8),
        ("CN", "Vanthu Name Test CA", utf8),
    ]);
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(
        &openssl::bn::BigNum::from_u32(1)
            .unwrap()
            .to_asn1_integer()
            .unwrap(),
    )
    .unwrap();
    b.set_subject_name(&ca_name).unwrap();
    b.set_issuer_name(&ca_name).unwrap();
    b.set_pubkey(&ca_key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap())
        .unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let ca = b.build();

    // The signer's certificate names its issuer in PrintableString, upper case, two spaces.
    let key = ec_key(openssl::nid::Nid::X9_62_PRIME256V1);
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(
        &openssl::bn::BigNum::from_u32(0x1234)
            .unwrap()
            .to_asn1_integer()
            .unwrap(),
    )
    .unwrap();
    b.set_subject_name(&x509_name(&[("CN", "Người ký thử", utf8)]))
        .unwrap();
    b.set_issuer_name(&x509_name(&[
        ("C", "VN", printable),
        ("O", "Sở Nội vụ", utf8),
        ("CN", "VANTHU  NAME TEST CA", printable),
    ]))
    .unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let cert = b.build();

    let mut anchors = TrustAnchors::empty();
    anchors.add(ca.clone());
    // Path building: issuer and subject are the same name, differently encoded.
    let path = trust::validate_path(&anchors, &cert, &[], Utc::now());
    assert_eq!(path.status, PathStatus::Valid, "{:?}", path.status);

    // Finding the signer's certificate: the SignerInfo re-encodes the issuer once more, in
    // lower case, with the Vietnamese letters in capitals and decomposed (NFD).
    let sid_issuer = x509_name(&[
        ("C", "vn", printable),
        ("O", "SO\u{31b}\u{309} NO\u{323}\u{302}I VU\u{323}", utf8),
        ("CN", "vanthu name test ca ", printable),
    ])
    .to_der()
    .unwrap();
    let spec = CmsSpec {
        chain: vec![ca.clone()],
        sid_issuer: Some(sid_issuer),
        ..CmsSpec::new(
            &cert,
            (
                algorithm("2.16.840.1.101.3.4.2.1", None),
                HashAlgorithm::Sha256,
            ),
            algorithm("1.2.840.10045.4.3.2", None),
        )
    };
    let pdf = sign_raw(&simple_pdf(), &Spec::pades(), |content| {
        signed_data(
            &spec,
            |attrs| raw_signature(&key, Some(MessageDigest::sha256()), false, attrs),
            content,
        )
    });
    let options = VerifyOptions {
        anchors,
        offline: true,
        now: None,
    };
    let report = verify_bytes(&pdf, &options).unwrap();
    let s = &report.signatures[0];
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert_eq!(s.signer.as_deref(), Some("Người ký thử"));
}

/// `pdf` with one more revision in which `change` rewrites the catalog.
fn with_catalog_update(pdf: &[u8], change: impl FnOnce(&mut Dictionary)) -> Vec<u8> {
    let reader = Reader::new(pdf).unwrap();
    let mut update = IncrementalUpdate::new(&reader).unwrap();
    let (root_id, mut catalog) = reader.catalog().unwrap();
    change(&mut catalog);
    update.set(root_id, catalog);
    let mut out = pdf.to_vec();
    out.extend_from_slice(&update.write().unwrap().bytes);
    out
}

#[test]
fn signature_fields_are_found_in_kids_and_in_earlier_revisions() {
    // The widget kid carries its own /T; /FT and /V sit on the parent.
    let nested = sign_raw(
        &simple_pdf(),
        &Spec {
            shape: FieldShape::KidWithName,
            ..Spec::pades()
        },
        pades_cms,
    );
    let report = report_of(&nested);
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(report.signatures[0].field, "Signature1.Widget");

    let signed = sign(&simple_pdf(), "Official", false);
    let without_form = with_catalog_update(&signed, |c| {
        c.remove("AcroForm");
    });
    let without_field = with_catalog_update(&nested, |c| {
        let mut form = Dictionary::new();
        form.set("Fields", Vec::<Object>::new());
        c.set("AcroForm", form);
    });
    // A later revision that leaves the form alone (new page content) changes nothing here.
    let reader = Reader::new(without_form.as_slice()).unwrap();
    let mut update = IncrementalUpdate::new(&reader).unwrap();
    let mut content = Dictionary::new();
    content.set("Length", 5);
    update.set(
        ObjectId::new(4, 0),
        Object::Stream(crate::pdf::Stream {
            dict: content,
            data: b"Q q Q".to_vec(),
        }),
    );
    let mut content_changed = without_form.clone();
    content_changed.extend_from_slice(&update.write().unwrap().bytes);
    for (case, pdf, field) in [
        ("AcroForm removed", &without_form, "Official"),
        (
            "field removed from /Fields",
            &without_field,
            "Signature1.Widget",
        ),
        (
            "AcroForm removed, then content",
            &content_changed,
            "Official",
        ),
    ] {
        assert!(Reader::new(pdf.as_slice())
            .unwrap()
            .fields()
            .unwrap()
            .is_empty());
        let report = report_of(pdf);
        assert_eq!(report.signatures.len(), 1, "{case}: {}", report.to_json());
        let s = &report.signatures[0];
        assert_eq!(s.field, field, "{case}");
        // Still checked: intact, trusted, covering the revision it signed.
        assert!(s.intact && s.trusted, "{case}: {}", report.to_json());
        assert_eq!(s.coverage, Some(Coverage::EntireRevision), "{case}");
    }

    // Signed again after the removal: both signatures, each found in its own revision.
    let resigned = sign(&without_form, "Seal", false);
    let report = report_of(&resigned);
    let fields: Vec<&str> = report.signatures.iter().map(|s| s.field.as_str()).collect();
    assert_eq!(fields, ["Official", "Seal"], "{}", report.to_json());
    assert!(report.signatures.iter().all(|s| s.intact));
}

#[test]
fn cross_reference_quirks_qpdf_reads_are_read_and_damage_stays_an_error() {
    use crate::pdf::testing::quirks;
    let sign_as = |pdf: &[u8], field: &str| {
        sign_bytes(
            pdf,
            &rsa_signer(),
            &SignOptions {
                field_name: Some(field.into()),
                ..SignOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{field}: {e}"))
        .0
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    // Each quirk in the first revision, then two signatures on top: the first signature's
    // revision lies between the quirk and the second one.
    for (quirk, base) in quirks::readable() {
        files.push((
            quirk.to_string(),
            sign_as(&sign_as(&base, "Official"), "Seal"),
        ));
    }
    // Signing revisions that end without %%EOF, or padded with NULs, followed by another.
    for end in [RevisionEnd::NoEof, RevisionEnd::Padded(100)] {
        let first = sign_raw(
            &simple_pdf(),
            &Spec {
                end,
                ..Spec::pades()
            },
            pades_cms,
        );
        files.push((format!("signed revision {end:?}"), sign_as(&first, "Seal")));
    }
    for (case, pdf) in &files {
        let Some(clean) = quirks::qpdf_clean(pdf) else {
            return;
        };
        assert!(clean, "qpdf warns about {case}");
        let report = report_of(pdf);
        assert_eq!(
            report.verdict,
            Verdict::Valid,
            "{case}: {}",
            report.to_json()
        );
        assert_eq!(report.signatures.len(), 2, "{case}");
        let first = &report.signatures[0];
        assert_eq!(first.coverage, Some(Coverage::EntireRevision), "{case}");
        assert_eq!(first.modification, ModificationLevel::FormFilling, "{case}");
    }

    // Damage qpdf reports stays an error for a signed file: never rebuilt silently.
    let signed = sign_as(&simple_pdf(), "Official");
    let at = signed
        .windows(10)
        .rposition(|w| w == b"startxref\n")
        .unwrap()
        + 10;
    let offset: u64 = String::from_utf8_lossy(&signed[at..])
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let late = [&signed[..at], format!("{}\n%%EOF\n", offset + 1).as_bytes()].concat();
    let mut negative_prev = signed.clone();
    let (root, size) = {
        let reader = Reader::new(signed.as_slice()).unwrap();
        (
            reader
                .trailer()
                .get("Root")
                .unwrap()
                .as_reference()
                .unwrap(),
            reader.trailer().get_int("Size").unwrap(),
        )
    };
    let xref = negative_prev.len();
    negative_prev.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size {size} /Root {} {} R /Prev -1 >>\nstartxref\n{xref}\n%%EOF\n",
            root.num, root.gen
        )
        .as_bytes(),
    );
    for (case, pdf) in [
        ("startxref one byte late", late),
        ("a later trailer with /Prev -1", negative_prev),
    ] {
        assert_eq!(quirks::qpdf_clean(&pdf), Some(false), "qpdf reads {case}");
        assert!(
            matches!(verify_bytes(&pdf, &trusted()), Err(VerifyError::Damaged)),
            "{case}"
        );
    }
}
