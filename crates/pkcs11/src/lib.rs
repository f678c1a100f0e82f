//! Signing keys in PKCS#11 tokens and HSMs (USB tokens, an organisation's HSM), behind
//! vanthu-pades' `Signer` trait: no database, no HTTP.
//!
//! A module (the vendor's `.so`) is loaded and initialised once per process ([`Token::open`]
//! shares it); a token is found by its label, since slot numbers change as tokens come and
//! go, and logged in once with the user PIN; each signature borrows a session from the
//! token's pool (a PKCS#11 session serves one thread at a time). The calls block: an async
//! caller runs them on a blocking pool.

mod eddsa;
mod error;
mod signer;
pub mod softhsm;
mod token;

pub use eddsa::Pkcs11Ed25519;
pub use error::Pkcs11Error;
pub use signer::Pkcs11Signer;
pub use token::{KeyRef, Token};
