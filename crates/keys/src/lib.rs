//! Private keys at rest: PIN-wrapped personal keys (Argon2id + AES-256-GCM), short signing sessions, the key-encryption key for organisation keys, and authenticator-app (TOTP) secrets.
//!
//! Nothing here touches a database or HTTP: the store keeps the [`WrappedKey`] fields and
//! the session rows, the API decides who may unwrap what. docs/signing.md gives the design:
//! - a personal key is sealed under a key derived from its owner's [`SigningPin`] with
//!   Argon2id ([`KdfParams`], kept beside the ciphertext so they can be raised later);
//! - unlocking is slow on purpose, so a correct PIN opens a [`session`]: the key is sealed
//!   again under a random secret that only the client holds, inside its [`SessionToken`];
//! - organisation seal keys (and, later, the audit key) are sealed under the installation's
//!   [`Kek`], which never lives in the data directory.
//!
//! Every seal binds its [`KeyBinding`] (owner and certificate) as associated data, so a
//! ciphertext copied onto another owner's or another certificate's row does not open.

mod aead;
pub mod kek;
pub mod pin;
pub mod session;
pub mod totp;
pub mod wrap;

pub use kek::Kek;
pub use pin::SigningPin;
pub use session::{SealedSessionKey, SessionId, SessionToken};
pub use totp::{SealedTotp, TotpSecret};
pub use wrap::{KdfParams, KeyBinding, KeyOwner, Unwrapped, WrapKind, WrappedKey};

/// Why a key could not be wrapped or unwrapped. Messages never carry key material, PINs or
/// secrets.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PIN does not open the key (or the stored key was altered: the two cannot be told
    /// apart, by design of the cipher).
    #[error("the signing PIN is wrong")]
    WrongPin,
    /// A key sealed under the key-encryption key does not open with the configured one.
    #[error(
        "the key does not open with the configured key-encryption key: the KEK is not the one \
         it was sealed with, or the stored key was altered"
    )]
    WrongKek,
    /// A signing session's sealed key does not open with the secret of the token presented.
    #[error("the signing session token does not open this session")]
    WrongSessionSecret,
    /// A session token that vanthu cannot have issued.
    #[error("the signing session token is malformed")]
    MalformedToken,
    /// Stored key-derivation parameters that cannot be read or are out of range.
    #[error("key-derivation parameters {0}")]
    Kdf(String),
    /// Stored fields of a wrapped key that do not fit together (a damaged row).
    #[error("the wrapped key is damaged: {0}")]
    Damaged(&'static str),
    /// The key-encryption key cannot be loaded.
    #[error("{0}")]
    KekSource(String),
    /// The cryptographic library failed (memory, randomness).
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

impl From<openssl::error::ErrorStack> for KeyError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        KeyError::Crypto(e.to_string())
    }
}
