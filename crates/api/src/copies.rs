//! `/api/v1/{outgoing,incoming}/{id}/copies` and `/api/v1/copies/{id}/file`: electronic copies
//! (bản sao điện tử: sao y, sao lục, trích sao) of the documents a unit holds, sealed by the
//! unit.
//!
//! A sao y or sao lục is the file held (an issued outgoing document, or a received incoming
//! one) with the organisation's seal signature added as an incremental update: no image, the
//! stamp at the top right of page 1 naming the form of copy, the organisation and the signing
//! time. The earlier signatures stay valid. A trích sao is a new file of the pages the clerk
//! names, without the earlier signatures (they do not cover it), sealed the same way. Each copy
//! is kept as its own file beside the source's.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;
use vanthu_domain::access::Action;
use vanthu_domain::ValidationError;
use vanthu_domain::{CopyId, Sha256Digest, UnitId};
use vanthu_pades::sign::sign_bytes;
use vanthu_routing::{
    incoming_copyable, outgoing_copyable, verified_copyable, CopyForm, CopyRefused, PageSelection,
    MAX_SELECTION_LEN, SELECTION_PATTERN,
};
use vanthu_store::{Access, CopySource, DocumentCopy, Medium, NewCopy, NewRevision};

use crate::audit::record_access;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::files::serve_blob;
use crate::incoming;
use crate::json::Json;
use crate::outgoing::{self, pdf, read_blob};
use crate::signing_keys::seal_signer;
use crate::state::AppState;
use crate::validation::names_schema;

fn form_schema() -> Object {
    names_schema(CopyForm::ALL.map(CopyForm::as_str))
}

fn pages_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(SELECTION_PATTERN))
        .min_length(Some(1))
        .max_length(Some(MAX_SELECTION_LEN))
        .examples(["1-2,4"])
        .build()
}

/// Body of `POST .../copies`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyBody {
    /// `sao_y` (sao y: a full, exact copy), `sao_luc` (sao lục: a full copy reproduced for
    /// distribution) or `trich_sao` (trích sao: an extract of the pages named in `pages`).
    #[schema(schema_with = form_schema)]
    pub form: String,
    /// For `trich_sao` only, and required there: the pages to extract, in the order of the
    /// document, each once, as single pages and ranges `first-last` separated by commas
    /// (`1-2,4`); every page must be in the document, and not all of them (that is a sao y).
    #[schema(schema_with = pages_schema)]
    #[serde(default)]
    pub pages: Option<String>,
}

impl CopyBody {
    /// The form of copy and, for a trích sao, its page selection (syntax only: the
    /// document's length is checked once its file is read).
    fn read(&self) -> Result<(CopyForm, Option<PageSelection>), ValidationError> {
        let form: CopyForm = self.form.parse()?;
        let pages = match (form, &self.pages) {
            (CopyForm::TrichSao, Some(pages)) => Some(pages.parse()?),
            (CopyForm::TrichSao, None) => {
                return Err(ValidationError::new(
                    "pages",
                    "a trích sao needs the pages to extract, e.g. \"pages\": \"1-2,4\"",
                ))
            }
            (_, Some(_)) => {
                return Err(ValidationError::new(
                    "pages",
                    format!(
                        "a {} copies the whole document; leave out pages, or make a trích sao \
                         (form trich_sao) of the pages you name",
                        form.as_str()
                    ),
                ))
            }
            (_, None) => None,
        };
        Ok((form, pages))
    }
}

/// An electronic copy.
#[derive(Debug, Serialize, ToSchema)]
pub struct CopyView {
    /// Its id.
    pub id: i64,
    /// `sao_y`, `sao_luc` or `trich_sao`.
    #[schema(schema_with = form_schema)]
    pub form: String,
    /// The pages a trích sao extracts, as recorded (`1-2,4`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = pages_schema)]
    pub pages: Option<String>,
    /// The copying unit, whose seal signed it.
    pub unit_id: i64,
    /// The outgoing document it copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outgoing_id: Option<i64>,
    /// The incoming document it copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incoming_id: Option<i64>,
    /// SHA-256 of the file it was made from.
    pub source_sha256: String,
    /// SHA-256 of the copy.
    pub sha256: String,
    /// Its length in bytes.
    pub size: u64,
    /// The clerk who made it.
    pub made_by: i64,
    /// When (the seal's signing time).
    pub made_at: DateTime<Utc>,
    /// Where to download it.
    #[schema(example = "/api/v1/copies/1/file")]
    pub file: String,
}

impl From<DocumentCopy> for CopyView {
    fn from(c: DocumentCopy) -> Self {
        let (outgoing_id, incoming_id) = match c.source {
            CopySource::Outgoing(id) => (Some(id.get()), None),
            CopySource::Incoming(id) => (None, Some(id.get())),
        };
        CopyView {
            id: c.id.get(),
            form: c.form.as_str().to_owned(),
            pages: c.pages.as_ref().map(ToString::to_string),
            unit_id: c.unit_id.get(),
            outgoing_id,
            incoming_id,
            source_sha256: c.source_sha256.to_string(),
            sha256: c.sha256.to_string(),
            size: c.size,
            made_by: c.made_by.get(),
            made_at: c.made_at,
            file: format!("/api/v1/copies/{}/file", c.id),
        }
    }
}

