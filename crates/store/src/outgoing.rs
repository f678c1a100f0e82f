//! Outgoing documents: drafts and their revisions, the life-cycle steps, the register series
//! that number them, release into the recipients' incoming queues, lists and trace.
//!
//! As for incoming documents, every step is one transaction that writes only while the
//! document is still in the state (and at the revision) the caller checked the step against.
//! A number is taken from the counter row of the unit's series for the year inside the
//! issuing transaction, and the caller's numbered, sealed file is produced inside that same
//! transaction ([`Database::issue_outgoing`]): an issue that fails gives its number back, so
//! the register has no gap and no duplicate.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::{Acting, VisibleScope};
use vanthu_domain::{
    IncomingId, OutgoingId, PageRequest, Paged, Sha256Digest, UnitCode, UnitId, UnitPath, UserId,
    ValidationError,
};
use vanthu_routing::{
    fold_for_search, register_year, DocumentIdentifier, DocumentNumber, DocumentType,
    ExternalRecipient, IncomingState, InterchangeStatus, Notation, NumberNotation, OutgoingAction,
    OutgoingMetadata, OutgoingState, OutgoingStep, Position, RecallState, RecipientName,
    RegisterSeries, SignerAssignment, Summary, Urgency,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, per_backend, DbConnection};
use crate::delegations::{on_behalf_of, principals_named, with_authority, OnBehalfOf};
use crate::error::missing;
use crate::incoming::{contains_pattern, format_date, insert_received, parse_date};
use crate::outbox::{self, SealedPackage};
use crate::reports;
use crate::schema::{
    files, incoming_documents, outgoing_documents, outgoing_events, outgoing_files,
    outgoing_prepared_signatures, outgoing_recipients, outgoing_register_counters, units, users,
};
use crate::time::{from_millis, to_millis};
use crate::units::{load_unit, offset, subtree_pattern};
use crate::users::load_user;
use crate::{Database, IncomingDocument, NewIncoming, StoreError};

const ENTITY: &str = "outgoing document";
const PDF: &str = "application/pdf";

/// How a document exists: as a signed PDF made here, or on paper, recorded for the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Drafted, signed and issued electronically.
    Electronic,
    /// Issued on paper; numbered from the same series, not signed here.
    Paper,
}

impl Medium {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Electronic => "electronic",
            Medium::Paper => "paper",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "electronic" => Ok(Medium::Electronic),
            "paper" => Ok(Medium::Paper),
            other => Err(StoreError::corrupt(format!("medium '{other}'"))),
        }
    }
}

/// Where the signer's key was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// The signer's key held here, unlocked by their signing PIN.
    ServerKey,
    /// The signer's own token, through prepare and complete.
    External,
}

impl SignatureKind {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureKind::ServerKey => "server_key",
            SignatureKind::External => "external",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "server_key" => Ok(SignatureKind::ServerKey),
            "external" => Ok(SignatureKind::External),
            other => Err(StoreError::corrupt(format!("signature kind '{other}'"))),
        }
    }
}

/// What a revision of the document's PDF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionKind {
    /// A draft as uploaded.
    Draft,
    /// The draft with the signer's signature.
    Signed,
    /// The signed file with its number and date filled in and the seal signature.
    Issued,
}

impl RevisionKind {
    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionKind::Draft => "draft",
            RevisionKind::Signed => "signed",
            RevisionKind::Issued => "issued",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "draft" => Ok(RevisionKind::Draft),
            "signed" => Ok(RevisionKind::Signed),
            "issued" => Ok(RevisionKind::Issued),
            other => Err(StoreError::corrupt(format!("revision kind '{other}'"))),
        }
    }
}

/// A file just written to the blob store, to record as a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision {
    /// The blob's name.
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
}

/// A draft to record, after its file is in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDraft {
    /// The issuing unit (the drafter's).
    pub unit_id: UnitId,
    /// The drafter.
    pub drafted_by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What the drafter recorded.
    pub metadata: OutgoingMetadata,
    /// The draft PDF.
    pub file: NewRevision,
}

/// A document issued on paper, to record and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPaperDocument {
    /// The issuing unit (the clerk's).
    pub unit_id: UnitId,
    /// The clerk.
    pub recorded_by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What the clerk recorded.
    pub metadata: OutgoingMetadata,
}

/// The number, date and identifier given at issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRecord {
    /// The register year.
    pub year: i32,
    /// The series the number came from.
    pub series: RegisterSeries,
    /// Số.
    pub number: DocumentNumber,
    /// Số, ký hiệu as printed, e.g. `01/QĐ-UBND`.
    pub number_notation: NumberNotation,
    /// Ngày ban hành, Vietnam time.
    pub date: NaiveDate,
    /// Mã định danh.
    pub identifier: DocumentIdentifier,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The clerk.
    pub issued_by: UserId,
}

/// An outgoing document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingDocument {
    /// Its id.
    pub id: OutgoingId,
    /// The issuing unit.
    pub unit_id: UnitId,
    /// Path of that unit, for access checks.
    pub unit_path: UnitPath,
    /// Where it stands.
    pub state: OutgoingState,
    /// Electronic or paper.
    pub medium: Medium,
    /// What the drafter recorded.
    pub metadata: OutgoingMetadata,
    /// The drafter (the clerk, for paper).
    pub drafted_by: UserId,
    /// When it was drafted or recorded.
    pub drafted_at: DateTime<Utc>,
    /// How and when it was signed.
    pub signature: Option<(SignatureKind, DateTime<Utc>)>,
    /// Its number and date, once issued.
    pub issue: Option<IssueRecord>,
    /// When it was released.
    pub released_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The latest revision of its PDF (0 for paper).
    pub revision: u32,
}

/// One version of the document's PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    /// 1 for the first draft, counting up.
    pub revision: u32,
    /// What it is.
    pub kind: RevisionKind,
    /// The blob's name.
    pub sha256: Sha256Digest,
    /// Length in bytes.
    pub size: u64,
    /// Who added it.
    pub added_by: UserId,
    /// When.
    pub added_at: DateTime<Utc>,
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingTraceEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: UserId,
    /// Their full name at the time of reading.
    pub actor_name: String,
    /// The leader they stood in for, when they acted under a delegation.
    pub on_behalf_of: Option<OnBehalfOf>,
    /// What they did.
    pub action: OutgoingAction,
    /// The state it left the document in.
    pub state: OutgoingState,
    /// The comment, reason or note they gave.
    pub note: Option<String>,
}

/// A recipient and, for a unit of this installation, its copy once released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// A unit here, or `None` for an agency elsewhere.
    pub unit_id: Option<UnitId>,
    /// The agency elsewhere.
    pub external: Option<ExternalRecipient>,
    /// The recipient's copy and where it stands there.
    pub copy: Option<(IncomingId, IncomingState)>,
    /// Where the recall of the copy stands, once recalled.
    pub recall: Option<RecallState>,
    /// For an agency elsewhere, the latest status it reported through the interchange, and
    /// the time the status package gives.
    pub reported: Option<(InterchangeStatus, DateTime<Utc>)>,
}

/// What [`Database::record_recipient_status`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRecord {
    /// The status is the recipient's latest and was recorded.
    Recorded(OutgoingId),
    /// The same status was already recorded at that time, or a later one was: a status
    /// package delivered again or late changes nothing.
    AlreadyKnown(OutgoingId),
}

/// A signature prepared for an external key (the official's token).
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedSignature {
    /// The revision it was prepared over.
    pub base_revision: u32,
    /// The file with the signature's placeholder, in the blob store.
    pub prepared: NewRevision,
    /// The signer's certificate, DER.
    pub certificate: Vec<u8>,
    /// DER of the signed attributes the token signs.
    pub signed_attributes: Vec<u8>,
    /// Digest algorithm name, e.g. `sha256`.
    pub digest_algorithm: String,
    /// Signature algorithm name, e.g. `rsa_pkcs1v15`.
    pub signature_algorithm: String,
    /// Who prepared it (the signer).
    pub prepared_by: UserId,
    /// Until when a completion is accepted.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for PreparedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSignature")
            .field("base_revision", &self.base_revision)
            .field("prepared", &self.prepared)
            .field("prepared_by", &self.prepared_by)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Which outgoing documents a list returns; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingFilter {
    /// Only documents in this state.
    pub state: Option<OutgoingState>,
    /// Only documents of this urgency.
    pub urgency: Option<Urgency>,
    /// Only documents drafted (or recorded) in this calendar year, Vietnam time.
    pub year: Option<i32>,
    /// Words in the number/notation, notation or summary, with or without diacritics.
    pub search: Option<String>,
    /// Only documents this user is to sign.
    pub signer: Option<UserId>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outgoing_documents)]
