//! `vanthu audit`: check the audit log against its checkpoints (in the database or in an
//! export), export it, and issue a checkpoint now.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use vanthu_audit::verify::{FoundEntry, LogCheck, Report};
use vanthu_audit::{AuditEntry, Hash, NoteVerifier};
use vanthu_store::Database;

use crate::configuration::{AuditTokenArgs, KekArgs, StorageArgs, StorageSettings};
use crate::{audit_key, kek};

/// Options of `vanthu audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// What to do with the audit log.
#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Recompute the tree and check every entry and checkpoint; exit 1 naming each finding
    Verify(VerifyArgs),
    /// Write the entries (JSON Lines), the checkpoints and the public key to a folder
    Export(ExportArgs),
    /// Sign and keep a checkpoint of the log as it stands now, and print it
    Checkpoint(CheckpointArgs),
}

/// Options of `vanthu audit verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Check an export folder instead of the database (needs --key, nothing else)
    #[arg(long, value_name = "DIR", requires = "key")]
    pub export: Option<PathBuf>,

    /// File holding the verifier key (`name+keyid+base64`) [default: the data directory's
    /// audit key]
    #[arg(long, value_name = "PUBFILE")]
    pub key: Option<PathBuf>,
}

/// Options of `vanthu audit export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Folder to write entries.jsonl, checkpoints.jsonl and key.txt into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Options of `vanthu audit checkpoint`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// The key-encryption key the audit key is sealed under.
    #[command(flatten)]
    pub keys: KekArgs,

    /// The token holding the audit key, when it is not sealed in the data directory.
    #[command(flatten)]
    pub audit_token: AuditTokenArgs,

    /// Without a configured key-encryption key, use the demonstration one in the data
    /// directory (development installations only)
    #[arg(long)]
    pub dev: bool,
}

/// File names inside an export folder.
const ENTRIES: &str = "entries.jsonl";
const CHECKPOINTS: &str = "checkpoints.jsonl";
const KEY: &str = "key.txt";

/// One line of entries.jsonl: the canonical bytes that count, and their reading.
#[derive(Serialize, Deserialize)]
struct ExportedEntry {
    seq: u64,
    /// The canonical bytes, base64.
    entry: String,
    /// SHA-256(0x00 || bytes), hex.
    leaf_hash: String,
    /// The bytes decoded, for reading; a verifier ignores it.
    #[serde(default, skip_deserializing)]
    decoded: Option<AuditEntry>,
}

/// One line of checkpoints.jsonl.
#[derive(Serialize, Deserialize)]
struct ExportedCheckpoint {
    id: i64,
    size: u64,
    created_at: chrono::DateTime<Utc>,
    /// The signed note.
    note: String,
}

/// Runs an audit subcommand.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Export(a) => export(a),
        AuditCommand::Checkpoint(a) => checkpoint(a),
    }
}

/// Opens the database of an existing data directory; a missing SQLite file is an error, not
/// an empty log.
pub(crate) fn open(storage: &StorageSettings) -> anyhow::Result<Database> {
    if let Some(file) = storage.sqlite_file().filter(|f| !f.exists()) {
        bail!(
            "no database at {}: nothing to read (wrong --data or --database-url?)",
            file.display()
        );
    }
    Ok(Database::connect(&storage.database_url)?)
}

fn read_verifier(file: &Path) -> anyhow::Result<NoteVerifier> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    NoteVerifier::parse(text.trim())
        .with_context(|| format!("{} holds no verifier key", file.display()))
}

/// The data directory's verifier key; `hint` says what to do when there is none.
fn data_dir_verifier(storage: &StorageSettings, hint: &str) -> anyhow::Result<NoteVerifier> {
    match audit_key::verifier(&storage.data_dir)? {
        Some(verifier) => Ok(verifier),
        None => bail!(
            "no audit key at {}: {hint}",
            audit_key::path(&storage.data_dir).display()
        ),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let report = match &args.export {
        Some(dir) => {
            let Some(file) = &args.key else {
                bail!("--export needs --key PUBFILE: the export's own key.txt proves nothing");
            };
            verify_export(dir, &read_verifier(file)?)?
        }
        None => {
            let storage = args.storage.resolve()?;
            let key = match &args.key {
                Some(file) => read_verifier(file)?,
                None => data_dir_verifier(&storage, "give the verifier key with --key")?,
            };
            open(&storage)?.check_audit_log(&key)?
        }
    };
    Ok(print_report(&report))
}

fn print_report(report: &Report) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for finding in &report.findings {
        // A closed stdout leaves only the exit status to tell.
        let _ = writeln!(out, "{finding}");
    }
    let summary = format!(
        "{} entries, {} checkpoints verified, root {}",
        report.entries,
        report.checkpoints,
        BASE64.encode(report.root)
    );
    if report.findings.is_empty() {
        let _ = writeln!(out, "audit log intact: {summary}");
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(
            out,
            "audit log damaged: {} findings; {summary}",
            report.findings.len()
        );
        ExitCode::FAILURE
    }
}

