//! `vanthu verify`: checks every signature in one or more PDFs and prints a verdict for each.
//!
//! Exit status: 0 when every verdict is `valid`, 2 when some input cannot be read as a PDF,
//! else 1.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::{self, Report, Verdict, VerifyOptions};

use super::batch;

/// Arguments of `vanthu verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The PDFs to verify, several at once when there are several
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Trust anchors: a PEM bundle or a folder of certificates (repeatable)
    #[arg(long = "trust", value_name = "PEM")]
    pub trust: Vec<PathBuf>,
    /// A named trust list, NAME=DIR (a folder of PEM certificates), e.g. public=DIR or
    /// government=DIR; the report names the list a signer's chain ended in (repeatable)
    #[arg(long, value_name = "NAME=DIR", value_parser = crate::configuration::parse_trust_list)]
    pub trust_list: Vec<crate::configuration::TrustList>,
    /// Also trust the development root CA (certs-dev/root-ca.pem; never in production)
    #[arg(long)]
    pub dev: bool,
    /// Use only the revocation data inside the file; fetch nothing
    #[arg(long)]
    pub offline: bool,
    /// Print the full report of the one file as JSON instead of the text summary
    #[arg(long, conflicts_with = "json_lines")]
    pub json: bool,
    /// Print one line of JSON per file, in the order given: {"file": .., "report": ..}, or
    /// {"file": .., "error": ..} for a file that cannot be read
    #[arg(long)]
    pub json_lines: bool,
    /// Files verified at once [default: two per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

/// How the reports are printed.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Text,
    Json,
    JsonLines,
}

/// Runs the command.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let format = match (args.json, args.json_lines) {
        (true, _) if args.files.len() > 1 => {
            anyhow::bail!("--json prints one report: use --json-lines for several files")
        }
        (true, _) => Format::Json,
        (_, true) => Format::JsonLines,
        _ => Format::Text,
    };
    let mut anchors = TrustAnchors::empty();
    for path in &args.trust {
        anchors.add_path(path)?;
    }
    for list in &args.trust_list {
        anchors.add_domain_path(&list.name, &list.path)?;
    }
    if args.dev {
        anchors
            .add_bytes(crate::devpki::ROOT_CA_PEM)
            .map_err(|e| anyhow::anyhow!("development root: {e}"))?;
    }
    let options = VerifyOptions {
        anchors,
        offline: args.offline,
        now: None,
    };
    let several = args.files.len() > 1;
    let mut worst = Outcome::Valid;
    let mut stdout_gone = false;
    let mut write_error = None;
    batch::run(
        &args.files,
        batch::threads(args.jobs, args.files.len()),
        |file| verify::verify_file(file, &options),
        |file, result| {
            let (outcome, text) = match result {
                Ok(report) => (
                    Outcome::of(&report),
                    Some(render(&report, file, format, several)),
                ),
                Err(e) => {
                    let e = anyhow::Error::new(e);
                    eprintln!("vanthu: {}: {e:#}", file.display());
                    let line = (format == Format::JsonLines)
                        .then(|| json_line(file, LineOutcome::Error(format!("{e:#}"))));
                    (Outcome::Unreadable, line)
                }
            };
            worst = worst.max(outcome);
            // A reader that went away (`vanthu verify f.pdf | head -1`) is not an error of
            // ours: the exit status still carries the verdicts.
            if let Some(text) = text.filter(|_| !stdout_gone && write_error.is_none()) {
                match writeln!(std::io::stdout().lock(), "{text}") {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => stdout_gone = true,
                    Err(e) => write_error = Some(e),
                    Ok(()) => {}
                }
            }
        },
    );
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    Ok(ExitCode::from(worst as u8))
}

/// One file's outcome, ordered from best to worst; the value is the exit status it calls for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Valid = 0,
    NotValid = 1,
    Unreadable = 2,
}

impl Outcome {
    fn of(report: &Report) -> Outcome {
        if report.verdict == Verdict::Valid {
            Outcome::Valid
        } else {
            Outcome::NotValid
        }
    }
}

/// The report as printed; with several files, a text summary is headed by the file's name.
fn render(report: &Report, file: &Path, format: Format, several: bool) -> String {
    match format {
        Format::Json => report.to_json(),
        Format::JsonLines => json_line(file, LineOutcome::Report(report)),
        Format::Text if several => format!(
            "{}:\n{}\n\n{}\n",
            file.display(),
            report.summary_vi,
            report.summary_en
        ),
        Format::Text => format!("{}\n\n{}", report.summary_vi, report.summary_en),
    }
}

/// One line of `--json-lines`: the file, then its `report` or its `error`.
#[derive(Serialize)]
struct JsonLine<'a> {
    file: String,
    #[serde(flatten)]
    outcome: LineOutcome<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum LineOutcome<'a> {
    Report(&'a Report),
    Error(String),
}

fn json_line(file: &Path, outcome: LineOutcome<'_>) -> String {
    let line = JsonLine {
        file: file.display().to_string(),
        outcome,
    };
    // Strings, numbers and lists only: nothing in a report can fail to serialise.
    serde_json::to_string(&line).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
