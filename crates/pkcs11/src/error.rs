//! What can go wrong with a token, each in one line that names the module, token or key.

use cryptoki::error::{Error as CkError, RvError};
use vanthu_pades::signer::SignerError;

/// Why a token or a key in it cannot be used. Messages name the module, token or key, never
/// the PIN.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The module file is missing or is no PKCS#11 library.
    #[error("cannot load the PKCS#11 module {path}: {reason}")]
    Module {
        /// The module path as given.
        path: String,
        /// What the loader said.
        reason: String,
    },
    /// No slot holds a token with this label.
    #[error(
        "no PKCS#11 token labelled \"{label}\" is present (tokens seen: {seen}); is it plugged in?"
    )]
    NoToken {
        /// The label asked for.
        label: String,
        /// The labels of the tokens that are present, or "none".
        seen: String,
    },
    /// The token refused the user PIN.
    #[error("wrong PIN for the PKCS#11 token \"{0}\"")]
    WrongPin(String),
    /// The token blocked its user PIN after too many wrong ones.
    #[error("the user PIN of the PKCS#11 token \"{0}\" is locked; unblock it with the token's own tools")]
    PinLocked(String),
    /// The PIN was not given (an unset environment variable).
    #[error("no PIN for the PKCS#11 token \"{token}\": set the environment variable {variable}")]
    NoPin {
        /// The token's label.
        token: String,
        /// Where the PIN was to be read from.
        variable: String,
    },
    /// No private key object matches.
    #[error("the PKCS#11 token \"{token}\" holds no private key with {key}")]
    NoKey {
        /// The token's label.
        token: String,
        /// The key's label or id, as asked for.
        key: String,
    },
    /// The key was found but no certificate with its label or id.
    #[error(
        "the PKCS#11 token \"{token}\" holds no certificate with {key}: give the certificate file"
    )]
    NoCertificate {
        /// The token's label.
        token: String,
        /// The key's label or id.
        key: String,
    },
    /// The key on the token does not make signatures that the certificate's key verifies.
    #[error("the key with {key} on the PKCS#11 token \"{token}\" does not match its certificate")]
    KeyMismatch {
        /// The token's label.
        token: String,
        /// The key's label or id.
        key: String,
    },
    /// The token lacks a mechanism the key needs.
    #[error("the PKCS#11 token \"{token}\" does not offer {mechanism}")]
    NoMechanism {
        /// The token's label.
        token: String,
        /// The mechanism, named with what it does.
        mechanism: &'static str,
    },
    /// A key asked for as Ed25519 is of another type or curve.
    #[error("the key with {key} on the PKCS#11 token \"{token}\" is not an Ed25519 key: {found}")]
    NotEd25519 {
        /// The token's label.
        token: String,
        /// The key's label or id.
        key: String,
        /// What it is instead.
        found: String,
    },
    /// A key without a certificate needs its public key object.
    #[error(
        "the PKCS#11 token \"{token}\" holds no public key with {key}: store the public key \
         beside its private key"
    )]
    NoPublicKey {
        /// The token's label.
        token: String,
        /// The key's label or id.
        key: String,
    },
    /// The token is logged in for another use in this process (a person's token during
    /// another signature).
    #[error("the PKCS#11 token \"{0}\" is in use by another signature; try again")]
    Busy(String),
    /// The token went away (unplugged, or the HSM stopped answering).
    #[error("the PKCS#11 token \"{0}\" was removed or stopped answering")]
    Removed(String),
    /// The certificate's key type, size or curve is refused by the signing rules.
    #[error("the certificate of {key} on the PKCS#11 token \"{token}\": {source}")]
    Unusable {
        /// The token's label.
        token: String,
        /// The key's label or id.
        key: String,
        /// The rule it breaks.
        source: SignerError,
    },
    /// Any other answer of the module.
    #[error("the PKCS#11 token \"{token}\" refused {what}: {reason}")]
    Token {
        /// The token's label.
        token: String,
        /// What was asked of it.
        what: &'static str,
        /// The module's answer.
        reason: String,
    },
}

impl Pkcs11Error {
    /// Classifies a module's answer to `what` on token `token`.
    pub(crate) fn from_token(token: &str, what: &'static str, e: CkError) -> Self {
        match e {
            CkError::Pkcs11(rv, _) if is_gone(rv) => Self::Removed(token.to_owned()),
            CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _) => {
                Self::WrongPin(token.to_owned())
            }
            CkError::Pkcs11(RvError::PinLocked, _) => Self::PinLocked(token.to_owned()),
            other => Self::Token {
                token: token.to_owned(),
                what,
                reason: other.to_string(),
            },
        }
    }

    /// Whether the session that gave this error is worth keeping for the next signature.
    pub(crate) fn session_survives(&self) -> bool {
        !matches!(self, Self::Removed(_))
    }
}

/// Answers that mean the token, or the session's hold on it, is gone: the token was pulled
/// out, or pulled out and put back (its sessions closed, the login lost with them).
fn is_gone(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceError
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::SlotIdInvalid
            | RvError::UserNotLoggedIn
    )
}
