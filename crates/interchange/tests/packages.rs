//! Building and reading packages: every field survives the round trip, messy packages are
//! read with what was tolerated, and untrustworthy ones are refused naming the element.

mod common;

use chrono::DateTime;
use common::*;
use vanthu_interchange::*;
use vanthu_routing::{DocumentIdentifier, InterchangeStatus};

fn xml() -> String {
    package().to_xml().unwrap()
}

fn refusal(xml: &str) -> PackageError {
    refusal_with(xml, &Limits::default())
}

fn refusal_with(xml: &str, limits: &Limits) -> PackageError {
    match read(xml.as_bytes(), limits) {
        Ok(read) => panic!("accepted: {:?}", read.tolerated),
        Err(e) => e,
    }
}

#[test]
fn every_field_survives_the_round_trip() {
    let original = package();
    let xml = original.to_xml().unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(
        xml.contains("<edXML:CodeNumber>123</edXML:CodeNumber>"),
        "{xml}"
    );
    assert!(xml.contains("<edXML:PromulgationDate>2026/12/02</edXML:PromulgationDate>"));
    assert!(
        xml.contains("&amp; chữ ký số &lt;2026&gt;"),
        "text is escaped"
    );
    let read = read_document(xml.as_bytes());
    assert_eq!(read.tolerated, Vec::new());
    assert_eq!(read.value, original);
}

