//! `/api/v1/reports/incoming-handling` and `/api/v1/reports/outgoing-handling`: the handling
//! reports of Decree 30/2020 Appendix VI part V. The incoming one lists what a unit received
//! in a period and where each document's handling stood at the end of it (the tracking
//! columns of Appendix IV: arrival number, document, receiver, deadline, progress, reply);
//! the outgoing one lists what it issued and where each recipient's copy stands. JSON or CSV.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::Unit;
use vanthu_reports::{days_late, incoming_handling, Day, IncomingHandling};
use vanthu_routing::{vietnam_today, OutgoingState};
use vanthu_store::{Database, HandlingLine, Medium, OutgoingDocument, ReportScope};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::outgoing::RecipientView;
use crate::registers::{csv_response, Names};
use crate::reports::{parse_params, query_map, Params, ReportUnit};
use crate::state::AppState;

/// Most documents one handling report lists: a province's year is several hundred thousand,
/// a district's tens of thousands.
pub const MAX_LINES: u32 = 50_000;

/// A line of the incoming handling report.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncomingHandlingLine {
    /// The incoming document's id.
    pub id: i64,
    /// The receiving unit.
    pub unit: String,
    /// Số đến, once registered.
    pub arrival_number: Option<u32>,
    /// The day it arrived (Vietnam calendar).
    pub received_on: NaiveDate,
    /// Tác giả: the issuing body.
    pub issuing_body: String,
    /// Số, ký hiệu.
    pub number_notation: String,
    /// Ngày tháng văn bản.
    pub document_date: NaiveDate,
    /// Tên loại.
    pub document_type: String,
    /// Trích yếu.
    pub summary: String,
    /// Độ khẩn: `normal`, `khan`, `thuong_khan`, `hoa_toc`, `hoa_toc_hen_gio`.
    pub urgency: String,
    /// `electronic`, or `paper` when recorded as received on paper.
    pub medium: String,
    /// Đơn vị, người chủ trì: the lead, once assigned.
    pub lead: Option<String>,
    /// Hạn xử lý: the lead's deadline, else the document's own due date.
    pub deadline: Option<NaiveDate>,
    /// Where its handling stood at the end of the report's last day.
    pub handling: IncomingHandling,
    /// The day its handling was completed, if by then.
    pub completed_on: Option<NaiveDate>,
    /// Days past the deadline: at completion, or by the report's last day when still open.
    pub days_late: Option<i64>,
    /// Số của văn bản trả lời: the outgoing reply the lead linked on completing.
    pub reply: Option<String>,
}

/// How many of the listed documents stand at one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandlingCount {
    /// The status.
    pub handling: IncomingHandling,
    /// Its Vietnamese name.
    pub label: &'static str,
    /// Documents at it.
    pub count: usize,
}

/// The incoming handling report (báo cáo tình hình xử lý văn bản đến).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncomingHandlingReport {
    /// The unit reported on.
    pub unit: ReportUnit,
    /// Whether the units below are included.
    pub subtree: bool,
    /// The first day of arrival listed.
    pub from: NaiveDate,
    /// The last day of arrival listed, included.
    pub to: NaiveDate,
    /// The day the statuses are read at: the last day, or today if that is later.
    pub as_of: NaiveDate,
    /// Documents listed.
    pub total: usize,
    /// How many stand at each status, every status listed.
    pub counts: Vec<HandlingCount>,
    /// The documents, in order of arrival.
    pub lines: Vec<IncomingHandlingLine>,
    /// Where the statuses are defined.
    #[schema(example = "docs/ratios.md")]
    pub definitions: &'static str,
}

/// A recipient of an issued document and where its copy stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandlingRecipient {
    /// The unit here or the agency elsewhere, by name.
    pub name: String,
    /// Its copy and status.
    #[serde(flatten)]
    pub status: RecipientView,
}

/// A line of the outgoing handling report.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingHandlingLine {
    /// The outgoing document's id.
    pub id: i64,
    /// The issuing unit.
    pub unit: String,
    /// Số, ký hiệu.
    pub number_notation: String,
    /// Ngày tháng văn bản.
    pub date: NaiveDate,
    /// Tên loại.
    pub document_type: String,
    /// Trích yếu.
    pub summary: String,
    /// Người ký: name and position.
    pub signer: String,
    /// `electronic` or `paper`.
    pub medium: String,
    /// Whether the signer signed it digitally here.
    pub digitally_signed: bool,
    /// `issued`, `released` or `recalled`.
    pub state: String,
    /// The day it was released to its recipients.
    pub released_on: Option<NaiveDate>,
    /// Its recipients, each with where its copy stands.
    pub recipients: Vec<HandlingRecipient>,
}

