//! `/api/v1/reports/ratios`: the auditors' ratio report of a unit, or of a unit and the
//! units below it, for a period, as JSON or CSV. The definitions are in docs/ratios.md; each
//! percentage is given with its numerator and denominator.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{Unit, UnitId, UnitLevel};
use vanthu_reports::{Counts, Ratio, Ratios};
use vanthu_routing::vietnam_today;
use vanthu_store::{ReportScope, UnitCounts};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::registers::{csv_bytes, csv_response};
use crate::state::AppState;

/// Longest period a report covers, in days (ten years).
const MAX_PERIOD_DAYS: i64 = 3_660;

/// Query of a ratio report.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatioQuery {
    /// The unit reported on (default: your own); yours or one below it.
    #[param(minimum = 1)]
    pub unit: Option<i64>,
    /// The first day, Vietnam calendar (default: 1 January of this year).
    pub from: Option<NaiveDate>,
    /// The last day, included (default: today). At most ten years after `from`.
    pub to: Option<NaiveDate>,
    /// `true` to include every unit below, each with its own figures, and roll them up
    /// (default `false`).
    pub subtree: Option<bool>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// A unit as the report names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportUnit {
    /// Unit id.
    pub id: i64,
    /// Electronic agency code.
    #[schema(example = "000.00.31.H56")]
    pub code: String,
    /// Official name.
    #[schema(example = "UBND huyện Yên Lạc")]
    pub name: String,
    /// `province`, `district`, `department` or `commune`.
    #[schema(example = "district")]
    pub level: String,
    /// The unit above, if any.
    pub parent_id: Option<i64>,
}

impl From<&Unit> for ReportUnit {
    fn from(u: &Unit) -> Self {
        ReportUnit {
            id: u.id.get(),
            code: u.code.to_string(),
            name: u.name.to_string(),
            level: u.level.as_str().to_owned(),
            parent_id: u.parent_id.map(|p| p.get()),
        }
    }
}

/// One unit's line of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRatios {
    /// The unit.
    pub unit: ReportUnit,
    /// What its own documents give.
    pub own: Ratios,
    /// What its documents and those of every unit below it give together.
    pub subtree: Ratios,
}

/// The units of one administrative level in the report, rolled up ("17 communes").
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelRatios {
    /// `province`, `district`, `department` or `commune`.
    #[schema(example = "commune")]
    pub level: String,
    /// How many units of that level the report covers.
    pub units: usize,
    /// Their own documents together.
    pub ratios: Ratios,
}

/// The ratio report.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatioReport {
    /// The unit reported on.
    pub unit: ReportUnit,
    /// The first day.
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
    /// Whether the units below are included.
    pub subtree: bool,
    /// Everything the report covers, rolled up.
    pub total: Ratios,
    /// The covered units grouped by level, in tree order of levels.
    pub levels: Vec<LevelRatios>,
    /// Each covered unit, parents before children.
    pub units: Vec<UnitRatios>,
    /// Where the definitions are: which events count, and the denominators.
    #[schema(example = "docs/ratios.md")]
    pub definitions: &'static str,
}

/// The report's parameters from the query string.
pub(crate) struct Params {
    pub unit: Option<UnitId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub subtree: bool,
    pub csv: bool,
}

fn invalid(field: &str, detail: String) -> ApiError {
    ApiError::InvalidQuery {
        field: field.to_owned(),
        detail,
    }
}

/// The parameters of a query string, by name.
pub(crate) fn query_map(query: &str) -> Result<HashMap<String, String>, ApiError> {
    web::Query::<HashMap<String, String>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|e| invalid("query", e.to_string()))
}

pub(crate) fn parse_params(
    params: &HashMap<String, String>,
    today: NaiveDate,
) -> Result<Params, ApiError> {
    let date = |field: &str| -> Result<Option<NaiveDate>, ApiError> {
        params
            .get(field)
            .map(|v| {
                NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                    .map_err(|_| invalid(field, format!("'{v}' is not a date written YYYY-MM-DD")))
            })
            .transpose()
    };
    let unit = params
        .get("unit")
        .map(|u| {
            u.parse::<UnitId>()
                .map_err(|_| invalid("unit", format!("'{u}' is not a unit id")))
        })
        .transpose()?;
    let to = date("to")?.unwrap_or(today);
    let from = match date("from")? {
        Some(from) => from,
        None => NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to),
    };
    if from > to {
        return Err(invalid(
            "from",
            format!("{from} is after the last day {to}; give a period that runs forward"),
        ));
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(invalid(
            "to",
            "a report covers at most ten years; ask for a shorter period".into(),
        ));
    }
    let subtree = match params.get("subtree").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(invalid(
                "subtree",
                format!("'{other}' is neither true nor false"),
            ))
        }
    };
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(invalid(
                "format",
                format!("'{other}' is not a format; use json or csv"),
            ))
        }
    };
    Ok(Params {
        unit,
        from,
        to,
        subtree,
        csv,
    })
}

