//! PAdES signing and verification (ETSI EN 319 142) over PDF bytes: no database, no HTTP.

/// The PDF layer, its own crate: kept at this path for callers.
pub use vanthu_pdf as pdf;

pub mod algorithms;
pub mod appearance;
pub mod byte_range;
pub mod certificate;
pub mod cms;
pub mod external;
pub mod ltv;
mod memo;
pub mod revocation;
pub mod sign;
pub mod signer;
pub mod trust;
pub mod tsa;
pub mod verify;

/// The workspace's one gate for external tools in tests (`VANTHU_REQUIRE_TOOLS`).
#[cfg(test)]
#[path = "../../../tests/common/tools.rs"]
mod test_tools;
