//! `vanthu edxml`: the interchange packages (QCVN 102:2016) from the command line.
//!
//! `check FILE` reads a package as a receipt does and prints one line per finding:
//! what it is, each leniency (`tolerated:`), the signature (`signature:`), and a refusal
//! (`refused:`). Exit status: 0 when the package is readable and its signature valid (or,
//! without `--trust`, intact), 1 when it is refused, 2 when the file cannot be read.
//!
//! `import FILE --clerk USERNAME` receives a document package as an incoming document of
//! the unit of this installation it is addressed to, in the name of that unit's clerk: the
//! package's signature must be valid, the PDF is verified as on any receipt, and a package
//! whose DocumentId the unit already holds is the same document (exit 0, `already
//! imported`). A refusal writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use vanthu_domain::access::{authorize, Action, Actor, Target};
use vanthu_domain::Username;
use vanthu_interchange::{inspect, BusinessDocType, Limits, Message, Package, Verdict};
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::{verify_bytes, VerifyOptions};
use vanthu_routing::{vietnam_today, IncomingMetadata, IssuingBody};
use vanthu_store::blob::{BlobStore, FsBlobStore};
use vanthu_store::{Database, NewIncoming, StoreError};

use crate::configuration::StorageArgs;
use crate::devpki;

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
    /// Receive a document package as an incoming document (idempotent by DocumentId)
    Import(ImportArgs),
}

/// Options of `vanthu edxml import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The package (.edxml)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The clerk of the receiving unit in whose name the document is received
    #[arg(long, value_name = "USERNAME")]
    pub clerk: String,
    /// Trust anchors of the interchange and of PDF signatures: a PEM bundle or a folder of
    /// certificates (repeatable)
    #[arg(long = "trust", value_name = "PEM")]
    pub trust: Vec<PathBuf>,
    /// Also trust the development root CA (never in production)
    #[arg(long)]
    pub dev: bool,
    /// Largest attachment accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_attachment_bytes)]
    pub max_attachment_bytes: usize,
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
        EdxmlCommand::Import(a) => import(a),
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

/// A refusal of `import`: printed as one line, exit 1, nothing written.
struct Refused(String);

