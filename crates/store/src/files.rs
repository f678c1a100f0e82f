//! Which unit holds which stored file. The content itself lives in the blob store.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use vanthu_domain::{Sha256Digest, UnitId, UnitPath, UserId, ValidationError};

use crate::db::DbConnection;
use crate::error::missing;
use crate::schema::{files, units};
use crate::time::{from_millis, now, to_millis};
use crate::units::load_unit;
use crate::users::load_user;
use crate::{Database, StoreError};

/// A file to record for a unit after its content was put in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Content digest (the blob's name).
    pub sha256: Sha256Digest,
    /// Content length in bytes.
    pub size: u64,
    /// Media type declared at upload, e.g. `application/pdf`.
    pub media_type: String,
    /// The unit that holds the file.
    pub unit_id: UnitId,
    /// Who uploaded it.
    pub uploaded_by: UserId,
}

/// A file held by a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    /// Content digest (the blob's name).
    pub sha256: Sha256Digest,
    /// Content length in bytes.
    pub size: u64,
    /// Media type declared at the first upload by this unit.
    pub media_type: String,
    /// The unit that holds the file.
    pub unit_id: UnitId,
    /// Path of that unit, for access checks.
    pub unit_path: UnitPath,
    /// Who uploaded it first in this unit.
    pub uploaded_by: UserId,
    /// When it was first uploaded by this unit.
    pub created_at: DateTime<Utc>,
}

type FileRow = (String, i64, String, i64, String, i64, i64);

const fn file_columns() -> (
    files::sha256,
    files::size,
    files::media_type,
    files::unit_id,
    units::path,
    files::uploaded_by,
    files::created_at,
) {
    (
        files::sha256,
        files::size,
        files::media_type,
        files::unit_id,
        units::path,
        files::uploaded_by,
        files::created_at,
    )
}

fn to_record(row: FileRow) -> Result<FileRecord, StoreError> {
    let (sha256, size, media_type, unit_id, path, uploaded_by, created_at) = row;
    let bad = |e: ValidationError| StoreError::corrupt(format!("file {sha256}: {e}"));
    Ok(FileRecord {
        sha256: Sha256Digest::parse(&sha256).map_err(bad)?,
        size: u64::try_from(size).map_err(StoreError::corrupt)?,
        media_type,
        unit_id: UnitId::new(unit_id).map_err(bad)?,
        unit_path: UnitPath::parse(&path).map_err(bad)?,
        uploaded_by: UserId::new(uploaded_by).map_err(bad)?,
        created_at: from_millis(created_at)?,
    })
}

fn load_file(
    conn: &mut DbConnection,
    sha256: &Sha256Digest,
    unit: UnitId,
) -> Result<Option<FileRecord>, StoreError> {
    files::table
        .inner_join(units::table)
        .filter(files::sha256.eq(sha256.as_str()))
        .filter(files::unit_id.eq(unit.get()))
        .select(file_columns())
        .first::<FileRow>(conn)
        .optional()?
        .map(to_record)
        .transpose()
}

impl Database {
    /// Records that `new.unit_id` holds the file, unless it already does; returns the record
    /// either way (an existing one unchanged).
    pub fn insert_file(&self, new: &NewFile) -> Result<FileRecord, StoreError> {
        let size =
            i64::try_from(new.size).map_err(|_| ValidationError::new("size", "is too large"))?;
        let attempt = || {
            self.transaction(|conn| {
                if let Some(existing) = load_file(conn, &new.sha256, new.unit_id)? {
                    return Ok(existing);
                }
                load_unit(conn, new.unit_id)?;
                load_user(conn, new.uploaded_by)?;
                diesel::insert_into(files::table)
                    .values((
                        files::sha256.eq(new.sha256.as_str()),
                        files::unit_id.eq(new.unit_id.get()),
                        files::size.eq(size),
                        files::media_type.eq(&new.media_type),
                        files::uploaded_by.eq(new.uploaded_by.get()),
                        files::created_at.eq(to_millis(now())),
                    ))
                    .execute(conn)?;
                load_file(conn, &new.sha256, new.unit_id)?
                    .ok_or_else(|| StoreError::not_found("file"))
            })
        };
        match attempt() {
            // Another upload of the same content by the same unit won the race: read its row.
            Err(StoreError::Database(e)) if is_unique_violation(&*e) => attempt(),
            other => other,
        }
    }

    /// The record of `sha256` held by `unit`.
    pub fn get_file(&self, sha256: &Sha256Digest, unit: UnitId) -> Result<FileRecord, StoreError> {
        load_file(&mut *self.conn()?, sha256, unit)?.ok_or_else(|| StoreError::not_found("file"))
    }

    /// Every unit's record of `sha256`, oldest first; empty if nobody holds it. Callers
    /// authorise each record and serve the first one the actor may read.
    pub fn files_by_sha256(&self, sha256: &Sha256Digest) -> Result<Vec<FileRecord>, StoreError> {
        files::table
            .inner_join(units::table)
            .filter(files::sha256.eq(sha256.as_str()))
            .select(file_columns())
            .order((files::created_at.asc(), files::unit_id.asc()))
            .load::<FileRow>(&mut *self.conn()?)
            .map_err(missing("file"))?
            .into_iter()
            .map(to_record)
            .collect()
    }

    /// Every distinct digest the database refers to, sorted (for the consistency check).
    pub fn file_digests(&self) -> Result<Vec<Sha256Digest>, StoreError> {
        let mut digests = files::table
            .select(files::sha256)
            .distinct()
            .load::<String>(&mut *self.conn()?)?
            .iter()
            .map(|s| Sha256Digest::parse(s).map_err(StoreError::corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here, not in SQL, so the order does not depend on the database collation.
        digests.sort();
        Ok(digests)
    }
}

fn is_unique_violation(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    matches!(
        e.downcast_ref::<diesel::result::Error>(),
        Some(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}
