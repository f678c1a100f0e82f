//! `/api/v1/outgoing`: outgoing documents (văn bản đi) drafted, approved, signed with the
//! signer's own key (held here under their signing PIN, or on their token through prepare
//! and complete), issued with a number and the organisation's seal, and released.
//!
//! Each step loads the document, asks the access policy, does the PDF work on a blocking
//! thread, and hands the state and revision it saw to the store, which writes only if the
//! document is still there: a duplicate or a step the state does not allow is a 409 and
//! changes nothing.

pub(crate) mod pdf;

use std::io::Read;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};
use vanthu_audit::ObjectRef;
use vanthu_domain::access::{Acting, Action, Target};
use vanthu_domain::{OutgoingId, Sha256Digest, UnitCode, UnitId, UserId, ValidationError};
use vanthu_interchange::{BusinessDocType, ReplacementInfo};
use vanthu_keys::{SessionToken, SigningPin};
use vanthu_pades::external::{self, Prepared};
use vanthu_pades::sign::sign_bytes;
use vanthu_pades::signer::{DigestAlgorithm, SignatureAlgorithm};
use vanthu_pades::trust::{self, PathStatus, Usage};
use vanthu_routing::{
    fold_for_search, vietnam_today, DocumentType, ExternalRecipient, IncomingMetadata, IssuingBody,
    Notation, OutgoingAction, OutgoingMetadata, OutgoingState, Position, RecipientName,
    SignerAssignment, Summary, Urgency,
};
use vanthu_store::blob::BlobRef;
use vanthu_store::{
    Access, CertificateOwner, ImageOwner, NewDraft, NewIncoming, NewPaperDocument, NewRevision,
    OutgoingDocument, OutgoingFile, OutgoingFilter, OutgoingTraceEntry, PreparedSignature,
    RecipientStatus, SignatureKind,
};

use crate::audit::record_access;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::files::{serve_blob, store_stream};
use crate::images::image_of;
use crate::incoming::{is_multipart, read_part, urgency_schema, MAX_SEARCH_CHARS};
use crate::interchange::{sealed_notices, Notice};
use crate::json::{declared_length, parse, Json};
use crate::media::FileKind;
use crate::page::{Page, PageParams, Pagination};
use crate::signing_keys::{open_personal_signer, open_seal_signer, Unlock};
use crate::state::{AppState, Limits};
use crate::validation::names_schema;
use crate::verify::verify_blob;

const OUTGOING: &str = "outgoing document";
/// Most certificates a completion may carry besides the signer's.
const MAX_CHAIN: usize = 10;

fn state_schema() -> Object {
    names_schema(OutgoingState::ALL.map(OutgoingState::as_str))
}

fn action_schema() -> Object {
    names_schema(OutgoingAction::ALL.map(OutgoingAction::as_str))
}

fn confidentiality_schema() -> Object {
    names_schema(vanthu_routing::Confidentiality::ALL.map(vanthu_routing::Confidentiality::as_str))
}

fn authority_schema() -> Object {
    names_schema(vanthu_routing::AuthorityMode::ALL.map(vanthu_routing::AuthorityMode::as_str))
}

/// Who will sign, and how.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignerBody {
    /// The signer: a leader of the issuing unit.
    #[schema(example = 3, minimum = 1)]
    pub user_id: i64,
    /// Their position as printed, 1 to 100 characters.
    #[schema(example = "CHỦ TỊCH", min_length = 1, max_length = 100)]
    pub position: String,
    /// `own` (default), `tm`, `kt`, `tl`, `tuq` or `q`.
    #[schema(schema_with = authority_schema)]
    pub authority: Option<String>,
}

/// An agency elsewhere that receives the document through the interchange.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalRecipientBody {
    /// Its name, 1 to 200 characters.
    #[schema(example = "Sở Nội vụ tỉnh Vĩnh Phúc", min_length = 1, max_length = 200)]
    pub name: String,
    /// Its electronic agency code.
    #[schema(example = "000.00.12.H56")]
    pub agency_code: String,
}

/// The `metadata` part of a draft, and the body of a paper record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutgoingMetadataBody {
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
    /// `normal` (default), `mat`, `toi_mat` or `tuyet_mat`; secret documents are numbered in
    /// their own series.
    #[schema(schema_with = confidentiality_schema)]
    pub confidentiality: Option<String>,
    /// The notation the number will carry (ký hiệu), e.g. `UBND-VP`.
    #[schema(example = "UBND-VP", pattern = r"^[\p{L}\p{N}][\p{L}\p{N}./-]{0,29}$")]
    pub notation: String,
    /// Who signs.
    pub signer: SignerBody,
    /// Units of this installation that receive it, each once.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub internal_recipients: Vec<i64>,
    /// Agencies elsewhere that receive it, each once.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub external_recipients: Vec<ExternalRecipientBody>,
    /// The answer asked of the recipients by this date; today (Vietnam time) or later.
    pub due_date: Option<NaiveDate>,
}

impl OutgoingMetadataBody {
    fn into_metadata(self, today: NaiveDate) -> Result<OutgoingMetadata, ValidationError> {
        let ids =
            |field: &'static str| move |_| ValidationError::new(field, "ids are positive numbers");
        let metadata = OutgoingMetadata {
            document_type: DocumentType::parse(&self.document_type)?,
            summary: Summary::parse(&self.summary)?,
            urgency: match self.urgency {
                Some(u) => u.parse()?,
                None => Urgency::Normal,
            },
            confidentiality: match self.confidentiality {
                Some(c) => c.parse()?,
                None => vanthu_routing::Confidentiality::Normal,
            },
            notation: Notation::parse(&self.notation)?,
            signer: SignerAssignment {
                user: UserId::new(self.signer.user_id).map_err(ids("signer"))?,
                position: Position::parse(&self.signer.position)?,
                authority: match self.signer.authority {
                    Some(a) => a.parse()?,
                    None => vanthu_routing::AuthorityMode::Own,
                },
            },
            internal_recipients: self
                .internal_recipients
                .into_iter()
                .map(|id| UnitId::new(id).map_err(ids("internal_recipients")))
                .collect::<Result<_, _>>()?,
            external_recipients: self
                .external_recipients
                .into_iter()
                .map(|r| {
                    Ok(ExternalRecipient {
                        name: RecipientName::parse(&r.name)?,
                        agency_code: UnitCode::parse(&r.agency_code)
                            .map_err(|e| ValidationError::new("external_recipients", e.message))?,
                    })
                })
                .collect::<Result<_, ValidationError>>()?,
            due_date: self.due_date,
        };
        if let Some(due) = metadata.due_date.filter(|d| *d < today) {
            return Err(ValidationError::new(
                "due_date",
                format!("{due} is before today ({today})"),
            ));
        }
        metadata.check_recipients()?;
        Ok(metadata)
    }
}