/// The report of the counts read for `scope`: each unit's own and subtree figures, the
/// levels and the total.
pub fn build_report(scope: &ReportScope, counts: &[UnitCounts]) -> Option<RatioReport> {
    let root = counts.first()?;
    // Each unit's counts, and the sums over its subtree: a unit's path lists its ancestors.
    let mut subtree: HashMap<UnitId, (Counts, i64)> = HashMap::new();
    for c in counts {
        for ancestor in c.unit.path.ids() {
            let entry = subtree.entry(ancestor).or_default();
            entry.0 += c.period;
            entry.1 += c.open_past_deadline;
        }
    }
    let mut levels: Vec<LevelRatios> = Vec::new();
    for level in UnitLevel::ALL {
        let of_level: Vec<&UnitCounts> = counts.iter().filter(|c| c.unit.level == level).collect();
        if of_level.is_empty() {
            continue;
        }
        let mut sum = Counts::default();
        let mut open = 0;
        for c in &of_level {
            sum += c.period;
            open += c.open_past_deadline;
        }
        levels.push(LevelRatios {
            level: level.as_str().to_owned(),
            units: of_level.len(),
            ratios: Ratios::new(&sum, open),
        });
    }
    let units = counts
        .iter()
        .map(|c| {
            let (sum, open) = subtree.get(&c.unit.id).copied().unwrap_or_default();
            UnitRatios {
                unit: ReportUnit::from(&c.unit),
                own: Ratios::new(&c.period, c.open_past_deadline),
                subtree: Ratios::new(&sum, open),
            }
        })
        .collect();
    let (sum, open) = subtree.get(&root.unit.id).copied().unwrap_or_default();
    Some(RatioReport {
        unit: ReportUnit::from(&root.unit),
        from: scope.from,
        to: scope.to,
        subtree: scope.subtree,
        total: Ratios::new(&sum, open),
        levels,
        units,
        definitions: "docs/ratios.md",
    })
}

/// Reads the report the query's parameters ask for, after checking the caller may read it.
pub(crate) async fn load_report(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    params: &HashMap<String, String>,
) -> Result<(RatioReport, bool), ApiError> {
    let params = parse_params(params, vietnam_today(Utc::now()))?;
    let unit = params.unit.unwrap_or(auth.actor.unit_id);
    let db = state.db.clone();
    let unit = web::block(move || db.get_unit(unit)).await??;
    auth.authorize(Action::ReadReports, &Target::unit(&unit), "unit")?;
    let scope = ReportScope {
        unit: unit.id,
        subtree: params.subtree,
        from: params.from,
        to: params.to,
    };
    let db = state.db.clone();
    let report = web::block(move || -> Result<_, ApiError> {
        let counts = db.report_counts(&scope)?;
        build_report(&scope, &counts).ok_or_else(|| ApiError::internal("a report without its unit"))
    })
    .await??;
    Ok((report, params.csv))
}

const CSV_COLUMNS: [&str; 24] = [
    "Mã đơn vị",
    "Tên đơn vị",
    "Cấp",
    "Phạm vi",
    "Từ ngày",
    "Đến ngày",
    "Văn bản đến",
    "Văn bản đến bản giấy",
    "Văn bản đến bị trả lại",
    "Xử lý trên phần mềm",
    "Tỷ lệ xử lý trên phần mềm (%)",
    "Văn bản đi",
    "Văn bản đi bản giấy",
    "Ký số",
    "Tỷ lệ ký số (%)",
    "Đúng hạn",
    "Tỷ lệ đúng hạn (%)",
    "Trễ hạn",
    "Quá hạn chưa xử lý",
    "Hoàn thành không có hạn",
    "Chữ ký hợp lệ",
    "Chữ ký không được tin cậy",
    "Chữ ký không hợp lệ",
    "Không ký số",
];

fn percent(r: &Ratio) -> String {
    r.percent.map(|p| p.to_string()).unwrap_or_default()
}

