use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;
use vanthu_domain::ValidationError;
use vanthu_routing::{OutgoingTransitionError, TransitionError};

use crate::blob::BlobError;

/// Everything that can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The requested row does not exist (HTTP 404).
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for: `unit`, `user`, `session`, ...
        entity: &'static str,
    },
    /// A unique value is already taken (HTTP 409).
    #[error("a {entity} with this {field} already exists")]
    Conflict {
        /// The kind of row: `unit`, `user`, ...
        entity: &'static str,
        /// The field whose value is taken: `code`, `username`, ...
        field: &'static str,
    },
    /// The step is not possible in the state the document is in (HTTP 409).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The step is not possible in the state the outgoing document is in (HTTP 409).
    #[error(transparent)]
    OutgoingTransition(#[from] OutgoingTransitionError),
    /// The object changed between the caller reading it and the change; nothing was written
    /// (HTTP 409).
    #[error(
        "this {entity} changed while you were working on it (it is now {now}); reload it and \
         try again"
    )]
    Stale {
        /// The kind of object: `incoming document`.
        entity: &'static str,
        /// Its state now.
        now: String,
    },
    /// The document is frozen (recalled by its sender); nothing was written (HTTP 409).
    #[error("{0}")]
    Frozen(&'static str),
    /// The document cannot be copied in the state it is in; nothing was written (HTTP 409).
    #[error(transparent)]
    NotCopyable(#[from] vanthu_routing::CopyRefused),
    /// The object was revoked already; nothing was written (HTTP 409).
    #[error("this {0} was revoked already")]
    Revoked(&'static str),
    /// The change breaks a domain rule, e.g. a commune placed under a commune (HTTP 422).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A stored value no longer parses; the database was changed outside vanthu.
    #[error("corrupt data in the database: {0}")]
    Corrupt(String),
    /// The URL is not understood or the first connection failed.
    #[error("cannot open the database: {0}")]
    Connect(String),
    /// The embedded migrations could not be applied.
    #[error("cannot update the database schema: {0}")]
    Migration(String),
    /// No connection became available (database down or overloaded).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// Failure in the blob store.
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str) -> Self {
        StoreError::NotFound { entity }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::not_found("record"),
            other => StoreError::Database(Box::new(other)),
        }
    }
}

/// Maps a unique violation to [`StoreError::Conflict`] and a missing row to
/// [`StoreError::NotFound`], naming the entity; used where the caller knows which unique key
/// an insert or update can hit.
pub(crate) fn classify(
    entity: &'static str,
    unique_field: &'static str,
) -> impl Fn(DieselError) -> StoreError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict {
            entity,
            field: unique_field,
        },
        DieselError::NotFound => StoreError::not_found(entity),
        other => StoreError::from(other),
    }
}

/// Maps a missing row to [`StoreError::NotFound`] naming the entity.
pub(crate) fn missing(entity: &'static str) -> impl Fn(DieselError) -> StoreError {
    move |e| match e {
        DieselError::NotFound => StoreError::not_found(entity),
        other => StoreError::from(other),
    }
}
