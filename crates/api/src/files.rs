//! `/api/v1/files`: document files, stored once by content digest and held per unit.
//!
//! Uploads stream straight into the blob store (which writes a temporary file, fsyncs and
//! renames it), so memory use does not grow with the file and an interrupted upload leaves no
//! file under a final name.

use std::io::{self, Read};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use vanthu_domain::access::{AccessError, Action, Target};
use vanthu_domain::{Sha256Digest, ValidationError};
use vanthu_store::blob::{BlobRef, BlobStore};
use vanthu_store::NewFile;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::declared_length;
use crate::state::{AppState, Limits};

/// Chunks buffered between the network and the disk writer.
const CHANNEL_DEPTH: usize = 16;
/// Size of the chunks a download is read in.
const READ_CHUNK: usize = 64 * 1024;
const FILE: &str = "file";
/// The policy of a downloaded file: a unique origin with nothing allowed to load or run.
const DOWNLOAD_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    /// SHA-256 of the content; the file's address.
    #[schema(example = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// Media type declared at upload.
    #[schema(example = "application/pdf")]
    pub media_type: String,
}

/// Feeds chunks arriving on the async side to the blocking blob writer.
struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// What an upload must hold, checked on its first bytes as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Any content of at least one byte (an empty file is no document).
    Anything,
    /// A PDF: at least one byte, starting with the `%PDF-` header.
    Pdf,
}

/// The header every PDF file starts with (ISO 32000-2, 7.5.2).
pub(crate) const PDF_MAGIC: &[u8] = b"%PDF-";

/// Streams `chunks` into the blob store and returns the blob. More than `limit` bytes,
/// content that is not what `expect` asks for, or a broken stream stop the write, and the
/// blob store deletes its temporary file, so nothing is stored.
pub(crate) async fn store_stream<S, E>(
    blobs: Arc<dyn BlobStore>,
    mut chunks: S,
    limit: u64,
    expect: Expect,
) -> Result<BlobRef, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let writer = web::block(move || {
        blobs.put(&mut ChannelReader {
            chunks: rx,
            current: Bytes::new(),
        })
    });
    let mut received: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(PDF_MAGIC.len());
    let mut failure = None;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > limit {
                    failure = Some(ApiError::PayloadTooLarge { limit });
                    break;
                }
                if expect == Expect::Pdf && head.len() < PDF_MAGIC.len() {
                    let take = chunk.len().min(PDF_MAGIC.len() - head.len());
                    head.extend_from_slice(&chunk[..take]);
                    if !PDF_MAGIC.starts_with(&head) {
                        failure = Some(ApiError::NotPdf { empty: false });
                        break;
                    }
                }
                if tx.send(Ok(chunk)).await.is_err() {
                    // The writer stopped early; its own error is reported below.
                    break;
                }
            }
            Err(e) => {
                failure = Some(ApiError::IncompleteBody(e.to_string()));
                break;
            }
        }
    }
    if failure.is_none() && expect == Expect::Pdf && head.len() < PDF_MAGIC.len() {
        failure = Some(ApiError::NotPdf {
            empty: received == 0,
        });
    }
    if failure.is_none() && received == 0 {
        failure = Some(
            ValidationError::new(
                "body",
                "the file is empty; send the file's bytes as the request body",
            )
            .into(),
        );
    }
    if let Some(failure) = failure {
        // Make the writer fail so it deletes its temporary file instead of storing a prefix.
        let _ = tx.send(Err(io::Error::other("upload aborted"))).await;
        drop(tx);
        let _ = writer.await;
        return Err(failure);
    }
    drop(tx);
    Ok(writer.await?.map_err(vanthu_store::StoreError::from)?)
}

