//! `/api/v1/certificates`: the certificate inventory. Every personal and seal certificate of
//! the caller's subtree (and the installation's own, at the root) with its owner, issuer,
//! validity, where its key is kept and its status, with a warning 30, 7 and 1 days before it
//! expires, so an administrator renews a seal before the clerks cannot issue.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use openssl::x509::X509;
use serde::Serialize;
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{Unit, UnitCode, UnitId, UnitPath};
use vanthu_pades::trust::display_name;
use vanthu_store::{Certificate, CertificateOwner, CertificatePurpose, Database, StoreError};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::signing_keys::SealToken;
use crate::state::AppState;

/// Days before expiry at which the inventory warns, the last one first reached.
pub const WARN_DAYS: [i64; 3] = [30, 7, 1];

/// What the certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An official's own signature.
    Personal,
    /// An organisation's seal (con dấu).
    Seal,
    /// A time-stamping authority.
    Tsa,
}

/// Who owns the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// A person.
    User,
    /// An organisation.
    Unit,
    /// The installation itself.
    Installation,
}

/// Where the private key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    /// In the database, sealed under a key derived from its owner's signing PIN.
    PinProtected,
    /// In the database, sealed under the installation's key-encryption key (a file or
    /// environment variable of the configuration).
    KeyEncryptionKey,
    /// In a PKCS#11 token or HSM: the seal token, or a leader's own token on the server
    /// (its certificate read from the token without a login).
    Pkcs11,
}

/// Whether the certificate can sign now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In use and more than 30 days from expiry.
    Valid,
    /// In use and expiring within 30 days (see `warning`).
    Expiring,
    /// Past its end of validity: it cannot sign.
    Expired,
    /// Its validity has not begun.
    NotYetValid,
    /// Its owner enrolled a newer key; kept for the signatures made with it.
    Replaced,
}

/// A warning that the certificate expires soon.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiryWarning {
    /// The threshold reached: 30, 7 or 1 days before expiry.
    pub within_days: i64,
    /// What to do, in a sentence.
    pub message: String,
}

/// One certificate of the inventory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateEntry {
    /// What it is for.
    pub purpose: Purpose,
    /// Who owns it.
    pub owner_kind: OwnerKind,
    /// The owner's id (user or unit); none for the installation.
    pub owner_id: Option<i64>,
    /// The owner's name.
    pub owner: String,
    /// The unit the owner belongs to (itself for a seal).
    pub unit_id: Option<i64>,
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number in hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// Where its key is kept.
    pub key_location: KeyLocation,
    /// Whether it can sign now.
    pub status: Status,
    /// Whole days until it expires (negative once expired).
    pub days_left: i64,
    /// Set 30, 7 and 1 days before expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<ExpiryWarning>,
}

