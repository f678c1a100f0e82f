//! A package with every field, the development seal, and helpers shared by the tests.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate};
use openssl::pkey::PKey;
use openssl::x509::X509;
use vanthu_domain::UnitCode;
use vanthu_interchange::*;
use vanthu_routing::{
    DocumentIdentifier, DocumentType, NumberNotation, Position, Summary, Urgency,
};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A new document from the district to a province department and a commune, with every
/// field the format carries filled and a PDF-like attachment.
pub fn package() -> Package {
    let number = NumberNotation::parse("123/UBND-VP").unwrap();
    let from = code("000.00.31.H56");
    let mut sender = Organ::new(from.clone(), "UBND huyện Yên Lạc");
    sender.in_charge = Some("UBND tỉnh Vĩnh Phúc".into());
    sender.address = Some("Thị trấn Yên Lạc, Vĩnh Phúc".into());
    sender.email = Some("vanthu@yenlac.vinhphuc.gov.vn".into());
    sender.telephone = Some("0211 3835 000".into());
    sender.fax = Some("0211 3835 001".into());
    sender.website = Some("https://yenlac.vinhphuc.gov.vn".into());
    Package {
        header: MessageHeader {
            from: sender,
            to: vec![
                Organ::new(code("000.00.12.H56"), "Sở Nội vụ tỉnh Vĩnh Phúc"),
                Organ::new(code("000.31.33.H56"), "UBND xã Tề Lỗ"),
            ],
            document_id: DocumentIdentifier::new(&from, day(2026, 12, 2), &number),
            code: number,
            promulgation: PromulgationInfo {
                place: Some("Yên Lạc".into()),
                date: day(2026, 12, 2),
            },
            document_type: DocumentKind {
                code: Some(18),
                name: DocumentType::parse("Công văn").unwrap(),
            },
            subject: Summary::parse("Về việc triển khai văn bản điện tử & chữ ký số <2026>")
                .unwrap(),
            content: Some("Đề nghị các đơn vị thực hiện.\nTrân trọng.".into()),
            signer: SignerInfo {
                competence: Some("KT. CHỦ TỊCH".into()),
                position: Position::parse("PHÓ CHỦ TỊCH").unwrap(),
                full_name: "Trần Thị Bình".into(),
            },
            due_date: Some(day(2026, 12, 15)),
            to_places: vec!["Như trên".into(), "Lưu: VT".into()],
            other: OtherInfo {
                priority: Urgency::ThuongKhan,
                sphere_of_promulgation: Some("Liên thông văn bản".into()),
                typer_notation: Some("TVC".into()),
                promulgation_amount: Some(5),
                page_amount: Some(2),
                appendixes: vec!["Phụ lục I: danh sách đơn vị".into()],
            },
            response_for: vec![ResponseFor {
                organ_id: code("000.00.12.H56"),
                code: Some("45/SNV-VP".into()),
                promulgation_date: Some(day(2026, 11, 20)),
                document_id: DocumentIdentifier::parse("000.00.12.H56,2026/11/20,45/SNV-VP")
                    .unwrap(),
            }],
            steering_type: 1,
        },
        trace: TraceHeaderList {
            traces: vec![TraceHeader {
                organ_id: from,
                timestamp: DateTime::parse_from_rfc3339("2026-12-02T10:15:00+07:00").unwrap(),
            }],
            business: Business {
                doc_type: BusinessDocType::New,
                reason: None,
                staff: Some(StaffInfo {
                    department: Some("Văn phòng".into()),
                    staff: Some("Nguyễn Văn An".into()),
                    mobile: Some("0912 000 111".into()),
                    email: Some("an.nv@yenlac.vinhphuc.gov.vn".into()),
                }),
                receivers: vec![Receiver {
                    receiver_type: Some(1),
                    organ_id: code("000.00.12.H56"),
                }],
                replacements: Vec::new(),
            },
        },
        attachments: vec![Attachment {
            content_id: "a1b2c3".into(),
            name: "123-UBND-VP.pdf".into(),
            content_type: "application/pdf".into(),
            description: Some("Văn bản chính".into()),
            data: b"%PDF-1.7\n% a document\n%%EOF\n".to_vec(),
        }],
    }
}

/// The development organisation seal (certs-dev/seal.*), with its issuing CA in KeyInfo.
pub fn seal() -> Seal {
    let dir = workspace().join("certs-dev");
    let key = PKey::private_key_from_pem(&std::fs::read(dir.join("seal.key")).unwrap()).unwrap();
    let cert = X509::from_pem(&std::fs::read(dir.join("seal.pem")).unwrap()).unwrap();
    let ca = X509::from_pem(&std::fs::read(dir.join("issuing-ca.pem")).unwrap()).unwrap();
    Seal::new(key, vec![cert, ca]).unwrap()
}

/// The development root, the trust anchor of the seal.
pub fn root() -> X509 {
    X509::from_pem(&std::fs::read(workspace().join("certs-dev/root-ca.pem")).unwrap()).unwrap()
}

pub fn read_document(xml: &[u8]) -> Read<Package> {
    let read = read(xml, &Limits::default()).unwrap();
    match read.value {
        Message::Document(p) => Read {
            value: *p,
            tolerated: read.tolerated,
        },
        other => panic!("not a document: {other:?}"),
    }
}