/// What a copy is made from, once the caller is allowed to copy it.
struct Held {
    source: CopySource,
    unit: UnitId,
    file: (Sha256Digest, u64),
}

/// Seals a copy of `held` in the caller's unit's name and records it.
async fn make_copy(
    state: web::Data<AppState>,
    auth: &Authenticated,
    held: Held,
    body: CopyBody,
) -> Result<HttpResponse, ApiError> {
    let (form, pages) = body.read()?;
    let seal = seal_signer(&state, held.unit).await?;
    let organisation = auth.unit.name.to_string();
    let by = auth.user.id;
    let copy = web::block(move || -> Result<DocumentCopy, ApiError> {
        let at = Utc::now();
        let held_bytes = read_blob(&state, &held.file.0)?;
        let bytes = match &pages {
            Some(selection) => pdf::extract_pages(&held_bytes, selection)?,
            None => held_bytes,
        };
        let opts = pdf::copy_options(&bytes, form, &organisation, at).map_err(pdf::refused)?;
        let (sealed, _) = sign_bytes(&bytes, seal.as_ref(), &opts).map_err(pdf::refused)?;
        let file: NewRevision = outgoing::put_blob(&state, &sealed)?;
        Ok(state.db.record_copy(&NewCopy {
            unit_id: held.unit,
            source: held.source,
            source_sha256: held.file.0,
            form,
            pages,
            file,
            made_by: by,
            at,
        })?)
    })
    .await??;
    tracing::info!(copy = %copy.id, source = %copy.source.object(), by = %by, "electronic copy made");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/copies/{}/file", copy.id)))
        .json(CopyView::from(copy)))
}

/// Makes an electronic copy of an issued document (the issuing unit's clerks): the issued
/// file (or, for a trích sao, a new file of the pages named) with the unit's seal signature
/// and the no-image copy stamp (SAO Y, SAO LỤC or TRÍCH SAO, the organisation, the signing
/// time) at the top right of page 1.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing/{id}/copies",
    tag = "copies",
    params(("id" = i64, Path, description = "Document id")),
    request_body = CopyBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Copied; Location names the copy's file", body = CopyView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's clerks make copies", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not issued or recalled (state_conflict), recorded on paper (document_on_paper), or no seal key installed (no_seal_key); nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown form of copy, pages missing for a trích sao or given for another form, a page selection malformed, out of order, beyond the document or taking all of it (validation_failed, field form or pages), or the seal certificate cannot be used", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database or the token holding the seal keys does not answer; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn copy_outgoing(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<CopyBody>,
) -> Result<HttpResponse, ApiError> {
    let document = outgoing::authorized(&state, &auth, &id, Action::CopyDocument).await?;
    outgoing_copyable(document.state)?;
    if document.medium == Medium::Paper {
        return Err(CopyRefused::OnPaper.into());
    }
    let (db_state, current) = (state.clone(), document.clone());
    let file = web::block(move || outgoing::latest_revision(&db_state, &current)).await??;
    let held = Held {
        source: CopySource::Outgoing(document.id),
        unit: document.unit_id,
        file: (file.sha256, file.size),
    };
    make_copy(state, &auth, held, body.0).await
}

/// Makes an electronic copy of an incoming document the unit holds (its clerks): the file
/// received (or, for a trích sao, a new file of the pages named), with the unit's seal
/// signature and the no-image copy stamp; only a file whose signatures verified valid on
/// receipt is copied.
#[utoipa::path(
    post,
    path = "/api/v1/incoming/{id}/copies",
    tag = "copies",
    params(("id" = i64, Path, description = "Document id")),
    request_body = CopyBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Copied; Location names the copy's file", body = CopyView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the receiving unit's clerks make copies", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Returned or recalled (state_conflict), received on paper (document_on_paper), its signatures not verified valid on receipt (signatures_not_valid), or no seal key installed (no_seal_key); nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown form of copy, pages missing for a trích sao or given for another form, a page selection malformed, out of order, beyond the document or taking all of it (validation_failed, field form or pages), or the seal certificate cannot be used", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database or the token holding the seal keys does not answer; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn copy_incoming(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<CopyBody>,
) -> Result<HttpResponse, ApiError> {
    let document = incoming::authorized(&state, &auth, &id, Action::CopyDocument).await?;
    incoming_copyable(document.state, document.recall.as_ref().map(|r| r.state))?;
    if document.medium == Medium::Paper {
        return Err(CopyRefused::OnPaper.into());
    }
    verified_copyable(&document.verification)?;
    let db = state.db.clone();
    let file = web::block(move || db.incoming_files(document.id))
        .await??
        .pop()
        .ok_or(CopyRefused::OnPaper)?;
    let held = Held {
        source: CopySource::Incoming(document.id),
        unit: document.unit_id,
        file: (file.sha256, file.size),
    };
    make_copy(state, &auth, held, body.0).await
}

