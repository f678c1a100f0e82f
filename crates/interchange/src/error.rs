//! Why a package is refused, and what was tolerated in one that was read.

use std::fmt;

use thiserror::Error;

/// A package that cannot be trusted or cannot be read without losing something; the message
/// names the element and says what is wrong, in words a clerk can pass on to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackageError {
    /// Larger than the configured limit for a whole package.
    #[error("the package is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed XML.
    #[error("the package is not well-formed XML: {0}")]
    Malformed(String),
    /// Declares a document type (and so possibly entities): refused, as entity expansion can
    /// exhaust memory and external entities can read files.
    #[error(
        "the package declares a document type (<!DOCTYPE>); edXML packages carry no DTD or \
         entities, which could expand without bound or read files"
    )]
    DocumentType,
    /// Nested deeper than the limit.
    #[error("elements are nested {depth} deep, more than the limit of {limit}")]
    TooDeep {
        /// How deep it went.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// More XML nodes than the limit.
    #[error("the package has more than {limit} XML nodes")]
    TooManyNodes {
        /// The limit.
        limit: u32,
    },
    /// An element outside the QCVN 102:2016 namespace where an edXML element belongs.
    #[error(
        "{element} is in namespace '{found}'; edXML elements belong to \
         http://www.mic.gov.vn/TBT/QCVN_102_2016"
    )]
    WrongNamespace {
        /// The element.
        element: String,
        /// Its namespace (empty when it has none).
        found: String,
    },
    /// A required element is absent or empty.
    #[error("{element} is missing")]
    Missing {
        /// Path of the element, e.g. `MessageHeader/Code/CodeNumber`.
        element: String,
    },
    /// An element whose value breaks a rule of the format.
    #[error("{element}: {reason}")]
    Invalid {
        /// Path of the element.
        element: String,
        /// What is wrong, and what is expected.
        reason: String,
    },
    /// An attachment larger than the configured limit.
    #[error("attachment '{name}' is about {size} bytes, more than the limit of {limit} bytes")]
    AttachmentTooLarge {
        /// Its file name.
        name: String,
        /// Its decoded size (estimated from the base64 text before decoding).
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl PackageError {
    pub(crate) fn missing(element: impl Into<String>) -> Self {
        PackageError::Missing {
            element: element.into(),
        }
    }

    pub(crate) fn invalid(element: impl Into<String>, reason: impl Into<String>) -> Self {
        PackageError::Invalid {
            element: element.into(),
            reason: reason.into(),
        }
    }
}

/// Something a package did differently from the format that was read without losing
/// anything, reported so the clerk (and the sender) can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerance {
    /// Path of the element, or `package` for the bytes as a whole.
    pub element: String,
    /// What was tolerated.
    pub what: String,
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.element, self.what)
    }
}

/// A value read from a package, with what was tolerated on the way.
#[derive(Debug, Clone)]
pub struct Read<T> {
    /// The value.
    pub value: T,
    /// What the package did differently from the format, in the order met.
    pub tolerated: Vec<Tolerance>,
}

/// A package that could not be built: a value the format cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{element}: {reason}")]
pub struct BuildError {
    /// Path of the element.
    pub element: String,
    /// What is wrong.
    pub reason: String,
}
