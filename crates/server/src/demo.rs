//! The demo organisation seeded by `vanthu serve --demo`: a province, a district people's
//! committee with two departments and three communes, five accounts in the district and five
//! in the first commune, keys and certificates from the development PKI for every leader
//! (enrolled under the demo signing PIN) and every organisation (sealed under the
//! key-encryption key), and incoming documents of the district in every state. Seeding is
//! idempotent: what exists is left alone, what is missing is added. Every key here is for
//! show: the development PKI is public.

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use openssl::pkcs12::Pkcs12;
use openssl::stack::Stack;
use openssl::x509::X509;
use vanthu_api::signing_keys::{wrap_personal_key, wrap_seal_key};
use vanthu_api::ApiError;
use vanthu_domain::access::{Assignee, VisibleScope};
use vanthu_domain::{Name, PageRequest, Role, Roles, Unit, UnitCode, UnitLevel, UserId, Username};
use vanthu_keys::{KdfParams, Kek, SigningPin, WrappedKey};
use vanthu_pades::sign::SignOptions;
use vanthu_pades::signer::{Pkcs12Signer, SignerOptions};
use vanthu_pades::verify::VerifyOptions;
use vanthu_routing::{
    vietnam_today, Assignment, AuthorityMode, Confidentiality, DocumentType, HandlingNote,
    IncomingMetadata, Instruction, IssuingBody, Notation, NumberNotation, OutgoingMetadata,
    Position, ReturnReason, SignerAssignment, Step, Summary, Urgency,
};
use vanthu_store::blob::BlobStore;
use vanthu_store::{
    CertificateOwner, Database, IncomingFilter, NewCertificate, NewDraft, NewIncoming,
    NewPaperDocument, NewRevision, NewUnit, NewUser, OutgoingFilter, StoreError,
};

use crate::devpki::{DevPki, Issued, KeyKind};

/// Password of every demo account.
pub const PASSWORD: &str = "vanthu-demo";

/// Signing PIN of every demo leader's key (not the login password, as in production).
pub const SIGNING_PIN: &str = "246810";

struct DemoUnit {
    code: &'static str,
    name: &'static str,
    level: UnitLevel,
    /// Index of the parent in [`UNITS`]; `None` for the root.
    parent: Option<usize>,
    /// Whether the organisation gets a seal certificate.
    seal: bool,
}

const PROVINCE: usize = 0;
const DISTRICT: usize = 1;
const FINANCE_DEPARTMENT: usize = 3;
const FIRST_COMMUNE: usize = 4;

const UNITS: [DemoUnit; 7] = [
    DemoUnit {
        code: "000.00.00.H56",
        name: "Ủy ban nhân dân tỉnh Vĩnh Phúc",
        level: UnitLevel::Province,
        parent: None,
        seal: false,
    },
    DemoUnit {
        code: "000.00.31.H56",
        name: "Ủy ban nhân dân huyện Yên Lạc",
        level: UnitLevel::District,
        parent: Some(PROVINCE),
        seal: true,
    },
    DemoUnit {
        code: "000.01.31.H56",
        name: "Văn phòng HĐND và UBND huyện Yên Lạc",
        level: UnitLevel::Department,
        parent: Some(DISTRICT),
        seal: false,
    },
    DemoUnit {
        code: "000.02.31.H56",
        name: "Phòng Tài chính - Kế hoạch huyện Yên Lạc",
        level: UnitLevel::Department,
        parent: Some(DISTRICT),
        seal: false,
    },
    DemoUnit {
        code: "000.31.01.H56",
        name: "Ủy ban nhân dân xã Đồng Cương",
        level: UnitLevel::Commune,
        parent: Some(DISTRICT),
        seal: true,
    },
    DemoUnit {
        code: "000.31.02.H56",
        name: "Ủy ban nhân dân xã Tề Lỗ",
        level: UnitLevel::Commune,
        parent: Some(DISTRICT),
        seal: true,
    },
    DemoUnit {
        code: "000.31.03.H56",
        name: "Ủy ban nhân dân thị trấn Yên Lạc",
        level: UnitLevel::Commune,
        parent: Some(DISTRICT),
        seal: true,
    },
];