/// The certificates of the caller's unit and the units below it, soonest to expire first
/// (auditors and admins; others get 403).
#[utoipa::path(
    get,
    path = "/api/v1/certificates",
    tag = "signing",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CertificateEntry>),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only auditors and admins read the inventory", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the token holding the seal keys does not answer", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let subtree = auth.actor.unit_path.clone();
    auth.authorize(
        Action::ReadCertificates,
        &Target::in_unit(subtree.clone()),
        "certificate inventory",
    )?;
    let entries = web::block(move || {
        inventory(
            &state.db,
            Some(&subtree),
            state.seal_token.as_deref(),
            Utc::now(),
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(entries))
}

/// The inventory of `subtree` (everything with `None`), soonest to expire first, at `now`.
/// Blocks on the database and the token.
pub fn inventory(
    db: &Database,
    subtree: Option<&UnitPath>,
    token: Option<&SealToken>,
    now: DateTime<Utc>,
) -> Result<Vec<CertificateEntry>, ApiError> {
    let mut units: HashMap<UnitId, Unit> = HashMap::new();
    let mut unit = |db: &Database, id: UnitId| -> Result<Unit, ApiError> {
        if let Some(u) = units.get(&id) {
            return Ok(u.clone());
        }
        let u = db.get_unit(id)?;
        units.insert(id, u.clone());
        Ok(u)
    };
    let within = |path: &UnitPath| subtree.is_none_or(|s| path.is_within(s));
    // The installation's own certificates belong to whoever oversees the root.
    let sees_installation = match subtree {
        None => true,
        Some(s) => s.to_string().matches('/').count() == 2,
    };
    let mut current: HashMap<CertificateOwner, Option<i64>> = HashMap::new();
    // Leaders' keys found in their own tokens: certificate id, and whether still in use.
    let in_tokens: HashMap<i64, bool> = db.token_key_certificates()?.into_iter().collect();
    let mut entries = Vec::new();
    for cert in db.all_certificates()? {
        let (owner_kind, owner_id, owner, unit_id) = match cert.owner {
            CertificateOwner::User(id) => {
                let user = db.get_user(id)?;
                let u = unit(db, user.unit_id)?;
                if !within(&u.path) {
                    continue;
                }
                let name = user.display_name.to_string();
                (OwnerKind::User, Some(id.get()), name, Some(u.id.get()))
            }
            CertificateOwner::Unit(id) => {
                let u = unit(db, id)?;
                if !within(&u.path) {
                    continue;
                }
                let name = u.name.to_string();
                (OwnerKind::Unit, Some(id.get()), name, Some(id.get()))
            }
            CertificateOwner::System => {
                if !sees_installation {
                    continue;
                }
                let name = "this installation".to_owned();
                (OwnerKind::Installation, None, name, None)
            }
        };
        let in_use = match current.get(&cert.owner) {
            Some(id) => *id,
            None => {
                let id = match db.signing_key_of(cert.owner) {
                    Ok(key) => Some(key.certificate.id),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                current.insert(cert.owner, id);
                id
            }
        };
        let (purpose, key_location) = match cert.purpose {
            CertificatePurpose::Personal if in_tokens.contains_key(&cert.id) => {
                (Purpose::Personal, KeyLocation::Pkcs11)
            }
            CertificatePurpose::Personal => (Purpose::Personal, KeyLocation::PinProtected),
            CertificatePurpose::Seal => (Purpose::Seal, KeyLocation::KeyEncryptionKey),
            CertificatePurpose::Tsa => (Purpose::Tsa, KeyLocation::KeyEncryptionKey),
        };
        let replaced = match in_tokens.get(&cert.id) {
            Some(in_use) => !in_use,
            None => in_use.is_some_and(|id| id != cert.id),
        };
        entries.push(entry(
            &cert,
            purpose,
            (owner_kind, owner_id, owner, unit_id),
            key_location,
            replaced,
            now,
        )?);
    }
    if let Some(token) = token {
        for (label, der) in token.certificates()? {
            let Ok(code) = UnitCode::parse(&label) else {
                continue;
            };
            let u = match db.get_unit_by_code(&code) {
                Ok(u) => u,
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if !within(&u.path) {
                continue;
            }
            let x509 = X509::from_der(&der).map_err(ApiError::internal)?;
            let cert = record_of(&x509, CertificateOwner::Unit(u.id))?;
            let owner = (
                OwnerKind::Unit,
                Some(u.id.get()),
                u.name.to_string(),
                Some(u.id.get()),
            );
            entries.push(entry(
                &cert,
                Purpose::Seal,
                owner,
                KeyLocation::Pkcs11,
                false,
                now,
            )?);
        }
    }
    entries.sort_by_key(|e| e.not_after);
    Ok(entries)
}

type Owner = (OwnerKind, Option<i64>, String, Option<i64>);

fn entry(
    cert: &Certificate,
    purpose: Purpose,
    (owner_kind, owner_id, owner, unit_id): Owner,
    key_location: KeyLocation,
    replaced: bool,
    now: DateTime<Utc>,
) -> Result<CertificateEntry, ApiError> {
    let x509 = X509::from_pem(cert.cert_pem.as_bytes()).map_err(ApiError::internal)?;
    let days_left = (cert.not_after - now).num_days();
    let (status, warning) = if replaced {
        (Status::Replaced, None)
    } else if cert.not_after <= now {
        (Status::Expired, None)
    } else if cert.not_before > now {
        (Status::NotYetValid, None)
    } else {
        match expiry_warning(cert.not_after, now) {
            Some(w) => (Status::Expiring, Some(w)),
            None => (Status::Valid, None),
        }
    };
    Ok(CertificateEntry {
        purpose,
        owner_kind,
        owner_id,
        owner,
        unit_id,
        subject: cert.subject.clone(),
        issuer: display_name(x509.issuer_name()),
        serial: cert.serial.clone(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        key_location,
        status,
        days_left,
        warning,
    })
}

/// The warning for a certificate valid until `not_after`, from 30 days before.
pub fn expiry_warning(not_after: DateTime<Utc>, now: DateTime<Utc>) -> Option<ExpiryWarning> {
    let left = not_after - now;
    let within_days = WARN_DAYS
        .iter()
        .rev()
        .copied()
        .find(|days| left <= chrono::TimeDelta::days(*days))?;
    let when = not_after.format("%Y-%m-%d %H:%M UTC");
    let message = match left.num_days() {
        0 => format!("expires within a day, at {when}: install the renewed certificate now"),
        n => format!("expires in {n} days, at {when}: renew it and install the new certificate"),
    };
    Some(ExpiryWarning {
        within_days,
        message,
    })
}

/// A certificate found outside the database, as the store would describe it.
fn record_of(cert: &X509, owner: CertificateOwner) -> Result<Certificate, ApiError> {
    let record =
        crate::signing_keys::certificate_record(owner, CertificatePurpose::Seal, cert, &[])?;
    Ok(Certificate {
        id: 0,
        owner,
        purpose: record.purpose,
        subject: record.subject,
        serial: record.serial,
        not_before: record.not_before,
        not_after: record.not_after,
        cert_pem: record.cert_pem,
        chain_pem: record.chain_pem,
        created_at: record.not_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn warnings_come_at_30_7_and_1_days() {
        let now = Utc::now();
        let at = |d: i64, h: i64| now + TimeDelta::days(d) + TimeDelta::hours(h);
        assert!(expiry_warning(at(31, 0), now).is_none());
        assert_eq!(expiry_warning(at(30, 0), now).unwrap().within_days, 30);
        assert_eq!(expiry_warning(at(8, 0), now).unwrap().within_days, 30);
        assert_eq!(expiry_warning(at(7, 0), now).unwrap().within_days, 7);
        assert_eq!(expiry_warning(at(2, 0), now).unwrap().within_days, 7);
        let last = expiry_warning(at(0, 5), now).unwrap();
        assert_eq!(last.within_days, 1);
        assert!(
            last.message.starts_with("expires within a day"),
            "{}",
            last.message
        );
        let week = expiry_warning(at(5, 1), now).unwrap();
        assert!(
            week.message.starts_with("expires in 5 days"),
            "{}",
            week.message
        );
    }
}
