//! `vanthu verify`: checks every signature in a PDF and prints the verdict.
//!
//! Exit status: 0 when the verdict is `valid`, 1 for any other verdict, 2 when the input
//! cannot be read as a PDF.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::{self, Verdict, VerifyOptions};

/// Arguments of `vanthu verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The PDF to verify
    pub file: PathBuf,
    /// Trust anchors: a PEM bundle or a folder of certificates (repeatable)
    #[arg(long = "trust", value_name = "PEM")]
    pub trust: Vec<PathBuf>,
    /// Also trust the development root CA (certs-dev/root-ca.pem; never in production)
    #[arg(long)]
    pub dev: bool,
    /// Use only the revocation data inside the file; fetch nothing
    #[arg(long)]
    pub offline: bool,
    /// Print the full report as JSON instead of the text summary
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = TrustAnchors::empty();
    for path in &args.trust {
        anchors.add_path(path)?;
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
    let report = verify::verify_file(&args.file, &options)
        .with_context(|| format!("{}", args.file.display()))?;
    let text = if args.json {
        report.to_json()
    } else {
        format!("{}\n\n{}", report.summary_vi, report.summary_en)
    };
    // A reader that went away (`vanthu verify f.pdf | head -1`) is not an error of ours: the
    // exit status still carries the verdict.
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write the report");
        }
        _ => {}
    }
    Ok(if report.verdict == Verdict::Valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