fn csv_row(unit: &ReportUnit, scope: &str, report: &RatioReport, r: &Ratios) -> Vec<String> {
    vec![
        unit.code.clone(),
        unit.name.clone(),
        unit.level.clone(),
        scope.to_owned(),
        report.from.to_string(),
        report.to.to_string(),
        r.incoming.received.to_string(),
        r.incoming.on_paper.to_string(),
        r.incoming.returned.to_string(),
        r.incoming.processed_on_software.count.to_string(),
        percent(&r.incoming.processed_on_software),
        r.outgoing.issued.to_string(),
        r.outgoing.on_paper.to_string(),
        r.outgoing.digitally_signed.count.to_string(),
        percent(&r.outgoing.digitally_signed),
        r.handling.on_time.count.to_string(),
        percent(&r.handling.on_time),
        r.handling.late.count.to_string(),
        r.handling.open_past_deadline.count.to_string(),
        r.handling.completed_without_deadline.to_string(),
        r.signatures.valid.to_string(),
        r.signatures.untrusted.to_string(),
        r.signatures.invalid.to_string(),
        r.signatures.unsigned.to_string(),
    ]
}

/// The report as CSV rows: each unit's own figures, then its subtree's where it has units
/// below, then one line per level and the total.
fn csv_rows(report: &RatioReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for u in &report.units {
        rows.push(csv_row(&u.unit, "đơn vị", report, &u.own));
        if report
            .units
            .iter()
            .any(|c| c.unit.parent_id == Some(u.unit.id))
        {
            rows.push(csv_row(&u.unit, "đơn vị và cấp dưới", report, &u.subtree));
        }
    }
    if report.subtree {
        for level in &report.levels {
            let label = ReportUnit {
                level: level.level.clone(),
                name: format!("{} đơn vị cấp {}", level.units, level.level),
                ..report.unit.clone()
            };
            rows.push(csv_row(&label, "theo cấp", report, &level.ratios));
        }
        rows.push(csv_row(&report.unit, "tổng", report, &report.total));
    }
    rows
}

/// The report as CSV (UTF-8 with a byte-order mark).
pub fn report_csv(report: &RatioReport) -> Result<Vec<u8>, ApiError> {
    csv_bytes(&CSV_COLUMNS, csv_rows(report))
}

/// The ratios auditors check: incoming documents processed on the software, outgoing ones
/// signed digitally, handling on time, late and open past the deadline, and the signatures
/// checked on receipt; per unit, by level and rolled up over the subtree (auditors and
/// admins of the unit or a unit above it). Definitions and denominators: docs/ratios.md.
#[utoipa::path(
    get,
    path = "/api/v1/reports/ratios",
    tag = "reports",
    params(RatioQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; CSV (UTF-8 with a byte-order mark) with format=csv", content((RatioReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is not understood, or the period runs backwards or exceeds ten years", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only auditors and admins read the ratio reports", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or outside your subtree", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ratios(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (report, csv) = load_report(&state, &auth, &query_map(req.query_string())?).await?;
    if csv {
        let name = format!("ty-le-{}-{}-{}", report.unit.code, report.from, report.to);
        return csv_response(&name, &CSV_COLUMNS, csv_rows(&report));
    }
    Ok(HttpResponse::Ok().json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn parse(query: &str) -> Result<Params, ApiError> {
        parse_params(&query_map(query)?, today())
    }

    fn field(e: ApiError) -> String {
        match e {
            ApiError::InvalidQuery { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_period_defaults_to_this_year_so_far() {
        let p = parse("").unwrap();
        assert_eq!(p.from.to_string(), "2026-01-01");
        assert_eq!(p.to, today());
        assert!(!p.subtree && !p.csv && p.unit.is_none());
        let p = parse("to=2025-06-30&subtree=true&format=csv&unit=4").unwrap();
        assert_eq!(p.from.to_string(), "2025-01-01");
        assert!(p.subtree && p.csv);
    }

    #[test]
    fn bad_parameters_name_their_field() {
        for (query, expected) in [
            ("from=2026-13-01", "from"),
            ("from=2026-05-02&to=2026-05-01", "from"),
            ("from=2000-01-01&to=2026-01-01", "to"),
            ("subtree=yes", "subtree"),
            ("format=pdf", "format"),
            ("unit=abc", "unit"),
            ("unit=0", "unit"),
        ] {
            let e = parse(query).err().unwrap_or_else(|| panic!("{query}"));
            assert_eq!(field(e), expected, "{query}");
        }
    }
}
