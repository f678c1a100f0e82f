//! `/api/v1/audit`: the tamper-evident log for auditors, its signed checkpoints, verifier key
//! and proofs for anyone, and `/api/v1/documents/{id}/history` for those who see a document.
//!
//! Checkpoints, the key and proofs carry only hashes, so they are public, as a transparency
//! log's are: a witness or an outside auditor checks the log without an account. Entries
//! themselves name people and documents and go to auditors and admins over their subtree.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};
use vanthu_audit::{AuditAction, AuditEntry, Hash, ObjectRef, Outcome};
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{Sha256Digest, UserId};
use vanthu_store::{Access, AuditFilter, StoreError};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::page::{Page, PageParams, Pagination};
use crate::state::AppState;
use crate::validation::names_schema;

const TEXT: &str = "text/plain; charset=utf-8";

fn action_schema() -> Object {
    names_schema(AuditAction::ALL.iter().map(|a| a.as_str()))
}

fn outcome_schema() -> Object {
    names_schema(Outcome::ALL.iter().map(|o| o.as_str()))
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Its place in the log, from 0: the index of its leaf in the Merkle tree.
    #[schema(example = 41)]
    pub seq: u64,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who acted; null for a sign-in under a name no account has.
    #[schema(value_type = Option<i64>, example = 7)]
    pub actor_id: Option<UserId>,
    /// The actor's unit when acting.
    #[schema(value_type = Option<i64>, example = 4)]
    pub actor_unit_id: Option<i64>,
    /// What was done, e.g. `incoming.register`, `login.failure`, `user.update`.
    #[schema(schema_with = action_schema, example = "incoming.register")]
    pub action: String,
    /// What it was done to, `kind:id` (`incoming:12`, `user:7`, `unit:4`).
    #[schema(example = "incoming:12")]
    pub object: Option<String>,
    /// SHA-256 of the file involved, hex.
    pub file_sha256: Option<String>,
    /// How it ended.
    #[schema(schema_with = outcome_schema, example = "success")]
    pub outcome: String,
    /// Further facts: the state reached, a note, the fields an admin changed.
    pub details: BTreeMap<String, String>,
    /// The canonical bytes (docs/audit.md), base64: what the leaf hash is taken over.
    pub entry: String,
    /// SHA-256(0x00 || bytes), base64, as inclusion proofs use it.
    pub leaf_hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        let bytes = e.to_bytes();
        let r = e.record;
        AuditEntryView {
            seq: e.seq,
            time: DateTime::from_timestamp_millis(r.time_ms).unwrap_or_default(),
            actor_id: r.actor,
            actor_unit_id: r.actor_unit.map(|u| u.get()),
            action: r.action.as_str().to_owned(),
            object: r.object.map(|o| o.to_string()),
            file_sha256: r.file_sha256.map(|d| d.as_str().to_owned()),
            outcome: r.outcome.as_str().to_owned(),
            details: r.details,
            leaf_hash: BASE64.encode(vanthu_audit::merkle::leaf_hash(&bytes)),
            entry: BASE64.encode(bytes),
        }
    }
}

/// Filters of the entry list, besides paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Entries by this user id.
    #[param(minimum = 1, example = 7)]
    pub actor: Option<i64>,
    /// Entries of this action.
    #[param(schema_with = action_schema, example = "incoming.register")]
    pub action: Option<String>,
    /// Entries about this object, `kind:id`.
    #[param(
        pattern = "^(incoming|outgoing|user|unit|delegation):[0-9]+$",
        example = "incoming:12"
    )]
    pub object: Option<String>,
}

fn query_params(req: &HttpRequest) -> Result<HashMap<String, String>, ApiError> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })
}

fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::InvalidQuery {
        field: field.to_owned(),
        detail: detail.into(),
    }
}

fn parse_filter(params: &HashMap<String, String>) -> Result<AuditFilter, ApiError> {
    let time = |field: &str| {
        params
            .get(field)
            .map(|t| {
                DateTime::parse_from_rfc3339(t.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        invalid(
                            field,
                            format!("'{t}' is not a time like 2026-12-01T08:00:00+07:00"),
                        )
                    })
            })
            .transpose()
    };
    Ok(AuditFilter {
        from: time("from")?,
        to: time("to")?,
        actor: params
            .get("actor")
            .map(|a| {
                a.parse::<UserId>()
                    .map_err(|_| invalid("actor", format!("'{a}' is not a user id")))
            })
            .transpose()?,
        action: params
            .get("action")
            .map(|a| {
                a.parse::<AuditAction>()
                    .map_err(|e| invalid("action", e.to_string()))
            })
            .transpose()?,
        object: params
            .get("object")
            .map(|o| {
                o.parse::<ObjectRef>()
                    .map_err(|e| invalid("object", e.to_string()))
            })
            .transpose()?,
    })
}

/// The whole-number query parameters `fields`, all required.
fn counts<const N: usize>(req: &HttpRequest, fields: [&str; N]) -> Result<[u64; N], ApiError> {
    let params = query_params(req)?;
    let mut out = [0; N];
    for (value, field) in out.iter_mut().zip(fields) {
        let raw = params
            .get(field)
            .ok_or_else(|| invalid(field, "is required"))?;
        *value = raw
            .trim()
            .parse()
            .map_err(|_| invalid(field, format!("'{raw}' is not a whole number")))?;
    }
    Ok(out)
}

