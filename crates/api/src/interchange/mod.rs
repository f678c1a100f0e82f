//! The interchange between agencies: the agencies this installation exchanges packages
//! with (configuration), the HTTPS inbox other vanthu installations deliver to, the outbox
//! the clerks watch, and the transports the server's delivery worker sends through.

mod package;
mod receive;
pub mod transport;

use std::path::PathBuf;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vanthu_domain::access::{Action, Target};
use vanthu_domain::UnitCode;
use vanthu_store::{OutboxEntry, OutboxKind, OutboxList};

pub use package::{
    document_package, seal, sealed_notices, sealed_packages, status_package, Notice,
};
pub use receive::{Receipt, ReceiveError, Receiver};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::page::{Page, PageParams, Pagination};
use crate::state::AppState;

/// An agency elsewhere this installation exchanges packages with (`[[agency]]` in the
/// agencies file given to `vanthu serve --agencies`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "AgencyEntry")]
pub struct Agency {
    /// Its name, for the clerks.
    pub name: String,
    /// Its electronic agency code (`000.00.xx.Hnn`): packages to it are addressed so, and
    /// packages it sends name it as From.
    pub code: UnitCode,
    /// Where its packages go.
    pub endpoint: Endpoint,
    /// The bearer secret of the pair: sent with each package delivered to it over HTTPS,
    /// and expected from it at this installation's inbox.
    pub secret: Option<String>,
    /// The SHA-256 fingerprint of its seal's certificate (hex, colons allowed): when given,
    /// a package naming it as From must be signed with that certificate, not merely with
    /// one the trust anchors accept.
    pub seal_sha256: Option<String>,
}

impl Agency {
    /// Whether `signer` is the seal this agency signs with, as far as the configuration
    /// says (an agency without a fingerprint accepts any trusted signer).
    pub fn signs_with(&self, signer: &openssl::x509::X509Ref) -> bool {
        let Some(pinned) = &self.seal_sha256 else {
            return true;
        };
        let pinned: String = pinned.chars().filter(|c| *c != ':').collect();
        signer
            .digest(openssl::hash::MessageDigest::sha256())
            .is_ok_and(|d| hex::encode(d).eq_ignore_ascii_case(&pinned))
    }
}

/// An `[[agency]]` table as written: `url` or `folder`, one of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyEntry {
    name: String,
    code: UnitCode,
    url: Option<String>,
    folder: Option<PathBuf>,
    secret: Option<String>,
    seal_sha256: Option<String>,
}

impl TryFrom<AgencyEntry> for Agency {
    type Error = String;

    fn try_from(e: AgencyEntry) -> Result<Agency, String> {
        let endpoint = match (e.url, e.folder) {
            (Some(url), None) => Endpoint::Url(url),
            (None, Some(folder)) => Endpoint::Folder(folder),
            _ => {
                return Err(format!(
                    "agency {} needs either a url (another vanthu) or a folder (the folder pair)",
                    e.code
                ))
            }
        };
        Ok(Agency {
            name: e.name,
            code: e.code,
            endpoint,
            secret: e.secret,
            seal_sha256: e.seal_sha256,
        })
    }
}

/// How packages reach an agency.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Another vanthu installation: packages are POSTed to `<url>/api/v1/interchange/inbox`.
    Url(String),
    /// A folder the provincial axis connector (LGSP) beside vanthu sends from.
    Folder(PathBuf),
}

/// The agencies, and how long a sent document may wait for its first status.
#[derive(Debug, Clone, Default)]
pub struct Agencies {
    agencies: Vec<Agency>,
}

impl Agencies {
    /// The agencies of the configuration; a code given twice is an error.
    pub fn new(agencies: Vec<Agency>) -> Result<Agencies, String> {
        for (i, a) in agencies.iter().enumerate() {
            if agencies[..i].iter().any(|b| b.code == a.code) {
                return Err(format!("agency {} is configured twice", a.code));
            }
            if let Some(pin) = &a.seal_sha256 {
                let digits = pin.chars().filter(|c| *c != ':').collect::<String>();
                if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "the seal_sha256 of agency {} is not 64 hexadecimal digits",
                        a.code
                    ));
                }
            }
            if let Some(s) = &a.secret {
                if s.len() < 16 {
                    return Err(format!(
                        "the secret of agency {} is shorter than 16 characters",
                        a.code
                    ));
                }
            }
        }
        Ok(Agencies { agencies })
    }

    /// Every agency of the configuration.
    pub fn all(&self) -> &[Agency] {
        &self.agencies
    }

    /// The agency with this code.
    pub fn get(&self, code: &UnitCode) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code == *code)
    }

    /// The agencies whose secret is `presented`, compared in constant time (through their
    /// SHA-256, so neither the length nor the content leaks by timing).
    pub fn authenticated_by(&self, presented: &str) -> Vec<Agency> {
        use sha2::{Digest, Sha256};
        let given = Sha256::digest(presented.as_bytes());
        self.agencies
            .iter()
            .filter(|a| {
                a.secret
                    .as_ref()
                    .is_some_and(|s| openssl::memcmp::eq(&Sha256::digest(s.as_bytes()), &given))
            })
            .cloned()
            .collect()
    }
}

