//! `/api/v1/incoming`: incoming documents (văn bản đến) received, registered, returned,
//! assigned and handled.
//!
//! Each step loads the document, asks the access policy with the document's unit and
//! assignees, and hands the state it saw to the store, which writes only if the document is
//! still in it: a duplicate or a step the state does not allow is a 409 and changes nothing.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};
use vanthu_audit::ObjectRef;
use vanthu_domain::access::{Acting, Action, Assignee, Target};
use vanthu_domain::{IncomingId, OutgoingId, UnitId, UserId, ValidationError};
use vanthu_routing::{
    vietnam_today, Assignment, DocumentType, HandlingNote, IncomingMetadata, IncomingState,
    Instruction, IssuingBody, NumberNotation, ReturnReason, Summary, TraceAction, Urgency,
};
use vanthu_store::blob::BlobRef;
use vanthu_store::{
    Access, AssignmentRecord, IncomingDocument, IncomingFile, IncomingFilter, NewIncoming,
    NewPaperIncoming, TraceEntry,
};

use crate::audit::record_access;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::files::{serve_blob, store_stream};
use crate::json::{declared_length, parse, Json};
use crate::media::FileKind;
use crate::page::{Page, PageParams, Pagination};
use crate::state::{AppState, Limits};
use crate::validation::names_schema;
use crate::verify::verify_blob;

const INCOMING: &str = "incoming document";

fn state_schema() -> Object {
    names_schema(IncomingState::ALL.map(IncomingState::as_str))
}

pub(crate) fn urgency_schema() -> Object {
    names_schema(Urgency::ALL.map(Urgency::as_str))
}

fn interchange_schema() -> Object {
    names_schema(IncomingState::ALL.map(|s| s.interchange_status().code()))
}

fn medium_schema() -> Object {
    names_schema(["electronic", "paper"])
}

fn trace_action_schema() -> Object {
    names_schema(TraceAction::ALL.map(TraceAction::as_str))
}
/// Longest search text accepted, in characters.
pub(crate) const MAX_SEARCH_CHARS: usize = 200;

/// A person or a unit a document is handed to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssigneeRef {
    /// `user` or `unit`.
    #[schema(example = "unit")]
    pub kind: AssigneeKind,
    /// The user's or the unit's id.
    #[schema(example = 3, minimum = 1)]
    pub id: i64,
}

/// What kind of assignee.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeKind {
    /// One official.
    User,
    /// A unit; its leaders and specialists act for it.
    Unit,
}

impl From<Assignee> for AssigneeRef {
    fn from(a: Assignee) -> Self {
        match a {
            Assignee::User(id) => AssigneeRef {
                kind: AssigneeKind::User,
                id: id.get(),
            },
            Assignee::Unit(id) => AssigneeRef {
                kind: AssigneeKind::Unit,
                id: id.get(),
            },
        }
    }
}

impl AssigneeRef {
    fn to_assignee(self, field: &'static str) -> Result<Assignee, ValidationError> {
        let bad = |_| ValidationError::new(field, "ids are positive numbers");
        Ok(match self.kind {
            AssigneeKind::User => Assignee::User(UserId::new(self.id).map_err(bad)?),
            AssigneeKind::Unit => Assignee::Unit(UnitId::new(self.id).map_err(bad)?),
        })
    }
}

/// Whom a document was handed to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    /// The one in charge (chủ trì).
    pub lead: AssigneeRef,
    /// Those who support the lead (phối hợp).
    pub co_handlers: Vec<AssigneeRef>,
    /// The leader's instruction (bút phê).
    pub instruction: String,
    /// When handling must be finished.
    pub deadline: NaiveDate,
}

impl From<AssignmentRecord> for AssignmentView {
    fn from(a: AssignmentRecord) -> Self {
        AssignmentView {
            lead: a.lead.into(),
            co_handlers: a.co_handlers.into_iter().map(AssigneeRef::from).collect(),
            instruction: a.instruction.into(),
            deadline: a.deadline,
        }
    }
}

