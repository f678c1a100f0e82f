//! `vanthu bench edxml`: interchange packages with a 1 MB attachment, built, signed (the
//! organisation's seal, RSA-2048), read and verified per second, each beside the floor
//! measured in the same run: what OpenSSL alone spends on the same bytes (base64 for
//! building, SHA-256 plus one RSA signature for signing, SHA-256 plus one RSA verification
//! for verifying).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use base64::Engine;
use chrono::{DateTime, NaiveDate};
use clap::Args;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use vanthu_domain::UnitCode;
use vanthu_interchange::{
    read, sign, verify, Attachment, Business, BusinessDocType, DocumentKind, Limits, Message,
    MessageHeader, Organ, OtherInfo, Package, PromulgationInfo, Seal, SignerInfo, TraceHeader,
    TraceHeaderList, Verdict,
};
use vanthu_routing::{
    DocumentIdentifier, DocumentType, NumberNotation, Position, Summary, Urgency,
};

use crate::cmd::bench::{machine, rate};

const SEAL_KEY: &[u8] = include_bytes!("../../../../certs-dev/seal.key");
const SEAL_CERT: &[u8] = include_bytes!("../../../../certs-dev/seal.pem");
const ISSUING_CA: &[u8] = include_bytes!("../../../../certs-dev/issuing-ca.pem");
const ROOT: &[u8] = include_bytes!("../../../../certs-dev/root-ca.pem");

/// Options of `vanthu bench edxml`.
#[derive(Debug, Args)]
pub struct EdxmlBenchArgs {
    /// Seconds of CPU time spent on each measurement
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Size of the attachment, in bytes
    #[arg(long, default_value_t = 1_048_576)]
    pub attachment_bytes: usize,
}

fn package(attachment_bytes: usize) -> anyhow::Result<Package> {
    let from = UnitCode::parse("000.00.31.H56")?;
    let number = NumberNotation::parse("123/UBND-VP")?;
    let date = NaiveDate::from_ymd_opt(2026, 12, 2).ok_or_else(|| anyhow!("date"))?;
    // Incompressible-looking bytes, as a PDF's streams are.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data = (0..attachment_bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    Ok(Package {
        header: MessageHeader {
            from: Organ::new(from.clone(), "UBND huyện Yên Lạc"),
            to: vec![Organ::new(
                UnitCode::parse("000.00.12.H56")?,
                "Sở Nội vụ tỉnh Vĩnh Phúc",
            )],
            document_id: DocumentIdentifier::new(&from, date, &number),
            code: number,
            promulgation: PromulgationInfo {
                place: Some("Yên Lạc".into()),
                date,
            },
            document_type: DocumentKind {
                code: None,
                name: DocumentType::parse("Công văn")?,
            },
            subject: Summary::parse("Về việc triển khai văn bản điện tử")?,
            content: None,
            signer: SignerInfo {
                competence: None,
                position: Position::parse("CHỦ TỊCH")?,
                full_name: "Trần Thị Bình".into(),
            },
            due_date: None,
            to_places: Vec::new(),
            other: OtherInfo {
                priority: Urgency::Normal,
                sphere_of_promulgation: None,
                typer_notation: None,
                promulgation_amount: None,
                page_amount: Some(2),
                appendixes: Vec::new(),
            },
            response_for: Vec::new(),
            steering_type: 0,
        },
        trace: TraceHeaderList {
            traces: vec![TraceHeader {
                organ_id: from,
                timestamp: DateTime::parse_from_rfc3339("2026-12-02T10:15:00+07:00")?,
            }],
            business: Business {
                doc_type: BusinessDocType::New,
                reason: None,
                staff: None,
                receivers: Vec::new(),
                replacements: Vec::new(),
            },
        },
        attachments: vec![Attachment {
            content_id: "main".into(),
            name: "123-UBND-VP.pdf".into(),
            content_type: "application/pdf".into(),
            description: None,
            data,
        }],
    })
}

/// Runs `vanthu bench edxml`.
pub fn run(args: EdxmlBenchArgs) -> anyhow::Result<ExitCode> {
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let key = PKey::private_key_from_pem(SEAL_KEY)?;
    let seal = Seal::new(
        key.clone(),
        vec![X509::from_pem(SEAL_CERT)?, X509::from_pem(ISSUING_CA)?],
    )?;
    let root = [X509::from_pem(ROOT)?];
    let limits = Limits::default();
    let p = package(args.attachment_bytes)?;
    let unsigned = p.to_xml()?;
    let signed = sign(&unsigned, &seal)?;

    println!(
        "edXML packages with a {} KB attachment ({} KB signed), one thread; {}",
        args.attachment_bytes / 1024,
        signed.len() / 1024,
        machine()
    );
    println!(
        "  {:<34} {:>10} {:>22}",
        "", "per second", "OpenSSL floor per second"
    );

    let (build, _) = rate(budget, || Ok(p.to_xml()?))?;
    let (b64, _) = rate(budget, || {
        Ok(base64::engine::general_purpose::STANDARD.encode(&p.attachments[0].data))
    })?;
    line(
        "build (to XML)",
        build.cpu,
        b64.cpu,
        "base64 of the attachment",
    );

    let (signing, _) = rate(budget, || Ok(sign(&unsigned, &seal)?))?;
    let (floor_sign, _) = rate(budget, || {
        let digest = hash(MessageDigest::sha256(), unsigned.as_bytes())?;
        let mut s = Signer::new(MessageDigest::sha256(), &key)?;
        Ok(s.sign_oneshot_to_vec(&digest)?)
    })?;
    line(
        "sign (C14N, SHA-256, RSA)",
        signing.cpu,
        floor_sign.cpu,
        "SHA-256 + RSA-2048 sign",
    );

    let (reading, read_back) = rate(budget, || Ok(read(signed.as_bytes(), &limits)?))?;
    if !matches!(read_back.value, Message::Document(ref d) if **d == p) {
        bail!("the package read back differs from the one built");
    }
    line(
        "parse (structure, base64 decoded)",
        reading.cpu,
        b64.cpu,
        "base64 of the attachment",
    );

    let (verifying, report) = rate(budget, || Ok(verify(signed.as_bytes(), &limits, &root)?))?;
    if report.verdict != Verdict::Valid {
        bail!("the signed package does not verify: {:?}", report.verdict);
    }
    let signature = {
        let mut s = Signer::new(MessageDigest::sha256(), &key)?;
        s.sign_oneshot_to_vec(b"x")?
    };
    let (floor_verify, _) = rate(budget, || {
        let digest = hash(MessageDigest::sha256(), signed.as_bytes())?;
        let mut v = Verifier::new(MessageDigest::sha256(), &key)?;
        v.verify_oneshot(&signature, b"x")?;
        Ok(digest)
    })?;
    line(
        "verify (C14N, digest, RSA, path)",
        verifying.cpu,
        floor_verify.cpu,
        "SHA-256 + RSA-2048 verify",
    );

    let (cycle, _) = rate(budget, || {
        let xml = sign(&p.to_xml()?, &seal)?;
        read(xml.as_bytes(), &limits)?;
        Ok(verify(xml.as_bytes(), &limits, &root)?)
    })?;
    println!(
        "  {:<34} {:>10.1}   (build + sign + parse + verify)",
        "whole round", cycle.cpu
    );
    Ok(ExitCode::SUCCESS)
}

fn line(what: &str, ours: f64, floor: f64, floor_what: &str) {
    println!(
        "  {what:<34} {ours:>10.1} {floor:>10.1}  {floor_what} ({:.0}% of the floor)",
        100.0 * ours / floor
    );
}
