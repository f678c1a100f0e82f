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

#[cfg(test)]
mod tests {
    use vanthu_domain::{Role, Sha256Digest, UnitId};

    use super::*;
    use crate::test_support::{tree, user};
    use crate::testing::TestDatabase;

    fn digest(byte: u8) -> Sha256Digest {
        Sha256Digest::from_bytes(&[byte; 32])
    }

    #[test]
    fn files_are_recorded_once_per_unit() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let clerk = user(&db, "district.clerk", &t.district, &[Role::Clerk]);
        let other = user(&db, "commune.clerk", &t.commune, &[Role::Clerk]);
        let new = NewFile {
            sha256: digest(0xab),
            size: 1234,
            media_type: "application/pdf".into(),
            unit_id: t.district.id,
            uploaded_by: clerk.id,
        };
        let first = db.insert_file(&new).unwrap();
        assert_eq!(first.sha256, new.sha256);
        assert_eq!(
            (first.size, first.unit_id, first.uploaded_by),
            (1234, t.district.id, clerk.id)
        );
        assert_eq!(first.unit_path, t.district.path);
        assert_eq!(first.media_type, "application/pdf");

        // The same content again from the same unit changes nothing.
        let again = NewFile {
            media_type: "application/octet-stream".into(),
            ..new.clone()
        };
        assert_eq!(db.insert_file(&again).unwrap(), first);

        let elsewhere = NewFile {
            unit_id: t.commune.id,
            uploaded_by: other.id,
            ..new.clone()
        };
        let second = db.insert_file(&elsewhere).unwrap();
        assert_eq!(second.unit_path, t.commune.path);
        let holders = db.files_by_sha256(&new.sha256).unwrap();
        assert_eq!(holders.len(), 2);
        assert!(holders.contains(&first) && holders.contains(&second));
        assert_eq!(db.get_file(&new.sha256, t.commune.id).unwrap(), second);
        assert!(matches!(
            db.get_file(&new.sha256, t.sibling.id),
            Err(StoreError::NotFound { entity: "file" })
        ));
        assert!(db.files_by_sha256(&digest(0x01)).unwrap().is_empty());

        db.insert_file(&NewFile {
            sha256: digest(0x01),
            ..new.clone()
        })
        .unwrap();
        assert_eq!(db.file_digests().unwrap(), vec![digest(0x01), digest(0xab)]);

        let bad_unit = NewFile {
            sha256: digest(0x02),
            unit_id: UnitId::new(999).unwrap(),
            ..new.clone()
        };
        assert!(matches!(
            db.insert_file(&bad_unit),
            Err(StoreError::NotFound { entity: "unit" })
        ));
        let too_big = NewFile {
            size: u64::MAX,
            ..new
        };
        assert!(matches!(
            db.insert_file(&too_big),
            Err(StoreError::Invalid(_))
        ));
    }
}
