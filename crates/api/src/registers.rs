//! `/api/v1/registers/{incoming|outgoing}`: a unit's register books for a year with the
//! columns of Decree 30/2020 Appendix IV, as JSON, CSV (UTF-8 with a byte-order mark, so
//! spreadsheet programs show Vietnamese as written) or a print-ready PDF (vanthu-print) to be
//! printed, signed and bound.

use std::collections::HashMap;
use std::io::{self, Write};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use vanthu_domain::access::{Action, Assignee, Target};
use vanthu_domain::{Unit, UnitId, UserId};
use vanthu_print::{BookHeading, BookKind, Column};
use vanthu_routing::{register_year, vietnam_today, Step, TraceAction};
use vanthu_store::{Database, IncomingDocument, OutgoingDocument};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;

/// Query of a register book.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    /// The unit whose book it is (default: your own); yours or, for auditors and admins, one of
    /// your subtree.
    #[param(minimum = 1)]
    pub unit: Option<i64>,
    /// The register year, Vietnam time (default: this year).
    #[param(minimum = 2000, maximum = 9999)]
    pub year: Option<i32>,
    /// `json` (default), `csv`, or `pdf` (A4 landscape, to print and bind).
    #[param(pattern = "^(json|csv|pdf)$")]
    pub format: Option<String>,
}

/// A line of the outgoing register (sổ đăng ký văn bản đi).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutgoingRegisterLine {
    /// Số, ký hiệu văn bản.
    pub number_notation: String,
    /// Ngày tháng văn bản.
    pub date: NaiveDate,
    /// Tên loại và trích yếu nội dung.
    pub document_type: String,
    /// The summary (trích yếu).
    pub summary: String,
    /// Người ký: name and position.
    pub signer: String,
    /// Nơi nhận văn bản.
    pub recipients: Vec<String>,
    /// Đơn vị, người nhận bản lưu: the drafter.
    pub file_copy: String,
    /// Số lượng bản: one per recipient.
    pub copies: usize,
    /// Ngày chuyển: the release date, once released.
    pub transfer_date: Option<NaiveDate>,
    /// Ký nhận: receipts confirmed by recipients here (registered or further).
    pub receipts: usize,
    /// Ghi chú: medium, confidentiality, recall.
    pub notes: String,
}

/// A line of the incoming register (sổ đăng ký văn bản đến).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncomingRegisterLine {
    /// Ngày đến.
    pub arrival_date: NaiveDate,
    /// Số đến.
    pub arrival_number: u32,
    /// Tác giả: the issuing body.
    pub issuing_body: String,
    /// Số, ký hiệu.
    pub number_notation: String,
    /// Ngày tháng văn bản.
    pub document_date: NaiveDate,
    /// Tên loại.
    pub document_type: String,
    /// Trích yếu nội dung.
    pub summary: String,
    /// Đơn vị hoặc người nhận: the lead, once assigned.
    pub receiver: Option<String>,
    /// Ngày chuyển: the day it was assigned.
    pub transfer_date: Option<NaiveDate>,
    /// Ghi chú: the state, and the deadline when there is one.
    pub notes: String,
}

const OUTGOING_COLUMNS: [&str; 10] = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

/// With the receipt signature (ký nhận) Appendix IV keeps for the paper book, left blank to be
/// signed on the printed book.
const INCOMING_COLUMNS: [&str; 10] = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu",
    "Ngày tháng",
    "Tên loại và trích yếu nội dung",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

/// Relative widths of the printed columns: the summary gets the most room.
const OUTGOING_WEIGHTS: [f32; 10] = [1.3, 1.0, 4.2, 1.8, 2.2, 1.5, 0.7, 1.0, 0.8, 1.3];
const INCOMING_WEIGHTS: [f32; 10] = [1.0, 0.7, 2.0, 1.3, 1.0, 4.2, 1.8, 1.0, 1.0, 1.4];

/// A book ready to answer with, built off the async runtime.
enum Book<L> {
    Json(Vec<L>),
    Csv(Vec<Vec<String>>),
    Pdf(PrintJob),
}

/// How the book is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Pdf,
}

