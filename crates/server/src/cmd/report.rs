//! `vanthu report`: the auditors' ratio report from the command line, and the check and
//! rebuild of the counters it reads (docs/ratios.md).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Datelike, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use vanthu_api::reports::{build_report, report_csv, RatioReport};
use vanthu_domain::UnitCode;
use vanthu_reports::{Ratio, Ratios};
use vanthu_routing::vietnam_today;
use vanthu_store::ReportScope;

use crate::cmd::audit::open;
use crate::configuration::StorageArgs;

/// Options of `vanthu report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// Which report.
#[derive(Debug, Clone, Subcommand)]
pub enum ReportCommand {
    /// The ratios of a unit (and the units below it) for a period
    Ratios(RatiosArgs),
    /// Compare the ratio counters with a recount from the documents; exit 1 naming each
    /// difference
    Check(StorageOnly),
    /// Recount the ratio counters from the documents
    Rebuild(StorageOnly),
}

/// Options of the commands that only need the database.
#[derive(Debug, Clone, Args)]
pub struct StorageOnly {
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table to read.
    Text,
    /// The JSON of GET /api/v1/reports/ratios.
    Json,
    /// The CSV of GET /api/v1/reports/ratios?format=csv.
    Csv,
}

/// Options of `vanthu report ratios`.
#[derive(Debug, Clone, Args)]
pub struct RatiosArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Electronic agency code of the unit, e.g. 000.00.31.H56
    #[arg(long, value_name = "CODE")]
    pub unit: String,

    /// First day, YYYY-MM-DD (Vietnam calendar) [default: 1 January of --to's year]
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,

    /// Last day, included [default: today]
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,

    /// Include every unit below, each with its own figures, rolled up
    #[arg(long)]
    pub subtree: bool,

    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Runs a report subcommand.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ReportCommand::Ratios(a) => ratios(a),
        ReportCommand::Check(a) => check(a),
        ReportCommand::Rebuild(a) => rebuild(a),
    }
}

fn ratios(args: RatiosArgs) -> anyhow::Result<ExitCode> {
    let db = open(&args.storage.resolve()?)?;
    let code = UnitCode::parse(&args.unit).map_err(|e| anyhow::anyhow!("--unit: {e}"))?;
    let unit = db
        .get_unit_by_code(&code)
        .with_context(|| format!("no unit with the code {code}"))?;
    let to = args.to.unwrap_or_else(|| vietnam_today(Utc::now()));
    let from = match args.from {
        Some(from) => from,
        None => NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to),
    };
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let scope = ReportScope {
        unit: unit.id,
        subtree: args.subtree,
        from,
        to,
    };
    let counts = db.report_counts(&scope)?;
    let report = build_report(&scope, &counts).context("the unit vanished while reading")?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Csv => out.write_all(&report_csv(&report).map_err(|e| anyhow::anyhow!("{e}"))?)?,
        Format::Text => write_table(&mut out, &report)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn cell(r: &Ratio) -> String {
    match r.percent {
        Some(p) => format!("{}/{} {p}%", r.count, r.of),
        None => format!("{}/{} -", r.count, r.of),
    }
}

fn line(out: &mut impl Write, label: &str, r: &Ratios) -> std::io::Result<()> {
    writeln!(
        out,
        "{label:<44} {:>22} {:>22} {:>18} {:>6} {:>8}",
        cell(&r.incoming.processed_on_software),
        cell(&r.outgoing.digitally_signed),
        cell(&r.handling.on_time),
        r.handling.late.count,
        r.handling.open_past_deadline.count,
    )
}

fn write_table(out: &mut impl Write, report: &RatioReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({}), {} to {}{}",
        report.unit.name,
        report.unit.code,
        report.from,
        report.to,
        if report.subtree {
            ", with the units below"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "{:<44} {:>22} {:>22} {:>18} {:>6} {:>8}",
        "unit", "processed on software", "signed digitally", "on time", "late", "overdue"
    )?;
    for u in &report.units {
        line(out, &format!("{} {}", u.unit.code, u.unit.name), &u.own)?;
    }
    if report.subtree {
        for level in &report.levels {
            line(
                out,
                &format!("{} {}(s)", level.units, level.level),
                &level.ratios,
            )?;
        }
        line(out, "total", &report.total)?;
    }
    writeln!(out, "definitions: {}", report.definitions)
}

fn check(args: StorageOnly) -> anyhow::Result<ExitCode> {
    let db = open(&args.storage.resolve()?)?;
    let differing = db.check_report_counts()?;
    if differing.is_empty() {
        println!("the ratio counters agree with a recount of the documents");
        return Ok(ExitCode::SUCCESS);
    }
    for key in &differing {
        println!("differs from a recount: {key}");
    }
    println!(
        "{} counter rows differ; `vanthu report rebuild` recounts them",
        differing.len()
    );
    Ok(ExitCode::from(1))
}

fn rebuild(args: StorageOnly) -> anyhow::Result<ExitCode> {
    let db = open(&args.storage.resolve()?)?;
    let summary = db.rebuild_report_counts()?;
    println!(
        "recounted {} incoming and {} outgoing documents into {} counter rows",
        summary.incoming, summary.outgoing, summary.rows
    );
    Ok(ExitCode::SUCCESS)
}
