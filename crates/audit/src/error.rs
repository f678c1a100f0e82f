//! Errors of the audit crate.

use thiserror::Error;

/// Everything that can go wrong reading, proving or signing the log.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuditError {
    /// Bytes that are not an entry in the canonical encoding.
    #[error("not a canonical audit entry: {0}")]
    Encoding(String),
    /// A proof asked for a leaf or tree size the tree does not have.
    #[error("{0}")]
    Range(String),
    /// A proof does not lead to the root it should.
    #[error("the proof does not verify: {0}")]
    Proof(String),
    /// A checkpoint or note that does not parse.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// `checkpoint`, `note`, `verifier key`, `signer key`.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// No signature of the expected key verifies.
    #[error("the note has no valid signature by {0}")]
    Unverified(String),
    /// The cryptographic library failed.
    #[error("signing failed: {0}")]
    Crypto(String),
}

impl AuditError {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> Self {
        AuditError::Malformed {
            what,
            why: why.into(),
        }
    }
}

impl From<openssl::error::ErrorStack> for AuditError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        AuditError::Crypto(e.to_string())
    }
}
