//! Electronic copies (bản sao điện tử) of the documents a unit holds: the copy's file, what it
//! was made from, its form, who made it and when.
//!
//! Making a copy is one transaction that checks again, under the write, that the document is
//! still copyable and that its file is still the one the caller sealed: a copy of a document
//! recalled or returned in the meantime is refused and nothing is written.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::{CopyId, IncomingId, OutgoingId, Sha256Digest, UnitId, UserId};
use vanthu_routing::{
    incoming_copyable, outgoing_copyable, verified_copyable, CopyForm, CopyRefused, PageSelection,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, DbConnection};
use crate::error::missing;
use crate::incoming::load_incoming;
use crate::outgoing::{hold_pdf, load_outgoing};
use crate::schema::{document_copies, incoming_files, outgoing_files};
use crate::time::{from_millis, to_millis};
use crate::{Database, Medium, NewRevision, StoreError};

const ENTITY: &str = "copy";

/// The document a copy was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopySource {
    /// An outgoing document the unit issued.
    Outgoing(OutgoingId),
    /// An incoming document the unit received.
    Incoming(IncomingId),
}

impl CopySource {
    /// The audit object of the source document.
    pub fn object(self) -> ObjectRef {
        match self {
            CopySource::Outgoing(id) => ObjectRef::outgoing(id),
            CopySource::Incoming(id) => ObjectRef::incoming(id),
        }
    }
}

/// A copy to record, once its sealed file is in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCopy {
    /// The copying unit, whose seal signed it.
    pub unit_id: UnitId,
    /// What it is a copy of.
    pub source: CopySource,
    /// The file it was made from: the source's latest file when the caller read it.
    pub source_sha256: Sha256Digest,
    /// Sao y, sao lục or trích sao.
    pub form: CopyForm,
    /// The pages a trích sao extracts; `None` for the whole-document forms.
    pub pages: Option<PageSelection>,
    /// The sealed copy.
    pub file: NewRevision,
    /// The clerk.
    pub made_by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// An electronic copy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCopy {
    /// Its id.
    pub id: CopyId,
    /// The copying unit.
    pub unit_id: UnitId,
    /// What it is a copy of.
    pub source: CopySource,
    /// Sao y, sao lục or trích sao.
    pub form: CopyForm,
    /// The pages a trích sao extracts.
    pub pages: Option<PageSelection>,
    /// The file it was made from.
    pub source_sha256: Sha256Digest,
    /// The copy's file.
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
    /// The clerk who made it.
    pub made_by: UserId,
    /// When.
    pub made_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = document_copies)]
struct CopyRow {
    id: i64,
    unit_id: i64,
    outgoing_id: Option<i64>,
    incoming_id: Option<i64>,
    form: String,
    pages: Option<String>,
    source_sha256: String,
    sha256: String,
    size: i64,
    made_by: i64,
    made_at: i64,
}

fn to_copy(row: CopyRow) -> Result<DocumentCopy, StoreError> {
    let id = row.id;
    let source = match (row.outgoing_id, row.incoming_id) {
        (Some(id), None) => CopySource::Outgoing(OutgoingId::new(id).map_err(StoreError::corrupt)?),
        (None, Some(id)) => CopySource::Incoming(IncomingId::new(id).map_err(StoreError::corrupt)?),
        _ => {
            return Err(StoreError::corrupt(format!(
                "copy {id} names no single source"
            )))
        }
    };
    Ok(DocumentCopy {
        id: CopyId::new(id).map_err(StoreError::corrupt)?,
        unit_id: UnitId::new(row.unit_id).map_err(StoreError::corrupt)?,
        source,
        form: row.form.parse().map_err(StoreError::corrupt)?,
        pages: row
            .pages
            .map(|p| p.parse())
            .transpose()
            .map_err(StoreError::corrupt)?,
        source_sha256: Sha256Digest::parse(&row.source_sha256).map_err(StoreError::corrupt)?,
        sha256: Sha256Digest::parse(&row.sha256).map_err(StoreError::corrupt)?,
        size: u64::try_from(row.size).map_err(StoreError::corrupt)?,
        made_by: UserId::new(row.made_by).map_err(StoreError::corrupt)?,
        made_at: from_millis(row.made_at)?,
    })
}

