//! What every remote-signing provider offers, in one shape: a batch of hashes is started,
//! the user approves it on their phone (an app, an SMS code) while the client polls, and the
//! answer is the signatures or a refusal. The CSC API ([`crate::csc::CscService`]) is one
//! provider; docs/signing.md maps VNPT SmartCA and Viettel MySign onto the same three steps.

use std::time::Duration;

use vanthu_pades::signer::{DigestAlgorithm, SignatureAlgorithm};

/// Why a remote signature could not be had. Messages never carry a PIN, a code or a token.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The service could not be reached or answered something unreadable.
    #[error("the signing service at {url} {reason}")]
    Transport {
        /// The address asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The service answered with an error of its own.
    #[error("the signing service refused {method}: {description} ({error}, HTTP {status})")]
    Service {
        /// The method called, e.g. `credentials/authorize`.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The service's error code.
        error: String,
        /// The service's explanation.
        description: String,
    },
    /// The credential cannot sign as asked (no certificate, an algorithm the key lacks).
    #[error("the remote credential {0}")]
    Credential(String),
    /// The user said no, or the approval failed (a wrong PIN or code).
    #[error("the signature was not approved: {0}")]
    Refused(String),
    /// Nobody approved within the time allowed.
    #[error("nobody approved the signature within {0:?}; approve it in the provider's app sooner, or allow longer")]
    TimedOut(Duration),
    /// The service's answer does not fit the request (a count, a signature that does not
    /// verify with the credential's certificate).
    #[error("the signing service answered wrongly: {0}")]
    Answer(String),
}

/// Hashes the user is asked to approve at once.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The digests to sign, each of `digest`'s length.
    pub hashes: Vec<Vec<u8>>,
    /// Their algorithm.
    pub digest: DigestAlgorithm,
    /// What is being signed, shown to the user where the provider can.
    pub description: String,
}

/// A request a provider has started and still works on, named as the provider names it
/// (VNPT's `tran_id`, a CSC asynchronous authorization's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction(pub String);

/// Where a batch stands.
#[derive(Debug)]
pub enum Progress {
    /// The user has not answered yet: ask again after `retry_after`.
    Waiting {
        /// The request to poll.
        transaction: Transaction,
        /// How long to wait before polling.
        retry_after: Duration,
    },
    /// Signed: one signature value per hash, in the batch's order.
    Signed(Vec<Vec<u8>>),
    /// The user (or the provider) said no; the reason, in the provider's words.
    Refused(String),
}

/// The credential a service signs with.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The signing certificate, DER.
    pub certificate: Vec<u8>,
    /// Its issuers, DER, from the signer's issuer upwards.
    pub chain: Vec<Vec<u8>>,
    /// The digest the key signs.
    pub digest: DigestAlgorithm,
    /// The signature scheme.
    pub algorithm: SignatureAlgorithm,
    /// Most hashes one approval may cover.
    pub max_batch: usize,
}

/// A remote-signing provider: start a batch, poll it, get the signatures or a refusal.
///
/// One adapter per provider implements this; [`crate::RemoteSigner`] drives any of them.
pub trait SigningService: Send + Sync {
    /// The credential the service signs with.
    fn credential(&self) -> &Credential;
    /// Asks for signatures over `batch`; a provider that needs no approval (or an approval
    /// given with the request, as a PIN and a code are) may answer at once.
    fn start(&self, batch: &Batch) -> Result<Progress, RemoteError>;
    /// Asks how a started batch stands.
    fn poll(&self, transaction: &Transaction) -> Result<Progress, RemoteError>;
}