/// An incoming document.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncomingView {
    /// Document id.
    #[schema(example = 12)]
    pub id: i64,
    /// `received`, `registered`, `assigned`, `in_progress`, `completed` or `returned`.
    #[schema(schema_with = state_schema)]
    pub state: String,
    /// `electronic` (received as a PDF, its signatures verified) or `paper` (received on
    /// paper and entered in the register without a file).
    #[schema(schema_with = medium_schema)]
    pub medium: String,
    /// The state as the interchange's StatusCode shown to the sender: 01 arrived,
    /// 02 returned, 03 registered, 04 assigned, 05 in progress, 06 completed.
    #[schema(schema_with = interchange_schema)]
    pub interchange_status: String,
    /// The receiving unit.
    #[schema(example = 4)]
    pub unit_id: i64,
    /// Số đến, once registered: the position in the unit's register for the year.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 57)]
    pub arrival_number: Option<u32>,
    /// The register year of the arrival number (Vietnam time), once registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 2026)]
    pub arrival_year: Option<i32>,
    /// When it was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<DateTime<Utc>>,
    /// The issuing body (cơ quan ban hành).
    #[schema(example = "Ủy ban nhân dân tỉnh Vĩnh Phúc")]
    pub issuing_body: String,
    /// Number and notation (số, ký hiệu) as the sender wrote them.
    #[schema(example = "123/UBND-VP")]
    pub number_notation: String,
    /// The number part.
    #[schema(example = "123")]
    pub number: String,
    /// The notation part.
    #[schema(example = "UBND-VP")]
    pub notation: String,
    /// The date the document bears.
    pub document_date: NaiveDate,
    /// Its kind (loại văn bản).
    #[schema(example = "Công văn")]
    pub document_type: String,
    /// Its subject (trích yếu).
    #[schema(example = "Về việc triển khai văn bản điện tử")]
    pub summary: String,
    /// `normal`, `khan`, `thuong_khan`, `hoa_toc` or `hoa_toc_hen_gio`.
    #[schema(schema_with = urgency_schema)]
    pub urgency: String,
    /// The urgency as the interchange Priority, 0 (normal) to 4 (hỏa tốc hẹn giờ).
    #[schema(minimum = 0, maximum = 4, example = 1)]
    pub priority: u8,
    /// Whether the document must be presented at once (khẩn and above).
    pub urgent: bool,
    /// The answer the sender asks for by this date, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// The verifier's verdict on the received PDF: `valid`, `untrusted`, `modified`,
    /// `invalid` or `unsigned`. A document with a broken signature is kept, flagged here.
    #[schema(example = "valid")]
    pub verification: String,
    /// The clerk who received it.
    pub received_by: i64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Whom it was handed to, once assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment: Option<AssignmentView>,
    /// The outgoing document it is a copy of, when released to this unit by a unit here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_outgoing_id: Option<i64>,
    /// The outgoing document that answered it, once completed with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_outgoing_id: Option<i64>,
    /// Its recall by the sender: while `requested` it is frozen; `accepted` withdraws it
    /// from the lists; `refused` leaves it here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<RecallView>,
}

/// The sender's recall of a copy.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecallView {
    /// `requested`, `accepted` or `refused`.
    #[schema(example = "requested")]
    pub state: String,
    /// The sender's reason.
    pub reason: String,
    /// When the sender recalled it.
    pub at: DateTime<Utc>,
}

impl From<IncomingDocument> for IncomingView {
    fn from(d: IncomingDocument) -> Self {
        let m = d.metadata;
        IncomingView {
            id: d.id.get(),
            state: d.state.as_str().to_owned(),
            medium: d.medium.as_str().to_owned(),
            interchange_status: d.state.interchange_status().code().to_owned(),
            unit_id: d.unit_id.get(),
            arrival_number: d.arrival.map(|a| a.number.get()),
            arrival_year: d.arrival.map(|a| a.year),
            registered_at: d.arrival.map(|a| a.registered_at),
            number: m.number_notation.number().to_owned(),
            notation: m.number_notation.notation().to_owned(),
            number_notation: m.number_notation.into(),
            issuing_body: m.issuing_body.into(),
            document_date: m.document_date,
            document_type: m.document_type.into(),
            summary: m.summary.into(),
            urgency: m.urgency.as_str().to_owned(),
            priority: m.urgency.priority(),
            urgent: m.urgency.is_urgent(),
            due_date: m.due_date,
            verification: d.verification,
            received_by: d.received_by.get(),
            received_at: d.received_at,
            updated_at: d.updated_at,
            assignment: d.assignment.map(AssignmentView::from),
            source_outgoing_id: d.source.map(|s| s.get()),
            reply_outgoing_id: d.reply.map(|r| r.get()),
            recall: d.recall.map(|r| RecallView {
                state: r.state.as_str().to_owned(),
                reason: r.reason,
                at: r.at,
            }),
        }
    }
}

