//! Tamper-evident audit log of vanthu: canonical entries, an RFC 9162 Merkle tree with proofs, and signed checkpoints, free of SQL and HTTP.
//!
//! Every recorded action is an [`AuditEntry`] whose [canonical bytes](AuditEntry::to_bytes)
//! are a leaf of an RFC 9162 Merkle tree ([`merkle`]). The tree's size and root are published
//! as a C2SP `tlog-checkpoint` ([`Checkpoint`]) signed as a C2SP `signed-note` with the
//! server's Ed25519 key ([`NoteSigner`]), so tools of that ecosystem (Go's `sumdb/note`, a
//! witness) can check them. docs/audit.md describes the formats byte for byte.

mod checkpoint;
mod entry;
mod error;
pub mod merkle;
mod note;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use entry::{AuditAction, AuditEntry, AuditRecord, ObjectKind, ObjectRef, Outcome};
pub use error::AuditError;
pub use merkle::{CompactRange, Hash, NodeId};
pub use note::{ExternalEd25519, NoteSigner, NoteVerifier};