pub(crate) struct OutgoingRow {
    id: i64,
    unit_id: i64,
    state: String,
    medium: String,
    document_type: String,
    summary: String,
    urgency: i32,
    confidentiality: String,
    notation: String,
    signer_id: i64,
    signer_position: String,
    authority: String,
    due_date: Option<String>,
    drafted_by: i64,
    drafted_at: i64,
    signature: Option<String>,
    signed_at: Option<i64>,
    register_year: Option<i32>,
    series: Option<String>,
    number: Option<i64>,
    number_notation: Option<String>,
    issued_date: Option<String>,
    issued_at: Option<i64>,
    issued_by: Option<i64>,
    document_identifier: Option<String>,
    released_at: Option<i64>,
    updated_at: i64,
}

type RecipientRow = (
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn series_of(s: &str) -> Result<RegisterSeries, StoreError> {
    match s {
        "regular" => Ok(RegisterSeries::Regular),
        "secret" => Ok(RegisterSeries::Secret),
        other => Err(StoreError::corrupt(format!("series '{other}'"))),
    }
}

fn to_issue(row: &OutgoingRow) -> Result<Option<IssueRecord>, StoreError> {
    let bad =
        |e: ValidationError| StoreError::corrupt(format!("outgoing document {}: {e}", row.id));
    let (
        Some(year),
        Some(series),
        Some(number),
        Some(nn),
        Some(date),
        Some(at),
        Some(by),
        Some(id),
    ) = (
        row.register_year,
        row.series.as_deref(),
        row.number,
        row.number_notation.as_deref(),
        row.issued_date.as_deref(),
        row.issued_at,
        row.issued_by,
        row.document_identifier.as_deref(),
    )
    else {
        return Ok(None);
    };
    let number_notation = NumberNotation::parse(nn).map_err(bad)?;
    let date = parse_date(date)?;
    let identifier = DocumentIdentifier::parse(id).map_err(bad)?;
    Ok(Some(IssueRecord {
        year,
        series: series_of(series)?,
        number: DocumentNumber::new(number).map_err(bad)?,
        number_notation,
        date,
        identifier,
        issued_at: from_millis(at)?,
        issued_by: UserId::new(by).map_err(bad)?,
    }))
}

fn to_document(
    row: OutgoingRow,
    path: String,
    recipients: Vec<RecipientRow>,
    revision: u32,
) -> Result<OutgoingDocument, StoreError> {
    let id = row.id;
    let bad = |e: ValidationError| StoreError::corrupt(format!("outgoing document {id}: {e}"));
    let urgency = u8::try_from(row.urgency)
        .map_err(StoreError::corrupt)
        .and_then(|p| Urgency::from_priority(p).map_err(bad))?;
    let mut internal_recipients = Vec::new();
    let mut external_recipients = Vec::new();
    for (_, unit, name, code, _) in recipients {
        match (unit, name, code) {
            (Some(unit), None, None) => internal_recipients.push(UnitId::new(unit).map_err(bad)?),
            (None, Some(name), Some(code)) => external_recipients.push(ExternalRecipient {
                name: RecipientName::parse(&name).map_err(bad)?,
                agency_code: UnitCode::parse(&code).map_err(bad)?,
            }),
            _ => return Err(bad(ValidationError::new("recipient", "is partly recorded"))),
        }
    }
    let signature = match (row.signature.as_deref(), row.signed_at) {
        (Some(kind), Some(at)) => Some((SignatureKind::parse(kind)?, from_millis(at)?)),
        (None, None) => None,
        _ => return Err(bad(ValidationError::new("signature", "is partly recorded"))),
    };
    let issue = to_issue(&row)?;
    Ok(OutgoingDocument {
        id: OutgoingId::new(row.id).map_err(bad)?,
        unit_id: UnitId::new(row.unit_id).map_err(bad)?,
        unit_path: UnitPath::parse(&path).map_err(bad)?,
        state: row.state.parse().map_err(bad)?,
        medium: Medium::parse(&row.medium)?,
        metadata: OutgoingMetadata {
            document_type: DocumentType::parse(&row.document_type).map_err(bad)?,
            summary: Summary::parse(&row.summary).map_err(bad)?,
            urgency,
            confidentiality: row.confidentiality.parse().map_err(bad)?,
            notation: Notation::parse(&row.notation).map_err(bad)?,
            signer: SignerAssignment {
                user: UserId::new(row.signer_id).map_err(bad)?,
                position: Position::parse(&row.signer_position).map_err(bad)?,
                authority: row.authority.parse().map_err(bad)?,
            },
            internal_recipients,
            external_recipients,
            due_date: row.due_date.as_deref().map(parse_date).transpose()?,
        },
        drafted_by: UserId::new(row.drafted_by).map_err(bad)?,
        drafted_at: from_millis(row.drafted_at)?,
        signature,
        issue,
        released_at: row.released_at.map(from_millis).transpose()?,
        updated_at: from_millis(row.updated_at)?,
        revision,
    })
}

/// The recipient rows of these documents, by document, in the order the drafter named them.
fn load_recipients(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<RecipientRow>>, StoreError> {
    let query = outgoing_recipients::table.into_boxed();
    // One document (every step loads one) is a statement the connection keeps prepared; a
    // list of ids (`IN (...)`) is prepared each time.
    let query = match ids {
        [one] => query.filter(outgoing_recipients::document_id.eq(*one)),
        many => query.filter(outgoing_recipients::document_id.eq_any(many)),
    };
    let rows: Vec<RecipientRow> = query
        .order((
            outgoing_recipients::document_id.asc(),
            outgoing_recipients::position.asc(),
        ))
        .select((
            outgoing_recipients::document_id,
            outgoing_recipients::unit_id,
            outgoing_recipients::name,
            outgoing_recipients::agency_code,
            outgoing_recipients::incoming_id,
        ))
        .load(conn)?;
    let mut by_document: HashMap<i64, Vec<RecipientRow>> = HashMap::new();
    for row in rows {
        by_document.entry(row.0).or_default().push(row);
    }
    Ok(by_document)
}

fn latest_revisions(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, u32>, StoreError> {
    let query = outgoing_files::table
        .group_by(outgoing_files::document_id)
        .select((
            outgoing_files::document_id,
            diesel::dsl::max(outgoing_files::revision),
        ))
        .into_boxed();
    // As in `load_recipients`: one document, one prepared statement.
    let query = match ids {
        [one] => query.filter(outgoing_files::document_id.eq(*one)),
        many => query.filter(outgoing_files::document_id.eq_any(many)),
    };
    let rows: Vec<(i64, Option<i32>)> = query.load(conn)?;
    rows.into_iter()
        .map(|(id, rev)| {
            let rev = u32::try_from(rev.unwrap_or(0)).map_err(StoreError::corrupt)?;
            Ok((id, rev))
        })
        .collect()
}

/// Turns rows into documents with their recipients and latest revisions.
pub(crate) fn assemble(
    conn: &mut DbConnection,
    rows: Vec<(OutgoingRow, String)>,
) -> Result<Vec<OutgoingDocument>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let mut recipients = load_recipients(conn, &ids)?;
    let revisions = latest_revisions(conn, &ids)?;
    rows.into_iter()
        .map(|(row, path)| {
            let mine = recipients.remove(&row.id).unwrap_or_default();
            let revision = revisions.get(&row.id).copied().unwrap_or(0);
            to_document(row, path, mine, revision)
        })
        .collect()
}

pub(crate) fn load_outgoing(
    conn: &mut DbConnection,
    id: OutgoingId,
) -> Result<OutgoingDocument, StoreError> {
    let row: (OutgoingRow, String) = outgoing_documents::table
        .inner_join(units::table)
        .filter(outgoing_documents::id.eq(id.get()))
        .select((OutgoingRow::as_select(), units::path))
        .get_result(conn)
        .map_err(missing(ENTITY))?;
    assemble(conn, vec![row])?
        .pop()
        .ok_or_else(|| StoreError::not_found(ENTITY))
}

/// The unit a document belongs to: one query, where the whole document is not needed.
fn unit_of(conn: &mut DbConnection, id: OutgoingId) -> Result<UnitId, StoreError> {
    let unit: i64 = outgoing_documents::table
        .find(id.get())
        .select(outgoing_documents::unit_id)
        .get_result(conn)
        .map_err(missing(ENTITY))?;
    UnitId::new(unit).map_err(StoreError::corrupt)
}

/// The audit log's name for a trace action.
fn audit_action(action: OutgoingAction) -> AuditAction {
    match action {
        OutgoingAction::Draft => AuditAction::OutgoingDraft,
        OutgoingAction::RecordPaper => AuditAction::OutgoingRecordPaper,
        OutgoingAction::Comment => AuditAction::OutgoingComment,
        OutgoingAction::RecallAccepted => AuditAction::OutgoingRecallAccepted,
        OutgoingAction::RecallRefused => AuditAction::OutgoingRecallRefused,
        OutgoingAction::RecipientStatus => AuditAction::OutgoingRecipientStatus,
        OutgoingAction::Update => AuditAction::OutgoingUpdate,
        OutgoingAction::Step(OutgoingStep::Revise) => AuditAction::OutgoingRevise,
        OutgoingAction::Step(OutgoingStep::Approve) => AuditAction::OutgoingApprove,
        OutgoingAction::Step(OutgoingStep::Return) => AuditAction::OutgoingReturn,
        OutgoingAction::Step(OutgoingStep::Sign) => AuditAction::OutgoingSign,
        OutgoingAction::Step(OutgoingStep::Issue) => AuditAction::OutgoingIssue,
        OutgoingAction::Step(OutgoingStep::Release) => AuditAction::OutgoingRelease,
        OutgoingAction::Step(OutgoingStep::Recall) => AuditAction::OutgoingRecall,
    }
}

/// Adds a line to the document's trace and queues its audit entry, in the caller's
/// transaction; `file` is the PDF the action brought in, if it brought one.
#[allow(clippy::too_many_arguments)] // One argument per fact the trace and the log keep.
fn record_event(
    conn: &mut DbConnection,
    id: OutgoingId,
    action: OutgoingAction,
    state: OutgoingState,
    by: impl Into<Acting>,
    at: DateTime<Utc>,
    note: Option<&str>,
    file: Option<&Sha256Digest>,
) -> Result<(), StoreError> {
    let mut event = Event::step(
        audit_action(action),
        ObjectRef::outgoing(id),
        state.as_str(),
        note,
    );
    if let Some(file) = file {
        event = event.file(file);
    }
    let by = by.into();
    let event = with_authority(conn, event, by)?;
    audit::record(conn, Some(by.user), at, event)?;
    diesel::insert_into(outgoing_events::table)
        .values((
            outgoing_events::document_id.eq(id.get()),
            outgoing_events::action.eq(action.as_str()),
            outgoing_events::state.eq(state.as_str()),
            outgoing_events::actor_id.eq(by.user.get()),
            outgoing_events::at.eq(to_millis(at)),
            outgoing_events::note.eq(note),
            outgoing_events::on_behalf_of.eq(on_behalf_of(by)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes `step` from `expected` and records it in the trace; writes nothing if the document
/// is no longer in `expected`, or, when `revision` is given, no longer at that revision.
#[allow(clippy::too_many_arguments)]
fn transition(
    conn: &mut DbConnection,
    id: OutgoingId,
    expected: OutgoingState,
    revision: Option<u32>,
    step: OutgoingStep,
    by: impl Into<Acting>,
    at: DateTime<Utc>,
    note: Option<&str>,
    file: Option<&Sha256Digest>,
) -> Result<OutgoingState, StoreError> {
    let next = expected.apply(step)?;
    if let Some(expected_revision) = revision {
        let now = latest_revisions(conn, &[id.get()])?
            .get(&id.get())
            .copied()
            .unwrap_or(0);
        if now != expected_revision {
            return Err(StoreError::Stale {
                entity: ENTITY,
                now: format!("at revision {now}"),
            });
        }
    }
    let updated = diesel::update(
        outgoing_documents::table
            .filter(outgoing_documents::id.eq(id.get()))
            .filter(outgoing_documents::state.eq(expected.as_str())),
    )
    .set((
        outgoing_documents::state.eq(next.as_str()),
        outgoing_documents::updated_at.eq(to_millis(at)),
    ))
    .execute(conn)?;
    if updated == 0 {
        let now: Option<String> = outgoing_documents::table
            .find(id.get())
            .select(outgoing_documents::state)
            .get_result(conn)
            .optional()?;
        let Some(now) = now else {
            return Err(StoreError::not_found(ENTITY));
        };
        let now: OutgoingState = now.parse().map_err(StoreError::corrupt)?;
        return Err(match now.apply(step) {
            Err(e) => e.into(),
            Ok(_) => StoreError::Stale {
                entity: ENTITY,
                now: now.to_string(),
            },
        });
    }
    record_event(
        conn,
        id,
        OutgoingAction::Step(step),
        next,
        by,
        at,
        note,
        file,
    )?;
    Ok(next)
}

/// Records `file` as the next revision, held by the document's unit like any upload.
/// Records that `unit` holds the PDF `file` (once per unit), and returns its size as stored.
pub(crate) fn hold_pdf(
    conn: &mut DbConnection,
    unit: UnitId,
    file: &NewRevision,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    hold_blob(conn, unit, file, PDF, by, at)
}

/// Records that `unit` holds `file` of `media_type` (once per unit), and returns its size as
/// stored.
pub(crate) fn hold_blob(
    conn: &mut DbConnection,
    unit: UnitId,
    file: &NewRevision,
    media_type: &str,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let size =
        i64::try_from(file.size).map_err(|_| ValidationError::new("file", "is too large"))?;
    per_backend!(&mut *conn, c => diesel::insert_into(files::table)
        .values((
            files::sha256.eq(file.sha256.as_str()),
            files::unit_id.eq(unit.get()),
            files::size.eq(size),
            files::media_type.eq(media_type),
            files::uploaded_by.eq(by.get()),
            files::created_at.eq(to_millis(at)),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(size)
}

fn add_revision(
    conn: &mut DbConnection,
    id: OutgoingId,
    unit: UnitId,
    kind: RevisionKind,
    file: &NewRevision,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let size = hold_pdf(conn, unit, file, by, at)?;
    let revision = latest_revisions(conn, &[id.get()])?
        .get(&id.get())
        .copied()
        .unwrap_or(0)
        + 1;
    diesel::insert_into(outgoing_files::table)
        .values((
            outgoing_files::document_id.eq(id.get()),
            outgoing_files::revision.eq(i32::try_from(revision).map_err(StoreError::corrupt)?),
            outgoing_files::kind.eq(kind.as_str()),
            outgoing_files::sha256.eq(file.sha256.as_str()),
            outgoing_files::size.eq(size),
            outgoing_files::added_by.eq(by.get()),
            outgoing_files::added_at.eq(to_millis(at)),
        ))
        .execute(conn)?;
    Ok(revision)
}

/// The next number of `unit`'s `series` for `year`, taken inside the caller's transaction:
/// the counter row stays locked until it commits, and a rollback returns the number.
fn next_number(
    conn: &mut DbConnection,
    unit: UnitId,
    year: i32,
    series: RegisterSeries,
) -> Result<DocumentNumber, StoreError> {
    let number: i64 = per_backend!(conn, c => diesel::insert_into(outgoing_register_counters::table)
        .values((
            outgoing_register_counters::unit_id.eq(unit.get()),
            outgoing_register_counters::year.eq(year),
            outgoing_register_counters::series.eq(series.as_str()),
            outgoing_register_counters::last_number.eq(1_i64),
        ))
        .on_conflict((
            outgoing_register_counters::unit_id,
            outgoing_register_counters::year,
            outgoing_register_counters::series,
        ))
        .do_update()
        .set(outgoing_register_counters::last_number.eq(outgoing_register_counters::last_number + 1))
        .returning(outgoing_register_counters::last_number)
        .get_result(c))?;
    DocumentNumber::new(number).map_err(StoreError::corrupt)
}

/// Takes the next number for the document and writes it with the date and identifier.
/// Refuses (409, nothing written) a number and notation the unit already used this year.
fn assign_number(
    conn: &mut DbConnection,
    document: &OutgoingDocument,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<IssueRecord, StoreError> {
    let unit = load_unit(conn, document.unit_id)?;
    let year = register_year(at);
    let series = document.metadata.confidentiality.series();
    let number = next_number(conn, document.unit_id, year, series)?;
    let number_notation = number.with_notation(&document.metadata.notation);
    let date = vanthu_routing::vietnam_today(at);
    let identifier = DocumentIdentifier::new(&unit.code, date, &number_notation);
    let taken: i64 = outgoing_documents::table
        .filter(outgoing_documents::unit_id.eq(document.unit_id.get()))
        .filter(outgoing_documents::register_year.eq(year))
        .filter(outgoing_documents::number_notation.eq(number_notation.as_str()))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict {
            entity: ENTITY,
            field: "number and notation",
        });
    }
    let search_text = search_text_of(&document.metadata, Some(&number_notation));
    diesel::update(outgoing_documents::table.find(document.id.get()))
        .set((
            outgoing_documents::register_year.eq(Some(year)),
            outgoing_documents::series.eq(Some(series.as_str())),
            outgoing_documents::number.eq(Some(i64::from(number))),
            outgoing_documents::number_notation.eq(Some(number_notation.as_str())),
            outgoing_documents::issued_date.eq(Some(format_date(date))),
            outgoing_documents::issued_at.eq(Some(to_millis(at))),
            outgoing_documents::issued_by.eq(Some(by.get())),
            outgoing_documents::document_identifier.eq(Some(identifier.as_str())),
            outgoing_documents::search_text.eq(search_text),
        ))
        .execute(conn)?;
    Ok(IssueRecord {
        year,
        series,
        number,
        number_notation,
        date,
        identifier,
        issued_at: at,
        issued_by: by,
    })
}

fn search_text_of(m: &OutgoingMetadata, number: Option<&NumberNotation>) -> String {
    let number = number.map(NumberNotation::as_str).unwrap_or_default();
    fold_for_search(&format!("{number} {} {}", m.notation, m.summary))
}

/// Checks the signer and the recipients of a draft against the tree: the signer is a leader
/// of the issuing unit with an account in use; internal recipients exist.
fn check_parties(
    conn: &mut DbConnection,
    unit: UnitId,
    m: &OutgoingMetadata,
) -> Result<(), StoreError> {
    let refuse = |field: &'static str, message: String| {
        StoreError::Invalid(ValidationError::new(field, message))
    };
    let signer = load_user(conn, m.signer.user).map_err(|e| match e {
        StoreError::NotFound { .. } => {
            refuse("signer", format!("there is no user {}", m.signer.user))
        }
        other => other,
    })?;
    if signer.unit_id != unit || !signer.roles.contains(vanthu_domain::Role::Leader) {
        return Err(refuse(
            "signer",
            format!(
                "{} is not a leader of the issuing unit",
                signer.display_name
            ),
        ));
    }
    if signer.disabled {
        return Err(refuse(
            "signer",
            format!("{}'s account is disabled", signer.display_name),
        ));
    }
    for recipient in &m.internal_recipients {
        if *recipient == unit {
            return Err(refuse(
                "internal_recipients",
                "the issuing unit cannot send the document to itself".into(),
            ));
        }
        load_unit(conn, *recipient).map_err(|e| match e {
            StoreError::NotFound { .. } => refuse(
                "internal_recipients",
                format!("there is no unit {recipient}"),
            ),
            other => other,
        })?;
    }
    Ok(())
}

fn insert_document(
    conn: &mut DbConnection,
    unit: UnitId,
    by: UserId,
    at: DateTime<Utc>,
    m: &OutgoingMetadata,
    medium: Medium,
    state: OutgoingState,
) -> Result<OutgoingId, StoreError> {
    m.check_recipients()?;
    load_unit(conn, unit)?;
    load_user(conn, by)?;
    check_parties(conn, unit, m)?;
    let millis = to_millis(at);
    let id = insert_returning_id!(
        &mut *conn,
        outgoing_documents::table,
        (
            outgoing_documents::unit_id.eq(unit.get()),
            outgoing_documents::state.eq(state.as_str()),
            outgoing_documents::medium.eq(medium.as_str()),
            outgoing_documents::document_type.eq(m.document_type.as_str()),
            outgoing_documents::summary.eq(m.summary.as_str()),
            outgoing_documents::urgency.eq(i32::from(m.urgency.priority())),
            outgoing_documents::confidentiality.eq(m.confidentiality.as_str()),
            outgoing_documents::notation.eq(m.notation.as_str()),
            outgoing_documents::signer_id.eq(m.signer.user.get()),
            outgoing_documents::signer_position.eq(m.signer.position.as_str()),
            outgoing_documents::authority.eq(m.signer.authority.as_str()),
            outgoing_documents::due_date.eq(m.due_date.map(format_date)),
            outgoing_documents::search_text.eq(search_text_of(m, None)),
            outgoing_documents::drafted_by.eq(by.get()),
            outgoing_documents::drafted_at.eq(millis),
            outgoing_documents::drafted_year.eq(register_year(at)),
            outgoing_documents::updated_at.eq(millis),
        ),
        outgoing_documents::id
    )?;
    let id = OutgoingId::new(id).map_err(StoreError::corrupt)?;
    let internal = m
        .internal_recipients
        .iter()
        .map(|u| (Some(u.get()), None, None));
    let external = m.external_recipients.iter().map(|r| {
        (
            None,
            Some(r.name.as_str().to_owned()),
            Some(r.agency_code.as_str().to_owned()),
        )
    });
    for (position, (unit, name, code)) in internal.chain(external).enumerate() {
        diesel::insert_into(outgoing_recipients::table)
            .values((
                outgoing_recipients::document_id.eq(id.get()),
                outgoing_recipients::position
                    .eq(i32::try_from(position).map_err(StoreError::corrupt)?),
                outgoing_recipients::unit_id.eq(unit),
                outgoing_recipients::name.eq(name),
                outgoing_recipients::agency_code.eq(code),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// How a recall tells the document's agencies elsewhere.
enum RecallNotice<'a> {
    /// Status 13 to each, with the reason.
    Status,
    /// These sealed packages (revoke packages), each for one of them.
    Packages(&'a [SealedPackage]),
}

/// Refuses packages that are not one for each external recipient of `document`.
fn one_package_each(
    document: &OutgoingDocument,
    packages: &[SealedPackage],
) -> Result<(), StoreError> {
    let agencies = &document.metadata.external_recipients;
    if packages.len() != agencies.len()
        || !agencies
            .iter()
            .all(|r| packages.iter().any(|p| p.agency == r.agency_code))
    {
        return Err(StoreError::Invalid(ValidationError::new(
            "packages",
            "one sealed package for each external recipient is needed",
        )));
    }
    Ok(())
}

/// The release of `id` from `expected`, in the caller's transaction: the trace line (with
/// `note`), a copy for each internal recipient, each package queued.
#[allow(clippy::too_many_arguments)] // One argument per fact the release records.
fn release_in(
    conn: &mut DbConnection,
    id: OutgoingId,
    expected: OutgoingState,
    by: UserId,
    at: DateTime<Utc>,
    note: Option<&str>,
    copies: &[NewIncoming],
    packages: &[SealedPackage],
) -> Result<(), StoreError> {
    let document = load_outgoing(conn, id)?;
    transition(
        conn,
        id,
        expected,
        None,
        OutgoingStep::Release,
        by,
        at,
        note,
        None,
    )?;
    let wanted = &document.metadata.internal_recipients;
    let given: Vec<UnitId> = copies.iter().map(|c| c.unit_id).collect();
    if given.len() != wanted.len() || !wanted.iter().all(|u| given.contains(u)) {
        return Err(StoreError::Invalid(ValidationError::new(
            "copies",
            "one copy for each internal recipient is needed",
        )));
    }
    one_package_each(&document, packages)?;
    if let Some(issue) = &document.issue {
        for package in packages {
            outbox::queue_document(
                conn,
                document.unit_id,
                id,
                issue.identifier.as_str(),
                package,
                at,
            )?;
        }
    }
    for copy in copies {
        let incoming = insert_received(conn, copy, Some(id))?;
        diesel::update(
            outgoing_recipients::table
                .filter(outgoing_recipients::document_id.eq(id.get()))
                .filter(outgoing_recipients::unit_id.eq(copy.unit_id.get())),
        )
        .set(outgoing_recipients::incoming_id.eq(Some(incoming.get())))
        .execute(conn)?;
    }
    diesel::update(outgoing_documents::table.find(id.get()))
        .set(outgoing_documents::released_at.eq(Some(to_millis(at))))
        .execute(conn)?;
    Ok(())
}

/// The recall of `id` from `expected`, in the caller's transaction: the trace line
/// (`note`), the copies here frozen with `reason`, the agencies elsewhere told by `notice`.
#[allow(clippy::too_many_arguments)] // One argument per fact the recall records.
fn recall_in(
    conn: &mut DbConnection,
    id: OutgoingId,
    expected: OutgoingState,
    by: UserId,
    at: DateTime<Utc>,
    note: &str,
    reason: &str,
    notice: RecallNotice<'_>,
) -> Result<(), StoreError> {
    transition(
        conn,
        id,
        expected,
        None,
        OutgoingStep::Recall,
        by,
        at,
        Some(note),
        None,
    )?;
    let document = load_outgoing(conn, id)?;
    if let Some(issue) = &document.issue {
        let identifier = issue.identifier.as_str();
        match notice {
            RecallNotice::Status => {
                for agency in &document.metadata.external_recipients {
                    outbox::queue_status(
                        conn,
                        document.unit_id,
                        &agency.agency_code,
                        identifier,
                        (InterchangeStatus::Recall, Some(reason)),
                        (Some(id), None),
                        at,
                    )?;
                }
            }
            RecallNotice::Packages(packages) => {
                for package in packages {
                    outbox::queue_document(conn, document.unit_id, id, identifier, package, at)?;
                }
            }
        }
    }
    diesel::update(
        incoming_documents::table.filter(incoming_documents::source_outgoing_id.eq(id.get())),
    )
    .set((
        incoming_documents::recall.eq(Some(RecallState::Requested.as_str())),
        incoming_documents::recall_reason.eq(Some(reason)),
        incoming_documents::recalled_at.eq(Some(to_millis(at))),
    ))
    .execute(conn)?;
    Ok(())
}

/// Runs `step` inside `transaction` and keeps the caller's own error when `step` fails, so a
/// failure of work done inside the transaction (signing, writing a file) rolls back and
/// reaches the caller as itself.
fn with_inner<T, E: From<StoreError>>(
    db: &Database,
    step: impl FnOnce(&mut DbConnection, &mut Option<E>) -> Result<T, StoreError>,
) -> Result<T, E> {
    let mut failure = None;
    let result = db.transaction(|conn| step(conn, &mut failure));
    match (result, failure) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
        (Ok(v), None) => Ok(v),
    }
}

impl Database {
    /// Records a draft with its file as revision 1 and the first trace entry.
    pub fn create_outgoing_draft(&self, new: &NewDraft) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let id = insert_document(
                conn,
                new.unit_id,
                new.drafted_by,
                new.at,
                &new.metadata,
                Medium::Electronic,
                OutgoingState::Draft,
            )?;
            add_revision(
                conn,
                id,
                new.unit_id,
                RevisionKind::Draft,
                &new.file,
                new.drafted_by,
                new.at,
            )?;
            record_event(
                conn,
                id,
                OutgoingAction::Draft,
                OutgoingState::Draft,
                new.drafted_by,
                new.at,
                None,
                Some(&new.file.sha256),
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Records a document issued on paper, numbered at once from the unit's series.
    pub fn record_paper_outgoing(
        &self,
        new: &NewPaperDocument,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let id = insert_document(
                conn,
                new.unit_id,
                new.recorded_by,
                new.at,
                &new.metadata,
                Medium::Paper,
                OutgoingState::Issued,
            )?;
            let document = load_outgoing(conn, id)?;
            assign_number(conn, &document, new.recorded_by, new.at)?;
            record_event(
                conn,
                id,
                OutgoingAction::RecordPaper,
                OutgoingState::Issued,
                new.recorded_by,
                new.at,
                None,
                None,
            )?;
            reports::count_new_outgoing(conn, id)?;
            load_outgoing(conn, id)
        })
    }

    /// The outgoing document with this id.
    pub fn get_outgoing(&self, id: OutgoingId) -> Result<OutgoingDocument, StoreError> {
        self.read(|conn| load_outgoing(conn, id))
    }

    /// Adds a revision of the draft, if it is still `expected` at `revision`; a returned
    /// draft becomes a draft again.
    #[allow(clippy::too_many_arguments)]
    pub fn revise_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        revision: u32,
        by: UserId,
        at: DateTime<Utc>,
        file: &NewRevision,
        note: Option<&str>,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let document = load_outgoing(conn, id)?;
            transition(
                conn,
                id,
                expected,
                Some(revision),
                OutgoingStep::Revise,
                by,
                at,
                note,
                Some(&file.sha256),
            )?;
            add_revision(
                conn,
                id,
                document.unit_id,
                RevisionKind::Draft,
                file,
                by,
                at,
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Adds a comment to a draft (not once approved).
    pub fn comment_outgoing(
        &self,
        id: OutgoingId,
        by: UserId,
        at: DateTime<Utc>,
        text: &str,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let document = load_outgoing(conn, id)?;
            // Comments belong to the draft: the same rule as a revision.
            document.state.apply(OutgoingStep::Revise)?;
            record_event(
                conn,
                id,
                OutgoingAction::Comment,
                document.state,
                by,
                at,
                Some(text),
                None,
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Approves the draft at `revision`, if it is still `expected` there.
    pub fn approve_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        revision: u32,
        by: UserId,
        at: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            transition(
                conn,
                id,
                expected,
                Some(revision),
                OutgoingStep::Approve,
                by,
                at,
                note,
                None,
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Returns the draft to its drafter with `reason`, if it is still `expected`.
    pub fn return_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            transition(
                conn,
                id,
                expected,
                None,
                OutgoingStep::Return,
                by,
                at,
                Some(reason),
                None,
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Keeps a signature prepared for an external key, replacing an earlier one, if the
    /// document is still approved at `prepared.base_revision`.
    pub fn save_prepared_signature(
        &self,
        id: OutgoingId,
        prepared: &PreparedSignature,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            let document = load_outgoing(conn, id)?;
            document.state.apply(OutgoingStep::Sign)?;
            if document.revision != prepared.base_revision {
                return Err(StoreError::Stale {
                    entity: ENTITY,
                    now: format!("at revision {}", document.revision),
                });
            }
            let size = i64::try_from(prepared.prepared.size).map_err(StoreError::corrupt)?;
            diesel::delete(outgoing_prepared_signatures::table.find(id.get())).execute(conn)?;
            diesel::insert_into(outgoing_prepared_signatures::table)
                .values((
                    outgoing_prepared_signatures::document_id.eq(id.get()),
                    outgoing_prepared_signatures::base_revision
                        .eq(i32::try_from(prepared.base_revision).map_err(StoreError::corrupt)?),
                    outgoing_prepared_signatures::prepared_sha256
                        .eq(prepared.prepared.sha256.as_str()),
                    outgoing_prepared_signatures::prepared_size.eq(size),
                    outgoing_prepared_signatures::certificate.eq(&prepared.certificate),
                    outgoing_prepared_signatures::signed_attributes.eq(&prepared.signed_attributes),
                    outgoing_prepared_signatures::digest_algorithm.eq(&prepared.digest_algorithm),
                    outgoing_prepared_signatures::signature_algorithm
                        .eq(&prepared.signature_algorithm),
                    outgoing_prepared_signatures::prepared_by.eq(prepared.prepared_by.get()),
                    outgoing_prepared_signatures::expires_at.eq(to_millis(prepared.expires_at)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// The signature prepared for the document, if any.
    pub fn prepared_signature(
        &self,
        id: OutgoingId,
    ) -> Result<Option<PreparedSignature>, StoreError> {
        type Row = (i32, String, i64, Vec<u8>, Vec<u8>, String, String, i64, i64);
        let row: Option<Row> = outgoing_prepared_signatures::table
            .find(id.get())
            .select((
                outgoing_prepared_signatures::base_revision,
                outgoing_prepared_signatures::prepared_sha256,
                outgoing_prepared_signatures::prepared_size,
                outgoing_prepared_signatures::certificate,
                outgoing_prepared_signatures::signed_attributes,
                outgoing_prepared_signatures::digest_algorithm,
                outgoing_prepared_signatures::signature_algorithm,
                outgoing_prepared_signatures::prepared_by,
                outgoing_prepared_signatures::expires_at,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        row.map(
            |(rev, sha, size, certificate, attrs, digest, algorithm, by, expires)| {
                Ok(PreparedSignature {
                    base_revision: u32::try_from(rev).map_err(StoreError::corrupt)?,
                    prepared: NewRevision {
                        sha256: Sha256Digest::parse(&sha).map_err(StoreError::corrupt)?,
                        size: u64::try_from(size).map_err(StoreError::corrupt)?,
                    },
                    certificate,
                    signed_attributes: attrs,
                    digest_algorithm: digest,
                    signature_algorithm: algorithm,
                    prepared_by: UserId::new(by).map_err(StoreError::corrupt)?,
                    expires_at: from_millis(expires)?,
                })
            },
        )
        .transpose()
    }

    /// Records the signed file, if the document is still `expected` at `revision`; consumes
    /// a prepared signature. Of two signers racing, one signs and the other gets 409.
    #[allow(clippy::too_many_arguments)]
    pub fn sign_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        revision: u32,
        by: impl Into<Acting>,
        at: DateTime<Utc>,
        kind: SignatureKind,
        file: &NewRevision,
    ) -> Result<OutgoingDocument, StoreError> {
        let by = by.into();
        self.transaction(|conn| {
            let unit = unit_of(conn, id)?;
            transition(
                conn,
                id,
                expected,
                Some(revision),
                OutgoingStep::Sign,
                by,
                at,
                None,
                Some(&file.sha256),
            )?;
            add_revision(conn, id, unit, RevisionKind::Signed, file, by.user, at)?;
            diesel::update(outgoing_documents::table.find(id.get()))
                .set((
                    outgoing_documents::signature.eq(Some(kind.as_str())),
                    outgoing_documents::signed_at.eq(Some(to_millis(at))),
                ))
                .execute(conn)?;
            diesel::delete(outgoing_prepared_signatures::table.find(id.get())).execute(conn)?;
            load_outgoing(conn, id)
        })
    }

    /// Issues the document if it is still `expected` at `revision`: takes the next number
    /// of the unit's series, then calls `produce` with the number, date and identifier to
    /// write the numbered and sealed file, all in one transaction. When `produce` fails,
    /// nothing is written, the number is given back, and its error is returned.
    pub fn issue_outgoing<E: From<StoreError>>(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        revision: u32,
        by: UserId,
        at: DateTime<Utc>,
        produce: impl FnOnce(&IssueRecord) -> Result<NewRevision, E>,
    ) -> Result<OutgoingDocument, E> {
        with_inner(self, |conn, failure| {
            reports::track_outgoing(conn, id, |conn| {
                let document = load_outgoing(conn, id)?;
                transition(
                    conn,
                    id,
                    expected,
                    Some(revision),
                    OutgoingStep::Issue,
                    by,
                    at,
                    None,
                    None,
                )?;
                let issue = assign_number(conn, &document, by, at)?;
                let file = match produce(&issue) {
                    Ok(file) => file,
                    Err(e) => {
                        *failure = Some(e);
                        // Only rolls back: `with_inner` returns the caller's error instead.
                        return Err(StoreError::not_found(ENTITY));
                    }
                };
                add_revision(
                    conn,
                    id,
                    document.unit_id,
                    RevisionKind::Issued,
                    &file,
                    by,
                    at,
                )?;
                let sealed = Event::done(AuditAction::OutgoingSeal, ObjectRef::outgoing(id))
                    .with("number_notation", issue.number_notation.as_str())
                    .with("document_identifier", issue.identifier.as_str())
                    .file(&file.sha256);
                audit::record(conn, Some(by), at, sealed)?;
                load_outgoing(conn, id)
            })
        })
    }

    /// Releases an issued document, if it is still `expected`: each copy in `copies` goes
    /// to its internal recipient, each sealed package of `packages` to the outbox.
    pub fn release_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        by: UserId,
        at: DateTime<Utc>,
        copies: &[NewIncoming],
        packages: &[SealedPackage],
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            release_in(conn, id, expected, by, at, None, copies, packages)?;
            load_outgoing(conn, id)
        })
    }

    /// Recalls a released document, if it is still `expected`: it is frozen, and every copy
    /// in a recipient's queue is frozen too and awaits the recipient's answer; its agencies
    /// elsewhere are sent status 13 with the reason.
    pub fn recall_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            recall_in(
                conn,
                id,
                expected,
                by,
                at,
                reason,
                reason,
                RecallNotice::Status,
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Recalls a released document as [`Database::recall_outgoing`] does, telling its
    /// agencies elsewhere with the revoke packages `packages` (BussinessDocType 1), one
    /// for each, instead of status 13.
    pub fn revoke_outgoing(
        &self,
        id: OutgoingId,
        expected: OutgoingState,
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
        packages: &[SealedPackage],
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let document = load_outgoing(conn, id)?;
            one_package_each(&document, packages)?;
            recall_in(
                conn,
                id,
                expected,
                by,
                at,
                reason,
                reason,
                RecallNotice::Packages(packages),
            )?;
            load_outgoing(conn, id)
        })
    }

    /// Corrects the details of a released document (type, summary, urgency, due date: what
    /// `corrected` gives of them; its number and date stay), if it still is as the caller
    /// read it (`read_at`, its `updated_at`): an `update` trace line with the reason, the
    /// update packages `packages` (BussinessDocType 2), one for each agency elsewhere, and
    /// its copies here not frozen by a recall corrected, in one transaction.
    #[allow(clippy::too_many_arguments)] // The document as read, and what the step records.
    pub fn update_outgoing(
        &self,
        id: OutgoingId,
        read_at: DateTime<Utc>,
        corrected: &OutgoingMetadata,
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
        packages: &[SealedPackage],
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let document = load_outgoing(conn, id)?;
            one_package_each(&document, packages)?;
            let m = corrected;
            let number = document.issue.as_ref().map(|i| &i.number_notation);
            let updated = reports::track_outgoing(conn, id, |conn| {
                Ok(diesel::update(
                    outgoing_documents::table
                        .find(id.get())
                        .filter(outgoing_documents::state.eq(OutgoingState::Released.as_str()))
                        .filter(outgoing_documents::updated_at.eq(to_millis(read_at))),
                )
                .set((
                    outgoing_documents::document_type.eq(m.document_type.as_str()),
                    outgoing_documents::summary.eq(m.summary.as_str()),
                    outgoing_documents::urgency.eq(i32::from(m.urgency.priority())),
                    outgoing_documents::due_date.eq(m.due_date.map(format_date)),
                    outgoing_documents::search_text.eq(search_text_of(m, number)),
                    outgoing_documents::updated_at.eq(to_millis(at)),
                ))
                .execute(conn)?)
            })?;
            if updated == 0 {
                return Err(StoreError::Stale {
                    entity: ENTITY,
                    now: document.state.to_string(),
                });
            }
            record_event(
                conn,
                id,
                OutgoingAction::Update,
                OutgoingState::Released,
                by,
                at,
                Some(reason),
                None,
            )?;
            if let Some(issue) = &document.issue {
                for package in packages {
                    outbox::queue_document(
                        conn,
                        document.unit_id,
                        id,
                        issue.identifier.as_str(),
                        package,
                        at,
                    )?;
                }
            }
            let copies: Vec<i64> = incoming_documents::table
                .filter(incoming_documents::source_outgoing_id.eq(id.get()))
                .select(incoming_documents::id)
                .load(conn)?;
            let note = format!("corrected by its sender: {reason}");
            for copy in copies {
                let copy = IncomingId::new(copy).map_err(StoreError::corrupt)?;
                let mut metadata = crate::incoming::load_incoming(conn, copy)?.metadata;
                metadata.document_type = m.document_type.clone();
                metadata.summary = m.summary.clone();
                metadata.urgency = m.urgency;
                metadata.due_date = m.due_date;
                crate::incoming::update_copy(conn, copy, &metadata, None, &note, at)?;
            }
            load_outgoing(conn, id)
        })
    }

    /// Replaces the released document `old` by `new`, issued, in one transaction: `new` is
    /// released (its copies here, its replace packages `packages`, BussinessDocType 3,
    /// naming `old` in ReplacementInfoList, for its agencies elsewhere), and `old` recalled
    /// with `reason` (its copies here frozen; the agencies elsewhere that had it and do not
    /// receive `new` sent the revoke packages `revokes`). Returns `new`.
    #[allow(clippy::too_many_arguments)] // The two documents as read, and what each step needs.
    pub fn replace_outgoing(
        &self,
        (old, old_expected): (OutgoingId, OutgoingState),
        (new, new_expected): (OutgoingId, OutgoingState),
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
        copies: &[NewIncoming],
        packages: &[SealedPackage],
        revokes: &[SealedPackage],
    ) -> Result<OutgoingDocument, StoreError> {
        self.transaction(|conn| {
            let (replaced, replacement) = (load_outgoing(conn, old)?, load_outgoing(conn, new)?);
            let number = |d: &OutgoingDocument| {
                d.issue
                    .as_ref()
                    .map(|i| i.number_notation.to_string())
                    .unwrap_or_else(|| format!("document {}", d.id))
            };
            let left_out: Vec<&UnitCode> = replaced
                .metadata
                .external_recipients
                .iter()
                .map(|r| &r.agency_code)
                .filter(|c| {
                    !replacement
                        .metadata
                        .external_recipients
                        .iter()
                        .any(|r| r.agency_code == **c)
                })
                .collect();
            if revokes.len() != left_out.len()
                || !left_out
                    .iter()
                    .all(|c| revokes.iter().any(|p| p.agency == **c))
            {
                return Err(StoreError::Invalid(ValidationError::new(
                    "packages",
                    "one revoke package for each agency that had the replaced document and \
                     does not receive its replacement is needed",
                )));
            }
            release_in(
                conn,
                new,
                new_expected,
                by,
                at,
                Some(&format!("replaces {}: {reason}", number(&replaced))),
                copies,
                packages,
            )?;
            let why = format!("replaced by {}: {reason}", number(&replacement));
            recall_in(
                conn,
                old,
                old_expected,
                by,
                at,
                &why,
                &why,
                RecallNotice::Packages(revokes),
            )?;
            load_outgoing(conn, new)
        })
    }

    /// The recipient's answer to the recall of its copy `incoming`: accepted (the copy is
    /// withdrawn from the lists, kept) or refused (it stays). The sender's trace records it.
    pub fn answer_recall(
        &self,
        incoming: IncomingId,
        by: UserId,
        at: DateTime<Utc>,
        accept: bool,
        note: Option<&str>,
    ) -> Result<IncomingDocument, StoreError> {
        let answer = if accept {
            RecallState::Accepted
        } else {
            RecallState::Refused
        };
        self.transaction(|conn| {
            reports::track_incoming(conn, incoming, |conn| {
                let updated = diesel::update(
                    incoming_documents::table
                        .filter(incoming_documents::id.eq(incoming.get()))
                        .filter(incoming_documents::recall.eq(RecallState::Requested.as_str())),
                )
                .set((
                    incoming_documents::recall.eq(Some(answer.as_str())),
                    incoming_documents::recall_answered_by.eq(Some(by.get())),
                    incoming_documents::recall_answered_at.eq(Some(to_millis(at))),
                ))
                .execute(conn)?;
                let copy = crate::incoming::load_incoming(conn, incoming)?;
                if updated == 0 {
                    return Err(StoreError::Frozen(match copy.recall {
                        None => "its sender has not recalled this document",
                        Some(_) => "the recall of this document was already answered",
                    }));
                }
                let Some(source) = copy.source else {
                    // A copy that came as a package: the answer goes back to its sender.
                    let status = if accept {
                        InterchangeStatus::RecallAccepted
                    } else {
                        InterchangeStatus::RecallRefused
                    };
                    outbox::queue_incoming_status(conn, incoming, status, at)?;
                    let mut event = Event::done(
                        AuditAction::IncomingRecallAnswer,
                        ObjectRef::incoming(incoming),
                    )
                    .with("answer", answer.as_str());
                    if let Some(note) = note {
                        event = event.with("note", note);
                    }
                    audit::record(conn, Some(by), at, event)?;
                    return Ok(copy);
                };
                let action = if accept {
                    OutgoingAction::RecallAccepted
                } else {
                    OutgoingAction::RecallRefused
                };
                let unit = load_unit(conn, copy.unit_id)?;
                let note = match note {
                    Some(n) => format!("{}: {n}", unit.name),
                    None => unit.name.to_string(),
                };
                record_event(
                    conn,
                    source,
                    action,
                    OutgoingState::Recalled,
                    by,
                    at,
                    Some(&note),
                    None,
                )?;
                Ok(copy)
            })
        })
    }

    /// The outgoing document with this identifier (mã định danh).
    pub fn outgoing_by_identifier(&self, identifier: &str) -> Result<OutgoingDocument, StoreError> {
        let id: i64 = outgoing_documents::table
            .filter(outgoing_documents::document_identifier.eq(identifier))
            .select(outgoing_documents::id)
            .get_result(&mut *self.conn()?)
            .optional()?
            .ok_or_else(|| StoreError::not_found(ENTITY))?;
        self.get_outgoing(OutgoingId::new(id).map_err(StoreError::corrupt)?)
    }

    /// Records the status an agency elsewhere reported for its copy of the document
    /// identified by `identifier` (a status package's ResponseFor/DocumentId), with the
    /// trace line and audit entry, in one transaction. Only a status later than the one
    /// recorded counts, so packages delivered twice or out of order change nothing.
    /// NotFound when no document here has that identifier or names that agency.
    pub fn record_recipient_status(
        &self,
        identifier: &str,
        agency: &UnitCode,
        status: InterchangeStatus,
        at: DateTime<Utc>,
        by: UserId,
    ) -> Result<StatusRecord, StoreError> {
        self.transaction(|conn| {
            let (id, state): (i64, String) = outgoing_documents::table
                .filter(outgoing_documents::document_identifier.eq(identifier))
                .select((outgoing_documents::id, outgoing_documents::state))
                .get_result(conn)
                .optional()?
                .ok_or_else(|| StoreError::not_found(ENTITY))?;
            let doc = OutgoingId::new(id).map_err(StoreError::corrupt)?;
            let recipient = outgoing_recipients::table
                .filter(outgoing_recipients::document_id.eq(id))
                .filter(outgoing_recipients::agency_code.eq(agency.as_str()));
            let known: Option<i64> = recipient
                .select(outgoing_recipients::interchange_status_at)
                .first::<Option<i64>>(conn)
                .optional()?
                .ok_or_else(|| StoreError::not_found("recipient"))?;
            let at_ms = to_millis(at);
            outbox::acknowledge(conn, identifier, agency, status, at)?;
            if known.is_some_and(|k| k >= at_ms) {
                return Ok(StatusRecord::AlreadyKnown(doc));
            }
            diesel::update(recipient)
                .set((
                    outgoing_recipients::interchange_status.eq(status.code()),
                    outgoing_recipients::interchange_status_at.eq(at_ms),
                ))
                .execute(conn)?;
            let state: OutgoingState = state.parse().map_err(StoreError::corrupt)?;
            let note = format!("{agency}: {}", status.code());
            record_event(
                conn,
                doc,
                OutgoingAction::RecipientStatus,
                state,
                by,
                at,
                Some(&note),
                None,
            )?;
            Ok(StatusRecord::Recorded(doc))
        })
    }

    /// The recipients with, for units here, where their copy stands.
    pub fn outgoing_recipients(&self, id: OutgoingId) -> Result<Vec<RecipientStatus>, StoreError> {
        self.read(|conn| {
            let rows = load_recipients(conn, &[id.get()])?
                .remove(&id.get())
                .unwrap_or_default();
            let mut out = Vec::with_capacity(rows.len());
            let reported: HashMap<Option<String>, (Option<String>, Option<i64>)> =
                outgoing_recipients::table
                    .filter(outgoing_recipients::document_id.eq(id.get()))
                    .select((
                        outgoing_recipients::agency_code,
                        outgoing_recipients::interchange_status,
                        outgoing_recipients::interchange_status_at,
                    ))
                    .load::<(Option<String>, Option<String>, Option<i64>)>(conn)?
                    .into_iter()
                    .map(|(code, status, at)| (code, (status, at)))
                    .collect();
            for (_, unit, name, code, incoming) in rows {
                let reported = match reported.get(&code) {
                    Some((Some(status), Some(at))) => Some((
                        InterchangeStatus::from_code(status).ok_or_else(|| {
                            StoreError::corrupt(format!("interchange status '{status}'"))
                        })?,
                        from_millis(*at)?,
                    )),
                    _ => None,
                };
                let (copy, recall) = match incoming {
                    Some(incoming) => {
                        let (state, recall): (String, Option<String>) = incoming_documents::table
                            .find(incoming)
                            .select((incoming_documents::state, incoming_documents::recall))
                            .get_result(conn)?;
                        (
                            Some((
                                IncomingId::new(incoming).map_err(StoreError::corrupt)?,
                                state.parse().map_err(StoreError::corrupt)?,
                            )),
                            recall
                                .map(|r| r.parse())
                                .transpose()
                                .map_err(StoreError::corrupt)?,
                        )
                    }
                    None => (None, None),
                };
                let external = match (name, code) {
                    (Some(name), Some(code)) => Some(ExternalRecipient {
                        name: RecipientName::parse(&name).map_err(StoreError::corrupt)?,
                        agency_code: UnitCode::parse(&code).map_err(StoreError::corrupt)?,
                    }),
                    _ => None,
                };
                out.push(RecipientStatus {
                    unit_id: unit
                        .map(UnitId::new)
                        .transpose()
                        .map_err(StoreError::corrupt)?,
                    external,
                    copy,
                    recall,
                    reported,
                });
            }
            Ok(out)
        })
    }

    /// Who did what to the document, oldest first.
    pub fn outgoing_trace(&self, id: OutgoingId) -> Result<Vec<OutgoingTraceEntry>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            i64,
            Option<String>,
            String,
            Option<i64>,
        );
        self.read(|conn| {
            let rows: Vec<Row> = outgoing_events::table
                .inner_join(users::table)
                .filter(outgoing_events::document_id.eq(id.get()))
                .order(outgoing_events::id.asc())
                .select((
                    outgoing_events::at,
                    outgoing_events::action,
                    outgoing_events::state,
                    outgoing_events::actor_id,
                    outgoing_events::note,
                    users::display_name,
                    outgoing_events::on_behalf_of,
                ))
                .load(conn)?;
            let principals = principals_named(conn, &rows.iter().map(|r| r.6).collect::<Vec<_>>())?;
            rows.into_iter()
                .zip(principals)
                .map(
                    |((at, action, state, actor, note, name, _), on_behalf_of)| {
                        Ok(OutgoingTraceEntry {
                            at: from_millis(at)?,
                            actor_id: UserId::new(actor).map_err(StoreError::corrupt)?,
                            actor_name: name,
                            on_behalf_of,
                            action: action.parse().map_err(StoreError::corrupt)?,
                            state: state.parse().map_err(StoreError::corrupt)?,
                            note,
                        })
                    },
                )
                .collect()
        })
    }

    /// The document's file revisions, oldest first.
    pub fn outgoing_files(&self, id: OutgoingId) -> Result<Vec<OutgoingFile>, StoreError> {
        type Row = (i32, String, String, i64, i64, i64);
        let rows: Vec<Row> = outgoing_files::table
            .filter(outgoing_files::document_id.eq(id.get()))
            .order(outgoing_files::revision.asc())
            .select((
                outgoing_files::revision,
                outgoing_files::kind,
                outgoing_files::sha256,
                outgoing_files::size,
                outgoing_files::added_by,
                outgoing_files::added_at,
            ))
            .load(&mut *self.conn()?)?;
        rows.into_iter()
            .map(|(revision, kind, sha256, size, by, at)| {
                Ok(OutgoingFile {
                    revision: u32::try_from(revision).map_err(StoreError::corrupt)?,
                    kind: RevisionKind::parse(&kind)?,
                    sha256: Sha256Digest::parse(&sha256).map_err(StoreError::corrupt)?,
                    size: u64::try_from(size).map_err(StoreError::corrupt)?,
                    added_by: UserId::new(by).map_err(StoreError::corrupt)?,
                    added_at: from_millis(at)?,
                })
            })
            .collect()
    }

    /// Sổ văn bản đi: the documents `unit` numbered in `year` (electronic and paper), in
    /// register order: the regular series, then the secret one, each by number.
    pub fn outgoing_register(
        &self,
        unit: UnitId,
        year: i32,
    ) -> Result<Vec<OutgoingDocument>, StoreError> {
        self.read(|conn| {
            let rows: Vec<(OutgoingRow, String)> = outgoing_documents::table
                .inner_join(units::table)
                .filter(outgoing_documents::unit_id.eq(unit.get()))
                .filter(outgoing_documents::register_year.eq(year))
                .order((
                    outgoing_documents::series.asc(),
                    outgoing_documents::number.asc(),
                ))
                .select((OutgoingRow::as_select(), units::path))
                .load(conn)?;
            assemble(conn, rows)
        })
    }

    /// The documents of the units in `scope`, most urgent first, then newest first.
    pub fn list_outgoing(
        &self,
        scope: &VisibleScope,
        filter: &OutgoingFilter,
        page: PageRequest,
    ) -> Result<Paged<OutgoingDocument>, StoreError> {
        let search = filter
            .search
            .as_deref()
            .map(fold_for_search)
            .filter(|s| !s.is_empty())
            .map(|s| contains_pattern(&s));
        let filtered = || {
            let query = outgoing_documents::table
                .inner_join(units::table)
                .into_boxed();
            let mut query = match scope {
                VisibleScope::Unit(id) => query.filter(outgoing_documents::unit_id.eq(id.get())),
                VisibleScope::Subtree(prefix) => {
                    query.filter(units::path.like(subtree_pattern(prefix)))
                }
            };
            if let Some(state) = filter.state {
                query = query.filter(outgoing_documents::state.eq(state.as_str()));
            }
            if let Some(urgency) = filter.urgency {
                query = query.filter(outgoing_documents::urgency.eq(i32::from(urgency.priority())));
            }
            if let Some(year) = filter.year {
                query = query.filter(outgoing_documents::drafted_year.eq(year));
            }
            if let Some(signer) = filter.signer {
                query = query.filter(outgoing_documents::signer_id.eq(signer.get()));
            }
            if let Some(pattern) = &search {
                query = query.filter(
                    outgoing_documents::search_text
                        .like(pattern.clone())
                        .escape('\\'),
                );
            }
            query
        };
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<(OutgoingRow, String)> = filtered()
                .select((OutgoingRow::as_select(), units::path))
                .order((
                    outgoing_documents::urgency.desc(),
                    outgoing_documents::id.desc(),
                ))
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            let items = assemble(conn, rows)?;
            Ok(Paged {
                items,
                page: page.page(),
                per_page: page.per_page(),
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
    }
}