/// One entry of the trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceView {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: i64,
    /// Their full name.
    #[schema(example = "Trần Thị Mai")]
    pub actor_name: String,
    /// The leader they stood in for, when they acted under a delegation (ủy quyền).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<crate::delegations::OnBehalfOfView>,
    /// `receive`, `register`, `return`, `assign`, `progress` or `complete`.
    #[schema(schema_with = trace_action_schema)]
    pub action: String,
    /// The state it left the document in.
    #[schema(schema_with = state_schema)]
    pub state: String,
    /// The instruction, reason or note given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<TraceEntry> for TraceView {
    fn from(e: TraceEntry) -> Self {
        TraceView {
            at: e.at,
            actor_id: e.actor_id.get(),
            actor_name: e.actor_name,
            on_behalf_of: e.on_behalf_of.map(Into::into),
            action: e.action.as_str().to_owned(),
            state: e.state.as_str().to_owned(),
            note: e.note,
        }
    }
}

/// A version of the document's PDF; download it from `/api/v1/files/{sha256}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// 1 for the file received.
    pub revision: u32,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// Who added it.
    pub added_by: i64,
    /// When.
    pub added_at: DateTime<Utc>,
}

impl From<IncomingFile> for RevisionView {
    fn from(f: IncomingFile) -> Self {
        RevisionView {
            revision: f.revision,
            sha256: f.sha256.to_string(),
            size: f.size,
            added_by: f.added_by.get(),
            added_at: f.added_at,
        }
    }
}

/// An incoming document with its trace, its file revisions and the verification report.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncomingDetail {
    /// The document.
    #[serde(flatten)]
    pub document: IncomingView,
    /// Who did what and when, oldest first.
    pub trace: Vec<TraceView>,
    /// The versions of its PDF, oldest first.
    pub files: Vec<RevisionView>,
    /// The verifier's full report on the received PDF.
    #[schema(value_type = Object)]
    pub verification_report: serde_json::Value,
}

/// A document just received, with the warning Decree 30 asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedView {
    /// The document.
    #[serde(flatten)]
    pub document: IncomingView,
    /// Earlier documents of the unit with the same number/notation and issuing body
    /// (ignoring case and diacritics): the same document received twice, most likely.
    /// Kept all the same; the clerk decides.
    pub possible_duplicates: Vec<i64>,
}

/// The `metadata` part of a receipt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingMetadataBody {
    /// The issuing body, 1 to 200 characters.
    #[schema(
        example = "Ủy ban nhân dân tỉnh Vĩnh Phúc",
        min_length = 1,
        max_length = 200
    )]
    pub issuing_body: String,
    /// Number, a slash, notation: 1 to 11 digits, then 1 to 30 letters, digits, `-`, `/`
    /// or `.`.
    #[schema(
        example = "123/UBND-VP",
        pattern = r"^[0-9]{1,11}/[\p{L}\p{N}][\p{L}\p{N}./-]{0,29}$"
    )]
    pub number_notation: String,
    /// The date the document bears; not after today (Vietnam time).
    pub document_date: NaiveDate,
    /// Its kind, 1 to 100 characters.
    #[schema(example = "Công văn", min_length = 1, max_length = 100)]
    pub document_type: String,
    /// Its subject (trích yếu), 1 to 500 characters.
    #[schema(
        example = "Về việc triển khai văn bản điện tử",
        min_length = 1,
        max_length = 500
    )]
    pub summary: String,
    /// `normal` (default), `khan`, `thuong_khan`, `hoa_toc` or `hoa_toc_hen_gio`.
    #[schema(schema_with = urgency_schema)]
    pub urgency: Option<String>,
    /// The answer the sender asks for by this date; not before the document's date.
    pub due_date: Option<NaiveDate>,
}

impl IncomingMetadataBody {
    fn into_metadata(self, today: NaiveDate) -> Result<IncomingMetadata, ValidationError> {
        let metadata = IncomingMetadata {
            issuing_body: IssuingBody::parse(&self.issuing_body)?,
            number_notation: NumberNotation::parse(&self.number_notation)?,
            document_date: self.document_date,
            document_type: DocumentType::parse(&self.document_type)?,
            summary: Summary::parse(&self.summary)?,
            urgency: match self.urgency {
                Some(u) => u.parse()?,
                None => Urgency::Normal,
            },
            due_date: self.due_date,
        };
        metadata.check_dates(today)?;
        Ok(metadata)
    }
}

