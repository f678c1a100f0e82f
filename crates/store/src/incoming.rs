//! Incoming documents: receipt, the life-cycle steps, the register counters, lists and trace.
//!
//! Every step is one transaction that writes only if the document is still in the state the
//! caller checked the step against (`UPDATE ... WHERE state = expected`), so of two clerks
//! registering the same document at once, one succeeds and the other changes nothing and is
//! told why. Arrival numbers come from a counter row per unit and year, incremented in the
//! registering transaction itself: a registration that rolls back takes its number with it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::{Acting, Assignee, Handling, VisibleScope};
use vanthu_domain::{
    IncomingId, OutgoingId, PageRequest, Paged, Role, Sha256Digest, UnitId, UnitPath, UserId,
    ValidationError,
};
use vanthu_routing::{
    fold_for_search, register_year, ArrivalNumber, Assignment, DocumentType, HandlingNote,
    IncomingMetadata, IncomingState, Instruction, InterchangeStatus, IssuingBody, NumberNotation,
    RecallState, ReturnReason, Step, Summary, TraceAction, Urgency,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, per_backend, DbConnection};
use crate::delegations::{on_behalf_of, principals_named, with_authority, OnBehalfOf};
use crate::error::missing;
use crate::outbox;
use crate::reports;
use crate::schema::{
    files, incoming_assignees, incoming_documents, incoming_events, incoming_files,
    incoming_register_counters, units, users,
};
use crate::time::{from_millis, to_millis};
use crate::units::{load_unit, offset, subtree_pattern};
use crate::users::load_user;
use crate::{Database, Medium, StoreError};

const ENTITY: &str = "incoming document";
const DATE_FORMAT: &str = "%Y-%m-%d";
/// Media type recorded for the received file; receipt accepts PDF only.
const PDF: &str = "application/pdf";

/// A document to record as received, after its file is in the blob store and its signatures
/// were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncoming {
    /// The receiving unit.
    pub unit_id: UnitId,
    /// The clerk who received it.
    pub received_by: UserId,
    /// When.
    pub received_at: DateTime<Utc>,
    /// What the clerk recorded about it.
    pub metadata: IncomingMetadata,
    /// Digest of the received PDF (the blob's name).
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
    /// The verifier's verdict: `valid`, `untrusted`, `modified`, `invalid` or `unsigned`.
    pub verification: String,
    /// The verifier's whole report, as JSON.
    pub verification_report: String,
}

/// Its place in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Số đến.
    pub number: ArrivalNumber,
    /// The register year it is numbered in.
    pub year: i32,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
}

/// The assignment as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    /// The one in charge.
    pub lead: Assignee,
    /// Those who support the lead.
    pub co_handlers: Vec<Assignee>,
    /// The leader's instruction.
    pub instruction: Instruction,
    /// When handling must be finished.
    pub deadline: NaiveDate,
}

impl AssignmentRecord {
    /// The assignees as the access policy weighs them.
    pub fn handling(&self) -> Handling {
        Handling {
            lead: Some(self.lead),
            co_handlers: self.co_handlers.clone(),
        }
    }
}

/// An incoming document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingDocument {
    /// Its id.
    pub id: IncomingId,
    /// The receiving unit.
    pub unit_id: UnitId,
    /// Path of that unit, for access checks.
    pub unit_path: UnitPath,
    /// Where it stands.
    pub state: IncomingState,
    /// Whether it arrived as a file or on paper.
    pub medium: Medium,
    /// What the clerk recorded.
    pub metadata: IncomingMetadata,
    /// Its place in the register, once registered.
    pub arrival: Option<Arrival>,
    /// The verifier's verdict on the received file.
    pub verification: String,
    /// The clerk who received it.
    pub received_by: UserId,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Whom it was handed to, once assigned.
    pub assignment: Option<AssignmentRecord>,
    /// The outgoing document it is a copy of, when it arrived by release from a unit here.
    pub source: Option<OutgoingId>,
    /// Its recall by the sender, if recalled.
    pub recall: Option<RecallRecord>,
    /// The outgoing document that answered it, when the lead linked one on completing.
    pub reply: Option<OutgoingId>,
}

/// The sender's recall of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallRecord {
    /// Where it stands.
    pub state: RecallState,
    /// The sender's reason.
    pub reason: String,
    /// When the sender recalled it.
    pub at: DateTime<Utc>,
}

impl IncomingDocument {
    /// The assignees as the access policy weighs them (none before assignment).
    pub fn handling(&self) -> Handling {
        self.assignment
            .as_ref()
            .map(AssignmentRecord::handling)
            .unwrap_or_default()
    }
}

/// One version of the document's PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingFile {
    /// 1 for the file received, counting up.
    pub revision: u32,
    /// The blob's name.
    pub sha256: Sha256Digest,
    /// Length in bytes.
    pub size: u64,
    /// Who added it.
    pub added_by: UserId,
    /// When.
    pub added_at: DateTime<Utc>,
}

/// One line of the trace: who did what, when, and what they wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: UserId,
    /// Their full name at the time of reading.
    pub actor_name: String,
    /// The leader they stood in for, when they acted under a delegation.
    pub on_behalf_of: Option<OnBehalfOf>,
    /// What they did.
    pub action: TraceAction,
    /// The state it left the document in.
    pub state: IncomingState,
    /// The instruction, reason or note they gave.
    pub note: Option<String>,
}

/// Which incoming documents a list returns; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncomingFilter {
    /// Only documents in this state.
    pub state: Option<IncomingState>,
    /// Only documents of this urgency.
    pub urgency: Option<Urgency>,
    /// Only documents received in this calendar year (Vietnam time).
    pub year: Option<i32>,
    /// Words to find in the number/notation, summary or issuing body, with or without
    /// diacritics.
    pub search: Option<String>,
    /// Only documents still being handled (assigned or in progress) whose lead's deadline
    /// is on or before this day: the due-soon list, or with yesterday the overdue one.
    pub due_by: Option<NaiveDate>,
    /// Only documents handed to one of these (the person's own list); `None` does not
    /// filter.
    pub assigned_to: Option<Vec<Assignee>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = incoming_documents)]
pub(crate) struct IncomingRow {
    id: i64,
    unit_id: i64,
    state: String,
    issuing_body: String,
    number_notation: String,
    document_date: String,
    document_type: String,
    summary: String,
    urgency: i32,
    due_date: Option<String>,
    verification: String,
    received_by: i64,
    received_at: i64,
    arrival_year: Option<i32>,
    arrival_number: Option<i64>,
    registered_at: Option<i64>,
    updated_at: i64,
    source_outgoing_id: Option<i64>,
    recall: Option<String>,
    recall_reason: Option<String>,
    recalled_at: Option<i64>,
    reply_outgoing_id: Option<i64>,
    medium: String,
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, DATE_FORMAT)
        .map_err(|e| StoreError::corrupt(format!("date '{s}': {e}")))
}