/// (username, full name, role, index of the unit in [`UNITS`]).
const ACCOUNTS: [(&str, &str, Role, usize); 10] = [
    ("district.admin", "Nguyễn Văn Hùng", Role::Admin, DISTRICT),
    ("district.clerk", "Trần Thị Mai", Role::Clerk, DISTRICT),
    ("district.leader", "Lê Văn Thắng", Role::Leader, DISTRICT),
    (
        "district.specialist",
        "Phạm Thị Lan",
        Role::Specialist,
        DISTRICT,
    ),
    (
        "district.auditor",
        "Hoàng Văn Minh",
        Role::Auditor,
        DISTRICT,
    ),
    ("commune.admin", "Đỗ Văn Tuấn", Role::Admin, FIRST_COMMUNE),
    ("commune.clerk", "Vũ Thị Hằng", Role::Clerk, FIRST_COMMUNE),
    (
        "commune.leader",
        "Bùi Văn Long",
        Role::Leader,
        FIRST_COMMUNE,
    ),
    (
        "commune.specialist",
        "Đặng Thị Thu",
        Role::Specialist,
        FIRST_COMMUNE,
    ),
    (
        "commune.auditor",
        "Ngô Văn Sơn",
        Role::Auditor,
        FIRST_COMMUNE,
    ),
];

/// What seeding added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Units created.
    pub units: usize,
    /// Accounts created.
    pub users: usize,
    /// Certificates issued.
    pub certificates: usize,
}

/// Creates whatever part of the demo organisation is missing; seal keys are sealed under
/// `kek`.
pub fn seed(db: &Database, kek: &Kek) -> anyhow::Result<Seeded> {
    let pki = DevPki::load().context("cannot load the embedded development PKI")?;
    let pin = SigningPin::parse(SIGNING_PIN)?;
    let mut seeded = Seeded::default();
    let mut units: Vec<Unit> = Vec::with_capacity(UNITS.len());
    for demo in &UNITS {
        let code = UnitCode::parse(demo.code)?;
        let unit = match db.get_unit_by_code(&code) {
            Ok(unit) => unit,
            Err(StoreError::NotFound { .. }) => {
                seeded.units += 1;
                db.get_or_create_unit(&NewUnit {
                    parent_id: demo.parent.map(|i| units[i].id),
                    code,
                    name: Name::parse(demo.name)?,
                    level: demo.level,
                })?
            }
            Err(e) => return Err(e.into()),
        };
        if demo.seal {
            seeded.certificates += ensure_key(
                db,
                &pki,
                CertificateOwner::Unit(unit.id),
                demo.name,
                demo.name,
                |issued, chain| {
                    wrap_seal_key(unit.id, &issued.key, &issued.certificate, chain, kek)
                },
            )?;
        }
        units.push(unit);
    }
    for (username, full_name, role, unit_index) in ACCOUNTS {
        let username = Username::parse(username)?;
        let user = match db.get_user_by_username(&username) {
            Ok(user) => user,
            Err(StoreError::NotFound { .. }) => {
                seeded.users += 1;
                let password_hash = vanthu_api::password::hash_password(PASSWORD)
                    .map_err(|e| anyhow::anyhow!("cannot hash the demo password: {e}"))?;
                db.get_or_create_user(&NewUser {
                    username,
                    display_name: Name::parse(full_name)?,
                    unit_id: units[unit_index].id,
                    roles: Roles::from([role]),
                    password_hash,
                })?
            }
            Err(e) => return Err(e.into()),
        };
        if role == Role::Leader {
            seeded.certificates += ensure_key(
                db,
                &pki,
                CertificateOwner::User(user.id),
                full_name,
                UNITS[unit_index].name,
                |issued, chain| {
                    let (cert, key) = (&issued.certificate, &issued.key);
                    wrap_personal_key(user.id, key, cert, chain, &pin, KdfParams::DEFAULT)
                },
            )?;
        }
    }
    Ok(seeded)
}

/// The demo official whose certificate expires soon: the district's leader.
pub const EXPIRING_SOON: &str = "Lê Văn Thắng";
/// Inside the inventory's 30-day warning, well before the 7-day one.
const EXPIRING_SOON_DAYS: u32 = 20;
/// Every other demo certificate: two years.
const DEMO_VALIDITY_DAYS: u32 = 730;