/// The form of `POST /api/v1/incoming`.
/// Describes the form for the OpenAPI document; the handler reads the parts as they stream.
#[derive(ToSchema)]
pub struct IncomingUpload {
    /// The metadata, as JSON (Content-Type application/json).
    pub metadata: IncomingMetadataBody,
    /// The PDF as received.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Body of `/return`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Why the document goes back, for the sender: 1 to 500 characters.
    #[schema(example = "Gửi nhầm đơn vị nhận", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Body of `/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The one in charge: a unit below the receiving unit, or a leader or specialist of it
    /// or of a unit below it.
    pub lead: AssigneeRef,
    /// Those who support the lead, each named once, at most 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub co_handlers: Vec<AssigneeRef>,
    /// The instruction (bút phê), 1 to 2000 characters.
    #[schema(
        example = "Phòng Tài chính chủ trì, báo cáo trước ngày 15/12",
        min_length = 1,
        max_length = 2000
    )]
    pub instruction: String,
    /// When handling must be finished; today (Vietnam time) or later.
    pub deadline: NaiveDate,
}

/// Body of `/progress`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    /// What was done, 1 to 2000 characters.
    #[schema(example = "Đã làm việc với các xã", min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Body of `/forward`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardBody {
    /// The new lead: a leader or specialist of your unit or of a unit below it, or a unit
    /// below yours; not someone already handling the document.
    pub to: AssigneeRef,
    /// Why, or what to do, 1 to 2000 characters.
    #[schema(
        example = "Giao đồng chí Thu xử lý, báo cáo trước hạn",
        min_length = 1,
        max_length = 2000
    )]
    pub note: Option<String>,
}

/// Body of `/complete`; may be `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// How the handling ended, 1 to 2000 characters.
    #[schema(
        example = "Đã trả lời bằng Công văn số 45/UBND-TCKH",
        min_length = 1,
        max_length = 2000
    )]
    pub note: Option<String>,
    /// The outgoing document that answers it (of the receiving unit or a unit below it).
    #[schema(minimum = 1, example = 7)]
    pub reply: Option<i64>,
}

/// Filters of the list, besides paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncomingQuery {
    /// Only documents in this state.
    #[param(schema_with = state_schema)]
    pub state: Option<String>,
    /// Only documents of this urgency.
    #[param(schema_with = urgency_schema)]
    pub urgency: Option<String>,
    /// Only documents received in this calendar year (Vietnam time).
    #[param(minimum = 2000, maximum = 9999, example = 2026)]
    pub year: Option<i32>,
    /// Words in the number/notation, summary or issuing body; diacritics optional
    /// (`dao tao` finds `đào tạo`). At most 200 characters.
    #[param(max_length = 200, example = "dao tao")]
    pub q: Option<String>,
    /// Only documents still being handled whose deadline is on or before this day: the
    /// due-soon list (yesterday gives the overdue list).
    pub due_by: Option<NaiveDate>,
    /// `me`: only documents handed to the caller or to the unit they act for.
    #[param(pattern = "^me$", example = "me")]
    pub assigned_to: Option<String>,
}

/// Reads the list's filters; `me` are the assignees the caller is or acts for.
fn parse_filter(query: &str, me: &[Assignee]) -> Result<IncomingFilter, ApiError> {
    let params = web::Query::<HashMap<String, String>>::from_query(query)
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })?
        .into_inner();
    let invalid = |e: ValidationError| ApiError::InvalidQuery {
        field: e.field.to_owned(),
        detail: e.message,
    };
    let state = params
        .get("state")
        .map(|s| s.parse::<IncomingState>())
        .transpose()
        .map_err(invalid)?;
    let urgency = params
        .get("urgency")
        .map(|s| s.parse::<Urgency>())
        .transpose()
        .map_err(invalid)?;
    let year = params
        .get("year")
        .map(|y| {
            y.trim()
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=9999).contains(y))
                .ok_or_else(|| ApiError::InvalidQuery {
                    field: "year".into(),
                    detail: format!("'{y}' is not a year from 2000 to 9999"),
                })
        })
        .transpose()?;
    let search = params.get("q").cloned();
    if search
        .as_deref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(ApiError::InvalidQuery {
            field: "q".into(),
            detail: format!("search for at most {MAX_SEARCH_CHARS} characters"),
        });
    }
    let due_by = params
        .get("due_by")
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| ApiError::InvalidQuery {
                field: "due_by".into(),
                detail: format!("'{d}' is not a date like 2026-12-31"),
            })
        })
        .transpose()?;
    let assigned_to = match params.get("assigned_to").map(String::as_str) {
        None => None,
        Some("me") => Some(me.to_vec()),
        Some(other) => {
            return Err(ApiError::InvalidQuery {
                field: "assigned_to".into(),
                detail: format!("'{other}' is not understood; use assigned_to=me"),
            })
        }
    };
    Ok(IncomingFilter {
        state,
        urgency,
        year,
        search,
        due_by,
        assigned_to,
    })
}

