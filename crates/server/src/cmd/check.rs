//! `vanthu check`: compares the database's file records with the blob store.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use vanthu_store::blob::FsBlobStore;
use vanthu_store::check::{check, CheckReport};
use vanthu_store::Database;

use crate::configuration::StorageArgs;

/// Options of `vanthu check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Print the report as JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Runs the check; exit status 0 when consistent, 1 when content is missing or damaged.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let storage = args.storage.resolve()?;
    // Opening a missing SQLite file would create an empty database and report it consistent.
    if let Some(file) = storage.sqlite_file().filter(|f| !f.exists()) {
        bail!(
            "no database at {}: nothing to check (wrong --data or --database-url?)",
            file.display()
        );
    }
    let db = Database::connect(&storage.database_url)?;
    let blob_dir = storage.blob_dir();
    let blobs = FsBlobStore::new(&blob_dir)?;
    let report = check(&db, &blobs)?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["consistent"] = report.is_consistent().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!(
            "{}",
            render(
                &report,
                db.backend().as_str(),
                &blob_dir.display().to_string()
            )
        );
    }
    Ok(if report.is_consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render(report: &CheckReport, backend: &str, blob_dir: &str) -> String {
    let mut out = format!(
        "vanthu check: {backend} database, blob store {blob_dir}\n\
         \x20 files recorded in the database: {}\n\
         \x20 blobs in the store:             {}\n",
        report.files_in_database, report.blobs_in_store
    );
    let mut section = |title: &str, items: Vec<String>| {
        out.push_str(&format!("  {title:<32}{}\n", items.len()));
        for item in items {
            out.push_str(&format!("    {item}\n"));
        }
    };
    let digests = |v: &[vanthu_domain::Sha256Digest]| v.iter().map(|d| d.to_string()).collect();
    section(
        "missing blobs (content lost):",
        digests(&report.missing_blobs),
    );
    section(
        "damaged blobs (content changed):",
        digests(&report.corrupt_blobs),
    );
    section(
        "unreferenced blobs (harmless):",
        digests(&report.orphan_blobs),
    );
    section("unfinished writes (harmless):", report.temp_files.clone());
    out.push_str(if report.is_consistent() {
        "result: consistent, every recorded file has its intact content\n"
    } else {
        "result: INCONSISTENT, restore the listed blobs from a backup\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vanthu_domain::Sha256Digest;

    #[test]
    fn report_names_damaged_blobs_and_the_verdict() {
        let damaged = Sha256Digest::from_bytes(&[7; 32]);
        let report = CheckReport {
            files_in_database: 2,
            blobs_in_store: 2,
            missing_blobs: vec![],
            corrupt_blobs: vec![damaged.clone()],
            orphan_blobs: vec![],
            temp_files: vec!["upload-x.part".into()],
        };
        let text = render(&report, "sqlite", "data/blobs");
        assert!(text.contains(damaged.as_str()), "{text}");
        assert!(text.contains("upload-x.part"), "{text}");
        assert!(text.contains("INCONSISTENT"), "{text}");
    }
}
