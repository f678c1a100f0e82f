//! `vanthu bench audit`: committed appends to the audit log per second on the configured
//! database, the integrator's rate, the check of that log and of a million entries in memory,
//! and inclusion proofs from the database, each printed beside the target it is read against.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use vanthu_audit::merkle::{leaf_hash, verify_inclusion};
use vanthu_audit::verify::{FoundEntry, LogCheck};
use vanthu_audit::{
    AuditAction, AuditEntry, AuditRecord, Checkpoint, CompactRange, NoteSigner, Outcome,
};
use vanthu_store::Database;

use super::bench::{machine, mark};

/// Targets of issue 7.
const APPENDS_TARGET: f64 = 5_000.0;
/// Tessera's POSIX log, as its authors report it on 12 cores.
const TESSERA_POSIX: f64 = 2_900.0;
const VERIFY_TARGET: Duration = Duration::from_secs(5);
const PROOF_TARGET: Duration = Duration::from_millis(1);

/// Options of `vanthu bench audit`.
#[derive(Debug, Args)]
pub struct AuditBenchArgs {
    /// Database to append to (default: a fresh SQLite file in a temporary folder). Use a
    /// PostgreSQL database of its own: the benchmark leaves its entries there
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Seconds of appending
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,

    /// Threads appending at once, each with its own transactions
    #[arg(long, default_value_t = 8)]
    pub threads: usize,

    /// Entries of the in-memory log that is checked
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
}

/// Runs the benchmark.
pub fn run(args: AuditBenchArgs) -> anyhow::Result<ExitCode> {
    let tmp = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let db = Database::connect(&url)?;
    println!("machine: {}; database: {}", machine(), db.backend());

    let (appended, elapsed) = append(&db, args.threads, Duration::from_secs_f64(args.seconds))?;
    let rate = appended as f64 / elapsed.as_secs_f64();
    println!(
        "appends ({} threads, each entry its own committed transaction): {rate:.0}/s  \
         target {APPENDS_TARGET:.0}/s{}  Tessera POSIX {TESSERA_POSIX:.0}/s on 12 cores",
        args.threads,
        mark(rate >= APPENDS_TARGET)
    );
    let start = Instant::now();
    let filed = db.integrate_audit()?;
    let took = start.elapsed();
    println!(
        "integrating them into the tree: {filed} entries in {:.2} s = {:.0}/s",
        took.as_secs_f64(),
        filed as f64 / took.as_secs_f64()
    );
    let signer = NoteSigner::generate("bench.vanthu.local/audit")?;
    db.issue_checkpoint(&signer, false, chrono::Utc::now())?;
    let start = Instant::now();
    let report = db.check_audit_log(&signer.verifier())?;
    let took = start.elapsed();
    anyhow::ensure!(
        report.findings.is_empty(),
        "the benchmark's own log does not verify"
    );
    println!(
        "vanthu audit verify on the database: {} entries in {:.2} s = {:.0}/s",
        report.entries,
        took.as_secs_f64(),
        report.entries as f64 / took.as_secs_f64()
    );
    let head = db.audit_head()?;
    let probes = 20u64;
    let start = Instant::now();
    for i in 0..probes {
        let seq = i * head.size / probes;
        let (leaf, proof) = db.audit_inclusion_proof(seq, head.size)?;
        verify_inclusion(seq, head.size, &leaf, &proof, &head.root)?;
    }
    let per = start.elapsed() / probes as u32;
    println!(
        "inclusion proof from the database (tree of {}): {:.2} ms each  target {:.0} ms{}",
        head.size,
        per.as_secs_f64() * 1e3,
        PROOF_TARGET.as_secs_f64() * 1e3,
        mark(per <= PROOF_TARGET)
    );

    memory_log(args.entries)?;
    Ok(ExitCode::SUCCESS)
}

/// Appends from `threads` threads for `budget`; returns the entries committed and the time.
fn append(db: &Database, threads: usize, budget: Duration) -> anyhow::Result<(u64, Duration)> {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (db, done, count) = (db.clone(), done.clone(), count.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let name = format!("bench.{t}");
                while !done.load(Ordering::Relaxed) {
                    db.record_login_failure(None, &name, "unknown account", chrono::Utc::now())?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(budget);
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("an appending thread panicked"))??;
    }
    Ok((count.load(Ordering::Relaxed), start.elapsed()))
}

/// Builds a log of `n` entries in memory with one checkpoint at its end, then times the
/// whole-log check over it.
fn memory_log(n: u64) -> anyhow::Result<()> {
    let signer = NoteSigner::generate("bench.vanthu.local/audit")?;
    let mut range = CompactRange::new();
    let mut previous = [0; 32];
    let mut entries = Vec::with_capacity(usize::try_from(n)?);
    for seq in 0..n {
        let entry = AuditEntry {
            seq,
            previous,
            record: AuditRecord {
                time_ms: 1_764_633_600_000 + seq as i64,
                actor: None,
                actor_unit: None,
                action: AuditAction::LoginFailed,
                object: None,
                file_sha256: None,
                outcome: Outcome::Failure,
                details: BTreeMap::from([("reason".to_owned(), "unknown account".to_owned())]),
            },
        };
        let bytes = entry.to_bytes();
        previous = leaf_hash(&bytes);
        range.append(previous);
        entries.push(FoundEntry {
            seq,
            bytes,
            leaf_hash: previous,
        });
    }
    let note = signer.sign(
        &Checkpoint {
            origin: signer.name().to_owned(),
            size: n,
            root: range.root(),
        }
        .to_text(),
    )?;
    let start = Instant::now();
    let mut check = LogCheck::new(&signer.verifier(), signer.name(), &[("#1".into(), note)]);
    for e in &entries {
        check.push(e);
    }
    let report = check.finish();
    let took = start.elapsed();
    anyhow::ensure!(
        report.findings.is_empty() && report.checkpoints == 1,
        "the log does not verify"
    );
    println!(
        "checking a log of {n} entries in memory (decode, hash, link, tree, checkpoint): \
         {:.2} s  target {:.0} s{}",
        took.as_secs_f64(),
        VERIFY_TARGET.as_secs_f64(),
        mark(took <= VERIFY_TARGET)
    );
    Ok(())
}
