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
use utoipa::{PartialSchema, ToSchema};
use vanthu_domain::access::{AccessError, Action, Target};
use vanthu_domain::Sha256Digest;
use vanthu_store::blob::{BlobRef, BlobStore};
use vanthu_store::NewFile;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::declared_length;
use crate::media::{FileKind, Judgement};
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

/// The raw bytes of a file, as a request or response body: for the API description only
/// (a binary string), the handlers stream the bytes themselves.
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for FileBytes {}

/// Lists every accepted kind of file ([`FileKind::ACCEPTED`]) as the media types of the
/// upload's body and of the download, so the description follows the table.
pub(crate) struct AcceptedKinds;

impl utoipa::Modify for AcceptedKinds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        if let Some(body) = paths
            .get_mut("/api/v1/files")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.request_body.as_mut())
        {
            body.content = accepted_contents();
        }
        if let Some(utoipa::openapi::RefOr::T(ok)) = paths
            .get_mut("/api/v1/files/{sha256}")
            .and_then(|item| item.get.as_mut())
            .and_then(|operation| operation.responses.responses.get_mut("200"))
        {
            ok.content = accepted_contents();
        }
    }
}

fn accepted_contents<C: FromIterator<(String, utoipa::openapi::Content)>>() -> C {
    FileKind::ACCEPTED
        .into_iter()
        .map(|kind| {
            let content = utoipa::openapi::ContentBuilder::new()
                .schema(Some(FileBytes::schema()))
                .build();
            (kind.media_type.to_owned(), content)
        })
        .collect()
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

/// Streams `chunks` into the blob store and returns the blob. More than `limit` bytes,
/// content that is not of `kind` (an empty file is of no kind), or a broken stream stop the
/// write, and the blob store deletes its temporary file, so nothing is stored.
pub(crate) async fn store_stream<S, E>(
    blobs: Arc<dyn BlobStore>,
    mut chunks: S,
    limit: u64,
    kind: FileKind,
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
    let mut head: Vec<u8> = Vec::with_capacity(kind.head_len());
    let mut judged = false;
    let mut failure = None;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > limit {
                    failure = Some(ApiError::PayloadTooLarge { limit });
                    break;
                }
                if !judged {
                    let take = chunk.len().min(kind.head_len() - head.len());
                    head.extend_from_slice(&chunk[..take]);
                    match kind.judge(&head, false) {
                        Judgement::Matches => judged = true,
                        Judgement::Differs => {
                            failure = Some(not_of_kind(kind, false));
                            break;
                        }
                        Judgement::NeedMore => {}
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
    // Still undecided at the end: the whole file is shorter than its kind's signature.
    if failure.is_none() && !judged {
        failure = Some(not_of_kind(kind, received == 0));
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

/// The refusal of a file that is not of `kind`.
pub(crate) fn not_of_kind(kind: FileKind, empty: bool) -> ApiError {
    if kind == FileKind::PDF {
        ApiError::NotPdf { empty }
    } else {
        ApiError::ContentMismatch {
            name: kind.name,
            media_type: kind.media_type,
            empty,
        }
    }
}

/// The accepted kind the upload's `Content-Type` names.
fn upload_kind(req: &HttpRequest) -> Result<FileKind, ApiError> {
    let raw = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default());
    let essence = raw
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if let Some(kind) = FileKind::for_media_type(&essence) {
        return Ok(kind);
    }
    let sentence = match essence.as_str() {
        "" => format!(
            "the upload has no Content-Type; send the file's media type in that header, e.g. \
             application/pdf (accepted are {})",
            FileKind::ACCEPTED_IN_WORDS
        ),
        "multipart/form-data" | "application/x-www-form-urlencoded" => {
            "send the file itself as the request body, not a form, with its media type in \
             Content-Type, e.g. application/pdf for a PDF"
                .to_owned()
        }
        other => format!(
            "files of type {} are not accepted; upload {}",
            other.chars().take(100).collect::<String>(),
            FileKind::ACCEPTED_IN_WORDS
        ),
    };
    Err(ApiError::UnsupportedMediaType(sentence))
}

/// Uploads a file as the raw request body; the unit of the uploader holds it.
///
/// Accepted are PDF documents and attachments in the common office and image formats; each
/// is checked by its first bytes against the media type it is sent as.
#[utoipa::path(
    post,
    path = "/api/v1/files",
    tag = "files",
    request_body(content = FileBytes, content_type = "application/pdf", description = "The file's bytes, with its media type in Content-Type: any of the kinds listed here"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = FileView, headers(("Location" = String, description = "The file's address"))),
        (status = 400, description = "The body was interrupted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your roles do not allow uploading", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A media type vanthu does not handle, or content that is not what its media type says (a PDF needs %PDF- in its first 1024 bytes), or an empty file", body = crate::error::Problem, content_type = "application/problem+json"),
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
    let kind = upload_kind(&req)?;
    let limit = Limits::of(&req).upload;
    if declared_length(&req).is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }

    let blob = store_stream(state.blobs.clone(), payload, limit, kind).await?;

    let new = NewFile {
        sha256: blob.sha256.clone(),
        size: blob.size,
        media_type: kind.media_type.to_owned(),
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
        (status = 200, description = "The file's bytes, as an attachment with a sandboxing Content-Security-Policy, of the media type it was uploaded as", body = FileBytes, content_type = "application/pdf",
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
            Ok(_) => {
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
