//! Remote signing: the Cloud Signature Consortium API v1.0.4 messages, a CSC client, and a PAdES Signer whose key sits at a remote service, with batching and a pluggable approval step.
//!
//! Every provider is a [`SigningService`] (start a batch of hashes, poll it, signed or
//! refused); [`RemoteSigner`] turns one into a [`vanthu_pades::signer::Signer`]. The CSC API
//! is [`csc::CscService`], whose approval step (`credentials/authorize`) is the
//! [`csc::Approval`] trait. vanthu's own CSC server (crates/api) answers with
//! [`csc::messages`]. No server code and no database here.

pub mod csc;
pub mod service;
pub mod signer;

pub use service::{Batch, Credential, Progress, RemoteError, SigningService, Transaction};
pub use signer::RemoteSigner;
