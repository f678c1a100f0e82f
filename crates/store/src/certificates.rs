//! Certificates of people (personal signing), units (organisation seal) and the time-stamping
//! authority. Certificates are public; their private keys live in `signing_keys`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use vanthu_domain::{UnitId, UserId, ValidationError};

use crate::db::{insert_returning_id, DbConnection};
use crate::error::missing;
use crate::schema::certificates;
use crate::time::{from_millis, now, to_millis};
use crate::{Database, StoreError};

/// What a certificate is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificatePurpose {
    /// An official's own signature.
    Personal,
    /// The organisation's seal signature, applied by the clerk.
    Seal,
    /// The time-stamping authority.
    Tsa,
}

impl CertificatePurpose {
    /// `personal`, `seal` or `tsa`.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificatePurpose::Personal => "personal",
            CertificatePurpose::Seal => "seal",
            CertificatePurpose::Tsa => "tsa",
        }
    }
}

impl fmt::Display for CertificatePurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertificatePurpose {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "personal" => Ok(CertificatePurpose::Personal),
            "seal" => Ok(CertificatePurpose::Seal),
            "tsa" => Ok(CertificatePurpose::Tsa),
            _ => Err(ValidationError::new(
                "purpose",
                format!("'{s}' is not a certificate purpose; use personal, seal or tsa"),
            )),
        }
    }
}

/// Whom a certificate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateOwner {
    /// A person.
    User(UserId),
    /// An organisation.
    Unit(UnitId),
    /// The installation itself (e.g. the time-stamping authority).
    System,
}

/// A certificate to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    /// Owner.
    pub owner: CertificateOwner,
    /// Use.
    pub purpose: CertificatePurpose,
    /// Subject distinguished name, for display.
    pub subject: String,
    /// Serial number in hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The certificate, PEM encoded.
    pub cert_pem: String,
    /// Its issuers, PEM encoded, from the issuer upwards; empty when unknown.
    pub chain_pem: String,
}

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Database id.
    pub id: i64,
    /// Owner.
    pub owner: CertificateOwner,
    /// Use.
    pub purpose: CertificatePurpose,
    /// Subject distinguished name, for display.
    pub subject: String,
    /// Serial number in hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The certificate, PEM encoded.
    pub cert_pem: String,
    /// Its issuers, PEM encoded, from the issuer upwards; empty when unknown.
    pub chain_pem: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = certificates)]
struct CertificateRow {
    id: i64,
    owner_user_id: Option<i64>,
    owner_unit_id: Option<i64>,
    purpose: String,
    subject: String,
    serial: String,
    not_before: i64,
    not_after: i64,
    cert_pem: String,
    chain_pem: String,
    created_at: i64,
}

impl TryFrom<CertificateRow> for Certificate {
    type Error = StoreError;
    fn try_from(r: CertificateRow) -> Result<Certificate, StoreError> {
        let bad = |e: ValidationError| StoreError::corrupt(format!("certificate {}: {e}", r.id));
        let owner = match (r.owner_user_id, r.owner_unit_id) {
            (Some(user), None) => CertificateOwner::User(UserId::new(user).map_err(bad)?),
            (None, Some(unit)) => CertificateOwner::Unit(UnitId::new(unit).map_err(bad)?),
            (None, None) => CertificateOwner::System,
            (Some(_), Some(_)) => {
                return Err(StoreError::corrupt(format!(
                    "certificate {} has two owners",
                    r.id
                )))
            }
        };
        Ok(Certificate {
            id: r.id,
            owner,
            purpose: r.purpose.parse().map_err(bad)?,
            subject: r.subject,
            serial: r.serial,
            not_before: from_millis(r.not_before)?,
            not_after: from_millis(r.not_after)?,
            cert_pem: r.cert_pem,
            chain_pem: r.chain_pem,
            created_at: from_millis(r.created_at)?,
        })
    }
}

fn owner_columns(owner: CertificateOwner) -> (Option<i64>, Option<i64>) {
    match owner {
        CertificateOwner::User(u) => (Some(u.get()), None),
        CertificateOwner::Unit(u) => (None, Some(u.get())),
        CertificateOwner::System => (None, None),
    }
}

/// Stores a certificate within the caller's transaction.
pub(crate) fn insert_certificate(
    conn: &mut DbConnection,
    new: &NewCertificate,
) -> Result<Certificate, StoreError> {
    match new.owner {
        CertificateOwner::User(u) => {
            crate::users::load_user(conn, u)?;
        }
        CertificateOwner::Unit(u) => {
            crate::units::load_unit(conn, u)?;
        }
        CertificateOwner::System => {}
    }
    let (user, unit) = owner_columns(new.owner);
    let id = insert_returning_id!(
        &mut *conn,
        certificates::table,
        (
            certificates::owner_user_id.eq(user),
            certificates::owner_unit_id.eq(unit),
            certificates::purpose.eq(new.purpose.as_str()),
            certificates::subject.eq(&new.subject),
            certificates::serial.eq(&new.serial),
            certificates::not_before.eq(to_millis(new.not_before)),
            certificates::not_after.eq(to_millis(new.not_after)),
            certificates::cert_pem.eq(&new.cert_pem),
            certificates::chain_pem.eq(&new.chain_pem),
            certificates::created_at.eq(to_millis(now())),
        ),
        certificates::id
    )?;
    load_certificate(conn, id)
}