/// The outgoing handling report (báo cáo tình hình xử lý văn bản đi).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingHandlingReport {
    /// The unit reported on.
    pub unit: ReportUnit,
    /// Whether the units below are included.
    pub subtree: bool,
    /// The first day of issue listed.
    pub from: NaiveDate,
    /// The last day of issue listed, included.
    pub to: NaiveDate,
    /// Documents listed.
    pub total: usize,
    /// Of them, signed digitally.
    pub digitally_signed: usize,
    /// Of them, issued on paper.
    pub on_paper: usize,
    /// Of them, recalled.
    pub recalled: usize,
    /// Copies sent to recipients, by interchange status code (01 arrived ... 06 completed, 13,
    /// 15, 16 for recalls; `none` for an agency elsewhere that has reported nothing yet).
    pub recipients_by_status: HashMap<String, usize>,
    /// The documents, in order of issue.
    pub lines: Vec<OutgoingHandlingLine>,
}

/// The report's unit, authorised for the caller, and its parameters. Leaders and clerks
/// read their own unit's reports; the units below are for auditors and admins.
async fn scope_of(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    auth: &Authenticated,
) -> Result<(Unit, Params), ApiError> {
    let params = parse_params(&query_map(req.query_string())?, vietnam_today(Utc::now()))?;
    let unit = params.unit.unwrap_or(auth.actor.unit_id);
    let db = state.db.clone();
    let unit = web::block(move || db.get_unit(unit)).await??;
    auth.authorize(Action::ReadHandlingReport, &Target::unit(&unit), "unit")?;
    if params.subtree {
        auth.authorize(Action::ReadReports, &Target::unit(&unit), "unit")?;
    }
    Ok((unit, params))
}

fn too_many() -> ApiError {
    ApiError::InvalidQuery {
        field: "to".into(),
        detail: format!(
            "the period holds more than {MAX_LINES} documents; ask for a shorter period or a \
             smaller unit"
        ),
    }
}

fn incoming_line(
    db: &Database,
    names: &mut Names,
    replies: &mut HashMap<i64, Option<String>>,
    line: HandlingLine,
    as_of: NaiveDate,
) -> Result<IncomingHandlingLine, ApiError> {
    let HandlingLine { document: d, facts } = line;
    let handling = incoming_handling(&facts, d.assignment.is_some(), as_of);
    let reply = match d.reply {
        Some(id) => match replies.get(&id.get()) {
            Some(n) => n.clone(),
            None => {
                let n = db
                    .get_outgoing(id)?
                    .issue
                    .map(|i| i.number_notation.to_string());
                replies.insert(id.get(), n.clone());
                n
            }
        },
        None => None,
    };
    Ok(IncomingHandlingLine {
        id: d.id.get(),
        unit: names.unit(d.unit_id)?,
        arrival_number: d.arrival.as_ref().map(|a| a.number.get()),
        received_on: Day::at(d.received_at).date(),
        issuing_body: d.metadata.issuing_body.to_string(),
        number_notation: d.metadata.number_notation.to_string(),
        document_date: d.metadata.document_date,
        document_type: d.metadata.document_type.to_string(),
        summary: d.metadata.summary.to_string(),
        urgency: d.metadata.urgency.to_string(),
        medium: d.medium.as_str().to_owned(),
        lead: d
            .assignment
            .as_ref()
            .map(|a| names.assignee(a.lead))
            .transpose()?,
        deadline: facts.deadline,
        completed_on: facts
            .completed_at
            .map(|t| Day::at(t).date())
            .filter(|d| *d <= as_of),
        days_late: days_late(&facts, as_of),
        reply,
        handling,
    })
}

/// Builds the incoming handling report of `scope`, statuses read at `as_of`.
pub fn incoming_report(
    db: &Database,
    unit: &Unit,
    scope: &ReportScope,
    as_of: NaiveDate,
) -> Result<IncomingHandlingReport, ApiError> {
    let found = db.incoming_received_in(scope, MAX_LINES)?;
    if found.len() > MAX_LINES as usize {
        return Err(too_many());
    }
    let mut names = Names::new(db);
    let mut replies = HashMap::new();
    let lines = found
        .into_iter()
        .map(|l| incoming_line(db, &mut names, &mut replies, l, as_of))
        .collect::<Result<Vec<_>, _>>()?;
    let counts = IncomingHandling::ALL
        .iter()
        .map(|&h| HandlingCount {
            handling: h,
            label: h.label_vi(),
            count: lines.iter().filter(|l| l.handling == h).count(),
        })
        .collect();
    Ok(IncomingHandlingReport {
        unit: ReportUnit::from(unit),
        subtree: scope.subtree,
        from: scope.from,
        to: scope.to,
        as_of,
        total: lines.len(),
        counts,
        lines,
        definitions: "docs/ratios.md",
    })
}

