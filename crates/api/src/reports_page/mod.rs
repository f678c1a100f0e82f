//! `/reports`: the auditors' HTML page of the ratio reports, with bar charts drawn on the
//! server and the audit log's latest checkpoint. It needs no script and loads nothing from
//! another host (see `crate::security` for its Content-Security-Policy).
//!
//! The page signs in through the API's own sign-in (`crate::auth::sign_in`: throttle,
//! bounded hashing, audit entries) and keeps the session token in an HttpOnly,
//! SameSite=Strict cookie whose path is `/reports`, so no API route ever sees it; the API
//! reads bearer headers only. Cross-site requests are refused: the cookie is never sent
//! with them, and each POST must come from this origin by its `Sec-Fetch-Site` and `Origin`
//! headers.

mod chart;
mod view;

use std::collections::HashMap;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::Markup;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::UnitId;

use crate::auth::{self, Authenticated, LoginRequest};
use crate::error::ApiError;
use crate::reports::{load_report, query_map, RatioReport};
use crate::state::AppState;

pub use view::STYLE;
use view::{Choices, Message, Viewer};

/// Where the page is.
pub const PATH: &str = "/reports";
/// Where its sign-in form posts.
pub const LOGIN_PATH: &str = "/reports/login";
/// Where its sign-out button posts.
pub const LOGOUT_PATH: &str = "/reports/logout";
/// The cookie holding the page's session token.
pub const COOKIE: &str = "vanthu_reports";

/// The page's query parameters: the report's, without its `format`.
const PARAMETERS: [&str; 4] = ["unit", "subtree", "from", "to"];

/// Whether `path` is one of the page's.
pub fn is_page(path: &str) -> bool {
    path == PATH || path.starts_with("/reports/")
}

fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The page holds figures and a session's choices: no cache keeps it.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// What the page says about an error, in Vietnamese and in English.
fn message(e: &ApiError) -> Message {
    let (vi, en) = match e {
        ApiError::InvalidQuery { field, detail } => {
            let name = match field.as_str() {
                "unit" => "Đơn vị (unit)",
                "from" => "Từ ngày (from)",
                "to" => "Đến ngày (to)",
                "subtree" => "Kể cả đơn vị cấp dưới (subtree)",
                _ => "Tham số (query)",
            };
            (
                format!("{name} không hợp lệ; hãy chọn lại rồi bấm «Xem báo cáo»."),
                format!("{field}: {detail}"),
            )
        }
        ApiError::NotFound { .. } => (
            "Không có đơn vị này trong phạm vi của bạn; hãy chọn một đơn vị trong danh sách."
                .to_owned(),
            e.to_string(),
        ),
        ApiError::Forbidden => (
            "Chỉ thanh tra viên và quản trị viên xem được báo cáo tỷ lệ.".to_owned(),
            "only auditors and administrators read the ratio reports".to_owned(),
        ),
        ApiError::InvalidCredentials => {
            ("Sai tên đăng nhập hoặc mật khẩu.".to_owned(), e.to_string())
        }
        ApiError::TooManyAttempts { retry_after } => (
            format!("Đăng nhập sai quá nhiều lần; hãy thử lại sau {retry_after} giây."),
            e.to_string(),
        ),
        ApiError::Busy { retry_after } => (
            format!("Máy chủ đang bận; hãy thử lại sau {retry_after} giây."),
            e.to_string(),
        ),
        ApiError::TokenExpired => (
            "Phiên đăng nhập đã hết hạn; hãy đăng nhập lại.".to_owned(),
            e.to_string(),
        ),
        ApiError::InvalidForm(_) => (
            "Hãy nhập tên đăng nhập và mật khẩu.".to_owned(),
            e.to_string(),
        ),
        _ => ("Đã xảy ra lỗi; hãy thử lại sau.".to_owned(), e.to_string()),
    };
    Message { vi, en }
}

/// An error as a page: the sign-in form for sign-in failures, with the status and the
/// `Retry-After` the API would give.
fn sign_in_error(e: &ApiError) -> HttpResponse {
    let mut response = html(e.status_code(), view::sign_in(Some(&message(e))));
    if let ApiError::TooManyAttempts { retry_after } | ApiError::Busy { retry_after } = e {
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The session the page's cookie names: `None` without a cookie, else the session's
/// answer (an expired or revoked one is an error).
async fn page_session(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Option<Result<Authenticated, ApiError>> {
    let cookie = req.cookie(COOKIE)?;
    Some(auth::session(state, cookie.value()).await)
}

/// Whether a POST comes from this origin. Browsers send `Sec-Fetch-Site`, which no page can
/// forge, and it decides; older browsers send `Origin` with every form post, which must name
/// this host (under the page's `Referrer-Policy: no-referrer` browsers may send `null`, so
/// `Origin` is the fallback only). A client that sends neither is no browser acting for
/// someone else.
fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        None => true,
        Some(Ok(origin)) => {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority.is_some_and(|a| a.eq_ignore_ascii_case(req.connection_info().host()))
        }
        Some(Err(_)) => false,
    }
}

fn cross_site() -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        view::sign_in(Some(&Message {
            vi: "Yêu cầu gửi từ một trang khác bị từ chối; hãy dùng biểu mẫu trên trang này."
                .to_owned(),
            en: "a request sent from another site was refused; use the form on this page"
                .to_owned(),
        })),
    )
}