/// The form of `POST /api/v1/outgoing`.
#[derive(ToSchema)]
pub struct OutgoingUpload {
    /// The metadata, as JSON.
    pub metadata: OutgoingMetadataBody,
    /// The draft PDF.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The form of `POST /api/v1/outgoing/{id}/revisions`.
#[derive(ToSchema)]
pub struct RevisionUpload {
    /// The revised draft PDF.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// What changed, 1 to 2000 characters (plain text).
    pub note: Option<String>,
}

/// Who signs, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignerView {
    /// The signer's user id.
    pub user_id: i64,
    /// Their position as printed.
    #[schema(example = "CHỦ TỊCH")]
    pub position: String,
    /// The authority they sign under.
    #[schema(schema_with = authority_schema)]
    pub authority: String,
    /// Its printed prefix: `TM.`, `KT.`, ...; empty for `own`.
    #[schema(example = "TM.")]
    pub authority_prefix: String,
}

/// An outgoing document.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingView {
    /// Document id.
    #[schema(example = 7)]
    pub id: i64,
    /// `draft`, `returned`, `approved`, `signed`, `issued`, `released` or `recalled`.
    #[schema(schema_with = state_schema)]
    pub state: String,
    /// `electronic`, or `paper` for a document issued on paper and recorded here.
    #[schema(example = "electronic")]
    pub medium: String,
    /// The issuing unit.
    pub unit_id: i64,
    /// Kind (loại văn bản).
    pub document_type: String,
    /// Subject (trích yếu).
    pub summary: String,
    /// Urgency.
    #[schema(schema_with = urgency_schema)]
    pub urgency: String,
    /// Confidentiality.
    #[schema(schema_with = confidentiality_schema)]
    pub confidentiality: String,
    /// The notation its number carries.
    #[schema(example = "UBND-VP")]
    pub notation: String,
    /// Who signs.
    pub signer: SignerView,
    /// Units here that receive it.
    pub internal_recipients: Vec<i64>,
    /// Agencies elsewhere that receive it.
    pub external_recipients: Vec<ExternalRecipientBody>,
    /// The answer asked for by this date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// The drafter.
    pub drafted_by: i64,
    /// When drafted.
    pub drafted_at: DateTime<Utc>,
    /// `server_key` or `external`, once signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// When signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<DateTime<Utc>>,
    /// Số, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 1)]
    pub number: Option<u32>,
    /// Số, ký hiệu as printed, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "01/UBND-VP")]
    pub number_notation: Option<String>,
    /// The issue date (Vietnam time), once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_date: Option<NaiveDate>,
    /// Mã định danh, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "000.00.31.H56,2026/12/02,01/UBND-VP")]
    pub document_identifier: Option<String>,
    /// When released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    /// The latest revision of its PDF (0 for paper).
    pub revision: u32,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<OutgoingDocument> for OutgoingView {
    fn from(d: OutgoingDocument) -> Self {
        let m = d.metadata;
        OutgoingView {
            id: d.id.get(),
            state: d.state.as_str().to_owned(),
            medium: d.medium.as_str().to_owned(),
            unit_id: d.unit_id.get(),
            document_type: m.document_type.into(),
            summary: m.summary.into(),
            urgency: m.urgency.as_str().to_owned(),
            confidentiality: m.confidentiality.as_str().to_owned(),
            notation: m.notation.into(),
            signer: SignerView {
                user_id: m.signer.user.get(),
                position: m.signer.position.into(),
                authority: m.signer.authority.as_str().to_owned(),
                authority_prefix: m.signer.authority.prefix().to_owned(),
            },
            internal_recipients: m.internal_recipients.iter().map(|u| u.get()).collect(),
            external_recipients: m
                .external_recipients
                .into_iter()
                .map(|r| ExternalRecipientBody {
                    name: r.name.into(),
                    agency_code: r.agency_code.as_str().to_owned(),
                })
                .collect(),
            due_date: m.due_date,
            drafted_by: d.drafted_by.get(),
            drafted_at: d.drafted_at,
            signature: d.signature.map(|(k, _)| k.as_str().to_owned()),
            signed_at: d.signature.map(|(_, at)| at),
            number: d.issue.as_ref().map(|i| i.number.get()),
            number_notation: d.issue.as_ref().map(|i| i.number_notation.to_string()),
            issued_date: d.issue.as_ref().map(|i| i.date),
            document_identifier: d.issue.as_ref().map(|i| i.identifier.to_string()),
            released_at: d.released_at,
            revision: d.revision,
            updated_at: d.updated_at,
        }
    }
}

/// One entry of the trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingTraceView {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: i64,
    /// Their full name.
    pub actor_name: String,
    /// The leader they stood in for, when they acted under a delegation (ủy quyền).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<crate::delegations::OnBehalfOfView>,
    /// What they did.
    #[schema(schema_with = action_schema)]
    pub action: String,
    /// The state it left the document in.
    #[schema(schema_with = state_schema)]
    pub state: String,
    /// The comment, reason or note given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<OutgoingTraceEntry> for OutgoingTraceView {
    fn from(e: OutgoingTraceEntry) -> Self {
        OutgoingTraceView {
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

/// A version of the document's PDF.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingRevisionView {
    /// 1 for the first draft.
    pub revision: u32,
    /// `draft`, `signed` or `issued`.
    #[schema(example = "draft")]
    pub kind: String,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// Who added it.
    pub added_by: i64,
    /// When.
    pub added_at: DateTime<Utc>,
}

impl From<OutgoingFile> for OutgoingRevisionView {
    fn from(f: OutgoingFile) -> Self {
        OutgoingRevisionView {
            revision: f.revision,
            kind: f.kind.as_str().to_owned(),
            sha256: f.sha256.to_string(),
            size: f.size,
            added_by: f.added_by.get(),
            added_at: f.added_at,
        }
    }
}

/// A recipient and where its copy stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    /// The unit here, for internal recipients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<i64>,
    /// The agency elsewhere, for external recipients (sent through the interchange).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRecipientBody>,
    /// The recipient's incoming document, once released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incoming_id: Option<i64>,
    /// Its state there: `received`, `registered`, `assigned`, `in_progress`, `completed` or
    /// `returned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incoming_state: Option<String>,
    /// The interchange StatusCode: 01 arrived, 02 returned, 03 registered, 04 assigned,
    /// 05 in progress, 06 completed; once recalled 13 (awaiting the answer), 15 (accepted) or
    /// 16 (refused). For an agency elsewhere, the latest status its status packages reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
}

impl From<RecipientStatus> for RecipientView {
    fn from(r: RecipientStatus) -> Self {
        RecipientView {
            unit_id: r.unit_id.map(UnitId::get),
            external: r.external.map(|e| ExternalRecipientBody {
                name: e.name.into(),
                agency_code: e.agency_code.as_str().to_owned(),
            }),
            incoming_id: r.copy.map(|(id, _)| id.get()),
            incoming_state: r.copy.map(|(_, s)| s.as_str().to_owned()),
            status_code: match (r.recall, r.copy) {
                (Some(recall), _) => Some(recall.interchange_status().code().to_owned()),
                (None, Some((_, s))) => Some(s.interchange_status().code().to_owned()),
                // An agency elsewhere: the latest status its packages reported.
                (None, None) => r.reported.map(|(s, _)| s.code().to_owned()),
            },
        }
    }
}

