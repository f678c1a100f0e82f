//! The packages this installation sends: a released document for its external recipients,
//! and the status packages of the outbox, each sealed with the sending unit's seal.

use std::io::Read;

use chrono::{DateTime, FixedOffset, Utc};
use vanthu_domain::{UnitCode, UnitId};
use vanthu_interchange::{
    sign, Attachment, Business, BusinessDocType, DocumentKind, MessageHeader, Organ, OtherInfo,
    Package, PromulgationInfo, Receiver, ReplacementInfo, ResponseFor, SignerInfo, StatusPackage,
    TraceHeader, TraceHeaderList,
};
use vanthu_keys::Kek;
use vanthu_routing::{
    Confidentiality, DocumentIdentifier, InterchangeStatus, OutgoingState, VIETNAM_OFFSET_SECONDS,
};
use vanthu_store::blob::BlobStore;
use vanthu_store::{Database, Medium, OutboxBusiness, OutgoingDocument, SealedPackage, StoreError};

use crate::error::ApiError;
use crate::signing_keys::interchange_seal;
use crate::state::SignerRevocation;

fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS).expect("UTC+7 is an offset")
}

/// The package of an issued or released electronic document, for its external recipients;
/// a document that cannot be sent (not issued, on paper, classified, no external
/// recipient) is a `StateConflict` saying why.
pub fn document_package(
    db: &Database,
    blobs: &dyn BlobStore,
    doc: &OutgoingDocument,
) -> Result<Package, ApiError> {
    let id = doc.id;
    let refuse = |why: String| Err(ApiError::StateConflict(why));
    if !matches!(doc.state, OutgoingState::Issued | OutgoingState::Released) {
        return refuse(format!(
            "outgoing document {id} is {}; only an issued or released document can be sent",
            doc.state.as_str()
        ));
    }
    let (Medium::Electronic, Some(issue)) = (doc.medium, &doc.issue) else {
        return refuse(format!(
            "outgoing document {id} was issued on paper; there is no signed file to send"
        ));
    };
    let m = &doc.metadata;
    if m.confidentiality != Confidentiality::Normal {
        return refuse(format!(
            "outgoing document {id} is classified ({}); classified documents are not sent \
             through the interchange",
            m.confidentiality.as_str()
        ));
    }
    if m.external_recipients.is_empty() {
        return refuse(format!(
            "outgoing document {id} names no agency outside this installation"
        ));
    }
    let unit = db.get_unit(doc.unit_id)?;
    let signer = db.get_user(m.signer.user)?;
    let file = db
        .outgoing_files(id)?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("outgoing document {id} has no file")))?;
    let mut data = Vec::new();
    blobs
        .open(&file.sha256)
        .map_err(StoreError::from)?
        .read_to_end(&mut data)
        .map_err(ApiError::internal)?;
    let prefix = m.signer.authority.prefix();
    Ok(Package {
        header: MessageHeader {
            from: Organ::new(unit.code.clone(), unit.name.as_str()),
            to: m
                .external_recipients
                .iter()
                .map(|r| Organ::new(r.agency_code.clone(), r.name.as_str()))
                .collect(),
            document_id: issue.identifier.clone(),
            code: issue.number_notation.clone(),
            promulgation: PromulgationInfo {
                place: None,
                date: issue.date,
            },
            document_type: DocumentKind {
                code: None,
                name: m.document_type.clone(),
            },
            subject: m.summary.clone(),
            content: None,
            signer: SignerInfo {
                competence: (!prefix.is_empty()).then(|| prefix.to_owned()),
                position: m.signer.position.clone(),
                full_name: signer.display_name.as_str().to_owned(),
            },
            due_date: m.due_date,
            to_places: m
                .external_recipients
                .iter()
                .map(|r| r.name.as_str().to_owned())
                .collect(),
            other: OtherInfo {
                priority: m.urgency,
                sphere_of_promulgation: None,
                typer_notation: None,
                promulgation_amount: None,
                page_amount: None,
                appendixes: Vec::new(),
            },
            response_for: Vec::new(),
            steering_type: 0,
        },
        trace: TraceHeaderList {
            traces: vec![TraceHeader {
                organ_id: unit.code.clone(),
                timestamp: Utc::now().with_timezone(&vietnam()),
            }],
            business: Business {
                doc_type: BusinessDocType::New,
                reason: None,
                staff: None,
                receivers: m
                    .external_recipients
                    .iter()
                    .map(|r| Receiver {
                        receiver_type: Some(1),
                        organ_id: r.agency_code.clone(),
                    })
                    .collect(),
                replacements: Vec::new(),
            },
        },
        attachments: vec![Attachment {
            content_id: file.sha256.as_str()[..16].to_owned(),
            name: format!("{}.pdf", issue.number_notation.as_str().replace('/', "-")),
            content_type: "application/pdf".to_owned(),
            description: None,
            data,
        }],
    })
}

