//! `/api/v1/me/signature-image` and `/api/v1/units/{id}/seal-image`: the images drawn in
//! visible signatures (Decree 30/2020 Appendix I). A leader uploads their own signature (a
//! PNG with a transparent background, drawn centred in their signature); a unit's admin
//! uploads the unit's seal (a PNG with a transparent background and its resolution, drawn at
//! real size over the left third of the official's signature at issue).
//!
//! Each upload is checked by decoding it as the signing code will: a file that passes here
//! is one the appearance can draw.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::ValidationError;
use vanthu_pades::appearance::ImageResource;
use vanthu_store::{AppearanceImage, ImageOwner, NewRevision};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::files::{serve_blob, FileBytes};
use crate::json::declared_length;
use crate::outgoing::put_blob;
use crate::state::AppState;
use crate::units::{unit_id, visible_unit};

/// Largest image accepted, in bytes: a seal scanned at 600 dpi is a few hundred kilobytes.
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;
/// Fewest pixels on a side: less is not a legible signature or seal.
const MIN_SIDE: u32 = 32;
/// Most pixels on a side.
const MAX_SIDE: u32 = 4000;
/// Smallest and largest real diameter of a seal, in millimetres: round seals of agencies are
/// 32 to 42 mm across (Decree 99/2016); the margin takes scans and other shapes.
const SEAL_MM: (f32, f32) = (20.0, 60.0);
const POINTS_PER_MM: f32 = 72.0 / 25.4;
/// How much longer than wide a seal may be: oval seals are about 4:3.
const MAX_SEAL_ELONGATION: f32 = 1.5;

/// An uploaded image.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    /// SHA-256 of the PNG.
    pub sha256: String,
    /// Its length in bytes.
    pub size: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its size on paper in millimetres (from the PNG's resolution, 300 dpi when it gives
    /// none): the seal is drawn at this size.
    pub size_mm: [f32; 2],
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

fn view(image: AppearanceImage, decoded: &ImageResource) -> ImageView {
    let (w, h) = decoded.natural_size;
    ImageView {
        sha256: image.sha256.to_string(),
        size: image.size,
        width: decoded.width,
        height: decoded.height,
        size_mm: [
            (w / POINTS_PER_MM * 10.0).round() / 10.0,
            (h / POINTS_PER_MM * 10.0).round() / 10.0,
        ],
        uploaded_at: image.uploaded_at,
    }
}

/// The request body, if it is a PNG of at most [`MAX_IMAGE_BYTES`].
async fn read_png(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("image/png") {
        return Err(ApiError::UnsupportedMediaType(
            "send the image as the body, with Content-Type: image/png".into(),
        ));
    }
    let limit = MAX_IMAGE_BYTES as u64;
    if declared_length(req).is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::IncompleteBody(e.to_string()))?;
        if body.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes the PNG as the appearance will and checks what every image needs: readable, a
/// sensible size, a transparent background (Appendix I: the image lies over the text).
fn check(png: &[u8]) -> Result<ImageResource, ApiError> {
    let invalid = |m: String| ApiError::Validation(ValidationError::new("image", m));
    let image = ImageResource::from_png(png, "Im1").map_err(|e| invalid(e.to_string()))?;
    let sides = MIN_SIDE..=MAX_SIDE;
    if !sides.contains(&image.width) || !sides.contains(&image.height) {
        return Err(invalid(format!(
            "is {} x {} pixels; each side must be {MIN_SIDE} to {MAX_SIDE} pixels",
            image.width, image.height
        )));
    }
    if image.alpha.is_none() {
        return Err(invalid(
            "has no transparent background; save it as a PNG with transparency".into(),
        ));
    }
    Ok(image)
}

/// [`check`], and a seal's real size, read from the PNG's resolution.
fn check_seal(png: &[u8]) -> Result<ImageResource, ApiError> {
    let image = check(png)?;
    let (w, h) = image.natural_size;
    let (min, max) = (SEAL_MM.0 * POINTS_PER_MM, SEAL_MM.1 * POINTS_PER_MM);
    if w.max(h) > MAX_SEAL_ELONGATION * w.min(h) {
        return Err(ApiError::Validation(ValidationError::new(
            "image",
            format!(
                "is {} x {} pixels: a seal is round, oval or square, not this elongated; crop                  it to the seal",
                image.width, image.height
            ),
        )));
    }
    if [w, h].iter().any(|s| *s < min || *s > max) {
        return Err(ApiError::Validation(ValidationError::new(
            "image",
            format!(
                "would print {:.0} x {:.0} mm; a seal is drawn at its real size, {:.0} to {:.0} \
                 mm: give the PNG the resolution it was scanned at",
                w / POINTS_PER_MM,
                h / POINTS_PER_MM,
                SEAL_MM.0,
                SEAL_MM.1
            ),
        )));
    }
    Ok(image)
}

async fn store(
    state: web::Data<AppState>,
    owner: ImageOwner,
    png: Vec<u8>,
    decoded: ImageResource,
    by: vanthu_domain::UserId,
) -> Result<HttpResponse, ApiError> {
    let image = web::block(move || -> Result<AppearanceImage, ApiError> {
        let file: NewRevision = put_blob(&state, &png)?;
        Ok(state
            .db
            .set_appearance_image(owner, &file, by, Utc::now())?)
    })
    .await??;
    tracing::info!(owner = ?owner, by = %by, sha256 = %image.sha256, "appearance image stored");
    Ok(HttpResponse::Ok().json(view(image, &decoded)))
}

async fn serve(state: web::Data<AppState>, owner: ImageOwner) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let image = web::block(move || db.appearance_image(owner))
        .await??
        .ok_or(ApiError::NotFound { what: "image" })?;
    serve_blob(&state, image.sha256, image.size, "image/png").await
}

