//! The demo organisation seeded by `vanthu serve --demo`: a province, a district people's
//! committee with two departments and three communes, five accounts in the district and five
//! in the first commune, and certificates from the development PKI for every leader and every
//! organisation. Seeding is idempotent: what exists is left alone, what is missing is added.

use anyhow::Context;
use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::symm::Cipher;
use openssl::x509::X509Ref;
use vanthu_domain::{Name, Role, Roles, Unit, UnitCode, UnitLevel, Username};
use vanthu_store::{
    CertificateOwner, CertificatePurpose, Database, NewCertificate, NewUnit, NewUser, StoreError,
};

use crate::devpki::{DevPki, KeyKind};
use crate::secret::ServerSecret;

/// Password of every demo account.
pub const PASSWORD: &str = "vanthu-demo";

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

/// Creates whatever part of the demo organisation is missing.
pub fn seed(db: &Database, secret: &ServerSecret) -> anyhow::Result<Seeded> {
    let pki = DevPki::load().context("cannot load the embedded development PKI")?;
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
            let owner = CertificateOwner::Unit(unit.id);
            seeded.certificates += ensure_certificate(
                db,
                &pki,
                owner,
                KeyKind::Seal,
                demo.name,
                demo.name,
                secret.expose(),
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
            seeded.certificates += ensure_certificate(
                db,
                &pki,
                CertificateOwner::User(user.id),
                KeyKind::Personal,
                full_name,
                UNITS[unit_index].name,
                PASSWORD,
            )?;
        }
    }
    Ok(seeded)
}

/// Issues and stores a certificate for `owner` unless it already has one for the purpose;
/// returns how many were added (0 or 1). The private key is stored as PKCS#8 encrypted under
/// `passphrase`.
fn ensure_certificate(
    db: &Database,
    pki: &DevPki,
    owner: CertificateOwner,
    kind: KeyKind,
    common_name: &str,
    organisation: &str,
    passphrase: &str,
) -> anyhow::Result<usize> {
    let purpose = match kind {
        KeyKind::Personal => CertificatePurpose::Personal,
        KeyKind::Seal => CertificatePurpose::Seal,
    };
    if db
        .certificates_of(owner)?
        .iter()
        .any(|c| c.purpose == purpose)
    {
        return Ok(0);
    }
    let issued = pki
        .issue(kind, common_name, organisation)
        .with_context(|| format!("cannot issue a demo certificate for {common_name}"))?;
    let cert = &issued.certificate;
    let key = issued
        .key
        .private_key_to_pkcs8_passphrase(Cipher::aes_256_cbc(), passphrase.as_bytes())?;
    db.insert_certificate(&NewCertificate {
        owner,
        purpose,
        subject: subject_line(cert),
        serial: cert.serial_number().to_bn()?.to_hex_str()?.to_string(),
        not_before: to_chrono(cert.not_before())?,
        not_after: to_chrono(cert.not_after())?,
        cert_pem: String::from_utf8(cert.to_pem()?)?,
        key_pkcs8_encrypted: Some(key),
    })?;
    Ok(1)
}

/// `C=VN, O=..., CN=...` with Vietnamese characters intact.
fn subject_line(cert: &X509Ref) -> String {
    cert.subject_name()
        .entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_chrono(t: &Asn1TimeRef) -> anyhow::Result<DateTime<Utc>> {
    let diff = Asn1Time::from_unix(0)?.diff(t)?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(seconds, 0).context("certificate time out of range")
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
         Sign in and list your units:\n  \
         TOKEN=$(curl -s -X POST {base_url}/api/v1/auth/login -H 'Content-Type: application/json' \
         -d '{{\"username\":\"district.clerk\",\"password\":\"{PASSWORD}\"}}' | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n  \
         curl -s {base_url}/api/v1/units -H \"Authorization: Bearer $TOKEN\"\n\
         API documentation: {base_url}/api/docs/",
        district = UNITS[DISTRICT].name,
        district_accounts = accounts[..5].join(", "),
        commune_accounts = accounts[5..].join(", "),
    )
}