/// An outgoing document with its trace, revisions and recipients.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingDetail {
    /// The document.
    #[serde(flatten)]
    pub document: OutgoingView,
    /// Who did what and when, oldest first.
    pub trace: Vec<OutgoingTraceView>,
    /// The versions of its PDF, oldest first.
    pub files: Vec<OutgoingRevisionView>,
    /// Its recipients and, once released, where their copies stand.
    pub recipients: Vec<RecipientView>,
}

/// Body of `/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// The comment, 1 to 2000 characters.
    #[schema(
        example = "Đề nghị bổ sung căn cứ pháp lý",
        min_length = 1,
        max_length = 2000
    )]
    pub text: String,
}

/// Body of `/approve`; may be `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The draft revision being approved; when given and no longer the latest, 409.
    #[schema(minimum = 1)]
    pub revision: Option<u32>,
    /// A note, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: Option<String>,
}

/// Body of `/return`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnDraftBody {
    /// Why the draft goes back to its drafter, 1 to 500 characters.
    #[schema(example = "Sửa lại trích yếu", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Body of `/recall`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallBody {
    /// Why the document is recalled, for the recipients: 1 to 500 characters.
    #[schema(
        example = "Văn bản ban hành chưa đúng thẩm quyền",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// Body of `/sign`: the signing PIN, or the token of a signing session it opened.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// The signer's signing PIN; for a key in the signer's own PKCS#11 token, the token's
    /// user PIN, given for this signature only.
    pub pin: Option<String>,
    /// A signing session token from `POST /api/v1/me/signing-sessions`; refused
    /// (`token_key_needs_pin`) for a key in the signer's own token.
    pub signing_session: Option<String>,
}

/// Body of `/sign/prepare`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    /// The signer's certificate, base64 DER (or PEM).
    pub certificate: String,
    /// Its issuers up to (not necessarily including) the root, base64 DER (or PEM), at most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub chain: Vec<String>,
}

/// What the token must sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreparedView {
    /// The revision the signature is prepared over.
    pub revision: u32,
    /// Until when `/sign/complete` accepts the signature.
    pub expires_at: DateTime<Utc>,
    /// The DER of the signed attributes (base64): sign this with the certificate's key.
    pub signed_attributes: String,
    /// Its digest (base64), for tokens that sign a digest.
    pub data_digest: String,
    /// `sha256`, `sha384` or `sha512`.
    pub digest_algorithm: String,
    /// `rsa_pkcs1v15` or `ecdsa` (DER-encoded ECDSA-Sig-Value).
    pub signature_algorithm: String,
}

/// Body of `/sign/complete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteSignBody {
    /// The signature value over the prepared signed attributes, base64.
    pub signature: String,
    /// The certificate used at prepare, base64 DER (or PEM).
    pub certificate: String,
    /// Its issuers, base64 DER (or PEM), at most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub chain: Vec<String>,
}

/// Filters of the list, besides paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutgoingQuery {
    /// Only documents in this state.
    #[param(schema_with = state_schema)]
    pub state: Option<String>,
    /// Only documents of this urgency.
    #[param(schema_with = urgency_schema)]
    pub urgency: Option<String>,
    /// Only documents drafted (or recorded) in this calendar year (Vietnam time).
    #[param(minimum = 2000, maximum = 9999)]
    pub year: Option<i32>,
    /// Words in the number/notation or summary; diacritics optional. At most 200 characters.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `me`: only documents the caller is to sign.
    #[param(pattern = "^me$")]
    pub signer: Option<String>,
}

fn parse_filter(query: &str, me: UserId) -> Result<OutgoingFilter, ApiError> {
    let params = web::Query::<std::collections::HashMap<String, String>>::from_query(query)
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })?
        .into_inner();
    let invalid = |e: ValidationError| ApiError::InvalidQuery {
        field: e.field.to_owned(),
        detail: e.message,
    };
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
    let signer = match params.get("signer").map(String::as_str) {
        None => None,
        Some("me") => Some(me),
        Some(other) => {
            return Err(ApiError::InvalidQuery {
                field: "signer".into(),
                detail: format!("'{other}' is not understood; use signer=me"),
            })
        }
    };
    Ok(OutgoingFilter {
        state: params
            .get("state")
            .map(|s| s.parse())
            .transpose()
            .map_err(invalid)?,
        urgency: params
            .get("urgency")
            .map(|s| s.parse())
            .transpose()
            .map_err(invalid)?,
        year,
        search,
        signer,
    })
}

fn outgoing_id(raw: &str) -> Result<OutgoingId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound { what: OUTGOING })
}

/// The access target of a document for `action`: personal to the drafter for revisions, to
/// the signer for signing, the issuing unit's otherwise.
fn target_of(document: &OutgoingDocument, action: Action) -> Target {
    let path = document.unit_path.clone();
    match action {
        Action::ReviseOutgoing => Target::personal(path, document.drafted_by),
        Action::SignOutgoing => Target::personal(path, document.metadata.signer.user),
        _ => Target::in_unit(path),
    }
}