/// What the interchange needs at run time.
#[derive(Debug, Clone, Default)]
pub struct InterchangeSettings {
    /// The agencies.
    pub agencies: Agencies,
    /// Package limits for the inbox.
    pub limits: vanthu_interchange::Limits,
}

/// What the inbox did with a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxReceipt {
    /// One line per thing done or tolerated, the last saying what became of the package:
    /// `imported: incoming document N ...`, `already imported: ...` (delivered before),
    /// `recorded: status ...`, `already known: ...`, `recalled: ...`.
    pub lines: Vec<String>,
}

/// Receives a package (document or status) from an agency elsewhere, exactly as `vanthu
/// edxml import` does: the package must be validly sealed and come from the agency whose
/// secret is presented; a package delivered again is the same document or status.
#[utoipa::path(
    post,
    path = "/api/v1/interchange/inbox",
    tag = "interchange",
    request_body(content = String, content_type = "application/xml", description = "An edXML package (QCVN 102:2016)"),
    security(("agency" = [])),
    responses(
        (status = 200, description = "Received, or known already", body = InboxReceipt),
        (status = 401, description = "No secret, or one no configured agency has", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/xml or text/xml", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The package is refused (unreadable, unsigned, changed, untrusted, from another agency than the secret's, not for a unit here); nothing was written", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn inbox(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(ApiError::AgencyUnauthorized)?;
    let agencies = state
        .interchange
        .agencies
        .authenticated_by(presented.trim());
    if agencies.is_empty() {
        return Err(ApiError::AgencyUnauthorized);
    }
    let media = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media != "application/xml" && media != "text/xml" {
        return Err(ApiError::UnsupportedMediaType(
            "send the package as application/xml".into(),
        ));
    }
    let limit = state.interchange.limits.max_package_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::IncompleteBody(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge {
                limit: u64::try_from(limit).unwrap_or(u64::MAX),
            });
        }
        body.extend_from_slice(&chunk);
    }
    let lines = web::block(move || {
        let receipt = Receipt {
            db: &state.db,
            blobs: state.blobs.as_ref(),
            limits: state.interchange.limits,
            anchors: state.verification.anchors.clone(),
            agencies: &state.interchange.agencies,
        };
        receipt.receive(&body, Receiver::Agency(&agencies))
    })
    .await?
    .map_err(|e| match e {
        ReceiveError::Refused(why) | ReceiveError::Setup(why) => ApiError::PackageRefused(why),
        ReceiveError::Store(e) => e.into(),
        ReceiveError::Other(e) => ApiError::internal(e),
    })?;
    tracing::info!(
        outcome = lines.last().map(String::as_str).unwrap_or_default(),
        "interchange package received"
    );
    Ok(HttpResponse::Ok().json(InboxReceipt { lines }))
}

/// Query of the outbox list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxParams {
    /// Which packages: `not_sent` (queued or failed), `failed` (send failed, retried),
    /// `returned` (refused by the recipient or rejected, 02), `slow` (documents sent more
    /// than a day ago without a status back), or a state (`queued`, `sent`,
    /// `acknowledged`); default `not_sent`.
    #[param(value_type = Option<String>, pattern = "^(not_sent|queued|sent|acknowledged|failed|returned|slow)$")]
    pub state: Option<String>,
}

/// How long a sent document may wait for its recipient's first status before it is listed
/// as slow to acknowledge.
pub const SLOW_TO_ACKNOWLEDGE: Duration = Duration::days(1);

fn parse_list(query: &str) -> Result<OutboxList, ApiError> {
    let params = web::Query::<std::collections::HashMap<String, String>>::from_query(query)
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })?
        .into_inner();
    Ok(match params.get("state").map(String::as_str) {
        None | Some("not_sent") => OutboxList::NotSent,
        Some("slow") => OutboxList::SlowToAcknowledge(Utc::now() - SLOW_TO_ACKNOWLEDGE),
        Some(other) => OutboxList::State(other.parse().map_err(|_| ApiError::InvalidQuery {
            field: "state".into(),
            detail: format!(
                "'{other}' is not a list; use not_sent, queued, sent, acknowledged, failed, \
                 returned or slow"
            ),
        })?),
    })
}