fn lines<T: for<'de> Deserialize<'de>>(file: &Path) -> anyhow::Result<Vec<T>> {
    let reader = BufReader::new(
        fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
    );
    reader
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(i, line)| {
            serde_json::from_str(&line?)
                .with_context(|| format!("{} line {} is not a record", file.display(), i + 1))
        })
        .collect()
}

fn verify_export(dir: &Path, key: &NoteVerifier) -> anyhow::Result<Report> {
    let checkpoints: Vec<ExportedCheckpoint> = lines(&dir.join(CHECKPOINTS))?;
    let notes: Vec<(String, String)> = checkpoints
        .into_iter()
        .map(|c| (format!("#{}", c.id), c.note))
        .collect();
    let mut check = LogCheck::new(key, key.name(), &notes);
    for (i, e) in lines::<ExportedEntry>(&dir.join(ENTRIES))?
        .into_iter()
        .enumerate()
    {
        let bad = || {
            format!(
                "{} line {}: entry or leaf_hash is not well formed",
                ENTRIES,
                i + 1
            )
        };
        let bytes = BASE64.decode(&e.entry).with_context(bad)?;
        let leaf_hash: Hash = hex::decode(&e.leaf_hash)
            .ok()
            .and_then(|h| Hash::try_from(h).ok())
            .with_context(bad)?;
        check.push(&FoundEntry {
            seq: e.seq,
            bytes,
            leaf_hash,
        });
    }
    Ok(check.finish())
}

/// Writes `name` in `dir` through a temporary file, so a failed export leaves no partial file.
fn write_file(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut BufWriter<&mut fs::File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}"))
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        fill(&mut writer)?;
        writer.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist(dir.join(name))
        .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    Ok(())
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let storage = args.storage.resolve()?;
    let key = data_dir_verifier(
        &storage,
        "this is not the data directory of the server that keeps the log (wrong --data?)",
    )?;
    let db = open(&storage)?;
    db.integrate_audit()?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    // Entries, checkpoints and key from one state of the log, even while servers append.
    let mut count = 0u64;
    let mut checkpoints = Vec::new();
    write_file(&args.out, ENTRIES, |w| {
        let (kept, _) = db.read_audit_log(
            |all| all,
            |_, found, _| {
                let line = ExportedEntry {
                    seq: found.seq,
                    entry: BASE64.encode(&found.bytes),
                    leaf_hash: hex::encode(found.leaf_hash),
                    decoded: AuditEntry::from_bytes(&found.bytes).ok(),
                };
                serde_json::to_writer(&mut *w, &line)
                    .and_then(|()| w.write_all(b"\n").map_err(serde_json::Error::io))
                    .map_err(|e| vanthu_store::StoreError::Database(Box::new(e)))?;
                count += 1;
                Ok(())
            },
        )?;
        checkpoints = kept;
        Ok(())
    })?;
    write_file(&args.out, CHECKPOINTS, |w| {
        for c in &checkpoints {
            let line = ExportedCheckpoint {
                id: c.id,
                size: c.size,
                created_at: c.created_at,
                note: c.note.clone(),
            };
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })?;
    write_file(&args.out, KEY, |w| Ok(writeln!(w, "{key}")?))?;
    println!(
        "exported {count} entries and {} checkpoints to {}",
        checkpoints.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn checkpoint(args: CheckpointArgs) -> anyhow::Result<ExitCode> {
    let (storage, source, token) = args
        .storage
        .resolve_with_audit_key(&args.keys, &args.audit_token)?;
    let db = open(&storage)?;
    // A key in a token needs no key-encryption key.
    let signer = match &token {
        Some(token) => {
            audit_key::load_from_token(&storage, token).context("cannot open the audit key")?
        }
        None => {
            let kek = kek::load(source.as_ref(), &storage.data_dir, args.dev)?;
            audit_key::load_or_create(&storage, &kek)?
        }
    };
    let issued = db
        .issue_checkpoint(&signer, false, Utc::now())?
        .context("no checkpoint was issued")?;
    print!("{}", issued.note);
    Ok(ExitCode::SUCCESS)
}