/// The media type to record; form encodings mean the client did not send the raw file.
fn upload_media_type(req: &HttpRequest) -> Result<String, ApiError> {
    let raw = match req.headers().get(header::CONTENT_TYPE) {
        None => return Ok("application/octet-stream".to_owned()),
        Some(v) => v.to_str().unwrap_or_default().trim().to_owned(),
    };
    let essence = raw
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let well_formed = raw.len() <= 255
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty());
    if !well_formed
        || essence == "multipart/form-data"
        || essence == "application/x-www-form-urlencoded"
    {
        return Err(ApiError::UnsupportedMediaType {
            expected: "the file itself as the request body, with its own media type (e.g. application/pdf)",
        });
    }
    Ok(raw)
}

/// Uploads a file as the raw request body; the unit of the uploader holds it.
#[utoipa::path(
    post,
    path = "/api/v1/files",
    tag = "files",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, with its media type in Content-Type"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = FileView),
        (status = 400, description = "The body was interrupted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file is empty", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::UploadFile,
        &Target::in_unit(auth.actor.unit_path.clone()),
        FILE,
    )?;
    let media_type = upload_media_type(&req)?;
    let limit = Limits::of(&req).upload;
    if declared_length(&req).is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }

    let blob = store_stream(state.blobs.clone(), payload, limit, Expect::Anything).await?;

    let new = NewFile {
        sha256: blob.sha256.clone(),
        size: blob.size,
        media_type,
        unit_id: auth.actor.unit_id,
        uploaded_by: auth.user.id,
    };
    let record = web::block(move || state.db.insert_file(&new)).await??;
    tracing::info!(sha256 = %record.sha256, size = record.size, by = %auth.user.id, "file stored");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/files/{}", record.sha256)))
        .json(FileView {
            sha256: record.sha256.to_string(),
            size: record.size,
            media_type: record.media_type,
        }))
}

/// Downloads a file held by a unit the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/files/{sha256}",
    tag = "files",
    params(("sha256" = String, Path, description = "SHA-256 of the content, 64 hex digits")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file's bytes, as an attachment with a sandboxing Content-Security-Policy", content_type = "application/octet-stream",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"<sha256>\"`"))),
        (status = 401, description = "Not signed in", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your roles do not allow reading files of that unit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file, or held only by units outside yours", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download(
    state: web::Data<AppState>,
    auth: Authenticated,
    sha256: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sha256 = Sha256Digest::parse(&sha256).map_err(|_| ApiError::NotFound { what: FILE })?;
    let db = state.db.clone();
    let lookup = sha256.clone();
    let records = web::block(move || db.files_by_sha256(&lookup)).await??;
    let mut outcome = Err(AccessError::NotFound);
    for record in &records {
        let target = Target::in_unit(record.unit_path.clone());
        match auth.check(Action::ReadFile, &target) {
            Ok(()) => {
                outcome = Ok(record);
                break;
            }
            Err(AccessError::Forbidden) => outcome = Err(AccessError::Forbidden),
            Err(AccessError::NotFound) => {}
        }
    }
    let record = match outcome {
        Ok(record) => record,
        Err(AccessError::Forbidden) => return Err(ApiError::Forbidden),
        Err(AccessError::NotFound) => return Err(ApiError::NotFound { what: FILE }),
    };

    serve_blob(&state, sha256, record.size, &record.media_type).await
}

/// Streams a stored blob as the response body, read on a blocking thread so memory use does
/// not grow with the file.
pub(crate) async fn serve_blob(
    state: &web::Data<AppState>,
    sha256: Sha256Digest,
    size: u64,
    media_type: &str,
) -> Result<HttpResponse, ApiError> {
    let blobs = state.blobs.clone();
    let etag = format!("\"{sha256}\"");
    let name = sha256.to_string();
    let mut reader = web::block(move || blobs.open(&sha256))
        .await?
        .map_err(vanthu_store::StoreError::from)?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    // The reader is blocking: a blocking thread pumps it into the response stream.
    actix_web::rt::task::spawn_blocking(move || loop {
        let mut buf = vec![0u8; READ_CHUNK];
        let item = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            break;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(media_type.to_owned())
        .insert_header((header::ETAG, etag))
        // An uploaded file is whatever its uploader sent: a browser must save it, never
        // render it as a page of this origin, and anything it holds may not run.
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, DOWNLOAD_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(size)
        .streaming(body))
}