/// Names of units and people, each looked up once.
pub(crate) struct Names<'a> {
    db: &'a Database,
    units: HashMap<UnitId, String>,
    users: HashMap<UserId, String>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Names {
            db,
            units: HashMap::new(),
            users: HashMap::new(),
        }
    }

    pub(crate) fn unit(&mut self, id: UnitId) -> Result<String, ApiError> {
        if let Some(name) = self.units.get(&id) {
            return Ok(name.clone());
        }
        let name = self.db.get_unit(id)?.name.to_string();
        self.units.insert(id, name.clone());
        Ok(name)
    }

    pub(crate) fn user(&mut self, id: UserId) -> Result<String, ApiError> {
        if let Some(name) = self.users.get(&id) {
            return Ok(name.clone());
        }
        let name = self.db.get_user(id)?.display_name.to_string();
        self.users.insert(id, name.clone());
        Ok(name)
    }

    pub(crate) fn assignee(&mut self, a: Assignee) -> Result<String, ApiError> {
        match a {
            Assignee::User(id) => self.user(id),
            Assignee::Unit(id) => self.unit(id),
        }
    }
}

fn day(at: DateTime<Utc>) -> NaiveDate {
    vietnam_today(at)
}

fn outgoing_line(
    db: &Database,
    names: &mut Names,
    d: OutgoingDocument,
) -> Result<Option<OutgoingRegisterLine>, ApiError> {
    let Some(issue) = d.issue else {
        return Ok(None);
    };
    let m = d.metadata;
    let mut recipients = Vec::new();
    for unit in &m.internal_recipients {
        recipients.push(names.unit(*unit)?);
    }
    recipients.extend(m.external_recipients.iter().map(|r| r.name.to_string()));
    let receipts = db
        .outgoing_recipients(d.id)?
        .iter()
        .filter(|r| {
            r.copy
                .is_some_and(|(_, s)| s != vanthu_routing::IncomingState::Received)
        })
        .count();
    let mut notes = vec![match d.medium {
        vanthu_store::Medium::Paper => "bản giấy".to_owned(),
        vanthu_store::Medium::Electronic => "điện tử".to_owned(),
    }];
    if m.confidentiality != vanthu_routing::Confidentiality::Normal {
        notes.push(format!("độ mật: {}", m.confidentiality.as_str()));
    }
    if d.state == vanthu_routing::OutgoingState::Recalled {
        notes.push("đã thu hồi".to_owned());
    }
    Ok(Some(OutgoingRegisterLine {
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
        copies: recipients.len(),
        recipients,
        file_copy: names.user(d.drafted_by)?,
        transfer_date: d.released_at.map(day),
        receipts,
        notes: notes.join("; "),
    }))
}

fn incoming_line(
    db: &Database,
    names: &mut Names,
    d: IncomingDocument,
) -> Result<Option<IncomingRegisterLine>, ApiError> {
    let Some(arrival) = d.arrival else {
        return Ok(None);
    };
    let transfer_date = db
        .incoming_trace(d.id)?
        .iter()
        .find(|e| e.action == TraceAction::Step(Step::Assign))
        .map(|e| day(e.at));
    let receiver = d
        .assignment
        .as_ref()
        .map(|a| names.assignee(a.lead))
        .transpose()?;
    let mut notes = vec![d.state.as_str().to_owned()];
    if let Some(a) = &d.assignment {
        notes.push(format!("hạn xử lý {}", a.deadline));
    }
    let m = d.metadata;
    Ok(Some(IncomingRegisterLine {
        arrival_date: day(arrival.registered_at),
        arrival_number: arrival.number.get(),
        issuing_body: m.issuing_body.to_string(),
        number_notation: m.number_notation.to_string(),
        document_date: m.document_date,
        document_type: m.document_type.to_string(),
        summary: m.summary.to_string(),
        receiver,
        transfer_date,
        notes: notes.join("; "),
    }))
}

/// The book's unit, year and format from the query, with the unit authorised for `action`.
async fn book_of(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    auth: &Authenticated,
    action: Action,
) -> Result<(Unit, i32, Format), ApiError> {
    let params = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })?
        .into_inner();
    let invalid = |field: &str, detail: String| ApiError::InvalidQuery {
        field: field.to_owned(),
        detail,
    };
    let unit = match params.get("unit") {
        Some(u) => u
            .parse::<UnitId>()
            .map_err(|_| invalid("unit", format!("'{u}' is not a unit id")))?,
        None => auth.actor.unit_id,
    };
    let year = match params.get("year") {
        Some(y) => y
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=9999).contains(y))
            .ok_or_else(|| invalid("year", format!("'{y}' is not a year from 2000 to 9999")))?,
        None => register_year(Utc::now()),
    };
    let format = match params.get("format").map(String::as_str) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("pdf") => Format::Pdf,
        Some(other) => {
            return Err(invalid(
                "format",
                format!("'{other}' is not a format; use json, csv or pdf"),
            ))
        }
    };
    let db = state.db.clone();
    let unit = web::block(move || db.get_unit(unit)).await??;
    auth.authorize(action, &Target::in_unit(unit.path.clone()), "unit")?;
    Ok((unit, year, format))
}

