//! `/api/v1/verify`: the signatures of an uploaded PDF checked and reported, nothing kept;
//! and the verification of received documents, which reuses the same verifier settings.

use std::io::Read;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::Sha256Digest;
use vanthu_pades::verify::{self, Report};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::files::not_of_kind;
use crate::json::declared_length;
use crate::media::{FileKind, Judgement};
use crate::state::{AppState, Limits};

/// Verifies a PDF already in the blob store.
pub(crate) async fn verify_blob(
    state: &web::Data<AppState>,
    sha256: Sha256Digest,
) -> Result<Report, ApiError> {
    let state = state.clone();
    web::block(move || -> Result<Report, ApiError> {
        // The verifier reads by offset; the whole file is held for the time of the check.
        let mut bytes = Vec::new();
        state
            .blobs
            .open(&sha256)
            .map_err(vanthu_store::StoreError::from)?
            .read_to_end(&mut bytes)
            .map_err(ApiError::internal)?;
        verify_bytes(&bytes, &state)
    })
    .await?
}

fn verify_bytes(bytes: &[u8], state: &AppState) -> Result<Report, ApiError> {
    verify::verify_bytes(bytes, &state.verification)
        .map_err(|e| ApiError::UnreadablePdf(e.to_string()))
}

/// Verifies every signature of a PDF sent as the request body and returns the report;
/// nothing is stored. Trust anchors are the server's (`--trust`).
#[utoipa::path(
    post,
    path = "/api/v1/verify",
    tag = "incoming",
    request_body(content = crate::files::FileBytes, content_type = "application/pdf", description = "The PDF's bytes"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verification report: `verdict` (valid, untrusted, modified, invalid or unsigned), one entry per signature in `signatures`, and summaries in Vietnamese and English", body = Object),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Empty, or not a PDF (no %PDF- header in the first 1024 bytes)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Starts like a PDF but cannot be read as one", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify_upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::VerifyDocument,
        &Target::in_unit(auth.actor.unit_path.clone()),
        "unit",
    )?;
    let limit = Limits::of(&req).upload;
    if declared_length(&req).is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::IncompleteBody(e.to_string()))?;
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    if FileKind::PDF.judge(&bytes, true) != Judgement::Matches {
        return Err(not_of_kind(FileKind::PDF, bytes.is_empty()));
    }
    let report = web::block(move || verify_bytes(&bytes, &state)).await??;
    Ok(HttpResponse::Ok().json(report))
}