fn outgoing_line(
    db: &Database,
    names: &mut Names,
    d: OutgoingDocument,
) -> Result<Option<OutgoingHandlingLine>, ApiError> {
    let Some(issue) = d.issue else {
        return Ok(None);
    };
    let mut recipients = Vec::new();
    for r in db.outgoing_recipients(d.id)? {
        let name = match (&r.unit_id, &r.external) {
            (Some(unit), _) => names.unit(*unit)?,
            (None, Some(e)) => e.name.to_string(),
            (None, None) => String::new(),
        };
        recipients.push(HandlingRecipient {
            name,
            status: RecipientView::from(r),
        });
    }
    let m = d.metadata;
    Ok(Some(OutgoingHandlingLine {
        id: d.id.get(),
        unit: names.unit(d.unit_id)?,
        number_notation: issue.number_notation.to_string(),
        date: issue.date,
        document_type: m.document_type.to_string(),
        summary: m.summary.to_string(),
        signer: format!(
            "{} ({}{})",
            names.user(m.signer.user)?,
            m.signer.authority.prefix(),
            m.signer.position
        ),
        medium: d.medium.as_str().to_owned(),
        digitally_signed: d.medium == Medium::Electronic && d.signature.is_some(),
        state: d.state.as_str().to_owned(),
        released_on: d.released_at.map(|t| Day::at(t).date()),
        recipients,
    }))
}

/// Builds the outgoing handling report of `scope`.
pub fn outgoing_report(
    db: &Database,
    unit: &Unit,
    scope: &ReportScope,
) -> Result<OutgoingHandlingReport, ApiError> {
    let found = db.outgoing_issued_in(scope, MAX_LINES)?;
    if found.len() > MAX_LINES as usize {
        return Err(too_many());
    }
    let mut names = Names::new(db);
    let mut lines = Vec::with_capacity(found.len());
    for d in found {
        lines.extend(outgoing_line(db, &mut names, d)?);
    }
    let mut recipients_by_status: HashMap<String, usize> = HashMap::new();
    for r in lines.iter().flat_map(|l| &l.recipients) {
        let code = r
            .status
            .status_code
            .clone()
            .unwrap_or_else(|| "none".into());
        *recipients_by_status.entry(code).or_default() += 1;
    }
    Ok(OutgoingHandlingReport {
        unit: ReportUnit::from(unit),
        subtree: scope.subtree,
        from: scope.from,
        to: scope.to,
        total: lines.len(),
        digitally_signed: lines.iter().filter(|l| l.digitally_signed).count(),
        on_paper: lines.iter().filter(|l| l.medium == "paper").count(),
        recalled: lines
            .iter()
            .filter(|l| l.state == OutgoingState::Recalled.as_str())
            .count(),
        recipients_by_status,
        lines,
    })
}

const INCOMING_COLUMNS: [&str; 16] = [
    "Đơn vị nhận",
    "Số đến",
    "Ngày đến",
    "Tác giả",
    "Số, ký hiệu",
    "Ngày tháng văn bản",
    "Tên loại",
    "Trích yếu nội dung",
    "Độ khẩn",
    "Hình thức",
    "Đơn vị, người chủ trì",
    "Hạn xử lý",
    "Tình hình xử lý",
    "Ngày hoàn thành",
    "Số ngày trễ hạn",
    "Số văn bản trả lời",
];

