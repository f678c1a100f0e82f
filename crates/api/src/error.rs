//! The one place where failures become HTTP responses: `application/problem+json`
//! (RFC 9457) bodies with a stable `code` clients can branch on and a `detail` a clerk can act
//! on. Handlers return [`ApiError`]; domain and store errors convert into it here.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use vanthu_domain::ValidationError;
use vanthu_routing::OutgoingTransitionError;
use vanthu_store::StoreError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON of the expected shape.
    #[error("{detail}")]
    InvalidJson {
        /// The offending field as a path such as `roles[1]`, when known.
        field: Option<String>,
        /// What is wrong, with the position in the body.
        detail: String,
    },
    /// The request body could not be read to its end.
    #[error("the request body was interrupted: {0}")]
    IncompleteBody(String),
    /// A query parameter cannot be read.
    #[error("query parameter {field}: {detail}")]
    InvalidQuery {
        /// The parameter's name.
        field: String,
        /// What is wrong with its value.
        detail: String,
    },
    /// The body has a media type the endpoint does not take; the sentence says what to
    /// send instead.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The upload is not a PDF, judged by its first bytes.
    #[error("{}", if *empty {
        "the file is empty; choose the PDF of the document and upload it again"
    } else {
        "the file is not a PDF (there is no %PDF- header in its first 1024 bytes); save or scan the document as PDF and upload it again"
    })]
    NotPdf {
        /// Whether nothing at all was sent.
        empty: bool,
    },
    /// The upload's content is not of the kind its media type names.
    #[error("{}", if *empty {
        "the file is empty; choose the file and upload it again".to_owned()
    } else {
        format!("the file is not {name}, though it was sent as {media_type}; send it with the media type of what it is, or save it as {name} and upload it again")
    })]
    ContentMismatch {
        /// The kind it was sent as, in words.
        name: &'static str,
        /// The media type it was sent as.
        media_type: &'static str,
        /// Whether nothing at all was sent.
        empty: bool,
    },
    /// The file starts like a PDF but cannot be read as one.
    #[error("the file cannot be read as a PDF ({0}); it may be damaged or cut short: upload it again or ask the sender for a new copy")]
    UnreadablePdf(String),
    /// A multipart/form-data body that cannot be parsed.
    #[error("the form could not be read ({0}); send multipart/form-data with the parts `metadata` and `file`")]
    InvalidMultipart(String),
    /// A form other than the incoming-document one cannot be read or lacks a part; the text
    /// names the parts expected.
    #[error("{0}")]
    InvalidForm(String),
    /// A required part of a multipart form is missing.
    #[error("the form has no `{part}` part; send the metadata as JSON in `metadata` and the PDF in `file`")]
    MissingPart {
        /// The part's name.
        part: &'static str,
    },
    /// The body is larger than the configured limit.
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// A value breaks a domain rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No usable bearer token was presented.
    #[error(
        "sign in first: send the header Authorization: Bearer <token> from POST /api/v1/auth/login"
    )]
    Unauthorized,
    /// The token was valid once but has expired.
    #[error("your session has expired; sign in again")]
    TokenExpired,
    /// Username or password is wrong; deliberately does not say which.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed sign-ins with this username from this address.
    #[error(
        "too many failed sign-ins with this username from your address; try again in {retry_after} seconds"
    )]
    TooManyAttempts {
        /// Seconds until the next attempt is allowed (the `Retry-After` header).
        retry_after: u64,
    },
    /// No agency secret, or one no configured agency has, at the interchange inbox.
    #[error("present the bearer secret the agencies configuration of this installation gives your agency: Authorization: Bearer <secret>")]
    AgencyUnauthorized,
    /// An interchange package that cannot be received; nothing was written.
    #[error("the package is refused: {0}")]
    PackageRefused(String),
    /// The caller sees the object but may not perform the action.
    #[error("your roles do not allow this action here")]
    Forbidden,
    /// The object does not exist or is outside the caller's units; the two are indistinguishable.
    #[error("{what} not found")]
    NotFound {
        /// The kind of object asked for: `unit`, `user`, `file`.
        what: &'static str,
    },
    /// No endpoint at this path.
    #[error("there is no endpoint at this path; the API is described at /api/openapi.json")]
    NoRoute,
    /// The endpoint exists but not for this method.
    #[error("this endpoint accepts only {allow}; see /api/openapi.json")]
    MethodNotAllowed {
        /// The methods it does accept, as for the `Allow` header.
        allow: &'static str,
    },
    /// The change clashes with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The document is not in a state that allows the step, or changed while the request
    /// ran; nothing was changed.
    #[error("{0}")]
    StateConflict(String),
    /// The document cannot be copied (state, paper, unverified signatures), each reason with
    /// its own code.
    #[error(transparent)]
    CopyRefused(#[from] vanthu_routing::CopyRefused),
    /// The signing PIN is wrong; the key blocks when no attempts are left.
    #[error("the signing PIN is wrong; {attempts_left} attempt(s) left before signing with this key is blocked")]
    SigningPinWrong {
        /// Wrong PINs still allowed.
        attempts_left: u32,
    },
    /// Five wrong PINs in a row blocked the key.
    #[error("signing with this key is blocked after five wrong PINs; enrol your key again (POST /api/v1/me/signing-key with your PKCS#12 file) to set a new PIN")]
    SigningKeyBlocked,
    /// Five wrong PINs in a row blocked signing with the key in the leader's own token.
    #[error("signing with the key in your token is blocked after five wrong PINs; it opens again when a new certificate is on the token")]
    TokenKeyBlocked,
    /// A signing session or a CSC authorization was asked for a key in the leader's own
    /// token: it would need the PIN kept, and the token takes it for each signature only.
    #[error("your key is in your own PKCS#11 token, whose PIN is given for each signature and never kept: sign with `pin` instead of a signing session or a remote-signing authorization")]
    TokenKeyNeedsPin,
    /// The leader's own token cannot be used now (absent, in use by another signature, not
    /// answering, or its own PIN locked); nothing was changed and no PIN was counted.
    #[error("{0}; nothing was changed and your PIN was not counted")]
    PersonalTokenUnavailable(String),
    /// The organisation has no seal key installed.
    #[error("this organisation has no seal key installed; ask the administrator of the installation to install one")]
    NoSealKey,
    /// The user has enrolled no signing key.
    #[error("you have no signing key here; enrol yours with POST /api/v1/me/signing-key (your PKCS#12 file, its password and a new signing PIN)")]
    NoSigningKey,
    /// A signing session that cannot be used.
    #[error("the signing session {0}; open a new one with your signing PIN")]
    SigningSessionInvalid(&'static str),
    /// The PKCS#12 file cannot be opened.
    #[error("the PKCS#12 file cannot be opened: the password is wrong or the file is damaged")]
    Pkcs12Unreadable,
    /// The certificate or key cannot be used to sign.
    #[error("{0}")]
    UnusableCertificate(String),
    /// An external signature that does not fit what was prepared, or a certificate that is
    /// not the assigned signer's; nothing was changed.
    #[error("{0}")]
    SignatureRefused(String),
    /// No prepared signature to complete: none was prepared, it expired, or the document
    /// changed since; nothing was changed.
    #[error("{0}")]
    PreparedSignatureGone(String),
    /// The database cannot be reached.
    #[error("the database is not reachable")]
    Unavailable,
    /// The PKCS#11 token or HSM holding the seal keys does not answer.
    #[error("the token holding the seal keys does not answer; nothing was changed: try again later, or ask the administrator of the installation to check the token")]
    SealTokenUnavailable,
    /// Every password-hashing slot stayed taken for the configured wait.
    #[error("the server is busy checking other passwords; try again in {retry_after} seconds")]
    Busy {
        /// Seconds to wait before trying again (the `Retry-After` header).
        retry_after: u64,
    },
    /// A bug or an environment failure; details go to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Wraps an unexpected failure.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(error.into())
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson { .. } => "invalid_json",
            ApiError::IncompleteBody(_) => "incomplete_body",
            ApiError::InvalidQuery { .. } => "invalid_query",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::NotPdf { .. } => "not_a_pdf",
            ApiError::ContentMismatch { .. } => "content_mismatch",
            ApiError::UnreadablePdf(_) => "unreadable_pdf",
            ApiError::InvalidMultipart(_) | ApiError::InvalidForm(_) => "invalid_multipart",
            ApiError::MissingPart { .. } => "missing_part",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TokenExpired => "token_expired",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::AgencyUnauthorized => "agency_unauthorized",
            ApiError::PackageRefused(_) => "package_refused",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound { .. } | ApiError::NoRoute => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::StateConflict(_) => "state_conflict",
            ApiError::CopyRefused(e) => e.code(),
            ApiError::SigningPinWrong { .. } => "signing_pin_wrong",
            ApiError::SigningKeyBlocked | ApiError::TokenKeyBlocked => "signing_key_blocked",
            ApiError::TokenKeyNeedsPin => "token_key_needs_pin",
            ApiError::PersonalTokenUnavailable(_) => "personal_token_unavailable",
            ApiError::NoSigningKey => "no_signing_key",
            ApiError::NoSealKey => "no_seal_key",
            ApiError::SigningSessionInvalid(_) => "signing_session_invalid",
            ApiError::Pkcs12Unreadable => "pkcs12_unreadable",
            ApiError::UnusableCertificate(_) => "unusable_certificate",
            ApiError::SignatureRefused(_) => "signature_refused",
            ApiError::PreparedSignatureGone(_) => "prepared_signature_gone",
            ApiError::Unavailable => "unavailable",
            ApiError::SealTokenUnavailable => "seal_token_unavailable",
            ApiError::Busy { .. } => "busy",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::InvalidJson { .. } => "Malformed JSON body",
            ApiError::IncompleteBody(_) => "Incomplete request body",
            ApiError::InvalidQuery { .. } => "Invalid query parameter",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::PayloadTooLarge { .. } => "Request body too large",
            ApiError::NotPdf { .. } => "Not a PDF",
            ApiError::ContentMismatch { .. } => "Content does not match its type",
            ApiError::UnreadablePdf(_) => "Unreadable PDF",
            ApiError::InvalidMultipart(_) | ApiError::InvalidForm(_) => "Malformed form",
            ApiError::MissingPart { .. } => "Missing form part",
            ApiError::Validation(_) => "Invalid value",
            ApiError::Unauthorized => "Authentication required",
            ApiError::TokenExpired => "Session expired",
            ApiError::InvalidCredentials => "Sign-in failed",
            ApiError::TooManyAttempts { .. } => "Too many attempts",
            ApiError::AgencyUnauthorized => "Agency not recognised",
            ApiError::PackageRefused(_) => "Package refused",
            ApiError::Forbidden => "Forbidden",
            ApiError::NotFound { .. } | ApiError::NoRoute => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::StateConflict(_) => "Not possible in the document's state",
            ApiError::CopyRefused(vanthu_routing::CopyRefused::State(_)) => {
                "Not possible in the document's state"
            }
            ApiError::CopyRefused(_) => "This document cannot be copied",
            ApiError::SigningPinWrong { .. } => "Wrong signing PIN",
            ApiError::SigningKeyBlocked | ApiError::TokenKeyBlocked => "Signing key blocked",
            ApiError::TokenKeyNeedsPin => "The key in your token needs the PIN",
            ApiError::PersonalTokenUnavailable(_) => "Your token is unavailable",
            ApiError::NoSigningKey => "No signing key",
            ApiError::NoSealKey => "No seal key",
            ApiError::SigningSessionInvalid(_) => "Signing session not usable",
            ApiError::Pkcs12Unreadable => "Unreadable PKCS#12 file",
            ApiError::UnusableCertificate(_) => "Certificate not usable for signing",
            ApiError::SignatureRefused(_) => "Signature refused",
            ApiError::PreparedSignatureGone(_) => "No prepared signature",
            ApiError::Unavailable => "Service unavailable",
            ApiError::SealTokenUnavailable => "Seal token unavailable",
            ApiError::Busy { .. } => "Server busy",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::InvalidJson { field, .. } => field.clone(),
            ApiError::InvalidQuery { field, .. } => Some(field.clone()),
            ApiError::MissingPart { part } => Some((*part).to_owned()),
            ApiError::Validation(e) => Some(e.field.to_owned()),
            _ => None,
        }
    }

    /// The body sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            problem_type: format!("urn:vanthu:problem:{}", self.code()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().to_owned(),
            field: self.field(),
            attempts_left: match self {
                ApiError::SigningPinWrong { attempts_left } => Some(*attempts_left),
                ApiError::SigningKeyBlocked | ApiError::TokenKeyBlocked => Some(0),
                _ => None,
            },
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI naming the kind of problem: `urn:vanthu:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request and what to do about it.
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_json`, `not_found`, `too_many_attempts`,
    /// `state_conflict`, `not_a_pdf`.
    pub code: String,
    /// The request field at fault, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Wrong signing PINs still allowed before the key blocks (`signing_pin_wrong`,
    /// `signing_key_blocked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson { .. }
            | ApiError::IncompleteBody(_)
            | ApiError::InvalidQuery { .. }
            | ApiError::InvalidMultipart(_)
            | ApiError::InvalidForm(_)
            | ApiError::MissingPart { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_)
            | ApiError::NotPdf { .. }
            | ApiError::ContentMismatch { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UnreadablePdf(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized
            | ApiError::TokenExpired
            | ApiError::InvalidCredentials
            | ApiError::AgencyUnauthorized => StatusCode::UNAUTHORIZED,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden
            | ApiError::SigningPinWrong { .. }
            | ApiError::SigningSessionInvalid(_) => StatusCode::FORBIDDEN,
            ApiError::SigningKeyBlocked | ApiError::TokenKeyBlocked => StatusCode::LOCKED,
            ApiError::NotFound { .. } | ApiError::NoRoute | ApiError::NoSigningKey => {
                StatusCode::NOT_FOUND
            }
            ApiError::Pkcs12Unreadable
            | ApiError::UnusableCertificate(_)
            | ApiError::SignatureRefused(_)
            | ApiError::PackageRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_)
            | ApiError::StateConflict(_)
            | ApiError::CopyRefused(_)
            | ApiError::NoSealKey
            | ApiError::TokenKeyNeedsPin
            | ApiError::PreparedSignatureGone(_) => StatusCode::CONFLICT,
            ApiError::Unavailable
            | ApiError::SealTokenUnavailable
            | ApiError::PersonalTokenUnavailable(_)
            | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(source) = self {
            tracing::error!(error = %source, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            ApiError::TooManyAttempts { retry_after } | ApiError::Busy { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unauthorized | ApiError::TokenExpired => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

/// Error handlers for actix's own JSON, query and path extractors, so that their failures
/// are problem documents like every other error.
pub fn extractor_errors(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web::{JsonConfig, PathConfig, QueryConfig};
    cfg.app_data(JsonConfig::default().error_handler(|e, _| {
        ApiError::InvalidJson {
            field: None,
            detail: format!("the body is not valid JSON of the expected shape: {e}"),
        }
        .into()
    }))
    .app_data(QueryConfig::default().error_handler(|e, _| {
        ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        }
        .into()
    }))
    // A path segment that is not even text names nothing.
    .app_data(PathConfig::default().error_handler(|_, _| ApiError::NoRoute.into()));
}

impl From<OutgoingTransitionError> for ApiError {
    fn from(e: OutgoingTransitionError) -> Self {
        ApiError::StateConflict(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ApiError::NotFound { what: entity },
            e @ StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
            e @ (StoreError::Transition(_)
            | StoreError::OutgoingTransition(_)
            | StoreError::Frozen(_)
            | StoreError::Revoked(_)
            | StoreError::Stale { .. }) => ApiError::StateConflict(e.to_string()),
            StoreError::Invalid(e) => ApiError::Validation(e),
            StoreError::NotCopyable(e) => ApiError::CopyRefused(e),
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[allow(dead_code)] // Only its parsing matters here.
        n: u32,
    }

    async fn takes_all(
        _path: web::Path<u32>,
        _query: web::Query<Body>,
        _body: web::Json<Body>,
    ) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[actix_web::test]
    async fn actix_extractor_failures_are_problems() {
        let app = test::init_service(
            App::new()
                .configure(extractor_errors)
                .route("/things/{n}", web::post().to(takes_all)),
        )
        .await;
        let json = ("Content-Type", "application/json");
        for (uri, body, status, code) in [
            ("/things/x?n=1", "{\"n\": 1}", 404, "not_found"),
            ("/things/1?n=x", "{\"n\": 1}", 400, "invalid_query"),
            ("/things/1?n=1", "{\"n\": \"x\"}", 400, "invalid_json"),
            ("/things/1?n=1", "{\"n\": 1}", 204, ""),
        ] {
            let request = test::TestRequest::post()
                .uri(uri)
                .insert_header(json)
                .set_payload(body)
                .to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status, "{uri} {body}");
            if status == 204 {
                continue;
            }
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                PROBLEM_JSON,
                "{uri}"
            );
            let problem: serde_json::Value = test::read_body_json(response).await;
            assert_eq!(problem["code"], code, "{uri} {body}: {problem}");
        }
    }
}