/// A package of the outbox, as the clerk sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxView {
    /// Id; also the delivery order.
    pub id: i64,
    /// The sending unit.
    pub unit_id: i64,
    /// The agency it goes to.
    pub agency_code: String,
    /// The agency's name, when configured.
    pub agency_name: Option<String>,
    /// The DocumentId it carries or reports on.
    pub document_id: String,
    /// `document` or `status`.
    pub kind: String,
    /// The StatusCode of a status package (01-16).
    pub status_code: Option<String>,
    /// What a document package does (BussinessDocType): `new` (a release), `revoke`,
    /// `update` or `replace`.
    #[schema(pattern = "^(new|revoke|update|replace)$")]
    pub business: Option<String>,
    /// The outgoing document it carries or recalls.
    pub outgoing_id: Option<i64>,
    /// The incoming document whose status it reports.
    pub incoming_id: Option<i64>,
    /// `queued`, `sent`, `acknowledged`, `failed` or `returned`.
    pub state: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not tried again before this (queued or failed).
    pub next_attempt_at: chrono::DateTime<Utc>,
    /// Why the last attempt failed, or why the recipient returned it.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: chrono::DateTime<Utc>,
    /// When the transport took it.
    pub sent_at: Option<chrono::DateTime<Utc>>,
    /// When the recipient's first status came back.
    pub acknowledged_at: Option<chrono::DateTime<Utc>>,
}

impl OutboxView {
    fn new(e: OutboxEntry, agencies: &Agencies) -> OutboxView {
        OutboxView {
            id: e.id,
            unit_id: e.unit_id.get(),
            agency_name: agencies.get(&e.agency).map(|a| a.name.clone()),
            agency_code: e.agency.as_str().to_owned(),
            document_id: e.document_id,
            kind: match e.kind {
                OutboxKind::Document => "document",
                OutboxKind::Status(_) => "status",
            }
            .to_owned(),
            status_code: match e.kind {
                OutboxKind::Document => None,
                OutboxKind::Status(s) => Some(s.code().to_owned()),
            },
            business: match e.kind {
                OutboxKind::Document => Some(e.business.as_str().to_owned()),
                OutboxKind::Status(_) => None,
            },
            outgoing_id: e.outgoing_id.map(|i| i.get()),
            incoming_id: e.incoming_id.map(|i| i.get()),
            state: e.state.as_str().to_owned(),
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error,
            created_at: e.created_at,
            sent_at: e.sent_at,
            acknowledged_at: e.acknowledged_at,
        }
    }
}

/// The interchange outbox of the caller's unit (the whole subtree for admins and
/// auditors), newest first: what is not sent yet, what failed, what was returned, what is
/// slow to acknowledge.
#[utoipa::path(
    get,
    path = "/api/v1/interchange/outbox",
    tag = "interchange",
    params(OutboxParams, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<OutboxView>),
        (status = 400, description = "Bad list or paging parameters", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only clerks, administrators and auditors watch the outbox", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn outbox(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    page: Pagination,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::WatchInterchange,
        &Target::in_unit(auth.unit.path.clone()),
        "unit",
    )?;
    let list = parse_list(req.query_string())?;
    let scope = auth.actor.visible_scope();
    let db = state.clone();
    let paged = web::block(move || db.db.list_outbox(&scope, list, page.0)).await??;
    let agencies = &state.interchange.agencies;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, |e| OutboxView::new(e, agencies))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vanthu_store::OutboxState;

    /// The states a clerk may ask for by name.
    const LISTS: [&str; 7] = [
        "not_sent",
        "queued",
        "sent",
        "acknowledged",
        "failed",
        "returned",
        "slow",
    ];

    #[test]
    fn every_list_is_understood_and_others_refused() {
        for list in LISTS {
            assert!(parse_list(&format!("state={list}")).is_ok(), "{list}");
        }
        assert!(matches!(
            parse_list("state=lost"),
            Err(ApiError::InvalidQuery { .. })
        ));
        assert_eq!(parse_list("").unwrap(), OutboxList::NotSent);
        assert_eq!(
            parse_list("state=returned").unwrap(),
            OutboxList::State(OutboxState::Returned)
        );
    }
}