pub(crate) fn format_date(d: NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

fn to_document(
    row: IncomingRow,
    path: String,
    assignment: Option<AssignmentRecord>,
) -> Result<IncomingDocument, StoreError> {
    let id = row.id;
    let bad = |e: ValidationError| StoreError::corrupt(format!("incoming document {id}: {e}"));
    let urgency = u8::try_from(row.urgency)
        .map_err(StoreError::corrupt)
        .and_then(|p| Urgency::from_priority(p).map_err(bad))?;
    let arrival = match (row.arrival_number, row.arrival_year, row.registered_at) {
        (Some(number), Some(year), Some(at)) => Some(Arrival {
            number: ArrivalNumber::new(number).map_err(bad)?,
            year,
            registered_at: from_millis(at)?,
        }),
        (None, None, None) => None,
        _ => return Err(bad(ValidationError::new("arrival", "is partly recorded"))),
    };
    Ok(IncomingDocument {
        id: IncomingId::new(row.id).map_err(bad)?,
        unit_id: UnitId::new(row.unit_id).map_err(bad)?,
        unit_path: UnitPath::parse(&path).map_err(bad)?,
        state: row.state.parse().map_err(bad)?,
        medium: Medium::parse(&row.medium)?,
        metadata: IncomingMetadata {
            issuing_body: IssuingBody::parse(&row.issuing_body).map_err(bad)?,
            number_notation: NumberNotation::parse(&row.number_notation).map_err(bad)?,
            document_date: parse_date(&row.document_date)?,
            document_type: DocumentType::parse(&row.document_type).map_err(bad)?,
            summary: Summary::parse(&row.summary).map_err(bad)?,
            urgency,
            due_date: row.due_date.as_deref().map(parse_date).transpose()?,
        },
        arrival,
        verification: row.verification,
        received_by: UserId::new(row.received_by).map_err(bad)?,
        received_at: from_millis(row.received_at)?,
        updated_at: from_millis(row.updated_at)?,
        assignment,
        source: row
            .source_outgoing_id
            .map(OutgoingId::new)
            .transpose()
            .map_err(bad)?,
        reply: row
            .reply_outgoing_id
            .map(OutgoingId::new)
            .transpose()
            .map_err(bad)?,
        recall: match (row.recall.as_deref(), row.recall_reason, row.recalled_at) {
            (Some(state), Some(reason), Some(at)) => Some(RecallRecord {
                state: state.parse().map_err(bad)?,
                reason,
                at: from_millis(at)?,
            }),
            (None, _, _) => None,
            _ => return Err(bad(ValidationError::new("recall", "is partly recorded"))),
        },
    })
}

/// The assignments of these documents, by document.
fn load_assignments(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, AssignmentRecord>, StoreError> {
    type AssigneeRow = (i64, i32, Option<i64>, Option<i64>, String);
    let rows: Vec<AssigneeRow> = incoming_assignees::table
        .filter(incoming_assignees::document_id.eq_any(ids))
        .order((
            incoming_assignees::document_id.asc(),
            incoming_assignees::position.asc(),
        ))
        .select((
            incoming_assignees::document_id,
            incoming_assignees::position,
            incoming_assignees::user_id,
            incoming_assignees::unit_id,
            incoming_assignees::deadline,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    // The latest assign entry of each document carries the instruction.
    let instructions: HashMap<i64, Option<String>> = incoming_events::table
        .filter(incoming_events::document_id.eq_any(ids))
        .filter(incoming_events::action.eq(TraceAction::Step(Step::Assign).as_str()))
        .order(incoming_events::id.asc())
        .select((incoming_events::document_id, incoming_events::note))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .collect();
    let mut out: HashMap<i64, AssignmentRecord> = HashMap::new();
    for (document, position, user, unit, deadline) in rows {
        let bad = |what: &str| StoreError::corrupt(format!("incoming document {document}: {what}"));
        let assignee = match (user, unit) {
            (Some(u), None) => Assignee::User(UserId::new(u).map_err(StoreError::corrupt)?),
            (None, Some(u)) => Assignee::Unit(UnitId::new(u).map_err(StoreError::corrupt)?),
            _ => return Err(bad("an assignee is neither a person nor a unit")),
        };
        if position == 0 {
            let instruction = instructions
                .get(&document)
                .cloned()
                .flatten()
                .ok_or_else(|| bad("assigned without an instruction"))?;
            out.insert(
                document,
                AssignmentRecord {
                    lead: assignee,
                    co_handlers: Vec::new(),
                    instruction: Instruction::parse(&instruction).map_err(StoreError::corrupt)?,
                    deadline: parse_date(&deadline)?,
                },
            );
        } else {
            out.get_mut(&document)
                .ok_or_else(|| bad("co-handlers without a lead"))?
                .co_handlers
                .push(assignee);
        }
    }
    Ok(out)
}

/// Turns rows into documents with their assignments.
pub(crate) fn with_assignments(
    conn: &mut DbConnection,
    rows: Vec<(IncomingRow, String)>,
) -> Result<Vec<IncomingDocument>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let mut assignments = load_assignments(conn, &ids)?;
    rows.into_iter()
        .map(|(row, path)| {
            let assignment = assignments.remove(&row.id);
            to_document(row, path, assignment)
        })
        .collect()
}

pub(crate) fn load_incoming(
    conn: &mut DbConnection,
    id: IncomingId,
) -> Result<IncomingDocument, StoreError> {
    let (row, path): (IncomingRow, String) = incoming_documents::table
        .inner_join(units::table)
        .filter(incoming_documents::id.eq(id.get()))
        .select((IncomingRow::as_select(), units::path))
        .get_result(conn)
        .map_err(missing(ENTITY))?;
    let mut assignments = load_assignments(conn, &[id.get()])?;
    to_document(row, path, assignments.remove(&id.get()))
}

/// The audit log's name for a trace action.
fn audit_action(action: TraceAction) -> AuditAction {
    match action {
        TraceAction::Receive => AuditAction::IncomingReceive,
        TraceAction::Update => AuditAction::IncomingUpdated,
        TraceAction::Step(Step::Register) => AuditAction::IncomingRegister,
        TraceAction::Step(Step::Return) => AuditAction::IncomingReturn,
        TraceAction::Step(Step::Assign) => AuditAction::IncomingAssign,
        TraceAction::Step(Step::Progress) => AuditAction::IncomingProgress,
        TraceAction::Step(Step::Forward) => AuditAction::IncomingForward,
        TraceAction::Step(Step::Complete) => AuditAction::IncomingComplete,
    }
}

/// Adds a line to the document's trace and queues its audit entry, in the caller's
/// transaction; `file` is the PDF the action brought in, if it brought one.
#[allow(clippy::too_many_arguments)] // One argument per fact the trace and the log keep.
fn record_event(
    conn: &mut DbConnection,
    id: IncomingId,
    action: TraceAction,
    state: IncomingState,
    by: impl Into<Acting>,
    at: DateTime<Utc>,
    note: Option<&str>,
    file: Option<&Sha256Digest>,
) -> Result<(), StoreError> {
    let mut event = Event::step(
        audit_action(action),
        ObjectRef::incoming(id),
        state.as_str(),
        note,
    );
    if let Some(file) = file {
        event = event.file(file);
    }
    let by = by.into();
    let event = with_authority(conn, event, by)?;
    audit::record(conn, Some(by.user), at, event)?;
    diesel::insert_into(incoming_events::table)
        .values((
            incoming_events::document_id.eq(id.get()),
            incoming_events::action.eq(action.as_str()),
            incoming_events::state.eq(state.as_str()),
            incoming_events::actor_id.eq(by.user.get()),
            incoming_events::at.eq(to_millis(at)),
            incoming_events::note.eq(note),
            incoming_events::on_behalf_of.eq(on_behalf_of(by)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes `step` from `expected`, which the caller read and authorised against, and records
/// it in the trace. Writes nothing if the document is no longer in `expected`.
fn transition(
    conn: &mut DbConnection,
    id: IncomingId,
    expected: IncomingState,
    step: Step,
    by: impl Into<Acting>,
    at: DateTime<Utc>,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let next = expected.apply(step)?;
    let recall: Option<Option<String>> = incoming_documents::table
        .find(id.get())
        .select(incoming_documents::recall)
        .get_result(conn)
        .optional()?;
    if let Some(state) = recall.flatten() {
        let state: RecallState = state.parse().map_err(StoreError::corrupt)?;
        if state.freezes() {
            return Err(StoreError::Frozen(
                "its sender recalled this document; it is frozen as it was",
            ));
        }
    }
    let updated = diesel::update(
        incoming_documents::table
            .filter(incoming_documents::id.eq(id.get()))
            .filter(incoming_documents::state.eq(expected.as_str())),
    )
    .set((
        incoming_documents::state.eq(next.as_str()),
        incoming_documents::updated_at.eq(to_millis(at)),
    ))
    .execute(conn)?;
    if updated == 0 {
        let now: Option<String> = incoming_documents::table
            .find(id.get())
            .select(incoming_documents::state)
            .get_result(conn)
            .optional()?;
        let Some(now) = now else {
            return Err(StoreError::not_found(ENTITY));
        };
        let now: IncomingState = now.parse().map_err(StoreError::corrupt)?;
        // Tell the caller what is wrong now: "already registered" when the step is no longer
        // possible, otherwise that the document moved on under them.
        return Err(match now.apply(step) {
            Err(e) => e.into(),
            Ok(_) => StoreError::Stale {
                entity: ENTITY,
                now: now.to_string(),
            },
        });
    }
    record_event(conn, id, TraceAction::Step(step), next, by, at, note, None)?;
    outbox::queue_incoming_status(conn, id, next.interchange_status(), at)
}

/// The next arrival number of `unit`'s register for `year`, taken inside the caller's
/// transaction: the counter row stays locked until it commits, so concurrent registrations
/// queue on it and each gets the next number, and a rollback returns the number.
fn next_arrival_number(
    conn: &mut DbConnection,
    unit: i64,
    year: i32,
) -> Result<ArrivalNumber, StoreError> {
    let number: i64 = per_backend!(conn, c => diesel::insert_into(incoming_register_counters::table)
        .values((
            incoming_register_counters::unit_id.eq(unit),
            incoming_register_counters::year.eq(year),
            incoming_register_counters::last_number.eq(1_i64),
        ))
        .on_conflict((
            incoming_register_counters::unit_id,
            incoming_register_counters::year,
        ))
        .do_update()
        .set(incoming_register_counters::last_number.eq(incoming_register_counters::last_number + 1))
        .returning(incoming_register_counters::last_number)
        .get_result(c))?;
    ArrivalNumber::new(number).map_err(StoreError::corrupt)
}

/// Checks that `assignee` may be handed a document of the unit at `unit_path`: a unit below
/// it, or a leader or specialist of it or of a unit below it, with an account in use.
fn check_assignee(
    conn: &mut DbConnection,
    unit_path: &UnitPath,
    assignee: Assignee,
    field: &'static str,
) -> Result<(), StoreError> {
    let refuse = |message: String| StoreError::Invalid(ValidationError::new(field, message));
    match assignee {
        Assignee::Unit(id) => {
            let unit = load_unit(conn, id).map_err(|e| match e {
                StoreError::NotFound { .. } => refuse(format!("there is no unit {id}")),
                other => other,
            })?;
            if unit.path == *unit_path || !unit.path.is_within(unit_path) {
                return Err(refuse(format!(
                    "{} is not a unit below the receiving unit; documents go down the unit tree",
                    unit.name
                )));
            }
        }
        Assignee::User(id) => {
            let user = load_user(conn, id).map_err(|e| match e {
                StoreError::NotFound { .. } => refuse(format!("there is no user {id}")),
                other => other,
            })?;
            let unit = load_unit(conn, user.unit_id)?;
            if !unit.path.is_within(unit_path) {
                return Err(refuse(format!(
                    "{} does not work in the receiving unit or a unit below it",
                    user.display_name
                )));
            }
            if user.disabled {
                return Err(refuse(format!(
                    "{}'s account is disabled",
                    user.display_name
                )));
            }
            if !(user.roles.contains(Role::Leader) || user.roles.contains(Role::Specialist)) {
                return Err(refuse(format!(
                    "{} is neither a leader nor a specialist, who handle documents",
                    user.display_name
                )));
            }
        }
    }
    Ok(())
}

/// The ids of the people and of the units among `assignees`, for `IN (...)` filters.
fn split_assignees(assignees: &[Assignee]) -> (Vec<i64>, Vec<i64>) {
    let mut users = Vec::new();
    let mut units = Vec::new();
    for a in assignees {
        match a {
            Assignee::User(id) => users.push(id.get()),
            Assignee::Unit(id) => units.push(id.get()),
        }
    }
    (users, units)
}

/// `LIKE` pattern finding `text` anywhere, with `\` escaping the pattern's own characters.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Records a received document inside the caller's transaction; `source` is the outgoing
/// document it is a copy of when it arrived by release from a unit of this installation.
pub(crate) fn insert_received(
    conn: &mut DbConnection,
    new: &NewIncoming,
    source: Option<OutgoingId>,
) -> Result<IncomingId, StoreError> {
    let size = i64::try_from(new.size).map_err(|_| ValidationError::new("file", "is too large"))?;
    let at = to_millis(new.received_at);
    load_unit(conn, new.unit_id)?;
    load_user(conn, new.received_by)?;
    per_backend!(&mut *conn, c => diesel::insert_into(files::table)
                .values((
                    files::sha256.eq(new.sha256.as_str()),
                    files::unit_id.eq(new.unit_id.get()),
                    files::size.eq(size),
                    files::media_type.eq(PDF),
                    files::uploaded_by.eq(new.received_by.get()),
                    files::created_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
    let id = insert_document(
        conn,
        &Receipt {
            unit_id: new.unit_id,
            received_by: new.received_by,
            received_at: new.received_at,
            metadata: &new.metadata,
            medium: Medium::Electronic,
            verification: &new.verification,
            verification_report: &new.verification_report,
            source,
        },
    )?;
    diesel::insert_into(incoming_files::table)
        .values((
            incoming_files::document_id.eq(id.get()),
            incoming_files::revision.eq(1),
            incoming_files::sha256.eq(new.sha256.as_str()),
            incoming_files::size.eq(size),
            incoming_files::added_by.eq(new.received_by.get()),
            incoming_files::added_at.eq(at),
        ))
        .execute(conn)?;
    record_event(
        conn,
        id,
        TraceAction::Receive,
        IncomingState::Received,
        new.received_by,
        new.received_at,
        None,
        Some(&new.sha256),
    )?;
    reports::count_new_incoming(conn, id)?;
    Ok(id)
}

/// The file an update brings a copy, verified as on receipt.
#[derive(Debug, Clone)]
pub struct UpdatedFile {
    /// Digest of the PDF (the blob's name).
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
    /// The verifier's verdict.
    pub verification: String,
    /// The verifier's report, as JSON.
    pub verification_report: String,
}

/// Corrects copy `id` with its sender's `m` (issuing body, type, summary, urgency,
/// deadline) and, when it differs from the copy's latest, `file` as its next revision with
/// its verification; a trace line (`update`, `note`) in the name of the clerk the copy was
/// received by, since its sender is no one of its unit, and an audit entry. A copy frozen
/// by a recall keeps what it was recalled with: `false`.
pub(crate) fn update_copy(
    conn: &mut DbConnection,
    id: IncomingId,
    m: &IncomingMetadata,
    file: Option<&UpdatedFile>,
    note: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (unit, state, recall, received_by, interchange_id): (
        i64,
        String,
        Option<String>,
        i64,
        Option<String>,
    ) = incoming_documents::table
        .find(id.get())
        .select((
            incoming_documents::unit_id,
            incoming_documents::state,
            incoming_documents::recall,
            incoming_documents::received_by,
            incoming_documents::interchange_id,
        ))
        .first(conn)?;
    let frozen = recall
        .map(|r| r.parse::<RecallState>())
        .transpose()
        .map_err(StoreError::corrupt)?
        .is_some_and(RecallState::freezes);
    if frozen {
        return Ok(false);
    }
    let unit = UnitId::new(unit).map_err(StoreError::corrupt)?;
    let state: IncomingState = state.parse().map_err(StoreError::corrupt)?;
    let clerk = UserId::new(received_by).map_err(StoreError::corrupt)?;
    let latest: Option<(i32, String)> = incoming_files::table
        .filter(incoming_files::document_id.eq(id.get()))
        .order(incoming_files::revision.desc())
        .select((incoming_files::revision, incoming_files::sha256))
        .first(conn)
        .optional()?;
    let new_file = file.filter(|f| latest.as_ref().is_none_or(|(_, s)| s != f.sha256.as_str()));
    let search_text = fold_for_search(&format!(
        "{} {} {}",
        m.number_notation, m.summary, m.issuing_body
    ));
    reports::track_incoming(conn, id, |conn| {
        diesel::update(incoming_documents::table.find(id.get()))
            .set((
                incoming_documents::issuing_body.eq(m.issuing_body.as_str()),
                incoming_documents::document_type.eq(m.document_type.as_str()),
                incoming_documents::summary.eq(m.summary.as_str()),
                incoming_documents::urgency.eq(i32::from(m.urgency.priority())),
                incoming_documents::due_date.eq(m.due_date.map(format_date)),
                incoming_documents::search_text.eq(&search_text),
                incoming_documents::updated_at.eq(to_millis(at)),
            ))
            .execute(conn)?;
        if let Some(f) = new_file {
            diesel::update(incoming_documents::table.find(id.get()))
                .set((
                    incoming_documents::verification.eq(&f.verification),
                    incoming_documents::verification_report.eq(&f.verification_report),
                ))
                .execute(conn)?;
        }
        Ok(())
    })?;
    if let Some(f) = new_file {
        let revision = crate::NewRevision {
            sha256: f.sha256.clone(),
            size: f.size,
        };
        let size = crate::outgoing::hold_pdf(conn, unit, &revision, clerk, at)?;
        diesel::insert_into(incoming_files::table)
            .values((
                incoming_files::document_id.eq(id.get()),
                incoming_files::revision.eq(latest.map_or(1, |(r, _)| r + 1)),
                incoming_files::sha256.eq(f.sha256.as_str()),
                incoming_files::size.eq(size),
                incoming_files::added_by.eq(clerk.get()),
                incoming_files::added_at.eq(to_millis(at)),
            ))
            .execute(conn)?;
    }
    diesel::insert_into(incoming_events::table)
        .values((
            incoming_events::document_id.eq(id.get()),
            incoming_events::action.eq(TraceAction::Update.as_str()),
            incoming_events::state.eq(state.as_str()),
            incoming_events::actor_id.eq(clerk.get()),
            incoming_events::at.eq(to_millis(at)),
            incoming_events::note.eq(note),
        ))
        .execute(conn)?;
    // No person of this unit acted: the document's sender did.
    let mut event = Event::done(AuditAction::IncomingUpdated, ObjectRef::incoming(id))
        .with("document_id", interchange_id.unwrap_or_default())
        .with("reason", note)
        .with("summary", m.summary.as_str())
        .with("urgency", m.urgency.as_str())
        .with("due_date", m.due_date.map(format_date).unwrap_or_default());
    if let Some(f) = new_file {
        event = event.file(&f.sha256);
    }
    audit::record_in_unit(conn, unit, at, event)?;
    Ok(true)
}

/// The row of a document received, electronic or on paper.
struct Receipt<'a> {
    unit_id: UnitId,
    received_by: UserId,
    received_at: DateTime<Utc>,
    metadata: &'a IncomingMetadata,
    medium: Medium,
    verification: &'a str,
    verification_report: &'a str,
    source: Option<OutgoingId>,
}

fn insert_document(conn: &mut DbConnection, r: &Receipt<'_>) -> Result<IncomingId, StoreError> {
    let m = r.metadata;
    let search_text = fold_for_search(&format!(
        "{} {} {}",
        m.number_notation, m.summary, m.issuing_body
    ));
    let at = to_millis(r.received_at);
    let id = insert_returning_id!(
        &mut *conn,
        incoming_documents::table,
        (
            incoming_documents::unit_id.eq(r.unit_id.get()),
            incoming_documents::state.eq(IncomingState::Received.as_str()),
            incoming_documents::medium.eq(r.medium.as_str()),
            incoming_documents::issuing_body.eq(m.issuing_body.as_str()),
            incoming_documents::number_notation.eq(m.number_notation.as_str()),
            incoming_documents::document_date.eq(format_date(m.document_date)),
            incoming_documents::document_type.eq(m.document_type.as_str()),
            incoming_documents::summary.eq(m.summary.as_str()),
            incoming_documents::urgency.eq(i32::from(m.urgency.priority())),
            incoming_documents::due_date.eq(m.due_date.map(format_date)),
            incoming_documents::search_text.eq(&search_text),
            incoming_documents::verification.eq(r.verification),
            incoming_documents::verification_report.eq(r.verification_report),
            incoming_documents::received_by.eq(r.received_by.get()),
            incoming_documents::received_at.eq(at),
            incoming_documents::received_year.eq(register_year(r.received_at)),
            incoming_documents::updated_at.eq(at),
            incoming_documents::source_outgoing_id.eq(r.source.map(OutgoingId::get)),
        ),
        incoming_documents::id
    )?;
    IncomingId::new(id).map_err(StoreError::corrupt)
}

/// A document that arrived on paper, to be entered in the register without a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPaperIncoming {
    /// The receiving unit.
    pub unit_id: UnitId,
    /// The clerk who recorded it.
    pub received_by: UserId,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// What the clerk recorded about it.
    pub metadata: IncomingMetadata,
}

/// The verdict stored for a paper document: nothing electronic was signed or checked.
const PAPER_VERDICT: &str = "unsigned";
/// The report stored for a paper document.
const PAPER_REPORT: &str = r#"{"medium":"paper","signatures":[]}"#;

impl Database {
    /// Records a document received on paper: no file, no signature to check; it is
    /// registered, assigned and handled like any other.
    pub fn record_paper_incoming(
        &self,
        new: &NewPaperIncoming,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            load_unit(conn, new.unit_id)?;
            load_user(conn, new.received_by)?;
            let id = insert_document(
                conn,
                &Receipt {
                    unit_id: new.unit_id,
                    received_by: new.received_by,
                    received_at: new.received_at,
                    metadata: &new.metadata,
                    medium: Medium::Paper,
                    verification: PAPER_VERDICT,
                    verification_report: PAPER_REPORT,
                    source: None,
                },
            )?;
            record_event(
                conn,
                id,
                TraceAction::Receive,
                IncomingState::Received,
                new.received_by,
                new.received_at,
                Some("received on paper"),
                None,
            )?;
            reports::count_new_incoming(conn, id)?;
            load_incoming(conn, id)
        })
    }

    /// Records a received document with its file as revision 1 and the first trace entry;
    /// the receiving unit also holds the file, as if uploaded.
    pub fn receive_incoming(&self, new: &NewIncoming) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            let id = insert_received(conn, new, None)?;
            load_incoming(conn, id)
        })
    }

    /// Records a document that arrived as an interchange package, once per receiving unit
    /// and DocumentId (`interchange_id`): a package delivered again returns the document
    /// recorded the first time, with `false`. Two deliveries racing meet at the unique
    /// index; the loser reads the winner's document.
    pub fn receive_interchange(
        &self,
        new: &NewIncoming,
        interchange_id: &str,
    ) -> Result<(IncomingDocument, bool), StoreError> {
        let unit = new.unit_id.get();
        let existing = |conn: &mut DbConnection| -> Result<Option<IncomingDocument>, StoreError> {
            let id: Option<i64> = incoming_documents::table
                .filter(incoming_documents::unit_id.eq(unit))
                .filter(incoming_documents::interchange_id.eq(interchange_id))
                .select(incoming_documents::id)
                .first(conn)
                .optional()?;
            id.map(|id| load_incoming(conn, IncomingId::new(id).map_err(StoreError::corrupt)?))
                .transpose()
        };
        let outcome = self.transaction(|conn| {
            if let Some(document) = existing(conn)? {
                return Ok((document, false));
            }
            let id = insert_received(conn, new, None)?;
            diesel::update(incoming_documents::table.find(id.get()))
                .set(incoming_documents::interchange_id.eq(interchange_id))
                .execute(conn)?;
            outbox::queue_incoming_status(conn, id, InterchangeStatus::Arrived, new.received_at)?;
            Ok((load_incoming(conn, id)?, true))
        });
        match outcome {
            Err(StoreError::Conflict { .. }) => self
                .read(|conn| existing(conn))?
                .map(|document| (document, false))
                .ok_or_else(|| StoreError::corrupt("a conflicting interchange receipt vanished")),
            other => other,
        }
    }

    /// The sender of the package `interchange_id` recalled it (status 13): every copy of it
    /// here not yet recalled is frozen and awaits its unit's answer, as a copy recalled by
    /// a unit here does. Returns the copies newly recalled; none when it was known already.
    pub fn recall_interchange(
        &self,
        interchange_id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<IncomingId>, StoreError> {
        self.transaction(|conn| {
            let rows: Vec<(i64, i64)> = incoming_documents::table
                .filter(incoming_documents::interchange_id.eq(interchange_id))
                .filter(incoming_documents::recall.is_null())
                .select((incoming_documents::id, incoming_documents::unit_id))
                .load(conn)?;
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            diesel::update(incoming_documents::table.filter(incoming_documents::id.eq_any(&ids)))
                .set((
                    incoming_documents::recall.eq(Some(RecallState::Requested.as_str())),
                    incoming_documents::recall_reason.eq(Some(reason)),
                    incoming_documents::recalled_at.eq(Some(to_millis(at))),
                ))
                .execute(conn)?;
            let mut recalled = Vec::with_capacity(ids.len());
            for (id, unit) in rows {
                let id = IncomingId::new(id).map_err(StoreError::corrupt)?;
                // No person of this installation acted: the sender's agency did.
                let event = Event::done(AuditAction::IncomingRecalled, ObjectRef::incoming(id))
                    .with("document_id", interchange_id)
                    .with("reason", reason);
                let unit = UnitId::new(unit).map_err(StoreError::corrupt)?;
                audit::record_in_unit(conn, unit, at, event)?;
                recalled.push(id);
            }
            Ok(recalled)
        })
    }

    /// The sender of the package `interchange_id` updated its details (an update package):
    /// the copies here not frozen by a recall take `metadata`'s issuing body, type, summary,
    /// urgency and deadline (its number and date are the DocumentId's, unchanged), and
    /// `file`, when it differs from the copy's latest, as its next revision, each with a
    /// trace line and an audit entry, in one transaction. Returns the copies updated.
    pub fn update_interchange(
        &self,
        interchange_id: &str,
        metadata: &IncomingMetadata,
        file: Option<&UpdatedFile>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<IncomingId>, StoreError> {
        self.transaction(|conn| {
            let ids: Vec<i64> = incoming_documents::table
                .filter(incoming_documents::interchange_id.eq(interchange_id))
                .select(incoming_documents::id)
                .load(conn)?;
            let mut updated = Vec::new();
            for id in ids {
                let id = IncomingId::new(id).map_err(StoreError::corrupt)?;
                let note = format!("updated by its sender: {reason}");
                if update_copy(conn, id, metadata, file, &note, at)? {
                    updated.push(id);
                }
            }
            Ok(updated)
        })
    }

    /// The interchange DocumentId the document arrived with, if it came as a package.
    pub fn incoming_interchange_id(&self, id: IncomingId) -> Result<Option<String>, StoreError> {
        incoming_documents::table
            .find(id.get())
            .select(incoming_documents::interchange_id)
            .get_result::<Option<String>>(&mut *self.conn()?)
            .optional()?
            .ok_or_else(|| StoreError::not_found("incoming document"))
    }

    /// Other documents of `unit` with the same number/notation and issuing body as
    /// `document` (compared without case and diacritics), oldest first: the duplicates the
    /// clerk is warned of at receipt (Appendix VI).
    pub fn incoming_duplicates(
        &self,
        document: &IncomingDocument,
    ) -> Result<Vec<IncomingId>, StoreError> {
        let m = &document.metadata;
        // The number part is digits only, so it needs no LIKE escaping.
        let same_number = format!("{}/%", m.number_notation.number());
        let rows: Vec<(i64, String, String)> = incoming_documents::table
            .filter(incoming_documents::unit_id.eq(document.unit_id.get()))
            .filter(incoming_documents::id.ne(document.id.get()))
            .filter(incoming_documents::number_notation.like(same_number))
            .order(incoming_documents::id.asc())
            .select((
                incoming_documents::id,
                incoming_documents::number_notation,
                incoming_documents::issuing_body,
            ))
            .load(&mut *self.conn()?)?;
        let notation = fold_for_search(m.number_notation.as_str());
        let body = fold_for_search(m.issuing_body.as_str());
        rows.into_iter()
            .filter(|(_, n, b)| fold_for_search(n) == notation && fold_for_search(b) == body)
            .map(|(id, _, _)| IncomingId::new(id).map_err(StoreError::corrupt))
            .collect()
    }

    /// The incoming document with this id.
    pub fn get_incoming(&self, id: IncomingId) -> Result<IncomingDocument, StoreError> {
        self.read(|conn| load_incoming(conn, id))
    }

    /// Enters the document in its unit's register for the year of `at` (Vietnam time) with
    /// the next arrival number, if it is still `expected`.
    pub fn register_incoming(
        &self,
        id: IncomingId,
        expected: IncomingState,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            reports::track_incoming(conn, id, |conn| {
                transition(conn, id, expected, Step::Register, by, at, None)?;
                let unit: i64 = incoming_documents::table
                    .find(id.get())
                    .select(incoming_documents::unit_id)
                    .get_result(conn)?;
                let year = register_year(at);
                let number = next_arrival_number(conn, unit, year)?;
                diesel::update(incoming_documents::table.find(id.get()))
                    .set((
                        incoming_documents::arrival_year.eq(Some(year)),
                        incoming_documents::arrival_number.eq(Some(i64::from(number))),
                        incoming_documents::registered_at.eq(Some(to_millis(at))),
                    ))
                    .execute(conn)?;
                load_incoming(conn, id)
            })
        })
    }

    /// Sends the document back to its sender with `reason`, if it is still `expected`.
    pub fn return_incoming(
        &self,
        id: IncomingId,
        expected: IncomingState,
        by: UserId,
        reason: &ReturnReason,
        at: DateTime<Utc>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            reports::track_incoming(conn, id, |conn| {
                transition(
                    conn,
                    id,
                    expected,
                    Step::Return,
                    by,
                    at,
                    Some(reason.as_str()),
                )?;
                load_incoming(conn, id)
            })
        })
    }

    /// Hands the document to the assignment's lead and co-handlers, if it is still
    /// `expected`. Assignees must be units below the receiving unit, or leaders and
    /// specialists of it or of units below it (`Invalid` otherwise, naming the field).
    pub fn assign_incoming(
        &self,
        id: IncomingId,
        expected: IncomingState,
        by: impl Into<Acting>,
        assignment: &Assignment,
        at: DateTime<Utc>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            reports::track_incoming(conn, id, |conn| {
                let document = load_incoming(conn, id)?;
                check_assignee(conn, &document.unit_path, assignment.lead(), "lead")?;
                for &co in assignment.co_handlers() {
                    check_assignee(conn, &document.unit_path, co, "co_handlers")?;
                }
                transition(
                    conn,
                    id,
                    expected,
                    Step::Assign,
                    by,
                    at,
                    Some(assignment.instruction().as_str()),
                )?;
                let deadline = format_date(assignment.deadline());
                for (position, assignee) in assignment.assignees().enumerate() {
                    let (user, unit) = match assignee {
                        Assignee::User(u) => (Some(u.get()), None),
                        Assignee::Unit(u) => (None, Some(u.get())),
                    };
                    diesel::insert_into(incoming_assignees::table)
                        .values((
                            incoming_assignees::document_id.eq(id.get()),
                            incoming_assignees::position
                                .eq(i32::try_from(position).map_err(StoreError::corrupt)?),
                            incoming_assignees::user_id.eq(user),
                            incoming_assignees::unit_id.eq(unit),
                            incoming_assignees::deadline.eq(&deadline),
                        ))
                        .execute(conn)?;
                }
                load_incoming(conn, id)
            })
        })
    }

    /// Records a handler's progress note, if the document is still `expected`.
    pub fn record_incoming_progress(
        &self,
        id: IncomingId,
        expected: IncomingState,
        by: UserId,
        note: &HandlingNote,
        at: DateTime<Utc>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            transition(
                conn,
                id,
                expected,
                Step::Progress,
                by,
                at,
                Some(note.as_str()),
            )?;
            load_incoming(conn, id)
        })
    }

    /// Hands the lead from `expected_lead` to `to`, with an optional note, if the document
    /// is still `expected` and still led by `expected_lead`: of two forwards at once, one
    /// wins and the other changes nothing. `to` must be a unit below `within` or a leader or
    /// specialist of it or of a unit below it (the forwarding lead's own unit), and not
    /// already an assignee. The former lead stays on as the last co-handler, so a department
    /// that forwards to one of its specialists still sees the document and can note progress.
    #[allow(clippy::too_many_arguments)] // One argument per fact the check needs.
    pub fn forward_incoming(
        &self,
        id: IncomingId,
        expected: IncomingState,
        expected_lead: Assignee,
        to: Assignee,
        within: &UnitPath,
        by: UserId,
        note: Option<&HandlingNote>,
        at: DateTime<Utc>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            reports::track_incoming(conn, id, |conn| {
                let document = load_incoming(conn, id)?;
                check_assignee(conn, within, to, "to")?;
                if document
                    .assignment
                    .as_ref()
                    .is_some_and(|a| a.lead == to || a.co_handlers.contains(&to))
                {
                    return Err(ValidationError::new(
                        "to",
                        "is already handling this document; forward to someone else",
                    )
                    .into());
                }
                let (user, unit) = match to {
                    Assignee::User(u) => (Some(u.get()), None),
                    Assignee::Unit(u) => (None, Some(u.get())),
                };
                let lead = incoming_assignees::table
                    .filter(incoming_assignees::document_id.eq(id.get()))
                    .filter(incoming_assignees::position.eq(0));
                let changed = match expected_lead {
                    Assignee::User(u) => {
                        diesel::update(lead.filter(incoming_assignees::user_id.eq(u.get())))
                            .set((
                                incoming_assignees::user_id.eq(user),
                                incoming_assignees::unit_id.eq(unit),
                            ))
                            .execute(conn)?
                    }
                    Assignee::Unit(u) => {
                        diesel::update(lead.filter(incoming_assignees::unit_id.eq(u.get())))
                            .set((
                                incoming_assignees::user_id.eq(user),
                                incoming_assignees::unit_id.eq(unit),
                            ))
                            .execute(conn)?
                    }
                };
                if changed == 0 {
                    return Err(StoreError::Stale {
                        entity: ENTITY,
                        now: "led by someone else".into(),
                    });
                }
                let last: Option<i32> = incoming_assignees::table
                    .filter(incoming_assignees::document_id.eq(id.get()))
                    .select(diesel::dsl::max(incoming_assignees::position))
                    .first(conn)?;
                let (old_user, old_unit) = match expected_lead {
                    Assignee::User(u) => (Some(u.get()), None),
                    Assignee::Unit(u) => (None, Some(u.get())),
                };
                let deadline = document
                    .assignment
                    .as_ref()
                    .map(|a| format_date(a.deadline))
                    .ok_or_else(|| StoreError::corrupt("a lead without an assignment"))?;
                diesel::insert_into(incoming_assignees::table)
                    .values((
                        incoming_assignees::document_id.eq(id.get()),
                        incoming_assignees::position.eq(last.unwrap_or(0) + 1),
                        incoming_assignees::user_id.eq(old_user),
                        incoming_assignees::unit_id.eq(old_unit),
                        incoming_assignees::deadline.eq(deadline),
                    ))
                    .execute(conn)?;
                transition(
                    conn,
                    id,
                    expected,
                    Step::Forward,
                    by,
                    at,
                    note.map(HandlingNote::as_str),
                )?;
                load_incoming(conn, id)
            })
        })
    }

    /// Finishes the handling, with an optional closing note, if the document is still
    /// `expected`.
    /// Finishes the handling, if the document is still `expected`; `reply` is the outgoing
    /// document that answers it, which must belong to the receiving unit or a unit below it.
    pub fn complete_incoming(
        &self,
        id: IncomingId,
        expected: IncomingState,
        by: UserId,
        note: Option<&HandlingNote>,
        at: DateTime<Utc>,
        reply: Option<OutgoingId>,
    ) -> Result<IncomingDocument, StoreError> {
        self.transaction(|conn| {
            reports::track_incoming(conn, id, |conn| {
                if let Some(reply) = reply {
                    let document = load_incoming(conn, id)?;
                    let refuse = |message: String| {
                        StoreError::Invalid(ValidationError::new("reply", message))
                    };
                    let answer =
                        crate::outgoing::load_outgoing(conn, reply).map_err(|e| match e {
                            StoreError::NotFound { .. } => {
                                refuse(format!("there is no outgoing document {reply}"))
                            }
                            other => other,
                        })?;
                    if document.source == Some(reply) {
                        return Err(refuse(format!(
                        "outgoing document {reply} is the one this document is a copy of; link \
                         the document that answers it"
                    )));
                    }
                    if !answer.unit_path.is_within(&document.unit_path) {
                        return Err(refuse(format!(
                        "outgoing document {reply} is not of the receiving unit or a unit below it"
                    )));
                    }
                    diesel::update(incoming_documents::table.find(id.get()))
                        .set(incoming_documents::reply_outgoing_id.eq(Some(reply.get())))
                        .execute(conn)?;
                }
                transition(
                    conn,
                    id,
                    expected,
                    Step::Complete,
                    by,
                    at,
                    note.map(HandlingNote::as_str),
                )?;
                diesel::update(incoming_documents::table.find(id.get()))
                    .set(incoming_documents::completed_at.eq(Some(to_millis(at))))
                    .execute(conn)?;
                load_incoming(conn, id)
            })
        })
    }

    /// The trace of a document, oldest first.
    pub fn incoming_trace(&self, id: IncomingId) -> Result<Vec<TraceEntry>, StoreError> {
        type EventRow = (
            i64,
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<i64>,
        );
        self.read(|conn| {
            let rows: Vec<EventRow> = incoming_events::table
                .inner_join(users::table)
                .filter(incoming_events::document_id.eq(id.get()))
                .order(incoming_events::id.asc())
                .select((
                    incoming_events::at,
                    incoming_events::actor_id,
                    users::display_name,
                    incoming_events::action,
                    incoming_events::state,
                    incoming_events::note,
                    incoming_events::on_behalf_of,
                ))
                .load(conn)?;
            let principals = principals_named(conn, &rows.iter().map(|r| r.6).collect::<Vec<_>>())?;
            rows.into_iter()
                .zip(principals)
                .map(
                    |((at, actor, name, action, state, note, _), on_behalf_of)| {
                        Ok(TraceEntry {
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

    /// The versions of a document's PDF, oldest first.
    pub fn incoming_files(&self, id: IncomingId) -> Result<Vec<IncomingFile>, StoreError> {
        let rows: Vec<(i32, String, i64, i64, i64)> = incoming_files::table
            .filter(incoming_files::document_id.eq(id.get()))
            .order(incoming_files::revision.asc())
            .select((
                incoming_files::revision,
                incoming_files::sha256,
                incoming_files::size,
                incoming_files::added_by,
                incoming_files::added_at,
            ))
            .load(&mut *self.conn()?)?;
        rows.into_iter()
            .map(|(revision, sha256, size, by, at)| {
                Ok(IncomingFile {
                    revision: u32::try_from(revision).map_err(StoreError::corrupt)?,
                    sha256: Sha256Digest::parse(&sha256).map_err(StoreError::corrupt)?,
                    size: u64::try_from(size).map_err(StoreError::corrupt)?,
                    added_by: UserId::new(by).map_err(StoreError::corrupt)?,
                    added_at: from_millis(at)?,
                })
            })
            .collect()
    }

    /// The verifier's report on the received file, as JSON.
    pub fn incoming_verification_report(&self, id: IncomingId) -> Result<String, StoreError> {
        incoming_documents::table
            .find(id.get())
            .select(incoming_documents::verification_report)
            .get_result(&mut *self.conn()?)
            .map_err(missing(ENTITY))
    }

    /// Sổ văn bản đến: the documents `unit` registered in `year`, by arrival number.
    pub fn incoming_register(
        &self,
        unit: UnitId,
        year: i32,
    ) -> Result<Vec<IncomingDocument>, StoreError> {
        self.read(|conn| {
            let rows: Vec<(IncomingRow, String)> = incoming_documents::table
                .inner_join(units::table)
                .filter(incoming_documents::unit_id.eq(unit.get()))
                .filter(incoming_documents::arrival_year.eq(year))
                .order(incoming_documents::arrival_number.asc())
                .select((IncomingRow::as_select(), units::path))
                .load(conn)?;
            with_assignments(conn, rows)
        })
    }

    /// The documents the actor may see, most urgent first, then newest first: those of
    /// the units in `scope`, and those handed to one of `handed_to`.
    pub fn list_incoming(
        &self,
        scope: &VisibleScope,
        handed_to: &[Assignee],
        filter: &IncomingFilter,
        page: PageRequest,
    ) -> Result<Paged<IncomingDocument>, StoreError> {
        let (user_ids, unit_ids) = split_assignees(handed_to);
        let assigned_to = filter.assigned_to.as_deref().map(split_assignees);
        let search = filter
            .search
            .as_deref()
            .map(fold_for_search)
            .filter(|s| !s.is_empty())
            .map(|s| contains_pattern(&s));
        let filtered = || {
            let handed = incoming_assignees::table
                .filter(
                    incoming_assignees::user_id
                        .eq_any(user_ids.clone())
                        .or(incoming_assignees::unit_id.eq_any(unit_ids.clone())),
                )
                .select(incoming_assignees::document_id);
            let query = incoming_documents::table
                .inner_join(units::table)
                .into_boxed();
            let mut query = match scope {
                VisibleScope::Unit(id) => query.filter(
                    incoming_documents::unit_id
                        .eq(id.get())
                        .or(incoming_documents::id.eq_any(handed)),
                ),
                VisibleScope::Subtree(prefix) => query.filter(
                    units::path
                        .like(subtree_pattern(prefix))
                        .or(incoming_documents::id.eq_any(handed)),
                ),
            };
            // A copy whose recall the recipient accepted is withdrawn from the lists (kept,
            // and still reachable by its id).
            query = query.filter(
                incoming_documents::recall
                    .is_null()
                    .or(incoming_documents::recall.ne(RecallState::Accepted.as_str())),
            );
            if let Some(state) = filter.state {
                query = query.filter(incoming_documents::state.eq(state.as_str()));
            }
            if let Some(urgency) = filter.urgency {
                query = query.filter(incoming_documents::urgency.eq(i32::from(urgency.priority())));
            }
            if let Some(year) = filter.year {
                query = query.filter(incoming_documents::received_year.eq(year));
            }
            if let Some(pattern) = &search {
                query = query.filter(
                    incoming_documents::search_text
                        .like(pattern.clone())
                        .escape('\\'),
                );
            }
            if let Some(due_by) = filter.due_by {
                let due = incoming_assignees::table
                    .filter(incoming_assignees::position.eq(0))
                    // ISO dates compare as text in date order.
                    .filter(incoming_assignees::deadline.le(format_date(due_by)))
                    .select(incoming_assignees::document_id);
                let open =
                    [IncomingState::Assigned, IncomingState::InProgress].map(IncomingState::as_str);
                query = query
                    .filter(incoming_documents::id.eq_any(due))
                    .filter(incoming_documents::state.eq_any(open));
            }
            if let Some((users, units)) = &assigned_to {
                let mine = incoming_assignees::table
                    .filter(
                        incoming_assignees::user_id
                            .eq_any(users.clone())
                            .or(incoming_assignees::unit_id.eq_any(units.clone())),
                    )
                    .select(incoming_assignees::document_id);
                query = query.filter(incoming_documents::id.eq_any(mine));
            }
            query
        };
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<(IncomingRow, String)> = filtered()
                .select((IncomingRow::as_select(), units::path))
                .order((
                    incoming_documents::urgency.desc(),
                    incoming_documents::id.desc(),
                ))
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            let items = with_assignments(conn, rows)?;
            Ok(Paged {
                items,
                page: page.page(),
                per_page: page.per_page(),
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use vanthu_domain::{Role, Unit, User};

    use super::*;
    use crate::test_support::{tree, user, Tree};
    use crate::testing::TestDatabase;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, DATE_FORMAT).unwrap()
    }

    const NOON: &str = "2026-12-01T05:00:00Z";

    fn metadata(notation: &str, summary: &str, body: &str, urgency: Urgency) -> IncomingMetadata {
        IncomingMetadata {
            issuing_body: IssuingBody::parse(body).unwrap(),
            number_notation: NumberNotation::parse(notation).unwrap(),
            document_date: day("2026-11-30"),
            document_type: DocumentType::parse("Công văn").unwrap(),
            summary: Summary::parse(summary).unwrap(),
            urgency,
            due_date: Some(day("2026-12-20")),
        }
    }

    struct Fixture {
        db: Database,
        t: Tree,
        clerk: User,
        leader: User,
        specialist: User,
    }

    fn fixture(tdb: &TestDatabase) -> Fixture {
        let db = tdb.connect();
        let t = tree(&db);
        let clerk = user(&db, "district.clerk", &t.district, &[Role::Clerk]);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let specialist = user(&db, "district.specialist", &t.district, &[Role::Specialist]);
        Fixture {
            db,
            t,
            clerk,
            leader,
            specialist,
        }
    }

    fn receive_in(
        db: &Database,
        unit: &Unit,
        clerk: &User,
        m: IncomingMetadata,
        byte: u8,
    ) -> IncomingDocument {
        db.receive_incoming(&NewIncoming {
            unit_id: unit.id,
            received_by: clerk.id,
            received_at: at(NOON),
            metadata: m,
            sha256: Sha256Digest::from_bytes(&[byte; 32]),
            size: 1000 + u64::from(byte),
            verification: "valid".into(),
            verification_report: format!("{{\"verdict\":\"valid\",\"n\":{byte}}}"),
        })
        .unwrap()
    }

    fn receive(f: &Fixture, byte: u8) -> IncomingDocument {
        receive_in(
            &f.db,
            &f.t.district,
            &f.clerk,
            metadata(
                "123/UBND-VP",
                "Về việc triển khai",
                "UBND tỉnh",
                Urgency::Normal,
            ),
            byte,
        )
    }

    fn assignment(lead: Assignee, co: Vec<Assignee>) -> Assignment {
        Assignment::new(
            lead,
            co,
            Instruction::parse("Chủ trì, báo cáo trước ngày 15").unwrap(),
            day("2026-12-15"),
            day("2026-12-01"),
        )
        .unwrap()
    }

    /// The ratio counters follow every step in its own transaction, and agree with a
    /// rebuild from the documents.
    #[test]
    fn the_ratio_counters_follow_each_step() {
        use vanthu_reports::Metric;
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let lead = Assignee::User(f.specialist.id);
        // Handled electronically, completed a day after its deadline.
        let late = receive(&f, 1);
        db.register_incoming(late.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        db.assign_incoming(
            late.id,
            IncomingState::Registered,
            f.leader.id,
            &assignment(lead, vec![]),
            at(NOON),
        )
        .unwrap();
        db.complete_incoming(
            late.id,
            IncomingState::Assigned,
            f.specialist.id,
            None,
            at("2026-12-16T05:00:00Z"),
            None,
        )
        .unwrap();
        // Returned by the clerk: processed on the software too.
        let returned = receive(&f, 2);
        db.return_incoming(
            returned.id,
            IncomingState::Received,
            f.clerk.id,
            &ReturnReason::parse("Gửi nhầm đơn vị").unwrap(),
            at(NOON),
        )
        .unwrap();
        // On paper, registered and assigned, still open after its deadline.
        let paper = db
            .record_paper_incoming(&NewPaperIncoming {
                unit_id: f.t.district.id,
                received_by: f.clerk.id,
                received_at: at(NOON),
                metadata: metadata("7/SNV", "Giấy mời", "Sở Nội vụ", Urgency::Normal),
            })
            .unwrap();
        assert_eq!(paper.medium, Medium::Paper);
        db.register_incoming(paper.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        db.assign_incoming(
            paper.id,
            IncomingState::Registered,
            f.leader.id,
            &assignment(lead, vec![]),
            at(NOON),
        )
        .unwrap();
        // Received, not yet registered.
        receive(&f, 3);

        let report = |from: &str, to: &str| {
            let counts = db
                .report_counts(&crate::ReportScope {
                    unit: f.t.district.id,
                    subtree: false,
                    from: day(from),
                    to: day(to),
                })
                .unwrap();
            assert_eq!(counts.len(), 1);
            counts.into_iter().next().unwrap()
        };
        let december = report("2026-12-01", "2026-12-31");
        let get = |m| december.period.get(m);
        assert_eq!(get(Metric::IncomingReceived), 4);
        assert_eq!(get(Metric::IncomingPaper), 1);
        assert_eq!(get(Metric::IncomingProcessed), 2);
        assert_eq!(get(Metric::IncomingReturned), 1);
        assert_eq!(get(Metric::SignaturesValid), 3);
        assert_eq!(get(Metric::CompletedLate), 1);
        assert_eq!(get(Metric::CompletedOnTime), 0);
        assert_eq!(december.open_past_deadline, 1);
        // Before the deadline passed, nothing was overdue; the day after, the paper one.
        assert_eq!(report("2026-12-01", "2026-12-15").open_past_deadline, 0);
        assert_eq!(report("2026-12-01", "2026-12-16").open_past_deadline, 1);
        // A period from the middle of a month reads loose days and whole months alike.
        assert_eq!(report("2026-11-20", "2027-01-10").period, december.period);
        assert_eq!(
            report("2026-12-02", "2026-12-31")
                .period
                .get(Metric::IncomingReceived),
            0
        );
        // The live counters are what a rebuild from the documents writes.
        assert_eq!(db.check_report_counts().unwrap(), Vec::<String>::new());
        let summary = db.rebuild_report_counts().unwrap();
        assert_eq!(summary.incoming, 4);
        assert_eq!(report("2026-12-01", "2026-12-31"), december);
    }

    #[test]
    fn the_walk_from_receipt_to_completion_is_traced() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let doc = receive(&f, 1);
        assert_eq!(doc.state, IncomingState::Received);
        assert_eq!(doc.unit_path, f.t.district.path);
        assert_eq!(doc.arrival, None);
        assert_eq!(doc.metadata.number_notation.as_str(), "123/UBND-VP");
        assert_eq!(doc.verification, "valid");
        assert_eq!(db.get_incoming(doc.id).unwrap(), doc);
        // The receiving unit holds the file, so `vanthu check` and downloads know it.
        let held = db
            .get_file(&Sha256Digest::from_bytes(&[1; 32]), f.t.district.id)
            .unwrap();
        assert_eq!((held.size, held.media_type.as_str()), (1001, PDF));
        assert_eq!(
            db.incoming_verification_report(doc.id).unwrap(),
            "{\"verdict\":\"valid\",\"n\":1}"
        );

        let t1 = at("2026-12-01T06:00:00Z");
        let doc = db
            .register_incoming(doc.id, IncomingState::Received, f.clerk.id, t1)
            .unwrap();
        assert_eq!(doc.state, IncomingState::Registered);
        let arrival = doc.arrival.unwrap();
        assert_eq!((arrival.number, arrival.year), (ArrivalNumber::FIRST, 2026));
        assert_eq!(arrival.registered_at, t1);

        let handlers = assignment(
            Assignee::User(f.specialist.id),
            vec![Assignee::Unit(f.t.commune.id)],
        );
        let doc = db
            .assign_incoming(
                doc.id,
                IncomingState::Registered,
                f.leader.id,
                &handlers,
                t1,
            )
            .unwrap();
        assert_eq!(doc.state, IncomingState::Assigned);
        let recorded = doc.assignment.clone().unwrap();
        assert_eq!(recorded.lead, Assignee::User(f.specialist.id));
        assert_eq!(recorded.co_handlers, vec![Assignee::Unit(f.t.commune.id)]);
        assert_eq!(recorded.instruction, *handlers.instruction());
        assert_eq!(recorded.deadline, day("2026-12-15"));
        assert_eq!(doc.handling(), handlers.handling());

        let note = HandlingNote::parse("Đã làm việc với xã").unwrap();
        let doc = db
            .record_incoming_progress(doc.id, IncomingState::Assigned, f.specialist.id, &note, t1)
            .unwrap();
        let doc = db
            .record_incoming_progress(
                doc.id,
                IncomingState::InProgress,
                f.specialist.id,
                &note,
                t1,
            )
            .unwrap();
        assert_eq!(doc.state, IncomingState::InProgress);
        let done = HandlingNote::parse("Đã trả lời bằng công văn 45/UBND").unwrap();
        let doc = db
            .complete_incoming(
                doc.id,
                IncomingState::InProgress,
                f.specialist.id,
                Some(&done),
                t1,
                None,
            )
            .unwrap();
        assert_eq!(doc.state, IncomingState::Completed);
        assert_eq!(doc.arrival.unwrap().number, ArrivalNumber::FIRST);

        let trace = db.incoming_trace(doc.id).unwrap();
        let steps: Vec<(&str, IncomingState, Option<&str>, UserId)> = trace
            .iter()
            .map(|e| (e.action.as_str(), e.state, e.note.as_deref(), e.actor_id))
            .collect();
        assert_eq!(
            steps,
            [
                ("receive", IncomingState::Received, None, f.clerk.id),
                ("register", IncomingState::Registered, None, f.clerk.id),
                (
                    "assign",
                    IncomingState::Assigned,
                    Some("Chủ trì, báo cáo trước ngày 15"),
                    f.leader.id
                ),
                (
                    "progress",
                    IncomingState::InProgress,
                    Some("Đã làm việc với xã"),
                    f.specialist.id
                ),
                (
                    "progress",
                    IncomingState::InProgress,
                    Some("Đã làm việc với xã"),
                    f.specialist.id
                ),
                (
                    "complete",
                    IncomingState::Completed,
                    Some("Đã trả lời bằng công văn 45/UBND"),
                    f.specialist.id
                ),
            ]
        );
        assert_eq!(trace[2].actor_name, f.leader.display_name.as_str());
        assert_eq!(trace[0].at, at(NOON));
        let files = db.incoming_files(doc.id).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].revision, files[0].size), (1, 1001));
        assert!(matches!(
            db.get_incoming(IncomingId::new(999).unwrap()),
            Err(StoreError::NotFound { entity: ENTITY })
        ));
        assert!(db.incoming_duplicates(&doc).unwrap().is_empty());
    }

    #[test]
    fn a_lead_unit_forwards_to_one_of_its_people_once() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let commune_leader = user(db, "commune.leader", &f.t.commune, &[Role::Leader]);
        let commune_specialist = user(db, "commune.specialist", &f.t.commune, &[Role::Specialist]);
        let doc = receive(&f, 1);
        db.register_incoming(doc.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        let commune = Assignee::Unit(f.t.commune.id);
        db.assign_incoming(
            doc.id,
            IncomingState::Registered,
            f.leader.id,
            &assignment(commune, vec![]),
            at(NOON),
        )
        .unwrap();
        let to = Assignee::User(commune_specialist.id);
        let note = HandlingNote::parse("Giao đồng chí Thu xử lý").unwrap();
        // Only within the forwarding lead's unit, and not to someone handling it already.
        let err = db
            .forward_incoming(
                doc.id,
                IncomingState::Assigned,
                commune,
                Assignee::User(f.specialist.id),
                &f.t.commune.path,
                commune_leader.id,
                Some(&note),
                at(NOON),
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.field == "to"),
            "{err}"
        );
        let err = db
            .forward_incoming(
                doc.id,
                IncomingState::Assigned,
                commune,
                Assignee::Unit(f.t.commune.id),
                &f.t.district.path,
                commune_leader.id,
                None,
                at(NOON),
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.field == "to"),
            "{err}"
        );
        let forwarded = db
            .forward_incoming(
                doc.id,
                IncomingState::Assigned,
                commune,
                to,
                &f.t.commune.path,
                commune_leader.id,
                Some(&note),
                at(NOON),
            )
            .unwrap();
        assert_eq!(forwarded.state, IncomingState::Assigned);
        let handlers = forwarded.assignment.clone().unwrap();
        assert_eq!((handlers.lead, handlers.co_handlers), (to, vec![commune]));
        // A second forward by someone who read the old lead changes nothing.
        let other = user(db, "commune.specialist2", &f.t.commune, &[Role::Specialist]);
        assert!(matches!(
            db.forward_incoming(
                doc.id,
                IncomingState::Assigned,
                commune,
                Assignee::User(other.id),
                &f.t.commune.path,
                commune_leader.id,
                None,
                at(NOON)
            ),
            Err(StoreError::Stale { .. })
        ));
        assert_eq!(db.get_incoming(doc.id).unwrap(), forwarded);
        let trace = db.incoming_trace(doc.id).unwrap();
        let last = trace.last().unwrap();
        assert_eq!(
            (last.action, last.note.as_deref(), last.actor_id),
            (
                TraceAction::Step(Step::Forward),
                Some("Giao đồng chí Thu xử lý"),
                commune_leader.id
            )
        );
        assert_eq!(trace.len(), 4);
    }

    #[test]
    fn the_same_number_notation_and_issuing_body_are_duplicates() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let commune_clerk = user(db, "commune.clerk", &f.t.commune, &[Role::Clerk]);
        let m = |notation: &str, body: &str| metadata(notation, "Về việc", body, Urgency::Normal);
        let first = receive_in(db, &f.t.district, &f.clerk, m("12/UBND-VP", "UBND tỉnh"), 1);
        // Another number, another body, another unit: not duplicates.
        receive_in(
            db,
            &f.t.district,
            &f.clerk,
            m("120/UBND-VP", "UBND tỉnh"),
            2,
        );
        receive_in(
            db,
            &f.t.district,
            &f.clerk,
            m("12/UBND-VP", "UBND huyện"),
            3,
        );
        receive_in(
            db,
            &f.t.commune,
            &commune_clerk,
            m("12/UBND-VP", "UBND tỉnh"),
            4,
        );
        assert!(db.incoming_duplicates(&first).unwrap().is_empty());
        // The same, typed in another case and without diacritics.
        let again = receive_in(db, &f.t.district, &f.clerk, m("12/ubnd-vp", "ubnd tinh"), 5);
        assert_eq!(db.incoming_duplicates(&again).unwrap(), [first.id]);
        assert_eq!(db.incoming_duplicates(&first).unwrap(), [again.id]);
    }

    #[test]
    fn arrival_numbers_run_per_unit_and_per_year_in_vietnam() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let commune_clerk = user(db, "commune.clerk", &f.t.commune, &[Role::Clerk]);
        let register = |doc: &IncomingDocument, by: UserId, when: &str| {
            db.register_incoming(doc.id, IncomingState::Received, by, at(when))
                .unwrap()
                .arrival
                .unwrap()
        };
        let m = || metadata("1/UBND", "Thông báo", "UBND tỉnh", Urgency::Normal);
        let mut numbers = Vec::new();
        for byte in 1..=3 {
            numbers.push(register(&receive(&f, byte), f.clerk.id, NOON).number.get());
        }
        assert_eq!(numbers, [1, 2, 3]);
        // Another unit keeps its own register.
        let commune_doc = receive_in(db, &f.t.commune, &commune_clerk, m(), 9);
        assert_eq!(
            register(&commune_doc, commune_clerk.id, NOON).number.get(),
            1
        );
        // 17:00 UTC on 31 December is midnight in Vietnam: the new year's register starts.
        let late = register(&receive(&f, 4), f.clerk.id, "2026-12-31T16:59:00Z");
        assert_eq!((late.number.get(), late.year), (4, 2026));
        let new_year = register(&receive(&f, 5), f.clerk.id, "2026-12-31T17:00:00Z");
        assert_eq!((new_year.number.get(), new_year.year), (1, 2027));
    }

    #[test]
    fn a_step_from_a_state_the_document_left_changes_nothing() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let doc = receive(&f, 1);
        let registered = db
            .register_incoming(doc.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        // The second clerk read the document before the first one registered it.
        let again = db.register_incoming(doc.id, IncomingState::Received, f.clerk.id, at(NOON));
        match again {
            Err(StoreError::Transition(e)) => {
                assert_eq!(
                    (e.from, e.step),
                    (IncomingState::Registered, Step::Register)
                );
                assert!(e.to_string().contains("already registered"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // A step the caller's own reading already rules out is refused by routing itself.
        assert!(matches!(
            db.assign_incoming(
                doc.id,
                IncomingState::Received,
                f.leader.id,
                &assignment(Assignee::User(f.specialist.id), vec![]),
                at(NOON)
            ),
            Err(StoreError::Transition(_))
        ));
        let reason = ReturnReason::parse("Gửi nhầm đơn vị").unwrap();
        assert!(matches!(
            db.return_incoming(
                doc.id,
                IncomingState::Received,
                f.clerk.id,
                &reason,
                at(NOON)
            ),
            Err(StoreError::Transition(_))
        ));
        assert_eq!(db.get_incoming(doc.id).unwrap(), registered);
        assert_eq!(db.incoming_trace(doc.id).unwrap().len(), 2);

        // Moved on under the caller, to a state the step is still possible from: stale.
        let doc = db
            .assign_incoming(
                doc.id,
                IncomingState::Registered,
                f.leader.id,
                &assignment(Assignee::User(f.specialist.id), vec![]),
                at(NOON),
            )
            .unwrap();
        let note = HandlingNote::parse("Bắt đầu").unwrap();
        db.record_incoming_progress(
            doc.id,
            IncomingState::Assigned,
            f.specialist.id,
            &note,
            at(NOON),
        )
        .unwrap();
        let before = db.get_incoming(doc.id).unwrap();
        assert!(matches!(
            db.complete_incoming(
                doc.id,
                IncomingState::Assigned,
                f.specialist.id,
                None,
                at(NOON),
                None,
            ),
            Err(StoreError::Stale { now, .. }) if now == "in_progress"
        ));
        assert_eq!(db.get_incoming(doc.id).unwrap(), before);
        assert!(matches!(
            db.register_incoming(
                IncomingId::new(4242).unwrap(),
                IncomingState::Received,
                f.clerk.id,
                at(NOON)
            ),
            Err(StoreError::NotFound { entity: ENTITY })
        ));

        // A returned document keeps its place out of the register.
        let other = receive(&f, 2);
        let returned = db
            .return_incoming(
                other.id,
                IncomingState::Received,
                f.clerk.id,
                &reason,
                at(NOON),
            )
            .unwrap();
        assert_eq!(
            (returned.state, returned.arrival),
            (IncomingState::Returned, None)
        );
        let trace = db.incoming_trace(other.id).unwrap();
        assert_eq!(trace[1].note.as_deref(), Some("Gửi nhầm đơn vị"));
    }

    #[test]
    fn parallel_registrations_give_consecutive_numbers_and_one_wins_a_duplicate() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        const N: usize = 50;
        let docs: Vec<IncomingDocument> = (1..=N as u8).map(|b| receive(&f, b)).collect();
        let barrier = Arc::new(Barrier::new(N));
        let handles: Vec<_> = docs
            .iter()
            .map(|doc| {
                let (db, barrier, id, clerk) = (f.db.clone(), barrier.clone(), doc.id, f.clerk.id);
                std::thread::spawn(move || {
                    barrier.wait();
                    db.register_incoming(id, IncomingState::Received, clerk, at(NOON))
                })
            })
            .collect();
        let mut numbers: Vec<u32> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap().arrival.unwrap().number.get())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=N as u32).collect::<Vec<_>>());

        // Eight clerks press "register" on one document at once: one number is given.
        let doc = receive(&f, 200);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (db, barrier, id, clerk) = (f.db.clone(), barrier.clone(), doc.id, f.clerk.id);
                std::thread::spawn(move || {
                    barrier.wait();
                    db.register_incoming(id, IncomingState::Received, clerk, at(NOON))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        assert_eq!(won[0].arrival.unwrap().number.get(), N as u32 + 1);
        assert!(results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::Transition(_))));
        assert_eq!(f.db.incoming_trace(doc.id).unwrap().len(), 2);
        let next = receive(&f, 201);
        let next =
            f.db.register_incoming(next.id, IncomingState::Received, f.clerk.id, at(NOON))
                .unwrap();
        assert_eq!(next.arrival.unwrap().number.get(), N as u32 + 2);
    }

    #[test]
    fn documents_go_down_the_tree_to_leaders_and_specialists() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let doc = receive(&f, 1);
        let doc = db
            .register_incoming(doc.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        let sibling_specialist = user(db, "sibling.specialist", &f.t.sibling, &[Role::Specialist]);
        let commune_leader = user(db, "commune.leader", &f.t.commune, &[Role::Leader]);
        for (lead, field) in [
            (Assignee::Unit(f.t.sibling.id), "lead"),
            (Assignee::Unit(f.t.district.id), "lead"),
            (Assignee::Unit(f.t.province.id), "lead"),
            (Assignee::User(sibling_specialist.id), "lead"),
            (Assignee::User(f.clerk.id), "lead"),
            (Assignee::User(UserId::new(999).unwrap()), "lead"),
        ] {
            let err = db
                .assign_incoming(
                    doc.id,
                    IncomingState::Registered,
                    f.leader.id,
                    &assignment(lead, vec![]),
                    at(NOON),
                )
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid(v) if v.field == field),
                "{lead:?}: {err}"
            );
        }
        let err = db
            .assign_incoming(
                doc.id,
                IncomingState::Registered,
                f.leader.id,
                &assignment(
                    Assignee::User(f.specialist.id),
                    vec![Assignee::Unit(f.t.sibling.id)],
                ),
                at(NOON),
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.field == "co_handlers"),
            "{err}"
        );
        assert_eq!(db.get_incoming(doc.id).unwrap(), doc);

        // A commune below the district and its leader are fine.
        let assigned = db
            .assign_incoming(
                doc.id,
                IncomingState::Registered,
                f.leader.id,
                &assignment(
                    Assignee::Unit(f.t.commune.id),
                    vec![Assignee::User(commune_leader.id)],
                ),
                at(NOON),
            )
            .unwrap();
        assert_eq!(assigned.state, IncomingState::Assigned);
    }

    #[test]
    fn lists_filter_search_and_put_urgent_documents_first() {
        let tdb = TestDatabase::create();
        let f = fixture(&tdb);
        let db = &f.db;
        let commune_clerk = user(db, "commune.clerk", &f.t.commune, &[Role::Clerk]);
        let commune_specialist = user(db, "commune.specialist", &f.t.commune, &[Role::Specialist]);
        let plain = receive_in(
            db,
            &f.t.district,
            &f.clerk,
            metadata(
                "12/SNV-VP",
                "Về việc đào tạo cán bộ",
                "Sở Nội vụ",
                Urgency::Normal,
            ),
            1,
        );
        let urgent = receive_in(
            db,
            &f.t.district,
            &f.clerk,
            metadata(
                "7/QĐ-UBND",
                "Quyết định phê duyệt 100% kinh phí",
                "Ủy ban nhân dân tỉnh Vĩnh Phúc",
                Urgency::HoaToc,
            ),
            2,
        );
        let elsewhere = receive_in(
            db,
            &f.t.commune,
            &commune_clerk,
            metadata(
                "3/TB-UBND",
                "Thông báo lịch họp",
                "UBND huyện",
                Urgency::Khan,
            ),
            3,
        );
        let list =
            |scope: VisibleScope, handed: &[Assignee], filter: IncomingFilter| -> Vec<IncomingId> {
                db.list_incoming(&scope, handed, &filter, PageRequest::default())
                    .unwrap()
                    .items
                    .iter()
                    .map(|d| d.id)
                    .collect()
            };
        let district = || VisibleScope::Unit(f.t.district.id);
        let me = [Assignee::User(f.clerk.id)];
        assert_eq!(
            list(district(), &me, IncomingFilter::default()),
            [urgent.id, plain.id]
        );
        assert_eq!(
            list(
                VisibleScope::Subtree(f.t.district.path.clone()),
                &me,
                IncomingFilter::default()
            ),
            [urgent.id, elsewhere.id, plain.id]
        );
        let search = |q: &str| IncomingFilter {
            search: Some(q.into()),
            ..IncomingFilter::default()
        };
        for q in ["dao tao", "ĐÀO TẠO", "đào", "so noi vu", "12/snv"] {
            assert_eq!(list(district(), &me, search(q)), [plain.id], "{q}");
        }
        for q in [
            "uy ban nhan dan tinh vinh phuc",
            "Vĩnh Phúc",
            "100%",
            "qđ-ubnd",
        ] {
            assert_eq!(list(district(), &me, search(q)), [urgent.id], "{q}");
        }
        // LIKE's own characters are matched literally: `%` finds only the "100%".
        assert_eq!(list(district(), &me, search("%")), [urgent.id]);
        assert!(list(district(), &me, search("_")).is_empty());
        assert_eq!(list(district(), &me, search("  ")).len(), 2);
        let only = |state: Option<IncomingState>, urgency: Option<Urgency>, year: Option<i32>| {
            IncomingFilter {
                state,
                urgency,
                year,
                ..IncomingFilter::default()
            }
        };
        assert_eq!(
            list(district(), &me, only(None, Some(Urgency::HoaToc), None)),
            [urgent.id]
        );
        assert_eq!(list(district(), &me, only(None, None, Some(2026))).len(), 2);
        assert!(list(district(), &me, only(None, None, Some(2025))).is_empty());
        db.register_incoming(plain.id, IncomingState::Received, f.clerk.id, at(NOON))
            .unwrap();
        assert_eq!(
            list(
                district(),
                &me,
                only(Some(IncomingState::Registered), None, None)
            ),
            [plain.id]
        );

        // The commune sees the district's document once it is handed to the commune.
        let commune = || VisibleScope::Unit(f.t.commune.id);
        let specialist_ids = [
            Assignee::User(commune_specialist.id),
            Assignee::Unit(f.t.commune.id),
        ];
        assert_eq!(
            list(commune(), &specialist_ids, IncomingFilter::default()),
            [elsewhere.id]
        );
        db.assign_incoming(
            plain.id,
            IncomingState::Registered,
            f.leader.id,
            &assignment(Assignee::Unit(f.t.commune.id), vec![]),
            at(NOON),
        )
        .unwrap();
        assert_eq!(
            list(commune(), &specialist_ids, IncomingFilter::default()),
            [elsewhere.id, plain.id]
        );
        let clerk_ids = [Assignee::User(commune_clerk.id)];
        assert_eq!(
            list(commune(), &clerk_ids, IncomingFilter::default()),
            [elsewhere.id]
        );

        // Due-soon and per-person lists: only open documents, by the lead's deadline.
        let due = |due_by: &str, assigned_to: Option<Vec<Assignee>>| IncomingFilter {
            due_by: Some(day(due_by)),
            assigned_to,
            ..IncomingFilter::default()
        };
        assert_eq!(list(district(), &me, due("2026-12-15", None)), [plain.id]);
        assert_eq!(list(district(), &me, due("2026-12-31", None)), [plain.id]);
        assert!(list(district(), &me, due("2026-12-14", None)).is_empty());
        let to_commune = Some(vec![Assignee::Unit(f.t.commune.id)]);
        assert_eq!(
            list(district(), &me, due("2026-12-15", to_commune.clone())),
            [plain.id]
        );
        let to_clerk = Some(vec![Assignee::User(f.clerk.id)]);
        assert!(list(district(), &me, due("2026-12-15", to_clerk.clone())).is_empty());
        let mine = |assigned_to| IncomingFilter {
            assigned_to,
            ..IncomingFilter::default()
        };
        assert_eq!(list(district(), &me, mine(to_commune)), [plain.id]);
        assert!(list(district(), &me, mine(to_clerk)).is_empty());
        // A completed document is no longer due.
        db.complete_incoming(
            plain.id,
            IncomingState::Assigned,
            f.specialist.id,
            None,
            at(NOON),
            None,
        )
        .unwrap();
        assert!(list(district(), &me, due("2026-12-31", None)).is_empty());

        let page = db
            .list_incoming(
                &district(),
                &me,
                &IncomingFilter::default(),
                PageRequest::new(2, 1).unwrap(),
            )
            .unwrap();
        assert_eq!((page.total, page.items.len()), (2, 1));
        assert_eq!(page.items[0].id, plain.id);
        assert_eq!(
            page.items[0].assignment.as_ref().unwrap().lead,
            Assignee::Unit(f.t.commune.id)
        );
    }
}
