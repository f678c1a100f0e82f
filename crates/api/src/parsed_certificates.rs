//! Stored certificates kept parsed between signatures.
//!
//! Every signature with a stored key needs its certificate and chain as OpenSSL objects and
//! as DER; reading them from PEM took about a tenth of a signature's time under load (OpenSSL
//! 3 parses a certificate slowly). Certificates are public, so keeping them parsed holds
//! nothing secret; they are found by the SHA-256 of their PEM text, so a renewed
//! certificate is simply another entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use openssl::sha::Sha256;
use openssl::x509::X509;
use vanthu_store::Certificate;

use crate::error::ApiError;

/// Entries kept at most; past it the map starts again empty (a province has a few thousand
/// signers, and an entry is read again from PEM at the cost of one parse).
const MAX_ENTRIES: usize = 4096;

/// A stored certificate and its issuers, parsed.
pub(crate) struct Parsed {
    /// The certificate.
    pub(crate) cert: X509,
    /// Its issuers, from the certificate's issuer upwards.
    pub(crate) chain: Vec<X509>,
    /// The certificate as DER.
    pub(crate) cert_der: Vec<u8>,
    /// The issuers as DER.
    pub(crate) chain_der: Vec<Vec<u8>>,
}

fn cache() -> &'static Mutex<HashMap<[u8; 32], Arc<Parsed>>> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<Parsed>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// `certificate` and its chain, parsed once per process.
pub(crate) fn parsed(certificate: &Certificate) -> Result<Arc<Parsed>, ApiError> {
    let mut hasher = Sha256::new();
    hasher.update(certificate.cert_pem.as_bytes());
    hasher.update(&[0]);
    hasher.update(certificate.chain_pem.as_bytes());
    let key = hasher.finish();
    if let Some(found) = cache().lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(found);
    }
    let parsed = Arc::new(parse(certificate)?);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, parsed.clone());
    }
    Ok(parsed)
}

fn parse(certificate: &Certificate) -> Result<Parsed, ApiError> {
    let cert = X509::from_pem(certificate.cert_pem.as_bytes()).map_err(ApiError::internal)?;
    let chain = if certificate.chain_pem.trim().is_empty() {
        Vec::new()
    } else {
        X509::stack_from_pem(certificate.chain_pem.as_bytes()).map_err(ApiError::internal)?
    };
    let cert_der = cert.to_der().map_err(ApiError::internal)?;
    let chain_der = chain
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(Parsed {
        cert,
        chain,
        cert_der,
        chain_der,
    })
}
