//! edXML (QCVN 102:2016/BTTTT) interchange between agencies: document and status packages
//! built and read with every field the format carries, the enveloped XML Signature of the
//! organisation's seal, and the status codes mapped to and from the routing states; free of
//! SQL and HTTP.
//!
//! Reading is liberal where nothing is lost and says what it tolerated ([`Tolerance`]);
//! it refuses, naming the element, what cannot be trusted ([`PackageError`]): a DTD or
//! entities, nesting or size beyond [`Limits`], the wrong namespace, missing required
//! elements, values that break Appendix VI's lengths. [`inspect`] reads the structure and
//! checks the signature in one call, as a receipt must.

mod error;
mod package;
mod read;
mod rules;
mod signature;
mod status;
mod write;

pub use error::{BuildError, PackageError, Read, Tolerance};
pub use package::{
    Attachment, Business, BusinessDocType, DocumentKind, MessageHeader, Organ, OtherInfo, Package,
    PromulgationInfo, Receiver, ReplacementInfo, ResponseFor, SignerInfo, StaffInfo, TraceHeader,
    TraceHeaderList, EDXML_NS,
};
pub use read::{read, Limits, Message};
pub use signature::{sign, verify, Seal, SignError, SignatureReport, Verdict};
pub use status::{
    meaning, status_for, status_from_code, StatusMeaning, StatusPackage, STATUS_CODES,
};

use openssl::x509::X509;

/// A package read and its signature checked.
#[derive(Debug)]
pub struct Inspection {
    /// The package.
    pub message: Message,
    /// What was tolerated in reading it.
    pub tolerated: Vec<Tolerance>,
    /// The signature check.
    pub signature: SignatureReport,
}

/// Reads a package and checks its signature against `trust`; a structural refusal is an
/// error, a bad signature is a verdict in the report (the caller decides to refuse, and says
/// why).
pub fn inspect(bytes: &[u8], limits: &Limits, trust: &[X509]) -> Result<Inspection, PackageError> {
    let read = read(bytes, limits)?;
    let signature = verify(bytes, limits, trust)?;
    Ok(Inspection {
        message: read.value,
        tolerated: read.tolerated,
        signature,
    })
}