fn incoming_id(raw: &str) -> Result<IncomingId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound { what: INCOMING })
}

/// Loads a document and asks the access policy whether the caller may take `action` on it.
pub(crate) async fn authorized(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<IncomingDocument, ApiError> {
    Ok(authorized_as(state, auth, raw_id, action).await?.0)
}

/// Like [`authorized`], with who acts and on whose authority, for the steps a deputy may take.
async fn authorized_as(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<(IncomingDocument, Acting), ApiError> {
    let id = incoming_id(raw_id)?;
    let db = state.db.clone();
    let document = web::block(move || db.get_incoming(id)).await??;
    let target = Target::handled(document.unit_path.clone(), document.handling());
    let authority = auth.authorize(action, &target, INCOMING)?;
    Ok((document, auth.acting(authority)))
}

fn ok(document: IncomingDocument) -> HttpResponse {
    HttpResponse::Ok().json(IncomingView::from(document))
}

/// Reads a form part into memory, up to `limit` bytes.
pub(crate) async fn read_part(
    field: &mut actix_multipart::Field,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidMultipart(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge {
                limit: limit as u64,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("multipart/form-data")
        })
}

/// Records a document received by the caller's unit (clerks): the PDF is stored, every
/// signature in it verified, and the report kept with the document. A PDF whose signatures
/// are broken or untrusted is kept too, with `verification` saying so.
#[utoipa::path(
    post,
    path = "/api/v1/incoming",
    tag = "incoming",
    request_body(content = IncomingUpload, content_type = "multipart/form-data", description = "Part `metadata`: the JSON object IncomingMetadataBody; part `file`: the PDF (up to the upload limit)"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Received; Location names the document", body = ReceivedView),
        (status = 400, description = "Malformed form or metadata JSON, or a part missing", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only clerks receive documents", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data, or the file is empty or not a PDF", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A metadata value breaks its rule (the field is named), or the PDF cannot be read", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::ReceiveIncoming,
        &Target::in_unit(auth.actor.unit_path.clone()),
        INCOMING,
    )?;
    if !is_multipart(&req) {
        return Err(ApiError::UnsupportedMediaType(
            "send the form as multipart/form-data, with the parts `metadata` (JSON) and `file` \
             (the PDF)"
                .into(),
        ));
    }
    let limits = Limits::of(&req);
    // The form carries the metadata beside the file: allow for it on top of the file limit.
    let form_limit = limits.upload.saturating_add(limits.json as u64);
    if declared_length(&req).is_some_and(|n| n > form_limit) {
        return Err(ApiError::PayloadTooLarge {
            limit: limits.upload,
        });
    }
    let received_at = Utc::now();
    let today = vietnam_today(received_at);
    let mut form = Multipart::new(req.headers(), payload);
    let mut metadata = None;
    let mut blob: Option<BlobRef> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::InvalidMultipart(e.to_string()))?;
        match field.name() {
            Some("metadata") if metadata.is_none() => {
                let body = read_part(&mut field, limits.json).await?;
                let parsed: IncomingMetadataBody = parse(&body)?;
                metadata = Some(parsed.into_metadata(today)?);
            }
            Some("file") if blob.is_none() => {
                blob = Some(
                    store_stream(state.blobs.clone(), field, limits.upload, FileKind::PDF).await?,
                );
            }
            Some(name @ ("metadata" | "file")) => {
                return Err(ApiError::InvalidMultipart(format!(
                    "the part `{name}` appears twice"
                )));
            }
            other => {
                return Err(ApiError::InvalidMultipart(format!(
                    "unexpected part `{}`",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    let metadata = metadata.ok_or(ApiError::MissingPart { part: "metadata" })?;
    let blob = blob.ok_or(ApiError::MissingPart { part: "file" })?;
    let report = verify_blob(&state, blob.sha256.clone()).await?;
    let new = NewIncoming {
        unit_id: auth.actor.unit_id,
        received_by: auth.user.id,
        received_at,
        metadata,
        sha256: blob.sha256,
        size: blob.size,
        verification: report.verdict.as_str().to_owned(),
        verification_report: serde_json::to_string(&report).map_err(ApiError::internal)?,
    };
    let (document, duplicates) = web::block(move || -> Result<_, ApiError> {
        let document = state.db.receive_incoming(&new)?;
        let duplicates = state.db.incoming_duplicates(&document)?;
        Ok((document, duplicates))
    })
    .await??;
    tracing::info!(
        id = %document.id,
        verification = %document.verification,
        duplicates = duplicates.len(),
        by = %auth.user.id,
        "incoming document received"
    );
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/incoming/{}", document.id),
        ))
        .json(ReceivedView {
            document: document.into(),
            possible_duplicates: duplicates.iter().map(|id| id.get()).collect(),
        }))
}

/// Records a document received on paper (clerks): entered with its metadata and no file,
/// then registered, assigned and handled like any other. It counts among the documents
/// received, and not among those processed on the software (docs/ratios.md).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/paper",
    tag = "incoming",
    request_body = IncomingMetadataBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded; Location names the document", body = ReceivedView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only clerks record received documents", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A metadata value breaks its rule (the field is named)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive_paper(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<IncomingMetadataBody>,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::ReceiveIncoming,
        &Target::in_unit(auth.actor.unit_path.clone()),
        INCOMING,
    )?;
    let received_at = Utc::now();
    let new = NewPaperIncoming {
        unit_id: auth.actor.unit_id,
        received_by: auth.user.id,
        received_at,
        metadata: body.0.into_metadata(vietnam_today(received_at))?,
    };
    let (document, duplicates) = web::block(move || -> Result<_, ApiError> {
        let document = state.db.record_paper_incoming(&new)?;
        let duplicates = state.db.incoming_duplicates(&document)?;
        Ok((document, duplicates))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/incoming/{}", document.id),
        ))
        .json(ReceivedView {
            document: document.into(),
            possible_duplicates: duplicates.iter().map(|id| id.get()).collect(),
        }))
}

/// The incoming documents the caller may see (their unit's, their subtree's for auditors,
/// and those handed to them or their unit), most urgent first, then newest first.
/// `due_by` and `assigned_to=me` give the due-soon, overdue and personal lists.
#[utoipa::path(
    get,
    path = "/api/v1/incoming",
    tag = "incoming",
    params(IncomingQuery, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<IncomingView>),
        (status = 400, description = "A filter or paging parameter is not understood", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    page: Pagination,
) -> Result<HttpResponse, ApiError> {
    let handed_to = auth.actor.assignee_identities();
    let filter = parse_filter(req.query_string(), &handed_to)?;
    let scope = auth.actor.visible_scope();
    let paged =
        web::block(move || state.db.list_incoming(&scope, &handed_to, &filter, page.0)).await??;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, IncomingView::from)))
}

