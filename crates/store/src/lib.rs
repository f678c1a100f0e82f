//! Storage for vanthu: diesel on SQLite or PostgreSQL, embedded migrations, and the content-addressed blob store.
//!
//! [`Database`] is a connection pool with repository methods that take and return domain
//! types; every change that touches several rows runs in one transaction. All calls block:
//! run them on a blocking thread pool. Files are kept in a [`blob::BlobStore`] by SHA-256, and
//! [`check::check`] compares the two.

mod audit;
pub mod blob;
mod certificates;
pub mod check;
mod copies;
mod db;
mod delegations;
mod error;
mod files;
mod handling;
mod images;
mod incoming;
mod outbox;
mod outgoing;
mod pin_counter;
pub mod private;
mod remote_signing;
mod reports;
mod schema;
mod sessions;
mod signing_keys;
mod synthetic;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod time;
mod token_keys;
mod units;
mod users;

pub use audit::{Access, AuditFilter, StoredCheckpoint, TreeHead};
pub use certificates::{Certificate, CertificateOwner, CertificatePurpose, NewCertificate};
pub use copies::{CopySource, DocumentCopy, NewCopy};
pub use db::{Backend, Database};
pub use delegations::{Delegation, NewDelegation, OnBehalfOf};
pub use error::StoreError;
pub use files::{FileRecord, NewFile};
pub use handling::HandlingLine;
pub use images::{AppearanceImage, ImageOwner};
pub use incoming::{
    Arrival, AssignmentRecord, IncomingDocument, IncomingFile, IncomingFilter, NewIncoming,
    NewPaperIncoming, RecallRecord, TraceEntry, UpdatedFile,
};
pub use outbox::{OutboxBusiness, OutboxEntry, OutboxKind, OutboxList, OutboxState, SealedPackage};
pub use outgoing::{
    IssueRecord, Medium, NewDraft, NewPaperDocument, NewRevision, OutgoingDocument, OutgoingFile,
    OutgoingFilter, OutgoingTraceEntry, PreparedSignature, RecipientStatus, RevisionKind,
    SignatureKind, StatusRecord,
};
pub use remote_signing::{CscUse, GrantedHashes, NewCscAuthorization, StoredTotp, TotpEnrolment};
pub use reports::{RebuildSummary, ReportScope, UnitCounts};
pub use sessions::{hash_token, ActiveSession, NewSession, Session, SessionLookup};
pub use signing_keys::{
    GrantedSignature, NewSigningSession, PinAttempt, PinFailure, SessionUse, SigningKey,
    MAX_PIN_ATTEMPTS,
};
pub use synthetic::{SyntheticPeriod, Volume};
pub use token_keys::{TokenKey, TokenKeyPlace};
pub use units::{NewUnit, UnitChanges};
pub use users::{Credentials, LoginAttempt, NewUser, UserChanges};

#[cfg(test)]
mod test_support;
