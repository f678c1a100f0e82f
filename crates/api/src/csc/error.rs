//! The errors of `/csc/v1/` in the CSC API's own format (section 10.1 of CSC API V1.0.4.0):
//! `{"error": ..., "error_description": ...}` as `application/json`, not the problem+json
//! of `/api/v1/`, because CSC clients (pyHanko's among them) read that shape. The shared
//! helpers of the rest of the API return [`ApiError`]; they are translated here, in one place.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use vanthu_remote::csc::messages::ErrorResponse;

use crate::error::ApiError;

/// A refused CSC request.
#[derive(Debug)]
pub struct CscError {
    status: StatusCode,
    /// The specification's error code, e.g. `invalid_request`.
    code: &'static str,
    description: String,
    retry_after: Option<u64>,
}

impl std::fmt::Display for CscError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl CscError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        CscError {
            status,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid_request`: a parameter missing, malformed or not allowed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_request` naming a parameter whose value is not acceptable.
    pub fn invalid_parameter(name: &str, why: &str) -> Self {
        Self::invalid_request(format!("Invalid parameter {name}: {why}"))
    }

    /// 400 `invalid_pin`: the signing PIN is wrong.
    pub fn invalid_pin(attempts_left: u32) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_pin",
            format!(
                "The PIN is invalid; {attempts_left} attempt(s) left before the credential is \
                 disabled"
            ),
        )
    }

    /// 400 `invalid_otp`: the one-time code is wrong or was used already.
    pub fn invalid_otp(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_otp", description)
    }

    /// 400 `invalid_request` for a credential that can no longer sign.
    pub fn credential_disabled() -> Self {
        Self::invalid_request(
            "The credential is disabled: five wrong PINs or codes in a row blocked it; enrol \
             your signing key again (POST /api/v1/me/signing-key) to unblock it",
        )
    }

    /// 401 `invalid_token`: no usable bearer token.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 404 for a path under `/csc/v1/` that names no method.
    pub fn no_method() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "There is no such method; the methods are listed by POST /csc/v1/info",
        )
    }

    /// 405: every CSC method is called with POST.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "CSC methods are called with POST",
        )
    }

    /// 413: the body is larger than the server's JSON limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("The request body is larger than the limit of {limit} bytes"),
        )
    }

    /// The body returned, for tests.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: self.code.to_owned(),
            error_description: self.description.clone(),
        }
    }
}

impl ResponseError for CscError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer, Basic realm=\"vanthu\""));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response.insert_header((header::ALLOW, "POST"));
        }
        response.json(self.body())
    }
}

impl From<ApiError> for CscError {
    fn from(e: ApiError) -> Self {
        let retry = |mut error: CscError, seconds: u64| {
            error.retry_after = Some(seconds);
            error
        };
        match e {
            ApiError::Unauthorized => CscError::invalid_token(
                "Sign in first: send Authorization: Bearer <access_token> from auth/login",
            ),
            ApiError::TokenExpired => {
                CscError::invalid_token("The access token has expired; call auth/login again")
            }
            ApiError::InvalidCredentials => CscError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "Wrong username or password",
            ),
            ApiError::TooManyAttempts { retry_after } => retry(
                CscError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "access_denied",
                    format!(
                        "Too many failed sign-ins with this username from your address; try \
                         again in {retry_after} seconds"
                    ),
                ),
                retry_after,
            ),
            ApiError::Busy { retry_after } => retry(
                CscError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    format!("The server is busy; try again in {retry_after} seconds"),
                ),
                retry_after,
            ),
            ApiError::TokenKeyNeedsPin => CscError::invalid_request(
                "Your key is in your own PKCS#11 token, whose PIN is given for each signature \
                 and never kept: it cannot be authorized for remote signing; sign through \
                 POST /api/v1/outgoing/{id}/sign with your PIN",
            ),
            ApiError::Unavailable | ApiError::SealTokenUnavailable => CscError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The service cannot reach its database; try again shortly",
            ),
            ApiError::SigningPinWrong { attempts_left } => CscError::invalid_pin(attempts_left),
            ApiError::SigningKeyBlocked => CscError::credential_disabled(),
            ApiError::Validation(v) if v.field == "pin" => {
                CscError::invalid_parameter("PIN", &v.message)
            }
            ApiError::Validation(v) => CscError::invalid_parameter(v.field, &v.message),
            ApiError::UnusableCertificate(why) => {
                CscError::invalid_request(format!("The credential cannot sign: {why}"))
            }
            ApiError::NoSigningKey | ApiError::Forbidden | ApiError::NotFound { .. } => {
                CscError::invalid_parameter("credentialID", "no such credential of yours")
            }
            other => {
                tracing::error!(error = %other, "CSC request failed");
                CscError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "The service failed unexpectedly; the failure is logged",
                )
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for CscError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<vanthu_store::StoreError> for CscError {
    fn from(e: vanthu_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}