/// One incoming document with its trace, file revisions and verification report.
#[utoipa::path(
    get,
    path = "/api/v1/incoming/{id}",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IncomingDetail),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or outside your units and not handed to you", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ReadIncoming).await?;
    let id = document.id;
    record_access(&state, &auth, ObjectRef::incoming(id), Access::View, None).await?;
    let (trace, files, report) = web::block(move || -> Result<_, ApiError> {
        Ok((
            state.db.incoming_trace(id)?,
            state.db.incoming_files(id)?,
            state.db.incoming_verification_report(id)?,
        ))
    })
    .await??;
    Ok(HttpResponse::Ok().json(IncomingDetail {
        document: document.into(),
        trace: trace.into_iter().map(TraceView::from).collect(),
        files: files.into_iter().map(RevisionView::from).collect(),
        verification_report: serde_json::from_str(&report).map_err(ApiError::internal)?,
    }))
}

/// Downloads a version of the document's PDF; anyone who sees the document may, including
/// assignees outside the receiving unit.
#[utoipa::path(
    get,
    path = "/api/v1/incoming/{id}/files/{revision}",
    tag = "incoming",
    params(
        ("id" = i64, Path, description = "Document id"),
        ("revision" = u32, Path, description = "Revision, 1 for the file received", minimum = 1),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The PDF", body = crate::files::FileBytes, content_type = "application/pdf"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document or revision, or outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, revision) = path.into_inner();
    let document = authorized(&state, &auth, &id, Action::ReadIncoming).await?;
    let missing = || ApiError::NotFound { what: "revision" };
    let revision: u32 = revision.parse().map_err(|_| missing())?;
    let db = state.db.clone();
    let files = web::block(move || db.incoming_files(document.id)).await??;
    let file = files
        .into_iter()
        .find(|f| f.revision == revision)
        .ok_or_else(missing)?;
    record_access(
        &state,
        &auth,
        ObjectRef::incoming(document.id),
        Access::Download,
        Some(file.sha256.clone()),
    )
    .await?;
    serve_blob(&state, file.sha256, file.size, "application/pdf").await
}