/// CSV text (UTF-8 with a byte-order mark, so spreadsheet programs show Vietnamese as
/// written) of a header row and rows.
pub fn csv_bytes(header_row: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, ApiError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer
            .write_record(header_row)
            .map_err(ApiError::internal)?;
        for row in rows {
            writer.write_record(row).map_err(ApiError::internal)?;
        }
        writer.flush().map_err(ApiError::internal)?;
    }
    Ok(out)
}

pub(crate) fn csv_response(
    name: &str,
    header_row: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    let out = csv_bytes(header_row, rows)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(out))
}

fn opt(d: Option<NaiveDate>, date: fn(NaiveDate) -> String) -> String {
    d.map(date).unwrap_or_default()
}

fn iso(d: NaiveDate) -> String {
    d.to_string()
}

/// Dates as a printed Vietnamese register writes them.
fn printed(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// What the CSV and the printed book need of a register line.
trait RegisterLine: Sized {
    /// The line's number and date, for the cover's "từ số … đến số …" and dates.
    fn number_and_date(&self) -> (String, NaiveDate);
    /// Its cells, dates written by `date`.
    fn cells(self, date: fn(NaiveDate) -> String) -> Vec<String>;
}

impl RegisterLine for OutgoingRegisterLine {
    fn number_and_date(&self) -> (String, NaiveDate) {
        (self.number_notation.clone(), self.date)
    }

    fn cells(self, date: fn(NaiveDate) -> String) -> Vec<String> {
        vec![
            self.number_notation,
            date(self.date),
            format!("{}: {}", self.document_type, self.summary),
            self.signer,
            self.recipients.join("; "),
            self.file_copy,
            self.copies.to_string(),
            opt(self.transfer_date, date),
            self.receipts.to_string(),
            self.notes,
        ]
    }
}

impl RegisterLine for IncomingRegisterLine {
    fn number_and_date(&self) -> (String, NaiveDate) {
        (self.arrival_number.to_string(), self.arrival_date)
    }

    /// The receipt-signature cell (ký nhận) is blank, to be signed on paper.
    fn cells(self, date: fn(NaiveDate) -> String) -> Vec<String> {
        vec![
            date(self.arrival_date),
            self.arrival_number.to_string(),
            self.issuing_body,
            self.number_notation,
            date(self.document_date),
            format!("{}: {}", self.document_type, self.summary),
            self.receiver.unwrap_or_default(),
            opt(self.transfer_date, date),
            String::new(),
            self.notes,
        ]
    }
}

/// The book in the asked format, ready to answer with.
fn book<L: RegisterLine>(
    state: &AppState,
    unit: &Unit,
    kind: BookKind,
    year: i32,
    format: Format,
    lines: Vec<L>,
    columns: Vec<Column>,
) -> Result<Book<L>, ApiError> {
    match format {
        Format::Json => Ok(Book::Json(lines)),
        Format::Csv => Ok(Book::Csv(lines.into_iter().map(|l| l.cells(iso)).collect())),
        Format::Pdf => {
            let span = lines.first().zip(lines.last()).map(|(a, b)| {
                let ((first, from), (last, to)) = (a.number_and_date(), b.number_and_date());
                ((first, last), (printed(from), printed(to)))
            });
            let rows = lines.into_iter().map(|l| l.cells(printed)).collect();
            print_job(state, unit, kind, year, span, columns, rows).map(Book::Pdf)
        }
    }
}

/// A book to print: everything the PDF needs, gathered off the async runtime.
struct PrintJob {
    heading: BookHeading,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

/// The print-ready book: its cover says the unit, its governing body, the year, and the
/// numbers and dates of the first and last lines.
fn print_job(
    state: &AppState,
    unit: &Unit,
    kind: BookKind,
    year: i32,
    span: Option<((String, String), (String, String))>,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
) -> Result<PrintJob, ApiError> {
    let parent_unit = unit
        .parent_id
        .map(|p| state.db.get_unit(p).map(|u| u.name.to_string()))
        .transpose()?;
    let (numbers, dates) = span.unzip();
    let heading = BookHeading {
        kind,
        parent_unit,
        unit: unit.name.to_string(),
        year,
        numbers,
        dates,
        printed_on: printed(vietnam_today(Utc::now())),
    };
    Ok(PrintJob {
        heading,
        columns,
        rows,
    })
}

/// Bytes of the PDF gathered into chunks of this size before they go to the response.
const PDF_CHUNK: usize = 64 * 1024;

/// The PDF's way out: chunks sent to the response stream as the pages are written, so the
/// book is never held whole.
struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(PDF_CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PDF_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Streams the printed book: a blocking thread writes its pages into the response as they
/// fill. A failure half-way ends the stream with an error, so the client sees a broken
/// download rather than a short PDF.
fn stream_pdf(job: PrintJob, name: &str) -> HttpResponse {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    actix_web::rt::task::spawn_blocking(move || {
        let out = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(PDF_CHUNK),
        };
        if let Err(e) = vanthu_print::write_register(&job.heading, &job.columns, job.rows, out) {
            tracing::error!(error = %e, "printing a register book failed");
            let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.pdf\""),
        ))
        .streaming(body)
}

/// The printed table's columns: titles with their share of the width.
fn print_columns(titles: &[&'static str], weights: &[f32]) -> Vec<Column> {
    titles
        .iter()
        .zip(weights)
        .map(|(title, weight)| Column {
            title,
            weight: *weight,
        })
        .collect()
}

/// The book as a PDF download, or as JSON lines or CSV.
fn answer<L: Serialize>(
    book: Book<L>,
    name: &str,
    columns: &[&str],
) -> Result<HttpResponse, ApiError> {
    match book {
        Book::Json(lines) => Ok(HttpResponse::Ok().json(lines)),
        Book::Csv(rows) => csv_response(name, columns, rows),
        Book::Pdf(job) => Ok(stream_pdf(job, name)),
    }
}

/// Sổ đăng ký văn bản đi: a unit's numbered documents of a year (electronic and paper), in
/// register order, with the Appendix IV columns.
#[utoipa::path(
    get,
    path = "/api/v1/registers/outgoing",
    tag = "outgoing",
    params(RegisterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The book: JSON lines, CSV with format=csv, or the print-ready PDF with format=pdf", content((Vec<OutgoingRegisterLine> = "application/json"), (String = "text/csv"), (crate::files::FileBytes = "application/pdf"))),
        (status = 400, description = "A query parameter is not understood", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn outgoing(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (unit, year, format) = book_of(&req, &state, &auth, Action::ReadOutgoing).await?;
    let name = format!("so-van-ban-di-{}-{year}", unit.code);
    let book = web::block(move || -> Result<Book<OutgoingRegisterLine>, ApiError> {
        let mut names = Names::new(&state.db);
        let mut lines = Vec::new();
        for d in state.db.outgoing_register(unit.id, year)? {
            lines.extend(outgoing_line(&state.db, &mut names, d)?);
        }
        book(
            &state,
            &unit,
            BookKind::Outgoing,
            year,
            format,
            lines,
            print_columns(&OUTGOING_COLUMNS, &OUTGOING_WEIGHTS),
        )
    })
    .await??;
    answer(book, &name, &OUTGOING_COLUMNS)
}

/// Sổ đăng ký văn bản đến: a unit's registered documents of a year by arrival number, with the
/// Appendix IV columns.
#[utoipa::path(
    get,
    path = "/api/v1/registers/incoming",
    tag = "incoming",
    params(RegisterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The book: JSON lines, CSV with format=csv, or the print-ready PDF with format=pdf", content((Vec<IncomingRegisterLine> = "application/json"), (String = "text/csv"), (crate::files::FileBytes = "application/pdf"))),
        (status = 400, description = "A query parameter is not understood", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside what you see", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn incoming(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (unit, year, format) = book_of(&req, &state, &auth, Action::ReadIncoming).await?;
    let name = format!("so-van-ban-den-{}-{year}", unit.code);
    let book = web::block(move || -> Result<Book<IncomingRegisterLine>, ApiError> {
        let mut names = Names::new(&state.db);
        let mut lines = Vec::new();
        for d in state.db.incoming_register(unit.id, year)? {
            lines.extend(incoming_line(&state.db, &mut names, d)?);
        }
        book(
            &state,
            &unit,
            BookKind::Incoming,
            year,
            format,
            lines,
            print_columns(&INCOMING_COLUMNS, &INCOMING_WEIGHTS),
        )
    })
    .await??;
    answer(book, &name, &INCOMING_COLUMNS)
}