/// Loads a document and asks the access policy whether the caller may take `action` on it.
pub(crate) async fn authorized(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<OutgoingDocument, ApiError> {
    Ok(authorized_as(state, auth, raw_id, action).await?.0)
}

/// Like [`authorized`], with who acts and on whose authority, for the steps a deputy may take.
async fn authorized_as(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<(OutgoingDocument, Acting), ApiError> {
    let id = outgoing_id(raw_id)?;
    let db = state.db.clone();
    let document = web::block(move || db.get_outgoing(id)).await??;
    let by = authorize_on(auth, &document, action)?;
    Ok((document, by))
}

/// Asks the access policy whether the caller may see `document` and take `action` on it;
/// who acts, on whose authority.
fn authorize_on(
    auth: &Authenticated,
    document: &OutgoingDocument,
    action: Action,
) -> Result<Acting, ApiError> {
    auth.authorize(
        Action::ReadOutgoing,
        &target_of(document, Action::ReadOutgoing),
        OUTGOING,
    )?;
    let authority = auth.authorize(action, &target_of(document, action), OUTGOING)?;
    Ok(auth.acting(authority))
}

fn ok(document: OutgoingDocument) -> HttpResponse {
    HttpResponse::Ok().json(OutgoingView::from(document))
}

/// The record of the document's latest revision.
pub(crate) fn latest_revision(
    state: &AppState,
    document: &OutgoingDocument,
) -> Result<OutgoingFile, ApiError> {
    state
        .db
        .outgoing_files(document.id)?
        .into_iter()
        .find(|f| f.revision == document.revision)
        .ok_or_else(|| ApiError::internal(format!("outgoing document {} has no file", document.id)))
}

/// The bytes of the document's latest revision.
fn latest_file(state: &AppState, document: &OutgoingDocument) -> Result<Vec<u8>, ApiError> {
    read_blob(state, &latest_revision(state, document)?.sha256)
}

pub(crate) fn read_blob(state: &AppState, sha256: &Sha256Digest) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    state
        .blobs
        .open(sha256)
        .map_err(vanthu_store::StoreError::from)?
        .read_to_end(&mut bytes)
        .map_err(ApiError::internal)?;
    Ok(bytes)
}

pub(crate) fn put_blob(state: &AppState, bytes: &[u8]) -> Result<NewRevision, ApiError> {
    let blob: BlobRef = state
        .blobs
        .put_bytes(bytes)
        .map_err(vanthu_store::StoreError::from)?;
    Ok(NewRevision {
        sha256: blob.sha256,
        size: blob.size,
    })
}

/// Reads a form with a `file` part (a PDF, streamed into the blob store) and one JSON or
/// text part named `other`.
async fn read_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
    other: &'static str,
) -> Result<(Option<Vec<u8>>, Option<BlobRef>), ApiError> {
    if !is_multipart(req) {
        return Err(ApiError::UnsupportedMediaType(
            "send the form as multipart/form-data, with a `file` part (the PDF)".into(),
        ));
    }
    let limits = Limits::of(req);
    let form_limit = limits.upload.saturating_add(limits.json as u64);
    if declared_length(req).is_some_and(|n| n > form_limit) {
        return Err(ApiError::PayloadTooLarge {
            limit: limits.upload,
        });
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut text = None;
    let mut blob = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::InvalidMultipart(e.to_string()))?;
        match field.name() {
            Some(name) if name == other && text.is_none() => {
                text = Some(read_part(&mut field, limits.json).await?);
            }
            Some("file") if blob.is_none() => {
                blob = Some(
                    store_stream(state.blobs.clone(), field, limits.upload, FileKind::PDF).await?,
                );
            }
            Some(name) if name == other || name == "file" => {
                return Err(ApiError::InvalidMultipart(format!(
                    "the part `{name}` appears twice"
                )));
            }
            name => {
                return Err(ApiError::InvalidMultipart(format!(
                    "unexpected part `{}`",
                    name.unwrap_or_default()
                )));
            }
        }
    }
    Ok((text, blob))
}

/// Records a new draft (specialists and leaders, in their own unit): the PDF and its
/// metadata, the signer-to-be and the recipients.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing",
    tag = "outgoing",
    request_body(content = OutgoingUpload, content_type = "multipart/form-data", description = "Part `metadata`: the JSON object OutgoingMetadataBody; part `file`: the draft PDF"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Drafted; Location names the document", body = OutgoingView),
        (status = 400, description = "Malformed form or metadata JSON, or a part missing", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only specialists and leaders draft, in their own unit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data, or the file is empty or not a PDF", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A metadata value breaks its rule (the field is named): e.g. the signer is not a leader of the unit", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::DraftOutgoing,
        &Target::in_unit(auth.actor.unit_path.clone()),
        OUTGOING,
    )?;
    let at = Utc::now();
    let (metadata, blob) = read_form(&req, &state, payload, "metadata").await?;
    let metadata: OutgoingMetadataBody =
        parse(&metadata.ok_or(ApiError::MissingPart { part: "metadata" })?)?;
    let metadata = metadata.into_metadata(vietnam_today(at))?;
    let blob = blob.ok_or(ApiError::MissingPart { part: "file" })?;
    let new = NewDraft {
        unit_id: auth.actor.unit_id,
        drafted_by: auth.user.id,
        at,
        metadata,
        file: NewRevision {
            sha256: blob.sha256,
            size: blob.size,
        },
    };
    let document = web::block(move || state.db.create_outgoing_draft(&new)).await??;
    tracing::info!(id = %document.id, by = %auth.user.id, "outgoing draft created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/outgoing/{}", document.id),
        ))
        .json(OutgoingView::from(document)))
}

/// Records a document issued on paper (clerks): numbered at once from the unit's series,
/// not signed here, so the share of documents signed digitally stays honest.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/paper",
    tag = "outgoing",
    request_body = OutgoingMetadataBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded and numbered", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only clerks record documents issued on paper", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The number and notation are already used this year", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_paper(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<OutgoingMetadataBody>,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::IssueOutgoing,
        &Target::in_unit(auth.actor.unit_path.clone()),
        OUTGOING,
    )?;
    let at = Utc::now();
    let new = NewPaperDocument {
        unit_id: auth.actor.unit_id,
        recorded_by: auth.user.id,
        at,
        metadata: body.0.into_metadata(vietnam_today(at))?,
    };
    let document = web::block(move || state.db.record_paper_outgoing(&new)).await??;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/outgoing/{}", document.id),
        ))
        .json(OutgoingView::from(document)))
}

/// The outgoing documents of the caller's unit (their subtree's for auditors and admins),
/// most urgent first, then newest first.
#[utoipa::path(
    get,
    path = "/api/v1/outgoing",
    tag = "outgoing",
    params(OutgoingQuery, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<OutgoingView>),
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
    let filter = parse_filter(req.query_string(), auth.user.id)?;
    let scope = auth.actor.visible_scope();
    let paged = web::block(move || state.db.list_outgoing(&scope, &filter, page.0)).await??;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, OutgoingView::from)))
}

/// One outgoing document with its trace, revisions and recipients' statuses.
#[utoipa::path(
    get,
    path = "/api/v1/outgoing/{id}",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OutgoingDetail),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ReadOutgoing).await?;
    let id = document.id;
    record_access(&state, &auth, ObjectRef::outgoing(id), Access::View, None).await?;
    let (trace, files, recipients) = web::block(move || -> Result<_, ApiError> {
        Ok((
            state.db.outgoing_trace(id)?,
            state.db.outgoing_files(id)?,
            state.db.outgoing_recipients(id)?,
        ))
    })
    .await??;
    Ok(HttpResponse::Ok().json(OutgoingDetail {
        document: document.into(),
        trace: trace.into_iter().map(OutgoingTraceView::from).collect(),
        files: files.into_iter().map(OutgoingRevisionView::from).collect(),
        recipients: recipients.into_iter().map(RecipientView::from).collect(),
    }))
}

/// Downloads a version of the document's PDF.
#[utoipa::path(
    get,
    path = "/api/v1/outgoing/{id}/files/{revision}",
    tag = "outgoing",
    params(
        ("id" = i64, Path, description = "Document id"),
        ("revision" = u32, Path, description = "Revision, 1 for the first draft", minimum = 1),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
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
    let document = authorized(&state, &auth, &id, Action::ReadOutgoing).await?;
    let missing = || ApiError::NotFound { what: "revision" };
    let revision: u32 = revision.parse().map_err(|_| missing())?;
    let db = state.db.clone();
    let files = web::block(move || db.outgoing_files(document.id)).await??;
    let file = files
        .into_iter()
        .find(|f| f.revision == revision)
        .ok_or_else(missing)?;
    record_access(
        &state,
        &auth,
        ObjectRef::outgoing(document.id),
        Access::Download,
        Some(file.sha256.clone()),
    )
    .await?;
    serve_blob(&state, file.sha256, file.size, "application/pdf").await
}