/// Enters a received document in the unit's register with the next arrival number (clerks).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/register",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Registered; `arrival_number` is set", body = IncomingView),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the receiving unit's clerks register", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered or returned, or registered by someone else meanwhile; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::RegisterIncoming).await?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .register_incoming(document.id, document.state, by, Utc::now())
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "incoming document registered");
    Ok(ok(document))
}

/// Sends a received, unregistered document back to its sender with a reason (clerks).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/return",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = ReturnBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Returned", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the receiving unit's clerks return documents", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered or returned; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long reason", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn return_to_sender(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ReturnBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ReturnIncoming).await?;
    let reason = ReturnReason::parse(&body.0.reason)?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .return_incoming(document.id, document.state, by, &reason, Utc::now())
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "incoming document returned");
    Ok(ok(document))
}

/// Hands a registered document to a lead and co-handlers with an instruction and a
/// deadline (leaders of the receiving unit).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/assign",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = AssignBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Assigned", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the receiving unit's leaders assign", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not registered yet, or already assigned; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An assignee who may not handle the document, a duplicate, a past deadline or a bad instruction (the field is named)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let (document, by) = authorized_as(&state, &auth, &id, Action::AssignIncoming).await?;
    let body = body.0;
    let now = Utc::now();
    let co_handlers = body
        .co_handlers
        .into_iter()
        .map(|c| c.to_assignee("co_handlers"))
        .collect::<Result<Vec<_>, _>>()?;
    let assignment = Assignment::new(
        body.lead.to_assignee("lead")?,
        co_handlers,
        Instruction::parse(&body.instruction)?,
        body.deadline,
        vietnam_today(now),
    )?;
    let document = web::block(move || {
        state
            .db
            .assign_incoming(document.id, document.state, by, &assignment, now)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by.user, authority = ?by.authority, "incoming document assigned");
    Ok(ok(document))
}

/// Records how the handling is going (the lead and the co-handlers).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/progress",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = ProgressBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded; the document is in_progress", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only those it was assigned to record progress", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not assigned yet, or already completed or returned; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long note", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn progress(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ProgressBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::RecordProgress).await?;
    let note = HandlingNote::parse(&body.0.note)?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .record_incoming_progress(document.id, document.state, by, &note, Utc::now())
    })
    .await??;
    Ok(ok(document))
}

/// Hands the lead on to someone in the lead's own unit or below it (the lead); the state
/// stays as it is.
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/forward",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = ForwardBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Forwarded; `assignment.lead` is the new lead", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the lead forwards", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not assigned, already completed, or forwarded by someone else meanwhile; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Someone outside your unit, already handling it, or not a leader or specialist (`to`), or a bad note", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forward(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ForwardBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ForwardIncoming).await?;
    let body = body.0;
    let to = body.to.to_assignee("to")?;
    let note = body.note.map(|n| HandlingNote::parse(&n)).transpose()?;
    // The policy let only the lead through, so there is one.
    let lead = document
        .assignment
        .as_ref()
        .map(|a| a.lead)
        .ok_or(ApiError::Forbidden)?;
    let (by, within) = (auth.user.id, auth.unit.path.clone());
    let document = web::block(move || {
        state.db.forward_incoming(
            document.id,
            document.state,
            lead,
            to,
            &within,
            by,
            note.as_ref(),
            Utc::now(),
        )
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "incoming document forwarded");
    Ok(ok(document))
}

/// Body of `/recall-response`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallResponseBody {
    /// `true` to accept the recall (the copy is withdrawn, kept and marked), `false` to
    /// refuse it (it stays).
    pub accept: bool,
    /// Why, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: Option<String>,
}