/// Issues a key and certificate for `owner` and enrols them, wrapped by `wrap`, unless the
/// owner has a signing key already; returns how many were added (0 or 1).
fn ensure_key(
    db: &Database,
    pki: &DevPki,
    owner: CertificateOwner,
    common_name: &str,
    organisation: &str,
    wrap: impl FnOnce(&Issued, &[X509]) -> Result<(NewCertificate, WrappedKey), ApiError>,
) -> anyhow::Result<usize> {
    match db.signing_key_of(owner) {
        Ok(_) => return Ok(0),
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let kind = match owner {
        CertificateOwner::User(_) => KeyKind::Personal,
        _ => KeyKind::Seal,
    };
    // One certificate close to its end, so the inventory shows what a warning looks like.
    let days = if common_name == EXPIRING_SOON {
        EXPIRING_SOON_DAYS
    } else {
        DEMO_VALIDITY_DAYS
    };
    let issued = pki
        .issue_for_days(kind, common_name, organisation, days)
        .with_context(|| format!("cannot issue a demo certificate for {common_name}"))?;
    let (record, wrapped) = wrap(&issued, &[pki.issuing_ca().clone()])?;
    db.enrol_signing_key(&record, &wrapped)?;
    Ok(1)
}

/// How to sign in, printed after start.
pub fn login_instructions(base_url: &str) -> String {
    let accounts = ACCOUNTS
        .iter()
        .map(|(username, _, _, _)| *username)
        .collect::<Vec<_>>();
    format!(
        "Demo organisation: {district} and its communes.\n\
         Accounts (password {PASSWORD}):\n  {district_accounts}\n  {commune_accounts}\n\
         The leaders' signing PIN: {SIGNING_PIN}. Every key of the demo is for show: its \
         certificates come from the public development PKI.\n\
         Sign in and list your units:\n  \
         TOKEN=$(curl -s -X POST {base_url}/api/v1/auth/login -H 'Content-Type: application/json' \
         -d '{{\"username\":\"district.clerk\",\"password\":\"{PASSWORD}\"}}' | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n  \
         curl -s {base_url}/api/v1/units -H \"Authorization: Bearer $TOKEN\"\n\
         The district's incoming documents, one in each state, the most urgent first:\n  \
         curl -s {base_url}/api/v1/incoming -H \"Authorization: Bearer $TOKEN\"\n\
         API documentation: {base_url}/api/docs/",
        district = UNITS[DISTRICT].name,
        district_accounts = accounts[..5].join(", "),
        commune_accounts = accounts[5..].join(", "),
    )
}

/// An incoming document of the demo: who sent it, what it is, and how far the district got.
struct DemoIncoming {
    issuing_body: &'static str,
    number_notation: &'static str,
    document_type: &'static str,
    summary: &'static str,
    urgency: Urgency,
    /// Steps the district has taken, in order.
    steps: &'static [Step],
    /// Whether the copy that arrived was altered after signing (its signature is broken).
    tampered: bool,
}

const INCOMING: [DemoIncoming; 6] = [
    DemoIncoming {
        issuing_body: "Ủy ban nhân dân tỉnh Vĩnh Phúc",
        number_notation: "1520/UBND-VP",
        document_type: "Công điện",
        summary: "Về việc chủ động ứng phó với mưa lũ trên địa bàn tỉnh",
        urgency: Urgency::HoaToc,
        steps: &[],
        tampered: false,
    },
    DemoIncoming {
        issuing_body: "Sở Tài chính tỉnh Vĩnh Phúc",
        number_notation: "212/STC-NS",
        document_type: "Công văn",
        summary: "Về việc lập dự toán ngân sách năm 2027",
        urgency: Urgency::Khan,
        steps: &[Step::Register],
        tampered: false,
    },
    DemoIncoming {
        issuing_body: "Sở Nội vụ tỉnh Vĩnh Phúc",
        number_notation: "87/SNV-CCVC",
        document_type: "Công văn",
        summary: "Về việc đào tạo, bồi dưỡng cán bộ, công chức cấp xã",
        urgency: Urgency::Normal,
        steps: &[Step::Register, Step::Assign, Step::Forward],
        tampered: false,
    },
    DemoIncoming {
        issuing_body: "Ủy ban nhân dân xã Đồng Cương",
        number_notation: "45/BC-UBND",
        document_type: "Báo cáo",
        summary: "Báo cáo kết quả chuyển đổi số năm 2026",
        urgency: Urgency::Normal,
        steps: &[Step::Register, Step::Assign, Step::Progress],
        tampered: false,
    },
    DemoIncoming {
        issuing_body: "Sở Thông tin và Truyền thông tỉnh Vĩnh Phúc",
        number_notation: "301/STTTT-CĐS",
        document_type: "Công văn",
        summary: "Về việc sử dụng chữ ký số trong văn bản điện tử",
        urgency: Urgency::Normal,
        steps: &[Step::Register, Step::Assign, Step::Progress, Step::Complete],
        tampered: false,
    },
    DemoIncoming {
        issuing_body: "Ủy ban nhân dân xã Tề Lỗ",
        number_notation: "12/TTr-UBND",
        document_type: "Tờ trình",
        summary: "Tờ trình đề nghị hỗ trợ kinh phí sửa chữa trường học",
        urgency: Urgency::Khan,
        steps: &[Step::Return],
        tampered: true,
    },
];

/// Gives the demo district a few incoming documents in every state, signed with development
/// certificates (one of them altered after signing, so its signature is broken), unless it
/// has incoming documents already. Returns how many were added.
pub fn seed_incoming(
    db: &Database,
    blobs: &dyn BlobStore,
    verification: &VerifyOptions,
) -> anyhow::Result<usize> {
    let district = db.get_unit_by_code(&UnitCode::parse(UNITS[DISTRICT].code)?)?;
    let existing = db.list_incoming(
        &VisibleScope::Unit(district.id),
        &[],
        &IncomingFilter::default(),
        PageRequest::default(),
    )?;
    if existing.total > 0 {
        return Ok(0);
    }
    let account = |name: &str| -> anyhow::Result<UserId> {
        Ok(db.get_user_by_username(&Username::parse(name)?)?.id)
    };
    let (clerk, leader, specialist) = (
        account("district.clerk")?,
        account("district.leader")?,
        account("district.specialist")?,
    );
    let department = db.get_unit_by_code(&UnitCode::parse(UNITS[FINANCE_DEPARTMENT].code)?)?;
    let pki = DevPki::load().context("cannot load the embedded development PKI")?;
    let now = Utc::now();
    let today = vietnam_today(now);
    for demo in &INCOMING {
        let mut pdf = signed_letter(&pki, demo)?;
        if demo.tampered {
            let at = pdf
                .windows(demo.number_notation.len())
                .position(|w| w == demo.number_notation.as_bytes())
                .context("the demo letter shows its number")?;
            pdf[at] = b'9';
        }
        let blob = blobs.put(&mut pdf.as_slice())?;
        let report = vanthu_pades::verify::verify_bytes(&pdf, verification)
            .context("cannot verify a demo letter")?;
        let document = db.receive_incoming(&NewIncoming {
            unit_id: district.id,
            received_by: clerk,
            received_at: now,
            metadata: IncomingMetadata {
                issuing_body: IssuingBody::parse(demo.issuing_body)?,
                number_notation: NumberNotation::parse(demo.number_notation)?,
                document_date: today,
                document_type: DocumentType::parse(demo.document_type)?,
                summary: Summary::parse(demo.summary)?,
                urgency: demo.urgency,
                due_date: None,
            },
            sha256: blob.sha256,
            size: blob.size,
            verification: report.verdict.as_str().to_owned(),
            verification_report: serde_json::to_string(&report)?,
        })?;
        let mut state = document.state;
        for step in demo.steps {
            let id = document.id;
            state = match step {
                Step::Register => db.register_incoming(id, state, clerk, now)?,
                Step::Return => db.return_incoming(
                    id,
                    state,
                    clerk,
                    &ReturnReason::parse("Chữ ký số không hợp lệ: văn bản đã bị sửa sau khi ký")?,
                    now,
                )?,
                Step::Assign => db.assign_incoming(
                    id,
                    state,
                    leader,
                    &Assignment::new(
                        Assignee::User(specialist),
                        Vec::new(),
                        Instruction::parse("Giao chuyên viên Phạm Thị Lan chủ trì tham mưu")?,
                        today + TimeDelta::days(10),
                        today,
                    )?,
                    now,
                )?,
                Step::Progress => db.record_incoming_progress(
                    id,
                    state,
                    specialist,
                    &HandlingNote::parse("Đã tổng hợp số liệu, đang dự thảo văn bản trả lời")?,
                    now,
                )?,
                Step::Forward => db.forward_incoming(
                    id,
                    state,
                    Assignee::User(specialist),
                    Assignee::Unit(department.id),
                    &district.path,
                    specialist,
                    Some(&HandlingNote::parse(
                        "Chuyển Phòng Tài chính - Kế hoạch chủ trì theo chức năng",
                    )?),
                    now,
                )?,
                Step::Complete => db.complete_incoming(
                    id,
                    state,
                    specialist,
                    Some(&HandlingNote::parse("Đã trả lời bằng văn bản")?),
                    now,
                    None,
                )?,
            }
            .state;
        }
    }
    Ok(INCOMING.len())
}

/// What the first commune's demo outgoing documents are about, and how far each went.
const OUTGOING: [(&str, &str, DemoOutgoing); 4] = [
    (
        "Về việc đăng ký lịch tiếp công dân tháng 12",
        "UBND-VP",
        DemoOutgoing::Draft,
    ),
    (
        "Về việc báo cáo kết quả chuyển đổi số năm 2026",
        "BC-UBND",
        DemoOutgoing::Returned,
    ),
    (
        "Về việc đề nghị hỗ trợ kinh phí sửa chữa trường học",
        "TTr-UBND",
        DemoOutgoing::Approved,
    ),
    (
        "Về việc khen thưởng tập thể, cá nhân năm 2026",
        "QĐ-UBND",
        DemoOutgoing::Paper,
    ),
];

/// Where a demo outgoing document is left.
enum DemoOutgoing {
    Draft,
    Returned,
    Approved,
    Paper,
}

/// Outgoing documents of the first commune, addressed to the district: a draft, a returned
/// draft, an approved one waiting for its signer (the commune's leader signs it with the
/// demo signing PIN) and one issued on paper. Added once; returns how many.
pub fn seed_outgoing(db: &Database, blobs: &dyn BlobStore) -> anyhow::Result<usize> {
    let commune = db.get_unit_by_code(&UnitCode::parse(UNITS[FIRST_COMMUNE].code)?)?;
    let existing = db.list_outgoing(
        &VisibleScope::Unit(commune.id),
        &OutgoingFilter::default(),
        PageRequest::default(),
    )?;
    if existing.total > 0 {
        return Ok(0);
    }
    let district = db.get_unit_by_code(&UnitCode::parse(UNITS[DISTRICT].code)?)?;
    let account = |name: &str| -> anyhow::Result<UserId> {
        Ok(db.get_user_by_username(&Username::parse(name)?)?.id)
    };
    let (specialist, leader, clerk) = (
        account("commune.specialist")?,
        account("commune.leader")?,
        account("commune.clerk")?,
    );
    let now = Utc::now();
    for (summary, notation, end) in &OUTGOING {
        let metadata = OutgoingMetadata {
            document_type: DocumentType::parse("Công văn")?,
            summary: Summary::parse(summary)?,
            urgency: Urgency::Normal,
            confidentiality: Confidentiality::Normal,
            notation: Notation::parse(notation)?,
            signer: SignerAssignment {
                user: leader,
                position: Position::parse("CHỦ TỊCH")?,
                authority: AuthorityMode::Tm,
            },
            internal_recipients: vec![district.id],
            external_recipients: Vec::new(),
            due_date: None,
        };
        if let DemoOutgoing::Paper = end {
            db.record_paper_outgoing(&NewPaperDocument {
                unit_id: commune.id,
                recorded_by: clerk,
                at: now,
                metadata,
            })?;
            continue;
        }
        let pdf = one_page_pdf(&format!("DU THAO {notation}"));
        let blob = blobs.put(&mut pdf.as_slice())?;
        let draft = db.create_outgoing_draft(&NewDraft {
            unit_id: commune.id,
            drafted_by: specialist,
            at: now,
            metadata,
            file: NewRevision {
                sha256: blob.sha256,
                size: blob.size,
            },
        })?;
        match end {
            DemoOutgoing::Returned => {
                db.return_outgoing(
                    draft.id,
                    draft.state,
                    leader,
                    now,
                    "Đề nghị bổ sung số liệu quý IV",
                )?;
            }
            DemoOutgoing::Approved => {
                db.approve_outgoing(draft.id, draft.state, draft.revision, leader, now, None)?;
            }
            DemoOutgoing::Draft | DemoOutgoing::Paper => {}
        }
    }
    Ok(OUTGOING.len())
}

/// A one-page letter showing the document's number, signed (PAdES B-B) with a fresh
/// development certificate in the sender's name.
fn signed_letter(pki: &DevPki, demo: &DemoIncoming) -> anyhow::Result<Vec<u8>> {
    let issued = pki.issue(KeyKind::Personal, "Văn thư", demo.issuing_body)?;
    let mut chain = Stack::new()?;
    chain.push(pki.issuing_ca().clone())?;
    let p12 = Pkcs12::builder()
        .name("demo")
        .pkey(&issued.key)
        .cert(&issued.certificate)
        .ca(chain)
        .build2(PASSWORD)?;
    let signer = Pkcs12Signer::from_der(&p12.to_der()?, PASSWORD, SignerOptions::default())?;
    let text = format!("VAN BAN SO {}", demo.number_notation);
    let (signed, _) =
        vanthu_pades::sign::sign_bytes(&one_page_pdf(&text), &signer, &SignOptions::default())?;
    Ok(signed)
}

/// A minimal PDF with `text` (ASCII) on an A4 page in Helvetica.
fn one_page_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    vanthu_pades::pdf::writer::whole_file(&objects)
}