/// The status package `unit` sends about `identifier` (a DocumentId): `code` as of `at`.
pub fn status_package(
    db: &Database,
    unit: UnitId,
    identifier: &str,
    code: InterchangeStatus,
    description: Option<&str>,
    at: DateTime<Utc>,
) -> Result<StatusPackage, ApiError> {
    let unit = db.get_unit(unit)?;
    let document_id = DocumentIdentifier::parse(identifier)
        .map_err(|e| ApiError::internal(format!("stored DocumentId: {}", e.message)))?;
    let sender = identifier.split(',').next().unwrap_or_default();
    Ok(StatusPackage {
        from: Organ::new(unit.code.clone(), unit.name.as_str()),
        response_for: ResponseFor {
            organ_id: UnitCode::parse(sender).map_err(|e| ApiError::internal(e.message))?,
            code: identifier.splitn(3, ',').nth(2).map(str::to_owned),
            promulgation_date: None,
            document_id,
        },
        status: code,
        description: description.map(str::to_owned),
        timestamp: at.with_timezone(&vietnam()),
        staff: None,
    })
}

/// `xml` sealed with `unit`'s seal (opened under the KEK), as every package sent is; with
/// `revocation`, a seal whose certificate is revoked is refused first.
pub fn seal(
    db: &Database,
    kek: &Kek,
    unit: UnitId,
    xml: &str,
    revocation: Option<&SignerRevocation>,
) -> Result<String, ApiError> {
    let seal = interchange_seal(db, kek, unit, revocation)?;
    sign(xml, &seal).map_err(|e| ApiError::UnusableCertificate(e.to_string()))
}

/// What the packages of a step do to the document they carry (the Bussiness part of
/// their trace): a release sends the document new; a revoke, an update and a replace act on
/// one sent before.
#[derive(Debug, Clone)]
pub struct Notice {
    /// BussinessDocType.
    pub doc_type: BusinessDocType,
    /// BussinessDocReason: why (for a revoke, an update or a replace).
    pub reason: Option<String>,
    /// ReplacementInfoList: the documents a replacement stands for.
    pub replaces: Vec<ReplacementInfo>,
}

impl Notice {
    /// A release: the document, new.
    pub fn new_document() -> Notice {
        Notice {
            doc_type: BusinessDocType::New,
            reason: None,
            replaces: Vec::new(),
        }
    }

    /// `doc_type` of the document sent before, for `reason`.
    pub fn acting(doc_type: BusinessDocType, reason: &str) -> Notice {
        Notice {
            doc_type,
            reason: Some(reason.to_owned()),
            replaces: Vec::new(),
        }
    }
}

/// The sealed packages a release queues: one per external recipient agency, each addressed
/// to that agency alone, so each installation receiving one files it for that agency.
pub fn sealed_packages(
    db: &Database,
    blobs: &dyn BlobStore,
    kek: &Kek,
    doc: &OutgoingDocument,
    revocation: Option<&SignerRevocation>,
) -> Result<Vec<SealedPackage>, ApiError> {
    sealed_notices(
        db,
        blobs,
        kek,
        doc,
        &Notice::new_document(),
        None,
        revocation,
    )
}

/// The sealed packages of `doc` doing `notice`, one per external recipient agency (those
/// of `only`, when given), each addressed to that agency alone and carrying the document
/// as it now stands with its PDF; the seal's certificate is checked first against
/// `revocation` when given.
pub fn sealed_notices(
    db: &Database,
    blobs: &dyn BlobStore,
    kek: &Kek,
    doc: &OutgoingDocument,
    notice: &Notice,
    only: Option<&[UnitCode]>,
    revocation: Option<&SignerRevocation>,
) -> Result<Vec<SealedPackage>, ApiError> {
    let wanted = |code: &UnitCode| only.is_none_or(|o| o.contains(code));
    if !doc
        .metadata
        .external_recipients
        .iter()
        .any(|r| wanted(&r.agency_code))
    {
        return Ok(Vec::new());
    }
    let mut package = document_package(db, blobs, doc)?;
    let business = &mut package.trace.business;
    business.doc_type = notice.doc_type;
    business.reason.clone_from(&notice.reason);
    business.replacements.clone_from(&notice.replaces);
    let kind = match notice.doc_type {
        BusinessDocType::New => OutboxBusiness::New,
        BusinessDocType::Revoke => OutboxBusiness::Revoke,
        BusinessDocType::Update => OutboxBusiness::Update,
        BusinessDocType::Replace => OutboxBusiness::Replace,
    };
    let mut sealed = Vec::with_capacity(package.header.to.len());
    for to in package.header.to.iter().filter(|o| wanted(&o.id)) {
        let mut one = package.clone();
        one.header.to = vec![to.clone()];
        let xml = one
            .to_xml()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        sealed.push(SealedPackage {
            agency: to.id.clone(),
            business: kind,
            xml: seal(db, kek, doc.unit_id, &xml, revocation)?,
        });
    }
    Ok(sealed)
}