/// The certificate with this id, within the caller's transaction.
pub(crate) fn load_certificate(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Certificate, StoreError> {
    certificates::table
        .find(id)
        .select(CertificateRow::as_select())
        .get_result(conn)
        .map_err(missing("certificate"))?
        .try_into()
}

impl Database {
    /// Stores a certificate. Fails with `NotFound` if the owner does not exist.
    pub fn insert_certificate(&self, new: &NewCertificate) -> Result<Certificate, StoreError> {
        self.transaction(|conn| insert_certificate(conn, new))
    }

    /// The certificate with this id.
    pub fn get_certificate(&self, id: i64) -> Result<Certificate, StoreError> {
        load_certificate(&mut *self.conn()?, id)
    }

    /// Every stored certificate, oldest first (e.g. to find development certificates before
    /// a production start).
    pub fn all_certificates(&self) -> Result<Vec<Certificate>, StoreError> {
        certificates::table
            .select(CertificateRow::as_select())
            .order(certificates::id.asc())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Certificate::try_from)
            .collect()
    }

    /// The certificates of `owner`, oldest first.
    pub fn certificates_of(&self, owner: CertificateOwner) -> Result<Vec<Certificate>, StoreError> {
        let query = certificates::table.into_boxed();
        let query = match owner {
            CertificateOwner::User(u) => query.filter(certificates::owner_user_id.eq(u.get())),
            CertificateOwner::Unit(u) => query.filter(certificates::owner_unit_id.eq(u.get())),
            CertificateOwner::System => query
                .filter(certificates::owner_user_id.is_null())
                .filter(certificates::owner_unit_id.is_null()),
        };
        query
            .select(CertificateRow::as_select())
            .order(certificates::id.asc())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Certificate::try_from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use vanthu_domain::Role;

    use super::*;
    use crate::test_support::{tree, user};
    use crate::testing::TestDatabase;

    fn new_cert(
        owner: CertificateOwner,
        purpose: CertificatePurpose,
        chain_pem: &str,
    ) -> NewCertificate {
        let not_before = crate::time::now();
        NewCertificate {
            owner,
            purpose,
            subject: "CN=Nguyễn Văn A,O=UBND huyện Yên Lạc,C=VN".into(),
            serial: "1a2b3c".into(),
            not_before,
            not_after: not_before + TimeDelta::days(365),
            cert_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            chain_pem: chain_pem.into(),
        }
    }

    #[test]
    fn certificates_are_stored_per_owner() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let chain = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
        let personal = db
            .insert_certificate(&new_cert(
                CertificateOwner::User(leader.id),
                CertificatePurpose::Personal,
                chain,
            ))
            .unwrap();
        let seal = db
            .insert_certificate(&new_cert(
                CertificateOwner::Unit(t.district.id),
                CertificatePurpose::Seal,
                chain,
            ))
            .unwrap();
        let tsa = db
            .insert_certificate(&new_cert(
                CertificateOwner::System,
                CertificatePurpose::Tsa,
                "",
            ))
            .unwrap();
        assert_eq!(personal.chain_pem, chain);
        assert_eq!(
            personal.subject,
            "CN=Nguyễn Văn A,O=UBND huyện Yên Lạc,C=VN"
        );
        assert_eq!(db.get_certificate(seal.id).unwrap(), seal);
        assert_eq!(
            db.certificates_of(CertificateOwner::User(leader.id))
                .unwrap(),
            vec![personal.clone()]
        );
        assert_eq!(
            db.certificates_of(CertificateOwner::Unit(t.district.id))
                .unwrap(),
            vec![seal]
        );
        assert_eq!(
            db.certificates_of(CertificateOwner::System).unwrap(),
            vec![tsa.clone()]
        );
        assert!(db
            .certificates_of(CertificateOwner::Unit(t.commune.id))
            .unwrap()
            .is_empty());
        assert_eq!(tsa.chain_pem, "");
        assert!(matches!(
            db.get_certificate(9999),
            Err(StoreError::NotFound {
                entity: "certificate"
            })
        ));
        let missing_owner = new_cert(
            CertificateOwner::User(UserId::new(999).unwrap()),
            CertificatePurpose::Personal,
            "",
        );
        assert!(matches!(
            db.insert_certificate(&missing_owner),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn purposes_parse() {
        for p in [
            CertificatePurpose::Personal,
            CertificatePurpose::Seal,
            CertificatePurpose::Tsa,
        ] {
            assert_eq!(p.as_str().parse::<CertificatePurpose>().unwrap(), p);
        }
        assert!("root".parse::<CertificatePurpose>().is_err());
    }
}