/// Checks, inside the copying transaction, that the source is still copyable by `unit` and
/// that its latest file is still `sha256`.
fn check_source(
    conn: &mut DbConnection,
    source: CopySource,
    unit: UnitId,
    sha256: &Sha256Digest,
) -> Result<(), StoreError> {
    let (holder, medium, latest) = match source {
        CopySource::Outgoing(id) => {
            let document = load_outgoing(conn, id)?;
            outgoing_copyable(document.state)?;
            let latest: Option<String> = outgoing_files::table
                .filter(outgoing_files::document_id.eq(id.get()))
                .order(outgoing_files::revision.desc())
                .select(outgoing_files::sha256)
                .first(conn)
                .optional()?;
            (document.unit_id, document.medium, latest)
        }
        CopySource::Incoming(id) => {
            let document = load_incoming(conn, id)?;
            incoming_copyable(document.state, document.recall.as_ref().map(|r| r.state))?;
            if document.medium != Medium::Paper {
                verified_copyable(&document.verification)?;
            }
            let latest: Option<String> = incoming_files::table
                .filter(incoming_files::document_id.eq(id.get()))
                .order(incoming_files::revision.desc())
                .select(incoming_files::sha256)
                .first(conn)
                .optional()?;
            (document.unit_id, document.medium, latest)
        }
    };
    if holder != unit {
        return Err(StoreError::corrupt(format!(
            "a copy for unit {unit} of a document held by unit {holder}"
        )));
    }
    if medium == Medium::Paper {
        return Err(CopyRefused::OnPaper.into());
    }
    if latest.as_deref() != Some(sha256.as_str()) {
        return Err(StoreError::Stale {
            entity: "document",
            now: "a new file".into(),
        });
    }
    Ok(())
}

impl Database {
    /// Records a copy sealed by its unit, if its source is still copyable and still at the
    /// file it was made from, with its audit entry.
    pub fn record_copy(&self, new: &NewCopy) -> Result<DocumentCopy, StoreError> {
        self.transaction(|conn| {
            check_source(conn, new.source, new.unit_id, &new.source_sha256)?;
            let size = hold_pdf(conn, new.unit_id, &new.file, new.made_by, new.at)?;
            let (outgoing, incoming) = match new.source {
                CopySource::Outgoing(id) => (Some(id.get()), None),
                CopySource::Incoming(id) => (None, Some(id.get())),
            };
            let id = insert_returning_id!(
                &mut *conn,
                document_copies::table,
                (
                    document_copies::unit_id.eq(new.unit_id.get()),
                    document_copies::outgoing_id.eq(outgoing),
                    document_copies::incoming_id.eq(incoming),
                    document_copies::form.eq(new.form.as_str()),
                    document_copies::pages.eq(new.pages.as_ref().map(ToString::to_string)),
                    document_copies::source_sha256.eq(new.source_sha256.as_str()),
                    document_copies::sha256.eq(new.file.sha256.as_str()),
                    document_copies::size.eq(size),
                    document_copies::made_by.eq(new.made_by.get()),
                    document_copies::made_at.eq(to_millis(new.at)),
                ),
                document_copies::id
            )?;
            let action = match new.source {
                CopySource::Outgoing(_) => AuditAction::OutgoingCopy,
                CopySource::Incoming(_) => AuditAction::IncomingCopy,
            };
            let mut event = Event::done(action, new.source.object())
                .with("copy", id.to_string())
                .with("form", new.form.as_str());
            if let Some(pages) = &new.pages {
                event = event.with("pages", pages.to_string());
            }
            let event = event
                .with("source_sha256", new.source_sha256.as_str())
                .file(&new.file.sha256);
            audit::record(conn, Some(new.made_by), new.at, event)?;
            load_copy(conn, CopyId::new(id).map_err(StoreError::corrupt)?)
        })
    }

    /// A copy by id.
    pub fn get_copy(&self, id: CopyId) -> Result<DocumentCopy, StoreError> {
        load_copy(&mut *self.conn()?, id)
    }

    /// The copies made of a document, oldest first.
    pub fn copies_of(&self, source: CopySource) -> Result<Vec<DocumentCopy>, StoreError> {
        let conn = &mut *self.conn()?;
        let copies = document_copies::table.order(document_copies::id.asc());
        let rows: Vec<CopyRow> = match source {
            CopySource::Outgoing(id) => copies
                .filter(document_copies::outgoing_id.eq(id.get()))
                .select(CopyRow::as_select())
                .load(conn)?,
            CopySource::Incoming(id) => copies
                .filter(document_copies::incoming_id.eq(id.get()))
                .select(CopyRow::as_select())
                .load(conn)?,
        };
        rows.into_iter().map(to_copy).collect()
    }
}

fn load_copy(conn: &mut DbConnection, id: CopyId) -> Result<DocumentCopy, StoreError> {
    let row: CopyRow = document_copies::table
        .find(id.get())
        .select(CopyRow::as_select())
        .get_result(conn)
        .map_err(missing(ENTITY))?;
    to_copy(row)
}
