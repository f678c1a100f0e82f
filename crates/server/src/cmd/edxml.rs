//! `vanthu edxml`: the interchange packages (QCVN 102:2016) from the command line.
//!
//! `check FILE` reads a package as a receipt does and prints one line per finding:
//! what it is, each leniency (`tolerated:`), the signature (`signature:`), and a refusal
//! (`refused:`). Exit status: 0 when the package is readable and its signature valid (or,
//! without `--trust`, intact), 1 when it is refused, 2 when the file cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use vanthu_interchange::{inspect, Limits, Message, Verdict};
use vanthu_pades::trust::TrustAnchors;

/// Options of `vanthu edxml`.
#[derive(Debug, Args)]
pub struct EdxmlArgs {
    #[command(subcommand)]
    pub what: EdxmlCommand,
}

/// What `vanthu edxml` does.
#[derive(Debug, Subcommand)]
pub enum EdxmlCommand {
    /// Check a package's structure and signature; exit 1 when it is refused
    Check(CheckArgs),
}

/// Options of `vanthu edxml check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The package (.edxml)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Trust anchors of the interchange: a PEM bundle or a folder of certificates
    /// (repeatable); without one, only the signature's integrity is checked
    #[arg(long = "trust", value_name = "PEM")]
    pub trust: Vec<PathBuf>,
    /// Largest attachment accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_attachment_bytes)]
    pub max_attachment_bytes: usize,
}

/// Runs `vanthu edxml`.
pub fn run(args: EdxmlArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        EdxmlCommand::Check(a) => check(a),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = TrustAnchors::empty();
    for path in &args.trust {
        anchors
            .add_path(path)
            .with_context(|| format!("--trust {}", path.display()))?;
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let limits = Limits {
        max_attachment_bytes: args.max_attachment_bytes,
        ..Limits::default()
    };
    let inspection = match inspect(&bytes, &limits, anchors.certificates()) {
        Ok(i) => i,
        Err(e) => {
            println!("refused: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    match &inspection.message {
        Message::Document(p) => {
            let h = &p.header;
            let to: Vec<&str> = h.to.iter().map(|o| o.id.as_str()).collect();
            println!(
                "document: {} ({}) from {} to {}, {} attachment(s), {:?}",
                h.document_id,
                h.subject,
                h.from.id,
                to.join(", "),
                p.attachments.len(),
                p.trace.business.doc_type,
            );
        }
        Message::Status(s) => println!(
            "status: {} for {} from {}",
            s.status.code(),
            s.response_for.document_id,
            s.from.id
        ),
    }
    for t in &inspection.tolerated {
        println!("tolerated: {t}");
    }
    let report = &inspection.signature;
    let how = match (report.method, report.digest) {
        (Some(m), Some(d)) => format!(" ({m}, digest {d})"),
        _ => String::new(),
    };
    let signer = report
        .signer_subject()
        .map(|s| format!(", signed by {s}"))
        .unwrap_or_default();
    if report.weak {
        println!("weak: the signature uses SHA-1, accepted for reading only");
    }
    let refused = match &report.verdict {
        Verdict::Valid => {
            println!("signature: valid{how}{signer}");
            false
        }
        Verdict::IntactUnchecked => {
            println!(
                "signature: intact{how}{signer}; not checked against trust anchors (give --trust)"
            );
            false
        }
        Verdict::Missing => {
            println!("refused: the package carries no signature");
            true
        }
        Verdict::Broken(why) => {
            println!("refused: signature broken{how}: {why}");
            true
        }
        Verdict::Untrusted(why) => {
            println!("refused: signature untrusted{how}{signer}: {why}");
            true
        }
    };
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