/// The image of `owner`'s signature or seal, if one was uploaded: what the appearances draw.
pub(crate) fn image_of(state: &AppState, owner: ImageOwner) -> Result<Option<Vec<u8>>, ApiError> {
    state
        .db
        .appearance_image(owner)?
        .map(|image| crate::outgoing::read_blob(state, &image.sha256))
        .transpose()
}

/// Uploads the image of your signature (leaders), drawn in your visible signatures from now
/// on; it replaces the one you had.
#[utoipa::path(
    put,
    path = "/api/v1/me/signature-image",
    tag = "signing",
    request_body(content = FileBytes, content_type = "image/png", description = "A PNG with a transparent background, at most 1 MiB, 32 to 4000 pixels a side"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = ImageView),
        (status = 400, description = "The body was interrupted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only leaders sign, so only they have a signature image", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as image/png", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable PNG, too small or too large, or without a transparent background", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_signature(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::UsePersonalKey,
        &Target::personal(auth.actor.unit_path.clone(), auth.user.id),
        "signature image",
    )?;
    let png = read_png(&req, payload).await?;
    let decoded = check(&png)?;
    store(
        state,
        ImageOwner::Signature(auth.user.id),
        png,
        decoded,
        auth.user.id,
    )
    .await
}

/// Your signature image, as uploaded.
#[utoipa::path(
    get,
    path = "/api/v1/me/signature-image",
    tag = "signing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The PNG", body = FileBytes, content_type = "image/png"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have not uploaded one", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_signature(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    serve(state, ImageOwner::Signature(auth.user.id)).await
}

/// Uploads the image of a unit's seal (the unit's admins), drawn at its real size in the
/// unit's seal signatures from now on; it replaces the one the unit had.
#[utoipa::path(
    put,
    path = "/api/v1/units/{id}/seal-image",
    tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    request_body(content = FileBytes, content_type = "image/png", description = "A PNG with a transparent background and its resolution (pHYs; 300 dpi assumed without one), 20 to 60 mm a side at that resolution and at most half as long again as wide, at most 1 MiB"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = ImageView),
        (status = 400, description = "The body was interrupted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins set a unit's seal", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as image/png", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable PNG, without a transparent background, or not the size and shape of a seal at its resolution", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_seal(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let unit = visible_unit(&state, &auth, unit_id(&id)?, Action::UpdateUnit).await?;
    let png = read_png(&req, payload).await?;
    let decoded = check_seal(&png)?;
    store(state, ImageOwner::Seal(unit.id), png, decoded, auth.user.id).await
}

/// A unit's seal image (anyone who sees the unit).
#[utoipa::path(
    get,
    path = "/api/v1/units/{id}/seal-image",
    tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The PNG", body = FileBytes, content_type = "image/png"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, outside your units, or no seal image uploaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_seal(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let unit = visible_unit(&state, &auth, unit_id(&id)?, Action::ReadUnit).await?;
    serve(state, ImageOwner::Seal(unit.id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &[u8] = include_bytes!("../../pades/assets/demo/signature.png");
    const SEAL: &[u8] = include_bytes!("../../pades/assets/demo/seal.png");

    #[test]
    fn the_demo_images_pass_and_a_signature_is_not_a_seal() {
        check(SIGNATURE).unwrap();
        let seal = check_seal(SEAL).unwrap();
        let mm = seal.natural_size.0 / POINTS_PER_MM;
        assert!((35.0..=37.0).contains(&mm), "{mm}");
        // The signature prints 51 x 20 mm: not the shape of a seal.
        match check_seal(SIGNATURE) {
            Err(ApiError::Validation(e)) => assert!(e.message.contains("elongated"), "{e:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreadable_tiny_or_opaque_images_are_refused() {
        let refused = |png: &[u8]| match check(png) {
            Err(ApiError::Validation(e)) => e.message,
            other => panic!("{other:?}"),
        };
        assert!(refused(b"\x89PNG\r\n\x1a\nnot really").contains("PNG"));
        let tiny = png(8, 8, true);
        assert!(refused(&tiny).contains("32 to 4000"));
        let opaque = png(64, 64, false);
        assert!(refused(&opaque).contains("transparent"));
        check(&png(64, 64, true)).unwrap();
    }

    fn png(width: u32, height: u32, transparent: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgba);
        let mut writer = encoder.write_header().unwrap();
        let alpha = if transparent { 0 } else { 255 };
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|_| [200, 0, 0, alpha])
            .collect();
        writer.write_image_data(&pixels).unwrap();
        drop(writer);
        out
    }
}
