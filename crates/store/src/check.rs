//! Consistency check between the `files` table and the blob store.

use serde::Serialize;
use vanthu_domain::Sha256Digest;

use crate::blob::BlobStore;
use crate::{Database, StoreError};

/// What `vanthu check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Distinct digests the database refers to.
    pub files_in_database: usize,
    /// Blobs present in the store.
    pub blobs_in_store: usize,
    /// Referenced by the database but absent from the store: content is lost.
    pub missing_blobs: Vec<Sha256Digest>,
    /// Present but their content no longer hashes to their name: content is damaged.
    pub corrupt_blobs: Vec<Sha256Digest>,
    /// Stored but referenced by no database row, e.g. after a crash between writing the blob
    /// and recording it. Harmless; they take space only.
    pub orphan_blobs: Vec<Sha256Digest>,
    /// Unfinished writes left by a crash. Harmless; removed at the next start.
    pub temp_files: Vec<String>,
}

impl CheckReport {
    /// True when every file the database knows has its intact content in the store. Orphans
    /// and leftovers from interrupted writes do not make the store inconsistent.
    pub fn is_consistent(&self) -> bool {
        self.missing_blobs.is_empty() && self.corrupt_blobs.is_empty()
    }
}

/// Compares the database with the blob store, re-hashing every referenced blob.
pub fn check(db: &Database, blobs: &dyn BlobStore) -> Result<CheckReport, StoreError> {
    let referenced = db.file_digests()?;
    let stored = blobs.list()?;
    let mut missing_blobs = Vec::new();
    let mut corrupt_blobs = Vec::new();
    for sha in &referenced {
        if stored.binary_search(sha).is_err() {
            missing_blobs.push(sha.clone());
        } else if !blobs.verify(sha)? {
            corrupt_blobs.push(sha.clone());
        }
    }
    let orphan_blobs = stored
        .iter()
        .filter(|sha| referenced.binary_search(sha).is_err())
        .cloned()
        .collect();
    Ok(CheckReport {
        files_in_database: referenced.len(),
        blobs_in_store: stored.len(),
        missing_blobs,
        corrupt_blobs,
        orphan_blobs,
        temp_files: blobs.temp_leftovers()?,
    })
}
