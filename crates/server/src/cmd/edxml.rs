//! `vanthu edxml`: the interchange packages (QCVN 102:2016) from the command line.
//!
//! `check FILE` reads a package as a receipt does and prints one line per finding:
//! what it is, each leniency (`tolerated:`), the signature (`signature:`), and a refusal
//! (`refused:`). Exit status: 0 when the package is readable and its signature valid (or,
//! without `--trust`, intact), 1 when it is refused, 2 when the file cannot be read.
//!
//! `export DOC_ID -o FILE` writes an outgoing document, issued or released, as a package to
//! its external recipients, signed with the issuing unit's seal; the file appears whole or
//! not at all.
//!
//! `status INCOMING_ID -o FILE` writes where an imported document stands (StatusCode 01-06,
//! or 13/15/16 once recalled) as a status package for its sender, sealed.
//!
//! `import FILE --clerk USERNAME` receives a document package as an incoming document of
//! the unit of this installation it is addressed to, in the name of that unit's clerk: the
//! package's signature must be valid, the PDF is verified as on any receipt, and a package
//! whose DocumentId the unit already holds is the same document (exit 0, `already
//! imported`). A status package is recorded at the sender as the status of the reporting
//! agency's copy (the clerk must be one of the sending unit); a repeated or older one
//! changes nothing. A refusal writes nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use vanthu_api::interchange::transport::drain_folder;
use vanthu_api::interchange::{
    document_package, seal, status_package, Agencies, ReceiveError, Receiver,
};
use vanthu_domain::Username;
use vanthu_domain::{IncomingId, OutgoingId};
use vanthu_interchange::{inspect, Limits, Message, Verdict};
use vanthu_pades::trust::TrustAnchors;
use vanthu_store::blob::FsBlobStore;
use vanthu_store::{Database, StoreError};

use crate::configuration::{KekArgs, StorageArgs};
use crate::{devpki, kek};

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
    /// Write an issued or released outgoing document as a signed package to its external
    /// recipients
    Export(ExportArgs),
    /// Write the status of an imported document as a signed status package for its sender
    Status(StatusArgs),
}

/// Options of `vanthu edxml status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Id of the incoming document (one that arrived as a package)
    #[arg(value_name = "INCOMING_ID")]
    pub id: i64,
    #[command(flatten)]
    pub out: SealedOutput,
}

impl SealedOutput {
    /// The database, the blob store and the key-encryption key.
    fn open(&self) -> anyhow::Result<(Database, FsBlobStore, vanthu_keys::Kek)> {
        let (storage, source) = self.storage.resolve_with_kek(&self.keys)?;
        let kek = kek::load(source.as_ref(), &storage.data_dir, self.dev)?;
        let db = Database::connect(&storage.database_url)?;
        let blobs = FsBlobStore::new(storage.blob_dir())?;
        Ok((db, blobs, kek))
    }

