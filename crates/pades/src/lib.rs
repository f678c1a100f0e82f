//! PAdES signing and verification (ETSI EN 319 142) over PDF bytes: no database, no HTTP.

pub mod algorithms;
pub mod appearance;

pub mod cms;
pub mod ltv;
pub mod pdf;
pub mod revocation;
pub mod sign;
pub mod signer;
pub mod trust;
pub mod tsa;
pub mod verify;
