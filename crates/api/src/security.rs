//! Hardening applied to every response, whichever handler or built-in service produced it:
//! security headers, HEAD answered wherever GET is, and `application/problem+json` for error
//! answers that do not come from [`ApiError`](crate::ApiError) (actix's own 404 and 405, the
//! documentation service's missing assets).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Problem, PROBLEM_JSON};
use crate::reports_page;

/// Where the bundled Swagger UI is served.
const DOCS_PREFIX: &str = "/api/docs";

/// API answers are data, never a page: nothing in them may load, run or be framed.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The Swagger UI page loads its scripts, styles and images from this server only (the bundle
/// is vendored, its page has no inline script) and fetches the OpenAPI document from here;
/// its styles set inline `style` attributes and its icons are `data:` images.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                        base-uri 'none'; form-action 'none'";

/// The auditors' page (`/reports`) is drawn on the server: no script at all, its one inline
/// style sheet allowed by its SHA-256, its charts inline SVG, and its forms posting to this
/// server only.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = BASE64.encode(Sha256::digest(reports_page::STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

/// Middleware answering HEAD like GET. It must run before routing (every app-level middleware
/// does) and after anything that should record the real method. The HTTP/1 codec remembers
/// that the request was HEAD and sends only the head of the response, so the headers are
/// exactly those of the GET answer.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Middleware adding the security headers to every response and turning error answers that
/// are not problem documents into problem documents.
pub async fn harden(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let page = reports_page::is_page(req.path());
    let csc = req.path().starts_with(CSC_PREFIX);
    let csp = if is_docs(req.path()) {
        DOCS_CSP
    } else if page {
        PAGE_CSP.as_str()
    } else {
        API_CSP
    };
    // Handlers and extractors answer their errors as responses, so only a failure of a
    // middleware itself travels as `Err`; actix answers that with a bare status.
    let mut response = next.call(req).await?.map_into_left_body();
    if response.status().is_client_error() || response.status().is_server_error() {
        let content_type = response.headers().get(header::CONTENT_TYPE);
        let is_problem =
            content_type.is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
        // The page answers its errors as pages, for a person to read.
        let is_page = page && content_type.is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        // The CSC service answers in the CSC API's own error format, which its clients read.
        let is_csc =
            csc && content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if !is_problem && !is_page && !is_csc {
            response = as_problem(response);
        }
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, csp),
    ] {
        // A handler's own, stricter policy (downloads) wins.
        insert_if_absent(headers, name, value);
    }
    Ok(response)
}

/// Where the CSC service (`crate::csc`) answers.
const CSC_PREFIX: &str = "/csc/";

fn is_docs(path: &str) -> bool {
    path == DOCS_PREFIX || path.starts_with("/api/docs/")
}

fn insert_if_absent(headers: &mut header::HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Replaces the body of an error answer by a problem document for its status, keeping the
/// headers that do not describe the old body (`Allow` on 405, `Retry-After`, the request id).
fn as_problem<B>(response: ServiceResponse<EitherBody<B>>) -> ServiceResponse<EitherBody<B>> {
    let status = response.status();
    let mut replacement = HttpResponse::build(status);
    for (name, value) in response.headers() {
        if *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH {
            replacement.append_header((name.clone(), value.clone()));
        }
    }
    let (request, _) = response.into_parts();
    let replacement = replacement
        .content_type(PROBLEM_JSON)
        .json(problem_for(status));
    ServiceResponse::new(request, replacement).map_into_right_body()
}

/// A problem document for a bare status: the code is the status's reason in snake case, so
/// a 404 here reads like the API's own 404.
fn problem_for(status: StatusCode) -> Problem {
    let reason = status.canonical_reason().unwrap_or("Error");
    let lower = reason.to_ascii_lowercase();
    let code = lower.replace([' ', '-'], "_");
    // "Not found", as the API's own titles are written.
    let title = format!("{}{}", &reason[..1], &lower[1..]);
    let detail = match status {
        StatusCode::NOT_FOUND => {
            "there is nothing at this path; the API is described at /api/openapi.json".to_owned()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "this path does not accept this method; the Allow header lists those it does".to_owned()
        }
        _ => format!("the request failed: {lower}"),
    };
    Problem {
        problem_type: format!("urn:vanthu:problem:{code}"),
        title,
        status: status.as_u16(),
        detail,
        code,
        field: None,
        attempts_left: None,
    }
}