/// Uploads a new revision of a draft or of a returned draft (its drafter); the earlier
/// revisions are kept.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/revisions",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body(content = RevisionUpload, content_type = "multipart/form-data", description = "Part `file`: the revised PDF; optional part `note`: what changed (text)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revised; `revision` counts up", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the drafter revises a draft", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Approved already, or changed meanwhile; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revise(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ReviseOutgoing).await?;
    let (note, blob) = read_form(&req, &state, payload, "note").await?;
    let blob = blob.ok_or(ApiError::MissingPart { part: "file" })?;
    let note = note
        .map(|n| {
            let text = String::from_utf8(n)
                .map_err(|_| ValidationError::new("note", "must be UTF-8 text"))?;
            vanthu_routing::HandlingNote::parse(&text).map(String::from)
        })
        .transpose()
        .map_err(|e| ValidationError::new("note", e.message))?;
    let by = auth.user.id;
    let file = NewRevision {
        sha256: blob.sha256,
        size: blob.size,
    };
    let document = web::block(move || {
        state.db.revise_outgoing(
            document.id,
            document.state,
            document.revision,
            by,
            Utc::now(),
            &file,
            note.as_deref(),
        )
    })
    .await??;
    Ok(ok(document))
}

/// Comments on a draft (anyone of the unit who handles documents).
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/comments",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = CommentBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer a draft", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn comment(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::CommentOutgoing).await?;
    let text = vanthu_routing::HandlingNote::parse(&body.0.text)
        .map_err(|e| ValidationError::new("text", e.message))?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .comment_outgoing(document.id, by, Utc::now(), text.as_str())
    })
    .await??;
    Ok(ok(document))
}

/// Approves a draft (the unit's leaders).
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/approve",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = ApproveBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's leaders approve", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, or revised since the revision given; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ApproveBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ApproveOutgoing).await?;
    let note = body
        .0
        .note
        .map(|n| vanthu_routing::HandlingNote::parse(&n).map(String::from))
        .transpose()?;
    let revision = body.0.revision.unwrap_or(document.revision);
    let by = auth.user.id;
    let document = web::block(move || {
        state.db.approve_outgoing(
            document.id,
            document.state,
            revision,
            by,
            Utc::now(),
            note.as_deref(),
        )
    })
    .await??;
    Ok(ok(document))
}

/// Returns a draft to its drafter with a reason (the unit's leaders).
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/return",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = ReturnDraftBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Returned", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn return_draft(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ReturnDraftBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::ApproveOutgoing).await?;
    let reason = vanthu_routing::ReturnReason::parse(&body.0.reason)?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .return_outgoing(document.id, document.state, by, Utc::now(), reason.as_str())
    })
    .await??;
    Ok(ok(document))
}

/// Signs an approved document with the signer's key held here (the assigned signer only),
/// unlocked by their signing PIN or by a signing session the PIN opened. The signature is
/// PAdES with a visible appearance; the number and date fields are added before it, so the
/// clerk can fill them in at issue without breaking it. When the signer's key is in their own
/// PKCS#11 token on the server (labelled with their username), the PIN is the token's and is
/// given for this signature only: a signing session is refused for it.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/sign",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = SignBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed", body = OutgoingView),
        (status = 400, description = "Malformed body, or neither or both of `pin` and `signing_session`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the assigned signer, wrong PIN (attempts left named), or an unusable signing session", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or no signing key enrolled", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, already signed, or changed meanwhile; nothing changed. Or `token_key_needs_pin`: a signing session was sent for a key in the signer's own token, which takes its PIN for each signature only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The PIN breaks its rules, or the certificate or file cannot be used", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "Signing with this key is blocked after five wrong PINs", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the signer's own token is absent, busy with another signature or not answering (`personal_token_unavailable`); nothing changed and no PIN was counted", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<SignBody>,
) -> Result<HttpResponse, ApiError> {
    let id = outgoing_id(&id)?;
    // One blocking hop for the whole step: loading, checking, unlocking, signing, storing.
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let document = state.db.get_outgoing(id)?;
        let by = authorize_on(&auth, &document, Action::SignOutgoing)?;
        // Refuse a step the state does not allow before the PIN is tried.
        document.state.apply(vanthu_routing::OutgoingStep::Sign)?;
        let unlock = unlock_of(body.0)?;
        // A deputy signs with their own key, under their own name.
        let signer = open_personal_signer(&state, &auth, unlock)?;
        let at = Utc::now();
        let draft = latest_file(&state, &document)?;
        let position = document.metadata.signer.position.to_string();
        let image = image_of(&state, ImageOwner::Signature(auth.user.id))?;
        let name = auth.user.display_name.as_str();
        let (signable, opts) =
            pdf::signable(&draft, name, &position, image.as_deref(), at).map_err(pdf::refused)?;
        let (signed, _) = sign_bytes(&signable, signer.as_ref(), &opts).map_err(pdf::refused)?;
        // A key in the leader's own token is logged out now, not after the writes.
        drop(signer);
        let file = put_blob(&state, &signed)?;
        let document = state.db.sign_outgoing(
            document.id,
            document.state,
            document.revision,
            by,
            at,
            SignatureKind::ServerKey,
            &file,
        )?;
        tracing::info!(id = %document.id, by = %by.user, authority = ?by.authority, "outgoing document signed with the server-held key");
        Ok(document)
    })
    .await??;
    Ok(ok(document))
}

/// How a `/sign` body unlocks the key: its PIN or its signing session, exactly one.
fn unlock_of(body: SignBody) -> Result<Unlock, ApiError> {
    Ok(match (body.pin, body.signing_session) {
        (Some(pin), None) => Unlock::Pin(SigningPin::parse(&pin)?),
        (None, Some(token)) => Unlock::Session(
            SessionToken::parse(&token)
                .map_err(|_| ApiError::SigningSessionInvalid("token is not one vanthu issued"))?,
        ),
        _ => {
            return Err(ApiError::InvalidJson {
                field: None,
                detail: "send either `pin` (your signing PIN) or `signing_session` (a session \
                         token), not both"
                    .into(),
            })
        }
    })
}

/// A certificate sent as base64 DER or as PEM.
fn certificate_from(text: &str, field: &'static str) -> Result<openssl::x509::X509, ApiError> {
    let text = text.trim();
    let parsed = if text.starts_with("-----BEGIN") {
        openssl::x509::X509::from_pem(text.as_bytes()).ok()
    } else {
        STANDARD
            .decode(text)
            .ok()
            .and_then(|der| openssl::x509::X509::from_der(&der).ok())
    };
    parsed.ok_or_else(|| {
        ValidationError::new(
            field,
            "is not a certificate: send it as base64 DER or as PEM",
        )
        .into()
    })
}

fn der_of(cert: &openssl::x509::X509) -> Result<Vec<u8>, ApiError> {
    cert.to_der().map_err(ApiError::internal)
}