/// Loads the source of `copy` and checks the caller sees it.
async fn visible_source(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    copy: &DocumentCopy,
) -> Result<(), ApiError> {
    match copy.source {
        CopySource::Outgoing(id) => {
            outgoing::authorized(state, auth, &id.to_string(), Action::ReadOutgoing).await?;
        }
        CopySource::Incoming(id) => {
            incoming::authorized(state, auth, &id.to_string(), Action::ReadIncoming).await?;
        }
    }
    Ok(())
}

/// The copies made of an outgoing document, oldest first (anyone who sees the document).
#[utoipa::path(
    get,
    path = "/api/v1/outgoing/{id}/copies",
    tag = "copies",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its copies", body = Vec<CopyView>),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn outgoing_copies(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = outgoing::authorized(&state, &auth, &id, Action::ReadOutgoing).await?;
    list(state, CopySource::Outgoing(document.id)).await
}

/// The copies made of an incoming document, oldest first (anyone who sees the document).
#[utoipa::path(
    get,
    path = "/api/v1/incoming/{id}/copies",
    tag = "copies",
    params(("id" = i64, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its copies", body = Vec<CopyView>),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn incoming_copies(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = incoming::authorized(&state, &auth, &id, Action::ReadIncoming).await?;
    list(state, CopySource::Incoming(document.id)).await
}

async fn list(state: web::Data<AppState>, source: CopySource) -> Result<HttpResponse, ApiError> {
    let copies = web::block(move || state.db.copies_of(source)).await??;
    Ok(HttpResponse::Ok().json(copies.into_iter().map(CopyView::from).collect::<Vec<_>>()))
}

/// Downloads an electronic copy (anyone who sees the document copied); recorded as a download
/// of that document, naming the copy's file.
#[utoipa::path(
    get,
    path = "/api/v1/copies/{id}/file",
    tag = "copies",
    params(("id" = i64, Path, description = "Copy id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sealed copy", body = crate::files::FileBytes, content_type = "application/pdf"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such copy, or of a document outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: CopyId = id
        .parse()
        .map_err(|_| ApiError::NotFound { what: "copy" })?;
    let db = state.db.clone();
    let copy = web::block(move || db.get_copy(id)).await??;
    visible_source(&state, &auth, &copy).await?;
    record_access(
        &state,
        &auth,
        copy.source.object(),
        Access::Download,
        Some(copy.sha256.clone()),
    )
    .await?;
    serve_blob(&state, copy.sha256, copy.size, "application/pdf").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_schema_names_every_form() {
        let schema = serde_json::to_value(form_schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["sao_y", "sao_luc", "trich_sao"])
        );
    }

    #[test]
    fn the_published_body_constrains_the_pages_as_the_parser_does() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
        let body = &doc["components"]["schemas"]["CopyBody"];
        assert_eq!(body["required"], serde_json::json!(["form"]), "{body}");
        let pages = &body["properties"]["pages"];
        assert_eq!(pages["pattern"], SELECTION_PATTERN, "{pages}");
        assert_eq!(pages["maxLength"], MAX_SELECTION_LEN, "{pages}");
        assert_eq!(pages["minLength"], 1, "{pages}");
    }

    #[test]
    fn the_pages_go_with_a_trich_sao_and_only_with_one() {
        let body = |form: &str, pages: Option<&str>| CopyBody {
            form: form.to_owned(),
            pages: pages.map(str::to_owned),
        };
        let (form, pages) = body("trich_sao", Some("1-2,4")).read().unwrap();
        assert_eq!(form, CopyForm::TrichSao);
        assert_eq!(pages.unwrap().to_string(), "1-2,4");
        assert_eq!(body("sao_y", None).read().unwrap(), (CopyForm::SaoY, None));
        for (form, pages) in [
            ("trich_sao", None),
            ("sao_y", Some("1")),
            ("trich_sao", Some("2-1")),
        ] {
            assert_eq!(body(form, pages).read().unwrap_err().field, "pages");
        }
    }

    #[test]
    fn a_view_names_its_single_source_and_its_file() {
        let copy = DocumentCopy {
            id: CopyId::new(4).unwrap(),
            unit_id: UnitId::new(2).unwrap(),
            source: CopySource::Incoming(vanthu_domain::IncomingId::new(9).unwrap()),
            form: CopyForm::SaoLuc,
            pages: None,
            source_sha256: Sha256Digest::parse(&"a".repeat(64)).unwrap(),
            sha256: Sha256Digest::parse(&"b".repeat(64)).unwrap(),
            size: 10,
            made_by: vanthu_domain::UserId::new(3).unwrap(),
            made_at: Utc::now(),
        };
        let view = serde_json::to_value(CopyView::from(copy)).unwrap();
        assert_eq!(view["incoming_id"], 9);
        assert!(view.get("outgoing_id").is_none());
        assert_eq!(view["file"], "/api/v1/copies/4/file");
    }
}