fn refuse(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = TrustAnchors::empty();
    for path in &args.trust {
        anchors
            .add_path(path)
            .with_context(|| format!("--trust {}", path.display()))?;
    }
    if args.dev {
        anchors
            .add_bytes(devpki::ROOT_CA_PEM)
            .map_err(|e| anyhow::anyhow!("development root: {e}"))?;
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let storage = args.storage.resolve()?;
    let db = Database::connect(&storage.database_url)?;
    let blobs = FsBlobStore::new(storage.blob_dir())?;
    let limits = Limits {
        max_attachment_bytes: args.max_attachment_bytes,
        ..Limits::default()
    };
    match receive(&args, &bytes, &limits, anchors, &db, &blobs)? {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Refused(why)) => {
            println!("refused: {why}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Receives the package; the outer error is a failure of the installation (exit 2), the
/// inner one a refusal of the package (exit 1).
fn receive(
    args: &ImportArgs,
    bytes: &[u8],
    limits: &Limits,
    anchors: TrustAnchors,
    db: &Database,
    blobs: &FsBlobStore,
) -> anyhow::Result<Result<Vec<String>, Refused>> {
    let inspection = match inspect(bytes, limits, anchors.certificates()) {
        Ok(i) => i,
        Err(e) => return Ok(Err(refuse(e.to_string()))),
    };
    match &inspection.signature.verdict {
        Verdict::Valid => {}
        Verdict::IntactUnchecked => {
            return Ok(Err(refuse(
                "no trust anchors to judge the package's signature by (give --trust)",
            )))
        }
        Verdict::Missing => return Ok(Err(refuse("the package carries no signature"))),
        Verdict::Broken(why) => return Ok(Err(refuse(format!("signature broken: {why}")))),
        Verdict::Untrusted(why) => return Ok(Err(refuse(format!("signature untrusted: {why}")))),
    }
    let package: &Package = match &inspection.message {
        Message::Document(p) => p,
        Message::Status(_) => {
            return Ok(Err(refuse(
                "this is a status package; import takes document packages",
            )))
        }
    };
    if package.trace.business.doc_type != BusinessDocType::New {
        return Ok(Err(refuse(format!(
            "a {:?} package acts on an earlier document; only new documents are imported here",
            package.trace.business.doc_type
        ))));
    }
    let h = &package.header;
    let mut unit = None;
    for to in &h.to {
        match db.get_unit_by_code(&to.id) {
            Ok(u) => {
                unit = Some(u);
                break;
            }
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some(unit) = unit else {
        let to: Vec<&str> = h.to.iter().map(|o| o.id.as_str()).collect();
        return Ok(Err(refuse(format!(
            "the package is addressed to {}, none of them a unit of this installation",
            to.join(", ")
        ))));
    };
    let username =
        Username::parse(&args.clerk).map_err(|e| anyhow::anyhow!("--clerk: {}", e.message))?;
    let clerk = match db.get_user_by_username(&username) {
        Ok(u) => u,
        Err(StoreError::NotFound { .. }) => anyhow::bail!("--clerk: no user is called {username}"),
        Err(e) => return Err(e.into()),
    };
    let clerk_unit = db.get_unit(clerk.unit_id)?;
    if authorize(
        &Actor::new(&clerk, &clerk_unit),
        Action::ReceiveIncoming,
        &Target::in_unit(unit.path.clone()),
    )
    .is_err()
        || clerk.unit_id != unit.id
    {
        anyhow::bail!(
            "--clerk: {username} may not receive documents for {} ({})",
            unit.name,
            unit.code
        );
    }
    let mut lines = Vec::new();
    let Some(pdf) = package
        .attachments
        .iter()
        .find(|a| a.content_type == "application/pdf" || a.name.to_lowercase().ends_with(".pdf"))
    else {
        return Ok(Err(refuse("the package carries no PDF attachment")));
    };
    for other in package
        .attachments
        .iter()
        .filter(|a| a.content_id != pdf.content_id)
    {
        lines.push(format!(
            "not kept: attachment '{}' ({}); an incoming document holds its main PDF",
            other.name, other.content_type
        ));
    }
    let metadata = IncomingMetadata {
        issuing_body: match IssuingBody::parse(&h.from.name) {
            Ok(b) => b,
            Err(e) => {
                return Ok(Err(refuse(format!(
                    "MessageHeader/From/OrganName: {}",
                    e.message
                ))))
            }
        },
        number_notation: h.code.clone(),
        document_date: h.promulgation.date,
        document_type: h.document_type.name.clone(),
        summary: h.subject.clone(),
        urgency: h.other.priority,
        due_date: h.due_date,
    };
    let now = chrono::Utc::now();
    if let Err(e) = metadata.check_dates(vietnam_today(now)) {
        return Ok(Err(refuse(format!("{}: {}", e.field, e.message))));
    }
    let options = VerifyOptions {
        anchors,
        // As on any receipt: the server must not fetch addresses a received file names.
        offline: true,
        now: None,
    };
    let report = match verify_bytes(&pdf.data, &options) {
        Ok(r) => r,
        Err(e) => return Ok(Err(refuse(format!("attachment '{}': {e}", pdf.name)))),
    };
    let blob = blobs.put(&mut pdf.data.as_slice())?;
    let new = NewIncoming {
        unit_id: unit.id,
        received_by: clerk.id,
        received_at: now,
        metadata,
        sha256: blob.sha256,
        size: blob.size,
        verification: report.verdict.as_str().to_owned(),
        verification_report: serde_json::to_string(&report)?,
    };
    let (document, fresh) = db.receive_interchange(&new, h.document_id.as_str())?;
    for t in &inspection.tolerated {
        lines.push(format!("tolerated: {t}"));
    }
    lines.push(format!(
        "{}: incoming document {} of {} ({}), {}, PDF verification {}",
        if fresh {
            "imported"
        } else {
            "already imported"
        },
        document.id,
        unit.name,
        unit.code,
        h.document_id,
        document.verification
    ));
    Ok(Ok(lines))
}