fn see_page() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, PATH))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// The page's cookie holding `token` for `max_age` (removed with a zero age); Secure when the
/// request came over TLS, as a proxy in front says with `X-Forwarded-Proto` or `Forwarded`.
fn session_cookie<'a>(req: &HttpRequest, token: &'a str, max_age: time::Duration) -> Cookie<'a> {
    Cookie::build(COOKIE, token)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(max_age)
        .finish()
}

/// `GET /reports`: the sign-in form without a session, else the report the query asks for.
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let auth = match page_session(&req, &state).await {
        None => return html(StatusCode::OK, view::sign_in(None)),
        Some(Ok(auth)) => auth,
        Some(Err(e @ (ApiError::Unauthorized | ApiError::TokenExpired))) => {
            let message = (matches!(e, ApiError::TokenExpired)).then(|| message(&e));
            return html(StatusCode::OK, view::sign_in(message.as_ref()));
        }
        Some(Err(e)) => return sign_in_error(&e),
    };
    let query = match query_map(req.query_string()) {
        Ok(query) => query,
        Err(e) => return report_page(&state, &auth, HashMap::new(), Err(e)).await,
    };
    // Empty fields of the form mean "the default", as the API's missing parameters do.
    let params: HashMap<String, String> = query
        .into_iter()
        .filter(|(k, v)| PARAMETERS.contains(&k.as_str()) && !v.trim().is_empty())
        .collect();
    let report = load_report(&state, &auth, &params).await.map(|(r, _)| r);
    report_page(&state, &auth, params, report).await
}

async fn report_page(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    params: HashMap<String, String>,
    report: Result<RatioReport, ApiError>,
) -> HttpResponse {
    let scope = auth.actor.visible_scope();
    let db = state.db.clone();
    let loaded = web::block(move || -> Result<_, ApiError> {
        Ok((db.units_in(&scope)?, db.latest_checkpoint()?))
    })
    .await
    .map_err(ApiError::from)
    .and_then(|r| r);
    let (units, latest) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return html(e.status_code(), view::sign_in(Some(&message(&e)))),
    };
    let units = units
        .into_iter()
        .filter(|u| auth.check(Action::ReadReports, &Target::unit(u)).is_ok())
        .collect();
    let viewer = Viewer {
        user: &auth.user,
        unit: &auth.unit,
    };
    let (status, report, message) = match &report {
        Ok(r) => (StatusCode::OK, Some(r), None),
        Err(e) => (e.status_code(), None, Some(message(e))),
    };
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let choices = Choices {
        units,
        unit: report.map(|r| r.unit.id).or_else(|| {
            params
                .get("unit")
                .and_then(|u| u.parse::<UnitId>().ok())
                .map(UnitId::get)
                .or(Some(auth.unit.id.get()))
        }),
        subtree: report.map_or(param("subtree") == "true", |r| r.subtree),
        from: report.map_or_else(|| param("from"), |r| r.from.to_string()),
        to: report.map_or_else(|| param("to"), |r| r.to.to_string()),
    };
    html(
        status,
        view::report(&viewer, &choices, report, latest.as_ref(), message.as_ref()),
    )
}

/// `POST /reports/login`: signs in with the form's username and password, keeps the token in
/// the page's cookie and goes back to the page (303).
pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    if !same_origin(&req) {
        return cross_site();
    }
    let credentials: LoginRequest = match serde_urlencoded::from_bytes(&body) {
        Ok(credentials) => credentials,
        Err(e) => {
            return sign_in_error(&ApiError::InvalidForm(format!(
                "the sign-in form must have the fields username and password ({e})"
            )))
        }
    };
    let session = match auth::sign_in(&req, &state, credentials).await {
        Ok(session) => session,
        Err(e) => return sign_in_error(&e),
    };
    let max_age = time::Duration::seconds(
        (session.expires_at - chrono::Utc::now())
            .num_seconds()
            .max(0),
    );
    see_page()
        .cookie(session_cookie(&req, &session.token, max_age))
        .finish()
}

/// `POST /reports/logout`: ends the page's session, removes its cookie and goes back to the
/// sign-in form (303).
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !same_origin(&req) {
        return cross_site();
    }
    if let Some(Ok(auth)) = page_session(&req, &state).await {
        if let Err(e) = auth::sign_out(&state, auth).await {
            return sign_in_error(&e);
        }
    }
    see_page()
        .cookie(session_cookie(&req, "", time::Duration::ZERO))
        .finish()
}