/// Answers the sender's recall of a copy (the receiving unit's clerks); the sender's trace
/// records the answer.
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/recall-response",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = RecallResponseBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the receiving unit's clerks answer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not recalled, or already answered; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn recall_response(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<RecallResponseBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::RegisterIncoming).await?;
    let note = body
        .0
        .note
        .map(|n| HandlingNote::parse(&n).map(String::from))
        .transpose()?;
    let by = auth.user.id;
    let accept = body.0.accept;
    let document = web::block(move || {
        state
            .db
            .answer_recall(document.id, by, Utc::now(), accept, note.as_deref())
    })
    .await??;
    Ok(ok(document))
}

/// Declares the handling finished (the lead).
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/complete",
    tag = "incoming",
    params(("id" = i64, Path, description = "Document id")),
    request_body = CompleteBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Completed", body = IncomingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the lead completes", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not assigned yet, or already completed or returned; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long note", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::CompleteIncoming).await?;
    let note = body.0.note.map(|n| HandlingNote::parse(&n)).transpose()?;
    let reply = body
        .0
        .reply
        .map(|r| {
            OutgoingId::new(r)
                .map_err(|_| ValidationError::new("reply", "ids are positive numbers"))
        })
        .transpose()?;
    let by = auth.user.id;
    let document = web::block(move || {
        state.db.complete_incoming(
            document.id,
            document.state,
            by,
            note.as_ref(),
            Utc::now(),
            reply,
        )
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "incoming document completed");
    Ok(ok(document))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(query: &str) -> String {
        match parse_filter(query, &[]).unwrap_err() {
            ApiError::InvalidQuery { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn filters_are_checked_and_named() {
        let me = [Assignee::User(UserId::new(3).unwrap())];
        let f = parse_filter(
            "state=in_progress&urgency=hoa_toc&year=2026&q=dao%20tao&page=2&due_by=2026-12-31&assigned_to=me",
            &me,
        )
        .unwrap();
        assert_eq!(f.due_by, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(f.assigned_to.as_deref(), Some(&me[..]));
        assert_eq!(f.state, Some(IncomingState::InProgress));
        assert_eq!(f.urgency, Some(Urgency::HoaToc));
        assert_eq!(f.year, Some(2026));
        assert_eq!(f.search.as_deref(), Some("dao tao"));
        assert_eq!(parse_filter("", &me).unwrap(), IncomingFilter::default());
        assert_eq!(field_of("due_by=31/12/2026"), "due_by");
        assert_eq!(field_of("assigned_to=7"), "assigned_to");
        assert_eq!(field_of("state=open"), "state");
        assert_eq!(field_of("urgency=3"), "urgency");
        assert_eq!(field_of("year=26"), "year");
        assert_eq!(field_of(&format!("q={}", "a".repeat(201))), "q");
    }

    #[test]
    fn metadata_bodies_become_validated_metadata() {
        let body = |json: &str| parse::<IncomingMetadataBody>(json.as_bytes()).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let m = body(r#"{"issuing_body":"UBND tỉnh","number_notation":" 12/TTr-UBND ","document_date":"2026-11-30","document_type":"Công văn","summary":"Về việc"}"#)
            .into_metadata(today)
            .unwrap();
        assert_eq!(m.number_notation.as_str(), "12/TTr-UBND");
        assert_eq!(m.urgency, Urgency::Normal);
        let err = body(r#"{"issuing_body":"UBND tỉnh","number_notation":"12/UBND","document_date":"2026-12-02","document_type":"Công văn","summary":"Về việc","urgency":"khan"}"#)
            .into_metadata(today)
            .unwrap_err();
        assert_eq!(err.field, "document_date");
        let err = body(r#"{"issuing_body":"UBND tỉnh","number_notation":"12/UBND","document_date":"2026-11-30","document_type":"Công văn","summary":"Về việc","urgency":"gấp"}"#)
            .into_metadata(today)
            .unwrap_err();
        assert_eq!(err.field, "urgency");
        assert!(matches!(
            parse::<IncomingMetadataBody>(br#"{"issuing_body":"x","number_notation":"1/A","document_date":"30/11/2026","document_type":"x","summary":"x"}"#),
            Err(ApiError::InvalidJson { field: Some(f), .. }) if f == "document_date"
        ));
    }
}
