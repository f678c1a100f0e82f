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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Cursor;

    use vanthu_domain::Role;

    use super::*;
    use crate::blob::FsBlobStore;
    use crate::test_support::{tree, user};
    use crate::testing::TestDatabase;
    use crate::NewFile;

    #[test]
    fn check_compares_database_and_blobs() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::new(dir.path()).unwrap();
        let t = tree(&db);
        let clerk = user(&db, "district.clerk", &t.district, &[Role::Clerk]);
        let record = |content: &[u8]| {
            let blob = blobs.put(&mut Cursor::new(content)).unwrap();
            db.insert_file(&NewFile {
                sha256: blob.sha256.clone(),
                size: blob.size,
                media_type: "application/pdf".into(),
                unit_id: t.district.id,
                uploaded_by: clerk.id,
            })
            .unwrap();
            blob.sha256
        };

        let empty = check(&db, &blobs).unwrap();
        assert!(empty.is_consistent());
        assert_eq!((empty.files_in_database, empty.blobs_in_store), (0, 0));

        let a = record(b"document a");
        let b = record(b"document b");
        let report = check(&db, &blobs).unwrap();
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!((report.files_in_database, report.blobs_in_store), (2, 2));

        // A crash after the blob was written but before it was recorded, and one mid-write.
        let orphan = blobs
            .put(&mut Cursor::new(b"never recorded"))
            .unwrap()
            .sha256;
        fs::write(dir.path().join("tmp").join("upload-1.part"), b"partial").unwrap();
        let report = check(&db, &blobs).unwrap();
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(report.orphan_blobs, vec![orphan]);
        assert_eq!(report.temp_files, vec!["upload-1.part".to_string()]);

        fs::remove_file(blobs.path_of(&a)).unwrap();
        fs::write(blobs.path_of(&b), b"document B").unwrap();
        let report = check(&db, &blobs).unwrap();
        assert!(!report.is_consistent());
        assert_eq!(report.missing_blobs, vec![a]);
        assert_eq!(report.corrupt_blobs, vec![b]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["missing_blobs"].as_array().unwrap().len(), 1);
        assert_eq!(json["files_in_database"], 2);
    }
}