/// The signer's certificate and chain from a request, checked: it chains to a trusted root,
/// is valid now, may sign documents, and is the signing person's (registered for them, or
/// naming them as its subject). The signing person is the assigned signer, or their deputy
/// under a delegation, who signs with their own certificate.
fn signer_certificate(
    state: &AppState,
    signing: UserId,
    certificate: &str,
    chain: &[String],
) -> Result<(Vec<u8>, Vec<Vec<u8>>), ApiError> {
    if chain.len() > MAX_CHAIN {
        return Err(ValidationError::new(
            "chain",
            format!("send at most {MAX_CHAIN} certificates"),
        )
        .into());
    }
    let cert = certificate_from(certificate, "certificate")?;
    let issuers = chain
        .iter()
        .map(|c| certificate_from(c, "chain"))
        .collect::<Result<Vec<_>, _>>()?;
    let path = trust::validate_path(&state.verification.anchors, &cert, &issuers, Utc::now());
    match path.status {
        PathStatus::Valid => {}
        PathStatus::NoChain(why) | PathStatus::Invalid(why) => {
            return Err(ApiError::SignatureRefused(format!(
                "the certificate does not chain to a trusted root ({why}); recipients could not \
                 trust the signature"
            )))
        }
        PathStatus::Expired(why) | PathStatus::NotYetValid(why) => {
            return Err(ApiError::UnusableCertificate(format!(
                "the certificate is not valid now ({why})"
            )))
        }
    }
    trust::check_usage(&cert, Usage::DocumentSigning).map_err(ApiError::UnusableCertificate)?;
    let der = der_of(&cert)?;
    let signer = state.db.get_user(signing)?;
    let registered = state
        .db
        .certificates_of(CertificateOwner::User(signer.id))?
        .iter()
        .filter_map(|c| openssl::x509::X509::from_pem(c.cert_pem.as_bytes()).ok())
        .any(|c| c.to_der().is_ok_and(|d| d == der));
    let named = fold_for_search(&trust::subject_label(&cert))
        == fold_for_search(signer.display_name.as_str());
    if !(registered || named) {
        return Err(ApiError::SignatureRefused(format!(
            "the certificate belongs to {}, not to the assigned signer or the deputy signing for them, {}",
            trust::subject_label(&cert),
            signer.display_name
        )));
    }
    let chain = issuers.iter().map(der_of).collect::<Result<_, _>>()?;
    Ok((der, chain))
}

/// Prepares a signature for the signer's own token (the assigned signer only): the file is
/// built with a placeholder, and the response gives the exact data to sign. The preparation
/// is bound to the current revision and expires after ten minutes (the server's
/// `prepared_signature_ttl`); a new one replaces it.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/sign/prepare",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = PrepareBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The data to sign", body = PreparedView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the assigned signer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, or already signed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The certificate is unreadable, untrusted, expired, not for signing, or not the assigned signer's", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn prepare_signature(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<PrepareBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::SignOutgoing).await?;
    document.state.apply(vanthu_routing::OutgoingStep::Sign)?;
    let name = auth.user.display_name.to_string();
    let by = auth.user.id;
    let view = web::block(move || -> Result<PreparedView, ApiError> {
        let (certificate, chain) =
            signer_certificate(&state, by, &body.0.certificate, &body.0.chain)?;
        let at = Utc::now();
        let draft = latest_file(&state, &document)?;
        let position = document.metadata.signer.position.to_string();
        let image = image_of(&state, ImageOwner::Signature(by))?;
        let (signable, opts) =
            pdf::signable(&draft, &name, &position, image.as_deref(), at).map_err(pdf::refused)?;
        let prepared =
            external::prepare(&signable, &certificate, &chain, &opts).map_err(pdf::refused)?;
        let file = put_blob(&state, &prepared.pdf)?;
        let lifetime =
            TimeDelta::from_std(state.signing.prepared_ttl).map_err(ApiError::internal)?;
        let expires_at = at + lifetime;
        state.db.save_prepared_signature(
            document.id,
            &PreparedSignature {
                base_revision: document.revision,
                prepared: file,
                certificate,
                signed_attributes: prepared.signed_attributes.clone(),
                digest_algorithm: prepared.digest.name().to_owned(),
                signature_algorithm: prepared.algorithm.name().to_owned(),
                prepared_by: by,
                expires_at,
            },
        )?;
        Ok(PreparedView {
            revision: document.revision,
            expires_at,
            signed_attributes: STANDARD.encode(&prepared.signed_attributes),
            data_digest: STANDARD.encode(prepared.data_digest()),
            digest_algorithm: prepared.digest.name().to_owned(),
            signature_algorithm: prepared.algorithm.name().to_owned(),
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Completes a prepared signature with the token's signature value (the assigned signer
/// only). The certificate must be the one prepared with, the signature must verify over the
/// prepared data, and the preparation must not have expired; otherwise nothing changes.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/sign/complete",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = CompleteSignBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the assigned signer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing prepared, the preparation expired or the document changed since, or already signed; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Another certificate than prepared with, or a signature that does not verify; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete_signature(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<CompleteSignBody>,
) -> Result<HttpResponse, ApiError> {
    let (document, by) = authorized_as(&state, &auth, &id, Action::SignOutgoing).await?;
    document.state.apply(vanthu_routing::OutgoingStep::Sign)?;
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let at = Utc::now();
        let gone = |why: &str| {
            ApiError::PreparedSignatureGone(format!("{why}; prepare the signature again"))
        };
        let prepared = state
            .db
            .prepared_signature(document.id)?
            .ok_or_else(|| gone("no signature was prepared for this document"))?;
        if prepared.expires_at < at {
            return Err(gone("the prepared signature expired"));
        }
        if prepared.base_revision != document.revision || prepared.prepared_by != by.user {
            return Err(gone(
                "the document changed since the signature was prepared",
            ));
        }
        let certificate = der_of(&certificate_from(&body.0.certificate, "certificate")?)?;
        if certificate != prepared.certificate {
            return Err(ApiError::SignatureRefused(
                "this is not the certificate the signature was prepared with".into(),
            ));
        }
        if body.0.chain.len() > MAX_CHAIN {
            return Err(ValidationError::new(
                "chain",
                format!("send at most {MAX_CHAIN} certificates"),
            )
            .into());
        }
        let chain = body
            .0
            .chain
            .iter()
            .map(|c| certificate_from(c, "chain").and_then(|c| der_of(&c)))
            .collect::<Result<Vec<_>, _>>()?;
        let signature = STANDARD
            .decode(body.0.signature.trim())
            .map_err(|_| ValidationError::new("signature", "is not base64"))?;
        let unknown = || ApiError::internal("a prepared signature names an unknown algorithm");
        let prepared_file = Prepared {
            pdf: read_blob(&state, &prepared.prepared.sha256)?,
            signed_attributes: prepared.signed_attributes.clone(),
            digest: DigestAlgorithm::from_name(&prepared.digest_algorithm).ok_or_else(unknown)?,
            algorithm: SignatureAlgorithm::from_name(&prepared.signature_algorithm)
                .ok_or_else(unknown)?,
        };
        let signed = external::complete(&prepared_file, &certificate, &chain, &signature)
            .map_err(pdf::refused)?;
        let file = put_blob(&state, &signed)?;
        Ok(state.db.sign_outgoing(
            document.id,
            document.state,
            document.revision,
            by,
            at,
            SignatureKind::External,
            &file,
        )?)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by.user, authority = ?by.authority, "outgoing document signed with an external key");
    Ok(ok(document))
}

/// Issues a signed document (the unit's clerks): the next number of the unit's register
/// series for the year and today's date are given and written into the PDF's number and date
/// fields, then the organisation's seal signs over the left third of the official's
/// signature, all in one step: a failure gives the number back.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/issue",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Issued; `number_notation` and `document_identifier` are set", body = OutgoingView),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks issue", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not signed, already issued, the number and notation already used this year, or no seal key installed; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The seal certificate cannot be used", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the token holding the seal keys does not answer (`seal_token_unavailable`); nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = outgoing_id(&id)?;
    let organisation = auth.unit.name.to_string();
    let by = auth.user.id;
    // One blocking hop for the whole step.
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let document = state.db.get_outgoing(id)?;
        authorize_on(&auth, &document, Action::IssueOutgoing)?;
        document.state.apply(vanthu_routing::OutgoingStep::Issue)?;
        let seal = open_seal_signer(&state, document.unit_id)?;
        let signed = latest_file(&state, &document)?;
        let seal_image = image_of(&state, ImageOwner::Seal(document.unit_id))?;
        let at = Utc::now();
        state.db.issue_outgoing(
            document.id,
            document.state,
            document.revision,
            by,
            at,
            |number| -> Result<NewRevision, ApiError> {
                let (filled, opts) = pdf::sealable(
                    &signed,
                    &number.number_notation,
                    number.date,
                    &organisation,
                    seal_image.as_deref(),
                    at,
                )
                .map_err(pdf::refused)?;
                let (sealed, _) =
                    sign_bytes(&filled, seal.as_ref(), &opts).map_err(pdf::refused)?;
                put_blob(&state, &sealed)
            },
        )
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document issued");
    Ok(ok(document))
}

/// Releases an issued document (the unit's clerks): each internal recipient gets it in its
/// incoming queue at once, verified; for each external recipient a package sealed with the
/// unit's seal is queued in the interchange outbox in the same transaction.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/release",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Released", body = OutgoingView),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks release", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not issued, a paper document, already released, or no seal key to seal the packages to external recipients; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The seal certificate cannot seal the packages to external recipients (expired, not yet valid, revoked under --check-signer-revocation, unusable); nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn release(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::IssueOutgoing).await?;
    document
        .state
        .apply(vanthu_routing::OutgoingStep::Release)?;
    if document.medium == vanthu_store::Medium::Paper {
        return Err(ApiError::StateConflict(
            "this document was issued on paper; send the paper copies".into(),
        ));
    }
    let at = Utc::now();
    let copies = internal_copies(&state, &auth, &document, at).await?;
    let by = auth.user.id;
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        // Sealed before the transaction, which then queues them with the release.
        let packages = crate::interchange::sealed_packages(
            &state.db,
            state.blobs.as_ref(),
            &state.kek,
            &document,
            state.signer_revocation.as_ref(),
        )?;
        Ok(state
            .db
            .release_outgoing(document.id, document.state, by, at, &copies, &packages)?)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document released");
    Ok(ok(document))
}