#[test]
fn status_packages_carry_every_code() {
    for status in STATUS_CODES {
        let original = StatusPackage {
            from: Organ::new(code("000.00.12.H56"), "Sở Nội vụ tỉnh Vĩnh Phúc"),
            response_for: ResponseFor {
                organ_id: code("000.00.31.H56"),
                code: Some("123/UBND-VP".into()),
                promulgation_date: Some(day(2026, 12, 2)),
                document_id: DocumentIdentifier::parse("000.00.31.H56,2026/12/02,123/UBND-VP")
                    .unwrap(),
            },
            status,
            description: Some("Đã tiếp nhận".into()),
            timestamp: DateTime::parse_from_rfc3339("2026-12-02T11:00:00+07:00").unwrap(),
            staff: Some(StaffInfo {
                department: Some("Văn phòng".into()),
                staff: Some("Lê Văn Cường".into()),
                ..StaffInfo::default()
            }),
        };
        let xml = original.to_xml().unwrap();
        assert!(xml.contains(&format!(
            "<edXML:StatusCode>{}</edXML:StatusCode>",
            status.code()
        )));
        let read = read(xml.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(read.tolerated, Vec::new());
        assert_eq!(read.value, Message::Status(Box::new(original)));
    }
    // A one-digit code is read as its two-digit form, and said so.
    let xml = StatusPackage {
        status: InterchangeStatus::Accepted,
        from: Organ::new(code("000.00.12.H56"), "Sở Nội vụ"),
        response_for: ResponseFor {
            organ_id: code("000.00.31.H56"),
            code: None,
            promulgation_date: None,
            document_id: DocumentIdentifier::parse("000.00.31.H56,2026/12/02,123/UBND-VP").unwrap(),
        },
        description: None,
        timestamp: DateTime::parse_from_rfc3339("2026-12-02T11:00:00+07:00").unwrap(),
        staff: None,
    }
    .to_xml()
    .unwrap()
    .replace(">03</edXML:StatusCode>", ">3</edXML:StatusCode>");
    let read = read(xml.as_bytes(), &Limits::default()).unwrap();
    let Message::Status(s) = read.value else {
        panic!()
    };
    assert_eq!(s.status, InterchangeStatus::Accepted);
    assert_eq!(read.tolerated[0].element, "Status/StatusCode");
    let bad = xml.replace(">3</edXML:StatusCode>", ">07</edXML:StatusCode>");
    assert!(refusal(&bad)
        .to_string()
        .contains("'07' is not a status code"));
}

#[test]
fn messy_packages_are_read_and_what_was_tolerated_is_said() {
    let clean = xml();
    let messy = format!("\u{feff}garbage\r\n{clean}")
        .replace(
            "<edXML:From><edXML:OrganId>000.00.31.H56<",
            "<edXML:From><edXML:OrganId>000-00-31-h56<",
        )
        .replace(
            "<edXML:OrganId>000.00.12.H56</edXML:OrganId><edXML:OrganName>Sở",
            "<edXML:OrganId>000.00.12.h56</edXML:OrganId><edXML:OrganName>Sở",
        )
        .replace(
            "<edXML:PromulgationDate>2026/12/02<",
            "<edXML:PromulgationDate>2026-12-02<",
        )
        .replace("<edXML:DueDate>2026/12/15<", "<edXML:DueDate>15/12/2026<")
        .replace(
            "<edXML:Timestamp>2026-12-02T10:15:00+07:00<",
            "<edXML:Timestamp>2026/12/02 10:15:00<",
        );
    let read = read_document(messy.as_bytes());
    assert_eq!(read.value, package(), "nothing was lost");
    let said: Vec<String> = read.tolerated.iter().map(ToString::to_string).collect();
    let expect = [
        "package: 9 stray bytes before the XML declaration were ignored",
        "MessageHeader/From/OrganId: agency code '000-00-31-h56' in an old spelling",
        "MessageHeader/To/OrganId: agency code '000.00.12.h56' in lower case",
        "MessageHeader/PromulgationInfo/PromulgationDate: date written YYYY-MM-DD",
        "MessageHeader/DueDate: date written DD/MM/YYYY",
        "TraceHeaderList/TraceHeader/Timestamp: timestamp YYYY/MM/DD HH:MM:SS without offset",
    ];
    for e in expect {
        assert!(
            said.iter().any(|s| s.starts_with(e)),
            "{e} not in {said:#?}"
        );
    }
    assert_eq!(said.len(), expect.len(), "{said:#?}");

    // Optional elements left out, the SDK's defaults assumed and said.
    let sparse = clean.split("<edXML:OtherInfo>").next().unwrap().to_owned()
        + clean.split("</edXML:OtherInfo>\n").nth(1).unwrap();
    let sparse = sparse.replace("<edXML:Place>Yên Lạc</edXML:Place>", "");
    let got = read_document(sparse.as_bytes());
    assert_eq!(
        got.value.header.other.priority,
        vanthu_routing::Urgency::Normal
    );
    assert_eq!(got.value.header.promulgation.place, None);
    assert_eq!(got.tolerated.len(), 1, "{:?}", got.tolerated);
    assert_eq!(got.tolerated[0].element, "MessageHeader/OtherInfo");

    // The envelope without its edXML root, the files inside it without a namespace.
    let start = clean.find("<AttachmentEncoded>").unwrap();
    let end = clean.find("</AttachmentEncoded>").unwrap() + "</AttachmentEncoded>".len();
    let bare = clean[..start]
        .replace(
            "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">",
            "",
        )
        .replace(
            "</edXML:edXMLEnvelope>",
            &format!("{}</edXML:edXMLEnvelope>", &clean[start..end]),
        );
    let read = vanthu_interchange::read(bare.as_bytes(), &Limits::default()).unwrap();
    let Message::Document(p) = read.value else {
        panic!()
    };
    assert_eq!(*p, package());
    assert!(read
        .tolerated
        .iter()
        .any(|t| t.what.contains("without the QCVN 102 namespace")));
    assert!(read
        .tolerated
        .iter()
        .any(|t| t.what.contains("without the edXML root")));
}

#[test]
fn what_cannot_be_trusted_is_refused_naming_the_element() {
    let clean = xml();
    let cases: Vec<(String, &str)> = vec![
        (clean.replace("</edXML:Subject>", "</edXML:Subjec>"), "not well-formed"),
        (
            clean.replace(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \
                 \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>",
            )
            .replace("Về việc", "&c; Về việc"),
            "declares a document type",
        ),
        (
            clean.replace(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<?xml version=\"1.0\"?><!DOCTYPE edXML SYSTEM \"file:///etc/passwd\">",
            ),
            "declares a document type",
        ),
        (
            clean.replace("xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"", "xmlns=\"urn:other\""),
            "edXML is in namespace 'urn:other'",
        ),
        (
            clean.replace(
                "xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"",
                "xmlns:edXML=\"urn:other\"",
            ),
            "edXMLEnvelope is in namespace 'urn:other'",
        ),
        (cut(&clean, "<edXML:Subject>", "</edXML:Subject>"), "MessageHeader/Subject is missing"),
        (
            cut(&clean, "<edXML:DocumentId>000.00.31.H56", "</edXML:DocumentId>"),
            "MessageHeader/DocumentId is missing",
        ),
        (cut(&clean, "<edXML:From>", "</edXML:From>\n"), "MessageHeader/From is missing"),
        (
            clean.replace(
                "Về việc triển khai",
                &format!("{} Về việc triển khai", "ầ".repeat(480)),
            ),
            "MessageHeader/Subject: must be at most 500 characters",
        ),
        (
            clean.replace(">123</edXML:CodeNumber>", ">12a</edXML:CodeNumber>"),
            "MessageHeader/Code/CodeNumber: '12a' is not a number",
        ),
        (
            clean.replace(">2</edXML:Priority>", ">7</edXML:Priority>"),
            "MessageHeader/OtherInfo/Priority: 7 is not a priority",
        ),
        (
            clean.replace(">2026/12/02</edXML:PromulgationDate>", ">tomorrow</edXML:PromulgationDate>"),
            "MessageHeader/PromulgationInfo/PromulgationDate: 'tomorrow' is not a date",
        ),
        (
            clean.replace("<edXML:OrganId>000.00.12.H56</edXML:OrganId><edXML:OrganName>Sở", "<edXML:OrganId>Sở Nội vụ</edXML:OrganId><edXML:OrganName>Sở"),
            "MessageHeader/To/OrganId: 'Sở.Nội.vụ' is not an electronic unit code",
        ),
        (
            clean.replace("<ContentId>a1b2c3</ContentId>", "<ContentId>other</ContentId>"),
            "AttachmentEncoded/Attachment with ContentId 'a1b2c3' (named by the manifest) is missing",
        ),
        (
            clean.replace("<ContentTransferEncoded>", "<ContentTransferEncoded>!!"),
            "AttachmentEncoded/Attachment/ContentTransferEncoded: not valid base64",
        ),
        (
            clean.replace(">0</edXML:BussinessDocType>", ">3</edXML:BussinessDocType>"),
            "TraceHeaderList/Bussiness/ReplacementInfoList is missing",
        ),
    ];
    for (xml, expected) in cases {
        let e = refusal(&xml).to_string();
        assert!(e.contains(expected), "expected '{expected}', got '{e}'");
    }
}

/// Cuts the element from `start` to `end` inclusive.
fn cut(xml: &str, start: &str, end: &str) -> String {
    let a = xml.find(start).unwrap();
    let b = a + xml[a..].find(end).unwrap() + end.len();
    format!("{}{}", &xml[..a], &xml[b..])
}

#[test]
fn limits_hold_against_bombs() {
    let clean = xml();
    // Deep nesting, within a field the reader would otherwise skip.
    let deep = clean.replace(
        "<edXML:Content>",
        &format!("{}<edXML:Content>", "<x>".repeat(100) + &"</x>".repeat(100)),
    );
    assert_eq!(
        refusal(&deep),
        PackageError::TooDeep {
            depth: 33,
            limit: 32
        }
    );
    let wide = clean.replace(
        "<edXML:Content>",
        &format!("{}<edXML:Content>", "<x/>".repeat(200)),
    );
    let limits = Limits {
        max_nodes: 150,
        ..Limits::default()
    };
    assert_eq!(
        refusal_with(&wide, &limits),
        PackageError::TooManyNodes { limit: 150 }
    );
    let small = Limits {
        max_package_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        refusal_with(&clean, &small),
        PackageError::TooLarge { limit: 1000, .. }
    ));
    let mut big = package();
    big.attachments[0].data = vec![7; 4000];
    let tight = Limits {
        max_attachment_bytes: 3000,
        ..Limits::default()
    };
    assert!(matches!(
        refusal_with(&big.to_xml().unwrap(), &tight),
        PackageError::AttachmentTooLarge { ref name, limit: 3000, .. } if name == "123-UBND-VP.pdf"
    ));
    assert!(read(b"", &Limits::default()).is_err());
    assert!(read(b"\xff\xfe<\x00", &Limits::default()).is_err());
}

#[test]
fn the_writer_refuses_what_the_reader_would() {
    let mut p = package();
    p.header.from.name = "Ủ".repeat(201);
    let e = p.to_xml().unwrap_err();
    assert_eq!(e.element, "MessageHeader/From/OrganName");
    assert!(e.reason.contains("at most 200"), "{e}");
    let mut p = package();
    p.header.to.clear();
    assert_eq!(p.to_xml().unwrap_err().element, "MessageHeader/To");
    let mut p = package();
    p.header.from.id = code("000.00.31.H56.0001");
    assert_eq!(
        p.to_xml().unwrap_err().element,
        "MessageHeader/From/OrganId"
    );
    let mut p = package();
    p.attachments.push(p.attachments[0].clone());
    assert!(p
        .to_xml()
        .unwrap_err()
        .reason
        .contains("names two attachments"));
    let mut p = package();
    p.attachments[0].name = " ".into();
    assert_eq!(
        p.to_xml().unwrap_err().element,
        "AttachmentEncoded/Attachment/AttachmentName"
    );
}
