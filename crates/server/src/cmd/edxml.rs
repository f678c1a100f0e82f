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

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::FixedOffset;

use anyhow::Context;
use clap::{Args, Subcommand};
use vanthu_api::signing_keys::interchange_seal;
use vanthu_domain::access::{authorize, Action, Actor, Target};
use vanthu_domain::Username;
use vanthu_domain::{IncomingId, OutgoingId, UnitCode};
use vanthu_interchange::{
    inspect, sign, Attachment, Business, BusinessDocType, DocumentKind, Limits, Message,
    MessageHeader, Organ, OtherInfo, Package, PromulgationInfo, Receiver, ResponseFor, SignerInfo,
    StatusPackage, TraceHeader, TraceHeaderList, Verdict,
};
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::{verify_bytes, VerifyOptions};
use vanthu_routing::{
    vietnam_today, Confidentiality, DocumentIdentifier, IncomingMetadata, IssuingBody,
    OutgoingState, VIETNAM_OFFSET_SECONDS,
};
use vanthu_store::blob::{BlobStore, FsBlobStore};
use vanthu_store::{Database, Medium, NewIncoming, OutgoingDocument, StatusRecord, StoreError};

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
        let seal = interchange_seal(db, kek, unit).map_err(|e| anyhow::anyhow!("{e}"))?;
        let xml = sign(xml, &seal)?;
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
    let receipt = Receipt {
        clerk: &args.clerk,
        limits,
        anchors,
        db: &db,
        blobs: &blobs,
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

/// Receives every `*.edxml` of `inbox` in name order. A package is moved out only after its
/// receipt is committed, so a crash in between leaves it to be met again, and received
/// once (by its DocumentId). Exit 1 when one was refused.
fn drain(inbox: &std::path::Path, receipt: &Receipt) -> anyhow::Result<ExitCode> {
    let (done, refused) = (inbox.join("done"), inbox.join("refused"));
    for dir in [&done, &refused] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(inbox)
        .with_context(|| format!("cannot read {}", inbox.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "edxml"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("no packages in {}", inbox.display());
    }
    let mut any_refused = false;
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        match receipt.receive(&bytes)? {
            Ok(lines) => {
                for line in lines {
                    println!("{name}: {line}");
                }
                std::fs::rename(&file, done.join(&name))?;
            }
            Err(Refused(why)) => {
                println!("{name}: refused: {why}");
                std::fs::write(refused.join(format!("{name}.reason")), format!("{why}\n"))?;
                std::fs::rename(&file, refused.join(&name))?;
                any_refused = true;
            }
        }
    }
    Ok(if any_refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What receiving a package needs: the clerk, the limits, the trust anchors, the storage.
struct Receipt<'a> {
    clerk: &'a str,
    limits: Limits,
    anchors: TrustAnchors,
    db: &'a Database,
    blobs: &'a FsBlobStore,
}

impl Receipt<'_> {
    /// Receives the package; the outer error is a failure of the installation (exit 2), the
    /// inner one a refusal of the package (exit 1).
    fn receive(&self, bytes: &[u8]) -> anyhow::Result<Result<Vec<String>, Refused>> {
        let (limits, db, blobs) = (&self.limits, self.db, self.blobs);
        let anchors = self.anchors.clone();
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
            Verdict::Untrusted(why) => {
                return Ok(Err(refuse(format!("signature untrusted: {why}"))))
            }
        }
        let username =
            Username::parse(self.clerk).map_err(|e| anyhow::anyhow!("--clerk: {}", e.message))?;
        let clerk = match db.get_user_by_username(&username) {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => {
                anyhow::bail!("--clerk: no user is called {username}")
            }
            Err(e) => return Err(e.into()),
        };
        let package: &Package = match &inspection.message {
            Message::Document(p) => p,
            Message::Status(status) => return apply_status(status, &clerk, db),
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
        let Some(pdf) = package.attachments.iter().find(|a| {
            a.content_type == "application/pdf" || a.name.to_lowercase().ends_with(".pdf")
        }) else {
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
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (db, blobs, kek) = args.out.open()?;
    let id = OutgoingId::new(args.id).map_err(|e| anyhow::anyhow!("DOC_ID: {}", e.message))?;
    let doc = match db.get_outgoing(id) {
        Ok(d) => d,
        Err(StoreError::NotFound { .. }) => anyhow::bail!("no outgoing document has the id {id}"),
        Err(e) => return Err(e.into()),
    };
    let package = package_of(&db, &blobs, &doc)?;
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
    let document_id = DocumentIdentifier::parse(&identifier)
        .map_err(|e| anyhow::anyhow!("stored DocumentId: {}", e.message))?;
    let sender = identifier.split(',').next().unwrap_or_default();
    let unit = db.get_unit(doc.unit_id)?;
    let vietnam = FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS).expect("UTC+7 is an offset");
    let code = match &doc.recall {
        Some(recall) => recall.state.interchange_status(),
        None => doc.state.interchange_status(),
    };
    let package = StatusPackage {
        from: Organ::new(unit.code.clone(), unit.name.as_str()),
        response_for: ResponseFor {
            organ_id: UnitCode::parse(sender).map_err(|e| anyhow::anyhow!("{}", e.message))?,
            code: Some(doc.metadata.number_notation.as_str().to_owned()),
            promulgation_date: Some(doc.metadata.document_date),
            document_id,
        },
        status: code,
        description: None,
        timestamp: chrono::Utc::now().with_timezone(&vietnam),
        staff: None,
    };
    args.out
        .write_sealed(&db, &kek, doc.unit_id, &package.to_xml()?)?;
    println!(
        "status {} for {identifier}, signed by the seal of {}",
        code.code(),
        unit.code
    );
    Ok(ExitCode::SUCCESS)
}

/// Records a status package at the sender: the status of the reporting agency's copy.
fn apply_status(
    status: &StatusPackage,
    clerk: &vanthu_domain::User,
    db: &Database,
) -> anyhow::Result<Result<Vec<String>, Refused>> {
    let identifier = status.response_for.document_id.as_str();
    let doc = match db.outgoing_by_identifier(identifier) {
        Ok(d) => d,
        Err(StoreError::NotFound { .. }) => {
            return Ok(Err(refuse(format!(
                "no outgoing document here has the identifier {identifier}"
            ))))
        }
        Err(e) => return Err(e.into()),
    };
    let clerk_unit = db.get_unit(clerk.unit_id)?;
    if authorize(
        &Actor::new(clerk, &clerk_unit),
        Action::IssueOutgoing,
        &Target::in_unit(doc.unit_path.clone()),
    )
    .is_err()
    {
        anyhow::bail!(
            "--clerk: {} is not a clerk of the unit that sent {identifier}",
            clerk.username
        );
    }
    let at = status.timestamp.with_timezone(&chrono::Utc);
    let line = match db.record_recipient_status(
        identifier,
        &status.from.id,
        status.status,
        at,
        clerk.id,
    ) {
        Ok(StatusRecord::Recorded(_)) => "recorded",
        Ok(StatusRecord::AlreadyKnown(_)) => "already known",
        Err(StoreError::NotFound { .. }) => {
            return Ok(Err(refuse(format!(
                "outgoing document {identifier} was not sent to {}",
                status.from.id
            ))))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(vec![format!(
        "{line}: status {} of {} for outgoing document {} ({identifier})",
        status.status.code(),
        status.from.id,
        doc.id
    )]))
}

/// The package of an issued or released electronic document, for its external recipients.
fn package_of(
    db: &Database,
    blobs: &FsBlobStore,
    doc: &OutgoingDocument,
) -> anyhow::Result<Package> {
    let id = doc.id;
    if !matches!(doc.state, OutgoingState::Issued | OutgoingState::Released) {
        anyhow::bail!(
            "outgoing document {id} is {}; only an issued or released document can be sent",
            doc.state.as_str()
        );
    }
    let (Medium::Electronic, Some(issue)) = (doc.medium, &doc.issue) else {
        anyhow::bail!(
            "outgoing document {id} was issued on paper; there is no signed file to send"
        );
    };
    let m = &doc.metadata;
    if m.confidentiality != Confidentiality::Normal {
        anyhow::bail!(
            "outgoing document {id} is classified ({}); classified documents are not sent \
             through the interchange",
            m.confidentiality.as_str()
        );
    }
    if m.external_recipients.is_empty() {
        anyhow::bail!("outgoing document {id} names no agency outside this installation");
    }
    let unit = db.get_unit(doc.unit_id)?;
    let signer = db.get_user(m.signer.user)?;
    let file = db
        .outgoing_files(id)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("outgoing document {id} has no file"))?;
    let mut data = Vec::new();
    blobs
        .open(&file.sha256)
        .map_err(StoreError::from)?
        .read_to_end(&mut data)?;
    let vietnam = FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS).expect("UTC+7 is an offset");
    let prefix = m.signer.authority.prefix();
    Ok(Package {
        header: MessageHeader {
            from: Organ::new(unit.code.clone(), unit.name.as_str()),
            to: m
                .external_recipients
                .iter()
                .map(|r| Organ::new(r.agency_code.clone(), r.name.as_str()))
                .collect(),
            document_id: issue.identifier.clone(),
            code: issue.number_notation.clone(),
            promulgation: PromulgationInfo {
                place: None,
                date: issue.date,
            },
            document_type: DocumentKind {
                code: None,
                name: m.document_type.clone(),
            },
            subject: m.summary.clone(),
            content: None,
            signer: SignerInfo {
                competence: (!prefix.is_empty()).then(|| prefix.to_owned()),
                position: m.signer.position.clone(),
                full_name: signer.display_name.as_str().to_owned(),
            },
            due_date: m.due_date,
            to_places: m
                .external_recipients
                .iter()
                .map(|r| r.name.as_str().to_owned())
                .collect(),
            other: OtherInfo {
                priority: m.urgency,
                sphere_of_promulgation: None,
                typer_notation: None,
                promulgation_amount: None,
                page_amount: None,
                appendixes: Vec::new(),
            },
            response_for: Vec::new(),
            steering_type: 0,
        },
        trace: TraceHeaderList {
            traces: vec![TraceHeader {
                organ_id: unit.code.clone(),
                timestamp: chrono::Utc::now().with_timezone(&vietnam),
            }],
            business: Business {
                doc_type: BusinessDocType::New,
                reason: None,
                staff: None,
                receivers: m
                    .external_recipients
                    .iter()
                    .map(|r| Receiver {
                        receiver_type: Some(1),
                        organ_id: r.agency_code.clone(),
                    })
                    .collect(),
                replacements: Vec::new(),
            },
        },
        attachments: vec![Attachment {
            content_id: file.sha256.as_str()[..16].to_owned(),
            name: format!("{}.pdf", issue.number_notation.as_str().replace('/', "-")),
            content_type: "application/pdf".to_owned(),
            description: None,
            data,
        }],
    })
}