/// The copies a release gives the internal recipients of `document`, issued: its latest
/// file, verified, in the caller's name.
async fn internal_copies(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    document: &OutgoingDocument,
    at: DateTime<Utc>,
) -> Result<Vec<NewIncoming>, ApiError> {
    let issue = document
        .issue
        .clone()
        .ok_or_else(|| ApiError::internal("an issued document has no number"))?;
    let (db_state, current) = (state.clone(), document.clone());
    let file = web::block(move || latest_revision(&db_state, &current)).await??;
    let report = verify_blob(state, file.sha256.clone()).await?;
    let verification_report = serde_json::to_string(&report).map_err(ApiError::internal)?;
    let m = &document.metadata;
    let incoming = IncomingMetadata {
        issuing_body: IssuingBody::parse(auth.unit.name.as_str())?,
        number_notation: issue.number_notation.clone(),
        document_date: issue.date,
        document_type: m.document_type.clone(),
        summary: m.summary.clone(),
        urgency: m.urgency,
        due_date: m.due_date,
    };
    Ok(m.internal_recipients
        .iter()
        .map(|unit| NewIncoming {
            unit_id: *unit,
            received_by: auth.user.id,
            received_at: at,
            metadata: incoming.clone(),
            sha256: file.sha256.clone(),
            size: file.size,
            verification: report.verdict.as_str().to_owned(),
            verification_report: verification_report.clone(),
        })
        .collect())
}

/// Recalls a released document (the unit's clerks and leaders): it is frozen, the copies in
/// recipients' queues here are frozen and await each recipient's answer
/// (`POST /api/v1/incoming/{id}/recall-response`); external recipients are sent status 13
/// through the interchange outbox.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/recall",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = RecallBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recalled", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks and leaders recall", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not released, or already recalled; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn recall(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<RecallBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::RecallOutgoing).await?;
    let reason = vanthu_routing::ReturnReason::parse(&body.0.reason)
        .map_err(|e| ValidationError::new("reason", e.message))?;
    let by = auth.user.id;
    let document = web::block(move || {
        state
            .db
            .recall_outgoing(document.id, document.state, by, Utc::now(), reason.as_str())
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document recalled");
    Ok(ok(document))
}

/// Body of `/update`: the reason and at least one corrected detail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// Why the details are corrected, for the recipients: 1 to 500 characters.
    #[schema(example = "Đính chính trích yếu", min_length = 1, max_length = 500)]
    pub reason: String,
    /// The corrected kind, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub document_type: Option<String>,
    /// The corrected subject (trích yếu), 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub summary: Option<String>,
    /// The corrected urgency.
    #[schema(schema_with = urgency_schema)]
    pub urgency: Option<String>,
    /// The corrected due date of the answer; today (Vietnam time) or later.
    pub due_date: Option<NaiveDate>,
}

/// Body of `/replace`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBody {
    /// The document that replaces this one: issued by the same unit, not yet released.
    #[schema(example = 12, minimum = 1)]
    pub replacement_id: i64,
    /// Why it is replaced, for the recipients: 1 to 500 characters.
    #[schema(
        example = "Sai số liệu tại Phụ lục I",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

fn reason_of(raw: &str) -> Result<vanthu_routing::ReturnReason, ApiError> {
    Ok(vanthu_routing::ReturnReason::parse(raw)
        .map_err(|e| ValidationError::new("reason", e.message))?)
}