/// Proof parameters the log cannot answer are the caller's mistake: 400 on the parameter.
fn proof_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(v) => invalid(v.field, v.message),
        other => other.into(),
    }
}

fn base64_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| BASE64.encode(h)).collect()
}

/// The audit log's entries, newest first: what people of the caller's unit and the units
/// below it did (auditors and admins; others get 403).
#[utoipa::path(
    get,
    path = "/api/v1/audit/entries",
    tag = "audit",
    params(EntriesQuery, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<AuditEntryView>),
        (status = 400, description = "Bad filter or paging parameter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only auditors and admins read the log", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn entries(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    page: Pagination,
) -> Result<HttpResponse, ApiError> {
    let filter = parse_filter(&query_params(&req)?)?;
    let subtree = auth.actor.unit_path.clone();
    auth.authorize(
        Action::ReadAudit,
        &Target::in_unit(subtree.clone()),
        "audit log",
    )?;
    let paged = web::block(move || {
        // Brought up to date first, so an action just answered is listed.
        state.db.integrate_audit()?;
        state.db.list_audit(&subtree, &filter, page.0)
    })
    .await??;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, AuditEntryView::from)))
}

/// The entries about one incoming document, oldest first: for whoever may see the document.
#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}/history",
    tag = "audit",
    params(("id" = i64, Path, description = "Incoming document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<AuditEntryView>),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or outside your units and not handed to you", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn history(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = crate::incoming::authorized(&state, &auth, &id, Action::ReadIncoming).await?;
    let object = ObjectRef::incoming(document.id);
    let entries = web::block(move || {
        state.db.integrate_audit()?;
        state.db.audit_history(object)
    })
    .await??;
    let views: Vec<AuditEntryView> = entries.into_iter().map(AuditEntryView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// The latest signed checkpoint: a C2SP `tlog-checkpoint` (origin, size, base64 root) signed
/// as a C2SP `signed-note` with the key at `/api/v1/audit/key`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoint",
    tag = "audit",
    responses(
        (status = 200, description = "The signed note", content_type = "text/plain", body = String),
        (status = 404, description = "No checkpoint was issued yet", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let latest = web::block(move || state.db.latest_checkpoint()).await??;
    let latest = latest.ok_or(ApiError::NotFound { what: "checkpoint" })?;
    Ok(HttpResponse::Ok().content_type(TEXT).body(latest.note))
}

/// The verifier key of the checkpoints, `name+keyid+base64(0x01 || Ed25519 key)` as Go's
/// `sumdb/note` reads it.
#[utoipa::path(
    get,
    path = "/api/v1/audit/key",
    tag = "audit",
    responses(
        (status = 200, description = "The verifier key and a newline", content_type = "text/plain", body = String),
    )
)]
pub async fn key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TEXT)
        .body(format!("{}\n", state.audit_key))
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    /// The entry.
    pub seq: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The entry's leaf hash, base64.
    pub leaf_hash: String,
    /// The audit path, base64 hashes from the leaf up.
    pub proof: Vec<String>,
}

/// Proof parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry, from 0.
    #[param(minimum = 0, example = 3)]
    pub seq: u64,
    /// The tree size, e.g. a checkpoint's; more than `seq` and at most the log's size.
    #[param(minimum = 1, example = 8)]
    pub size: u64,
}

/// That entry `seq` is in the tree of `size` entries.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proof/inclusion",
    tag = "audit",
    params(InclusionQuery),
    responses(
        (status = 200, body = InclusionProof),
        (status = 400, description = "Missing parameter, or an entry or size the log does not have", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn inclusion(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let [seq, size] = counts(&req, ["seq", "size"])?;
    let (leaf, proof) = web::block(move || state.db.audit_inclusion_proof(seq, size))
        .await?
        .map_err(proof_error)?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        seq,
        size,
        leaf_hash: BASE64.encode(leaf),
        proof: base64_all(&proof),
    }))
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The proof, base64 hashes.
    pub proof: Vec<String>,
}

/// Proof parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older size, at least 1.
    #[param(minimum = 1, example = 4)]
    pub from: u64,
    /// The newer size, at least `from` and at most the log's size.
    #[param(minimum = 1, example = 8)]
    pub to: u64,
}

/// That the tree of `from` entries is a prefix of the tree of `to` entries.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proof/consistency",
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyProof),
        (status = 400, description = "Missing parameter, or sizes the log does not have", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn consistency(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let [from, to] = counts(&req, ["from", "to"])?;
    let proof = web::block(move || state.db.audit_consistency_proof(from, to))
        .await?
        .map_err(proof_error)?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        from,
        to,
        proof: base64_all(&proof),
    }))
}

/// Records that the caller opened or downloaded a document, in the audit log; `file` is the
/// revision downloaded. The read is answered only once its entry is queued.
pub(crate) async fn record_access(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    object: ObjectRef,
    access: Access,
    file: Option<Sha256Digest>,
) -> Result<(), ApiError> {
    let db = state.db.clone();
    let by = auth.user.id;
    web::block(move || db.record_access(by, object, access, file.as_ref(), Utc::now())).await??;
    Ok(())
}