fn text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn incoming_rows(report: &IncomingHandlingReport) -> Vec<Vec<String>> {
    report
        .lines
        .iter()
        .map(|l| {
            vec![
                l.unit.clone(),
                text(l.arrival_number),
                l.received_on.to_string(),
                l.issuing_body.clone(),
                l.number_notation.clone(),
                l.document_date.to_string(),
                l.document_type.clone(),
                l.summary.clone(),
                l.urgency.clone(),
                l.medium.clone(),
                l.lead.clone().unwrap_or_default(),
                text(l.deadline),
                l.handling.label_vi().to_owned(),
                text(l.completed_on),
                text(l.days_late),
                l.reply.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

const OUTGOING_COLUMNS: [&str; 11] = [
    "Đơn vị ban hành",
    "Số, ký hiệu",
    "Ngày tháng văn bản",
    "Tên loại",
    "Trích yếu nội dung",
    "Người ký",
    "Hình thức",
    "Ký số",
    "Trạng thái",
    "Ngày chuyển",
    "Nơi nhận và tình hình xử lý",
];

fn outgoing_rows(report: &OutgoingHandlingReport) -> Vec<Vec<String>> {
    report
        .lines
        .iter()
        .map(|l| {
            let recipients: Vec<String> = l
                .recipients
                .iter()
                .map(|r| match &r.status.status_code {
                    Some(code) => format!("{} ({code})", r.name),
                    None => r.name.clone(),
                })
                .collect();
            vec![
                l.unit.clone(),
                l.number_notation.clone(),
                l.date.to_string(),
                l.document_type.clone(),
                l.summary.clone(),
                l.signer.clone(),
                l.medium.clone(),
                if l.digitally_signed { "có" } else { "không" }.to_owned(),
                l.state.clone(),
                text(l.released_on),
                recipients.join("; "),
            ]
        })
        .collect()
}

/// Báo cáo tình hình xử lý văn bản đến: the incoming documents a unit received in a period
/// (with `subtree`, also the units below: auditors and admins), each with its arrival number,
/// lead, deadline and where its handling stood at the end of the period (on time, late,
/// overdue, ...), with the count at each status. Leaders and clerks read their own unit's.
#[utoipa::path(
    get,
    path = "/api/v1/reports/incoming-handling",
    tag = "reports",
    params(crate::reports::RatioQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; CSV (UTF-8 with a byte-order mark) with format=csv", content((IncomingHandlingReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is not understood, the period runs backwards or exceeds ten years, or it holds more than 50,000 documents (`field` is `to`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's leaders and clerks, and auditors and admins, read its handling reports; the units below are for auditors and admins", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn incoming(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let csv = Csv {
        name: "xu-ly-van-ban-den",
        columns: &INCOMING_COLUMNS,
        rows: incoming_rows,
    };
    answer(&req, &state, &auth, incoming_report, csv).await
}

/// Báo cáo tình hình xử lý văn bản đi: the documents a unit issued in a period (with
/// `subtree`, also the units below: auditors and admins), each with its signer, whether it
/// was signed digitally, and where each recipient's copy stands (the interchange status
/// codes). Leaders and clerks read their own unit's.
#[utoipa::path(
    get,
    path = "/api/v1/reports/outgoing-handling",
    tag = "reports",
    params(crate::reports::RatioQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; CSV (UTF-8 with a byte-order mark) with format=csv", content((OutgoingHandlingReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is not understood, the period runs backwards or exceeds ten years, or it holds more than 50,000 documents (`field` is `to`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the unit's leaders and clerks, and auditors and admins, read its handling reports; the units below are for auditors and admins", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn outgoing(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let csv = Csv {
        name: "xu-ly-van-ban-di",
        columns: &OUTGOING_COLUMNS,
        rows: outgoing_rows,
    };
    let build = |db: &Database, unit: &Unit, scope: &ReportScope, _as_of: NaiveDate| {
        outgoing_report(db, unit, scope)
    };
    answer(&req, &state, &auth, build, csv).await
}

/// How a report is written as CSV.
struct Csv<R> {
    /// The file name's start; the unit's code and the period follow.
    name: &'static str,
    columns: &'static [&'static str],
    rows: fn(&R) -> Vec<Vec<String>>,
}

/// Answers the report `build` makes for the query's unit and period, as JSON or CSV; the
/// statuses are read at the period's last day, or today if that is earlier.
async fn answer<R, B>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    auth: &Authenticated,
    build: B,
    csv: Csv<R>,
) -> Result<HttpResponse, ApiError>
where
    R: Serialize + Send + 'static,
    B: FnOnce(&Database, &Unit, &ReportScope, NaiveDate) -> Result<R, ApiError> + Send + 'static,
{
    let (unit, params) = scope_of(req, state, auth).await?;
    let as_of = params.to.min(vietnam_today(Utc::now()));
    let scope = ReportScope {
        unit: unit.id,
        subtree: params.subtree,
        from: params.from,
        to: params.to,
    };
    let name = format!("{}-{}-{}-{}", csv.name, unit.code, params.from, params.to);
    let db = state.db.clone();
    let report = web::block(move || build(&db, &unit, &scope, as_of)).await??;
    if params.csv {
        return csv_response(&name, csv.columns, (csv.rows)(&report));
    }
    Ok(HttpResponse::Ok().json(report))
}