/// Revokes a released document (thu hồi; the unit's clerks and leaders) as a recall does,
/// telling its agencies elsewhere with a revoke package (BussinessDocType 1) sealed with the
/// unit's seal instead of status 13: it is frozen, its copies here frozen awaiting their
/// units' answers, and each agency's answer (15 accepted, 16 refused) comes back as for a
/// recall.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/revoke",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = RecallBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked; the packages are queued", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks and leaders revoke", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not released, already recalled, or no seal key to seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or the seal certificate cannot seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database, or the token holding the seal keys, does not answer; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<RecallBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::RecallOutgoing).await?;
    let reason = reason_of(&body.0.reason)?;
    document.state.apply(vanthu_routing::OutgoingStep::Recall)?;
    let by = auth.user.id;
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let notice = Notice::acting(BusinessDocType::Revoke, reason.as_str());
        let packages = notices_of(&state, &document, &notice, None)?;
        Ok(state.db.revoke_outgoing(
            document.id,
            document.state,
            by,
            Utc::now(),
            reason.as_str(),
            &packages,
        )?)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document revoked");
    Ok(ok(document))
}

/// The sealed packages doing `notice` for `doc`'s agencies elsewhere (those of `only`, when
/// given), with this server's store, key-encryption key and seal revocation check.
fn notices_of(
    state: &AppState,
    doc: &OutgoingDocument,
    notice: &Notice,
    only: Option<&[UnitCode]>,
) -> Result<Vec<vanthu_store::SealedPackage>, ApiError> {
    sealed_notices(
        &state.db,
        state.blobs.as_ref(),
        &state.kek,
        doc,
        notice,
        only,
        state.signer_revocation.as_ref(),
    )
}

/// Corrects the details of a released document (the unit's clerks): its kind, subject,
/// urgency or due date (its number and date, which make its identifier, stay). Its
/// agencies elsewhere are sent an update package (BussinessDocType 2) with the document as
/// corrected and its PDF; its copies here not frozen by a recall are corrected too; the
/// trace keeps an `update` line with the reason.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/update",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = UpdateBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Corrected; the packages are queued", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks correct a released document", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not released (or recalled), changed meanwhile, classified, or no seal key to seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, nothing to correct, a value out of its bounds, or the seal certificate cannot seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database, or the token holding the seal keys, does not answer; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let document = authorized(&state, &auth, &id, Action::IssueOutgoing).await?;
    let body = body.0;
    let reason = reason_of(&body.reason)?;
    if document.state != OutgoingState::Released {
        return Err(ApiError::StateConflict(format!(
            "outgoing document {} is {}; only a released document is corrected this way",
            document.id,
            document.state.as_str()
        )));
    }
    let mut corrected = document.clone();
    let m = &mut corrected.metadata;
    if let Some(t) = &body.document_type {
        m.document_type = DocumentType::parse(t)?;
    }
    if let Some(summary) = &body.summary {
        m.summary = Summary::parse(summary)?;
    }
    if let Some(urgency) = &body.urgency {
        m.urgency = urgency.parse()?;
    }
    if let Some(due) = body.due_date {
        let today = vietnam_today(Utc::now());
        if due < today {
            return Err(ValidationError::new(
                "due_date",
                format!("{due} is before today ({today})"),
            )
            .into());
        }
        m.due_date = Some(due);
    }
    let before = &document.metadata;
    if (&m.document_type, &m.summary, m.urgency, m.due_date)
        == (
            &before.document_type,
            &before.summary,
            before.urgency,
            before.due_date,
        )
    {
        return Err(ValidationError::new(
            "summary",
            "nothing to correct: give a document_type, summary, urgency or due_date that differs",
        )
        .into());
    }
    let by = auth.user.id;
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let notice = Notice::acting(BusinessDocType::Update, reason.as_str());
        let packages = notices_of(&state, &corrected, &notice, None)?;
        Ok(state.db.update_outgoing(
            document.id,
            document.updated_at,
            &corrected.metadata,
            by,
            Utc::now(),
            reason.as_str(),
            &packages,
        )?)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document corrected");
    Ok(ok(document))
}

/// Replaces a released document by another (the unit's clerks): `replacement_id`, issued by
/// the same unit and not yet released, is released, its agencies elsewhere sent a replace
/// package (BussinessDocType 3) naming this one in ReplacementInfoList; this one is
/// recalled, its copies here frozen, and the agencies elsewhere that had it but do not
/// receive the replacement sent a revoke package. All in one transaction; answers the
/// replacement.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/replace",
    tag = "outgoing",
    params(("id" = i64, Path, description = "Id of the released document replaced")),
    request_body = ReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The replacement, released", body = OutgoingView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks replace a document", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or no such replacement", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This one not released (or recalled), the replacement not issued or on paper, or no seal key to seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, a replacement of another unit or the document itself, or the seal certificate cannot seal the packages; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database, or the token holding the seal keys, does not answer; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replace(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<ReplaceBody>,
) -> Result<HttpResponse, ApiError> {
    let old = authorized(&state, &auth, &id, Action::IssueOutgoing).await?;
    let body = body.0;
    let reason = reason_of(&body.reason)?;
    let new = authorized(
        &state,
        &auth,
        &body.replacement_id.to_string(),
        Action::IssueOutgoing,
    )
    .await?;
    if new.id == old.id || new.unit_id != old.unit_id {
        return Err(ValidationError::new(
            "replacement_id",
            "the replacement is another document of the unit that issued this one",
        )
        .into());
    }
    old.state.apply(vanthu_routing::OutgoingStep::Recall)?;
    new.state.apply(vanthu_routing::OutgoingStep::Release)?;
    if new.medium == vanthu_store::Medium::Paper {
        return Err(ApiError::StateConflict(
            "the replacement was issued on paper; send the paper copies".into(),
        ));
    }
    let Some(replaced) = old.issue.clone() else {
        return Err(ApiError::internal("a released document has no number"));
    };
    let at = Utc::now();
    let copies = internal_copies(&state, &auth, &new, at).await?;
    let by = auth.user.id;
    let document = web::block(move || -> Result<OutgoingDocument, ApiError> {
        let codes = |d: &OutgoingDocument| -> Vec<UnitCode> {
            d.metadata
                .external_recipients
                .iter()
                .map(|r| r.agency_code.clone())
                .collect()
        };
        let notice = Notice {
            doc_type: BusinessDocType::Replace,
            reason: Some(reason.as_str().to_owned()),
            replaces: vec![ReplacementInfo {
                document_id: replaced.identifier.clone(),
                organ_ids: codes(&old),
            }],
        };
        let packages = notices_of(&state, &new, &notice, None)?;
        let kept = codes(&new);
        let left_out: Vec<UnitCode> = codes(&old)
            .into_iter()
            .filter(|c| !kept.contains(c))
            .collect();
        let why = format!(
            "replaced by {}: {}",
            new.issue
                .as_ref()
                .map(|i| i.number_notation.to_string())
                .unwrap_or_default(),
            reason.as_str()
        );
        let revoke = Notice::acting(BusinessDocType::Revoke, &why);
        let revokes = if left_out.is_empty() {
            Vec::new()
        } else {
            notices_of(&state, &old, &revoke, Some(&left_out))?
        };
        Ok(state.db.replace_outgoing(
            (old.id, old.state),
            (new.id, new.state),
            by,
            at,
            reason.as_str(),
            &copies,
            &packages,
            &revokes,
        )?)
    })
    .await??;
    tracing::info!(id = %document.id, by = %by, "outgoing document replaced");
    Ok(ok(document))
}
