//! The images drawn in visible signatures: a leader's signature and a unit's seal (Decree
//! 30/2020 Appendix I), one each, kept as blobs; a new upload replaces the old in one
//! transaction with its audit entry.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::{Sha256Digest, UnitId, UserId};

use crate::audit::{self, Event};
use crate::db::DbConnection;
use crate::outgoing::hold_blob;
use crate::schema::appearance_images;
use crate::time::{from_millis, to_millis};
use crate::units::load_unit;
use crate::users::load_user;
use crate::{Database, NewRevision, StoreError};

const PNG: &str = "image/png";

/// Whose image it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOwner {
    /// A leader's signature.
    Signature(UserId),
    /// A unit's seal.
    Seal(UnitId),
}

/// An image as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppearanceImage {
    /// The PNG blob.
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

impl Database {
    /// Makes `file` (a PNG in the blob store, checked by the caller) the image of `owner`,
    /// replacing the one it had.
    pub fn set_appearance_image(
        &self,
        owner: ImageOwner,
        file: &NewRevision,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<AppearanceImage, StoreError> {
        self.transaction(|conn| {
            let (holder, action, object) = match owner {
                ImageOwner::Signature(user) => (
                    load_user(conn, user)?.unit_id,
                    AuditAction::UserSignatureImage,
                    ObjectRef::user(user),
                ),
                ImageOwner::Seal(unit) => (
                    load_unit(conn, unit)?.id,
                    AuditAction::UnitSealImage,
                    ObjectRef::unit(unit),
                ),
            };
            let size = hold_blob(conn, holder, file, PNG, by, at)?;
            let (user_id, unit_id) = columns(owner);
            match owner {
                ImageOwner::Signature(user) => diesel::delete(
                    appearance_images::table.filter(appearance_images::user_id.eq(user.get())),
                )
                .execute(conn)?,
                ImageOwner::Seal(unit) => diesel::delete(
                    appearance_images::table.filter(appearance_images::unit_id.eq(unit.get())),
                )
                .execute(conn)?,
            };
            diesel::insert_into(appearance_images::table)
                .values((
                    appearance_images::user_id.eq(user_id),
                    appearance_images::unit_id.eq(unit_id),
                    appearance_images::sha256.eq(file.sha256.as_str()),
                    appearance_images::size.eq(size),
                    appearance_images::uploaded_by.eq(by.get()),
                    appearance_images::uploaded_at.eq(to_millis(at)),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                Some(by),
                at,
                Event::done(action, object).file(&file.sha256),
            )?;
            load(conn, owner)?.ok_or_else(|| StoreError::corrupt("an image just stored is gone"))
        })
    }

    /// The image of `owner`, if one was uploaded.
    pub fn appearance_image(
        &self,
        owner: ImageOwner,
    ) -> Result<Option<AppearanceImage>, StoreError> {
        load(&mut *self.conn()?, owner)
    }
}

fn columns(owner: ImageOwner) -> (Option<i64>, Option<i64>) {
    match owner {
        ImageOwner::Signature(user) => (Some(user.get()), None),
        ImageOwner::Seal(unit) => (None, Some(unit.get())),
    }
}

fn load(conn: &mut DbConnection, owner: ImageOwner) -> Result<Option<AppearanceImage>, StoreError> {
    let select = (
        appearance_images::sha256,
        appearance_images::size,
        appearance_images::uploaded_by,
        appearance_images::uploaded_at,
    );
    let row: Option<(String, i64, i64, i64)> = match owner {
        ImageOwner::Signature(user) => appearance_images::table
            .filter(appearance_images::user_id.eq(user.get()))
            .select(select)
            .first(conn)
            .optional()?,
        ImageOwner::Seal(unit) => appearance_images::table
            .filter(appearance_images::unit_id.eq(unit.get()))
            .select(select)
            .first(conn)
            .optional()?,
    };
    row.map(|(sha256, size, by, at)| {
        Ok(AppearanceImage {
            sha256: Sha256Digest::parse(&sha256).map_err(StoreError::corrupt)?,
            size: u64::try_from(size).map_err(StoreError::corrupt)?,
            uploaded_by: UserId::new(by).map_err(StoreError::corrupt)?,
            uploaded_at: from_millis(at)?,
        })
    })
    .transpose()
}
