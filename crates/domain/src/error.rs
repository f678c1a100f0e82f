use thiserror::Error;

/// A value that does not satisfy the rules of its domain type.
///
/// `field` names the input so the HTTP layer can point at it; the message is meant for the
/// person who typed the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Name of the offending field as clients send it (`code`, `username`, ...).
    pub field: &'static str,
    /// What is wrong and what is expected, in words a clerk can act on.
    pub message: String,
}

impl ValidationError {
    /// An error about `field` with a message for the person who typed the value.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
