//! Receiving a package, by whatever way it came (`vanthu edxml import`, the folder pair,
//! the HTTPS inbox): a document becomes an incoming document of the unit it is addressed to,
//! once per DocumentId; a status is recorded at the sender, or, a recall (13), freezes the
//! copies here until their units answer.

use chrono::Utc;
use vanthu_domain::access::{authorize, Action, Actor, Target, VisibleScope};
use vanthu_domain::{PageRequest, Role, Unit, UnitCode, UnitId, User, MAX_PER_PAGE};
use vanthu_interchange::{
    inspect, Attachment, BusinessDocType, Limits, Message, Package, StatusPackage, Verdict,
};
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::{verify_bytes, VerifyOptions};
use vanthu_routing::{vietnam_today, IncomingMetadata, InterchangeStatus, IssuingBody};
use vanthu_store::blob::{BlobRef, BlobStore};
use vanthu_store::{Database, NewIncoming, StatusRecord, StoreError, UpdatedFile};

use super::{Agencies, Agency};

/// In whose name a package is received.
#[derive(Debug, Clone, Copy)]
pub enum Receiver<'a> {
    /// A clerk named on the command line: they must be allowed to receive for the unit.
    Clerk(&'a User),
    /// The agencies whose secret was presented at the inbox: the package must come from
    /// one of them, and it is received in the name of the addressed unit's first clerk.
    Agency(&'a [Agency]),
}

/// Why a package was not received.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The package cannot be trusted or does not fit here; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The installation is not set up to receive it (the clerk named may not); nothing was
    /// written.
    #[error("{0}")]
    Setup(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

fn refuse<T>(why: impl Into<String>) -> Result<T, ReceiveError> {
    Err(ReceiveError::Refused(why.into()))
}

/// What receiving needs: the storage, the limits and the trust anchors.
pub struct Receipt<'a> {
    /// The database.
    pub db: &'a Database,
    /// Where the documents' files go.
    pub blobs: &'a dyn BlobStore,
    /// Package limits.
    pub limits: Limits,
    /// Trust anchors of the packages' seals and of the PDFs' signatures.
    pub anchors: TrustAnchors,
    /// The agencies elsewhere: a package from one whose seal is configured must bear it.
    pub agencies: &'a Agencies,
}

impl Receipt<'_> {
    /// Receives the package; returns one line per thing done or tolerated.
    pub fn receive(&self, bytes: &[u8], by: Receiver<'_>) -> Result<Vec<String>, ReceiveError> {
        let inspection = match inspect(bytes, &self.limits, self.anchors.certificates()) {
            Ok(i) => i,
            Err(e) => return refuse(e.to_string()),
        };
        match &inspection.signature.verdict {
            Verdict::Valid => {}
            Verdict::IntactUnchecked => {
                return refuse(
                    "no trust anchors to judge the package's signature by (give --trust)",
                )
            }
            Verdict::Missing => return refuse("the package carries no signature"),
            Verdict::Broken(why) => return refuse(format!("signature broken: {why}")),
            Verdict::Untrusted(why) => return refuse(format!("signature untrusted: {why}")),
        }
        let from = match &inspection.message {
            Message::Document(p) => &p.header.from.id,
            Message::Status(s) => &s.from.id,
        };
        if let Receiver::Agency(agencies) = by {
            if !agencies.iter().any(|a| a.code == *from) {
                let codes: Vec<&str> = agencies.iter().map(|a| a.code.as_str()).collect();
                return refuse(format!(
                    "the package comes from {from}, but the secret presented is that of {}",
                    codes.join(", ")
                ));
            }
        }
        if let (Some(agency), Some(signer)) =
            (self.agencies.get(from), &inspection.signature.signer)
        {
            if !agency.signs_with(signer) {
                return refuse(format!(
                    "the package names {from} as From but is signed by {}, not the seal the \
                     agencies configuration gives {}",
                    inspection.signature.signer_subject().unwrap_or_default(),
                    agency.name
                ));
            }
        }
        let package: &Package = match &inspection.message {
            Message::Document(p) => p,
            Message::Status(status) => return self.status(status, by),
        };
        let mut lines = self.document(package, by)?;
        let last = lines.pop();
        lines.extend(
            inspection
                .tolerated
                .iter()
                .map(|t| format!("tolerated: {t}")),
        );
        lines.extend(last);
        Ok(lines)
    }

    fn document(&self, package: &Package, by: Receiver<'_>) -> Result<Vec<String>, ReceiveError> {
        let db = self.db;
        let h = &package.header;
        let business = &package.trace.business;
        let reason = business.reason.as_deref().unwrap_or_default();
        match business.doc_type {
            BusinessDocType::New => {}
            BusinessDocType::Revoke => {
                let identifier = h.document_id.as_str();
                own_document(identifier, &h.from.id)?;
                let recalled = db.recall_interchange(identifier, reason, Utc::now())?;
                return Ok(vec![recalled_line("revoked", identifier, recalled.len())]);
            }
            BusinessDocType::Replace => {
                for replaced in &business.replacements {
                    own_document(replaced.document_id.as_str(), &h.from.id)?;
                }
            }
            BusinessDocType::Update => {
                let identifier = h.document_id.as_str();
                own_document(identifier, &h.from.id)?;
                let metadata = metadata_of(package)?;
                // The file it carries, verified as on receipt, replaces the kept one where
                // it differs, as the copy's next revision.
                let file = match main_pdf(package) {
                    Some(pdf) => {
                        let (blob, report) = self.keep_verified(pdf)?;
                        Some(UpdatedFile {
                            sha256: blob.sha256,
                            size: blob.size,
                            verification: report.verdict.as_str().to_owned(),
                            verification_report: serde_json::to_string(&report)
                                .map_err(|e| ReceiveError::Other(e.to_string()))?,
                        })
                    }
                    None => None,
                };
                let updated = db.update_interchange(
                    identifier,
                    &metadata,
                    file.as_ref(),
                    reason,
                    Utc::now(),
                )?;
                return Ok(vec![match updated.len() {
                    0 => format!(
                        "updated: {identifier}, no copy here to update (unknown, or recalled)"
                    ),
                    n => format!(
                        "updated: {identifier}, {n} cop{} with the new details{}",
                        if n == 1 { "y" } else { "ies" },
                        match &file {
                            Some(f) => format!(", PDF verification {}", f.verification),
                            None => String::new(),
                        }
                    ),
                }]);
            }
        }
        let mut unit = None;
        for to in &h.to {
            match db.get_unit_by_code(&to.id) {
                Ok(u) => {
                    unit = Some(u);
                    break;
                }
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let Some(unit) = unit else {
            let to: Vec<&str> = h.to.iter().map(|o| o.id.as_str()).collect();
            return refuse(format!(
                "the package is addressed to {}, none of them a unit of this installation",
                to.join(", ")
            ));
        };
        let clerk = self.clerk_for(&unit, by, Action::ReceiveIncoming)?;
        let mut lines = Vec::new();
        let Some(pdf) = main_pdf(package) else {
            return refuse("the package carries no PDF attachment");
        };
        for other in package
            .attachments
            .iter()
            .filter(|a| a.content_id != pdf.content_id)
        {
            lines.push(format!(
                "not kept: attachment '{}' ({}); an incoming document holds its main PDF",
                other.name, other.content_type
            ));
        }
        let metadata = metadata_of(package)?;
        let now = Utc::now();
        let (blob, report) = self.keep_verified(pdf)?;
        let new = NewIncoming {
            unit_id: unit.id,
            received_by: clerk.id,
            received_at: now,
            metadata,
            sha256: blob.sha256,
            size: blob.size,
            verification: report.verdict.as_str().to_owned(),
            verification_report: serde_json::to_string(&report)
                .map_err(|e| ReceiveError::Other(e.to_string()))?,
        };
        let (document, fresh) = db.receive_interchange(&new, h.document_id.as_str())?;
        // A replacement recalls what it replaces once it is itself received; delivered again
        // after a crash in between, it finishes the job (a copy is recalled once).
        for replaced in &business.replacements {
            let why = format!("replaced by {}: {reason}", h.document_id);
            let recalled = db.recall_interchange(replaced.document_id.as_str(), &why, now)?;
            lines.push(recalled_line(
                "replaced",
                replaced.document_id.as_str(),
                recalled.len(),
            ));
        }
        lines.push(format!(
            "{}: incoming document {} of {} ({}), {}, PDF verification {}",
            if fresh {
                "imported"
            } else {
                "already imported"
            },
            document.id,
            unit.name,
            unit.code,
            h.document_id,
            document.verification
        ));
        Ok(lines)
    }

    /// The PDF `pdf`, verified offline as on any receipt, kept in the blob store.
    fn keep_verified(
        &self,
        pdf: &Attachment,
    ) -> Result<(BlobRef, vanthu_pades::verify::Report), ReceiveError> {
        let options = VerifyOptions {
            anchors: self.anchors.clone(),
            // As on any receipt: the server must not fetch addresses a received file names.
            offline: true,
            now: None,
        };
        let report = match verify_bytes(&pdf.data, &options) {
            Ok(r) => r,
            Err(e) => return refuse(format!("attachment '{}': {e}", pdf.name)),
        };
        let blob = self
            .blobs
            .put(&mut pdf.data.as_slice())
            .map_err(StoreError::from)?;
        Ok((blob, report))
    }

    /// The user in whose name a package for `unit` is received: the clerk given, if
    /// `action` is theirs there, or the unit's first clerk for an agency.
    fn clerk_for(
        &self,
        unit: &Unit,
        by: Receiver<'_>,
        action: Action,
    ) -> Result<User, ReceiveError> {
        match by {
            Receiver::Clerk(clerk) => {
                let clerk_unit = self.db.get_unit(clerk.unit_id)?;
                if authorize(
                    &Actor::new(clerk, &clerk_unit),
                    action,
                    &Target::in_unit(unit.path.clone()),
                )
                .is_err()
                    || clerk.unit_id != unit.id
                {
                    return Err(ReceiveError::Setup(format!(
                        "--clerk: {} may not receive documents for {} ({})",
                        clerk.username, unit.name, unit.code
                    )));
                }
                Ok(clerk.clone())
            }
            Receiver::Agency(_) => match first_clerk(self.db, unit.id)? {
                Some(clerk) => Ok(clerk),
                None => refuse(format!(
                    "{} ({}) has no clerk to receive documents in whose name",
                    unit.name, unit.code
                )),
            },
        }
    }

    /// A status package: a recall (13) of a document received here, or, at the sender, the
    /// status of the reporting agency's copy.
    fn status(
        &self,
        status: &StatusPackage,
        by: Receiver<'_>,
    ) -> Result<Vec<String>, ReceiveError> {
        let db = self.db;
        let identifier = status.response_for.document_id.as_str();
        let at = status.timestamp.with_timezone(&Utc);
        if status.status == InterchangeStatus::Recall {
            own_document(identifier, &status.from.id)?;
            let reason = status
                .description
                .clone()
                .unwrap_or_else(|| format!("recalled by {}", status.from.name));
            let recalled = db.recall_interchange(identifier, &reason, at)?;
            return Ok(vec![recalled_line("recalled", identifier, recalled.len())]);
        }
        let doc = match db.outgoing_by_identifier(identifier) {
            Ok(d) => d,
            Err(StoreError::NotFound { .. }) => {
                return refuse(format!(
                    "no outgoing document here has the identifier {identifier}"
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let unit = db.get_unit(doc.unit_id)?;
        let clerk = match by {
            Receiver::Clerk(clerk) => {
                let clerk_unit = db.get_unit(clerk.unit_id)?;
                if authorize(
                    &Actor::new(clerk, &clerk_unit),
                    Action::IssueOutgoing,
                    &Target::in_unit(doc.unit_path.clone()),
                )
                .is_err()
                {
                    return Err(ReceiveError::Setup(format!(
                        "--clerk: {} is not a clerk of the unit that sent {identifier}",
                        clerk.username
                    )));
                }
                clerk.clone()
            }
            Receiver::Agency(_) => self.clerk_for(&unit, by, Action::IssueOutgoing)?,
        };
        let line = match db.record_recipient_status(
            identifier,
            &status.from.id,
            status.status,
            at,
            clerk.id,
        ) {
            Ok(StatusRecord::Recorded(_)) => "recorded",
            Ok(StatusRecord::AlreadyKnown(_)) => "already known",
            Err(StoreError::NotFound { .. }) => {
                return refuse(format!(
                    "outgoing document {identifier} was not sent to {}",
                    status.from.id
                ))
            }
            Err(e) => return Err(e.into()),
        };
        Ok(vec![format!(
            "{line}: status {} of {} for outgoing document {} ({identifier})",
            status.status.code(),
            status.from.id,
            doc.id
        )])
    }
}

/// The package's main PDF: the first attachment that is one.
fn main_pdf(package: &Package) -> Option<&Attachment> {
    package
        .attachments
        .iter()
        .find(|a| a.content_type == "application/pdf" || a.name.to_lowercase().ends_with(".pdf"))
}

/// What an incoming document records of the package's header, checked as on any receipt.
fn metadata_of(package: &Package) -> Result<IncomingMetadata, ReceiveError> {
    let h = &package.header;
    let metadata = IncomingMetadata {
        issuing_body: match IssuingBody::parse(&h.from.name) {
            Ok(b) => b,
            Err(e) => return refuse(format!("MessageHeader/From/OrganName: {}", e.message)),
        },
        number_notation: h.code.clone(),
        document_date: h.promulgation.date,
        document_type: h.document_type.name.clone(),
        summary: h.subject.clone(),
        urgency: h.other.priority,
        due_date: h.due_date,
    };
    if let Err(e) = metadata.check_dates(vietnam_today(Utc::now())) {
        return refuse(format!("{}: {}", e.field, e.message));
    }
    Ok(metadata)
}

/// Refuses a package by which `from` acts on `identifier`, a document another agency sent.
fn own_document(identifier: &str, from: &UnitCode) -> Result<(), ReceiveError> {
    if identifier.starts_with(&format!("{from},")) {
        Ok(())
    } else {
        refuse(format!(
            "{from} acts on {identifier}, which another agency sent"
        ))
    }
}

/// What a recall, revoke or replacement did here.
fn recalled_line(what: &str, identifier: &str, copies: usize) -> String {
    match copies {
        0 => format!("{what}: {identifier}, no copy here awaiting it (unknown, or known already)"),
        1 => format!("{what}: {identifier}, 1 copy frozen awaiting its unit's answer"),
        n => format!("{what}: {identifier}, {n} copies frozen awaiting their units' answers"),
    }
}

/// The unit's first clerk (lowest id, not disabled), in whose name packages an agency
/// delivers are received.
fn first_clerk(db: &Database, unit: UnitId) -> Result<Option<User>, StoreError> {
    let mut page = 1;
    loop {
        let request = PageRequest::new(page, MAX_PER_PAGE).map_err(StoreError::Invalid)?;
        let users = db.list_users(&VisibleScope::Unit(unit), request)?;
        if let Some(clerk) = users
            .items
            .iter()
            .find(|u| !u.disabled && u.roles.contains(Role::Clerk))
        {
            return Ok(Some(clerk.clone()));
        }
        if u64::from(page) * u64::from(MAX_PER_PAGE) >= users.total {
            return Ok(None);
        }
        page += 1;
    }
}