    /// Seals `xml` with `unit`'s seal and writes it to a temporary name beside the output,
    /// fsynced and renamed: the file appears whole or not at all.
    fn write_sealed(
        &self,
        db: &Database,
        kek: &vanthu_keys::Kek,
        unit: vanthu_domain::UnitId,
        xml: &str,
    ) -> anyhow::Result<usize> {
        // The operator's own export: no revocation check is configured for this command.
        let xml = seal(db, kek, unit, xml, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let dir = match self.output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        file.write_all(xml.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(&self.output)
            .with_context(|| format!("cannot write {}", self.output.display()))?;
        Ok(xml.len())
    }
}

/// What the commands that write a sealed package share: the installation, its KEK (the
/// seal is opened under it) and the file written.
#[derive(Debug, Args)]
pub struct SealedOutput {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub keys: KekArgs,
    /// Where to write the package
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Without a configured key-encryption key, use the demonstration one in the data
    /// directory (development installations only)
    #[arg(long)]
    pub dev: bool,
}

/// Options of `vanthu edxml export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Id of the outgoing document
    #[arg(value_name = "DOC_ID")]
    pub id: i64,
    #[command(flatten)]
    pub out: SealedOutput,
}

/// Options of `vanthu edxml import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The package (.edxml); or give --inbox
    #[arg(
        value_name = "FILE",
        required_unless_present = "inbox",
        conflicts_with = "inbox"
    )]
    pub file: Option<PathBuf>,
    /// A folder the axis connector delivers packages into (the folder-pair transport): each
    /// *.edxml in it is received in name order, then moved to done/, or, refused, to
    /// refused/ beside a .reason file; a package met again after a crash is received once
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
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
    /// The agencies file of `vanthu serve --agencies`: a package from an agency whose
    /// seal_sha256 it gives must be signed with that seal
    #[arg(long, value_name = "FILE")]
    pub agencies: Option<PathBuf>,
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
        EdxmlCommand::Export(a) => export(a),
        EdxmlCommand::Status(a) => status(a),
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
    let storage = args.storage.resolve()?;
    let db = Database::connect(&storage.database_url)?;
    let blobs = FsBlobStore::new(storage.blob_dir())?;
    let limits = Limits {
        max_attachment_bytes: args.max_attachment_bytes,
        ..Limits::default()
    };
    let agencies = match &args.agencies {
        Some(path) => crate::configuration::load_agencies(path)?,
        None => Agencies::default(),
    };
    let receipt = Receipt {
        clerk: &args.clerk,
        receipt: vanthu_api::interchange::Receipt {
            db: &db,
            blobs: &blobs,
            limits,
            anchors,
            agencies: &agencies,
        },
    };
    if let Some(inbox) = &args.inbox {
        return drain(inbox, &receipt);
    }
    let Some(file) = &args.file else {
        anyhow::bail!("give the package's FILE or --inbox DIR");
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    match receipt.receive(&bytes)? {
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

/// Receives every `*.edxml` of `inbox` in name order (see `drain_folder`). Exit 1 when one
/// was refused.
fn drain(inbox: &std::path::Path, receipt: &Receipt) -> anyhow::Result<ExitCode> {
    let mut met = 0;
    let mut any_refused = false;
    drain_folder(
        inbox,
        |bytes| -> anyhow::Result<_> { Ok(receipt.receive(bytes)?.map_err(|Refused(why)| why)) },
        |drained| {
            met += 1;
            match drained.outcome {
                Ok(lines) => {
                    for line in lines {
                        println!("{}: {line}", drained.name);
                    }
                }
                Err(why) => {
                    println!("{}: refused: {why}", drained.name);
                    any_refused = true;
                }
            }
        },
    )
    .with_context(|| format!("cannot drain {}", inbox.display()))?;
    if met == 0 {
        println!("no packages in {}", inbox.display());
    }
    Ok(if any_refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What receiving a package needs: the clerk and the receipt of the API's interchange.
struct Receipt<'a> {
    clerk: &'a str,
    receipt: vanthu_api::interchange::Receipt<'a>,
}

impl Receipt<'_> {
    /// Receives the package; the outer error is a failure of the installation (exit 2), the
    /// inner one a refusal of the package (exit 1).
    fn receive(&self, bytes: &[u8]) -> anyhow::Result<Result<Vec<String>, Refused>> {
        let username =
            Username::parse(self.clerk).map_err(|e| anyhow::anyhow!("--clerk: {}", e.message))?;
        let clerk = match self.receipt.db.get_user_by_username(&username) {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => {
                anyhow::bail!("--clerk: no user is called {username}")
            }
            Err(e) => return Err(e.into()),
        };
        match self.receipt.receive(bytes, Receiver::Clerk(&clerk)) {
            Ok(lines) => Ok(Ok(lines)),
            Err(ReceiveError::Refused(why)) => Ok(Err(refuse(why))),
            Err(ReceiveError::Setup(why)) => anyhow::bail!("{why}"),
            Err(ReceiveError::Store(e)) => Err(e.into()),
            Err(ReceiveError::Other(e)) => anyhow::bail!("{e}"),
        }
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (db, blobs, kek) = args.out.open()?;
    let id = OutgoingId::new(args.id).map_err(|e| anyhow::anyhow!("DOC_ID: {}", e.message))?;
    let doc = match db.get_outgoing(id) {
        Ok(d) => d,
        Err(StoreError::NotFound { .. }) => anyhow::bail!("no outgoing document has the id {id}"),
        Err(e) => return Err(e.into()),
    };
    let package = document_package(&db, &blobs, &doc).map_err(|e| anyhow::anyhow!("{e}"))?;
    let size = args
        .out
        .write_sealed(&db, &kek, doc.unit_id, &package.to_xml()?)?;
    let to: Vec<&str> = package.header.to.iter().map(|o| o.id.as_str()).collect();
    println!(
        "exported: {} to {}, {} bytes, signed by the seal of {}",
        package.header.document_id,
        to.join(", "),
        size,
        package.header.from.id
    );
    Ok(ExitCode::SUCCESS)
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (db, _, kek) = args.out.open()?;
    let id = IncomingId::new(args.id).map_err(|e| anyhow::anyhow!("INCOMING_ID: {}", e.message))?;
    let doc = match db.get_incoming(id) {
        Ok(d) => d,
        Err(StoreError::NotFound { .. }) => anyhow::bail!("no incoming document has the id {id}"),
        Err(e) => return Err(e.into()),
    };
    let Some(identifier) = db.incoming_interchange_id(id)? else {
        anyhow::bail!("incoming document {id} did not arrive as an interchange package");
    };
    let unit = db.get_unit(doc.unit_id)?;
    let code = match &doc.recall {
        Some(recall) => recall.state.interchange_status(),
        None => doc.state.interchange_status(),
    };
    let package = status_package(
        &db,
        doc.unit_id,
        &identifier,
        code,
        None,
        chrono::Utc::now(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    args.out
        .write_sealed(&db, &kek, doc.unit_id, &package.to_xml()?)?;
    println!(
        "status {} for {identifier}, signed by the seal of {}",
        code.code(),
        unit.code
    );
    Ok(ExitCode::SUCCESS)
}
